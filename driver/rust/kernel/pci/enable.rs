// SPDX-License-Identifier: GPL-2.0

//! Enabling a PCI device for its driver: its decoding, managed, and its bus
//! mastering, while bound.
//!
//! C header: [`include/linux/pci.h`](srctree/include/linux/pci.h)

use crate::{
    bindings,
    device::{
        Bound,
        Core, //
    },
    error::to_result,
    pci::Device,
    prelude::*, //
};

/// Enables the I/O and memory decoding of `pdev` in its probe, managed: the
/// driver core disables the device again after the driver unbinds
/// (`pcim_enable_device`).
pub fn enable_device_managed(pdev: &Device<Core<'_>>) -> Result {
    // SAFETY: `pdev` is a valid PCI device in its probe callback.
    to_result(unsafe { bindings::pcim_enable_device(pdev.as_raw()) })
}

/// Lets `pdev` master the bus (DMA) if `enable`, or stops it: no more DMA. A
/// read-modify-write of the command register: callers serialize it with the
/// other ones.
///
/// Unlike [`Device::set_master`], usable in any context of a bound device, such
/// as when userspace opens or closes a device file.
pub fn set_bus_master(pdev: &Device<Bound>, enable: bool) {
    // SAFETY: `pdev` is a valid, bound PCI device.
    unsafe {
        if enable {
            bindings::pci_set_master(pdev.as_raw());
        } else {
            bindings::pci_clear_master(pdev.as_raw());
        }
    }
}
