// SPDX-License-Identifier: GPL-2.0

//! DMA parameters of a device, whatever its bus: what the DMA API says it can
//! address and how it reaches memory.
//!
//! C headers: [`include/linux/dma-mapping.h`](srctree/include/linux/dma-mapping.h),
//! [`include/linux/dma-map-ops.h`](srctree/include/linux/dma-map-ops.h),
//! [`include/linux/iommu.h`](srctree/include/linux/iommu.h)

use crate::{
    bindings,
    device::{
        self,
        Bound, //
    },
    error::to_result,
    prelude::*, //
};

/// The DMA parameters of a device, as the DMA API reports them.
#[derive(Clone, Copy, Debug)]
pub struct DeviceParams {
    /// The streaming DMA mask.
    pub mask: u64,
    /// The coherent DMA mask.
    pub coherent_mask: u64,
    /// The maximum length of one DMA segment.
    pub max_seg_size: u32,
    /// Whether the device's DMA is cache-coherent (true where the architecture
    /// has no cache maintenance for DMA, as x86). If not, the CPU and the device
    /// need syncs between them.
    pub coherent: bool,
    /// Whether an IOMMU translates the device's DMA: it is attached to a DMA
    /// domain, not an identity one, so DMA addresses are IOVAs.
    pub translated: bool,
    /// Whether some memory lies beyond what the device can address directly
    /// (`dma_addressing_limited`).
    pub addressing_limited: bool,
    /// The longest mapping the DMA API can make for the device
    /// (`dma_max_mapping_size`): `usize::MAX` unless something, such as a
    /// swiotlb bounce buffer, limits it.
    pub max_mapping_size: usize,
}

impl DeviceParams {
    /// Reads the DMA parameters of `dev`.
    pub fn read(dev: &device::Device<Bound>) -> Self {
        let raw = dev.as_raw();
        // SAFETY: `dev` is a valid, bound device; these only read its DMA
        // parameters, IOMMU group and domain, swiotlb pool and the machine's
        // memory size.
        unsafe {
            Self {
                mask: bindings::dma_get_mask(raw),
                coherent_mask: (*raw).coherent_dma_mask,
                max_seg_size: bindings::dma_get_max_seg_size(raw),
                coherent: bindings::dev_is_dma_coherent(raw),
                translated: dma_translated(raw),
                addressing_limited: bindings::dma_addressing_limited(raw),
                max_mapping_size: bindings::dma_max_mapping_size(raw),
            }
        }
    }

    /// Sets the DMA mask, coherent mask and maximum segment length of `dev` to
    /// these values, as read earlier from the same device (the other parameters
    /// are not settings): the error of a mask the device does not accept (then
    /// the segment length is set all the same).
    ///
    /// # Safety
    ///
    /// Nothing may allocate or map DMA memory for `dev` concurrently: the same
    /// requirement as [`crate::dma::Device::dma_set_mask`]'s.
    pub unsafe fn restore(&self, dev: &device::Device) -> Result {
        let raw = dev.as_raw();
        // SAFETY: `dev` is a valid device and nothing maps DMA for it (the
        // caller's contract).
        let (mask, coherent_mask) = unsafe {
            bindings::dma_set_max_seg_size(raw, self.max_seg_size);
            (
                bindings::dma_set_mask(raw, self.mask),
                bindings::dma_set_coherent_mask(raw, self.coherent_mask),
            )
        };
        to_result(mask)?;
        to_result(coherent_mask)
    }
}

/// Whether an IOMMU translates the DMA of `dev` (a DMA domain, not identity).
///
/// # Safety
///
/// `dev` is a valid, bound device.
unsafe fn dma_translated(dev: *mut bindings::device) -> bool {
    // SAFETY: `dev` is a valid device (the caller's contract).
    if !unsafe { bindings::device_iommu_mapped(dev) } {
        return false;
    }
    // SAFETY: As above, and bound, so its IOMMU domain does not change under us.
    let domain = unsafe { bindings::iommu_get_domain_for_dev(dev) };
    // SAFETY: `domain` is the live domain of `dev`.
    !domain.is_null() && unsafe { bindings::iommu_is_dma_domain(domain) }
}
