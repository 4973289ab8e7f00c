// SPDX-License-Identifier: MIT OR Apache-2.0

//! The import front-end `/dev/uio-dmabuf`: device info, importing dma-bufs, the
//! segment list, cache syncs and release.

use std::fs::{File, OpenOptions};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use crate::error::{Error, Result};
use crate::uapi;

/// DMA direction of an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The device reads and writes the buffer.
    Bidirectional,
    /// The device reads the buffer (RAM to device).
    ToDevice,
    /// The device writes the buffer (device to RAM).
    FromDevice,
}

impl Direction {
    /// The uapi value.
    pub fn raw(self) -> u32 {
        match self {
            Direction::Bidirectional => uapi::UIO_DMABUF_DIR_BIDIRECTIONAL,
            Direction::ToDevice => uapi::UIO_DMABUF_DIR_TO_DEVICE,
            Direction::FromDevice => uapi::UIO_DMABUF_DIR_FROM_DEVICE,
        }
    }

    /// Parses `bidirectional`, `to-device` or `from-device`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "bidirectional" | "bidi" => Some(Direction::Bidirectional),
            "to-device" => Some(Direction::ToDevice),
            "from-device" => Some(Direction::FromDevice),
            _ => None,
        }
    }
}

/// What the driver reports about a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    pub abi_version: u32,
    /// Highest DMA address the device can reach.
    pub dma_mask: u64,
    /// No segment is longer than this.
    pub max_segment_size: u64,
    /// An IOMMU translates the device's DMA: addresses are IOVAs.
    pub iommu: bool,
    /// RAM lies beyond the device's mask and nothing (IOMMU, swiotlb) brings
    /// it within reach: the driver refuses imports with `ERANGE`.
    pub unreachable_memory: bool,
    /// The device's DMA is not cache-coherent: SYNC around every CPU access
    /// to a buffer it uses.
    pub noncoherent: bool,
    /// Per-file limit of live imports.
    pub max_imports: u32,
    /// Per-file limit of imported bytes.
    pub max_mapped_bytes: u64,
    /// Limit of live imports of the device, all files together.
    pub max_device_imports: u32,
    /// Limit of imported bytes of the device, all files together.
    pub max_device_mapped_bytes: u64,
}

/// One DMA segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Segment {
    pub dma_addr: u64,
    pub len: u64,
}

impl From<uapi::uio_dmabuf_segment> for Segment {
    fn from(s: uapi::uio_dmabuf_segment) -> Self {
        Segment {
            dma_addr: s.dma_addr,
            len: s.len,
        }
    }
}

/// Import flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImportFlags {
    /// Fail with `E2BIG` unless the buffer maps to a single segment.
    pub contiguous: bool,
}

impl ImportFlags {
    fn raw(self) -> u32 {
        if self.contiguous {
            uapi::UIO_DMABUF_IMPORT_CONTIGUOUS
        } else {
            0
        }
    }
}

/// Segments returned in IMPORT's own array before paging with SEGMENTS.
const FIRST_PAGE: usize = 64;
/// Segments per SEGMENTS call.
const PAGE: usize = 1024;

/// An open `/dev/uio-dmabuf`. Imports made through it live until released or
/// until it is closed.
#[derive(Debug)]
pub struct ImportDevice {
    file: File,
}

/// Issues ioctl `cmd` on `fd` with `arg`.
///
/// # Safety
///
/// `arg` must point to a value of the type `cmd` encodes, valid for reads and
/// writes as `cmd`'s direction says.
pub unsafe fn ioctl<T>(fd: BorrowedFd<'_>, cmd: u32, arg: *mut T, op: &'static str) -> Result<i32> {
    // SAFETY: The caller guarantees `arg` fits `cmd`.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), cmd as _, arg) };
    if ret < 0 {
        Err(Error::last(op))
    } else {
        Ok(ret)
    }
}

impl ImportDevice {
    /// Opens `/dev/uio-dmabuf`.
    pub fn open() -> Result<Self> {
        Self::open_path("/dev/uio-dmabuf")
    }

    /// Opens the import device at `path`.
    pub fn open_path(path: &str) -> Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| Error::from_io("open /dev/uio-dmabuf", &e))?;
        Ok(Self { file })
    }

    /// The file descriptor, for raw ioctls (tests, benchmarks).
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }

    /// What the driver reports about the device whose `/dev/uioN` is `uio`.
    pub fn info(&self, uio: impl AsFd) -> Result<DeviceInfo> {
        let mut args = uapi::uio_dmabuf_info {
            uio_fd: uio.as_fd().as_raw_fd(),
            ..Default::default()
        };
        // SAFETY: `args` is the struct IOC_INFO encodes.
        unsafe { ioctl(self.fd(), uapi::IOC_INFO, &mut args, "UIO_DMABUF_IOC_INFO")? };
        Ok(DeviceInfo {
            abi_version: args.abi_version,
            dma_mask: args.dma_mask,
            max_segment_size: args.max_segment_size,
            iommu: args.flags & uapi::UIO_DMABUF_INFO_IOMMU != 0,
            unreachable_memory: args.flags & uapi::UIO_DMABUF_INFO_UNREACHABLE_MEMORY != 0,
            noncoherent: args.flags & uapi::UIO_DMABUF_INFO_NONCOHERENT != 0,
            max_imports: args.max_imports,
            max_mapped_bytes: args.max_mapped_bytes,
            max_device_imports: args.max_device_imports,
            max_device_mapped_bytes: args.max_device_mapped_bytes,
        })
    }

    /// Imports `dmabuf` for DMA by the device whose `/dev/uioN` is `uio`; the
    /// returned [`Import`] holds the whole segment list and releases the import
    /// when dropped.
    pub fn import(
        &self,
        uio: impl AsFd,
        dmabuf: impl AsFd,
        dir: Direction,
        flags: ImportFlags,
    ) -> Result<Import<'_>> {
        let mut first = vec![uapi::uio_dmabuf_segment::default(); FIRST_PAGE];
        let mut args = uapi::uio_dmabuf_import {
            uio_fd: uio.as_fd().as_raw_fd(),
            dmabuf_fd: dmabuf.as_fd().as_raw_fd(),
            direction: dir.raw(),
            flags: flags.raw(),
            segments: first.as_mut_ptr() as u64,
            capacity: FIRST_PAGE as u32,
            ..Default::default()
        };
        // SAFETY: `args` is the struct IOC_IMPORT encodes; `segments` points to
        // `capacity` writable entries.
        unsafe {
            ioctl(
                self.fd(),
                uapi::IOC_IMPORT,
                &mut args,
                "UIO_DMABUF_IOC_IMPORT",
            )?
        };
        let mut import = Import {
            dev: self,
            handle: args.handle,
            size: args.size,
            segments: Vec::with_capacity(args.nr_segments as usize),
        };
        let total = args.nr_segments as usize;
        import
            .segments
            .extend(first.iter().take(total).map(|&s| Segment::from(s)));
        while import.segments.len() < total {
            let more = self.segments(args.handle, import.segments.len() as u32, PAGE)?;
            if more.is_empty() {
                return Err(Error::new("UIO_DMABUF_IOC_SEGMENTS", libc::EIO));
            }
            import.segments.extend(more);
        }
        Ok(import)
    }

    /// Up to `max` segments of import `handle`, from index `first`.
    pub fn segments(&self, handle: u32, first: u32, max: usize) -> Result<Vec<Segment>> {
        let mut buf = vec![uapi::uio_dmabuf_segment::default(); max];
        let (count, _) = self.segments_into(handle, first, &mut buf)?;
        buf.truncate(count as usize);
        Ok(buf.into_iter().map(Segment::from).collect())
    }

    /// Reads segments of import `handle`, from index `first`, into `out`
    /// without allocating; returns how many were written and the import's
    /// total segment count.
    pub fn segments_into(
        &self,
        handle: u32,
        first: u32,
        out: &mut [uapi::uio_dmabuf_segment],
    ) -> Result<(u32, u32)> {
        let mut args = uapi::uio_dmabuf_segments {
            handle,
            first,
            segments: if out.is_empty() {
                0
            } else {
                out.as_mut_ptr() as u64
            },
            capacity: u32::try_from(out.len()).unwrap_or(u32::MAX),
            ..Default::default()
        };
        // SAFETY: `args` is the struct IOC_SEGMENTS encodes; `segments` points to
        // `capacity` writable entries.
        unsafe {
            ioctl(
                self.fd(),
                uapi::IOC_SEGMENTS,
                &mut args,
                "UIO_DMABUF_IOC_SEGMENTS",
            )?
        };
        Ok((args.count, args.nr_segments))
    }

    /// Syncs import `handle` for the CPU (`for_cpu`) or for the device.
    pub fn sync(&self, handle: u32, for_cpu: bool) -> Result<()> {
        let flags = if for_cpu {
            uapi::UIO_DMABUF_SYNC_FOR_CPU
        } else {
            uapi::UIO_DMABUF_SYNC_FOR_DEVICE
        };
        let mut args = uapi::uio_dmabuf_sync {
            handle,
            flags,
            ..Default::default()
        };
        // SAFETY: `args` is the struct IOC_SYNC encodes.
        unsafe { ioctl(self.fd(), uapi::IOC_SYNC, &mut args, "UIO_DMABUF_IOC_SYNC")? };
        Ok(())
    }

    /// Releases import `handle`.
    pub fn release(&self, handle: u32) -> Result<()> {
        let mut args = uapi::uio_dmabuf_release {
            handle,
            ..Default::default()
        };
        // SAFETY: `args` is the struct IOC_RELEASE encodes.
        unsafe {
            ioctl(
                self.fd(),
                uapi::IOC_RELEASE,
                &mut args,
                "UIO_DMABUF_IOC_RELEASE",
            )?
        };
        Ok(())
    }
}

/// Where byte `offset` of a buffer with segment list `segments` lies: the
/// segment's index, the byte's device address and how many bytes from there
/// are contiguous in DMA space. `None` past the end (or if the list's lengths
/// or addresses overflow before `offset`).
pub fn locate(segments: &[Segment], offset: u64) -> Option<(usize, u64, u64)> {
    let mut start: u64 = 0;
    for (i, s) in segments.iter().enumerate() {
        let end = start.checked_add(s.len)?;
        if offset < end {
            let into = offset - start;
            return Some((i, s.dma_addr.checked_add(into)?, s.len - into));
        }
        start = end;
    }
    None
}

/// A live import; dropping it releases it.
#[derive(Debug)]
pub struct Import<'a> {
    dev: &'a ImportDevice,
    handle: u32,
    size: u64,
    segments: Vec<Segment>,
}

impl Import<'_> {
    /// The driver's handle.
    pub fn handle(&self) -> u32 {
        self.handle
    }

    /// The dma-buf size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Every DMA segment, in buffer order.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The device address of byte `offset` of the buffer, and how many bytes
    /// from there are contiguous in DMA space.
    pub fn dma_addr_at(&self, offset: u64) -> Option<(u64, u64)> {
        locate(&self.segments, offset).map(|(_, addr, run)| (addr, run))
    }

    /// Hands the buffer to the CPU after device DMA.
    pub fn sync_for_cpu(&self) -> Result<()> {
        self.dev.sync(self.handle, true)
    }

    /// Hands the buffer to the device before DMA.
    pub fn sync_for_device(&self) -> Result<()> {
        self.dev.sync(self.handle, false)
    }

    /// Releases the import now, reporting errors (drop ignores them).
    pub fn release(mut self) -> Result<()> {
        let handle = std::mem::take(&mut self.handle);
        self.dev.release(handle)
    }
}

impl Drop for Import<'_> {
    fn drop(&mut self) {
        if self.handle != 0 {
            let _ = self.dev.release(self.handle);
        }
    }
}

/// A segment list from `(dma_addr, len)` pairs, for unit tests.
#[cfg(test)]
pub(crate) fn segments_of(pairs: &[(u64, u64)]) -> Vec<Segment> {
    pairs
        .iter()
        .map(|&(dma_addr, len)| Segment { dma_addr, len })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn import_with(segments: &[(u64, u64)]) -> (ImportDevice, Vec<Segment>) {
        let dev = ImportDevice {
            file: File::open("/dev/null").unwrap(),
        };
        (dev, segments_of(segments))
    }

    #[test]
    fn dma_addr_at_walks_segments() {
        let (dev, segments) = import_with(&[(0x1000, 0x2000), (0x8000, 0x1000)]);
        let imp = Import {
            dev: &dev,
            handle: 0,
            size: 0x3000,
            segments,
        };
        assert_eq!(imp.dma_addr_at(0), Some((0x1000, 0x2000)));
        assert_eq!(imp.dma_addr_at(0x1fff), Some((0x2fff, 1)));
        assert_eq!(imp.dma_addr_at(0x2000), Some((0x8000, 0x1000)));
        assert_eq!(imp.dma_addr_at(0x2800), Some((0x8800, 0x800)));
        assert_eq!(imp.dma_addr_at(0x3000), None);
    }

    #[test]
    fn locate_names_the_segment_and_survives_bogus_lists() {
        let segs = segments_of;
        let list = segs(&[(0x1000, 0x2000), (0x8000, 0), (0x9000, 0x1000)]);
        assert_eq!(locate(&list, 0x1fff), Some((0, 0x2fff, 1)));
        // An empty segment is never where a byte lies.
        assert_eq!(locate(&list, 0x2000), Some((2, 0x9000, 0x1000)));
        assert_eq!(locate(&list, 0x3000), None);
        assert_eq!(locate(&[], 0), None);
        // Lengths that overflow u64, addresses that would wrap.
        let huge = segs(&[(0, u64::MAX), (0, 2)]);
        assert_eq!(locate(&huge, u64::MAX - 1), Some((0, u64::MAX - 1, 1)));
        assert_eq!(locate(&huge, u64::MAX), None);
        assert_eq!(locate(&segs(&[(u64::MAX, 4)]), 2), None);
    }

    #[test]
    fn directions_parse_and_encode() {
        assert_eq!(Direction::parse("to-device"), Some(Direction::ToDevice));
        assert_eq!(Direction::parse("sideways"), None);
        assert_eq!(Direction::FromDevice.raw(), 2);
        assert_eq!(ImportFlags { contiguous: true }.raw(), 1);
    }
}
