// SPDX-License-Identifier: GPL-2.0

//! One import: a dma-buf attached to a bound device and mapped for DMA, with its
//! merged segment list.
//!
//! The mapping can be revoked (RELEASE, close, unbind); afterwards the import only
//! answers `ENODEV`. The segment list is computed once at import and never
//! changes, so reading it needs no lock beyond the revocation check.

use kernel::{
    new_mutex,
    prelude::*,
    sync::{
        Arc,
        Mutex, //
    },
};

use crate::{
    device::{
        BufferClaim,
        DeviceState,
        DeviceUse,
        MappedToken, //
    },
    dma_buf::{
        Attachment,
        DmaBuf,
        Mapping, //
    },
    segments::{
        self,
        Segment,
        SegmentList, //
    },
    uapi::{
        ImportRequest,
        SyncTarget, //
    },
};

/// A mapping, the device's count of it and the buffer's claim on the device;
/// dropped in this order.
struct LiveMapping {
    mapping: Mapping,
    _token: MappedToken,
    _claim: BufferClaim,
}

/// An imported dma-buf.
#[pin_data]
pub(crate) struct Import {
    device: Arc<DeviceState>,
    size: u64,
    segments: SegmentList,
    #[pin]
    live: Mutex<Option<LiveMapping>>,
}

impl Import {
    /// Imports `req.dmabuf_fd` into the device of `user`: takes a reference,
    /// attaches, maps in `req.direction`, and merges the segments.
    ///
    /// Errors: `EBADF`/`EINVAL` from the fd, `EEXIST` if the dma-buf is imported
    /// for this device already, the exporter's error from attach or
    /// map, `ERANGE` if the device cannot reach all memory (see
    /// [`crate::pci_ext::dma_info`]) or a segment lies beyond its DMA mask (never
    /// handed out: the device would silently truncate it), `E2BIG` if
    /// `req.contiguous` and there is more than one segment, `ENOMEM`.
    pub(crate) fn new(user: &DeviceUse, req: &ImportRequest) -> Result<Arc<Self>> {
        let buf = DmaBuf::get(req.dmabuf_fd)?;
        if user.state().dma().unreachable_memory {
            return Err(ERANGE);
        }
        let size = u64::try_from(buf.size())?;
        let claim = user.claim_buffer(&buf)?;
        let attach = Attachment::new(buf, user.bound())?;
        let mapping = Mapping::new(attach, req.direction)?;
        let live = LiveMapping {
            mapping,
            _token: user.mapping_token(size),
            _claim: claim,
        };
        let dma = user.state().dma();
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
                device: user.state().clone(),
                size,
                segments,
                live <- new_mutex!(Some(live)),
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

    /// Whether the mapping still exists.
    pub(crate) fn is_live(&self) -> bool {
        self.live.lock().is_some()
    }

    /// The segment list: `ENODEV` once revoked.
    pub(crate) fn segments(&self) -> Result<&[Segment]> {
        if !self.is_live() {
            return Err(ENODEV);
        }
        Ok(self.segments.as_slice())
    }

    /// Syncs the mapping for the CPU or the device: `ENODEV` once revoked.
    pub(crate) fn sync(&self, target: SyncTarget) -> Result {
        let live = self.live.lock();
        let mapping = &live.as_ref().ok_or(ENODEV)?.mapping;
        mapping.sync(target, self.device.dma().translated);
        Ok(())
    }

    /// Unmaps, detaches and drops the dma-buf reference now, if not done yet.
    /// The teardown runs outside the import's lock.
    pub(crate) fn revoke(&self) {
        let live = self.live.lock().take();
        drop(live);
    }
}
