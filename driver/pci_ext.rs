// SPDX-License-Identifier: GPL-2.0

//! PCI and DMA operations the kernel crate does not wrap (yet): resource flags,
//! the legacy IRQ, INTx masking, bus mastering, the DMA settings a driver
//! changes (and puts back), reserving the rest of a sub-page BAR's page, and
//! what the DMA API reports about a device.

use kernel::{
    device::{
        self,
        Bound,
        Core, //
    },
    dma::{
        Device as _,
        DmaMask, //
    },
    pci,
    prelude::*,
    sync::aref::ARef,
    types::Opaque, //
};

use crate::{
    bindings,
    raw, //
};

/// Number of standard BARs.
pub(crate) const NUM_BARS: u32 = bindings::PCI_STD_NUM_BARS;

/// The bits of an address below page granularity.
// CAST: `usize` is 64 bits wide on every architecture this builds for.
const PAGE_MASK_LOW: u64 = !kernel::page::PAGE_MASK as u64;

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

/// The rest of the page after a memory BAR smaller than a page that starts on
/// a page boundary, reserved in the resource tree for as long as this lives,
/// so that no other BAR (of a device added later) can be placed there while
/// userspace may map the whole page: this is how vfio-pci makes sub-page BARs
/// mappable. Released on drop.
///
/// # Invariants
///
/// `res` is registered with `request_resource` as a child of the BAR's parent
/// resource until `drop` releases it; the box keeps its address stable.
pub(crate) struct PageTailReservation {
    res: KBox<Opaque<bindings::resource>>,
}

// SAFETY: The reservation is only released (from any thread) in `drop`.
unsafe impl Send for PageTailReservation {}
// SAFETY: `&PageTailReservation` exposes nothing.
unsafe impl Sync for PageTailReservation {}

impl PageTailReservation {
    /// Reserves the rest of the page of memory BAR `bar` (at `start`, `len`
    /// bytes): `None` if the BAR fills its page or does not start one, or if
    /// something else holds part of the rest.
    pub(crate) fn new(pdev: &pci::Device<Bound>, bar: u32, start: u64, len: u64) -> Option<Self> {
        let page = kernel::page::PAGE_SIZE as u64;
        if len >= page || start & PAGE_MASK_LOW != 0 || bar >= NUM_BARS {
            return None;
        }
        // CAST: `bar` < `PCI_STD_NUM_BARS`.
        let index = bar as c_int;
        // SAFETY: `pdev` is a valid PCI device and `bar` a valid resource
        // index; the resource lives as long as the device.
        let bar_res =
            unsafe { bindings::uio_dmabuf_helper_bar_resource(raw::pci_dev(pdev), index) };
        // SAFETY: As above; `parent` and `flags` of an assigned BAR are stable
        // while a driver is bound.
        let (parent, flags) = unsafe { ((*bar_res).parent, (*bar_res).flags) };
        if parent.is_null() {
            return None;
        }
        let res = KBox::new(
            Opaque::new(bindings::resource {
                start: start + len,
                end: start + page - 1,
                name: c"uio_dmabuf sub-page reserved".as_char_ptr(),
                flags,
                ..Default::default()
            }),
            GFP_KERNEL,
        )
        .ok()?;
        // SAFETY: `parent` is the live resource the BAR lies in, and `res` a
        // boxed, unlinked resource covering the rest of the BAR's page.
        let busy = unsafe { bindings::request_resource(parent, res.get()) };
        // INVARIANT: `request_resource` succeeded, so `res` is registered.
        (busy == 0).then_some(Self { res })
    }
}

impl Drop for PageTailReservation {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `res` is registered.
        unsafe { bindings::release_resource(self.res.get()) };
    }
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

/// What the DMA API says a device can address.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DmaInfo {
    /// The streaming DMA mask.
    pub(crate) mask: u64,
    /// The maximum length of one DMA segment.
    pub(crate) max_segment_size: u32,
    /// Whether an IOMMU translates the device's DMA (addresses are IOVAs).
    pub(crate) translated: bool,
    /// Some RAM lies beyond the mask and nothing is sure to bounce it for the
    /// device: imports are refused (see [`dma_info`]).
    pub(crate) unreachable_memory: bool,
}

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
pub(crate) fn dma_info(dev: &device::Device<Bound>) -> DmaInfo {
    let raw = raw::device(dev);
    // SAFETY: `dev` is a valid, bound device; these only read its DMA parameters,
    // IOMMU group/domain, swiotlb pool and the machine's memory size.
    let (mask, max_segment_size, translated, limited, max_mapping) = unsafe {
        (
            bindings::uio_dmabuf_helper_dma_mask(raw),
            bindings::uio_dmabuf_helper_max_seg_size(raw),
            bindings::uio_dmabuf_helper_dma_translated(raw),
            bindings::dma_addressing_limited(raw),
            bindings::dma_max_mapping_size(raw),
        )
    };
    let bounced = mask >= u64::from(u32::MAX) && max_mapping != usize::MAX;
    DmaInfo {
        mask,
        max_segment_size,
        translated,
        unreachable_memory: !translated && limited && !bounced,
    }
}

/// Enables the device's I/O and memory decoding, managed: the driver core
/// disables it again after the driver unbinds (`pcim_enable_device`).
pub(crate) fn enable_managed(pdev: &pci::Device<Core<'_>>) -> Result {
    // SAFETY: `pdev` is a valid PCI device in its probe callback.
    kernel::error::to_result(unsafe { bindings::pcim_enable_device(raw::pci_dev(pdev)) })
}

/// The DMA mask, coherent mask and segment length limit a device had before
/// [`DmaSettings::configure`] changed them, put back when dropped: the next
/// driver of the device finds what the PCI core set at enumeration.
pub(crate) struct DmaSettings {
    pdev: ARef<pci::Device>,
    mask: u64,
    coherent_mask: u64,
    max_segment_size: u32,
}

impl DmaSettings {
    /// Sets the device's DMA mask (streaming and coherent) to `bits` and lifts
    /// its DMA segment length limit (PCI's default is 64 KiB), in probe: before
    /// anything maps DMA for the device, which is what the kernel crate's
    /// setters require.
    pub(crate) fn configure(pdev: &pci::Device<Core<'_>>, bits: u32) -> Result<Self> {
        let raw = raw::device(pdev.as_ref());
        // SAFETY: `pdev` is a valid device; these only read its DMA parameters.
        let saved = unsafe {
            Self {
                pdev: pdev.into(),
                mask: bindings::uio_dmabuf_helper_dma_mask(raw),
                coherent_mask: bindings::uio_dmabuf_helper_coherent_dma_mask(raw),
                max_segment_size: bindings::uio_dmabuf_helper_max_seg_size(raw),
            }
        };
        // SAFETY: Probe runs before the device is registered with UIO or
        // anything else that could map DMA for it, so no mapping races the
        // change.
        unsafe { pdev.dma_set_mask_and_coherent(DmaMask::try_new(bits)?)? };
        // SAFETY: As above.
        unsafe { pdev.dma_set_max_seg_size(u32::MAX) };
        Ok(saved)
    }
}

impl Drop for DmaSettings {
    fn drop(&mut self) {
        let raw = raw::device(self.pdev.as_ref());
        // SAFETY: The settings are dropped with the driver's data of the
        // device: after unbind has waited until no mapping of the device is
        // left, or in a failed probe before anything could map for it; nothing
        // maps for the device until the next driver's probe. The values were
        // the device's own, so the setters accept them.
        unsafe {
            bindings::dma_set_mask(raw, self.mask);
            bindings::dma_set_coherent_mask(raw, self.coherent_mask);
            bindings::uio_dmabuf_helper_set_max_seg_size(raw, self.max_segment_size);
        }
    }
}

/// A PCI vendor ID the kernel crate's vendor list lacks.
pub(crate) const fn vendor(id: u16) -> pci::Vendor {
    // SAFETY: `pci::Vendor` is a `#[repr(transparent)]` wrapper of the `u16`
    // vendor ID, valid for every value; its constructor is private to the kernel
    // crate, which lists only vendors of in-tree drivers.
    unsafe { core::mem::transmute::<u16, pci::Vendor>(id) }
}
