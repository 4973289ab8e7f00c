// SPDX-License-Identifier: GPL-2.0

//! Identity of an open character-device file: its device number and inode.

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

/// Identity of an inode: compared, never dereferenced.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct InodeId(usize);

impl InodeId {
    /// The identity of the inode at `inode`.
    pub(crate) fn from_ptr(inode: *const bindings::inode) -> Self {
        Self(inode as usize)
    }
}

/// The inode `file` is open on.
pub(crate) fn inode(file: &LocalFile) -> InodeId {
    // SAFETY: `file` is a valid, open file; `f_inode` is set at open and never
    // changes.
    InodeId::from_ptr(unsafe { (*file.as_ptr()).f_inode })
}
