// SPDX-License-Identifier: GPL-2.0

//! What the driver needs to know about the calling task that the kernel crate
//! does not tell.

use crate::bindings;

/// Whether the calling task is exiting (`do_exit` is closing its files) or is
/// a kernel thread (dropping a file's last reference on behalf of nobody, e.g.
/// a deferred `fput`): a file released here was not closed by a live process
/// on purpose.
pub(crate) fn current_is_exiting() -> bool {
    // SAFETY: Reads the flags of `current`, which is always valid.
    unsafe { bindings::uio_dmabuf_helper_current_exiting() }
}
