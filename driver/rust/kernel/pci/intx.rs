// SPDX-License-Identifier: GPL-2.0

//! PCI operations the kernel crate does not wrap (yet): resource flags, the
//! legacy IRQ, INTx masking, bus mastering, managed enabling, and reserving the
//! rest of a sub-page BAR's page.

use kernel::{
    device::{
        Bound,
        Core, //
    },
    pci,
    prelude::*, //
};

use crate::{
    bindings,
    page_tail::PageTailReservation,
    raw, //
};

/// Number of standard BARs.
pub(crate) const NUM_BARS: u32 = bindings::PCI_STD_NUM_BARS;

/// Start and length of BAR `bar` if it is a non-empty memory BAR.
pub(crate) fn memory_bar(pdev: &pci::Device<Bound>, bar: u32) -> Option<(u64, u64)> {
    // CAST: `bar` < `PCI_STD_NUM_BARS`, checked below before use.
    let index = bar as c_int;
    if bar >= NUM_BARS {
        return None;
    }
    // SAFETY: `pdev` is a valid PCI device and `bar` a valid resource index.
    let flags = unsafe { bindings::uio_dmabuf_helper_bar_flags(raw::pci_dev(pdev), index) };
    // CAST: IORESOURCE_MEM is a small `#define`.
    if flags & bindings::IORESOURCE_MEM as usize == 0 {
        return None;
    }
    let start = pdev.resource_start(bar).ok()?;
    let len = pdev.resource_len(bar).ok()?;
    (len > 0).then_some((start, len))
}

/// Reserves the rest of the page after memory BAR `bar` (at `start`, `len`
/// bytes) if it is smaller than a page and starts one (see
/// [`PageTailReservation`]).
pub(crate) fn reserve_page_tail(
    pdev: &pci::Device<Bound>,
    bar: u32,
    start: u64,
    len: u64,
) -> Option<PageTailReservation> {
    if bar >= NUM_BARS {
        return None;
    }
    // CAST: `bar` < `PCI_STD_NUM_BARS`.
    let index = bar as c_int;
    // SAFETY: `pdev` is a valid PCI device and `bar` a valid resource index;
    // the resource lives as long as the device, and its `parent` and `flags`
    // do not change while a driver is bound.
    let (parent, flags) = unsafe {
        let res = bindings::uio_dmabuf_helper_bar_resource(raw::pci_dev(pdev), index);
        ((*res).parent, (*res).flags)
    };
    if parent.is_null() {
        return None;
    }
    // SAFETY: `parent` is the live resource the assigned BAR lies in (a
    // bridge window or the root), which outlives the device's binding.
    unsafe { PageTailReservation::new(parent, flags, start, len) }
}

/// The device's legacy (INTx) IRQ, if it has one connected and its INTx can be
/// masked through the command register (what the UIO semantics rely on).
pub(crate) fn intx_irq(pdev: &pci::Device<Bound>) -> Option<u32> {
    // SAFETY: `pdev` is a valid, enabled PCI device.
    let irq = unsafe { bindings::uio_dmabuf_helper_pci_irq(raw::pci_dev(pdev)) };
    // An interrupt pin the platform routes nowhere (ACPI without a route and
    // an interrupt line of 0xff) reads IRQ_NOTCONNECTED: a device without an
    // interrupt, as for uio_pci_generic.
    if irq == 0 || irq == bindings::IRQ_NOTCONNECTED {
        return None;
    }
    // SAFETY: As above; `pci_intx_mask_supported` only reads config space.
    unsafe { bindings::uio_dmabuf_helper_intx_mask_supported(raw::pci_dev(pdev)) }.then_some(irq)
}

/// In the device's interrupt handler: if the device asserts INTx, masks it and
/// returns true (the interrupt is ours); otherwise returns false.
pub(crate) fn check_and_mask_intx(pdev: &pci::Device<Bound>) -> bool {
    // SAFETY: `pdev` is a valid, bound PCI device; the function takes its own
    // config-space lock and may be called in hard-IRQ context.
    unsafe { bindings::pci_check_and_mask_intx(raw::pci_dev(pdev)) }
}

/// Unmasks (`true`) or masks (`false`) the device's INTx. A read-modify-write
/// of the command register: callers serialize it with the other ones.
pub(crate) fn set_intx(pdev: &pci::Device<Bound>, enable: bool) {
    // SAFETY: `pdev` is a valid, bound PCI device.
    unsafe { bindings::pci_intx(raw::pci_dev(pdev), enable.into()) };
}

/// Lets the device master the bus (DMA). A read-modify-write of the command
/// register: callers serialize it with the other ones.
pub(crate) fn set_master(pdev: &pci::Device<Bound>) {
    // SAFETY: `pdev` is a valid, bound, enabled PCI device.
    unsafe { bindings::pci_set_master(raw::pci_dev(pdev)) };
}

/// Stops the device from mastering the bus: no more DMA. A
/// read-modify-write of the command register: callers serialize it with the
/// other ones.
pub(crate) fn clear_master(pdev: &pci::Device<Bound>) {
    // SAFETY: `pdev` is a valid, bound PCI device.
    unsafe { bindings::pci_clear_master(raw::pci_dev(pdev)) };
}

/// Enables the device's I/O and memory decoding, managed: the driver core
/// disables it again after the driver unbinds (`pcim_enable_device`).
pub(crate) fn enable_managed(pdev: &pci::Device<Core<'_>>) -> Result {
    // SAFETY: `pdev` is a valid PCI device in its probe callback.
    kernel::error::to_result(unsafe { bindings::pcim_enable_device(raw::pci_dev(pdev)) })
}

/// A PCI vendor ID the kernel crate's vendor list lacks.
pub(crate) const fn vendor(id: u16) -> pci::Vendor {
    // SAFETY: `pci::Vendor` is a `#[repr(transparent)]` wrapper of the `u16`
    // vendor ID, valid for every value; its constructor is private to the kernel
    // crate, which lists only vendors of in-tree drivers.
    unsafe { core::mem::transmute::<u16, pci::Vendor>(id) }
}
