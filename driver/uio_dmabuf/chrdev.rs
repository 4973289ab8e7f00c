// SPDX-License-Identifier: GPL-2.0

//! Identity of an open character-device file: its device number, the UIO
//! device a `/dev/uioN` file was opened on, and its access mode.

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

/// The first member of the UIO core's per-file state, `struct uio_listener`
/// (private to `drivers/uio/uio.c`), which `uio_open` stores in the file's
/// `private_data` for the file's whole life: the UIO device the file was
/// opened on. The rest of the struct is never read.
#[repr(C)]
struct UioListenerHead {
    dev: *mut bindings::uio_device,
}

/// Identity of the `struct uio_device` that `file` was opened on, if `file` is
/// an open file of character device `uio_devt`, which must be the device
/// number of a UIO device: compared, never dereferenced.
///
/// An `O_PATH` file never gets here (`fget` refuses it); a file whose
/// operations are not its character device's (a driver replaced them at open)
/// gives `None`.
pub(crate) fn uio_device(file: &LocalFile, uio_devt: u32) -> Option<usize> {
    if device_number(file)? != uio_devt {
        return None;
    }
    let ptr = file.as_ptr();
    // SAFETY: `file` is a valid, open file; these read fields set at open.
    let (ops, cdev_ops) = unsafe {
        (
            bindings::uio_dmabuf_helper_file_ops(ptr),
            bindings::uio_dmabuf_helper_file_cdev_ops(ptr),
        )
    };
    if cdev_ops.is_null() || ops != cdev_ops {
        return None;
    }
    // SAFETY: The file is open on device number `uio_devt`, which belongs to
    // the UIO core (the caller's contract), through the operations of its
    // character device, i.e. UIO's: `uio_open` succeeded for it and stored a
    // `struct uio_listener`, whose first member is the device, in
    // `private_data`, where it stays until the file is released (after our
    // reference to it is gone).
    let listener =
        unsafe { bindings::uio_dmabuf_helper_file_private(ptr) }.cast::<UioListenerHead>();
    if listener.is_null() {
        return None;
    }
    // SAFETY: As above: `listener` points to a live `struct uio_listener`.
    Some(unsafe { (*listener).dev } as usize)
}

/// Whether `file` is open for writing.
pub(crate) fn writable(file: &LocalFile) -> bool {
    // SAFETY: `file` is a valid, open file; `f_mode` is set at open.
    unsafe { bindings::uio_dmabuf_helper_file_writable(file.as_ptr()) }
}
