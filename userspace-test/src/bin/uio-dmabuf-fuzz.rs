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
//!   uio-dmabuf-fuzz [--seed N] [--calls N] [--jobs N] [--mix state|calls] [--trace]
//!
//! Seeded and reproducible: the seed is printed; `--seed` (with the same
//! `--jobs`) replays a run (the kernel's answers may still differ where timing
//! matters, e.g. killed children or workers racing on the counters).
//! `--jobs N` runs N worker processes at once, each with its own pool, files
//! and seed derived from the run's; the calls are split between them. `--mix`
//! picks how often each kind of operation comes up (see [`MIX_STATE`] and
//! [`MIX_CALLS`]). The summary ends with the time spent per kind of operation.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

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
    /// Handles of successful imports: (index into `fronts`, handle).
    handles: Vec<(usize, u32)>,
    /// A writable buffer for segment arrays and a read-only page.
    array: Vec<uapi::uio_dmabuf_segment>,
    ro_page: uio_dmabuf::mmap::Mapping,
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

    /// A handle to send to front-end `f`: mostly one of its own imports, else
    /// another file's, a released or a made-up one.
    fn handle(&self, rng: &mut Rng, f: usize) -> u32 {
        // Called for most ioctls: pick the n-th own handle without collecting.
        let own = || self.handles.iter().filter(|(front, _)| *front == f);
        let count = own().count() as u64;
        if count > 0 && rng.chance(75) {
            own().nth(rng.below(count) as usize).map_or(0, |(_, h)| *h)
        } else if !self.handles.is_empty() && rng.chance(50) {
            rng.pick(&self.handles).1
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

/// What a worker did: calls, results by errno, time by kind of operation.
#[derive(Default)]
struct Tally {
    calls: u64,
    ok: u64,
    imports: u64,
    /// Forked children killed mid-way (SIGKILL).
    killed: u64,
    by_errno: BTreeMap<i32, u64>,
    /// Operation kind -> (count, total nanoseconds).
    time_by_op: BTreeMap<String, (u64, u64)>,
    undocumented: Vec<String>,
}

impl Tally {
    /// Adds another worker's tally.
    fn merge(&mut self, other: Tally) {
        self.calls += other.calls;
        self.ok += other.ok;
        self.imports += other.imports;
        self.killed += other.killed;
        for (e, n) in other.by_errno {
            *self.by_errno.entry(e).or_default() += n;
        }
        for (op, (n, ns)) in other.time_by_op {
            let t = self.time_by_op.entry(op).or_default();
            t.0 += n;
            t.1 += ns;
        }
        self.undocumented.extend(other.undocumented);
    }

    /// A line-based text form, for handing a worker's tally to the parent.
    fn serialize(&self) -> String {
        let mut s = format!(
            "calls {}\nok {}\nimports {}\nkilled {}\n",
            self.calls, self.ok, self.imports, self.killed
        );
        for (e, n) in &self.by_errno {
            s += &format!("errno {e} {n}\n");
        }
        for (op, (n, ns)) in &self.time_by_op {
            s += &format!("op {n} {ns} {op}\n");
        }
        for u in &self.undocumented {
            s += &format!("undocumented {}\n", u.replace('\n', " "));
        }
        s
    }

    fn deserialize(text: &str) -> Option<Tally> {
        let mut t = Tally::default();
        for line in text.lines() {
            let (key, rest) = line.split_once(' ')?;
            let mut words = rest.splitn(3, ' ');
            let mut num = || words.next()?.parse::<u64>().ok();
            match key {
                "calls" => t.calls = num()?,
                "ok" => t.ok = num()?,
                "imports" => t.imports = num()?,
                "killed" => t.killed = num()?,
                "errno" => {
                    let (e, n) = (num()?, num()?);
                    t.by_errno.insert(e as i32, n);
                }
                "op" => {
                    let (n, ns) = (num()?, num()?);
                    t.time_by_op.insert(words.next()?.to_string(), (n, ns));
                }
                "undocumented" => t.undocumented.push(rest.to_string()),
                _ => return None,
            }
        }
        Some(t)
    }
}

/// `--trace`: print every call and its result.
static TRACE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Set in forked children (not in workers).
static IN_CHILD: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Calls made by every process of the run (workers and their forked
/// children, which are killed before they could report), in a shared mapping.
static ALL_CALLS: std::sync::OnceLock<SharedCounter> = std::sync::OnceLock::new();

struct SharedCounter(uio_dmabuf::mmap::Mapping);

// SAFETY: The mapping is only accessed as an `AtomicU64`.
unsafe impl Sync for SharedCounter {}
// SAFETY: Likewise.
unsafe impl Send for SharedCounter {}

impl SharedCounter {
    fn new() -> uio_dmabuf::Result<Self> {
        uio_dmabuf::mmap::Mapping::shared_anonymous(std::mem::size_of::<AtomicU64>()).map(Self)
    }

    fn get(&self) -> &AtomicU64 {
        // SAFETY: The mapping is page aligned, at least 8 bytes, zeroed when
        // created, lives as long as `self` and is only accessed atomically.
        unsafe { AtomicU64::from_ptr(self.0.as_ptr().cast()) }
    }
}

impl Tally {
    fn record(&mut self, what: &str, r: uio_dmabuf::Result<i32>) -> bool {
        if TRACE.load(Ordering::Relaxed) {
            println!(
                "trace: pid {} #{} {what} -> {}",
                std::process::id(),
                self.calls,
                r.as_ref()
                    .map_or_else(|e| e.errno_name().to_string(), |_| "ok".into())
            );
        }
        self.calls += 1;
        if let Some(all) = ALL_CALLS.get() {
            all.get().fetch_add(1, Ordering::Relaxed);
        }
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

/// The kinds of operation a step picks from.
#[derive(Clone, Copy)]
enum Op {
    Info,
    Import,
    Segments,
    Sync,
    Release,
    NearIoctl,
    NewDmaBuf,
    DupDmaBuf,
    ReopenFront,
    Fork,
}

/// How often each kind of operation is picked: `(op, weight)`.
type Mix = [(Op, u64); 10];

/// `--mix state` (the default): a third of the steps import, and dma-bufs,
/// files and child processes come and go often; the most state churn per call.
const MIX_STATE: Mix = [
    (Op::Info, 10),
    (Op::Import, 35),
    (Op::Segments, 15),
    (Op::Sync, 15),
    (Op::Release, 10),
    (Op::NearIoctl, 4),
    (Op::NewDmaBuf, 4),
    (Op::DupDmaBuf, 2),
    (Op::ReopenFront, 2),
    (Op::Fork, 3),
];

/// `--mix calls` (for the soak): the same operations, but mostly the cheap
/// ioctls on live imports, so that a run makes millions of calls in minutes
/// under TCG; it still imports, replaces dma-bufs, reopens files and forks
/// thousands of times. Releases are rarer than successful imports, so that
/// live handles pile up between reopens for SEGMENTS and SYNC to work on.
const MIX_CALLS: Mix = [
    (Op::Info, 175),
    (Op::Import, 90),
    (Op::Segments, 300),
    (Op::Sync, 300),
    (Op::Release, 15),
    (Op::NearIoctl, 100),
    (Op::NewDmaBuf, 6),
    (Op::DupDmaBuf, 5),
    (Op::ReopenFront, 4),
    (Op::Fork, 5),
];

impl Rng {
    fn op(&mut self, mix: &Mix) -> Op {
        let mut x = self.below(mix.iter().map(|(_, w)| w).sum());
        for &(op, w) in mix {
            if x < w {
                return op;
            }
            x -= w;
        }
        unreachable!("x is below the sum of the weights")
    }
}

/// One random operation; returns its kind (for the time-by-operation figures).
fn step(rng: &mut Rng, mix: &Mix, pool: &mut Pool, tally: &mut Tally) -> &'static str {
    let f = rng.below(pool.fronts.len() as u64) as usize;
    match rng.op(mix) {
        Op::Info => {
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
            "INFO"
        }
        Op::Import => {
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
                    pool.handles.push((f, a.handle));
                }
                "IMPORT ok"
            } else {
                "IMPORT failed"
            }
        }
        Op::Segments => {
            let capacity = *rng.pick(&[0u32, 1, 3, 64, u32::MAX]);
            let mut a = uapi::uio_dmabuf_segments {
                handle: pool.handle(rng, f),
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
            "SEGMENTS"
        }
        Op::Sync => {
            let mut a = uapi::uio_dmabuf_sync {
                handle: pool.handle(rng, f),
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
            "SYNC"
        }
        Op::Release => {
            let mut a = uapi::uio_dmabuf_release {
                handle: pool.handle(rng, f),
                reserved: if rng.chance(5) { 1 } else { 0 },
            };
            // SAFETY: Matching struct.
            let r = unsafe { ioctl(pool.fronts[f].fd(), uapi::IOC_RELEASE, &mut a, "RELEASE") };
            if tally.record(&format!("RELEASE front {f} handle {}", a.handle), r) {
                // Keep drawing mostly live handles.
                pool.handles.retain(|&h| h != (f, a.handle));
            }
            "RELEASE"
        }
        Op::NearIoctl => {
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
            "near ioctl"
        }
        Op::NewDmaBuf => {
            // Replace a dma-buf: closing the fd must not disturb imports of it.
            let i = rng.below(pool.dmabufs.len() as u64) as usize;
            if let Some(fd) = new_dmabuf(rng) {
                pool.dmabufs[i] = fd;
            }
            "new dma-buf"
        }
        Op::DupDmaBuf => {
            // dup a dma-buf (the pool keeps at most 24).
            if let Ok(d) = rng.pick(&pool.dmabufs).try_clone() {
                if pool.dmabufs.len() < 24 {
                    pool.dmabufs.push(d);
                } else {
                    let i = rng.below(pool.dmabufs.len() as u64) as usize;
                    pool.dmabufs[i] = d;
                }
            }
            "dup dma-buf"
        }
        Op::ReopenFront => {
            // Close and reopen an import front-end: drops all its imports.
            if let Ok(d) = ImportDevice::open() {
                pool.fronts[f] = d;
                pool.handles.retain(|&(front, _)| front != f);
            }
            "reopen front-end"
        }
        Op::Fork if IN_CHILD.load(Ordering::Relaxed) => {
            // Children do not fork: a grandchild orphaned by its parent's
            // SIGKILL would hold files the limit check cannot account for.
            "fork (not in a child)"
        }
        Op::Fork => {
            // A child inherits everything, imports in its own file, and is
            // killed (or exits) mid-way.
            // SAFETY: The child only makes syscalls and exits with _exit.
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                IN_CHILD.store(true, Ordering::Relaxed);
                let mut child_rng = Rng(rng.next() | 1);
                if let Ok(front) = ImportDevice::open() {
                    pool.fronts.push(front);
                }
                let mut child_tally = Tally::default();
                for _ in 0..20 {
                    step(&mut child_rng, mix, pool, &mut child_tally);
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
                    tally.killed += 1;
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
            "fork"
        }
    }
}

/// (imports_alive, bytes_mapped) from the driver's debugfs.
/// The driver's debugfs counters the limit check reads.
struct Counters {
    /// Imports mapped now, and their sizes.
    alive: u64,
    bytes: u64,
    /// Of those, the ones kept by files of dead processes (for devices whose
    /// `/dev/uioN` is still open), which no per-file limit covers any more.
    orphaned: u64,
    orphaned_bytes: u64,
}

fn counters() -> Result<Counters, String> {
    let summary = sysfs::debugfs_summary().map_err(|e| e.to_string())?;
    let get = |k: &str| {
        summary
            .iter()
            .find(|(n, _)| n == k)
            .map_or(u64::MAX, |(_, v)| *v)
    };
    Ok(Counters {
        alive: get("imports_alive"),
        bytes: get("bytes_mapped"),
        orphaned: get("orphaned_imports"),
        orphaned_bytes: get("orphaned_bytes"),
    })
}

/// Seed of worker `w`: worker 0 uses the run's seed, so `--jobs 1` replays
/// the single-process runs of earlier versions.
fn worker_seed(seed: u64, w: u64) -> u64 {
    (seed ^ w.wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1
}

/// One fuzzing process: its own pool of fds and import files, `calls` ioctls.
/// `jobs` workers run at once; the per-file limit check allows for the files
/// of the others (two each, plus one per forked child alive).
fn worker(seed: u64, calls: u64, jobs: u64, mix: &Mix) -> Result<Tally, String> {
    let mut rng = Rng(seed);
    let devices = sysfs::bound_devices().unwrap_or_default();
    let uios: Vec<Uio> = devices
        .iter()
        .filter_map(|d| Uio::for_device(&d.name).ok())
        .collect();
    if uios.is_empty() {
        return Err("no device bound to uio_dmabuf".into());
    }
    let (p0, p1) = testing::pipe().map_err(|e| format!("pipe: {e}"))?;
    let ro_page = uio_dmabuf::mmap::Mapping::anonymous(buffers::page_size(), libc::PROT_READ)
        .map_err(|e| format!("read-only page: {e}"))?;
    let open = |path: &str| {
        fs::File::open(path)
            .map(OwnedFd::from)
            .map_err(|e| format!("{path}: {e}"))
    };
    let mut pool = Pool {
        fronts: (0..2).filter_map(|_| ImportDevice::open().ok()).collect(),
        uios,
        dmabufs: (0..8).filter_map(|_| new_dmabuf(&mut rng)).collect(),
        others: vec![
            open("/dev/null")?,
            open("/proc/self/status")?,
            p0,
            p1,
            testing::eventfd().map_err(|e| format!("eventfd: {e}"))?,
        ],
        handles: Vec::new(),
        array: vec![uapi::uio_dmabuf_segment::default(); 64],
        ro_page,
    };
    if pool.fronts.len() < 2 || pool.dmabufs.is_empty() {
        return Err("setup failed: cannot open /dev/uio-dmabuf or allocate dma-bufs".into());
    }
    // The per-file limits must hold: between steps (no child of this worker
    // alive) only the workers' own files hold imports, besides the orphans of
    // killed children; and all of them together stay within the per-device
    // limits, which bound what dead processes can leave behind.
    let info = pool.fronts[0].info(&pool.uios[0]).ok();
    let devices = pool.uios.len() as u64;
    let mut violations = 0;
    let mut tally = Tally::default();
    while tally.calls < calls {
        let start = std::time::Instant::now();
        let op = step(&mut rng, mix, &mut pool, &mut tally);
        let t = tally.time_by_op.entry(op.to_string()).or_default();
        t.0 += 1;
        t.1 += start.elapsed().as_nanos() as u64;
        if tally.calls % 64 == 0 && violations < 5 {
            if let (Some(info), Ok(c)) = (&info, counters()) {
                let files = pool.fronts.len() as u64 * jobs + (jobs - 1);
                let (max_imports, max_bytes) = (u64::from(info.max_imports), info.max_mapped_bytes);
                let live = c.alive.saturating_sub(c.orphaned);
                let live_bytes = c.bytes.saturating_sub(c.orphaned_bytes);
                if live > files * max_imports || live_bytes > files * max_bytes {
                    violations += 1;
                    tally.undocumented.push(format!(
                        "per-file limit exceeded: {live} imports / {live_bytes} bytes alive in \
                         {files} files, limits {max_imports} / {max_bytes} per file"
                    ));
                }
                let (max_imports, max_bytes) = (
                    u64::from(info.max_device_imports),
                    info.max_device_mapped_bytes,
                );
                if c.alive > devices * max_imports || c.bytes > devices * max_bytes {
                    violations += 1;
                    tally.undocumented.push(format!(
                        "per-device limit exceeded: {} imports / {} bytes alive ({} orphaned) on \
                         {devices} devices, limits {max_imports} / {max_bytes} per device",
                        c.alive, c.bytes, c.orphaned
                    ));
                }
            }
        }
    }
    if let Some(i) = info {
        let held = if violations == 0 { "held" } else { "EXCEEDED" };
        println!(
            "fuzz: limits {} imports, {} bytes per file, {} imports, {} bytes per device: {held}",
            i.max_imports, i.max_mapped_bytes, i.max_device_imports, i.max_device_mapped_bytes
        );
    }
    Ok(tally)
}

/// Runs `jobs` workers as child processes and merges their tallies.
fn run_workers(seed: u64, calls: u64, jobs: u64, mix: &Mix) -> Tally {
    let mut total = Tally::default();
    let mut children = Vec::new();
    for w in 0..jobs {
        let share = calls / jobs + u64::from(w < calls % jobs);
        let (rx, tx) = match testing::pipe() {
            Ok((r, t)) => (fs::File::from(r), fs::File::from(t)),
            Err(e) => {
                total.undocumented.push(format!("pipe for worker {w}: {e}"));
                continue;
            }
        };
        // SAFETY: The child runs the worker and leaves with _exit.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            drop(rx);
            let mut tx = tx;
            let tally = worker(worker_seed(seed, w), share, jobs, mix).unwrap_or_else(|e| Tally {
                undocumented: vec![format!("worker {w}: {e}")],
                ..Default::default()
            });
            let status = i32::from(tx.write_all(tally.serialize().as_bytes()).is_err());
            let _ = std::io::stdout().flush();
            // SAFETY: Leave without running the parent's destructors.
            unsafe { libc::_exit(status) };
        }
        drop(tx);
        if pid < 0 {
            total
                .undocumented
                .push(format!("fork of worker {w} failed"));
            continue;
        }
        children.push((w, pid, rx));
    }
    // A report is a few hundred bytes written at the worker's end, well
    // within a pipe's buffer, so reading the pipes in order cannot block a
    // worker.
    for (w, pid, mut rx) in children {
        let mut text = String::new();
        let read = rx.read_to_string(&mut text);
        let mut status = 0;
        // SAFETY: Reaping our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        match read.ok().and_then(|_| Tally::deserialize(&text)) {
            Some(t) if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 => total.merge(t),
            _ => total.undocumented.push(format!(
                "worker {w} died or sent no report (status {status:#x})"
            )),
        }
    }
    total
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut seed = None;
    let mut calls = 20_000u64;
    let mut jobs = 1u64;
    let mut mix = ("state", &MIX_STATE);
    while let Some(a) = args.next() {
        if a == "--trace" {
            TRACE.store(true, Ordering::Relaxed);
            continue;
        }
        if a == "--mix" {
            mix = match args.next().as_deref() {
                Some("state") => ("state", &MIX_STATE),
                Some("calls") => ("calls", &MIX_CALLS),
                _ => {
                    eprintln!("uio-dmabuf-fuzz: --mix is 'state' or 'calls'");
                    return ExitCode::from(2);
                }
            };
            continue;
        }
        let v = args.next().and_then(|v| {
            v.strip_prefix("0x")
                .map_or_else(|| v.parse().ok(), |h| u64::from_str_radix(h, 16).ok())
        });
        match (a.as_str(), v) {
            ("--seed", Some(v)) => seed = Some(v),
            ("--calls", Some(v)) => calls = v,
            ("--jobs", Some(v)) if (1..=64).contains(&v) => jobs = v,
            _ => {
                eprintln!(
                    "usage: uio-dmabuf-fuzz [--seed N] [--calls N] [--jobs N] [--mix state|calls] [--trace]"
                );
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
    let (mix_name, mix) = mix;
    println!(
        "fuzz: seed {seed:#x}, {calls} calls, {jobs} worker(s), mix {mix_name} \
         (replay with --seed {seed:#x} --jobs {jobs} --mix {mix_name})"
    );
    if let Ok(c) = SharedCounter::new() {
        let _ = ALL_CALLS.set(c);
    }
    let start = std::time::Instant::now();
    let tally = if jobs == 1 {
        worker(worker_seed(seed, 0), calls, 1, mix).unwrap_or_else(|e| Tally {
            undocumented: vec![e],
            ..Default::default()
        })
    } else {
        run_workers(seed, calls, jobs, mix)
    };
    let elapsed = start.elapsed().as_secs_f64();
    // Every worker has exited, so every file and fd of the run is closed.
    let (alive, bytes) = counters().map_or((u64::MAX, u64::MAX), |c| (c.alive, c.bytes));
    let errnos: Vec<String> = tally
        .by_errno
        .iter()
        .map(|(e, n)| format!("{}={n}", uio_dmabuf::error::errno_name(*e)))
        .collect();
    // The workers' calls plus those of their forked children.
    let all_calls = ALL_CALLS
        .get()
        .map_or(tally.calls, |c| c.get().load(Ordering::Relaxed));
    println!(
        "fuzz: {all_calls} calls in {elapsed:.1} s ({:.0} calls/s; {} by the workers, the rest by \
         forked children); of the workers' calls {} ok ({} imports), errors: {}",
        all_calls as f64 / elapsed.max(1e-9),
        tally.calls,
        tally.ok,
        tally.imports,
        errnos.join(" ")
    );
    println!(
        "fuzz: {} forked children killed mid-way; after closing everything: imports_alive {alive}, \
         bytes_mapped {bytes}",
        tally.killed
    );
    let mut ops: Vec<_> = tally.time_by_op.iter().collect();
    ops.sort_by_key(|(_, (_, ns))| std::cmp::Reverse(*ns));
    let ops: Vec<String> = ops
        .iter()
        .map(|(op, (n, ns))| {
            format!(
                "{op} {n}x {:.2} ms ({:.0}%)",
                *ns as f64 / 1e6 / (*n).max(1) as f64,
                *ns as f64 * 100.0 / (elapsed * 1e9 * jobs as f64)
            )
        })
        .collect();
    println!(
        "fuzz: time by operation (mean, share of worker time): {}",
        ops.join(", ")
    );
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_round_trips_through_its_text_form() {
        let mut t = Tally {
            calls: 10,
            ok: 4,
            imports: 2,
            killed: 3,
            ..Default::default()
        };
        t.by_errno.insert(libc::ENOENT, 5);
        t.by_errno.insert(libc::EINVAL, 1);
        t.time_by_op.insert("IMPORT ok".into(), (2, 12345));
        t.undocumented.push("SYNC: weird\nerrno".into());
        let back = Tally::deserialize(&t.serialize()).expect("parses");
        assert_eq!(
            (back.calls, back.ok, back.imports, back.killed),
            (10, 4, 2, 3)
        );
        assert_eq!(back.by_errno, t.by_errno);
        assert_eq!(back.time_by_op, t.time_by_op);
        assert_eq!(back.undocumented, vec!["SYNC: weird errno".to_string()]);
        assert!(Tally::deserialize("calls x\n").is_none());
        assert!(Tally::deserialize("bogus 1\n").is_none());
    }

    #[test]
    fn merge_adds_up() {
        let mut a = Tally {
            calls: 1,
            ..Default::default()
        };
        a.by_errno.insert(libc::EBADF, 1);
        let mut b = Tally {
            calls: 2,
            ..Default::default()
        };
        b.by_errno.insert(libc::EBADF, 2);
        b.time_by_op.insert("INFO".into(), (1, 10));
        a.merge(b);
        assert_eq!(a.calls, 3);
        assert_eq!(a.by_errno[&libc::EBADF], 3);
        assert_eq!(a.time_by_op["INFO"], (1, 10));
    }

    #[test]
    fn every_operation_of_a_mix_comes_up() {
        for mix in [&MIX_STATE, &MIX_CALLS] {
            let mut rng = Rng(0x1234_5678_9abc_def1);
            let mut seen = [0u32; 10];
            for _ in 0..100_000 {
                seen[rng.op(mix) as usize] += 1;
            }
            assert!(seen.iter().all(|&n| n > 0), "{seen:?}");
        }
    }

    #[test]
    fn worker_zero_keeps_the_run_seed() {
        assert_eq!(worker_seed(0x41, 0), 0x41);
        assert_ne!(worker_seed(0x41, 1), worker_seed(0x41, 0));
    }
}
