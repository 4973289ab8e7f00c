// SPDX-License-Identifier: MIT OR Apache-2.0

//! What every test uses: the guest's description, assertions, errno checks,
//! the driver's counters, and the summary figures.

pub(crate) use std::fs;
pub(crate) use std::os::fd::{AsFd, AsRawFd, OwnedFd};
pub(crate) use std::process::Command;
pub(crate) use std::sync::atomic::{AtomicU64, Ordering};

pub(crate) use uio_dmabuf::buffers::{self, page_size};
pub(crate) use uio_dmabuf::edu::{self, Edu};
pub(crate) use uio_dmabuf::import::ioctl;
pub(crate) use uio_dmabuf::uapi;
pub(crate) use uio_dmabuf::uio::Uio;
pub(crate) use uio_dmabuf::{sysfs, testing, Direction, ImportDevice, ImportFlags, Segment};

pub(crate) type Outcome = Result<(), String>;

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

/// What a test needs of the first bound device beyond the driver's uAPI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Needs {
    /// Any device: the test uses imports, ioctls, binding and limits only.
    Any,
    /// A PCI device (command register, PCI core defaults, other PCI drivers).
    Pci,
    /// QEMU's edu (its registers, interrupt and DMA engine).
    Edu,
    /// A platform device described in the device tree (its clocks, power).
    DeviceTree,
}

/// What the guest looks like.
pub(crate) struct Env {
    /// Names of the devices bound to uio_dmabuf at start (PCI addresses, then
    /// platform device names).
    pub(crate) devices: Vec<String>,
    /// The first device's bus and ID (see [`sysfs::BoundDevice`]).
    pub(crate) first_kind: Option<(sysfs::Bus, String)>,
    /// An IOMMU translates the devices' DMA (intel-iommu on x86, SMMUv3 on
    /// arm64): the kernel made IOMMU groups.
    pub(crate) iommu: bool,
    /// Guest booted with swiotlb=force: every mapping is bounced.
    pub(crate) swiotlb: bool,
    /// The driver's dma_bits parameter from the kernel command line (0: default).
    pub(crate) dma_bits: u32,
}

impl Env {
    pub(crate) fn detect() -> Result<Self, String> {
        let cmdline = fs::read_to_string("/proc/cmdline").map_err(|e| e.to_string())?;
        let bound = ok!(sysfs::bound_devices());
        let first_kind = bound.first().map(|d| (d.bus, d.id.clone()));
        let devices: Vec<String> = bound.into_iter().map(|d| d.name).collect();
        let words: Vec<&str> = cmdline.split_whitespace().collect();
        Ok(Env {
            devices,
            first_kind,
            iommu: fs::read_dir("/sys/kernel/iommu_groups")
                .is_ok_and(|mut groups| groups.next().is_some()),
            swiotlb: words.contains(&"swiotlb=force"),
            dma_bits: words
                .iter()
                .find_map(|w| w.strip_prefix("uio_dmabuf.dma_bits="))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
        })
    }

    /// Whether the DMA of the device at sysfs `path` is cache-coherent, as the
    /// kernel decides it: always on x86; elsewhere from the device tree, the
    /// `dma-coherent` or `dma-noncoherent` property nearest to the device
    /// (its node's, else its parents'), non-coherent without either.
    pub(crate) fn dma_coherent(path: &str) -> bool {
        if cfg!(target_arch = "x86_64") {
            return true;
        }
        let mut dir = fs::canonicalize(path).unwrap_or_default();
        loop {
            let node = dir.join("of_node");
            if node.join("dma-coherent").exists() {
                return true;
            }
            if node.join("dma-noncoherent").exists() {
                return false;
            }
            if !dir.pop() {
                return false;
            }
        }
    }

    /// Why the first device does not meet `needs`, if it does not.
    pub(crate) fn lacks(&self, needs: Needs) -> Option<&'static str> {
        let pci = matches!(&self.first_kind, Some((sysfs::Bus::Pci, _)));
        let edu = matches!(&self.first_kind, Some((sysfs::Bus::Pci, id)) if id == "1234:11e8");
        let device_tree = matches!(&self.first_kind, Some((sysfs::Bus::Platform, _)))
            && self.first().is_ok_and(|name| {
                std::path::Path::new("/sys/bus/platform/devices")
                    .join(name)
                    .join("of_node")
                    .exists()
            });
        match needs {
            Needs::Any => None,
            Needs::Pci if !pci => Some("needs a PCI device"),
            Needs::Edu if !edu => Some("needs QEMU's edu"),
            Needs::DeviceTree if !device_tree => Some("needs a device-tree platform device"),
            Needs::Pci | Needs::Edu | Needs::DeviceTree => None,
        }
    }

    /// The width of the bound devices' DMA mask: the `dma_bits` parameter
    /// (qemu/run passes edu's 28 bits unless told another width), else the
    /// PCI default of 32 bits, which is also what the OF core gives every
    /// platform device (no `dma-ranges` in our trees).
    pub(crate) fn mask_bits(&self) -> u32 {
        match self.dma_bits {
            0 => 32,
            bits => bits,
        }
    }

    /// The bound devices' DMA mask.
    pub(crate) fn dma_mask(&self) -> u64 {
        match self.mask_bits() {
            64 => u64::MAX,
            bits => (1 << bits) - 1,
        }
    }

    /// Whether the guest has RAM beyond the edus' DMA mask that nothing can
    /// bring within reach: no IOMMU, and either a mask below 32 bits (swiotlb's
    /// pool lies below 4 GiB, not below such a mask) or no swiotlb at all. The
    /// driver must then refuse imports.
    pub(crate) fn unreachable_memory(&self) -> bool {
        let ram_end = ram_end();
        let bits = self.mask_bits();
        if self.iommu || bits >= 64 || ram_end <= 1u64 << bits {
            return false;
        }
        // x86 sets up swiotlb when forced or when RAM reaches beyond 4 GiB,
        // unless told not to.
        let cmdline = fs::read_to_string("/proc/cmdline").unwrap_or_default();
        let words: Vec<&str> = cmdline.split_whitespace().collect();
        let swiotlb = !words.contains(&"swiotlb=noforce") && (self.swiotlb || ram_end > 1 << 32);
        bits < 32 || !swiotlb
    }

    pub(crate) fn first(&self) -> Result<&str, String> {
        self.devices
            .first()
            .map(String::as_str)
            .ok_or("no device bound to uio_dmabuf".into())
    }
}

/// The import front-end and the uio device of bound device `pci` (a PCI
/// address or a platform device's name): what almost every test starts with.
pub(crate) fn open_device(pci: &str) -> Result<(ImportDevice, Uio), String> {
    Ok((ok!(ImportDevice::open()), ok!(Uio::for_device(pci))))
}

/// Figures for the suite's summary line, printed at the end as `COUNT name N`:
/// error cases whose exact errno was asserted, and faults injected (processes
/// killed, devices unbound, module unloads).
pub(crate) static ERROR_CASES: AtomicU64 = AtomicU64::new(0);
pub(crate) static FAULTS: AtomicU64 = AtomicU64::new(0);

pub(crate) fn fault_injected() {
    FAULTS.fetch_add(1, Ordering::Relaxed);
}

/// Expects `r` to fail with `errno`.
pub(crate) fn expect_errno<T: std::fmt::Debug>(
    r: uio_dmabuf::Result<T>,
    errno: i32,
    what: &str,
) -> Outcome {
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
pub(crate) fn attachments_of(pci: &str) -> Result<usize, String> {
    let info = fs::read_to_string("/sys/kernel/debug/dma_buf/bufinfo")
        .map_err(|e| format!("bufinfo: {e}"))?;
    Ok(info
        .lines()
        .filter(|l| l.strip_prefix('\t') == Some(pci))
        .count())
}

/// The driver's debugfs `summary` as (name, value) pairs.
pub(crate) fn summary() -> Result<Vec<(String, u64)>, String> {
    sysfs::debugfs_summary().map_err(|e| format!("debugfs summary: {e}"))
}

/// One counter of the debugfs `summary`.
pub(crate) fn counter(name: &str) -> Result<u64, String> {
    summary()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
        .ok_or(format!("no counter {name}"))
}

/// Lines of /proc/iomem that name `what`.
pub(crate) fn iomem_lines(what: &str) -> Result<Vec<String>, String> {
    Ok(fs::read_to_string("/proc/iomem")
        .map_err(|e| format!("/proc/iomem: {e}"))?
        .lines()
        .filter(|l| l.contains(what))
        .map(|l| l.trim().to_string())
        .collect())
}

/// How /proc/iomem names the rest of a sub-page region's page that the driver
/// reserves while bound.
pub(crate) const PAGE_TAIL_RESERVED: &str = "uio_dmabuf sub-page reserved";

/// Checks that exactly one page tail is reserved: the rest of the page at
/// `page_start` after its first `len` bytes.
pub(crate) fn check_page_tail_reserved(page_start: u64, len: u64) -> Outcome {
    let page = page_size() as u64;
    let tail = iomem_lines(PAGE_TAIL_RESERVED)?;
    let want = format!("{:08x}-{:08x}", page_start + len, page_start + page - 1);
    check!(
        tail.len() == 1 && tail[0].starts_with(&want),
        "reservation of the page's rest: {tail:?}, expected {want}"
    );
    Ok(())
}

/// Checks that no page tail is reserved (`when`: before binding, after unbind).
pub(crate) fn check_no_page_tail_reserved(when: &str) -> Outcome {
    let tail = iomem_lines(PAGE_TAIL_RESERVED)?;
    check!(tail.is_empty(), "the page's rest reserved {when}: {tail:?}");
    Ok(())
}

pub(crate) fn sh(cmd: &str) -> Result<String, String> {
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
pub(crate) fn check_segments(segs: &[Segment], size: u64, dma_mask: u64, max_seg: u64) -> Outcome {
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

/// Largest contiguous piece swiotlb can bounce (IO_TLB_SEGSIZE * IO_TLB_SIZE).
pub(crate) const SWIOTLB_MAX_MAPPING: usize = 256 << 10;

/// The driver's `bind` or `unbind` file on the bus of device `name`.
fn driver_file(name: &str, file: &str) -> Result<String, String> {
    let (bus, _) = sysfs::find_device(name).ok_or(format!("no device {name}"))?;
    Ok(format!("/sys/bus/{}/drivers/uio_dmabuf/{file}", bus.name()))
}

/// Loads the driver again with `load-uio-dmabuf` arguments `args`.
pub(crate) fn reload(args: &str) -> Result<String, String> {
    fault_injected();
    sh(&format!("rmmod uio_dmabuf && load-uio-dmabuf {args}"))
}

pub(crate) fn unbind(pci: &str) -> Outcome {
    fault_injected();
    fs::write(driver_file(pci, "unbind")?, pci).map_err(|e| format!("unbind {pci}: {e}"))
}

pub(crate) fn bind(pci: &str) -> Outcome {
    fs::write(driver_file(pci, "bind")?, pci).map_err(|e| format!("bind {pci}: {e}"))
}

/// The PCI command register of `pci`, read through sysfs config space.
pub(crate) fn pci_command(pci: &str) -> Result<u16, String> {
    sysfs::pci_command(pci).map_err(|e| format!("{pci} config space: {e}"))
}

/// The end of the highest range of RAM (`System RAM` in /proc/iomem).
pub(crate) fn ram_end() -> u64 {
    fs::read_to_string("/proc/iomem")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.trim_start().ends_with(": System RAM"))
        .filter_map(|l| {
            let range = l.trim_start().split(' ').next()?;
            let end = range.split('-').nth(1)?;
            u64::from_str_radix(end, 16).ok()
        })
        .max()
        .map_or(0, |end| end + 1)
}
