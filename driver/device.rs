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
    new_condvar, new_mutex, pci,
    prelude::*,
    rbtree::{
        Entry,
        RBTree,
        RBTreeNodeReservation, //
    },
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
    dma_buf::DmaBuf,
    pci_ext::DmaInfo,
    stats::DeviceCounters, //
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
    /// Mappings alive on the device (debugfs).
    counters: DeviceCounters,
    /// The dma-bufs imported for this device (by identity): each at most once,
    /// see [`DeviceUse::claim_buffer`].
    #[pin]
    buffers: Mutex<RBTree<usize, ()>>,
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
                counters: DeviceCounters::new(),
                buffers <- new_mutex!(RBTree::new()),
                life <- new_mutex!(Life { bound: true, users: 0, mapped: 0 }),
                changed <- new_condvar!(),
            }),
            GFP_KERNEL,
        )
    }

    /// `PCI-address devt imports N bytes N` (debugfs `devices`).
    pub(crate) fn show(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let devt = self.devt.copy().unwrap_or(0);
        // The dev_t layout of MAJOR()/MINOR(): 12 bits of major above 20 of minor.
        let name = self.pdev.as_ref().name().to_str().unwrap_or("?");
        write!(f, "{name} {}:{} ", devt >> 20, devt & 0xfffff)?;
        self.counters.show(f)
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

    /// Claims dma-buf `buf` for this device until the claim drops: `EEXIST` if
    /// it is imported for the device already (by any open file).
    ///
    /// One mapping per buffer and device: without an IOMMU or bouncing, two
    /// mappings of the same pages for one device are indistinguishable (same
    /// DMA addresses), which makes their syncs ambiguous to the DMA API's debug
    /// accounting and wastes mappings; userspace shares the one handle instead.
    pub(crate) fn claim_buffer(&self, buf: &DmaBuf) -> Result<BufferClaim> {
        let id = buf.id();
        let node = RBTreeNodeReservation::new(GFP_KERNEL)?;
        match self.dev.buffers.lock().entry(id) {
            Entry::Occupied(_) => return Err(EEXIST),
            Entry::Vacant(slot) => slot.insert((), node),
        };
        Ok(BufferClaim {
            dev: self.dev.clone(),
            id,
            _buf: buf.new_reference(),
        })
    }

    /// Accounts one new DMA mapping of `bytes` on the device, until the token
    /// drops.
    pub(crate) fn mapping_token(&self, bytes: u64) -> MappedToken {
        self.dev.life.lock().mapped += 1;
        self.dev.counters.mapped(bytes);
        MappedToken {
            dev: self.dev.clone(),
            bytes,
        }
    }
}

impl Drop for DeviceUse {
    fn drop(&mut self) {
        let mut life = self.dev.life.lock();
        life.users -= 1;
        // Only unbind waits, and it clears `bound` under this lock first.
        if life.users == 0 && !life.bound {
            self.dev.changed.notify_all();
        }
    }
}

/// Accounts one DMA mapping of a device; drop it after the mapping is gone.
pub(crate) struct MappedToken {
    dev: Arc<DeviceState>,
    bytes: u64,
}

impl Drop for MappedToken {
    fn drop(&mut self) {
        self.dev.counters.unmapped(self.bytes);
        let mut life = self.dev.life.lock();
        life.mapped -= 1;
        if life.mapped == 0 && !life.bound {
            self.dev.changed.notify_all();
        }
    }
}

/// A dma-buf claimed for a device ([`DeviceUse::claim_buffer`]).
///
/// The claim holds its own reference to the dma-buf, dropped only after the
/// claim is withdrawn: the buffer's address, which is the claim's key, cannot
/// be reused by a new dma-buf while the claim stands (that new buffer would be
/// refused with a spurious `EEXIST`).
pub(crate) struct BufferClaim {
    dev: Arc<DeviceState>,
    id: usize,
    _buf: DmaBuf,
}

impl Drop for BufferClaim {
    fn drop(&mut self) {
        self.dev.buffers.lock().remove(&self.id);
    }
}
