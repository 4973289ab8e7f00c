// SPDX-License-Identifier: GPL-2.0

//! One import: a dma-buf attached to a bound device and mapped for DMA, with its
//! merged segment list.
//!
//! The mapping can be revoked (RELEASE, close, unbind); afterwards the import only
//! answers `ENOENT` if it was released (a call that found the handle just
//! before a concurrent RELEASE took it sees the same errno as one just after),
//! or `ENODEV` if its device was unbound. The segment list is computed once at
//! import and never changes, so reading it needs no lock beyond the revocation
//! check (and IMPORT, which reports what it mapped, reads it without one).

use kernel::{
    dma_buf::{
        Attachment,
        DmaBuf,
        Mapping, //
    },
    new_mutex,
    prelude::*,
    sync::{
        Arc,
        Mutex, //
    },
};

use crate::{
    abi::{
        ImportRequest,
        SyncTarget, //
    },
    segments::{
        self,
        Segment,
        SegmentList, //
    },
    state::{
        DeviceState,
        MappingSlot, //
    },
};

/// A mapping and its slot on the device; dropped in this order.
struct LiveMapping {
    mapping: Mapping,
    _slot: MappingSlot,
}

/// Why an import's mapping is gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Revoked {
    /// RELEASE, close of the file, or an IMPORT undone: its handle names
    /// nothing (`ENOENT`).
    Released,
    /// Its device was unbound (`ENODEV`); the handle stays until released.
    Unbound,
}

impl Revoked {
    fn errno(self) -> Error {
        match self {
            Self::Released => ENOENT,
            Self::Unbound => ENODEV,
        }
    }
}

/// The mapping of an import, or why it is gone.
enum State {
    Live(LiveMapping),
    Revoked(Revoked),
}

/// An imported dma-buf.
#[pin_data]
pub(crate) struct Import {
    device: Arc<DeviceState>,
    size: u64,
    segments: SegmentList,
    #[pin]
    state: Mutex<State>,
}

impl Import {
    /// Imports `req.dmabuf_fd` into `dev`: takes a reference, reserves a
    /// mapping slot, attaches, maps in `req.direction`, and merges the segments.
    ///
    /// Errors: `EBADF`/`EINVAL` from the fd, `ENODEV` once `dev`'s unbind has
    /// begun, `EEXIST` if the dma-buf is imported for this device already,
    /// `ENOSPC`/`EDQUOT` if the device holds its limit of imports or bytes
    /// (see [`DeviceState::reserve_mapping`]), the exporter's error from attach or
    /// map, `ERANGE` if the device cannot reach all memory (see
    /// [`crate::state::DmaInfo::read`]) or a segment lies beyond its DMA mask (never
    /// handed out: the device would silently truncate it), `E2BIG` if
    /// `req.contiguous` and there is more than one segment, `ENOMEM`.
    pub(crate) fn new(dev: Arc<DeviceState>, req: &ImportRequest) -> Result<Arc<Self>> {
        let buf = DmaBuf::get(req.dmabuf_fd)?;
        let dma = dev.dma();
        if dma.unreachable_memory {
            return Err(ERANGE);
        }
        let size = u64::try_from(buf.size())?;
        let mut slot = dev.reserve_mapping(&buf)?;
        let attach = Attachment::new(buf, slot.bound())?;
        let mapping = Mapping::new(attach, req.direction)?;
        slot.mapped();
        let live = LiveMapping {
            mapping,
            _slot: slot,
        };
        let table = live.mapping.sg_table();
        let segments = segments::collect(
            table.iter().map(|e| (e.dma_address(), e.dma_len())),
            dma.max_segment_size.into(),
        )?;
        if segments
            .as_slice()
            .iter()
            .any(|s| s.addr.saturating_add(s.len - 1) > dma.mask)
        {
            return Err(ERANGE);
        }
        if req.contiguous && segments.as_slice().len() != 1 {
            return Err(E2BIG);
        }
        Arc::pin_init(
            try_pin_init!(Self {
                device: dev,
                size,
                segments,
                state <- new_mutex!(State::Live(live)),
            }),
            GFP_KERNEL,
        )
    }

    /// The device this import is mapped for.
    pub(crate) fn device(&self) -> &Arc<DeviceState> {
        &self.device
    }

    /// The dma-buf's size in bytes.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// The segment list: `ENOENT` once released, `ENODEV` once its device was
    /// unbound.
    pub(crate) fn segments(&self) -> Result<&[Segment]> {
        match *self.state.lock() {
            State::Live(_) => Ok(self.segments.as_slice()),
            State::Revoked(why) => Err(why.errno()),
        }
    }

    /// The segment list as it was mapped, whether or not revoked since: what
    /// IMPORT reports (a RELEASE or unbind that got in after the import was
    /// in its table comes after the IMPORT).
    pub(crate) fn segments_as_mapped(&self) -> &[Segment] {
        self.segments.as_slice()
    }

    /// Syncs the mapping for the CPU or the device: errors as
    /// [`Import::segments`].
    pub(crate) fn sync(&self, target: SyncTarget) -> Result {
        match &*self.state.lock() {
            State::Live(live) => {
                live.mapping.sync(target, self.device.dma().translated);
                Ok(())
            }
            State::Revoked(why) => Err(why.errno()),
        }
    }

    /// Unmaps, detaches and drops the dma-buf reference now, if not done yet,
    /// for reason `why`. The teardown runs outside the import's lock.
    pub(crate) fn revoke(&self, why: Revoked) {
        let state = core::mem::replace(&mut *self.state.lock(), State::Revoked(why));
        drop(state);
    }
}
