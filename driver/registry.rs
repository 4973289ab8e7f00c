// SPDX-License-Identifier: GPL-2.0

//! The module-wide registry: devices bound to the driver (looked up by the
//! device number of their `/dev/uioN`) and open files of `/dev/uio-dmabuf`
//! (walked on unbind to revoke the device's imports).
//!
//! Lock order: registry lock, then a device's `open_inodes` lock (taken by
//! `DeviceState::is_uio_file` while the devices are searched); nothing else is
//! taken under the registry lock, and neither lock is held while calling into
//! an exporter.

use kernel::{
    fs::LocalFile,
    prelude::*,
    rbtree::RBTree,
    sync::Arc, //
};

use crate::{
    chrdev,
    device::DeviceState,
    file::OpenFile, //
};

/// Registered devices and open files.
pub(crate) struct Registry {
    devices: KVec<Arc<DeviceState>>,
    /// Open files by a registration number that is never reused, so a walk can
    /// resume after the last file it visited although files come and go.
    /// `None` until the first open (`RBTree::new` is not `const`).
    files: Option<RBTree<u64, Arc<OpenFile>>>,
    next_file: u64,
}

kernel::sync::global_lock! {
    // SAFETY: `init` runs in module init before the PCI driver and the misc
    // device, the only users, are registered.
    unsafe(uninit) static REGISTRY: Mutex<Registry> = Registry {
        devices: KVec::new(),
        files: None,
        next_file: 0,
    };
}

/// Initializes the registry lock.
///
/// # Safety
///
/// Must be called exactly once, in module init, before any other function here.
pub(crate) unsafe fn init() {
    // SAFETY: Called once before any use (the caller's contract).
    unsafe { REGISTRY.init() };
}

/// Frees the registry's memory at module unload.
///
/// The registry is a static, which is never dropped: without this its vectors
/// would leak on every unload.
pub(crate) fn clear() {
    let mut reg = REGISTRY.lock();
    reg.devices = KVec::new();
    reg.files = None;
}

/// Registers a newly bound device.
pub(crate) fn add_device(dev: Arc<DeviceState>) -> Result {
    REGISTRY.lock().devices.push(dev, GFP_KERNEL)?;
    Ok(())
}

/// Unregisters a device: from now on its `/dev/uioN` names no device.
pub(crate) fn remove_device(dev: &DeviceState) {
    REGISTRY
        .lock()
        .devices
        .retain(|d| !core::ptr::eq::<DeviceState>(&**d, dev));
}

/// The device whose `/dev/uioN` is open as `fd` in the calling process: `EBADF`
/// if `fd` is not open, `ENODEV` if it is not a UIO device of this driver.
pub(crate) fn device_for_uio_fd(fd: i32) -> Result<Arc<DeviceState>> {
    let fd = u32::try_from(fd).map_err(|_| EBADF)?;
    let file = LocalFile::fget(fd)?;
    let devt = chrdev::device_number(&file).ok_or(ENODEV)?;
    let inode = chrdev::inode(&file);
    REGISTRY
        .lock()
        .devices
        .iter()
        .find(|d| d.is_uio_file(devt, inode))
        .cloned()
        .ok_or(ENODEV)
}

/// A new registration number for an open file; numbers are never reused.
pub(crate) fn new_file_id() -> u64 {
    let mut reg = REGISTRY.lock();
    reg.next_file += 1;
    reg.next_file
}

/// Writes one line per registered device (debugfs `devices`).
pub(crate) fn show_devices(f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
    for dev in REGISTRY.lock().devices.iter() {
        dev.show(f)?;
        writeln!(f)?;
    }
    Ok(())
}

/// Registers an open file under its registration number `id`.
pub(crate) fn add_file(id: u64, file: Arc<OpenFile>) -> Result {
    let node = kernel::rbtree::RBTreeNodeReservation::new(GFP_KERNEL)?;
    let mut reg = REGISTRY.lock();
    reg.files
        .get_or_insert_with(RBTree::new)
        .insert(node.into_node(id, file));
    Ok(())
}

/// Unregisters the open file registered as `id`.
pub(crate) fn remove_file(id: u64) {
    if let Some(files) = REGISTRY.lock().files.as_mut() {
        files.remove(&id);
    }
}

/// Calls `f` on every file that is open for the whole walk (files opened or
/// closed meanwhile may or may not be visited). The registry lock is not held
/// during `f`.
pub(crate) fn for_each_file(mut f: impl FnMut(&OpenFile)) {
    let mut from = 0u64;
    loop {
        let file = {
            let reg = REGISTRY.lock();
            let Some(cursor) = reg.files.as_ref().and_then(|t| t.cursor_lower_bound(&from)) else {
                return;
            };
            let (id, file) = cursor.current();
            from = *id + 1;
            file.clone()
        };
        f(&file);
    }
}
