// SPDX-License-Identifier: MIT OR Apache-2.0

//! VFIO's type1 IOMMU backend through the container API: what a userspace
//! driver uses instead of this driver to give a device behind an IOMMU
//! addresses for its memory (the benchmarks compare the two). A [`Container`]
//! holds one device's IOMMU group with the type1v2 backend set;
//! [`Container::map_dma`] pins the pages of a range of this process's memory
//! and maps them at a chosen IOVA.

use std::fs::{File, OpenOptions};
use std::os::fd::{AsFd, AsRawFd, RawFd};

use crate::error::{Error, Result};
use crate::import::ioctl;

#[allow(
    dead_code,
    non_camel_case_types,
    non_upper_case_globals,
    clippy::all,
    missing_docs
)]
mod raw {
    include!(concat!(env!("OUT_DIR"), "/vfio.rs"));
}

/// `/dev/vfio/vfio` with one IOMMU group in it and the type1v2 IOMMU set.
#[derive(Debug)]
pub struct Container {
    container: File,
    // Closing the group takes it out of the container: kept for as long.
    _group: File,
}

fn open_rw(path: &str, op: &'static str) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| Error::from_io(op, &e))
}

/// An ioctl whose argument is a plain integer (VFIO's `_IO` calls).
fn ioctl_value(fd: RawFd, cmd: u32, value: libc::c_ulong, op: &'static str) -> Result<i32> {
    // SAFETY: These calls take their argument by value; nothing is pointed to.
    let ret = unsafe { libc::ioctl(fd, cmd as _, value) };
    if ret < 0 {
        Err(Error::last(op))
    } else {
        Ok(ret)
    }
}

impl Container {
    /// The IOMMU group of PCI device `pci` (bound to `vfio-pci`) in a new
    /// container with the type1v2 backend.
    pub fn for_device(pci: &str) -> Result<Self> {
        let link = std::fs::read_link(format!("/sys/bus/pci/devices/{pci}/iommu_group"))
            .map_err(|e| Error::from_io("iommu_group of the device (no IOMMU?)", &e))?;
        let group_nr = link
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or(Error::new("iommu_group link without a name", libc::EINVAL))?
            .to_string();
        let container = open_rw("/dev/vfio/vfio", "open /dev/vfio/vfio")?;
        let cfd = container.as_raw_fd();
        let version = ioctl_value(cfd, raw::VFIO_GET_API_VERSION, 0, "VFIO_GET_API_VERSION")?;
        if version != raw::VFIO_API_VERSION as i32 {
            return Err(Error::new("VFIO API version", libc::EPROTO));
        }
        let type1v2 = libc::c_ulong::from(raw::VFIO_TYPE1v2_IOMMU);
        if ioctl_value(
            cfd,
            raw::VFIO_CHECK_EXTENSION,
            type1v2,
            "VFIO_CHECK_EXTENSION",
        )? != 1
        {
            return Err(Error::new("VFIO type1v2 IOMMU", libc::ENOTSUP));
        }
        let group = open_rw(&format!("/dev/vfio/{group_nr}"), "open /dev/vfio/GROUP")?;
        let mut status = raw::vfio_group_status {
            argsz: size_of::<raw::vfio_group_status>() as u32,
            ..Default::default()
        };
        // SAFETY: The struct VFIO_GROUP_GET_STATUS fills, its argsz set.
        unsafe {
            ioctl(
                group.as_fd(),
                raw::VFIO_GROUP_GET_STATUS,
                &mut status,
                "VFIO_GROUP_GET_STATUS",
            )?
        };
        if status.flags & raw::VFIO_GROUP_FLAGS_VIABLE == 0 {
            return Err(Error::new(
                "VFIO group not viable (a device of the group is bound to another driver)",
                libc::EBUSY,
            ));
        }
        let mut container_fd: i32 = cfd;
        // SAFETY: VFIO_GROUP_SET_CONTAINER reads one int, the container's fd.
        unsafe {
            ioctl(
                group.as_fd(),
                raw::VFIO_GROUP_SET_CONTAINER,
                &mut container_fd,
                "VFIO_GROUP_SET_CONTAINER",
            )?
        };
        ioctl_value(cfd, raw::VFIO_SET_IOMMU, type1v2, "VFIO_SET_IOMMU")?;
        Ok(Self {
            container,
            _group: group,
        })
    }

    /// Pins `len` bytes of this process's memory from `vaddr` and maps them
    /// readable and writable by the device at `iova`.
    pub fn map_dma(&self, vaddr: *const u8, iova: u64, len: usize) -> Result<()> {
        let mut map = raw::vfio_iommu_type1_dma_map {
            argsz: size_of::<raw::vfio_iommu_type1_dma_map>() as u32,
            flags: raw::VFIO_DMA_MAP_FLAG_READ | raw::VFIO_DMA_MAP_FLAG_WRITE,
            vaddr: vaddr as u64,
            iova,
            size: len as u64,
        };
        // SAFETY: The struct VFIO_IOMMU_MAP_DMA reads, its argsz set; the
        // kernel checks the range against this process's mappings.
        unsafe {
            ioctl(
                self.container.as_fd(),
                raw::VFIO_IOMMU_MAP_DMA,
                &mut map,
                "VFIO_IOMMU_MAP_DMA",
            )?
        };
        Ok(())
    }

    /// Unmaps (and unpins) what [`map_dma`](Self::map_dma) mapped at `iova`.
    pub fn unmap_dma(&self, iova: u64, len: usize) -> Result<()> {
        let mut unmap = raw::vfio_iommu_type1_dma_unmap {
            argsz: size_of::<raw::vfio_iommu_type1_dma_unmap>() as u32,
            iova,
            size: len as u64,
            ..Default::default()
        };
        // SAFETY: The struct VFIO_IOMMU_UNMAP_DMA reads and updates (the size
        // unmapped), its argsz set, no bitmap asked for.
        unsafe {
            ioctl(
                self.container.as_fd(),
                raw::VFIO_IOMMU_UNMAP_DMA,
                &mut unmap,
                "VFIO_IOMMU_UNMAP_DMA",
            )?
        };
        if unmap.size != len as u64 {
            return Err(Error::new(
                "VFIO_IOMMU_UNMAP_DMA unmapped another size",
                libc::EIO,
            ));
        }
        Ok(())
    }
}
