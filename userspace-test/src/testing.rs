// SPDX-License-Identifier: MIT OR Apache-2.0

//! Small OS fixtures the guest tests and the fuzzer share: pipes and eventfds
//! (bogus fds to hand the driver); mappings with chosen protections, for bad
//! user pointers, are [`crate::mmap::Mapping`]s.

use crate::error::{Error, Result};
use std::os::fd::{FromRawFd, OwnedFd};

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
