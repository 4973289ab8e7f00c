// SPDX-License-Identifier: GPL-2.0

//! The legacy (INTx) interrupt of a bound PCI device, masked and unmasked
//! through its command register.
//!
//! C header: [`include/linux/pci.h`](srctree/include/linux/pci.h)

use crate::{
    bindings,
    device::Bound,
    pci::Device,
    prelude::*, //
};

/// The INTx interrupt of a bound PCI device that has one connected and can mask
/// it through its command register (`PCI_COMMAND_INTX_DISABLE`), as a driver
/// that shares the line and leaves the device to userspace needs.
///
/// # Invariants
///
/// `irq` is the Linux IRQ number of the connected INTx line of `pdev`, whose
/// INTx masking works.
pub struct Intx<'a> {
    pdev: &'a Device<Bound>,
    irq: u32,
}

impl<'a> Intx<'a> {
    /// The INTx interrupt of `pdev`: `None` if it has none connected (no
    /// interrupt pin, or one the platform routes nowhere), or if the device
    /// cannot mask it.
    pub fn new(pdev: &'a Device<Bound>) -> Option<Self> {
        // SAFETY: `pdev` is a valid PCI device; `irq` is set at enumeration.
        let irq = unsafe { (*pdev.as_raw()).irq };
        // An interrupt pin the platform routes nowhere (ACPI without a route and
        // an interrupt line of 0xff) reads IRQ_NOTCONNECTED.
        if irq == 0 || irq == bindings::IRQ_NOTCONNECTED {
            return None;
        }
        // SAFETY: `pdev` is a valid, bound PCI device; this reads and restores its
        // command register under the PCI config lock.
        let maskable = unsafe { bindings::pci_intx_mask_supported(pdev.as_raw()) };
        // INVARIANT: Checked just above.
        maskable.then_some(Self { pdev, irq })
    }

    /// The Linux IRQ number of the line.
    pub fn irq(&self) -> u32 {
        self.irq
    }

    /// In the interrupt handler: if the device asserts INTx, masks it and
    /// returns true (the interrupt is the device's); otherwise returns false.
    pub fn check_and_mask(&self) -> bool {
        // SAFETY: `pdev` is a valid, bound PCI device; the function takes its own
        // config-space lock and may be called in hard-IRQ context.
        unsafe { bindings::pci_check_and_mask_intx(self.pdev.as_raw()) }
    }

    /// Unmasks (`true`) or masks (`false`) the device's INTx. A read-modify-write
    /// of the command register: callers serialize it with the other ones.
    pub fn set_enabled(&self, enable: bool) {
        // SAFETY: `pdev` is a valid, bound PCI device.
        unsafe { bindings::pci_intx(self.pdev.as_raw(), c_int::from(enable)) };
    }
}
