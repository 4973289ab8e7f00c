// SPDX-License-Identifier: GPL-2.0

//! The resources of a PCI device's BARs.
//!
//! C header: [`include/linux/pci.h`](srctree/include/linux/pci.h)

use crate::{
    bindings,
    device::Bound,
    io::resource::Resource,
    pci::Device,
    prelude::*, //
};

/// The number of standard BARs of a PCI device (`PCI_STD_NUM_BARS`).
pub const STD_NUM_BARS: u32 = bindings::PCI_STD_NUM_BARS;

/// The resource of standard BAR `bar` of `pdev` (its type in
/// [`Resource::flags`]), or `None` if `bar` is not below [`STD_NUM_BARS`].
pub fn bar_resource(pdev: &Device<Bound>, bar: u32) -> Option<&Resource> {
    if bar >= STD_NUM_BARS {
        return None;
    }
    // CAST: `bar` < `PCI_STD_NUM_BARS`.
    // SAFETY: `pdev` is a valid PCI device and `bar` a valid resource index.
    let res = unsafe { bindings::pci_resource_n(pdev.as_raw(), bar as c_int) };
    // SAFETY: The resource is part of `struct pci_dev`, so it lives as long as
    // `pdev`, and the PCI core does not change it while a driver is bound.
    Some(unsafe { Resource::from_raw(res) })
}
