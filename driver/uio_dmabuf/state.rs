// SPDX-License-Identifier: GPL-2.0

//! State of one bound device (PCI or platform) shared by its driver, its UIO
//! callbacks, open files and imports, and the protocols that keep its DMA safe.
//!
//! **DMA control.** What switches the device's DMA on and off happens under
//! [`DeviceState::control`], and none of it once unbind has shut it
//! ([`DeviceState::shut_control`]). For a PCI device that is every
//! read-modify-write of `PCI_COMMAND` (bus mastering, INTx masking): a
//! concurrent irqcontrol cannot write bus mastering back after unbind cleared
//! it; bus mastering is on exactly while some file of the device's
//! `/dev/uioN` is open (as `uio_pci_generic` clears it when its files close),
//! so a device nobody holds cannot DMA. A platform device has no such switch:
//! the same protocol runs with nothing to switch (see
//! [`crate::platform_driver`] for what that leaves to userspace).
//!
//! **Mappings** are admitted one [`MappingSlot`] at a time
//! ([`DeviceState::reserve_mapping`]): the slot claims the dma-buf for the
//! device, counts against the device's limits and keeps the device bound until
//! it drops, after the mapping is gone. An IMPORT in flight holds a slot; it
//! puts its import into its file's table only while the device still admits
//! mappings ([`DeviceState::admits_mappings`], read under the table's lock).
//!
//! **Unbind** (see [`crate::pci_driver`], [`crate::platform_driver`]) then runs
//! in three steps:
//!  1. no new mappings: `admitting` is cleared, so [`DeviceState::reserve_mapping`]
//!     fails with `ENODEV`, and an IMPORT in flight that locks its table after
//!     step 2 did fails with `ENODEV` and drops its import;
//!  2. the caller revokes every import of the device found in the open files.
//!     An IMPORT in flight either put its import into its table before step 2
//!     locked that table, and step 2 finds it there, or locks the table after
//!     step 2 did and then sees step 1 (the table lock orders the two);
//!  3. it waits until the device has no mapping slot left: IMPORTs in flight have
//!     finished, and mappings being dropped right now by a concurrent RELEASE or
//!     close are gone.
//!
//! After that no mapping of the device exists and none can be created.

use kernel::{
    device::{
        self,
        Bound, //
    },
    dma::DeviceParams,
    dma_buf::DmaBuf,
    fs::LocalFile,
    new_condvar,
    new_mutex,
    prelude::*,
    rbtree::{
        Entry,
        RBTree,
        RBTreeNodeReservation, //
    },
    sync::{
        aref::ARef,
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        CondVar,
        Mutex,
        SetOnce, //
    },
    uio, //
};

use crate::{
    handles::Limits,
    module_parameters,
    registry,
    stats::DeviceCounters, //
};

/// What the DMA API says a device can address.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DmaInfo {
    /// The streaming DMA mask.
    pub(crate) mask: u64,
    /// The maximum length of one DMA segment.
    pub(crate) max_segment_size: u32,
    /// Whether an IOMMU translates the device's DMA (addresses are IOVAs).
    pub(crate) translated: bool,
    /// Whether the device's DMA is cache-coherent; if not, SYNC does the cache
    /// maintenance the CPU and the device need between them.
    pub(crate) coherent: bool,
    /// Some RAM lies beyond the mask and nothing is sure to bounce it for the
    /// device: imports are refused (see [`DmaInfo::read`]).
    pub(crate) unreachable_memory: bool,
}

impl DmaInfo {
    /// Reads the DMA parameters of `dev` (after probe has set them).
    ///
    /// Without an IOMMU, a device that cannot address all of memory
    /// (`dma_addressing_limited`) is served only where swiotlb bounces the pages
    /// beyond its mask. It does not for a mask below 32 bits: the swiotlb pool is
    /// only placed below 4 GiB, not below such a mask. Nor where swiotlb is not
    /// active for the device (`swiotlb=noforce`, or never set up): the DMA API then
    /// reports no mapping-size limit (`dma_max_mapping_size`). The DMA API answers
    /// an unreachable page with a kernel warning, so such a device is marked
    /// `unreachable_memory` and its imports are refused with `ERANGE` up front.
    pub(crate) fn read(dev: &device::Device<Bound>) -> Self {
        let params = DeviceParams::read(dev);
        let bounced = params.mask >= u64::from(u32::MAX) && params.max_mapping_size != usize::MAX;
        Self {
            mask: params.mask,
            max_segment_size: params.max_seg_size,
            translated: params.translated,
            coherent: params.coherent,
            unreachable_memory: !params.translated && params.addressing_limited && !bounced,
        }
    }
}

/// The device's mappings, under [`DeviceState::life`].
struct Life {
    /// Live [`MappingSlot`]s and the sizes of their dma-bufs.
    mapped: u32,
    bytes: u64,
    /// The dma-bufs the slots are for (by inode number, which no other dma-buf
    /// ever has): each at most once, see [`DeviceState::reserve_mapping`].
    buffers: RBTree<u64, ()>,
}

/// Who may switch the device's DMA, under [`DeviceState::control`].
pub(crate) struct Control {
    /// Unbind has begun: the device is unbind's alone.
    shut: bool,
    /// Open files of `/dev/uioN` (this registration's).
    uio_files: u32,
}

impl Control {
    /// Counts an open of `/dev/uioN`; true for the first (bus mastering goes on).
    fn opened(&mut self) -> bool {
        self.uio_files += 1;
        self.uio_files == 1
    }

    /// Counts a close of `/dev/uioN`; true for the last (bus mastering goes off).
    fn closed(&mut self) -> bool {
        self.uio_files = self.uio_files.saturating_sub(1);
        self.uio_files == 0
    }

    /// Whether some file of `/dev/uioN` is open, i.e. the device may be
    /// mastering the bus.
    pub(crate) fn in_use(&self) -> bool {
        self.uio_files > 0
    }
}

/// One device bound to the driver.
#[pin_data]
pub(crate) struct DeviceState {
    dev: ARef<device::Device>,
    /// The device number of `/dev/uioN`, once the UIO device is registered.
    devt: SetOnce<u32>,
    /// Identity of the UIO core's `struct uio_device` of that registration: a
    /// `/dev/uioN` file is a capability for this device only if it was opened
    /// on it (a file kept from before an unbind/rebind that reused the device
    /// number was opened on another).
    uio: SetOnce<usize>,
    dma: DmaInfo,
    /// Live imports and bytes allowed on the device, all files together.
    limits: Limits,
    /// Mappings alive on the device (debugfs).
    counters: DeviceCounters,
    /// Still bound to the driver: new mappings are admitted. Written under
    /// `life`, read under it or without it
    /// ([`DeviceState::admits_mappings`]).
    admitting: Atomic<bool>,
    #[pin]
    control: Mutex<Control>,
    #[pin]
    life: Mutex<Life>,
    #[pin]
    changed: CondVar,
}

impl DeviceState {
    /// State for `dev`, whose DMA parameters are `dma`, with per-device
    /// `limits`.
    pub(crate) fn new(
        dev: &device::Device<Bound>,
        dma: DmaInfo,
        limits: Limits,
    ) -> Result<Arc<Self>> {
        Arc::pin_init(
            try_pin_init!(Self {
                dev: dev.into(),
                devt: SetOnce::new(),
                uio: SetOnce::new(),
                dma,
                limits,
                counters: DeviceCounters::new(),
                admitting: Atomic::new(true),
                control <- new_mutex!(Control { shut: false, uio_files: 0 }),
                life <- new_mutex!(Life {
                    mapped: 0,
                    bytes: 0,
                    buffers: RBTree::new(),
                }),
                changed <- new_condvar!(),
            }),
            GFP_KERNEL,
        )
    }

    /// State for `dev`, just configured for DMA by its driver's probe: its DMA
    /// parameters as the DMA API reports them, with the longest segment
    /// reported capped by the `max_segment_size` parameter, and the per-device
    /// limits of the module parameters.
    pub(crate) fn for_bound(dev: &device::Device<Bound>) -> Result<Arc<Self>> {
        let mut dma = DmaInfo::read(dev);
        // The limit shapes the segments this driver reports, not the device's
        // DMA parameters: exporters map their own tables and do not split them
        // for an importer (the DMA API's debug checks would warn about every
        // longer entry), so the device keeps the widest setting and
        // `segments::collect` splits.
        let page = u32::try_from(kernel::page::PAGE_SIZE)?;
        dma.max_segment_size = dma
            .max_segment_size
            .min(module_parameters::max_segment_size.value().max(page));
        let limits = Limits {
            max_entries: module_parameters::max_device_imports.value(),
            max_bytes: module_parameters::max_device_mapped_bytes.value(),
        };
        Self::new(dev, dma, limits)
    }

    /// Unbinds the device (module docs): `stop_dma` (clearing bus mastering
    /// where the bus has it) runs first, with every later attempt to switch the
    /// device's DMA refused; then its `listing` is withdrawn, no new import is
    /// admitted, every import of it in every file is revoked, and this returns
    /// once no mapping of it is left.
    pub(crate) fn unbind(&self, listing: &registry::Listing, stop_dma: impl FnOnce()) {
        self.shut_control(stop_dma);
        listing.withdraw();
        self.stop_mappings();
        registry::for_each_file(|file| file.revoke_device(self));
        self.wait_unmapped();
    }

    /// `device-name devt imports N bytes N` (debugfs `devices`): the PCI
    /// address or the platform device's name.
    pub(crate) fn show(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let devt = self.devt.copy().unwrap_or(0);
        // The dev_t layout of MAJOR()/MINOR(): 12 bits of major above 20 of minor.
        let name = self.dev.name().to_str().unwrap_or("?");
        write!(f, "{name} {}:{} ", devt >> 20, devt & 0xfffff)?;
        self.counters.show(f)
    }

    /// Records the device number and the identity of the device's registered
    /// UIO device.
    pub(crate) fn set_uio(&self, devt: u32, uio: usize) {
        self.devt.populate(devt);
        self.uio.populate(uio);
    }

    /// Whether `file` is a file of this device's `/dev/uioN` opened on its
    /// current registration (not one kept from before an unbind/rebind that
    /// reused the device number, which was opened on another).
    pub(crate) fn is_open_file(&self, file: &LocalFile) -> bool {
        let Some(devt) = self.devt.copy() else {
            return false;
        };
        uio::file_device(file, devt).is_some_and(|uio| self.uio.copy() == Some(uio))
    }

    /// What the device can address.
    pub(crate) fn dma(&self) -> DmaInfo {
        self.dma
    }

    /// Live imports and bytes allowed on the device.
    pub(crate) fn limits(&self) -> Limits {
        self.limits
    }

    /// Runs `f` with the DMA-control lock held: `ENODEV` once unbind has
    /// begun, without running `f`.
    pub(crate) fn control<R>(&self, f: impl FnOnce(&mut Control) -> R) -> Result<R> {
        let mut control = self.control.lock();
        if control.shut {
            return Err(ENODEV);
        }
        Ok(f(&mut control))
    }

    /// A file of `/dev/uioN` is being opened: `first` (which lets the device
    /// master the bus, or resumes it) runs for the first one, under the
    /// DMA-control lock, and its error fails the open, which then counts for
    /// nothing; `ENODEV` once unbind has begun.
    pub(crate) fn uio_opened(&self, first: impl FnOnce() -> Result) -> Result {
        self.control(|control| {
            if control.opened() {
                if let Err(e) = first() {
                    control.closed();
                    return Err(e);
                }
            }
            Ok(())
        })?
    }

    /// A file of `/dev/uioN` was closed: for the last one, `last` (which stops
    /// the device's DMA) runs, then the imports that processes which died left
    /// for the device are released (see [`crate::file`]), all under the
    /// DMA-control lock, so that no open lets the device master the bus again
    /// before they are gone. Nothing once unbind has begun: unbind stopped
    /// the device and revokes every import itself.
    pub(crate) fn uio_closed(&self, last: impl FnOnce()) {
        let _ = self.control(|control| {
            if control.closed() {
                last();
                registry::for_each_file(|file| file.release_orphans_of(self));
            }
        });
    }

    /// Unbind's first step: from now on [`DeviceState::control`] refuses; `f`
    /// (which stops the device's DMA where the bus can) runs under the lock,
    /// after every access that got in first.
    fn shut_control(&self, f: impl FnOnce()) {
        let mut control = self.control.lock();
        control.shut = true;
        f();
    }

    /// Reserves a mapping of dma-buf `buf` on the device until the slot drops,
    /// before the mapping is made: `ENODEV` once unbind has begun, `EEXIST` if
    /// `buf` is mapped for the device already (by any open file), `ENOSPC` if
    /// the device holds its limit of mappings, `EDQUOT` if `buf`'s size more
    /// would exceed its byte limit.
    ///
    /// One mapping per buffer and device: without an IOMMU or bouncing, two
    /// mappings of the same pages for one device are indistinguishable (same
    /// DMA addresses), which makes their syncs ambiguous to the DMA API's debug
    /// accounting and wastes mappings; userspace shares the one handle instead.
    pub(crate) fn reserve_mapping(self: &Arc<Self>, buf: &DmaBuf) -> Result<MappingSlot> {
        let bytes = u64::try_from(buf.size())?;
        let id = buf.inode_number();
        let node = RBTreeNodeReservation::new(GFP_KERNEL)?;
        let mut guard = self.life.lock();
        let life = &mut *guard;
        if !self.admitting.load(Relaxed) {
            return Err(ENODEV);
        }
        let Entry::Vacant(claim) = life.buffers.entry(id) else {
            return Err(EEXIST);
        };
        if life.mapped >= self.limits.max_entries {
            return Err(ENOSPC);
        }
        match life.bytes.checked_add(bytes) {
            Some(total) if total <= self.limits.max_bytes => life.bytes = total,
            _ => return Err(EDQUOT),
        }
        claim.insert((), node);
        life.mapped += 1;
        // INVARIANT: counted in `mapped` while `admitting`.
        Ok(MappingSlot {
            dev: self.clone(),
            id,
            bytes,
            counted: false,
        })
    }

    /// Whether the device still admits mappings (unbind has not begun):
    /// without a lock, for a caller that orders itself against unbind through
    /// another lock it shares with unbind's later steps (module docs).
    pub(crate) fn admits_mappings(&self) -> bool {
        self.admitting.load(Relaxed)
    }

    /// Step 1 of unbind (module docs): no new mappings.
    fn stop_mappings(&self) {
        let _life = self.life.lock();
        self.admitting.store(false, Relaxed);
    }

    /// Step 3 of unbind: waits until no mapping slot of the device is left.
    fn wait_unmapped(&self) {
        let mut life = self.life.lock();
        while life.mapped > 0 {
            self.changed.wait(&mut life);
        }
    }
}

/// One mapping of a dma-buf on a device, admitted by
/// [`DeviceState::reserve_mapping`]: its claim on the buffer and its share of
/// the device's limits. Drop it after the mapping is gone. The claim's key
/// is no other dma-buf's, so it may outlive the buffer.
///
/// # Invariants
///
/// `dev.life.mapped` counts this slot, and `dev.admitting` was true when it
/// was created, so unbind is waiting in [`DeviceState::wait_unmapped`] (or has
/// not got there).
pub(crate) struct MappingSlot {
    dev: Arc<DeviceState>,
    id: u64,
    bytes: u64,
    /// The mapping was made and is counted in debugfs.
    counted: bool,
}

impl MappingSlot {
    /// The device, proven bound.
    pub(crate) fn bound(&self) -> &device::Device<Bound> {
        let dev: &device::Device = &self.dev.dev;
        // SAFETY: By the type invariant unbind has not got past `wait_unmapped`,
        // which waits for this slot, so the device is bound for as long as the
        // returned reference (borrowing the slot) lives.
        unsafe { dev.as_bound() }
    }

    /// The mapping exists now: counts it in debugfs until the slot drops.
    pub(crate) fn mapped(&mut self) {
        self.dev.counters.mapped(self.bytes);
        self.counted = true;
    }
}

impl Drop for MappingSlot {
    fn drop(&mut self) {
        if self.counted {
            self.dev.counters.unmapped(self.bytes);
        }
        let mut life = self.dev.life.lock();
        life.buffers.remove(&self.id);
        life.mapped -= 1;
        life.bytes -= self.bytes;
        // Only unbind waits, and it clears `admitting` under this lock first.
        if life.mapped == 0 && !self.dev.admitting.load(Relaxed) {
            self.dev.changed.notify_all();
        }
    }
}
