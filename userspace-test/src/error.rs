// SPDX-License-Identifier: MIT OR Apache-2.0

//! Errors: what was attempted and the errno the kernel returned.

use std::fmt;
use std::io;

/// A failed operation and its errno.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// What was attempted, e.g. `"UIO_DMABUF_IOC_IMPORT"`.
    pub op: &'static str,
    /// The errno (positive), e.g. `libc::EINVAL`.
    pub errno: i32,
}

impl Error {
    /// An error for `op` with `errno`.
    pub fn new(op: &'static str, errno: i32) -> Self {
        Self { op, errno }
    }

    /// The calling thread's `errno` after `op` failed.
    pub fn last(op: &'static str) -> Self {
        Self::new(
            op,
            io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO),
        )
    }

    /// From an `io::Error` (`EIO` if it carries no errno).
    pub fn from_io(op: &'static str, e: &io::Error) -> Self {
        Self::new(op, e.raw_os_error().unwrap_or(libc::EIO))
    }

    /// The errno's symbolic name, e.g. `"EINVAL"`.
    pub fn errno_name(&self) -> &'static str {
        errno_name(self.errno)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} ({})",
            self.op,
            self.errno_name(),
            io::Error::from_raw_os_error(self.errno)
        )
    }
}

impl std::error::Error for Error {}

impl From<Error> for io::Error {
    fn from(e: Error) -> Self {
        io::Error::from_raw_os_error(e.errno)
    }
}

/// Results of this library.
pub type Result<T> = std::result::Result<T, Error>;

/// Checks that `[offset, offset + len)` lies inside `[0, limit)` without
/// overflowing; returns the end. Fails with `ERANGE` for `op` otherwise.
pub fn check_range(op: &'static str, offset: usize, len: usize, limit: usize) -> Result<usize> {
    match offset.checked_add(len) {
        Some(end) if end <= limit => Ok(end),
        _ => Err(Error::new(op, libc::ERANGE)),
    }
}

/// The symbolic name of the errnos the driver documents.
pub fn errno_name(errno: i32) -> &'static str {
    match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EIO => "EIO",
        libc::E2BIG => "E2BIG",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::ENODEV => "ENODEV",
        libc::EINVAL => "EINVAL",
        libc::ENOTTY => "ENOTTY",
        libc::ENOSPC => "ENOSPC",
        libc::ERANGE => "ERANGE",
        libc::EDQUOT => "EDQUOT",
        _ => "E?",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_op_and_errno() {
        let e = Error::new("UIO_DMABUF_IOC_IMPORT", libc::ENODEV);
        let text = e.to_string();
        assert!(
            text.starts_with("UIO_DMABUF_IOC_IMPORT: ENODEV ("),
            "{text}"
        );
        assert_eq!(io::Error::from(e).raw_os_error(), Some(libc::ENODEV));
    }

    #[test]
    fn ranges_are_checked_without_overflow() {
        assert_eq!(check_range("r", 0, 4, 4), Ok(4));
        assert_eq!(check_range("r", 4, 0, 4), Ok(4));
        assert_eq!(
            check_range("r", 1, 4, 4),
            Err(Error::new("r", libc::ERANGE))
        );
        assert_eq!(
            check_range("r", 5, 0, 4),
            Err(Error::new("r", libc::ERANGE))
        );
        // offset + len would wrap around to a small value.
        assert_eq!(
            check_range("r", usize::MAX, 2, 4),
            Err(Error::new("r", libc::ERANGE))
        );
        assert_eq!(
            check_range("r", 2, usize::MAX, 4),
            Err(Error::new("r", libc::ERANGE))
        );
    }

    #[test]
    fn unknown_errno_has_a_placeholder_name() {
        assert_eq!(errno_name(12345), "E?");
        assert_eq!(errno_name(libc::EDQUOT), "EDQUOT");
    }
}
