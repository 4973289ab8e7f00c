// SPDX-License-Identifier: MIT OR Apache-2.0

//! Structure-aware fuzzer of `/dev/uio-dmabuf`, run inside the test guest.
//!
//! Issues random sequences of the driver's ioctls with random arguments built
//! from a pool of real and bogus file descriptors (dma-bufs from both exporters,
//! uio fds, `/dev/null`, pipes, eventfds, closed numbers), random handles and
//! user pointers (valid, NULL, unmapped, read-only, kernel addresses), plus
//! closes, dups, reopens and forked children that are killed mid-way. Every
//! failure must carry a documented errno. At the end everything is closed and
//! the driver's debugfs counters must be back to zero.
//!
//!   uio-dmabuf-fuzz [--seed N] [--calls N] [--trace]
//!
//! Seeded and reproducible: the seed is printed; `--seed` replays a run (the
//! kernel's answers may still differ where timing matters, e.g. killed children).

use std::fs;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::process::ExitCode;

use uio_dmabuf::buffers;
use uio_dmabuf::import::ioctl;
use uio_dmabuf::uapi;
use uio_dmabuf::uio::Uio;
use uio_dmabuf::{sysfs, testing, ImportDevice};

/// xorshift64*: small, fast, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// The errnos the driver documents (plus ENOMEM/EIO from exporters).
const DOCUMENTED: &[i32] = &[
    libc::EBADF,
    libc::EEXIST,
    libc::EINVAL,
    libc::ENODEV,
    libc::ENOENT,
    libc::EFAULT,
    libc::E2BIG,
    libc::ERANGE,
    libc::ENOSPC,
    libc::EDQUOT,
    libc::ENOTTY,
    libc::EIO,
    libc::ENOMEM,
];

/// Everything the fuzzer draws arguments from.
struct Pool {
    fronts: Vec<ImportDevice>,
    uios: Vec<Uio>,
    dmabufs: Vec<OwnedFd>,
    others: Vec<OwnedFd>,
    handles: Vec<u32>,
    /// A writable buffer for segment arrays and a read-only page.
    array: Vec<uapi::uio_dmabuf_segment>,
    ro_page: testing::AnonMap,
}

impl Pool {
    fn any_fd(&self, rng: &mut Rng) -> RawFd {
        match rng.below(10) {
            0..=3 => rng.pick(&self.dmabufs).as_raw_fd(),
            4..=6 => rng.pick(&self.uios).as_fd().as_raw_fd(),
            7 => rng.pick(&self.others).as_raw_fd(),
            8 => rng.pick(&self.fronts).fd().as_raw_fd(),
            _ => *rng.pick(&[-1, 0, 999, 1 << 20, i32::MAX, i32::MIN]),
        }
    }

    fn uio_fd(&self, rng: &mut Rng) -> RawFd {
        if rng.chance(85) {
            rng.pick(&self.uios).as_fd().as_raw_fd()
        } else {
            self.any_fd(rng)
        }
    }

    fn dmabuf_fd(&self, rng: &mut Rng) -> RawFd {
        if rng.chance(85) {
            rng.pick(&self.dmabufs).as_raw_fd()
        } else {
            self.any_fd(rng)
        }
    }

    fn handle(&self, rng: &mut Rng) -> u32 {
        if !self.handles.is_empty() && rng.chance(80) {
            *rng.pick(&self.handles)
        } else {
            let random = rng.next() as u32;
            *rng.pick(&[0, 1, 2, 3, 100, u32::MAX, random])
        }
    }

    /// A user pointer for an array of `capacity` segments.
    fn array(&mut self, rng: &mut Rng, capacity: u32) -> u64 {
        match rng.below(10) {
            0..=6 if capacity as usize <= self.array.len() => self.array.as_mut_ptr() as u64,
            0..=6 => 0,
            7 => 0x10,
            8 => self.ro_page.as_ptr() as u64,
            _ => 0xffff_8880_0000_0000,
        }
    }
}

fn new_dmabuf(rng: &mut Rng) -> Option<OwnedFd> {
    let size = *rng.pick(&[4096usize, 8192, 65536, 262144]);
    let r = if rng.chance(50) {
        buffers::system_heap(size)
    } else {
        buffers::udmabuf(size, rng.chance(50))
    };
    r.ok()
}

#[derive(Default)]
struct Tally {
    calls: u64,
    ok: u64,
    imports: u64,
    by_errno: std::collections::BTreeMap<i32, u64>,
    undocumented: Vec<String>,
}

/// `--trace`: print every call and its result.
static TRACE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

impl Tally {
    fn record(&mut self, what: &str, r: uio_dmabuf::Result<i32>) -> bool {
        if TRACE.load(std::sync::atomic::Ordering::Relaxed) {
            println!(
                "trace: pid {} #{} {what} -> {}",
                std::process::id(),
                self.calls,
                r.as_ref()
                    .map_or_else(|e| e.errno_name().to_string(), |_| "ok".into())
            );
        }
        self.calls += 1;
        match r {
            Ok(_) => {
                self.ok += 1;
                true
            }
            Err(e) => {
                *self.by_errno.entry(e.errno).or_default() += 1;
                if !DOCUMENTED.contains(&e.errno) && self.undocumented.len() < 20 {
                    self.undocumented.push(format!("{what}: {e}"));
                }
                false
            }
        }
    }
}

/// One random operation.
fn step(rng: &mut Rng, pool: &mut Pool, tally: &mut Tally) {
    let f = rng.below(pool.fronts.len() as u64) as usize;
    match rng.below(100) {
        0..=9 => {
            let mut a = uapi::uio_dmabuf_info {
                uio_fd: pool.uio_fd(rng),
                ..Default::default()
            };
            if rng.chance(10) {
                a.reserved[rng.below(2) as usize] = rng.next();
            }
            // SAFETY: Matching struct.
            let r = unsafe { ioctl(pool.fronts[f].fd(), uapi::IOC_INFO, &mut a, "INFO") };
            tally.record("INFO", r);
        }
        10..=44 => {
            let capacity = *rng.pick(&[0u32, 1, 4, 64, 1000, u32::MAX]);
            let mut a = uapi::uio_dmabuf_import {
                uio_fd: pool.uio_fd(rng),
                dmabuf_fd: pool.dmabuf_fd(rng),
                direction: if rng.chance(90) {
                    rng.below(3) as u32
                } else {
                    rng.next() as u32
                },
                flags: if rng.chance(85) {
                    (rng.below(2)) as u32
                } else {
                    rng.next() as u32
                },
                capacity,
                ..Default::default()
            };
            a.segments = if capacity == 0 && rng.chance(50) {
                0
            } else {
                pool.array(rng, capacity)
            };
            if rng.chance(5) {
                a.reserved0 = 1;
            }
            if rng.chance(5) {
                a.reserved[1] = rng.next() | 1;
            }
            // SAFETY: Matching struct; the pointers inside are what the fuzzer
            // wants the kernel to see, and the kernel must cope.
            let r = unsafe { ioctl(pool.fronts[f].fd(), uapi::IOC_IMPORT, &mut a, "IMPORT") };
            let what = format!(
                "IMPORT front {f} uio {} buf {} dir {} flags {:#x} -> handle {}",
                a.uio_fd, a.dmabuf_fd, a.direction, a.flags, a.handle
            );
            if tally.record(&what, r) {
                tally.imports += 1;
                if pool.handles.len() < 4096 {
                    pool.handles.push(a.handle);
                }
            }
        }
        45..=59 => {
            let capacity = *rng.pick(&[0u32, 1, 3, 64, u32::MAX]);
            let mut a = uapi::uio_dmabuf_segments {
                handle: pool.handle(rng),
                first: *rng.pick(&[0u32, 1, 2, 63, u32::MAX]),
                capacity,
                ..Default::default()
            };
            a.segments = pool.array(rng, capacity);
            if rng.chance(5) {
                a.reserved = 1;
            }
            // SAFETY: Matching struct.
            let r = unsafe { ioctl(pool.fronts[f].fd(), uapi::IOC_SEGMENTS, &mut a, "SEGMENTS") };
            tally.record("SEGMENTS", r);
        }
        60..=74 => {
            let mut a = uapi::uio_dmabuf_sync {
                handle: pool.handle(rng),
                flags: if rng.chance(90) {
                    1 + rng.below(2) as u32
                } else {
                    rng.next() as u32
                },
                reserved: if rng.chance(5) { 1 } else { 0 },
            };
            // SAFETY: Matching struct.
            let r = unsafe { ioctl(pool.fronts[f].fd(), uapi::IOC_SYNC, &mut a, "SYNC") };
            tally.record(
                &format!("SYNC front {f} handle {} flags {:#x}", a.handle, a.flags),
                r,
            );
        }
        75..=84 => {
            let mut a = uapi::uio_dmabuf_release {
                handle: pool.handle(rng),
                reserved: if rng.chance(5) { 1 } else { 0 },
            };
            // SAFETY: Matching struct.
            let r = unsafe { ioctl(pool.fronts[f].fd(), uapi::IOC_RELEASE, &mut a, "RELEASE") };
            tally.record(&format!("RELEASE front {f} handle {}", a.handle), r);
        }
        85..=88 => {
            // Ioctl numbers near ours: wrong sizes, directions, numbers.
            let cmd = uapi::ioc(
                rng.below(4) as u32,
                rng.below(16) as u32,
                rng.below(128) as usize,
            );
            let mut junk = [0u64; 32];
            // SAFETY: `junk` is larger than any size encoded above.
            let r = unsafe { ioctl(pool.fronts[f].fd(), cmd, junk.as_mut_ptr(), "near ioctl") };
            tally.record("near ioctl", r);
        }
        89..=92 => {
            // Replace a dma-buf: closing the fd must not disturb imports of it.
            let i = rng.below(pool.dmabufs.len() as u64) as usize;
            if let Some(fd) = new_dmabuf(rng) {
                pool.dmabufs[i] = fd;
            }
        }
        93..=94 => {
            // dup a dma-buf (the pool keeps at most 24).
            if let Ok(d) = rng.pick(&pool.dmabufs).try_clone() {
                if pool.dmabufs.len() < 24 {
                    pool.dmabufs.push(d);
                } else {
                    let i = rng.below(pool.dmabufs.len() as u64) as usize;
                    pool.dmabufs[i] = d;
                }
            }
        }
        95..=96 => {
            // Close and reopen an import front-end: drops all its imports.
            if let Ok(d) = ImportDevice::open() {
                pool.fronts[f] = d;
            }
        }
        _ => {
            // A child inherits everything, imports in its own file, and is
            // killed (or exits) mid-way.
            // SAFETY: The child only makes syscalls and exits with _exit.
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                let mut child_rng = Rng(rng.next() | 1);
                if let Ok(front) = ImportDevice::open() {
                    pool.fronts.push(front);
                }
                let mut child_tally = Tally::default();
                for _ in 0..20 {
                    step(&mut child_rng, pool, &mut child_tally);
                }
                // SAFETY: Leave without running destructors twice.
                unsafe {
                    libc::_exit(if child_tally.undocumented.is_empty() {
                        0
                    } else {
                        3
                    })
                };
            }
            if pid > 0 {
                if rng.chance(50) {
                    std::thread::sleep(std::time::Duration::from_millis(rng.below(20)));
                    // SAFETY: Our child.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
                let mut status = 0;
                // SAFETY: Reaping our child.
                unsafe { libc::waitpid(pid, &mut status, 0) };
                if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 3 {
                    tally
                        .undocumented
                        .push("a child saw an undocumented errno".into());
                }
            }
        }
    }
}

/// (imports_alive, bytes_mapped) from the driver's debugfs.
fn counters() -> Result<(u64, u64), String> {
    let summary = sysfs::debugfs_summary().map_err(|e| e.to_string())?;
    let get = |k: &str| {
        summary
            .iter()
            .find(|(n, _)| n == k)
            .map_or(u64::MAX, |(_, v)| *v)
    };
    Ok((get("imports_alive"), get("bytes_mapped")))
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut seed = None;
    let mut calls = 20_000u64;
    while let Some(a) = args.next() {
        if a == "--trace" {
            TRACE.store(true, std::sync::atomic::Ordering::Relaxed);
            continue;
        }
        let v = args.next().and_then(|v| {
            v.strip_prefix("0x")
                .map_or_else(|| v.parse().ok(), |h| u64::from_str_radix(h, 16).ok())
        });
        match (a.as_str(), v) {
            ("--seed", Some(v)) => seed = Some(v),
            ("--calls", Some(v)) => calls = v,
            _ => {
                eprintln!("usage: uio-dmabuf-fuzz [--seed N] [--calls N] [--trace]");
                return ExitCode::from(2);
            }
        }
    }
    let seed = seed.unwrap_or_else(|| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        (t.as_nanos() as u64) | 1
    });
    println!("fuzz: seed {seed:#x}, {calls} calls (replay with --seed {seed:#x})");
    let mut rng = Rng(seed | 1);

    let devices = sysfs::bound_devices().unwrap_or_default();
    let uios: Vec<Uio> = devices
        .iter()
        .filter_map(|d| Uio::for_pci_device(&d.address).ok())
        .collect();
    if uios.is_empty() {
        eprintln!("fuzz: no device bound to uio_dmabuf");
        return ExitCode::FAILURE;
    }
    let (p0, p1) = testing::pipe().expect("pipe");
    let ro_page =
        testing::AnonMap::new(buffers::page_size(), libc::PROT_READ).expect("read-only page");
    let mut pool = Pool {
        fronts: (0..2).filter_map(|_| ImportDevice::open().ok()).collect(),
        uios,
        dmabufs: (0..8).filter_map(|_| new_dmabuf(&mut rng)).collect(),
        others: vec![
            fs::File::open("/dev/null")
                .map(OwnedFd::from)
                .expect("/dev/null"),
            fs::File::open("/proc/self/status")
                .map(OwnedFd::from)
                .expect("/proc"),
            p0,
            p1,
            testing::eventfd().expect("eventfd"),
        ],
        handles: Vec::new(),
        array: vec![uapi::uio_dmabuf_segment::default(); 64],
        ro_page,
    };
    if pool.fronts.len() < 2 || pool.dmabufs.is_empty() {
        eprintln!("fuzz: setup failed");
        return ExitCode::FAILURE;
    }
    // The per-file limits must hold: between steps (no child alive) only the
    // parent's files hold imports.
    let limits = pool.fronts[0]
        .info(&pool.uios[0])
        .ok()
        .map(|i| (u64::from(i.max_imports), i.max_mapped_bytes));
    let mut limit_violations = Vec::new();
    let mut tally = Tally::default();
    let start = std::time::Instant::now();
    while tally.calls < calls {
        step(&mut rng, &mut pool, &mut tally);
        if tally.calls % 64 == 0 {
            if let (Some((max_imports, max_bytes)), Ok((alive, bytes))) = (limits, counters()) {
                let files = pool.fronts.len() as u64;
                if (alive > files * max_imports || bytes > files * max_bytes)
                    && limit_violations.len() < 5
                {
                    limit_violations.push(format!("{alive} imports / {bytes} bytes alive in {files} files, limits {max_imports} / {max_bytes} per file"));
                }
            }
        }
    }
    for v in &limit_violations {
        tally.undocumented.push(format!("limit exceeded: {v}"));
    }
    drop(pool);
    let (alive, bytes) = counters().unwrap_or((u64::MAX, u64::MAX));
    let errnos: Vec<String> = tally
        .by_errno
        .iter()
        .map(|(e, n)| format!("{}={n}", uio_dmabuf::error::errno_name(*e)))
        .collect();
    println!(
        "fuzz: {} calls in {:.1} s, {} ok ({} imports), errors: {}",
        tally.calls,
        start.elapsed().as_secs_f64(),
        tally.ok,
        tally.imports,
        errnos.join(" ")
    );
    println!("fuzz: after closing everything: imports_alive {alive}, bytes_mapped {bytes}");
    if let Some((i, b)) = limits {
        println!(
            "fuzz: per-file limits {i} imports, {b} bytes: {}",
            if limit_violations.is_empty() {
                "held"
            } else {
                "EXCEEDED"
            }
        );
    }
    for u in &tally.undocumented {
        println!("fuzz: UNDOCUMENTED {u}");
    }
    if tally.undocumented.is_empty() && alive == 0 && bytes == 0 {
        println!("fuzz: PASS");
        ExitCode::SUCCESS
    } else {
        println!("fuzz: FAIL");
        ExitCode::FAILURE
    }
}
