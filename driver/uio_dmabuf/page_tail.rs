// SPDX-License-Identifier: GPL-2.0

//! A bound device's memory regions as UIO maps, with the rest of the page
//! reserved after a region smaller than a page, so that UIO, whose maps are
//! whole pages, can map it.

use kernel::{
    device::{
        Bound,
        Device, //
    },
    prelude::*,
    types::Opaque, //
};

use crate::{
    bindings,
    uio, //
};

/// The UIO maps of a device being probed and the page tails reserved for
/// them (which the driver keeps while bound).
pub(crate) struct DeviceMaps<'a> {
    pub(crate) maps: KVec<uio::MemMap<'a>>,
    pub(crate) tails: KVec<PageTailReservation>,
}

impl<'a> DeviceMaps<'a> {
    pub(crate) fn new() -> Self {
        Self {
            maps: KVec::new(),
            tails: KVec::new(),
        }
    }

    /// Adds memory region `name` of `dev` (at `phys`, `size` bytes) as a map;
    /// `reserve_tail` reserves the rest of its page if it is smaller than one,
    /// and the map is then the whole page. A region beyond UIO's last map is
    /// left out with a warning.
    pub(crate) fn push(
        &mut self,
        dev: &Device<Bound>,
        name: &'a CStr,
        phys: u64,
        mut size: u64,
        reserve_tail: impl FnOnce() -> Option<PageTailReservation>,
    ) -> Result {
        if self.maps.len() == uio::MAX_MAPS {
            dev_warn!(
                dev,
                "uio_dmabuf: {} not exposed: UIO has room for {} maps\n",
                name.to_str().unwrap_or("?"),
                uio::MAX_MAPS
            );
            return Ok(());
        }
        if let Some(tail) = reserve_tail() {
            self.tails.push(tail, GFP_KERNEL)?;
            // CAST: `usize` is 64 bits wide on every architecture this builds for.
            size = kernel::page::PAGE_SIZE as u64;
        }
        self.maps
            .push(uio::MemMap { name, phys, size }, GFP_KERNEL)?;
        Ok(())
    }
}

/// The bits of an address below page granularity.
// CAST: `usize` is 64 bits wide on every architecture this builds for.
const PAGE_MASK_LOW: u64 = !kernel::page::PAGE_MASK as u64;

/// The rest of the page after a memory region smaller than a page that starts
/// on a page boundary, reserved (busy) in the resource tree for as long as this
/// lives, so that nothing else (a BAR of a device added later, a region a
/// driver requests) can be placed there while userspace may map the whole
/// page: this is how vfio-pci makes sub-page BARs mappable. Removed on drop,
/// handing back to its parent anything inserted below it meanwhile.
///
/// # Invariants
///
/// `res` is registered with `request_resource` as a child of the resource the
/// region lies in until `drop` releases it; the box keeps its address stable.
pub(crate) struct PageTailReservation {
    res: KBox<Opaque<bindings::resource>>,
}

// SAFETY: The reservation is only released (from any thread) in `drop`.
unsafe impl Send for PageTailReservation {}
// SAFETY: `&PageTailReservation` exposes nothing.
unsafe impl Sync for PageTailReservation {}

impl PageTailReservation {
    /// Reserves the rest of the page of a memory region (at `start`, `len`
    /// bytes, with resource `flags`) in `parent`, the resource it lies in:
    /// `None` if the region fills its page or does not start one, or if
    /// something else holds part of the rest.
    ///
    /// # Safety
    ///
    /// `parent` points to a live resource in the resource tree that outlives
    /// the reservation.
    pub(crate) unsafe fn new(
        parent: *mut bindings::resource,
        flags: usize,
        start: u64,
        len: u64,
    ) -> Option<Self> {
        let page = kernel::page::PAGE_SIZE as u64;
        if len >= page || start & PAGE_MASK_LOW != 0 {
            return None;
        }
        let res = KBox::new(
            Opaque::new(bindings::resource {
                start: start + len,
                end: start + page - 1,
                name: c"uio_dmabuf sub-page reserved".as_char_ptr(),
                flags: flags | bindings::IORESOURCE_BUSY as usize,
                ..Default::default()
            }),
            GFP_KERNEL,
        )
        .ok()?;
        // SAFETY: `parent` is a live resource (the caller's contract), and `res`
        // a boxed, unlinked resource covering the rest of the region's page.
        let busy = unsafe { bindings::request_resource(parent, res.get()) };
        // INVARIANT: `request_resource` succeeded, so `res` is registered.
        (busy == 0).then_some(Self { res })
    }
}

impl Drop for PageTailReservation {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `res` is registered. Unlike
        // `release_resource`, `remove_resource` moves any resource inserted
        // below it since (`insert_resource` descends into busy ones too) up to
        // its parent, so none is left pointing at the freed box.
        unsafe { bindings::remove_resource(self.res.get()) };
    }
}
