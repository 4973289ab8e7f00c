// SPDX-License-Identifier: GPL-2.0

//! The module-wide registry: devices bound to the driver (looked up by the
//! device number of their `/dev/uioN`) and files of `/dev/uio-dmabuf`, open
//! ones and orphans of dead processes (walked on unbind to revoke the device's
//! imports, and when a device's last `/dev/uioN` closes to release the
//! orphans' imports of it).
//!
//! Nothing else is taken under the registry lock, and it is never held while
//! calling into an exporter.

use kernel::{
    fs::{
        file::flags::{
            O_ACCMODE,
            O_RDWR,
            O_WRONLY, //
        },
        LocalFile,
    },
    prelude::*,
    rbtree::RBTree,
    sync::Arc, //
};

use crate::{
    file::OpenFile,
    state::DeviceState, //
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

/// A bound device's entry in the registry: while it stands, its `/dev/uioN`
/// files name it in INFO and IMPORT. Withdrawn on drop.
pub(crate) struct Listing {
    dev: Arc<DeviceState>,
}

impl Listing {
    /// Lists `dev`, whose UIO device is registered.
    pub(crate) fn new(dev: Arc<DeviceState>) -> Result<Self> {
        REGISTRY.lock().devices.push(dev.clone(), GFP_KERNEL)?;
        Ok(Self { dev })
    }

    /// Withdraws the entry now (unbind's first step); dropping it later does
    /// nothing more.
    pub(crate) fn withdraw(&self) {
        REGISTRY
            .lock()
            .devices
            .retain(|d| !Arc::ptr_eq(d, &self.dev));
    }
}

impl Drop for Listing {
    fn drop(&mut self) {
        self.withdraw();
    }
}

/// What a caller wants to do with a device through its `/dev/uioN` fd.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    /// Ask about it (INFO): any open file of `/dev/uioN` will do.
    Read,
    /// Make DMA mappings for it (IMPORT): programming DMA is writing to the
    /// device, so the file must be open for writing.
    Write,
}

/// The device whose `/dev/uioN` is open as `fd` in the calling process:
/// `EBADF` if `fd` is not open (an `O_PATH` fd opens nothing) or, for
/// [`Access::Write`], not open for writing; `ENODEV` if it is not a file of a
/// UIO device of this driver opened on its current registration.
pub(crate) fn device_for_uio_fd(fd: i32, access: Access) -> Result<Arc<DeviceState>> {
    let fd = u32::try_from(fd).map_err(|_| EBADF)?;
    let file = LocalFile::fget(fd)?;
    let dev = REGISTRY
        .lock()
        .devices
        .iter()
        .find(|d| d.is_open_file(&file))
        .cloned()
        .ok_or(ENODEV)?;
    // The access mode is fixed at open; mode 3 (ioctl only) grants neither
    // reading nor writing.
    if access == Access::Write && !matches!(file.flags() & O_ACCMODE, O_WRONLY | O_RDWR) {
        return Err(EBADF);
    }
    Ok(dev)
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

/// Registers a newly opened file under its registration number `id`.
pub(crate) fn add_file(id: u64, file: Arc<OpenFile>) -> Result {
    let node = kernel::rbtree::RBTreeNodeReservation::new(GFP_KERNEL)?;
    let mut reg = REGISTRY.lock();
    reg.files
        .get_or_insert_with(RBTree::new)
        .insert(node.into_node(id, file));
    Ok(())
}

/// Unregisters the file registered as `id`: closed by a live process, or an
/// orphan with no import left (nothing happens if it is gone already).
pub(crate) fn remove_file(id: u64) {
    let removed = REGISTRY
        .lock()
        .files
        .as_mut()
        .and_then(|files| files.remove(&id));
    // Dropped after the lock: it may be the file's last reference.
    drop(removed);
}

/// Calls `f` on every file registered for the whole walk, open or orphan
/// (files registered or unregistered meanwhile may or may not be visited). The
/// registry lock is not held during `f`.
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
