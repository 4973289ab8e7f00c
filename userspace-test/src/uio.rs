// SPDX-License-Identifier: MIT OR Apache-2.0

//! UIO devices bound to `uio_dmabuf`: find `/dev/uioN` from a PCI address or a
//! platform device's name, mmap a memory map (a BAR, a register region), wait
//! for interrupts and re-enable them.
//!
//! Written here rather than with the `uio` crate (0.6; its tokio support is an
//! opt-in feature, so not the reason): its `map_mapping` hands out a raw
//! pointer to a mapping it never unmaps, with the mmap offset computed from a
//! fixed 4096-byte page; it opens `/dev/uioN` by number only (no lookup from a
//! PCI address) and takes an exclusive `flock` on it, which would serialize
//! the tests' many openers (threads, forked and unprivileged processes) and
//! panics in `drop` if the unlock fails; it has no wait with a timeout. This
//! is a small RAII wrapper with checked, volatile register access.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::Path;
use std::ptr::NonNull;

use crate::error::{check_range, Error, Result};
use crate::sysfs;

/// An open `/dev/uioN`.
#[derive(Debug)]
pub struct Uio {
    file: File,
    name: String,
}

impl Uio {
    /// Opens the UIO node of the device called `name`, a PCI address
    /// (`0000:00:03.0`) or a platform device's name (`fd500000.dma-controller`).
    /// `ENODEV` if there is no such device or it has no UIO node.
    pub fn for_device(name: &str) -> Result<Self> {
        let (_, dir) = sysfs::find_device(name).ok_or(Error::new(
            "find the device in /sys/bus/{pci,platform}/devices",
            libc::ENODEV,
        ))?;
        let node = fs::read_dir(dir.join("uio"))
            .map_err(|e| Error::from_io("read /sys/bus/*/devices/*/uio", &e))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .find(|n| n.starts_with("uio"))
            .ok_or(Error::new("find uio node", libc::ENODEV))?;
        Self::open(&node)
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
        let len = usize::try_from(size).map_err(|_| Error::new("uio map size", libc::ERANGE))?;
        // UIO's convention: map N at mmap offset N pages.
        let offset = map
            .checked_mul(crate::buffers::page_size())
            .and_then(|o| libc::off_t::try_from(o).ok())
            .ok_or(Error::new("uio map index", libc::ERANGE))?;
        // SAFETY: A fresh shared mapping of our descriptor; checked below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                self.file.as_raw_fd(),
                offset,
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
    /// The address of a `T` register at `offset`: `EINVAL` unless `offset` is
    /// aligned to `T`'s size, `ERANGE` unless the register lies inside the
    /// window.
    fn at<T>(&self, offset: usize) -> Result<*mut T> {
        check_access::<T>(offset, self.len)?;
        // SAFETY: In bounds, checked above.
        Ok(unsafe { self.ptr.as_ptr().add(offset).cast() })
    }

    /// Reads the register of type `T` at `offset`.
    fn read<T>(&self, offset: usize) -> Result<T> {
        let reg = self.at::<T>(offset)?;
        // SAFETY: `at` checked alignment and bounds; MMIO needs volatile access.
        Ok(unsafe { reg.read_volatile() })
    }

    /// Writes the register of type `T` at `offset`.
    fn write<T>(&self, offset: usize, value: T) -> Result<()> {
        let reg = self.at::<T>(offset)?;
        // SAFETY: As in `read`.
        unsafe { reg.write_volatile(value) };
        Ok(())
    }

    /// Reads the 32-bit register at `offset`.
    pub fn read32(&self, offset: usize) -> Result<u32> {
        self.read(offset)
    }

    /// Writes the 32-bit register at `offset`.
    pub fn write32(&self, offset: usize, value: u32) -> Result<()> {
        self.write(offset, value)
    }

    /// Reads the 64-bit register at `offset`.
    pub fn read64(&self, offset: usize) -> Result<u64> {
        self.read(offset)
    }

    /// Writes the 64-bit register at `offset`.
    pub fn write64(&self, offset: usize, value: u64) -> Result<()> {
        self.write(offset, value)
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

/// Checks a `T`-sized register access at `offset` of a `len`-byte window:
/// aligned (`EINVAL`) and inside, without overflow (`ERANGE`).
fn check_access<T>(offset: usize, len: usize) -> Result<()> {
    if offset % size_of::<T>() != 0 {
        return Err(Error::new("MMIO register alignment", libc::EINVAL));
    }
    check_range("MMIO register offset", offset, size_of::<T>(), len).map(|_| ())
}

impl Drop for Mmio {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly what mmap returned.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `Mmio` over `len` bytes of anonymous memory instead of a BAR.
    fn anon_window(len: usize) -> Mmio {
        // SAFETY: A fresh anonymous mapping; checked below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(ptr, libc::MAP_FAILED);
        Mmio {
            ptr: NonNull::new(ptr.cast()).unwrap(),
            len,
        }
    }

    #[test]
    fn access_bounds_and_alignment() {
        assert_eq!(check_access::<u32>(0, 8), Ok(()));
        assert_eq!(check_access::<u32>(4, 8), Ok(()));
        assert_eq!(check_access::<u64>(0, 8), Ok(()));
        let range = Err(Error::new("MMIO register offset", libc::ERANGE));
        assert_eq!(check_access::<u32>(8, 8), range);
        assert_eq!(check_access::<u64>(8, 12), range);
        // Aligned offsets whose end wraps around.
        assert_eq!(check_access::<u32>(usize::MAX - 3, 8), range);
        assert_eq!(check_access::<u64>(usize::MAX - 7, 16), range);
        let align = Err(Error::new("MMIO register alignment", libc::EINVAL));
        assert_eq!(check_access::<u32>(2, 8), align);
        assert_eq!(check_access::<u64>(4, 16), align);
    }

    #[test]
    fn registers_in_range_work_and_the_rest_are_errors() {
        let page = crate::buffers::page_size();
        let regs = anon_window(page);
        regs.write32(4, 0x1234_5678).unwrap();
        assert_eq!(regs.read32(4), Ok(0x1234_5678));
        regs.write64(page - 8, u64::MAX).unwrap();
        assert_eq!(regs.read64(page - 8), Ok(u64::MAX));
        assert_eq!(regs.read32(page).unwrap_err().errno, libc::ERANGE);
        assert_eq!(regs.write64(page, 1).unwrap_err().errno, libc::ERANGE);
        assert_eq!(regs.read64(usize::MAX - 7).unwrap_err().errno, libc::ERANGE);
        assert_eq!(
            regs.write32(usize::MAX - 3, 0).unwrap_err().errno,
            libc::ERANGE
        );
        assert_eq!(regs.read32(1).unwrap_err().errno, libc::EINVAL);
    }
}
