// SPDX-License-Identifier: GPL-2.0

//! DMA parameters of a bound device, whatever its bus: what the DMA API says
//! it can address, and the settings the driver changes in probe (put back
//! when the driver lets go of the device).

use kernel::{
    device::{
        self,
        Bound,
        Core, //
    },
    dma::{
        self,
        DmaMask, //
    },
    prelude::*,
    sync::aref::ARef, //
};

use crate::{
    bindings,
    raw, //
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
    let (mask, max_segment_size, translated, coherent, limited, max_mapping) = unsafe {
        (
            bindings::uio_dmabuf_helper_dma_mask(raw),
            bindings::uio_dmabuf_helper_max_seg_size(raw),
            bindings::uio_dmabuf_helper_dma_translated(raw),
            bindings::uio_dmabuf_helper_dma_coherent(raw),
            bindings::dma_addressing_limited(raw),
            bindings::dma_max_mapping_size(raw),
        )
    };
    let bounced = mask >= u64::from(u32::MAX) && max_mapping != usize::MAX;
    DmaInfo {
        mask,
        max_segment_size,
        translated,
        coherent,
        unreachable_memory: !translated && limited && !bounced,
    }
}

/// The DMA mask, coherent mask and segment length limit a device had before
/// [`DmaSettings::configure`] changed them, put back when dropped: the next
/// driver of the device finds what its bus (the PCI core at enumeration, the
/// platform core and firmware at probe) set.
pub(crate) struct DmaSettings {
    dev: ARef<device::Device>,
    mask: u64,
    coherent_mask: u64,
    max_segment_size: u32,
}

impl DmaSettings {
    /// Sets the device's DMA mask (streaming and coherent) to `bits` (if
    /// given; otherwise it keeps the one its bus set) and lifts its DMA
    /// segment length limit (the PCI and platform default is 64 KiB), in probe:
    /// before anything maps DMA for the device, which is what the kernel
    /// crate's setters require.
    pub(crate) fn configure<'a>(dev: &impl dma::Device<'a>, bits: Option<u32>) -> Result<Self> {
        let core: &device::Device<Core<'a>> = dev.as_ref();
        let raw = raw::device(core);
        // SAFETY: `dev` is a valid device; these only read its DMA parameters.
        let saved = unsafe {
            Self {
                dev: core.into(),
                mask: bindings::uio_dmabuf_helper_dma_mask(raw),
                coherent_mask: bindings::uio_dmabuf_helper_coherent_dma_mask(raw),
                max_segment_size: bindings::uio_dmabuf_helper_max_seg_size(raw),
            }
        };
        if let Some(bits) = bits {
            // SAFETY: Probe runs before the device is registered with UIO or
            // anything else that could map DMA for it, so no mapping races
            // the change.
            unsafe { dev.dma_set_mask_and_coherent(DmaMask::try_new(bits)?)? };
        }
        // SAFETY: As for the mask.
        unsafe { dev.dma_set_max_seg_size(u32::MAX) };
        Ok(saved)
    }
}

impl Drop for DmaSettings {
    fn drop(&mut self) {
        let raw = raw::device(&self.dev);
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
