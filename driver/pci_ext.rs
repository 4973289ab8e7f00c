// SPDX-License-Identifier: GPL-2.0

//! PCI and DMA operations the kernel crate does not wrap (yet): resource flags,
//! the legacy IRQ, INTx masking, bus-master clearing, disabling, and what the DMA
//! API reports about a device.

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
    prelude::*, //
};

use crate::{
    bindings,
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

/// The device's legacy (INTx) IRQ, if it has one and its INTx can be masked
/// through the command register (what the UIO semantics rely on).
pub(crate) fn intx_irq(pdev: &pci::Device<Bound>) -> Option<u32> {
    // SAFETY: `pdev` is a valid, enabled PCI device.
    let irq = unsafe { bindings::uio_dmabuf_helper_pci_irq(raw::pci_dev(pdev)) };
    // SAFETY: As above; `pci_intx_mask_supported` only reads config space.
    (irq != 0 && unsafe { bindings::uio_dmabuf_helper_intx_mask_supported(raw::pci_dev(pdev)) })
        .then_some(irq)
}

/// In the device's interrupt handler: if the device asserts INTx, masks it and
/// returns true (the interrupt is ours); otherwise returns false.
pub(crate) fn check_and_mask_intx(pdev: &pci::Device<Bound>) -> bool {
    // SAFETY: `pdev` is a valid, bound PCI device; the function takes its own
    // config-space lock and may be called in hard-IRQ context.
    unsafe { bindings::pci_check_and_mask_intx(raw::pci_dev(pdev)) }
}

/// Unmasks (`true`) or masks (`false`) the device's INTx.
pub(crate) fn set_intx(pdev: &pci::Device<Bound>, enable: bool) {
    // SAFETY: `pdev` is a valid, bound PCI device.
    unsafe { bindings::pci_intx(raw::pci_dev(pdev), enable.into()) };
}

/// Stops the device from mastering the bus: no more DMA.
pub(crate) fn clear_master(pdev: &pci::Device<Core<'_>>) {
    // SAFETY: `pdev` is a valid PCI device in a bus callback.
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
/// A device whose mask is below 32 bits, without an IOMMU, on a machine with
/// RAM above its mask cannot be served reliably: pages beyond the mask would
/// need bouncing, but the swiotlb pool is only placed below 4 GiB (and is not
/// set up at all on machines with less RAM), and the DMA API answers an
/// unreachable page with a kernel warning. Such a device is marked
/// `unreachable_memory` and its imports are refused with `ERANGE` up front.
/// From 32 bits on, swiotlb (active wherever RAM exceeds 4 GiB) bounces.
pub(crate) fn dma_info(dev: &device::Device<Bound>) -> DmaInfo {
    let raw = raw::device(dev);
    // SAFETY: `dev` is a valid, bound device; these only read its DMA parameters,
    // IOMMU group/domain and the machine's memory size.
    let (mask, max_segment_size, translated, required) = unsafe {
        (
            bindings::uio_dmabuf_helper_dma_mask(raw),
            bindings::uio_dmabuf_helper_max_seg_size(raw),
            bindings::uio_dmabuf_helper_dma_translated(raw),
            bindings::dma_get_required_mask(raw),
        )
    };
    DmaInfo {
        mask,
        max_segment_size,
        translated,
        unreachable_memory: !translated && mask < u64::from(u32::MAX) && required > mask,
    }
}

/// Enables the device's I/O and memory decoding, managed: the driver core
/// disables it again after the driver unbinds (`pcim_enable_device`).
pub(crate) fn enable_managed(pdev: &pci::Device<Core<'_>>) -> Result {
    // SAFETY: `pdev` is a valid PCI device in its probe callback.
    kernel::error::to_result(unsafe { bindings::pcim_enable_device(raw::pci_dev(pdev)) })
}

/// Sets the device's DMA mask (streaming and coherent) to `bits` and lifts its
/// DMA segment length limit (PCI's default is 64 KiB), in probe: before
/// anything maps DMA for the device, which is what the kernel crate's setters
/// require.
pub(crate) fn configure_dma(pdev: &pci::Device<Core<'_>>, bits: u32) -> Result {
    // SAFETY: Probe runs before the device is registered with UIO or anything
    // else that could map DMA for it, so no mapping races the change.
    unsafe { pdev.dma_set_mask_and_coherent(DmaMask::try_new(bits)?)? };
    // SAFETY: As above.
    unsafe { pdev.dma_set_max_seg_size(u32::MAX) };
    Ok(())
}

/// A PCI vendor ID the kernel crate's vendor list lacks.
pub(crate) const fn vendor(id: u16) -> pci::Vendor {
    // SAFETY: `pci::Vendor` is a `#[repr(transparent)]` wrapper of the `u16`
    // vendor ID, valid for every value; its constructor is private to the kernel
    // crate, which lists only vendors of in-tree drivers.
    unsafe { core::mem::transmute::<u16, pci::Vendor>(id) }
}
