// SPDX-License-Identifier: MIT OR Apache-2.0

//! UIO devices bound to `uio_dmabuf`: find `/dev/uioN`, mmap a memory map (a
//! BAR), wait for interrupts and re-enable them.
//!
//! Written here rather than with the `uio` crate: that crate hands out raw
//! pointers to mappings it never unmaps and pulls in an async runtime, while this
//! is a small RAII wrapper with volatile register access.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::Path;
use std::ptr::NonNull;

use crate::error::{Error, Result};

/// An open `/dev/uioN`.
#[derive(Debug)]
pub struct Uio {
    file: File,
    name: String,
}

impl Uio {
    /// Opens the UIO device of the PCI device at `pci_address` (e.g.
    /// `0000:00:03.0`).
    pub fn for_pci_device(pci_address: &str) -> Result<Self> {
        let dir = Path::new("/sys/bus/pci/devices")
            .join(pci_address)
            .join("uio");
        let name = fs::read_dir(&dir)
            .map_err(|e| Error::from_io("read /sys/bus/pci/devices/*/uio", &e))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .find(|n| n.starts_with("uio"))
            .ok_or(Error::new("find uio node", libc::ENODEV))?;
        Self::open(&name)
    }

    /// Opens `/dev/<name>` (e.g. `uio0`).
    pub fn open(name: &str) -> Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(Path::new("/dev").join(name))
            .map_err(|e| Error::from_io("open /dev/uioN", &e))?;
        Ok(Self {
            file,
            name: name.to_string(),
        })
    }

    /// The node name, `uioN`.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn map_attr(&self, map: usize, attr: &str) -> Result<u64> {
        let path = format!("/sys/class/uio/{}/maps/map{map}/{attr}", self.name);
        let text =
            fs::read_to_string(&path).map_err(|e| Error::from_io("read uio map attribute", &e))?;
        u64::from_str_radix(text.trim().trim_start_matches("0x"), 16)
            .map_err(|_| Error::new("parse uio map attribute", libc::EINVAL))
    }

    /// Physical address and size of memory map `map`.
    pub fn map_info(&self, map: usize) -> Result<(u64, u64)> {
        Ok((self.map_attr(map, "addr")?, self.map_attr(map, "size")?))
    }

    /// Maps memory map `map` (UIO's convention: mmap offset `map` pages).
    pub fn map(&self, map: usize) -> Result<Mmio> {
        let (_, size) = self.map_info(map)?;
        let len = size as usize;
        let page = crate::buffers::page_size();
        // SAFETY: A fresh shared mapping of our descriptor; checked below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                self.file.as_raw_fd(),
                (map * page) as libc::off_t,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(Error::last("mmap /dev/uioN"));
        }
        Ok(Mmio {
            ptr: NonNull::new(ptr.cast()).expect("mmap never returns NULL on success"),
            len,
        })
    }

    /// Blocks until the device interrupts; returns UIO's total event count.
    pub fn wait_irq(&self) -> Result<u32> {
        let mut count = [0u8; 4];
        (&self.file)
            .read_exact(&mut count)
            .map_err(|e| Error::from_io("read /dev/uioN", &e))?;
        Ok(u32::from_ne_bytes(count))
    }

    /// Waits at most `timeout_ms` for an interrupt: `Ok(None)` on timeout.
    pub fn wait_irq_timeout(&self, timeout_ms: i32) -> Result<Option<u32>> {
        let mut pfd = libc::pollfd {
            fd: self.file.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: One valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
        match n {
            n if n < 0 => Err(Error::last("poll /dev/uioN")),
            0 => Ok(None),
            _ => self.wait_irq().map(Some),
        }
    }

    /// Re-enables (unmasks) the interrupt after handling it.
    pub fn enable_irq(&self) -> Result<()> {
        self.irqcontrol(1)
    }

    /// Writes `value` to `/dev/uioN` (1 unmasks, 0 masks).
    pub fn irqcontrol(&self, value: u32) -> Result<()> {
        (&self.file)
            .write_all(&value.to_ne_bytes())
            .map_err(|e| Error::from_io("write /dev/uioN", &e))
    }
}

impl AsFd for Uio {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

/// A mapped register window; unmapped on drop.
#[derive(Debug)]
pub struct Mmio {
    ptr: NonNull<u8>,
    len: usize,
}

impl Mmio {
    fn at<T>(&self, offset: usize) -> *mut T {
        assert!(
            offset % size_of::<T>() == 0 && offset + size_of::<T>() <= self.len,
            "MMIO offset {offset:#x} out of range"
        );
        // SAFETY: In bounds, checked above.
        unsafe { self.ptr.as_ptr().add(offset).cast() }
    }

    /// Reads the 32-bit register at `offset`.
    pub fn read32(&self, offset: usize) -> u32 {
        // SAFETY: `at` checks alignment and bounds; MMIO needs volatile access.
        unsafe { self.at::<u32>(offset).read_volatile() }
    }

    /// Writes the 32-bit register at `offset`.
    pub fn write32(&self, offset: usize, value: u32) {
        // SAFETY: As in `read32`.
        unsafe { self.at::<u32>(offset).write_volatile(value) }
    }

    /// Reads the 64-bit register at `offset`.
    pub fn read64(&self, offset: usize) -> u64 {
        // SAFETY: As in `read32`.
        unsafe { self.at::<u64>(offset).read_volatile() }
    }

    /// Writes the 64-bit register at `offset`.
    pub fn write64(&self, offset: usize, value: u64) {
        // SAFETY: As in `read32`.
        unsafe { self.at::<u64>(offset).write_volatile(value) }
    }

    /// Length of the window in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the window is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Drop for Mmio {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly what mmap returned.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}
