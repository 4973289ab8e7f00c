// SPDX-License-Identifier: GPL-2.0

//! The UIO interrupt semantics of PCI devices (as `uio_pci_generic` had them):
//! the top half masks INTx in the command register if the device asserts it,
//! userspace counts the interrupt through `read()` on `/dev/uioN`, and writing
//! 1 to `/dev/uioN` unmasks INTx again (0 masks it).

use kernel::{
    device::Bound,
    irq::IrqReturn,
    pci,
    prelude::*, //
};

use crate::{
    pci_ext,
    uio, //
};

/// INTx handler of one bound device.
pub(crate) struct IntxHandler<'bound> {
    pdev: &'bound pci::Device<Bound>,
}

impl<'bound> IntxHandler<'bound> {
    pub(crate) fn new(pdev: &'bound pci::Device<Bound>) -> Self {
        Self { pdev }
    }
}

impl uio::Handler for IntxHandler<'_> {
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
}
