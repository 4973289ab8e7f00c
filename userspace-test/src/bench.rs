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
use crate::uapi;
use crate::uio::Uio;

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

    /// `{"median_ns":..,"p99_ns":..,"samples":..}`.
    pub fn json(&self) -> String {
        format!(
            "{{\"median_ns\":{:.0},\"p99_ns\":{:.0},\"samples\":{}}}",
            self.median_ns, self.p99_ns, self.samples
        )
    }
}

/// Times `iters` runs of `f` (after `warmup` untimed ones).
pub fn measure(warmup: usize, iters: usize, mut f: impl FnMut() -> Result<()>) -> Result<Stats> {
    for _ in 0..warmup {
        f()?;
    }
    let mut samples = Vec::with_capacity(iters);
    for _ in 0..iters {
        let t = Instant::now();
        f()?;
        samples.push(t.elapsed().as_nanos() as f64);
    }
    Ok(Stats::of(&mut samples))
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
/// the buffer behind `buf`, `iters` times in the benchmark-only module
/// (`/dev/uio-dmabuf-bench`, the driver's own abstractions, no ioctl around
/// each iteration). `None` if that module is not loaded.
pub fn kernel_floor(buf: impl AsFd, iters: u32) -> Result<Option<Stats>> {
    let Ok(bench) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/uio-dmabuf-bench")
    else {
        return Ok(None);
    };
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
    let cmd = (3 << 30)
        | ((size_of::<RunArgs>() as u32) << 16)
        | (uapi::UIO_DMABUF_IOCTL_MAGIC << 8)
        | 0x3e;
    // SAFETY: `args` matches the module's RUN argument; `samples` has room for
    // `iterations` values.
    unsafe { ioctl(bench.as_fd(), cmd, &mut args, "uio-dmabuf-bench RUN")? };
    let mut ns: Vec<f64> = samples.iter().map(|&v| v as f64).collect();
    Ok(Some(Stats::of(&mut ns)))
}

/// Import + release of one `size`-byte system-heap buffer; with `readout`,
/// through the library, which also reads the whole segment list.
pub fn import_release(
    dev: &ImportDevice,
    uio: &Uio,
    size: usize,
    readout: bool,
    iters: usize,
) -> Result<Stats> {
    let buf = buffers::system_heap(size)?;
    measure(iters / 10 + 1, iters, || {
        if readout {
            dev.import(uio, &buf, Direction::Bidirectional, ImportFlags::default())?
                .release()
        } else {
            let (h, _) = raw_import(dev, uio, &buf, &mut [])?;
            dev.release(h)
        }
    })
}

/// Segment readout of a buffer with many segments, readout cost only:
/// (segments, IMPORT writing every segment minus IMPORT writing none, paged
/// SEGMENTS (1024 a call) of a live import, reading the same byte count from a
/// memfd: the kernel-to-user copy floor).
pub fn segment_readout(
    dev: &ImportDevice,
    uio: &Uio,
    pages: usize,
    iters: usize,
) -> Result<(u32, Stats, Stats, Stats)> {
    let (buf, _) = buffers::udmabuf_with_memfd(pages * buffers::page_size(), true)?;
    let mut all = vec![uapi::uio_dmabuf_segment::default(); pages];
    let with_array = measure(1, iters, || {
        let (h, _) = raw_import(dev, uio, &buf, &mut all)?;
        dev.release(h)
    })?;
    let without = measure(1, iters, || {
        let (h, _) = raw_import(dev, uio, &buf, &mut [])?;
        dev.release(h)
    })?;
    let array = Stats {
        median_ns: (with_array.median_ns - without.median_ns).max(0.0),
        p99_ns: (with_array.p99_ns - without.p99_ns).max(0.0),
        samples: iters,
    };
    let (h, n) = raw_import(dev, uio, &buf, &mut [])?;
    let paged = measure(1, iters * 4, || {
        let mut first = 0;
        while first < n {
            first += dev.segments(h, first, 1024)?.len() as u32;
        }
        Ok(())
    });
    dev.release(h)?;
    let paged = paged?;
    let bytes = n as usize * size_of::<uapi::uio_dmabuf_segment>();
    let floor_file = memfd_of(bytes)?;
    let mut dst = vec![0u8; bytes];
    let copy = measure(1, iters * 4, || {
        floor_file
            .read_exact_at(&mut dst, 0)
            .map_err(|e| Error::from_io("pread memfd", &e))
    })?;
    Ok((n, array, paged, copy))
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

/// Unreclaimable slab in bytes (/proc/meminfo `SUnreclaim`).
pub fn slab_bytes() -> Result<u64> {
    let text = std::fs::read_to_string("/proc/meminfo")
        .map_err(|e| Error::from_io("read /proc/meminfo", &e))?;
    text.lines()
        .find_map(|l| l.strip_prefix("SUnreclaim:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse::<u64>().ok())
        .map(|kib| kib * 1024)
        .ok_or(Error::new("SUnreclaim in /proc/meminfo", libc::EIO))
}

/// Kernel memory per live import: the growth of unreclaimable slab while
/// `count` 4 KiB buffers that already exist get imported, divided by `count`.
/// Includes what the import itself makes the kernel allocate (the driver's
/// objects, the dma-buf attachment and the exporter's per-attachment table,
/// DMA-API debug entries, KASAN redzones), not the buffers.
pub fn memory_per_import(dev: &ImportDevice, uio: &Uio, count: usize) -> Result<f64> {
    let bufs: Vec<OwnedFd> = (0..count)
        .map(|_| buffers::system_heap(4096))
        .collect::<Result<_>>()?;
    let before = slab_bytes()?;
    let mut handles = Vec::with_capacity(count);
    for b in &bufs {
        handles.push(raw_import(dev, uio, b, &mut [])?.0);
    }
    let after = slab_bytes()?;
    for h in handles {
        dev.release(h)?;
    }
    Ok((after as f64 - before as f64) / count as f64)
}

/// One interrupt round trip through `/dev/uioN`: edu raises (register 0x60),
/// `read()` returns, the handler's status is acked at edu and the interrupt is
/// re-enabled by `reenable`.
pub fn irq_round_trip(uio: &Uio, iters: usize, reenable: impl Fn() -> Result<()>) -> Result<Stats> {
    let edu = Edu::new(uio)?;
    measure(3, iters, || {
        edu.raise_irq(1);
        uio.wait_irq_timeout(20_000)?
            .ok_or(Error::new("interrupt timeout", libc::ETIMEDOUT))?;
        edu.ack_irq();
        reenable()
    })
}

/// Re-enables INTx of a `uio_pci_generic` device, which has no irqcontrol: clear
/// the Interrupt Disable bit of the command register through sysfs config space.
pub fn pci_unmask_intx(pci: &str) -> Result<impl Fn() -> Result<()>> {
    let path = format!("/sys/bus/pci/devices/{pci}/config");
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| Error::from_io("open config", &e))?;
    Ok(move || {
        let mut cmd = [0u8; 2];
        f.read_exact_at(&mut cmd, 4)
            .map_err(|e| Error::from_io("read command", &e))?;
        let v = u16::from_le_bytes(cmd) & !(1 << 10);
        f.write_all_at(&v.to_le_bytes(), 4)
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
            s.json(),
            "{\"median_ns\":1500,\"p99_ns\":2000,\"samples\":3}"
        );
    }
}
