// SPDX-License-Identifier: MIT OR Apache-2.0

//! Memory mappings owned as values: anonymous ones with chosen protections
//! (bad user pointers for the tests and the fuzzer, counters shared with forked
//! children) and read-only views of files (a dma-buf or memfd read by the CPU
//! without the exporter's sync). Unmapped on drop.

use std::os::fd::{AsRawFd, RawFd};
use std::ptr::NonNull;

use crate::error::{check_range, Error, Result};

/// A mapping made by `mmap`; unmapped on drop.
#[derive(Debug)]
pub struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

impl Mapping {
    /// Maps `len` private anonymous bytes with protection `prot`
    /// (`libc::PROT_*`).
    pub fn anonymous(len: usize, prot: i32) -> Result<Self> {
        Self::map(len, prot, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1)
    }

    /// Maps `len` zeroed read-write bytes that forked children share with
    /// their parent (`MAP_SHARED`), e.g. for counters.
    pub fn shared_anonymous(len: usize) -> Result<Self> {
        Self::map(
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS,
            -1,
        )
    }

    /// Maps the first `len` bytes of file `fd` shared and read-write.
    pub fn file_shared(fd: &impl AsRawFd, len: usize) -> Result<Self> {
        Self::map(
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            fd.as_raw_fd(),
        )
    }

    /// Maps the first `len` bytes of file `fd` shared and read-only.
    pub fn file_read_only(fd: &impl AsRawFd, len: usize) -> Result<Self> {
        Self::map(len, libc::PROT_READ, libc::MAP_SHARED, fd.as_raw_fd())
    }

    fn map(len: usize, prot: i32, flags: i32, fd: RawFd) -> Result<Self> {
        if len == 0 {
            return Err(Error::new("mmap of 0 bytes", libc::EINVAL));
        }
        // SAFETY: A fresh mapping at an address of the kernel's choosing;
        // checked below.
        let ptr = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, flags, fd, 0) };
        if ptr == libc::MAP_FAILED {
            return Err(Error::last("mmap"));
        }
        let ptr = NonNull::new(ptr.cast()).ok_or(Error::new("mmap returned NULL", libc::EFAULT))?;
        Ok(Self { ptr, len })
    }

    /// The start of the mapping.
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// The length of the mapping in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the mapping is empty (never: mappings have at least one byte).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The mapped bytes.
    ///
    /// # Safety
    ///
    /// The mapping must be readable, and nothing (another mapping, a device)
    /// may write the memory while the returned slice lives.
    pub unsafe fn bytes(&self) -> &[u8] {
        // SAFETY: `len` mapped bytes at `ptr`; the rest is the caller's contract.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// Changes the protection of `[offset, offset + len)` (page aligned);
    /// `ERANGE` if the range is not inside the mapping.
    pub fn protect(&self, offset: usize, len: usize, prot: i32) -> Result<()> {
        check_range("mprotect range", offset, len, self.len)?;
        // SAFETY: A range inside our mapping, checked above.
        if unsafe { libc::mprotect(self.ptr.as_ptr().add(offset).cast(), len, prot) } != 0 {
            return Err(Error::last("mprotect"));
        }
        Ok(())
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: Exactly what mmap returned.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protect_checks_the_range() {
        let page = crate::buffers::page_size();
        let map = Mapping::anonymous(2 * page, libc::PROT_READ | libc::PROT_WRITE).unwrap();
        map.protect(page, page, libc::PROT_READ).unwrap();
        for (offset, len) in [(page, 2 * page), (2 * page, page), (usize::MAX, 2)] {
            assert_eq!(
                map.protect(offset, len, libc::PROT_READ),
                Err(Error::new("mprotect range", libc::ERANGE)),
                "offset {offset:#x} len {len:#x}"
            );
        }
    }

    #[test]
    fn file_mapping_reads_the_file() {
        use std::io::Write;
        let mut f = tempfile_in_tmp();
        f.write_all(b"uio-dmabuf").unwrap();
        let map = Mapping::file_read_only(&f, 10).unwrap();
        // SAFETY: Nothing writes the file while the slice lives.
        assert_eq!(unsafe { map.bytes() }, b"uio-dmabuf");
        assert_eq!(
            Mapping::anonymous(0, libc::PROT_READ).unwrap_err(),
            Error::new("mmap of 0 bytes", libc::EINVAL)
        );
    }

    fn tempfile_in_tmp() -> std::fs::File {
        let path =
            std::env::temp_dir().join(format!("uio-dmabuf-mmap-test-{}", std::process::id()));
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        std::fs::remove_file(&path).unwrap();
        f
    }
}
