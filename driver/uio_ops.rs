// SPDX-License-Identifier: GPL-2.0

//! The UIO callbacks of a bound PCI device.
//!
//! Interrupts follow the UIO semantics of PCI devices (as `uio_pci_generic` has
//! them): the top half masks INTx in the command register if the device asserts
//! it, userspace counts the interrupt through `read()` on `/dev/uioN`, and
//! writing 1 to `/dev/uioN` unmasks INTx again (0 masks it).
//!
//! Opens and closes of `/dev/uioN` are recorded in the device's state: an fd is
//! accepted as naming the device only if it was opened through this
//! registration.

use kernel::{
    device::Bound,
    irq::IrqReturn,
    pci,
    prelude::*,
    sync::Arc, //
};

use crate::{
    chrdev::InodeId,
    device::DeviceState,
    pci_ext,
    uio, //
};

/// UIO callbacks of one bound device.
pub(crate) struct UioOps<'bound> {
    pdev: &'bound pci::Device<Bound>,
    state: Arc<DeviceState>,
}

impl<'bound> UioOps<'bound> {
    pub(crate) fn new(pdev: &'bound pci::Device<Bound>, state: Arc<DeviceState>) -> Self {
        Self { pdev, state }
    }
}

impl uio::Handler for UioOps<'_> {
    fn handle_irq(&self) -> IrqReturn {
        if pci_ext::check_and_mask_intx(self.pdev) {
            IrqReturn::Handled
        } else {
            IrqReturn::None
        }
    }

    fn irqcontrol(&self, on: bool) -> Result {
        pci_ext::set_intx(self.pdev, on);
        Ok(())
    }

    fn open(&self, inode: InodeId) -> Result {
        self.state.uio_opened(inode)
    }

    fn release(&self, inode: InodeId) {
        self.state.uio_closed(inode)
    }
}
