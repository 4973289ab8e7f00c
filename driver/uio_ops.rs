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
    sync::Arc, //
};

use crate::{
    device::DeviceState,
    pci_ext,
    registry,
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
        self.state.control(|_| pci_ext::set_intx(self.pdev, on))
    }

    fn open(&self) -> Result {
        self.state.control(|control| {
            if control.opened() {
                pci_ext::set_master(self.pdev);
            }
        })
    }

    fn release(&self) {
        // After unbind has begun the device is unbind's: it cleared bus
        // mastering and revokes every import itself.
        let _ = self.state.control(|control| {
            if control.closed() {
                pci_ext::clear_master(self.pdev);
                // Under the lock: no open turns mastering on again until the
                // buffers the device might still have been writing are gone.
                registry::for_each_file(|file| file.release_orphans_of(&self.state));
            }
        });
    }
}
