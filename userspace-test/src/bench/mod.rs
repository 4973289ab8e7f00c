// SPDX-License-Identifier: MIT OR Apache-2.0

//! Benchmarks of the import path, run in the guest by `uio-dmabuf bench`.
//!
//! Timings under TCG are inflated; what holds are ratios between measurements
//! of the same run. Each measurement reports the median and the 99th
//! percentile of per-operation times in nanoseconds.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::time::Instant;

use crate::buffers;
use crate::edu::Edu;
use crate::error::{Error, Result};
use crate::import::{ioctl, Direction, ImportDevice, ImportFlags};
use crate::sysfs;
use crate::uapi;
use crate::uio::Uio;

pub mod trace;
pub mod vfio;

/// Median and 99th percentile of a set of samples, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    pub median_ns: f64,
    pub p99_ns: f64,
    pub samples: usize,
}

impl Stats {
    /// Summarizes `samples` (nanoseconds); empty input gives zeros.
    pub fn of(samples: &mut [f64]) -> Stats {
        if samples.is_empty() {
            return Stats {
                median_ns: 0.0,
                p99_ns: 0.0,
                samples: 0,
            };
        }
        samples.sort_by(|a, b| a.total_cmp(b));
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
        Stats {
            median_ns: at(0.5),
            p99_ns: at(0.99),
            samples: samples.len(),
        }
    }

    /// `{"median_ns":..,"p99_ns":..,"samples":..}`, times in whole nanoseconds.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "median_ns": whole(self.median_ns),
            "p99_ns": whole(self.p99_ns),
            "samples": self.samples,
        })
    }
}

/// `v` rounded to a whole number for the JSON results; `None` (null) if it is
/// not finite, e.g. a rate over a time too short to resolve.
pub fn whole(v: f64) -> Option<u64> {
    v.is_finite().then(|| v.round() as u64)
}

/// Times `iters` runs of `f` (after `warmup` untimed ones).
pub fn measure(warmup: usize, iters: usize, mut f: impl FnMut() -> Result<()>) -> Result<Stats> {
    for _ in 0..warmup {
        f()?;
    }
    Ok(Stats::of(&mut samples(iters, &mut f)?))
}

/// The durations of `iters` runs of `f`, in nanoseconds.
pub fn samples(iters: usize, mut f: impl FnMut() -> Result<()>) -> Result<Vec<f64>> {
    let mut out = Vec::with_capacity(iters);
    for _ in 0..iters {
        let t = Instant::now();
        f()?;
        out.push(t.elapsed().as_nanos() as f64);
    }
    Ok(out)
}

/// Measures several things in alternating rounds: round after round, each
/// entry of `take` is asked for `per_round` samples. On a host whose speed
/// drifts (a VM with noisy neighbours), slow phases then hit every
/// measurement alike, which keeps their ratios meaningful.
pub fn interleaved<const N: usize>(
    rounds: usize,
    per_round: usize,
    take: &mut [&mut dyn FnMut(usize) -> Result<Vec<f64>>; N],
) -> Result<[Stats; N]> {
    let mut all: [Vec<f64>; N] = std::array::from_fn(|_| Vec::new());
    for _ in 0..rounds {
        for (f, out) in take.iter_mut().zip(all.iter_mut()) {
            out.extend(f(per_round)?);
        }
    }
    Ok(all.map(|mut v| Stats::of(&mut v)))
}

/// A raw IMPORT writing at most `capacity` segments to `segs`; returns the
/// handle and the segment count.
pub fn raw_import(
    dev: &ImportDevice,
    uio: impl AsFd,
    buf: impl AsFd,
    segs: &mut [uapi::uio_dmabuf_segment],
) -> Result<(u32, u32)> {
    let mut a = uapi::uio_dmabuf_import {
        uio_fd: uio.as_fd().as_raw_fd(),
        dmabuf_fd: buf.as_fd().as_raw_fd(),
        direction: uapi::UIO_DMABUF_DIR_BIDIRECTIONAL,
        segments: if segs.is_empty() {
            0
        } else {
            segs.as_mut_ptr() as u64
        },
        capacity: segs.len() as u32,
        ..Default::default()
    };
    // SAFETY: Matching struct; `segments` has `capacity` entries.
    unsafe { ioctl(dev.fd(), uapi::IOC_IMPORT, &mut a, "UIO_DMABUF_IOC_IMPORT")? };
    Ok((a.handle, a.nr_segments))
}

/// SYNC of one system-heap import of `size` bytes: the time of one
/// FOR_DEVICE and of one FOR_CPU call, in alternating rounds.
pub fn sync_cost(dev: &ImportDevice, uio: &Uio, size: usize, iters: usize) -> Result<[Stats; 2]> {
    let buf = buffers::system_heap(size)?;
    let imp = dev.import(uio, &buf, Direction::Bidirectional, ImportFlags::default())?;
    let h = imp.handle();
    interleaved(
        10,
        iters.div_ceil(10),
        &mut [&mut |n| samples(n, || dev.sync(h, false)), &mut |n| {
            samples(n, || dev.sync(h, true))
        }],
    )
}

/// The syscall floor: an ioctl `/dev/uio-dmabuf` rejects at once (ENOTTY).
pub fn noop_ioctl(dev: &ImportDevice) -> Result<()> {
    let mut junk = 0u64;
    // SAFETY: The number is unknown to the driver, which never reads `junk`.
    match unsafe { ioctl(dev.fd(), uapi::ioc(0, 0x3f, 0), &mut junk, "no-op ioctl") } {
        Err(e) if e.errno == libc::ENOTTY => Ok(()),
        Err(e) => Err(e),
        Ok(_) => Err(Error::new("no-op ioctl succeeded", libc::EINVAL)),
    }
}

/// The in-kernel floor: `dma_buf_get` + attach + map + unmap + detach + put of
/// the buffer behind `buf`, `iters` times in the benchmark-only module (an
/// open `/dev/uio-dmabuf-bench`, the driver's own abstractions, no ioctl
/// around each iteration); one duration per iteration, in nanoseconds.
pub fn kernel_floor_samples(bench: &File, buf: impl AsFd, iters: u32) -> Result<Vec<f64>> {
    #[repr(C)]
    struct RunArgs {
        dmabuf_fd: i32,
        iterations: u32,
        samples: u64,
    }
    let mut samples = vec![0u64; iters as usize];
    let mut args = RunArgs {
        dmabuf_fd: buf.as_fd().as_raw_fd(),
        iterations: iters,
        samples: samples.as_mut_ptr() as u64,
    };
    let cmd = uapi::ioc(3, 0x3e, size_of::<RunArgs>());
    // SAFETY: `args` matches the module's RUN argument; `samples` has room for
    // `iterations` values.
    unsafe { ioctl(bench.as_fd(), cmd, &mut args, "uio-dmabuf-bench RUN")? };
    Ok(samples.iter().map(|&v| v as f64).collect())
}

/// Times `iters` runs of `timed`, each after an untimed `setup` whose output
/// it consumes.
fn measure_with_setup<T>(
    iters: usize,
    mut setup: impl FnMut() -> Result<T>,
    mut timed: impl FnMut(T) -> Result<()>,
) -> Result<Stats> {
    let mut samples = Vec::with_capacity(iters);
    for _ in 0..iters {
        let input = setup()?;
        let t = Instant::now();
        timed(input)?;
        samples.push(t.elapsed().as_nanos() as f64);
    }
    Ok(Stats::of(&mut samples))
}

/// Where the time of a 4 KiB import + release goes: each ioctl of the path
/// on its own (INFO: the uio fd lookup alone; SEGMENTS and SYNC: the handle
/// lookup on a live import).
pub fn path_breakdown(
    dev: &ImportDevice,
    uio: &Uio,
    iters: usize,
) -> Result<Vec<(&'static str, Stats)>> {
    let buf = buffers::system_heap(4096)?;
    let import = || raw_import(dev, uio, &buf, &mut []).map(|(h, _)| h);
    let mut out = vec![(
        "INFO (uio fd lookup)",
        measure(iters / 10, iters, || dev.info(uio).map(|_| ()))?,
    )];
    let mut imported = Vec::with_capacity(iters);
    for _ in 0..iters {
        let t = Instant::now();
        let h = import()?;
        imported.push(t.elapsed().as_nanos() as f64);
        dev.release(h)?;
    }
    out.push(("IMPORT alone", Stats::of(&mut imported)));
    out.push((
        "RELEASE alone",
        measure_with_setup(iters, import, |h| dev.release(h))?,
    ));
    let h = import()?;
    let lookups = (|| {
        Ok::<_, Error>((
            measure(iters / 10, iters, || {
                dev.segments_into(h, 0, &mut [uapi::uio_dmabuf_segment::default()])
                    .map(|_| ())
            })?,
            measure(iters / 10, iters, || dev.sync(h, false))?,
        ))
    })();
    dev.release(h)?;
    let (segments, sync) = lookups?;
    out.push(("SEGMENTS of a live import, 1 segment", segments));
    out.push(("SYNC for the device, 1 page", sync));
    Ok(out)
}

/// [`import_release`]'s measurements of one buffer size.
#[derive(Debug, Clone, Copy)]
pub struct SizeResult {
    /// IMPORT (no segment array) + RELEASE.
    pub bare: Stats,
    /// Import through the library, which reads the whole segment list, + release.
    pub readout: Stats,
    /// The in-kernel floor on the same buffer (`None` without the module).
    pub kernel_floor: Option<Stats>,
    /// The no-op ioctl, measured in the same rounds.
    pub syscall: Stats,
}

impl SizeResult {
    /// ours / (2 syscalls + in-kernel floor), medians: import+release is two
    /// syscalls, and the floor counts both.
    pub fn overhead(&self) -> Option<f64> {
        self.kernel_floor
            .map(|k| self.bare.median_ns / (2.0 * self.syscall.median_ns + k.median_ns))
    }
}

/// Import + release of one `size`-byte system-heap buffer, bare and with the
/// segment list read out, against the no-op ioctl and the in-kernel floor on
/// the same buffer: `iters` samples of each, taken in 10 interleaved rounds.
pub fn import_release(
    dev: &ImportDevice,
    uio: &Uio,
    size: usize,
    iters: usize,
) -> Result<SizeResult> {
    let buf = buffers::system_heap(size)?;
    let bare = || {
        let (h, _) = raw_import(dev, uio, &buf, &mut [])?;
        dev.release(h)
    };
    let readout = || {
        dev.import(uio, &buf, Direction::Bidirectional, ImportFlags::default())?
            .release()
    };
    measure(iters / 10 + 1, 0, bare)?;
    measure(iters / 10 + 1, 0, readout)?;
    let rounds = 10;
    let per_round = iters.div_ceil(rounds);
    let bench = bench_module();
    let [bare, readout, syscall, floor] = interleaved(
        rounds,
        per_round,
        &mut [
            &mut |n| samples(n, bare),
            &mut |n| samples(n, readout),
            &mut |n| samples(n, || noop_ioctl(dev)),
            &mut |n| match &bench {
                Some(b) => kernel_floor_samples(b, &buf, n as u32),
                None => Ok(Vec::new()),
            },
        ],
    )?;
    Ok(SizeResult {
        bare,
        readout,
        kernel_floor: bench.is_some().then_some(floor),
        syscall,
    })
}

/// [`segment_readout`]'s measurements.
#[derive(Debug, Clone, Copy)]
pub struct SegmentReadout {
    /// Segments of the buffer.
    pub segments: u32,
    /// IMPORT + RELEASE writing every segment to IMPORT's array.
    pub import_with_array: Stats,
    /// IMPORT + RELEASE writing none.
    pub import_bare: Stats,
    /// Paged SEGMENTS (1024 a call into one reused array) of a live import:
    /// the readout alone.
    pub paged: Stats,
    /// Reading the same byte count from a memfd: the kernel-to-user copy floor.
    pub copy_floor: Stats,
}

impl SegmentReadout {
    /// The array's share of IMPORT (difference of the medians), if it stands
    /// out of the bare import's own spread (p99 - median); under TCG the
    /// import of a buffer with thousands of pages varies by more than the
    /// copy of its segment list costs.
    pub fn array_net_ns(&self) -> Option<f64> {
        let net = self.import_with_array.median_ns - self.import_bare.median_ns;
        let spread = self.import_bare.p99_ns - self.import_bare.median_ns;
        (net > spread).then_some(net)
    }
}

/// Segment readout of a udmabuf of `pages` discontiguous pages.
pub fn segment_readout(
    dev: &ImportDevice,
    uio: &Uio,
    pages: usize,
    iters: usize,
) -> Result<SegmentReadout> {
    let (buf, _) = buffers::udmabuf_with_memfd(pages * buffers::page_size(), true)?;
    let mut all = vec![uapi::uio_dmabuf_segment::default(); pages];
    let import_with_array = measure(1, iters, || {
        let (h, _) = raw_import(dev, uio, &buf, &mut all)?;
        dev.release(h)
    })?;
    let import_bare = measure(1, iters, || {
        let (h, _) = raw_import(dev, uio, &buf, &mut [])?;
        dev.release(h)
    })?;
    let (h, n) = raw_import(dev, uio, &buf, &mut [])?;
    let mut page = vec![uapi::uio_dmabuf_segment::default(); 1024];
    let paged = measure(1, iters * 4, || {
        let mut first = 0;
        while first < n {
            first += dev.segments_into(h, first, &mut page)?.0;
        }
        Ok(())
    });
    dev.release(h)?;
    let paged = paged?;
    let bytes = n as usize * size_of::<uapi::uio_dmabuf_segment>();
    let floor_file = memfd_of(bytes)?;
    let mut dst = vec![0u8; bytes];
    let copy_floor = measure(1, iters * 4, || {
        floor_file
            .read_exact_at(&mut dst, 0)
            .map_err(|e| Error::from_io("pread memfd", &e))
    })?;
    Ok(SegmentReadout {
        segments: n,
        import_with_array,
        import_bare,
        paged,
        copy_floor,
    })
}

fn memfd_of(bytes: usize) -> Result<File> {
    let (_, memfd) = buffers::udmabuf_with_memfd(
        bytes.div_ceil(buffers::page_size()) * buffers::page_size(),
        false,
    )?;
    memfd
        .write_all_at(&vec![0x5a; bytes], 0)
        .map_err(|e| Error::from_io("write memfd", &e))?;
    Ok(memfd)
}

/// Import + release latency with `live` other imports alive in the same file
/// of `dev`'s device, beside the same on a second device (`base`: its own file
/// and `/dev/uioN`, nothing else alive on it), in `rounds` alternating rounds
/// of `per_round` each: the ratio of the two does not depend on how fast the
/// host happens to be while either is measured. Returns (with `live`, base).
pub fn with_live_imports_beside(
    (dev, uio): (&ImportDevice, &Uio),
    base: (&ImportDevice, &Uio),
    live: usize,
    rounds: usize,
    per_round: usize,
) -> Result<(Stats, Stats)> {
    let mut handles = Vec::with_capacity(live);
    let result = (|| {
        for _ in 0..live {
            let buf: OwnedFd = buffers::system_heap(4096)?;
            // The import keeps the buffer alive; its fd can go.
            handles.push(raw_import(dev, uio, &buf, &mut [])?.0);
        }
        let buf = buffers::system_heap(4096)?;
        let base_buf = buffers::system_heap(4096)?;
        let once = |(d, u): (&ImportDevice, &Uio), b: &OwnedFd| {
            let (h, _) = raw_import(d, u, b, &mut [])?;
            d.release(h)
        };
        measure(per_round, 0, || once((dev, uio), &buf))?;
        measure(per_round, 0, || once(base, &base_buf))?;
        let [with_live, beside] = interleaved(
            rounds,
            per_round,
            &mut [&mut |n| samples(n, || once((dev, uio), &buf)), &mut |n| {
                samples(n, || once(base, &base_buf))
            }],
        )?;
        Ok((with_live, beside))
    })();
    for h in handles {
        dev.release(h)?;
    }
    result
}

/// Import + release latency with `live` other imports alive in the same file.
pub fn with_live_imports(
    dev: &ImportDevice,
    uio: &Uio,
    live: usize,
    iters: usize,
) -> Result<Stats> {
    let mut handles = Vec::with_capacity(live);
    for _ in 0..live {
        let buf: OwnedFd = buffers::system_heap(4096)?;
        // The import keeps the buffer alive; its fd can go.
        handles.push(raw_import(dev, uio, &buf, &mut [])?.0);
    }
    let buf = buffers::system_heap(4096)?;
    let stats = measure(iters / 10 + 1, iters, || {
        let (h, _) = raw_import(dev, uio, &buf, &mut [])?;
        dev.release(h)
    });
    for h in handles {
        dev.release(h)?;
    }
    stats
}

/// Imports + releases per second over `threads` threads for `ms`
/// milliseconds, sharing one open file or each with its own.
pub fn threads_throughput(uio: &Uio, threads: usize, shared_fd: bool, ms: u64) -> Result<f64> {
    let shared = ImportDevice::open()?;
    let deadline = Instant::now() + std::time::Duration::from_millis(ms);
    let counts: Vec<Result<u64>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| -> Result<u64> {
                    let own;
                    let dev = if shared_fd {
                        &shared
                    } else {
                        own = ImportDevice::open()?;
                        &own
                    };
                    let buf = buffers::system_heap(4096)?;
                    let mut n = 0;
                    while Instant::now() < deadline {
                        let (h, _) = raw_import(dev, uio, &buf, &mut [])?;
                        dev.release(h)?;
                        n += 1;
                    }
                    Ok(n)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or(Err(Error::new("bench thread panicked", libc::EIO)))
            })
            .collect()
    });
    let mut total = 0;
    for c in counts {
        total += c?;
    }
    Ok(total as f64 / (ms as f64 / 1000.0))
}

/// Bytes of the slab objects in use: the sum over `/proc/slabinfo` of
/// active objects times object size (which includes any per-object debug
/// metadata). Counts objects, not slab pages, so freed objects sitting in
/// partially used slabs do not blur a before/after difference.
pub fn slab_object_bytes() -> Result<u64> {
    let text = std::fs::read_to_string("/proc/slabinfo")
        .map_err(|e| Error::from_io("read /proc/slabinfo", &e))?;
    let mut total = 0u64;
    for line in text.lines().skip(2) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(active), Some(size)) = (f.get(1), f.get(3)) else {
            continue;
        };
        let (Ok(active), Ok(size)) = (active.parse::<u64>(), size.parse::<u64>()) else {
            return Err(Error::new("unexpected /proc/slabinfo line", libc::EIO));
        };
        total += active * size;
    }
    Ok(total)
}

/// Kernel memory per live import, in slab object bytes.
#[derive(Debug, Clone, Copy)]
pub struct ImportMemory {
    /// Everything a live import makes the kernel allocate, per import.
    pub total: f64,
    /// The part a bare attach + map of the same buffer allocates (dma-buf
    /// core, exporter, DMA API), measured with the benchmark module holding
    /// the same number of live mappings; `None` without the module.
    pub floor: Option<f64>,
}

impl ImportMemory {
    /// The driver's own share: total minus the floor.
    pub fn driver(&self) -> Option<f64> {
        self.floor.map(|f| self.total - f)
    }
}

/// Measures [`ImportMemory`] over `count` 4 KiB system-heap buffers that exist
/// before either measurement: the growth of [`slab_object_bytes`] while all
/// of them are imported, and while the benchmark module holds them attached
/// and mapped. One untimed import round first brings the caches to a steady
/// state.
pub fn memory_per_import(dev: &ImportDevice, uio: &Uio, count: usize) -> Result<ImportMemory> {
    let bufs: Vec<OwnedFd> = (0..count)
        .map(|_| buffers::system_heap(4096))
        .collect::<Result<_>>()?;
    let import_all = || -> Result<Vec<u32>> {
        bufs.iter()
            .map(|b| Ok(raw_import(dev, uio, b, &mut [])?.0))
            .collect()
    };
    for h in import_all()? {
        dev.release(h)?;
    }
    let before = slab_object_bytes()?;
    let handles = import_all()?;
    let after = slab_object_bytes()?;
    for h in handles {
        dev.release(h)?;
    }
    let total = (after as f64 - before as f64) / count as f64;
    let floor = match bench_module() {
        None => None,
        Some(bench) => {
            let before = slab_object_bytes()?;
            bench_hold(&bench, &bufs)?;
            let after = slab_object_bytes()?;
            drop(bench);
            Some((after as f64 - before as f64) / count as f64)
        }
    };
    Ok(ImportMemory { total, floor })
}

/// `/dev/uio-dmabuf-bench` of the benchmark-only module, if it is loaded.
fn bench_module() -> Option<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/uio-dmabuf-bench")
        .ok()
}

/// The benchmark module's HOLD: attach and map every buffer of `bufs` to edu
/// and keep the mappings until `bench` is closed.
fn bench_hold(bench: &File, bufs: &[OwnedFd]) -> Result<()> {
    #[repr(C)]
    struct HoldArgs {
        fds: u64,
        count: u32,
        reserved: u32,
    }
    let fds: Vec<i32> = bufs.iter().map(|b| b.as_raw_fd()).collect();
    let mut args = HoldArgs {
        fds: fds.as_ptr() as u64,
        count: fds.len() as u32,
        reserved: 0,
    };
    let cmd = uapi::ioc(3, 0x3d, size_of::<HoldArgs>());
    // SAFETY: `args` matches the module's HOLD argument; `fds` has `count`
    // entries.
    unsafe { ioctl(bench.as_fd(), cmd, &mut args, "uio-dmabuf-bench HOLD")? };
    Ok(())
}

/// One interrupt round trip through `/dev/uioN`: edu raises (register 0x60),
/// `read()` returns, the handler's status is acked at edu and the interrupt is
/// re-enabled by `reenable`.
pub fn irq_round_trip(uio: &Uio, iters: usize, reenable: impl Fn() -> Result<()>) -> Result<Stats> {
    Ok(Stats::of(&mut irq_round_trip_samples(
        uio, iters, reenable,
    )?))
}

/// [`irq_round_trip`]'s samples (after 3 untimed round trips).
pub fn irq_round_trip_samples(
    uio: &Uio,
    iters: usize,
    reenable: impl Fn() -> Result<()>,
) -> Result<Vec<f64>> {
    let edu = Edu::new(uio)?;
    let mut once = || {
        edu.raise_irq(1)?;
        uio.wait_irq_timeout(20_000)?
            .ok_or(Error::new("interrupt timeout", libc::ETIMEDOUT))?;
        edu.ack_irq()?;
        reenable()
    };
    measure(3, 0, &mut once)?;
    samples(iters, once)
}

/// Re-enables INTx of a `uio_pci_generic` device, which has no irqcontrol: clear
/// the Interrupt Disable bit of the command register through sysfs config space.
pub fn pci_unmask_intx(pci: &str) -> Result<impl Fn() -> Result<()>> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(sysfs::pci_config_path(pci))
        .map_err(|e| Error::from_io("open config", &e))?;
    Ok(move || {
        let cmd = sysfs::read_pci_command(&f).map_err(|e| Error::from_io("read command", &e))?;
        sysfs::write_pci_command(&f, cmd & !sysfs::PCI_COMMAND_INTX_DISABLE)
            .map_err(|e| Error::from_io("write command", &e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_median_and_p99() {
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        let s = Stats::of(&mut v);
        assert_eq!(s.median_ns, 51.0);
        assert_eq!(s.p99_ns, 99.0);
        assert_eq!(s.samples, 100);
        let mut one = vec![7.0];
        assert_eq!(Stats::of(&mut one).p99_ns, 7.0);
        assert_eq!(Stats::of(&mut []).samples, 0);
    }

    #[test]
    fn stats_json() {
        let s = Stats {
            median_ns: 1500.4,
            p99_ns: 2000.0,
            samples: 3,
        };
        assert_eq!(
            s.json().to_string(),
            "{\"median_ns\":1500,\"p99_ns\":2000,\"samples\":3}"
        );
        assert_eq!(whole(f64::INFINITY), None);
    }
}

/// IMPORT and RELEASE of one `size`-byte system-heap buffer, `iters` times
/// each, traced by function_graph ([`trace`]): the traced IMPORT calls and
/// the traced RELEASE calls.
pub fn trace_import_release(
    dev: &ImportDevice,
    uio: &Uio,
    size: usize,
    iters: usize,
) -> Result<(Vec<trace::Call>, Vec<trace::Call>)> {
    let buf = buffers::system_heap(size)?;
    let once = || -> Result<()> {
        let (h, _) = raw_import(dev, uio, &buf, &mut [])?;
        dev.release(h)
    };
    measure(20, 0, once)?;
    let tracer = trace::IoctlTrace::new()?;
    tracer.record(|| (0..iters).try_for_each(|_| once()))?;
    let calls = tracer.calls()?;
    if calls.len() != 2 * iters {
        return Err(Error::new(
            "traced ioctls: not one IMPORT and one RELEASE per round (trace buffer full?)",
            libc::EIO,
        ));
    }
    let (imports, releases): (Vec<_>, Vec<_>) =
        calls.into_iter().enumerate().partition(|(i, _)| i % 2 == 0);
    Ok((
        imports.into_iter().map(|(_, c)| c).collect(),
        releases.into_iter().map(|(_, c)| c).collect(),
    ))
}
