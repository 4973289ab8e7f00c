// SPDX-License-Identifier: GPL-2.0

//! The device number behind an open file.

use kernel::fs::LocalFile;

use crate::bindings;

/// The device number (`dev_t`) of the character device `file` is open on, or
/// `None` if it is not a character device.
pub(crate) fn device_number(file: &LocalFile) -> Option<u32> {
    // SAFETY: `file` is a valid, open file (the reference keeps it alive), and
    // its inode lives as long as the file.
    let devt = unsafe { bindings::uio_dmabuf_helper_file_rdev(file.as_ptr()) };
    (devt != 0).then_some(devt)
}
