// SPDX-License-Identifier: GPL-2.0

//! State of one bound PCI device shared by the PCI driver, open files and
//! imports, and the protocol that makes unbind safe with imports alive.
//!
//! Unbind (see [`crate::pci_driver`]) runs [`DeviceState::shut_down`] in three steps:
//!  1. no new users: `bound` is cleared, so [`DeviceState::begin_use`] fails with
//!     `ENODEV`, then it waits for the current users (IMPORTs in flight) to finish,
//!     each having either inserted its import into a file's table or dropped it;
//!  2. the caller revokes every import of the device found in the open files;
//!  3. it waits until the device has no DMA mapping left, which also covers
//!     mappings being dropped right now by a concurrent RELEASE or close.
//! After that no mapping of the device exists and none can be created.

use kernel::{
    device::{
        self,
        Bound, //
    },
    new_condvar,
    new_mutex,
    pci,
    prelude::*,
    sync::{
        aref::ARef,
        Arc,
        CondVar,
        Mutex,
        SetOnce, //
    },
};

use crate::{
    chrdev::InodeId,
    pci_ext::DmaInfo, //
};

/// Lifecycle counters, under [`DeviceState::life`].
struct Life {
    /// Still bound to the driver: new users are admitted.
    bound: bool,
    /// Live [`DeviceUse`] guards.
    users: u32,
    /// Live DMA mappings ([`MappedToken`]s).
    mapped: u32,
}

/// One device bound to the driver.
#[pin_data]
pub(crate) struct DeviceState {
    pdev: ARef<pci::Device>,
    /// The device number of `/dev/uioN`, once the UIO device is registered.
    devt: SetOnce<u32>,
    dma: DmaInfo,
    /// Inodes through which `/dev/uioN` of this registration is open, with
    /// open counts: an fd is a capability for this device only if it was
    /// opened through one of them (a stale fd from before an unbind/rebind that
    /// reused the device number is not).
    #[pin]
    open_inodes: Mutex<KVec<(InodeId, u32)>>,
    #[pin]
    life: Mutex<Life>,
    #[pin]
    changed: CondVar,
}

impl DeviceState {
    /// State for `pdev`, whose DMA parameters are `dma`.
    pub(crate) fn new(pdev: &pci::Device<Bound>, dma: DmaInfo) -> Result<Arc<Self>> {
        Arc::pin_init(
            try_pin_init!(Self {
                pdev: pdev.into(),
                devt: SetOnce::new(),
                dma,
                open_inodes <- new_mutex!(KVec::new()),
                life <- new_mutex!(Life { bound: true, users: 0, mapped: 0 }),
                changed <- new_condvar!(),
            }),
            GFP_KERNEL,
        )
    }

    /// Records the device number of the device's `/dev/uioN`.
    pub(crate) fn set_devt(&self, devt: u32) {
        self.devt.populate(devt);
    }

    /// Whether `devt` and `inode` are those of an open `/dev/uioN` of this
    /// device.
    pub(crate) fn is_uio_file(&self, devt: u32, inode: InodeId) -> bool {
        self.devt.copy() == Some(devt) && self.open_inodes.lock().iter().any(|(i, _)| *i == inode)
    }

    /// `/dev/uioN` was opened through `inode`.
    pub(crate) fn uio_opened(&self, inode: InodeId) -> Result {
        let mut inodes = self.open_inodes.lock();
        match inodes.iter_mut().find(|(i, _)| *i == inode) {
            Some((_, count)) => *count += 1,
            None => inodes.push((inode, 1), GFP_KERNEL)?,
        }
        Ok(())
    }

    /// A file of `/dev/uioN` opened through `inode` was closed.
    pub(crate) fn uio_closed(&self, inode: InodeId) {
        let mut inodes = self.open_inodes.lock();
        for (i, count) in inodes.iter_mut() {
            if *i == inode {
                *count -= 1;
            }
        }
        inodes.retain(|(_, count)| *count > 0);
    }

    /// What the device can address.
    pub(crate) fn dma(&self) -> DmaInfo {
        self.dma
    }

    /// Admits a user that may create DMA mappings: `ENODEV` once unbind began.
    pub(crate) fn begin_use(self: &Arc<Self>) -> Result<DeviceUse> {
        let mut life = self.life.lock();
        if !life.bound {
            return Err(ENODEV);
        }
        life.users += 1;
        Ok(DeviceUse { dev: self.clone() })
    }

    /// Steps 1 of unbind (module docs): refuses new users and waits for the
    /// current ones.
    pub(crate) fn stop_users(&self) {
        let mut life = self.life.lock();
        life.bound = false;
        while life.users > 0 {
            self.changed.wait(&mut life);
        }
    }

    /// Step 3 of unbind: waits until no mapping of the device is left.
    pub(crate) fn wait_unmapped(&self) {
        let mut life = self.life.lock();
        while life.mapped > 0 {
            self.changed.wait(&mut life);
        }
    }
}

/// A user of a bound device; the device stays bound while it lives.
///
/// # Invariants
///
/// `dev.life.users` counts this guard, and `dev.life.bound` was true when it was
/// created, so unbind is waiting in [`DeviceState::stop_users`] (or not begun).
pub(crate) struct DeviceUse {
    dev: Arc<DeviceState>,
}

impl DeviceUse {
    /// The device, proven bound.
    pub(crate) fn bound(&self) -> &device::Device<Bound> {
        let dev: &device::Device = self.dev.pdev.as_ref();
        // SAFETY: By the type invariant unbind has not got past `stop_users`,
        // which waits for this guard, so the device is bound for as long as the
        // returned reference (borrowing the guard) lives.
        unsafe { dev.as_bound() }
    }

    /// The device's state.
    pub(crate) fn state(&self) -> &Arc<DeviceState> {
        &self.dev
    }

    /// Accounts one new DMA mapping of the device, until the token drops.
    pub(crate) fn mapping_token(&self) -> MappedToken {
        self.dev.life.lock().mapped += 1;
        MappedToken { dev: self.dev.clone() }
    }
}

impl Drop for DeviceUse {
    fn drop(&mut self) {
        let mut life = self.dev.life.lock();
        life.users -= 1;
        if life.users == 0 {
            self.dev.changed.notify_all();
        }
    }
}

/// Accounts one DMA mapping of a device; drop it after the mapping is gone.
pub(crate) struct MappedToken {
    dev: Arc<DeviceState>,
}

impl Drop for MappedToken {
    fn drop(&mut self) {
        let mut life = self.dev.life.lock();
        life.mapped -= 1;
        if life.mapped == 0 {
            self.dev.changed.notify_all();
        }
    }
}
