// SPDX-License-Identifier: MIT OR Apache-2.0

//! dma-buf exporters to import from: the system DMA heap (`dma-heap` crate) and
//! udmabuf (memfd pages, from `/dev/udmabuf`), and CPU access through mmap.

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};

use dma_heap::{Heap, HeapKind};

use crate::error::{Error, Result};

/// Allocates `size` bytes from the system heap (`/dev/dma_heap/system`), which
/// hands out large page chunks (orders 8, 4, 0) where it can.
pub fn system_heap(size: usize) -> Result<OwnedFd> {
    let heap =
        Heap::new(HeapKind::System).map_err(|e| Error::from_io("open /dev/dma_heap/system", &e))?;
    heap.allocate(size)
        .map_err(|e| Error::from_io("DMA_HEAP_IOCTL_ALLOC", &e))
}

#[repr(C)]
struct UdmabufCreate {
    memfd: u32,
    flags: u32,
    offset: u64,
    size: u64,
}
/// `_IOW('u', 0x42, struct udmabuf_create)` of `<linux/udmabuf.h>`.
const UDMABUF_CREATE: u32 =
    (1 << 30) | ((size_of::<UdmabufCreate>() as u32) << 16) | ((b'u' as u32) << 8) | 0x42;
const UDMABUF_FLAGS_CLOEXEC: u32 = 1;

/// A memfd of `size` bytes (no pages allocated yet), sealable.
pub fn memfd(name: &str, size: usize) -> Result<File> {
    let cname = CString::new(name).expect("no NUL in name");
    // SAFETY: `cname` is a valid C string.
    let fd =
        unsafe { libc::memfd_create(cname.as_ptr(), libc::MFD_ALLOW_SEALING | libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(Error::last("memfd_create"));
    }
    // SAFETY: `fd` is a new descriptor we own.
    let file = unsafe { File::from_raw_fd(fd) };
    file.set_len(size as u64)
        .map_err(|e| Error::from_io("ftruncate memfd", &e))?;
    Ok(file)
}

/// Writes one byte into every page of `file` from `first_page` on, every
/// `stride` pages, so the page cache allocates those pages now.
fn fault_in(file: &File, size: usize, first_page: usize, stride: usize) -> Result<()> {
    use std::os::unix::fs::FileExt;
    let page = page_size();
    let mut p = first_page;
    while p * page < size {
        file.write_at(&[0], (p * page) as u64)
            .map_err(|e| Error::from_io("write memfd", &e))?;
        p += stride;
    }
    Ok(())
}

/// Creates a `size`-byte udmabuf backed by memfd pages. With `scattered`, the
/// pages are allocated interleaved with those of a second, discarded memfd, so
/// that hardly any two neighbours are physically contiguous.
pub fn udmabuf(size: usize, scattered: bool) -> Result<OwnedFd> {
    udmabuf_with_memfd(size, scattered).map(|(buf, _)| buf)
}

/// Like [`udmabuf`], and also returns the memfd whose pages back it: the CPU
/// reads and writes the buffer through the memfd (udmabuf's own
/// `DMA_BUF_IOCTL_SYNC` syncs only udmabuf's private mapping; under forced
/// bouncing it even copies that mapping's stale bounce buffer over the pages).
pub fn udmabuf_with_memfd(size: usize, scattered: bool) -> Result<(OwnedFd, File)> {
    let mem = memfd("uio-dmabuf", size)?;
    if scattered {
        let other = memfd("uio-dmabuf-interleave", size)?;
        let pages = size.div_ceil(page_size());
        for p in 0..pages {
            fault_in(&mem, size, p, pages)?;
            fault_in(&other, size, p, pages)?;
        }
    }
    // udmabuf requires the memfd to be sealed against shrinking.
    // SAFETY: Plain fcntl on our own descriptor.
    if unsafe { libc::fcntl(mem.as_raw_fd(), libc::F_ADD_SEALS, libc::F_SEAL_SHRINK) } < 0 {
        return Err(Error::last("F_ADD_SEALS"));
    }
    let dev = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/udmabuf")
        .map_err(|e| Error::from_io("open /dev/udmabuf", &e))?;
    let mut args = UdmabufCreate {
        memfd: mem.as_raw_fd() as u32,
        flags: UDMABUF_FLAGS_CLOEXEC,
        offset: 0,
        size: size as u64,
    };
    // SAFETY: `args` is the struct UDMABUF_CREATE encodes.
    let fd = unsafe { libc::ioctl(dev.as_raw_fd(), UDMABUF_CREATE as _, &mut args) };
    if fd < 0 {
        return Err(Error::last("UDMABUF_CREATE"));
    }
    // SAFETY: UDMABUF_CREATE returned a new dma-buf descriptor that we own.
    Ok((unsafe { OwnedFd::from_raw_fd(fd) }, mem))
}

/// The system's page size.
pub fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
}

/// The size of the dma-buf behind `fd` (dma-buf files report it via lseek).
pub fn dmabuf_size(fd: impl AsFd) -> Result<usize> {
    // SAFETY: lseek on a descriptor we borrow.
    let end = unsafe { libc::lseek(fd.as_fd().as_raw_fd(), 0, libc::SEEK_END) };
    if end < 0 {
        return Err(Error::last("lseek dma-buf"));
    }
    Ok(end as usize)
}
