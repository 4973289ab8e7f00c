// SPDX-License-Identifier: GPL-2.0

//! Platform-device operations the kernel crate does not wrap (yet): the
//! driver's OF match table from the `of_id` parameter, reserving the rest of
//! a sub-page register region's page, and lazy-masking interrupts.

use kernel::{
    device::Bound,
    device_id::IdTable,
    irq::IrqRequest,
    of,
    platform, //
};

use crate::{
    bindings,
    page_tail::PageTailReservation,
    raw, //
};

/// The OF match table the `of_id` module parameter fills (`of_id.c`), as the
/// kernel crate's platform registration takes one.
///
/// Every implementation of [`IdTable`] must return a zero-terminated array of
/// `of_device_id` that stays valid and unchanged from the driver's
/// registration until after its unregistration, with `data` fields the
/// driver's `IdInfo` can be read from: this one is a static array in module
/// data, written only by the parameter parser before module init, whose
/// `data` fields are all NULL (no `IdInfo`: probe gets `None`).
pub(crate) struct OfIdParamTable;

impl IdTable<of::DeviceId, ()> for OfIdParamTable {
    fn as_ptr(&self) -> *const bindings::of_device_id {
        // SAFETY: Returns the address of a static array; no precondition.
        unsafe { bindings::uio_dmabuf_of_id_table() }
    }
}

/// Reserves the rest of the page after memory resource `index` of `pdev` (at
/// `start`, `len` bytes) if it is smaller than a page and starts one (see
/// [`PageTailReservation`]). A resource the platform core inserted in the
/// resource tree is reserved in its parent; one of a device created from the
/// device tree, which is not, in the root of memory-mapped I/O, where drivers
/// request the regions they use.
pub(crate) fn reserve_page_tail(
    pdev: &platform::Device<Bound>,
    index: u32,
    start: u64,
    len: u64,
) -> Option<PageTailReservation> {
    // SAFETY: `pdev` is a valid platform device; the resource it returns (if
    // any) lives as long as the device. Its `parent` (read without the
    // resource lock) is where the platform core inserted it, or NULL; a later
    // `insert_resource` of an enclosing resource could move it down, which
    // `request_resource` below then sees as a conflict.
    let (parent, flags) = unsafe {
        let res = bindings::platform_get_resource(
            raw::platform_device(pdev),
            bindings::IORESOURCE_MEM,
            index,
        );
        if res.is_null() {
            return None;
        }
        let parent = (*res).parent;
        let parent = if parent.is_null() {
            &raw mut bindings::iomem_resource
        } else {
            parent
        };
        (parent, (*res).flags)
    };
    // SAFETY: `parent` is the live resource the region lies in, or the root
    // of memory-mapped I/O, either of which outlives the device's binding.
    unsafe { PageTailReservation::new(parent, flags, start, len) }
}

/// Whether interrupt `irq` can be masked and unmasked from its hard-IRQ
/// handler and under a spinlock, as the UIO semantics of platform devices
/// need: not if its interrupt controller sleeps to reach the hardware (an
/// expander on a slow bus) or runs its handlers nested in a thread (then the
/// primary handler never runs).
pub(crate) fn maskable_in_handler(irq: &IrqRequest<'_>) -> bool {
    // SAFETY: `irq` is a valid IRQ number of a bound device; this only reads
    // its descriptor.
    unsafe { bindings::uio_dmabuf_helper_irq_maskable_atomic(irq.irq()) }
}

/// Makes masking interrupt `irq` immediate if the line is level-triggered
/// (see `uio_dmabuf_helper_irq_unlazy_if_level`), once it is requested.
pub(crate) fn unlazy_if_level(irq: &IrqRequest<'_>) {
    // SAFETY: `irq` is a valid IRQ number of a bound device.
    unsafe { bindings::uio_dmabuf_helper_irq_unlazy_if_level(irq.irq()) };
}
