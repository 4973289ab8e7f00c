// SPDX-License-Identifier: GPL-2.0

//! The UIO callbacks of a bound PCI device.
//!
//! Interrupts follow the UIO semantics of PCI devices (as `uio_pci_generic` has
//! them): the top half masks INTx in the command register if the device asserts
//! it, userspace counts the interrupt through `read()` on `/dev/uioN`, and
//! writing 1 to `/dev/uioN` unmasks INTx again (0 masks it); once unbind has
//! begun that write fails with `ENODEV`, so it cannot write the command
//! register behind unbind's back.
//!
//! Bus mastering follows the files of `/dev/uioN`: the first open turns it on,
//! the last close turns it off, and then the imports that processes which died
//! left behind for the device are released (see [`crate::file`]): the device
//! can no longer DMA into them.

use kernel::{
    device::Bound,
    irq::IrqReturn,
    pci,
    prelude::*,
    sync::Arc,
    uio, //
};

use crate::state::DeviceState;

/// UIO callbacks of one bound PCI device.
pub(crate) struct PciUioOps<'bound> {
    pdev: &'bound pci::Device<Bound>,
    /// The device's interrupt, if it is the UIO device's: the interrupt
    /// callbacks run only then.
    intx: Option<pci::Intx<'bound>>,
    state: Arc<DeviceState>,
}

impl<'bound> PciUioOps<'bound> {
    pub(crate) fn new(
        pdev: &'bound pci::Device<Bound>,
        intx: Option<pci::Intx<'bound>>,
        state: Arc<DeviceState>,
    ) -> Self {
        Self { pdev, intx, state }
    }
}

impl uio::Handler for PciUioOps<'_> {
    fn handle_irq(&self, _line: &uio::IrqLine) -> IrqReturn {
        match &self.intx {
            Some(intx) if intx.check_and_mask() => IrqReturn::Handled,
            _ => IrqReturn::None,
        }
    }

    fn irqcontrol(&self, on: bool, _line: &uio::IrqLine) -> Result {
        self.state.control(|_| {
            if let Some(intx) = &self.intx {
                intx.set_enabled(on);
            }
        })
    }

    fn open(&self) -> Result {
        self.state.uio_opened(|| {
            pci::set_bus_master(self.pdev, true);
            Ok(())
        })
    }

    fn release(&self) {
        self.state
            .uio_closed(|| pci::set_bus_master(self.pdev, false));
    }
}
