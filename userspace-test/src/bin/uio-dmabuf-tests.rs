// SPDX-License-Identifier: MIT OR Apache-2.0

//! Guest tests of the uio_dmabuf driver: every ioctl and errno, lifetimes
//! (close, unbind, rmmod), and a smoke DMA through edu. Runs inside the test
//! guest as root; prints one `PASS name` or `FAIL name` line per test (with the
//! reason indented below a failure) and exits non-zero if any failed.
//!
//!   uio-dmabuf-tests [--list] [NAME...]

use std::fs;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicU64, Ordering};

use uio_dmabuf::buffers::{self, page_size};
use uio_dmabuf::edu::{self, Edu};
use uio_dmabuf::import::ioctl;
use uio_dmabuf::uapi;
use uio_dmabuf::uio::Uio;
use uio_dmabuf::{sysfs, testing, Direction, ImportDevice, ImportFlags, Segment};

type Outcome = Result<(), String>;

/// Fails the test with a message unless `cond` holds.
macro_rules! check {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

/// Unwraps a library result or fails the test.
macro_rules! ok {
    ($e:expr) => {
        $e.map_err(|e| format!("{}: {e}", stringify!($e)))?
    };
}

/// What the guest looks like.
struct Env {
    /// PCI addresses of the devices bound to uio_dmabuf at start.
    devices: Vec<String>,
    /// Guest booted with intel_iommu=on.
    iommu: bool,
    /// Guest booted with swiotlb=force: every mapping is bounced.
    swiotlb: bool,
    /// The driver's dma_bits parameter from the kernel command line (0: default).
    dma_bits: u32,
}

impl Env {
    fn detect() -> Result<Self, String> {
        let cmdline = fs::read_to_string("/proc/cmdline").map_err(|e| e.to_string())?;
        let devices: Vec<String> = ok!(sysfs::bound_devices())
            .into_iter()
            .map(|d| d.address)
            .collect();
        let words: Vec<&str> = cmdline.split_whitespace().collect();
        Ok(Env {
            devices,
            iommu: words.contains(&"intel_iommu=on"),
            swiotlb: words.contains(&"swiotlb=force"),
            dma_bits: words
                .iter()
                .find_map(|w| w.strip_prefix("uio_dmabuf.dma_bits="))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
        })
    }

    /// Whether the guest has RAM beyond edu's default 28-bit mask that nothing
    /// translates or widens: the driver must then refuse imports.
    fn unreachable_memory(&self) -> bool {
        let kib: u64 = fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines().find_map(|l| {
                    l.strip_prefix("MemTotal:")
                        .map(|v| v.trim().trim_end_matches(" kB").parse().unwrap_or(0))
                })
            })
            .unwrap_or(0);
        !self.iommu && self.dma_bits != 64 && kib > 256 * 1024
    }

    fn first(&self) -> Result<&str, String> {
        self.devices
            .first()
            .map(String::as_str)
            .ok_or("no device bound to uio_dmabuf".into())
    }
}

/// The import front-end and the uio device of PCI device `pci`: what almost
/// every test starts with.
fn open_device(pci: &str) -> Result<(ImportDevice, Uio), String> {
    Ok((ok!(ImportDevice::open()), ok!(Uio::for_pci_device(pci))))
}

/// Figures for the suite's summary line, printed at the end as `COUNT name N`:
/// error cases whose exact errno was asserted, and faults injected (processes
/// killed, devices unbound, module unloads).
static ERROR_CASES: AtomicU64 = AtomicU64::new(0);
static FAULTS: AtomicU64 = AtomicU64::new(0);

fn fault_injected() {
    FAULTS.fetch_add(1, Ordering::Relaxed);
}

/// Expects `r` to fail with `errno`.
fn expect_errno<T: std::fmt::Debug>(r: uio_dmabuf::Result<T>, errno: i32, what: &str) -> Outcome {
    match r {
        Err(e) if e.errno == errno => {
            ERROR_CASES.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
        Err(e) => Err(format!(
            "{what}: expected {}, got {e}",
            uio_dmabuf::error::errno_name(errno)
        )),
        Ok(v) => Err(format!(
            "{what}: expected {}, got success ({v:?})",
            uio_dmabuf::error::errno_name(errno)
        )),
    }
}

/// Number of dma-buf attachments of device `pci` (from dma-buf's debugfs).
fn attachments_of(pci: &str) -> Result<usize, String> {
    let info = fs::read_to_string("/sys/kernel/debug/dma_buf/bufinfo")
        .map_err(|e| format!("bufinfo: {e}"))?;
    Ok(info
        .lines()
        .filter(|l| l.strip_prefix('\t') == Some(pci))
        .count())
}

/// The driver's debugfs `summary` as (name, value) pairs.
fn summary() -> Result<Vec<(String, u64)>, String> {
    sysfs::debugfs_summary().map_err(|e| format!("debugfs summary: {e}"))
}

/// One counter of the debugfs `summary`.
fn counter(name: &str) -> Result<u64, String> {
    summary()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
        .ok_or(format!("no counter {name}"))
}

fn sh(cmd: &str) -> Result<String, String> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "`{cmd}` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Checks the invariants of a segment list for a buffer of `size` bytes.
fn check_segments(segs: &[Segment], size: u64, dma_mask: u64, max_seg: u64) -> Outcome {
    check!(!segs.is_empty(), "no segments");
    let total: u64 = segs.iter().map(|s| s.len).sum();
    check!(
        total == size,
        "segments cover {total} bytes, buffer has {size}"
    );
    for (i, s) in segs.iter().enumerate() {
        check!(
            s.len > 0 && s.len <= max_seg,
            "segment {i} length {:#x} (max {max_seg:#x})",
            s.len
        );
        check!(
            s.dma_addr + (s.len - 1) <= dma_mask,
            "segment {i} at {:#x}+{:#x} beyond mask {dma_mask:#x}",
            s.dma_addr,
            s.len
        );
    }
    for (i, w) in segs.windows(2).enumerate() {
        check!(
            w[0].dma_addr + w[0].len != w[1].dma_addr || w[0].len == max_seg,
            "segments {i} and {} are contiguous but not merged",
            i + 1
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Binding and UIO

fn t_bound_with_uio_maps(env: &Env) -> Outcome {
    check!(!env.devices.is_empty(), "no device bound");
    for pci in &env.devices {
        let uio = ok!(Uio::for_pci_device(pci));
        let (addr, size) = ok!(uio.map_info(0));
        let bar0 = sh(&format!("head -n1 /sys/bus/pci/devices/{pci}/resource"))?;
        let start = u64::from_str_radix(
            bar0.split_whitespace()
                .next()
                .unwrap_or("")
                .trim_start_matches("0x"),
            16,
        )
        .map_err(|e| e.to_string())?;
        check!(
            addr == start,
            "{pci}: map0 at {addr:#x}, BAR0 at {start:#x}"
        );
        check!(
            size == 0x100000,
            "{pci}: map0 size {size:#x}, edu's BAR0 is 1 MiB"
        );
        let name = sh(&format!("cat /sys/class/uio/{}/maps/map0/name", uio.name()))?;
        check!(name.trim() == "BAR0", "map0 name {name:?}");
        let cmd = pci_command(pci)?;
        check!(
            cmd & sysfs::PCI_COMMAND_MASTER != 0,
            "{pci}: bus mastering off (command {cmd:#x})"
        );
    }
    Ok(())
}

fn t_bar0_mmap_registers(env: &Env) -> Outcome {
    let uio = ok!(Uio::for_pci_device(env.first()?));
    let edu = ok!(Edu::new(&uio));
    let id = ok!(edu.id());
    check!(id == 0x010000ed, "id {id:#x}");
    check!(
        ok!(edu.liveness(0x12345678)) == !0x12345678u32,
        "liveness register"
    );
    Ok(())
}

/// The PCI command register of `pci`, read through sysfs config space.
fn pci_command(pci: &str) -> Result<u16, String> {
    sysfs::pci_command(pci).map_err(|e| format!("{pci} config space: {e}"))
}

fn t_irq_through_uio(env: &Env) -> Outcome {
    let pci = env.first()?;
    let uio = ok!(Uio::for_pci_device(pci));
    let edu = ok!(Edu::new(&uio));
    let intx_masked = || pci_command(pci).map(|c| c & sysfs::PCI_COMMAND_INTX_DISABLE != 0);
    check!(!intx_masked()?, "INTx masked before any interrupt");
    // The handler masks INTx (pci_check_and_mask_intx) until irqcontrol 1.
    ok!(edu.raise_irq(0x20));
    check!(
        ok!(uio.wait_irq_timeout(20_000)).is_some(),
        "no interrupt delivered"
    );
    check!(
        intx_masked()?,
        "INTx not masked after the interrupt (command {:#x})",
        pci_command(pci)?
    );
    let status = ok!(edu.ack_irq());
    check!(status == 0x20, "status {status:#x}");
    ok!(uio.enable_irq());
    check!(
        !intx_masked()?,
        "INTx still masked after irqcontrol 1 (command {:#x})",
        pci_command(pci)?
    );
    for round in 0..3 {
        ok!(edu.raise_irq(0x1 << round));
        let status = ok!(edu.wait_irq());
        check!(status == 0x1 << round, "round {round}: status {status:#x}");
    }
    // Masked with irqcontrol 0: an interrupt stays pending until unmasked.
    ok!(uio.irqcontrol(0));
    check!(intx_masked()?, "INTx not masked by irqcontrol 0");
    ok!(edu.raise_irq(0x10));
    check!(
        ok!(uio.wait_irq_timeout(500)).is_none(),
        "interrupt delivered while masked"
    );
    ok!(uio.irqcontrol(1));
    let status = ok!(edu.wait_irq());
    check!(status == 0x10, "status after unmask {status:#x}");
    check!(!intx_masked()?, "INTx masked at the end");
    Ok(())
}

// ---------------------------------------------------------------------------
// INFO

fn t_info(env: &Env) -> Outcome {
    let (dev, uio) = open_device(env.first()?)?;
    let info = ok!(dev.info(&uio));
    check!(
        info.abi_version == uapi::UIO_DMABUF_ABI_VERSION,
        "abi {}",
        info.abi_version
    );
    let want = if env.dma_bits == 64 {
        u64::MAX
    } else {
        (1 << 28) - 1
    };
    check!(
        info.dma_mask == want,
        "dma mask {:#x}, expected {want:#x}",
        info.dma_mask
    );
    check!(
        info.iommu == env.iommu,
        "iommu flag {} on a guest with iommu={}",
        info.iommu,
        env.iommu
    );
    check!(
        info.unreachable_memory == env.unreachable_memory(),
        "unreachable-memory flag {info:?}"
    );
    check!(
        info.max_segment_size == u32::MAX as u64,
        "max segment {:#x}",
        info.max_segment_size
    );
    check!(
        info.max_imports == 65536 && info.max_mapped_bytes == 4 << 30,
        "limits {info:?}"
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// IMPORT, SEGMENTS, SYNC, RELEASE

fn import_and_check(env: &Env, buf: OwnedFd, size: usize, dir: Direction) -> Result<usize, String> {
    let pci = env.first()?;
    let (dev, uio) = open_device(pci)?;
    let info = ok!(dev.info(&uio));
    let imp = ok!(dev.import(&uio, &buf, dir, ImportFlags::default()));
    check!(imp.size() == size as u64, "size {} != {size}", imp.size());
    check_segments(
        imp.segments(),
        imp.size(),
        info.dma_mask,
        info.max_segment_size,
    )?;
    check!(
        attachments_of(pci)? == 1,
        "bufinfo shows {} attachments of {pci}",
        attachments_of(pci)?
    );
    // Paging one at a time gives the same list.
    let n = imp.segments().len();
    for i in 0..n {
        let one = ok!(dev.segments(imp.handle(), i as u32, 1));
        check!(
            one.as_slice() == &imp.segments()[i..=i],
            "segment {i} differs when paged"
        );
    }
    check!(
        ok!(dev.segments(imp.handle(), n as u32, 8)).is_empty(),
        "segments past the end"
    );
    ok!(imp.sync_for_device());
    ok!(imp.sync_for_cpu());
    ok!(imp.release());
    check!(attachments_of(pci)? == 0, "attachment left after release");
    Ok(n)
}

/// Largest contiguous piece swiotlb can bounce (IO_TLB_SEGSIZE * IO_TLB_SIZE).
const SWIOTLB_MAX_MAPPING: usize = 256 << 10;

fn t_import_system_heap(env: &Env) -> Outcome {
    for size in [4096, 64 << 10, 256 << 10, 1 << 20, 3 << 20] {
        let buf = ok!(buffers::system_heap(size));
        if env.swiotlb && size > SWIOTLB_MAX_MAPPING {
            // The system heap hands out 1 MiB chunks from 1 MiB on; swiotlb cannot
            // bounce more than 256 KiB in one piece, so the exporter's map fails.
            let (dev, uio) = open_device(env.first()?)?;
            expect_errno(
                dev.import(&uio, &buf, Direction::Bidirectional, ImportFlags::default()),
                libc::EIO,
                "1 MiB chunk under swiotlb=force",
            )?;
            check!(
                attachments_of(env.first()?)? == 0,
                "failed map left an attachment"
            );
            continue;
        }
        let n = import_and_check(env, buf, size, Direction::Bidirectional)?;
        if env.iommu {
            check!(
                n == 1,
                "{size} bytes under an IOMMU: {n} segments, IOVA space should be contiguous"
            );
        }
    }
    Ok(())
}

fn t_import_udmabuf_scattered(env: &Env) -> Outcome {
    let size = 256 * page_size();
    let n = import_and_check(
        env,
        ok!(buffers::udmabuf(size, true)),
        size,
        Direction::ToDevice,
    )?;
    if env.iommu {
        check!(
            n == 1,
            "IOMMU should map scattered pages to one IOVA range, got {n} segments"
        );
    } else if !env.swiotlb {
        // (Bounce slots are handed out in order, so under swiotlb=force the
        // pages may well end up contiguous.)
        check!(
            n > 16,
            "scattered udmabuf of 256 pages gave only {n} segments"
        );
    }
    Ok(())
}

fn t_many_segments_paged(env: &Env) -> Outcome {
    let pages = 2048;
    let size = pages * page_size();
    let (dev, uio) = open_device(env.first()?)?;
    let info = ok!(dev.info(&uio));
    let buf = ok!(buffers::udmabuf(size, true));
    let r = dev.import(&uio, &buf, Direction::ToDevice, ImportFlags::default());
    if info.unreachable_memory {
        return expect_errno(r, libc::ERANGE, "import with RAM beyond the mask");
    }
    let imp = ok!(r);
    let segs = imp.segments();
    check_segments(segs, size as u64, info.dma_mask, info.max_segment_size)?;
    if !info.iommu && !env.swiotlb {
        // (Under swiotlb=force bounce slots are handed out in order and merge.)
        check!(
            segs.len() > 1000,
            "{pages} scattered pages without an IOMMU gave only {} segments",
            segs.len()
        );
    }
    // The same list read out by hand, an odd number at a time.
    let mut manual = Vec::new();
    let mut out = vec![uapi::uio_dmabuf_segment::default(); 333];
    loop {
        let first = manual.len() as u32;
        let (count, total) = ok!(dev.segments_into(imp.handle(), first, &mut out));
        check!(
            total as usize == segs.len(),
            "SEGMENTS says {total} in all, IMPORT {}",
            segs.len()
        );
        let want = (segs.len() - manual.len()).min(out.len());
        check!(
            count as usize == want,
            "SEGMENTS from {first} wrote {count}, expected {want}"
        );
        if count == 0 {
            break;
        }
        manual.extend(out[..count as usize].iter().map(|&s| Segment::from(s)));
    }
    check!(
        manual.as_slice() == segs,
        "the paged readout differs from the library's list"
    );
    Ok(())
}

/// The physical address of every page of the first `size` bytes of file `fd`,
/// from a CPU mapping and `/proc/self/pagemap` (root sees the frame numbers).
/// A memfd, not a dma-buf: pagemap skips the PFN mappings exporters make.
fn physical_pages(fd: &impl AsRawFd, size: usize) -> Result<Vec<u64>, String> {
    use std::os::unix::fs::FileExt;
    let page = page_size();
    let map = ok!(uio_dmabuf::mmap::Mapping::file_read_only(fd, size));
    let pagemap = fs::File::open("/proc/self/pagemap").map_err(|e| format!("pagemap: {e}"))?;
    let mut frames = Vec::with_capacity(size / page);
    for p in 0..size / page {
        // SAFETY: inside the mapping; reading a byte faults the page in.
        let addr = unsafe { map.as_ptr().add(p * page) };
        // SAFETY: as above: a mapped, readable byte.
        unsafe { std::ptr::read_volatile(addr) };
        let mut entry = [0u8; 8];
        pagemap
            .read_exact_at(&mut entry, (addr as usize / page * 8) as u64)
            .map_err(|e| format!("pagemap: {e}"))?;
        let entry = u64::from_ne_bytes(entry);
        let pfn = entry & ((1 << 55) - 1);
        check!(
            entry & (1 << 63) != 0 && pfn != 0,
            "page {p}: pagemap entry {entry:#x} (not present, or no frame number)"
        );
        frames.push(pfn * page as u64);
    }
    Ok(frames)
}

/// Free blocks that could serve an order-8 (1 MiB) and an order-4 (64 KiB)
/// allocation, from `/proc/buddyinfo` (free block counts per order and zone).
fn free_blocks() -> Result<(u64, u64), String> {
    let info = fs::read_to_string("/proc/buddyinfo").map_err(|e| format!("buddyinfo: {e}"))?;
    let (mut order8, mut order4) = (0, 0);
    for line in info.lines() {
        let counts = line.split_whitespace().skip(4).map(str::parse::<u64>);
        for (order, count) in counts.enumerate() {
            let count = count.map_err(|e| format!("buddyinfo {line:?}: {e}"))?;
            if order >= 8 {
                order8 += count << (order - 8);
            }
            if order >= 4 {
                order4 += count << (order - 4);
            }
        }
    }
    Ok((order8, order4))
}

/// Without an IOMMU or bouncing a DMA address is the physical address. A
/// udmabuf's segments must be exactly the runs of physically contiguous pages
/// of its memfd (read from pagemap), cut at the maximum segment size. The
/// system heap's pages cannot be seen that way (its mapping has no page
/// frames for pagemap), but its chunks are naturally aligned: the buffer
/// offset of every 1 MiB and 64 KiB chunk must have a DMA address aligned alike.
fn t_segments_are_the_physical_pages(env: &Env) -> Outcome {
    let (dev, uio) = open_device(env.first()?)?;
    let info = ok!(dev.info(&uio));
    if info.iommu || env.swiotlb || info.unreachable_memory {
        // DMA addresses are IOVAs or bounce slots there; the other tests cover it.
        return Ok(());
    }
    let page = page_size() as u64;

    let size = 64 * page;
    let (buf, memfd) = ok!(buffers::udmabuf_with_memfd(size as usize, true));
    let imp = ok!(dev.import(&uio, &buf, Direction::ToDevice, ImportFlags::default()));
    // Runs of physically contiguous pages, each cut into pieces of the
    // maximum segment size (which need not be a multiple of the page size).
    let mut runs: Vec<Segment> = Vec::new();
    for addr in physical_pages(&memfd, size as usize)? {
        match runs.last_mut() {
            Some(s) if s.dma_addr + s.len == addr => s.len += page,
            _ => runs.push(Segment {
                dma_addr: addr,
                len: page,
            }),
        }
    }
    let max = info.max_segment_size;
    let mut expected: Vec<Segment> = Vec::new();
    for run in runs {
        let mut done = 0;
        while done < run.len {
            let len = (run.len - done).min(max);
            expected.push(Segment {
                dma_addr: run.dma_addr + done,
                len,
            });
            done += len;
        }
    }
    check!(
        imp.segments() == expected.as_slice(),
        "udmabuf: the driver reports {} segment(s), the pages form {}: {:x?} vs {:x?}",
        imp.segments().len(),
        expected.len(),
        &imp.segments()[..imp.segments().len().min(4)],
        &expected[..expected.len().min(4)]
    );
    ok!(imp.release());

    // Three 1 MiB chunks, one of 64 KiB, two pages. The heap tries the large
    // orders without reclaim and falls back to smaller chunks when there is no
    // free block: the alignment is only expected when the blocks are there.
    let (order8, order4) = free_blocks()?;
    let size = (3 << 20) + (64 << 10) + 2 * page;
    let buf = ok!(buffers::system_heap(size as usize));
    let imp = ok!(dev.import(&uio, &buf, Direction::ToDevice, ImportFlags::default()));
    let segs = imp.segments();
    check_segments(segs, size, info.dma_mask, info.max_segment_size)?;
    let chunks = [
        (0, 1 << 20),
        (1 << 20, 1 << 20),
        (2 << 20, 1 << 20),
        (3 << 20, 64 << 10),
    ];
    for (offset, align) in chunks {
        if (align == 1 << 20 && order8 < 3) || order4 < 4 {
            continue;
        }
        let (addr, _) = imp
            .dma_addr_at(offset)
            .ok_or_else(|| format!("system heap: offset {offset:#x} in no segment"))?;
        check!(
            addr % align == 0,
            "system heap: offset {offset:#x} (a {align:#x} chunk) at DMA address {addr:#x}"
        );
    }
    ok!(imp.release());
    Ok(())
}

fn t_max_segment_size(env: &Env) -> Outcome {
    // The parameter as loaded: the module (Rust) has no
    // /sys/module/uio_dmabuf/parameters, so take it from sysfs if a later
    // kernel adds it, else from the kernel command line that
    // load-uio-dmabuf passes on, else the documented default.
    let sysfs = fs::read_to_string("/sys/module/uio_dmabuf/parameters/max_segment_size").ok();
    let cmdline = fs::read_to_string("/proc/cmdline").map_err(|e| e.to_string())?;
    let given = sysfs.as_deref().map(str::trim).or_else(|| {
        cmdline
            .split_whitespace()
            .find_map(|w| w.strip_prefix("uio_dmabuf.max_segment_size="))
    });
    let param: u64 = match given {
        Some(v) => v
            .parse::<u64>()
            .map_err(|e| format!("max_segment_size {v:?}: {e}"))?
            .max(page_size() as u64),
        None => u32::MAX.into(),
    };
    let (dev, uio) = open_device(env.first()?)?;
    let info = ok!(dev.info(&uio));
    check!(
        info.max_segment_size == param,
        "INFO says {:#x}, the parameter {param:#x}",
        info.max_segment_size
    );
    // 1 MiB, made of one 1 MiB heap chunk (swiotlb cannot bounce that: 256
    // KiB there). The limit is the driver's alone: the device's own DMA
    // segment limit stays wide, so the exporter may map the chunk whole (DMA-API
    // debug would warn otherwise) and the driver cuts it at the limit.
    let size: u64 = if env.swiotlb {
        SWIOTLB_MAX_MAPPING as u64
    } else {
        1 << 20
    };
    let buf = ok!(buffers::system_heap(size as usize));
    let r = dev.import(&uio, &buf, Direction::ToDevice, ImportFlags::default());
    if info.unreachable_memory {
        return expect_errno(r, libc::ERANGE, "import with RAM beyond the mask");
    }
    let imp = ok!(r);
    let segs = imp.segments();
    check_segments(segs, size, info.dma_mask, info.max_segment_size)?;
    if let Some((i, s)) = segs.iter().enumerate().find(|(_, s)| s.len > param) {
        return Err(format!(
            "segment {i} is {:#x} bytes, max_segment_size {param:#x}",
            s.len
        ));
    }
    if param < size {
        // Behind an IOMMU too: one contiguous IOVA range is cut as well.
        check!(
            segs.len() as u64 >= size / param,
            "{} segments for {size} bytes with max_segment_size {param:#x}",
            segs.len()
        );
    }
    Ok(())
}

fn t_import_every_direction(env: &Env) -> Outcome {
    for dir in [
        Direction::Bidirectional,
        Direction::ToDevice,
        Direction::FromDevice,
    ] {
        import_and_check(env, ok!(buffers::system_heap(8192)), 8192, dir)?;
    }
    Ok(())
}

fn t_contiguous_flag(env: &Env) -> Outcome {
    let (dev, uio) = open_device(env.first()?)?;
    let small = ok!(buffers::system_heap(4096));
    let imp = ok!(dev.import(
        &uio,
        &small,
        Direction::ToDevice,
        ImportFlags { contiguous: true }
    ));
    check!(
        imp.segments().len() == 1,
        "one page, {} segments",
        imp.segments().len()
    );
    drop(imp);
    let scattered = ok!(buffers::udmabuf(64 * page_size(), true));
    let r = dev.import(
        &uio,
        &scattered,
        Direction::ToDevice,
        ImportFlags { contiguous: true },
    );
    if env.iommu {
        check!(r.is_ok(), "CONTIGUOUS under an IOMMU: {:?}", r.err());
    } else if env.swiotlb {
        match r {
            Ok(imp) => check!(
                imp.segments().len() == 1,
                "CONTIGUOUS import with {} segments",
                imp.segments().len()
            ),
            Err(e) => expect_errno(Err::<(), _>(e), libc::E2BIG, "CONTIGUOUS under swiotlb")?,
        }
    } else {
        expect_errno(r, libc::E2BIG, "CONTIGUOUS on scattered pages")?;
        check!(
            attachments_of(env.first()?)? == 0,
            "failed import left an attachment"
        );
    }
    Ok(())
}

fn t_handles_are_small_and_per_file(env: &Env) -> Outcome {
    let uio = ok!(Uio::for_pci_device(env.first()?));
    let a = ok!(ImportDevice::open());
    let b = ok!(ImportDevice::open());
    let (buf1, buf2) = (
        ok!(buffers::system_heap(4096)),
        ok!(buffers::system_heap(4096)),
    );
    let i1 = ok!(a.import(&uio, &buf1, Direction::ToDevice, ImportFlags::default()));
    let i2 = ok!(a.import(&uio, &buf2, Direction::ToDevice, ImportFlags::default()));
    check!(
        (i1.handle(), i2.handle()) == (1, 2),
        "handles {} {}",
        i1.handle(),
        i2.handle()
    );
    // The same handle number in another file names nothing there.
    expect_errno(
        b.sync(i1.handle(), true),
        libc::ENOENT,
        "another file's handle",
    )?;
    expect_errno(
        b.release(i1.handle()),
        libc::ENOENT,
        "release of another file's handle",
    )?;
    let h = i1.handle();
    ok!(i1.release());
    expect_errno(a.sync(h, true), libc::ENOENT, "released handle")?;
    expect_errno(
        a.segments(h, 0, 1),
        libc::ENOENT,
        "segments of a released handle",
    )?;
    expect_errno(a.release(h), libc::ENOENT, "double release")?;
    expect_errno(a.release(0), libc::ENOENT, "handle 0")?;
    drop(i2);
    Ok(())
}

fn t_same_buffer_once_per_device(env: &Env) -> Outcome {
    let pci = env.first()?;
    let a = ok!(ImportDevice::open());
    let b = ok!(ImportDevice::open());
    let uio = ok!(Uio::for_pci_device(pci));
    for buf in [
        ok!(buffers::system_heap(65536)),
        ok!(buffers::udmabuf(8 * page_size(), false)),
    ] {
        let first = ok!(a.import(&uio, &buf, Direction::ToDevice, ImportFlags::default()));
        expect_errno(
            a.import(&uio, &buf, Direction::FromDevice, ImportFlags::default()),
            libc::EEXIST,
            "second import, same file",
        )?;
        expect_errno(
            b.import(&uio, &buf, Direction::ToDevice, ImportFlags::default()),
            libc::EEXIST,
            "second import, other file",
        )?;
        let dup = buf.try_clone().map_err(|e| e.to_string())?;
        expect_errno(
            b.import(&uio, &dup, Direction::ToDevice, ImportFlags::default()),
            libc::EEXIST,
            "import through a dup'ed fd",
        )?;
        check!(
            attachments_of(pci)? == 1,
            "a refused duplicate left an attachment"
        );
        // Another device may import the same buffer.
        if let Some(other) = env.devices.get(1) {
            let uio2 = ok!(Uio::for_pci_device(other));
            let there = ok!(b.import(&uio2, &buf, Direction::ToDevice, ImportFlags::default()));
            ok!(there.sync_for_device());
        }
        ok!(first.release());
        let again = ok!(b.import(&uio, &buf, Direction::Bidirectional, ImportFlags::default()));
        ok!(again.sync_for_device());
        ok!(again.sync_for_cpu());
    }
    Ok(())
}

fn t_dmabuf_outlives_its_fd(env: &Env) -> Outcome {
    let pci = env.first()?;
    let (dev, uio) = open_device(pci)?;
    let buf = ok!(buffers::system_heap(256 << 10));
    let imp = ok!(dev.import(&uio, &buf, Direction::ToDevice, ImportFlags::default()));
    drop(buf);
    check!(
        attachments_of(pci)? == 1,
        "import lost its dma-buf when the fd closed"
    );
    ok!(imp.sync_for_device());
    ok!(imp.release());
    check!(attachments_of(pci)? == 0, "attachment left");
    Ok(())
}

fn t_close_without_release(env: &Env) -> Outcome {
    let pci = env.first()?;
    let (dev, uio) = open_device(pci)?;
    for size in [4096, 256 << 10] {
        let buf = ok!(buffers::system_heap(size));
        std::mem::forget(ok!(dev.import(
            &uio,
            &buf,
            Direction::ToDevice,
            ImportFlags::default()
        )));
    }
    check!(attachments_of(pci)? == 2, "expected 2 attachments");
    drop(dev);
    check!(
        attachments_of(pci)? == 0,
        "close left {} attachments",
        attachments_of(pci)?
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Errors

/// Raw IMPORT with full control over the arguments.
fn raw_import(dev: &ImportDevice, args: &mut uapi::uio_dmabuf_import) -> uio_dmabuf::Result<i32> {
    // SAFETY: `args` is the struct IOC_IMPORT encodes; pointers inside are
    // exactly what the test wants the kernel to see.
    unsafe { ioctl(dev.fd(), uapi::IOC_IMPORT, args, "IMPORT") }
}

fn t_import_errors(env: &Env) -> Outcome {
    let pci = env.first()?;
    let (dev, uio) = open_device(pci)?;
    let buf = ok!(buffers::system_heap(8192));
    let null = fs::File::open("/dev/null").map_err(|e| e.to_string())?;
    let (pipe_r, _pipe_w) = ok!(testing::pipe());
    let pipe_r = pipe_r.as_raw_fd();
    let base = uapi::uio_dmabuf_import {
        uio_fd: uio.as_fd().as_raw_fd(),
        dmabuf_fd: buf.as_raw_fd(),
        direction: uapi::UIO_DMABUF_DIR_TO_DEVICE,
        ..Default::default()
    };
    let closed_fd = 999;
    let eventfd = ok!(testing::eventfd());
    let efd = eventfd.as_raw_fd();
    let regular = fs::File::open("/proc/self/status").map_err(|e| e.to_string())?;
    let cases: Vec<(&str, uapi::uio_dmabuf_import, i32)> = vec![
        (
            "dma-buf fd is an eventfd",
            uapi::uio_dmabuf_import {
                dmabuf_fd: efd,
                ..base
            },
            libc::EINVAL,
        ),
        (
            "dma-buf fd is a regular file",
            uapi::uio_dmabuf_import {
                dmabuf_fd: regular.as_raw_fd(),
                ..base
            },
            libc::EINVAL,
        ),
        (
            "uio fd is an eventfd",
            uapi::uio_dmabuf_import {
                uio_fd: efd,
                ..base
            },
            libc::ENODEV,
        ),
        (
            "uio fd is a regular file",
            uapi::uio_dmabuf_import {
                uio_fd: regular.as_raw_fd(),
                ..base
            },
            libc::ENODEV,
        ),
        (
            "uio fd is huge",
            uapi::uio_dmabuf_import {
                uio_fd: i32::MAX,
                ..base
            },
            libc::EBADF,
        ),
        (
            "dma-buf fd closed",
            uapi::uio_dmabuf_import {
                dmabuf_fd: closed_fd,
                ..base
            },
            libc::EBADF,
        ),
        (
            "dma-buf fd negative",
            uapi::uio_dmabuf_import {
                dmabuf_fd: -1,
                ..base
            },
            libc::EBADF,
        ),
        (
            "dma-buf fd is a pipe",
            uapi::uio_dmabuf_import {
                dmabuf_fd: pipe_r,
                ..base
            },
            libc::EINVAL,
        ),
        (
            "dma-buf fd is /dev/null",
            uapi::uio_dmabuf_import {
                dmabuf_fd: null.as_raw_fd(),
                ..base
            },
            libc::EINVAL,
        ),
        (
            "dma-buf fd is the uio fd",
            uapi::uio_dmabuf_import {
                dmabuf_fd: base.uio_fd,
                ..base
            },
            libc::EINVAL,
        ),
        (
            "uio fd closed",
            uapi::uio_dmabuf_import {
                uio_fd: closed_fd,
                ..base
            },
            libc::EBADF,
        ),
        (
            "uio fd negative",
            uapi::uio_dmabuf_import { uio_fd: -5, ..base },
            libc::EBADF,
        ),
        (
            "uio fd is /dev/null",
            uapi::uio_dmabuf_import {
                uio_fd: null.as_raw_fd(),
                ..base
            },
            libc::ENODEV,
        ),
        (
            "uio fd is a pipe",
            uapi::uio_dmabuf_import {
                uio_fd: pipe_r,
                ..base
            },
            libc::ENODEV,
        ),
        (
            "uio fd is the dma-buf",
            uapi::uio_dmabuf_import {
                uio_fd: base.dmabuf_fd,
                ..base
            },
            libc::ENODEV,
        ),
        (
            "uio fd is /dev/uio-dmabuf",
            uapi::uio_dmabuf_import {
                uio_fd: dev.fd().as_raw_fd(),
                ..base
            },
            libc::ENODEV,
        ),
        (
            "direction 3 (DMA_NONE)",
            uapi::uio_dmabuf_import {
                direction: 3,
                ..base
            },
            libc::EINVAL,
        ),
        (
            "direction huge",
            uapi::uio_dmabuf_import {
                direction: u32::MAX,
                ..base
            },
            libc::EINVAL,
        ),
        (
            "unknown flag",
            uapi::uio_dmabuf_import {
                flags: 1 << 1,
                ..base
            },
            libc::EINVAL,
        ),
        (
            "reserved0 set",
            uapi::uio_dmabuf_import {
                reserved0: 1,
                ..base
            },
            libc::EINVAL,
        ),
        (
            "reserved[1] set",
            uapi::uio_dmabuf_import {
                reserved: [0, 1 << 63],
                ..base
            },
            libc::EINVAL,
        ),
        (
            "NULL array, capacity 4",
            uapi::uio_dmabuf_import {
                capacity: 4,
                ..base
            },
            libc::EINVAL,
        ),
        (
            "unmapped array",
            uapi::uio_dmabuf_import {
                segments: 0x10,
                capacity: 4,
                ..base
            },
            libc::EFAULT,
        ),
        (
            "kernel-address array",
            uapi::uio_dmabuf_import {
                segments: 0xffff_8880_0000_0000,
                capacity: 1,
                ..base
            },
            libc::EFAULT,
        ),
    ];
    for (what, mut args, errno) in cases {
        let (before, errors) = (summary()?, counter("errors_total")?);
        expect_errno(raw_import(&dev, &mut args), errno, what)?;
        check!(attachments_of(pci)? == 0, "{what}: attachment left behind");
        // No state behind: only the error counter moved.
        let mut after = summary()?;
        check!(
            counter("errors_total")? == errors + 1,
            "{what}: errors_total did not count it"
        );
        after.retain(|(k, _)| k != "errors_total");
        let before: Vec<_> = before
            .into_iter()
            .filter(|(k, _)| k != "errors_total")
            .collect();
        let undone = errno == libc::EFAULT;
        // An EFAULT on the segment copy is detected after the mapping was made:
        // it is undone (created and released), never left alive.
        let alive = |v: &[(String, u64)], k: &str| v.iter().find(|(n, _)| n == k).map(|(_, x)| *x);
        check!(
            if undone {
                alive(&after, "imports_alive") == alive(&before, "imports_alive")
                    && alive(&after, "bytes_mapped") == alive(&before, "bytes_mapped")
            } else {
                after == before
            },
            "{what}: counters moved: {before:?} -> {after:?}"
        );
    }
    // A read-only array: the segment copy faults, no import survives.
    let ro = ok!(uio_dmabuf::mmap::Mapping::anonymous(
        page_size(),
        libc::PROT_READ
    ));
    let mut args = uapi::uio_dmabuf_import {
        segments: ro.as_ptr() as u64,
        capacity: 1,
        ..base
    };
    expect_errno(
        raw_import(&dev, &mut args),
        libc::EFAULT,
        "read-only segment array",
    )?;
    check!(attachments_of(pci)? == 0, "EFAULT left an attachment");
    // The whole argument struct unreadable.
    // SAFETY: Deliberately bad pointer; the kernel must fault cleanly.
    let r = unsafe {
        ioctl(
            dev.fd(),
            uapi::IOC_IMPORT,
            8 as *mut uapi::uio_dmabuf_import,
            "IMPORT",
        )
    };
    expect_errno(r, libc::EFAULT, "argument pointer unmapped")?;
    // Still works afterwards, and no failed call left an import behind: every
    // handle before the first successful one names nothing.
    let mut segs = [uapi::uio_dmabuf_segment::default(); 4];
    let mut args = uapi::uio_dmabuf_import {
        segments: segs.as_mut_ptr() as u64,
        capacity: 4,
        ..base
    };
    ok!(raw_import(&dev, &mut args));
    for h in 1..args.handle {
        expect_errno(
            dev.release(h),
            libc::ENOENT,
            &format!("handle {h} of a failed import"),
        )?;
    }
    check!(
        attachments_of(pci)? == 1,
        "one import, {} attachments",
        attachments_of(pci)?
    );
    check!(
        args.nr_segments >= 1 && segs[0].len > 0,
        "no segment returned"
    );
    check!(
        args.reserved0 == 0 && args.reserved == [0, 0],
        "reserved output not zero"
    );
    Ok(())
}

fn t_outputs_are_fully_written(env: &Env) -> Outcome {
    // Poisoned output fields come back with exact values, reserved fields zero,
    // and nothing beyond the reported count is written.
    let (dev, uio) = open_device(env.first()?)?;
    let buf = ok!(buffers::udmabuf(8 * page_size(), true));
    const POISON: u64 = 0xaaaa_aaaa_aaaa_aaaa;
    let mut info = uapi::uio_dmabuf_info {
        uio_fd: uio.as_fd().as_raw_fd(),
        abi_version: POISON as u32,
        dma_mask: POISON,
        max_segment_size: POISON,
        flags: POISON as u32,
        max_imports: POISON as u32,
        max_mapped_bytes: POISON,
        reserved: [0, 0],
    };
    // SAFETY: Matching struct.
    ok!(unsafe { ioctl(dev.fd(), uapi::IOC_INFO, &mut info, "INFO") });
    check!(
        info.abi_version == 1 && info.flags & !3 == 0 && info.max_mapped_bytes != POISON,
        "INFO output {info:?}"
    );
    let mut segs = [uapi::uio_dmabuf_segment {
        dma_addr: POISON,
        len: POISON,
    }; 64];
    let mut imp = uapi::uio_dmabuf_import {
        uio_fd: uio.as_fd().as_raw_fd(),
        dmabuf_fd: buf.as_raw_fd(),
        direction: uapi::UIO_DMABUF_DIR_TO_DEVICE,
        segments: segs.as_mut_ptr() as u64,
        capacity: 64,
        handle: POISON as u32,
        size: POISON,
        nr_segments: POISON as u32,
        ..Default::default()
    };
    // SAFETY: Matching struct; `segments` has `capacity` entries.
    ok!(unsafe { ioctl(dev.fd(), uapi::IOC_IMPORT, &mut imp, "IMPORT") });
    let n = imp.nr_segments as usize;
    check!(
        imp.size == 8 * page_size() as u64
            && n >= 1
            && n <= 8
            && imp.handle >= 1
            && imp.handle < 1000,
        "IMPORT output {imp:?}"
    );
    check!(
        imp.reserved0 == 0 && imp.reserved == [0, 0],
        "IMPORT reserved output"
    );
    check!(
        segs[..n]
            .iter()
            .all(|s| s.len > 0 && s.len != POISON && s.dma_addr != POISON),
        "segments not written"
    );
    check!(
        segs[n..]
            .iter()
            .all(|s| s.dma_addr == POISON && s.len == POISON),
        "written beyond nr_segments"
    );
    let mut more = [uapi::uio_dmabuf_segment {
        dma_addr: POISON,
        len: POISON,
    }; 4];
    let mut sa = uapi::uio_dmabuf_segments {
        handle: imp.handle,
        first: 0,
        segments: more.as_mut_ptr() as u64,
        capacity: 1,
        count: POISON as u32,
        nr_segments: POISON as u32,
        ..Default::default()
    };
    // SAFETY: Matching struct; one entry requested.
    ok!(unsafe { ioctl(dev.fd(), uapi::IOC_SEGMENTS, &mut sa, "SEGMENTS") });
    check!(
        sa.count == 1 && sa.nr_segments as usize == n && sa.reserved0 == 0 && sa.reserved == 0,
        "SEGMENTS output {sa:?}"
    );
    check!(
        more[0] == segs[0] && more[1..].iter().all(|s| s.dma_addr == POISON),
        "SEGMENTS wrote beyond capacity"
    );
    ok!(dev.release(imp.handle));
    Ok(())
}

fn t_argument_struct_fault_after_import(env: &Env) -> Outcome {
    // The output copy faults after the import was made: it must be undone. A
    // struct straddling the end of a mapping: input readable, output not
    // (the write of the tail fails).
    let pci = env.first()?;
    let (dev, uio) = open_device(pci)?;
    let buf = ok!(buffers::system_heap(4096));
    let page = page_size();
    // Two pages; the second becomes read-only.
    let map = ok!(uio_dmabuf::mmap::Mapping::anonymous(
        2 * page,
        libc::PROT_READ | libc::PROT_WRITE
    ));
    let size = size_of::<uapi::uio_dmabuf_import>();
    // SAFETY: In bounds of the mapping.
    let at = unsafe { map.as_ptr().add(page - size / 2) }.cast::<uapi::uio_dmabuf_import>();
    let args = uapi::uio_dmabuf_import {
        uio_fd: uio.as_fd().as_raw_fd(),
        dmabuf_fd: buf.as_raw_fd(),
        direction: uapi::UIO_DMABUF_DIR_TO_DEVICE,
        ..Default::default()
    };
    // SAFETY: `at` is writable (the straddling struct is still fully RW now).
    unsafe { at.write_unaligned(args) };
    ok!(map.protect(page, page, libc::PROT_READ));
    // SAFETY: Deliberately half-writable argument.
    let r = unsafe { ioctl(dev.fd(), uapi::IOC_IMPORT, at, "IMPORT") };
    drop(map);
    expect_errno(r, libc::EFAULT, "output struct straddling a read-only page")?;
    check!(
        attachments_of(pci)? == 0,
        "undone import left an attachment"
    );
    expect_errno(dev.release(1), libc::ENOENT, "handle of the undone import")?;
    Ok(())
}

fn t_other_ioctl_errors(env: &Env) -> Outcome {
    let (dev, uio) = open_device(env.first()?)?;
    let buf = ok!(buffers::system_heap(4096));
    let imp = ok!(dev.import(&uio, &buf, Direction::ToDevice, ImportFlags::default()));
    let h = imp.handle();
    // Every row below fails; afterwards only errors_total may have moved, by
    // exactly the number of rows.
    let before = summary()?;
    let mut rows = 0u64;
    macro_rules! row {
        ($r:expr, $errno:expr, $what:expr) => {{
            rows += 1;
            expect_errno($r, $errno, $what)
        }};
    }
    let sync = |flags, reserved| {
        let mut a = uapi::uio_dmabuf_sync {
            handle: h,
            flags,
            reserved,
        };
        // SAFETY: Matching struct.
        unsafe { ioctl(dev.fd(), uapi::IOC_SYNC, &mut a, "SYNC") }
    };
    row!(sync(0, 0), libc::EINVAL, "sync without a target")?;
    row!(sync(3, 0), libc::EINVAL, "sync for both")?;
    row!(sync(4, 0), libc::EINVAL, "sync unknown flag")?;
    row!(sync(1, 1), libc::EINVAL, "sync reserved")?;
    let segs = |first, capacity, ptr: u64, reserved| {
        let mut a = uapi::uio_dmabuf_segments {
            handle: h,
            first,
            capacity,
            segments: ptr,
            reserved,
            ..Default::default()
        };
        // SAFETY: Matching struct.
        unsafe { ioctl(dev.fd(), uapi::IOC_SEGMENTS, &mut a, "SEGMENTS") }
            .map(|_| (a.count, a.nr_segments))
    };
    let mut out = [uapi::uio_dmabuf_segment::default(); 2];
    let p = out.as_mut_ptr() as u64;
    row!(
        segs(2, 1, p, 0),
        libc::EINVAL,
        "segments first past the end"
    )?;
    row!(segs(u32::MAX, 1, p, 0), libc::EINVAL, "segments first huge")?;
    row!(segs(0, 1, p, 1), libc::EINVAL, "segments reserved")?;
    row!(segs(0, 1, 0, 0), libc::EINVAL, "segments NULL array")?;
    row!(segs(0, 1, 0x10, 0), libc::EFAULT, "segments unmapped array")?;
    check!(
        ok!(segs(0, 0, 0, 0)) == (0, 1),
        "capacity 0 returns the count"
    );
    check!(
        ok!(segs(1, 2, p, 0)) == (0, 1),
        "first == count returns nothing"
    );
    let mut rel = uapi::uio_dmabuf_release {
        handle: h,
        reserved: 7,
    };
    // SAFETY: Matching struct.
    row!(
        unsafe { ioctl(dev.fd(), uapi::IOC_RELEASE, &mut rel, "RELEASE") },
        libc::EINVAL,
        "release reserved"
    )?;
    let mut info = uapi::uio_dmabuf_info {
        uio_fd: uio.as_fd().as_raw_fd(),
        reserved: [1, 0],
        ..Default::default()
    };
    // SAFETY: Matching struct.
    row!(
        unsafe { ioctl(dev.fd(), uapi::IOC_INFO, &mut info, "INFO") },
        libc::EINVAL,
        "info reserved"
    )?;
    let mut info = uapi::uio_dmabuf_info {
        uio_fd: buf.as_raw_fd(),
        ..Default::default()
    };
    // SAFETY: Matching struct.
    row!(
        unsafe { ioctl(dev.fd(), uapi::IOC_INFO, &mut info, "INFO") },
        libc::ENODEV,
        "info on a dma-buf fd"
    )?;
    // Unknown numbers, and ours with a wrong size or direction.
    let mut junk = [0u64; 16];
    for cmd in [
        uapi::ioc(3, 0x05, 8),
        uapi::ioc(3, 0x01, 56),
        uapi::ioc(3, 0x01, 72),
        uapi::ioc(1, 0x01, 64),
        uapi::ioc(2, 0x04, 8),
        uapi::ioc(0, 0x03, 0),
        0x5401, // TCGETS
    ] {
        // SAFETY: `junk` is larger than any size encoded above.
        let r = unsafe { ioctl(dev.fd(), cmd, junk.as_mut_ptr(), "ioctl") };
        row!(r, libc::ENOTTY, &format!("ioctl {cmd:#x}"))?;
    }
    let after = summary()?;
    let without_errors = |v: &[(String, u64)]| {
        v.iter()
            .filter(|(k, _)| k != "errors_total")
            .cloned()
            .collect::<Vec<_>>()
    };
    check!(
        without_errors(&after) == without_errors(&before),
        "counters moved: {before:?} -> {after:?}"
    );
    let errors = |v: &[(String, u64)]| {
        v.iter()
            .find(|(k, _)| k == "errors_total")
            .map(|(_, x)| *x)
            .unwrap_or(0)
    };
    check!(
        errors(&after) - errors(&before) == rows,
        "errors_total moved by {} for {rows} failed ioctls",
        errors(&after) - errors(&before)
    );
    ok!(imp.release());
    Ok(())
}

// ---------------------------------------------------------------------------
// Lifetimes: unbind, rmmod, limits

fn unbind(pci: &str) -> Outcome {
    fault_injected();
    fs::write("/sys/bus/pci/drivers/uio_dmabuf/unbind", pci)
        .map_err(|e| format!("unbind {pci}: {e}"))
}

fn bind(pci: &str) -> Outcome {
    fs::write("/sys/bus/pci/drivers/uio_dmabuf/bind", pci).map_err(|e| format!("bind {pci}: {e}"))
}

fn t_unbind_with_imports_alive(env: &Env) -> Outcome {
    let pci = env.first()?.to_string();
    let (dev, uio) = open_device(&pci)?;
    let a = ok!(buffers::system_heap(256 << 10));
    let b = ok!(buffers::udmabuf(32 * page_size(), true));
    let ia = ok!(dev.import(&uio, &a, Direction::ToDevice, ImportFlags::default()));
    let ib = ok!(dev.import(&uio, &b, Direction::FromDevice, ImportFlags::default()));
    // A reader blocked on /dev/uioN must wake up on unbind.
    let reader = {
        let uio2 = ok!(Uio::for_pci_device(&pci));
        std::thread::spawn(move || uio2.wait_irq())
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    unbind(&pci)?;
    let woke = reader.join().map_err(|_| "reader panicked".to_string())?;
    check!(
        woke.is_err(),
        "blocked reader got an interrupt instead of an error: {woke:?}"
    );
    check!(
        attachments_of(&pci)? == 0,
        "unbind left {} attachments",
        attachments_of(&pci)?
    );
    expect_errno(ia.sync_for_cpu(), libc::ENODEV, "sync after unbind")?;
    expect_errno(
        dev.segments(ib.handle(), 0, 4),
        libc::ENODEV,
        "segments after unbind",
    )?;
    expect_errno(dev.info(&uio), libc::ENODEV, "info through the old uio fd")?;
    expect_errno(
        dev.import(&uio, &a, Direction::ToDevice, ImportFlags::default()),
        libc::ENODEV,
        "import through the old uio fd",
    )?;
    // RELEASE of a revoked import frees its handle.
    let ha = ia.handle();
    ok!(ia.release());
    expect_errno(dev.release(ha), libc::ENOENT, "released handle")?;
    drop(ib);
    bind(&pci)?;
    let fresh = ok!(Uio::for_pci_device(&pci));
    // The fd opened before the unbind names no device, even when the new UIO
    // device got the same number (and so the same /dev/uioN).
    expect_errno(
        dev.info(&uio),
        libc::ENODEV,
        &format!("stale {} fd after rebind as {}", uio.name(), fresh.name()),
    )?;
    expect_errno(
        dev.import(&uio, &a, Direction::ToDevice, ImportFlags::default()),
        libc::ENODEV,
        "import through a stale uio fd",
    )?;
    drop(uio);
    let again = ok!(dev.import(&fresh, &a, Direction::ToDevice, ImportFlags::default()));
    ok!(again.sync_for_device());
    drop(again);
    check!(
        attachments_of(&pci)? == 0,
        "attachment left after rebind test"
    );
    Ok(())
}

fn t_rmmod_refused_while_open(_env: &Env) -> Outcome {
    let dev = ok!(ImportDevice::open());
    check!(
        sh("rmmod uio_dmabuf").is_err(),
        "rmmod succeeded with /dev/uio-dmabuf open"
    );
    drop(dev);
    sh("rmmod uio_dmabuf")?;
    fault_injected();
    sh("load-uio-dmabuf")?;
    check!(
        sysfs::bound_devices()
            .map(|d| !d.is_empty())
            .unwrap_or(false),
        "no device bound after reload"
    );
    Ok(())
}

fn t_per_file_limits(env: &Env) -> Outcome {
    let reload = |params: &str| {
        fault_injected();
        sh(&format!("rmmod uio_dmabuf && load-uio-dmabuf {params}"))
    };
    reload("max_imports=3 max_mapped_bytes=65536")?;
    let result = (|| {
        let (dev, uio) = open_device(env.first()?)?;
        let info = ok!(dev.info(&uio));
        check!(
            info.max_imports == 3 && info.max_mapped_bytes == 65536,
            "limits {info:?}"
        );
        let small: Vec<OwnedFd> = (0..5)
            .map(|_| buffers::system_heap(4096))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        let big = ok!(buffers::system_heap(65536));
        let _i1 = ok!(dev.import(&uio, &small[0], Direction::ToDevice, ImportFlags::default()));
        expect_errno(
            dev.import(&uio, &big, Direction::ToDevice, ImportFlags::default()),
            libc::EDQUOT,
            "over the byte limit",
        )?;
        let _i2 = ok!(dev.import(&uio, &small[1], Direction::ToDevice, ImportFlags::default()));
        let _i3 = ok!(dev.import(&uio, &small[2], Direction::ToDevice, ImportFlags::default()));
        expect_errno(
            dev.import(&uio, &small[3], Direction::ToDevice, ImportFlags::default()),
            libc::ENOSPC,
            "over the import limit",
        )?;
        // Another file has its own budget.
        let other = ok!(ImportDevice::open());
        let _o = ok!(other.import(&uio, &small[4], Direction::ToDevice, ImportFlags::default()));
        check!(
            attachments_of(env.first()?)? == 4,
            "attachments after limits"
        );
        Ok(())
    })();
    reload("")?;
    result
}

/// In a guest with RAM above edu's 28-bit mask (qemu/run --mem 1G): without an
/// IOMMU every import is refused with ERANGE, cleanly (the DMA API would warn
/// on the unreachable pages); with one, IOVAs below the mask make it work.
fn t_memory_beyond_the_mask(env: &Env) -> Outcome {
    let pci = env.first()?;
    let (dev, uio) = open_device(pci)?;
    let info = ok!(dev.info(&uio));
    check!(
        info.unreachable_memory == env.unreachable_memory(),
        "flag {} on this guest",
        info.unreachable_memory
    );
    for exporter in [
        buffers::system_heap(64 << 10),
        buffers::udmabuf(16 * page_size(), true),
    ] {
        let buf = ok!(exporter);
        let r = dev.import(&uio, &buf, Direction::ToDevice, ImportFlags::default());
        if info.unreachable_memory {
            expect_errno(r, libc::ERANGE, "import with RAM beyond the mask")?;
            check!(
                attachments_of(pci)? == 0,
                "refused import left an attachment"
            );
        } else {
            let imp = ok!(r);
            check_segments(
                imp.segments(),
                imp.size(),
                info.dma_mask,
                info.max_segment_size,
            )?;
        }
    }
    Ok(())
}

fn t_debugfs_counters(env: &Env) -> Outcome {
    let pci = env.first()?;
    let (dev, uio) = open_device(pci)?;
    let (total0, released0, errors0) = (
        counter("imports_total")?,
        counter("releases_total")?,
        counter("errors_total")?,
    );
    check!(
        counter("imports_alive")? == 0 && counter("bytes_mapped")? == 0,
        "not idle at start: {:?}",
        summary()?
    );
    let a = ok!(buffers::system_heap(8192));
    let b = ok!(buffers::udmabuf(4 * page_size(), false));
    let ia = ok!(dev.import(&uio, &a, Direction::ToDevice, ImportFlags::default()));
    let ib = ok!(dev.import(&uio, &b, Direction::FromDevice, ImportFlags::default()));
    let bytes = 8192 + 4 * page_size() as u64;
    check!(
        counter("imports_alive")? == 2 && counter("bytes_mapped")? == bytes,
        "alive: {:?}",
        summary()?
    );
    check!(counter("imports_total")? == total0 + 2, "imports_total");
    let devices =
        fs::read_to_string("/sys/kernel/debug/uio_dmabuf/devices").map_err(|e| e.to_string())?;
    let line = devices
        .lines()
        .find(|l| l.starts_with(pci))
        .ok_or(format!("{pci} missing in devices: {devices}"))?;
    check!(
        line.ends_with(&format!(" imports 2 bytes {bytes}")),
        "devices line {line:?}"
    );
    expect_errno(dev.release(9999), libc::ENOENT, "bogus release")?;
    check!(
        counter("errors_total")? == errors0 + 1,
        "errors_total did not count the failed ioctl"
    );
    drop(ia);
    drop(ib);
    check!(
        counter("imports_alive")? == 0 && counter("bytes_mapped")? == 0,
        "not back to zero: {:?}",
        summary()?
    );
    check!(
        counter("releases_total")? == released0 + 2,
        "releases_total"
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Processes and privileges

/// Runs `f` in a forked child; returns its exit status (0 = success).
fn in_child(f: impl FnOnce() -> i32) -> Result<i32, String> {
    // SAFETY: The child runs `f` and leaves with _exit.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err("fork failed".into());
    }
    if pid == 0 {
        let code = f();
        // SAFETY: Leave without running the parent's destructors.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: Reaping our child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    Ok(if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128
    })
}

/// Drops to user and group `nobody` (65534).
fn become_nobody() -> bool {
    // SAFETY: Plain syscalls on the calling process.
    unsafe {
        libc::setgroups(0, std::ptr::null()) == 0
            && libc::setgid(65534) == 0
            && libc::setuid(65534) == 0
    }
}

fn t_unprivileged_needs_the_uio_node(env: &Env) -> Outcome {
    let pci = env.first()?;
    let uio_name = ok!(Uio::for_pci_device(pci)).name().to_string();
    // /dev/uio-dmabuf open to all, /dev/uioN root-only: the uio node is the
    // capability.
    sh(&format!("chmod 0666 /dev/uio-dmabuf /dev/udmabuf /dev/dma_heap/system && chmod 0600 /dev/{uio_name}"))?;
    let imports_before = counter("imports_total")?;
    let denied = in_child(|| {
        if !become_nobody() {
            return 10;
        }
        let Ok(dev) = ImportDevice::open() else {
            return 11;
        };
        if Uio::open(&uio_name).map(|_| ()).map_err(|e| e.errno) != Err(libc::EACCES) {
            return 12;
        }
        let Ok(buf) = buffers::system_heap(4096) else {
            return 13;
        };
        let null = fs::File::open("/dev/null").expect("/dev/null");
        // Whatever fd it passes, nothing names the device.
        for fd in [
            null.as_raw_fd(),
            buf.as_raw_fd(),
            dev.fd().as_raw_fd(),
            3,
            4,
            5,
            6,
            7,
            8,
            9,
        ] {
            let mut a = uapi::uio_dmabuf_import {
                uio_fd: fd,
                dmabuf_fd: buf.as_raw_fd(),
                ..Default::default()
            };
            // SAFETY: Matching struct.
            if unsafe { ioctl(dev.fd(), uapi::IOC_IMPORT, &mut a, "IMPORT") }.is_ok() {
                return 14;
            }
        }
        0
    })?;
    check!(denied == 0, "unprivileged child: step {denied} went wrong");
    check!(
        counter("imports_total")? == imports_before,
        "an unprivileged import happened"
    );
    // The capability travels with the fd: opened as root, used after dropping
    // privileges, it works.
    let uio = ok!(Uio::open(&uio_name));
    let granted = in_child(move || {
        if !become_nobody() {
            return 10;
        }
        let (Ok(dev), Ok(buf)) = (ImportDevice::open(), buffers::system_heap(4096)) else {
            return 11;
        };
        let imported = dev
            .import(&uio, &buf, Direction::ToDevice, ImportFlags::default())
            .is_ok();
        if imported {
            0
        } else {
            12
        }
    })?;
    check!(
        granted == 0,
        "child holding the uio fd: step {granted} went wrong"
    );
    Ok(())
}

fn t_kill_9_releases_everything(env: &Env) -> Outcome {
    let pci = env.first()?.to_string();
    let children = 60;
    let mut pids = Vec::new();
    let (ready_r_fd, ready_w_fd) = ok!(testing::pipe());
    let (ready_r, ready_w) = (ready_r_fd.as_raw_fd(), ready_w_fd.as_raw_fd());
    for i in 0..children {
        // SAFETY: The child only makes syscalls, then blocks until killed.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let ok = (|| -> Option<()> {
                let dev = ImportDevice::open().ok()?;
                let uio = Uio::for_pci_device(&pci).ok()?;
                let mut held = Vec::new();
                for k in 0..4 {
                    let buf = if (i + k) % 2 == 0 {
                        buffers::system_heap(8192)
                    } else {
                        buffers::udmabuf(2 * page_size(), true)
                    };
                    let buf = buf.ok()?;
                    held.push(
                        dev.import(&uio, &buf, Direction::Bidirectional, ImportFlags::default())
                            .ok()?,
                    );
                }
                std::mem::forget(held);
                std::mem::forget(dev);
                Some(())
            })();
            // SAFETY: Writing one byte to our pipe.
            unsafe { libc::write(ready_w, [u8::from(ok.is_some())].as_ptr().cast(), 1) };
            loop {
                // SAFETY: Waits for the SIGKILL.
                unsafe { libc::pause() };
            }
        }
        pids.push(pid);
    }
    let mut ready = 0;
    for _ in 0..children {
        let mut b = [0u8];
        // SAFETY: Reading one byte from our pipe.
        if unsafe { libc::read(ready_r, b.as_mut_ptr().cast(), 1) } == 1 && b[0] == 1 {
            ready += 1;
        }
    }
    let alive = counter("imports_alive")?;
    for &pid in &pids {
        // SAFETY: Our children.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        fault_injected();
    }
    for &pid in &pids {
        let mut status = 0;
        // SAFETY: Reaping our children.
        unsafe { libc::waitpid(pid, &mut status, 0) };
    }
    check!(
        ready == children,
        "only {ready} of {children} children imported"
    );
    check!(
        alive == 4 * children as u64,
        "{alive} imports alive before the kill, expected {}",
        4 * children
    );
    check!(
        counter("imports_alive")? == 0 && counter("bytes_mapped")? == 0,
        "after kill -9: {:?}",
        summary()?
    );
    check!(attachments_of(&pci)? == 0, "attachments left after kill -9");
    Ok(())
}

/// `MemAvailable` and `SUnreclaim` from /proc/meminfo, in KiB.
fn meminfo() -> Result<(i64, i64), String> {
    let text = fs::read_to_string("/proc/meminfo").map_err(|e| e.to_string())?;
    let get = |key: &str| {
        text.lines()
            .find_map(|l| {
                l.strip_prefix(key).map(|v| {
                    v.trim()
                        .trim_end_matches(" kB")
                        .parse::<i64>()
                        .unwrap_or(-1)
                })
            })
            .ok_or(format!("no {key} in /proc/meminfo"))
    };
    Ok((get("MemAvailable:")?, get("SUnreclaim:")?))
}

fn t_memory_back_to_baseline(env: &Env) -> Outcome {
    // Rounds of 150 imports of 64 KiB buffers (released one by one, or held
    // and dropped by closing the file). After a warm-up round, three more
    // rounds may not eat memory: a leaked dma-buf reference would hold ~9 MiB
    // per round, leaked driver objects show in unreclaimable slab. (The
    // tolerances absorb KASAN's quarantine of freed objects.)
    let pci = env.first()?;
    let uio = ok!(Uio::for_pci_device(pci));
    let round = |hold: bool| -> Outcome {
        let dev = ok!(ImportDevice::open());
        let mut held = Vec::new();
        for i in 0..150 {
            let buf = if i % 3 == 0 {
                ok!(buffers::udmabuf(16 * page_size(), true))
            } else {
                ok!(buffers::system_heap(65536))
            };
            let imp = ok!(dev.import(&uio, &buf, Direction::Bidirectional, ImportFlags::default()));
            if hold {
                held.push(imp.handle());
                std::mem::forget(imp);
            } else {
                ok!(imp.release());
            }
        }
        drop(dev);
        Ok(())
    };
    round(false)?;
    round(true)?;
    let (avail0, slab0) = meminfo()?;
    for _ in 0..3 {
        round(false)?;
        round(true)?;
    }
    let (avail1, slab1) = meminfo()?;
    println!("memory: MemAvailable {avail0} -> {avail1} KiB, SUnreclaim {slab0} -> {slab1} KiB over 900 imports");
    check!(
        avail0 - avail1 < 4096,
        "MemAvailable fell by {} KiB over 900 imports",
        avail0 - avail1
    );
    check!(
        slab1 - slab0 < 2048,
        "unreclaimable slab grew by {} KiB over 900 imports",
        slab1 - slab0
    );
    check!(
        counter("imports_alive")? == 0 && attachments_of(pci)? == 0,
        "imports left"
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Binding other devices

/// Reads a sysfs attribute of PCI device `pci`.
fn pci_attr(pci: &str, attr: &str) -> Result<String, String> {
    fs::read_to_string(format!("/sys/bus/pci/devices/{pci}/{attr}"))
        .map(|s| s.trim().to_string())
        .map_err(|e| format!("{pci}/{attr}: {e}"))
}

fn driver_of(pci: &str) -> Option<String> {
    fs::read_link(format!("/sys/bus/pci/devices/{pci}/driver"))
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
}

/// q35's ICH9 AHCI controller (8086:2922): no driver in the test kernel, a
/// memory BAR5. Fails if it is bound to anything.
fn unbound_ahci() -> Result<String, String> {
    let pci = fs::read_dir("/sys/bus/pci/devices")
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|a| {
            pci_attr(a, "vendor").as_deref() == Ok("0x8086")
                && pci_attr(a, "device").as_deref() == Ok("0x2922")
        })
        .ok_or("no ICH9 AHCI controller in this machine")?;
    check!(
        driver_of(&pci).is_none(),
        "{pci} already has driver {:?}",
        driver_of(&pci)
    );
    Ok(pci)
}

/// The AHCI controller `pci`, just bound to uio_dmabuf: its UIO map is BAR5,
/// its DMA mask a non-edu device's, and an import attaches to it.
fn check_bound_ahci(env: &Env, pci: &str, how: &str) -> Outcome {
    check!(
        driver_of(pci).as_deref() == Some("uio_dmabuf"),
        "{pci} not bound after {how}"
    );
    let uio = ok!(Uio::for_pci_device(pci));
    let name = sh(&format!("cat /sys/class/uio/{}/maps/map0/name", uio.name()))?;
    check!(
        name.trim() == "BAR5",
        "AHCI map0 is {name:?}, expected its memory BAR5"
    );
    let dev = ok!(ImportDevice::open());
    let info = ok!(dev.info(&uio));
    let want = if env.dma_bits == 64 {
        u64::MAX
    } else {
        0xffff_ffff
    };
    check!(
        info.dma_mask == want,
        "mask for a non-edu device {:#x}, expected {want:#x}",
        info.dma_mask
    );
    let buf = ok!(buffers::system_heap(8192));
    let imp = ok!(dev.import(&uio, &buf, Direction::ToDevice, ImportFlags::default()));
    check!(
        attachments_of(pci)? == 1,
        "import on {pci} not attached to it"
    );
    drop(imp);
    Ok(())
}

fn t_new_id_binds_another_device(env: &Env) -> Outcome {
    let (vendor, device) = ("8086", "2922");
    let pci = unbound_ahci()?;
    fs::write(
        "/sys/bus/pci/drivers/uio_dmabuf/new_id",
        format!("{vendor} {device}"),
    )
    .map_err(|e| format!("new_id: {e}"))?;
    let result = check_bound_ahci(env, &pci, "new_id");
    let _ = fs::write("/sys/bus/pci/drivers/uio_dmabuf/unbind", &pci);
    let _ = fs::write(
        "/sys/bus/pci/drivers/uio_dmabuf/remove_id",
        format!("{vendor} {device}"),
    );
    result?;
    check!(driver_of(&pci).is_none(), "{pci} still bound after unbind");
    Ok(())
}

fn t_driver_override_binds_another_device(env: &Env) -> Outcome {
    let pci = unbound_ahci()?;
    let override_path = format!("/sys/bus/pci/devices/{pci}/driver_override");
    let result = (|| {
        fs::write(&override_path, "uio_dmabuf").map_err(|e| format!("driver_override: {e}"))?;
        fs::write("/sys/bus/pci/drivers_probe", &pci).map_err(|e| format!("drivers_probe: {e}"))?;
        check_bound_ahci(env, &pci, "driver_override")
    })();
    let _ = fs::write("/sys/bus/pci/drivers/uio_dmabuf/unbind", &pci);
    let _ = fs::write(&override_path, "\n");
    result?;
    check!(driver_of(&pci).is_none(), "{pci} still bound after unbind");
    check!(
        pci_attr(&pci, "driver_override")? == "(null)",
        "driver_override not cleared"
    );
    // Without the override nothing binds it again.
    fs::write("/sys/bus/pci/drivers_probe", &pci).map_err(|e| format!("drivers_probe: {e}"))?;
    check!(
        driver_of(&pci).is_none(),
        "{pci} bound without an override: {:?}",
        driver_of(&pci)
    );
    Ok(())
}

fn t_foreign_uio_device_is_refused(env: &Env) -> Outcome {
    // The second edu, moved to uio_pci_generic: its /dev/uioN is a UIO device,
    // but not one of ours.
    let pci = env.devices.get(1).ok_or("needs a second edu")?.clone();
    let override_path = format!("/sys/bus/pci/devices/{pci}/driver_override");
    unbind(&pci)?;
    let moved = (|| {
        fs::write(&override_path, "uio_pci_generic")
            .map_err(|e| format!("driver_override: {e}"))?;
        fs::write("/sys/bus/pci/drivers_probe", &pci).map_err(|e| format!("drivers_probe: {e}"))?;
        check!(
            driver_of(&pci).as_deref() == Some("uio_pci_generic"),
            "{pci} not on uio_pci_generic"
        );
        let foreign = ok!(Uio::for_pci_device(&pci));
        let dev = ok!(ImportDevice::open());
        let buf = ok!(buffers::system_heap(4096));
        expect_errno(
            dev.info(&foreign),
            libc::ENODEV,
            "INFO with a uio_pci_generic fd",
        )?;
        expect_errno(
            dev.import(&foreign, &buf, Direction::ToDevice, ImportFlags::default()),
            libc::ENODEV,
            "IMPORT with a uio_pci_generic fd",
        )?;
        check!(
            attachments_of(&pci)? == 0,
            "attachment on the foreign device"
        );
        Ok(())
    })();
    let _ = fs::write(format!("/sys/bus/pci/devices/{pci}/driver/unbind"), &pci);
    let _ = fs::write(&override_path, "\n");
    bind(&pci)?;
    moved
}

// ---------------------------------------------------------------------------
// Concurrency

/// One worker's loop: import, read segments, sync both ways, release. Errors
/// other than `allowed` fail the test.
fn churn(dev: &ImportDevice, uio: &Uio, rounds: usize, allowed: &[i32]) -> Result<usize, String> {
    let mut done = 0;
    for i in 0..rounds {
        let buf = if i % 2 == 0 {
            buffers::system_heap(8192)
        } else {
            buffers::udmabuf(4 * page_size(), true)
        };
        let buf = ok!(buf);
        let step = (|| {
            let imp = dev.import(uio, &buf, Direction::Bidirectional, ImportFlags::default())?;
            dev.segments(imp.handle(), 0, 4)?;
            imp.sync_for_device()?;
            imp.sync_for_cpu()?;
            imp.release()
        })();
        match step {
            Ok(()) => done += 1,
            Err(e) if allowed.contains(&e.errno) => {}
            Err(e) => return Err(format!("round {i}: {e}")),
        }
    }
    Ok(done)
}

fn t_threads_share_one_fd(env: &Env) -> Outcome {
    let pci = env.first()?;
    let (dev, uio) = open_device(pci)?;
    let results: Vec<Result<usize, String>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..8)
            .map(|_| s.spawn(|| churn(&dev, &uio, 25, &[])))
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or(Err("worker panicked".into())))
            .collect()
    });
    for r in results {
        check!(r? == 25, "a worker lost rounds");
    }
    check!(attachments_of(pci)? == 0, "attachments left");
    Ok(())
}

fn t_fds_closed_and_dup_ed_under_importers(env: &Env) -> Outcome {
    // 6 threads import from a shared fd number while 2 others keep replacing
    // the buffer behind it (dup2 over it, close, reopen): every import either
    // works or fails with a documented errno, and nothing is left behind.
    use std::sync::atomic::{AtomicBool, AtomicI32, Ordering::Relaxed};
    let pci = env.first()?;
    let (dev, uio) = open_device(pci)?;
    let first = ok!(buffers::system_heap(8192));
    let shared = AtomicI32::new(first.as_raw_fd());
    let stop = AtomicBool::new(false);
    let results: Vec<Result<usize, String>> = std::thread::scope(|s| {
        let mut handles = Vec::new();
        for _ in 0..6 {
            handles.push(s.spawn(|| {
                let mut ok_count = 0;
                while !stop.load(Relaxed) {
                    let fd = shared.load(Relaxed);
                    let mut a = uapi::uio_dmabuf_import {
                        uio_fd: uio.as_fd().as_raw_fd(),
                        dmabuf_fd: fd,
                        direction: uapi::UIO_DMABUF_DIR_BIDIRECTIONAL,
                        ..Default::default()
                    };
                    // SAFETY: Matching struct.
                    match unsafe { ioctl(dev.fd(), uapi::IOC_IMPORT, &mut a, "IMPORT") } {
                        Ok(_) => {
                            ok_count += 1;
                            let _ = dev.sync(a.handle, true);
                            dev.release(a.handle).map_err(|e| format!("release: {e}"))?;
                        }
                        Err(e)
                            if [libc::EBADF, libc::EINVAL, libc::EEXIST, libc::ENODEV]
                                .contains(&e.errno) => {}
                        Err(e) => return Err(format!("import from a churned fd: {e}")),
                    }
                }
                Ok(ok_count)
            }));
        }
        for _ in 0..2 {
            handles.push(s.spawn(|| {
                for i in 0..40 {
                    let Ok(next) = (if i % 2 == 0 {
                        buffers::system_heap(8192)
                    } else {
                        buffers::udmabuf(2 * page_size(), true)
                    }) else {
                        return Err("allocating a dma-buf".to_string());
                    };
                    let target = shared.load(Relaxed);
                    // Atomically replace whatever the shared number names.
                    // SAFETY: dup2 onto a number this test owns (the first buffer's).
                    unsafe { libc::dup2(next.as_raw_fd(), target) };
                    drop(next);
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Ok(0)
            }));
        }
        std::thread::sleep(std::time::Duration::from_millis(3000));
        stop.store(true, Relaxed);
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Err("thread panicked".into())))
            .collect()
    });
    let mut imported = 0;
    for r in results {
        imported += r?;
    }
    check!(imported > 0, "no import ever succeeded");
    drop(first);
    check!(attachments_of(pci)? == 0, "attachments left");
    Ok(())
}

fn t_unbind_during_imports(env: &Env) -> Outcome {
    let pci = env.first()?.to_string();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let results: Vec<Result<usize, String>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    let dev = ok!(ImportDevice::open());
                    let mut total = 0;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        // The device may be gone between opening its node and
                        // importing, or mid-way: ENODEV (and ENOENT for the
                        // uio node) are the documented outcomes.
                        let Ok(uio) = Uio::for_pci_device(&pci) else {
                            continue;
                        };
                        total += churn(&dev, &uio, 4, &[libc::ENODEV])?;
                    }
                    Ok(total)
                })
            })
            .collect();
        let mut cycle = Ok(());
        for _ in 0..4 {
            std::thread::sleep(std::time::Duration::from_millis(400));
            cycle = unbind(&pci).and_then(|()| {
                std::thread::sleep(std::time::Duration::from_millis(200));
                bind(&pci)
            });
            if cycle.is_err() {
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(400));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut results: Vec<Result<usize, String>> = workers
            .into_iter()
            .map(|w| w.join().unwrap_or(Err("worker panicked".into())))
            .collect();
        results.push(cycle.map(|()| 0));
        results
    });
    for r in results {
        r?;
    }
    check!(
        attachments_of(&pci)? == 0,
        "attachments left after unbind cycles"
    );
    // The device works after the last rebind.
    let (dev, uio) = open_device(&pci)?;
    check!(ok!(churn(&dev, &uio, 2, &[])) == 2, "imports after rebind");
    Ok(())
}

// ---------------------------------------------------------------------------
// DMA

fn t_smoke_dma_one_page(env: &Env) -> Outcome {
    let uio = ok!(Uio::for_pci_device(env.first()?));
    let edu = ok!(Edu::new(&uio));
    let dev = ok!(ImportDevice::open());
    let len = edu::MAX_TRANSFER;
    let src_fd = ok!(buffers::system_heap(4096));
    let dst_fd = ok!(buffers::system_heap(4096));
    let pattern: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
    let mut src = dma_buf::DmaBuf::from(src_fd.try_clone().map_err(|e| e.to_string())?)
        .memory_map()
        .map_err(|e| e.to_string())?;
    src.write(
        |b, _: Option<()>| {
            b[..len].copy_from_slice(&pattern);
            Ok(())
        },
        None,
    )
    .map_err(|e| e.to_string())?;
    let src_imp = ok!(dev.import(&uio, &src_fd, Direction::ToDevice, ImportFlags::default()));
    let dst_imp = ok!(dev.import(&uio, &dst_fd, Direction::FromDevice, ImportFlags::default()));
    ok!(src_imp.sync_for_device());
    ok!(edu.dma(src_imp.segments()[0].dma_addr, 0, len, false));
    ok!(dst_imp.sync_for_device());
    ok!(edu.dma(dst_imp.segments()[0].dma_addr, 0, len, true));
    ok!(dst_imp.sync_for_cpu());
    let dst = dma_buf::DmaBuf::from(dst_fd.try_clone().map_err(|e| e.to_string())?)
        .memory_map()
        .map_err(|e| e.to_string())?;
    let same = dst
        .read(|b, _: Option<()>| Ok(b[..len] == pattern[..]), None)
        .map_err(|e| e.to_string())?;
    check!(
        same,
        "destination differs from the source after DMA through edu (addresses {:#x} -> {:#x})",
        src_imp.segments()[0].dma_addr,
        dst_imp.segments()[0].dma_addr
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// The CLI

/// Runs the installed `uio-dmabuf` with `args`: (exit code, stdout, stderr).
fn cli(args: &[&str]) -> Result<(i32, String, String), String> {
    let out = Command::new("uio-dmabuf")
        .args(args)
        .output()
        .map_err(|e| format!("running uio-dmabuf: {e}"))?;
    Ok((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// Runs `uio-dmabuf args`, which must succeed; its stdout.
fn cli_ok(args: &[&str]) -> Result<String, String> {
    let (code, out, err) = cli(args)?;
    check!(
        code == 0,
        "uio-dmabuf {} exited {code}: {}",
        args.join(" "),
        err.trim()
    );
    Ok(out)
}

/// Parses one JSON document printed by the CLI.
fn parse_json(text: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(text.trim()).map_err(|e| format!("invalid JSON ({e}): {text}"))
}

fn t_cli_list(env: &Env) -> Outcome {
    let dev = ok!(ImportDevice::open());
    let bound = ok!(sysfs::bound_devices());
    check!(!bound.is_empty(), "no device bound");
    let json = parse_json(&cli_ok(&["list", "--json"])?)?;
    let rows = json.as_array().ok_or(format!("not an array: {json}"))?;
    check!(
        rows.len() == bound.len(),
        "{} rows for {} bound devices",
        rows.len(),
        bound.len()
    );
    let text = cli_ok(&["list"])?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
    check!(
        header == ["DEVICE", "ID", "UIO", "DMA", "MASK", "IOMMU"],
        "list header {header:?}"
    );
    let lines: Vec<&str> = lines.collect();
    check!(lines.len() == bound.len(), "list printed {lines:?}");
    for ((d, row), line) in bound.iter().zip(rows).zip(&lines) {
        let node = d
            .uio
            .as_deref()
            .ok_or(format!("{}: no uio node", d.address))?;
        let info = ok!(dev.info(&ok!(Uio::open(node))));
        check!(info.iommu == env.iommu, "library iommu {}", info.iommu);
        let want = serde_json::json!({
            "device": d.address,
            "vendor": d.vendor,
            "device_id": d.device,
            "uio": node,
            "dma_mask": info.dma_mask,
            "iommu": info.iommu,
        });
        check!(*row == want, "list --json row {row}, library says {want}");
        let cols: Vec<&str> = line.split_whitespace().collect();
        let id = format!("{:04x}:{:04x}", d.vendor, d.device);
        let mask = format!("{:#x}", info.dma_mask);
        let iommu = if info.iommu { "yes" } else { "no" };
        check!(
            cols == [d.address.as_str(), &id, node, &mask, iommu],
            "list row {cols:?}"
        );
    }
    Ok(())
}

fn t_cli_import(env: &Env) -> Outcome {
    let pci = env.first()?;
    let (dev, uio) = open_device(pci)?;
    let info = ok!(dev.info(&uio));
    let mut size: u64 = 1 << 20;
    if env.swiotlb || info.unreachable_memory {
        // 1 MiB heap chunks cannot be bounced (EIO); RAM beyond the mask
        // without an IOMMU is refused (ERANGE): the CLI reports the errno.
        let errno = if info.unreachable_memory {
            "ERANGE"
        } else {
            "EIO"
        };
        let (code, _, err) = cli(&["import", "--heap", "system", "--size", "1M"])?;
        check!(
            code == 2 && err.contains("UIO_DMABUF_IOC_IMPORT") && err.contains(errno),
            "1 MiB import: exit {code}, stderr {err:?}, expected {errno}"
        );
        ERROR_CASES.fetch_add(1, Ordering::Relaxed);
        if info.unreachable_memory {
            return Ok(());
        }
        size = SWIOTLB_MAX_MAPPING as u64;
    }
    let size_arg = format!("{}K", size >> 10);
    let args = ["import", "--heap", "system", "--size", &size_arg];
    let json = parse_json(&cli_ok(&[&args[..], &["--json"]].concat())?)?;
    let field = |k: &str| json.get(k).ok_or(format!("no {k} in {json}"));
    check!(field("device")? == pci, "device {}", field("device")?);
    check!(field("uio")? == uio.name(), "uio {}", field("uio")?);
    check!(field("heap")? == "system", "heap {}", field("heap")?);
    check!(field("size")? == size, "size {}", field("size")?);
    check!(
        field("handle")? == 1,
        "handle {} in a fresh file",
        field("handle")?
    );
    let segs: Vec<Segment> = field("segments")?
        .as_array()
        .ok_or("segments is not an array")?
        .iter()
        .map(|s| {
            Some(Segment {
                dma_addr: s.get("dma_addr")?.as_u64()?,
                len: s.get("len")?.as_u64()?,
            })
        })
        .collect::<Option<_>>()
        .ok_or(format!("malformed segments in {json}"))?;
    check!(
        field("nr_segments")? == segs.len(),
        "nr_segments {} for {} segments",
        field("nr_segments")?,
        segs.len()
    );
    check_segments(&segs, size, info.dma_mask, info.max_segment_size)?;

    let text = cli_ok(&args)?;
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("");
    let prefix = format!(
        "imported {size} bytes from the system heap into {pci} ({}): handle 1, ",
        uio.name()
    );
    let n: usize = first
        .strip_prefix(&prefix)
        .and_then(|r| r.strip_suffix(" segment(s)"))
        .and_then(|n| n.parse().ok())
        .ok_or(format!("first line {first:?}"))?;
    let header: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
    check!(
        header == ["#", "DMA", "ADDRESS", "LENGTH"],
        "table header {header:?}"
    );
    let mut rows = Vec::new();
    for (i, line) in lines.enumerate() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let parsed = match cols.as_slice() {
            [idx, addr, len] if *idx == i.to_string() && addr.len() == 18 => addr
                .strip_prefix("0x")
                .and_then(|a| u64::from_str_radix(a, 16).ok())
                .zip(len.parse().ok()),
            _ => None,
        };
        let (dma_addr, len) = parsed.ok_or(format!("table row {i}: {line:?}"))?;
        rows.push(Segment { dma_addr, len });
    }
    check!(
        rows.len() == n,
        "{n} segment(s) announced, {} rows",
        rows.len()
    );
    check_segments(&rows, size, info.dma_mask, info.max_segment_size)?;
    Ok(())
}

const TESTS: &[(&str, fn(&Env) -> Outcome)] = &[
    ("bound-with-uio-maps", t_bound_with_uio_maps),
    ("bar0-mmap-registers", t_bar0_mmap_registers),
    ("irq-through-uio", t_irq_through_uio),
    ("info", t_info),
    ("import-system-heap", t_import_system_heap),
    ("import-udmabuf-scattered", t_import_udmabuf_scattered),
    ("import-every-direction", t_import_every_direction),
    ("contiguous-flag", t_contiguous_flag),
    (
        "handles-small-and-per-file",
        t_handles_are_small_and_per_file,
    ),
    ("same-buffer-once-per-device", t_same_buffer_once_per_device),
    ("dmabuf-outlives-its-fd", t_dmabuf_outlives_its_fd),
    ("close-without-release", t_close_without_release),
    ("import-errors", t_import_errors),
    (
        "output-fault-undoes-import",
        t_argument_struct_fault_after_import,
    ),
    ("outputs-are-fully-written", t_outputs_are_fully_written),
    ("other-ioctl-errors", t_other_ioctl_errors),
    ("smoke-dma-one-page", t_smoke_dma_one_page),
    ("memory-beyond-the-mask", t_memory_beyond_the_mask),
    ("debugfs-counters", t_debugfs_counters),
    (
        "unprivileged-needs-the-uio-node",
        t_unprivileged_needs_the_uio_node,
    ),
    ("kill-9-releases-everything", t_kill_9_releases_everything),
    ("memory-back-to-baseline", t_memory_back_to_baseline),
    ("new-id-binds-another-device", t_new_id_binds_another_device),
    (
        "foreign-uio-device-is-refused",
        t_foreign_uio_device_is_refused,
    ),
    ("threads-share-one-fd", t_threads_share_one_fd),
    ("unbind-with-imports-alive", t_unbind_with_imports_alive),
    ("unbind-during-imports", t_unbind_during_imports),
    (
        "fds-closed-and-dup-ed-under-importers",
        t_fds_closed_and_dup_ed_under_importers,
    ),
    ("rmmod-refused-while-open", t_rmmod_refused_while_open),
    ("per-file-limits", t_per_file_limits),
    ("many-segments-paged", t_many_segments_paged),
    ("max-segment-size", t_max_segment_size),
    (
        "segments-are-the-physical-pages",
        t_segments_are_the_physical_pages,
    ),
    (
        "driver-override-binds-another-device",
        t_driver_override_binds_another_device,
    ),
    ("cli-list", t_cli_list),
    ("cli-import", t_cli_import),
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--list") {
        for (name, _) in TESTS {
            println!("{name}");
        }
        return ExitCode::SUCCESS;
    }
    let mut failed = 0;
    for (name, test) in TESTS {
        if !args.is_empty() && !args.iter().any(|a| a == name) {
            continue;
        }
        // Every test must leave nothing mapped behind.
        let outcome = Env::detect()
            .and_then(|env| test(&env))
            .and_then(|()| match summary() {
                Ok(s)
                    if s.iter()
                        .any(|(k, v)| (k == "imports_alive" || k == "bytes_mapped") && *v != 0) =>
                {
                    Err(format!("left imports behind: {s:?}"))
                }
                Ok(_) => Ok(()),
                Err(e) => Err(e),
            });
        match outcome {
            Ok(()) => println!("PASS {name}"),
            Err(msg) => {
                failed += 1;
                println!("FAIL {name}");
                for line in msg.lines() {
                    println!("    | {line}");
                }
            }
        }
    }
    println!("COUNT error-cases {}", ERROR_CASES.load(Ordering::Relaxed));
    println!("COUNT faults {}", FAULTS.load(Ordering::Relaxed));
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
