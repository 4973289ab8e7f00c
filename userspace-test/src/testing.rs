// SPDX-License-Identifier: MIT OR Apache-2.0

//! Small OS fixtures the guest tests and the fuzzer share: pipes, eventfds and
//! anonymous mappings with chosen protections (bogus fds and bad user pointers
//! to hand the driver).

use std::os::fd::{FromRawFd, OwnedFd};
use std::ptr::NonNull;

use crate::error::{check_range, Error, Result};

/// A pipe: (read end, write end), close-on-exec.
pub fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(Error::last("pipe2"));
    }
    // SAFETY: Two new descriptors we own.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// An eventfd, close-on-exec.
pub fn eventfd() -> Result<OwnedFd> {
    // SAFETY: Plain syscall.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
    if fd < 0 {
        return Err(Error::last("eventfd"));
    }
    // SAFETY: A new descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// An anonymous mapping; unmapped on drop.
#[derive(Debug)]
pub struct AnonMap {
    ptr: NonNull<u8>,
    len: usize,
}

impl AnonMap {
    /// Maps `len` bytes with protection `prot` (`libc::PROT_*`).
    pub fn new(len: usize, prot: i32) -> Result<Self> {
        Self::map(len, prot, libc::MAP_PRIVATE)
    }

    /// Maps `len` zeroed read-write bytes that forked children share with
    /// their parent (`MAP_SHARED`), e.g. for counters.
    pub fn shared(len: usize) -> Result<Self> {
        Self::map(len, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED)
    }

    fn map(len: usize, prot: i32, sharing: i32) -> Result<Self> {
        // SAFETY: A fresh anonymous mapping; checked below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                prot,
                sharing | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(Error::last("mmap"));
        }
        Ok(Self {
            ptr: NonNull::new(ptr.cast()).expect("mmap never returns NULL on success"),
            len,
        })
    }

    /// The start of the mapping.
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
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

impl Drop for AnonMap {
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
        let map = AnonMap::new(2 * page, libc::PROT_READ | libc::PROT_WRITE).unwrap();
        map.protect(page, page, libc::PROT_READ).unwrap();
        for (offset, len) in [(page, 2 * page), (2 * page, page), (usize::MAX, 2)] {
            assert_eq!(
                map.protect(offset, len, libc::PROT_READ),
                Err(Error::new("mprotect range", libc::ERANGE)),
                "offset {offset:#x} len {len:#x}"
            );
        }
    }
}
