// SPDX-License-Identifier: GPL-2.0

//! The UIO callbacks of a bound platform device.
//!
//! Interrupts follow the UIO semantics of platform devices (as
//! `uio_pdrv_genirq` has them): the line is not shared; the top half masks it
//! at the interrupt controller and claims the interrupt, userspace counts it
//! through `read()` on `/dev/uioN`, acknowledges it at the device, and writes 1
//! to `/dev/uioN` to unmask the line again (0 masks it). Once unbind has begun
//! that write fails with `ENODEV`, as for PCI devices.
//!
//! Power, as `uio_pdrv_genirq` manages it: runtime PM keeps the device resumed
//! while some file of `/dev/uioN` is open and lets it suspend after the last
//! close; its clocks are held enabled for as long as it is bound (see
//! [`kernel::pm_runtime::RuntimePm`], [`kernel::clk::EnabledClocks`]). Both
//! belong to these callbacks, which the UIO registration owns, so they outlive
//! `/dev/uioN`.
//!
//! A platform device has nothing like PCI's bus mastering that the driver
//! could turn off: the files of `/dev/uioN` are counted as for PCI, and the
//! imports that processes which died left for the device are released when
//! the last one closes, but whatever DMA userspace left running is not stopped
//! (see [`crate::platform_driver`]).

use kernel::{
    clk::EnabledClocks,
    irq::IrqReturn,
    new_spinlock_irq,
    pm_runtime::RuntimePm,
    prelude::*,
    sync::{
        Arc,
        SpinLockIrq, //
    },
    uio::{
        self,
        IrqLine, //
    },
};

use crate::state::DeviceState;

/// UIO callbacks of one bound platform device.
pub(crate) struct PlatformUioOps {
    state: Arc<DeviceState>,
    /// Whether this driver has the line masked (one level of the interrupt
    /// core's disable depth, never more): the handler and irqcontrol, on any
    /// CPU, test and change it together with the mask, so that enables and
    /// disables stay balanced.
    masked: Arc<SpinLockIrq<bool>>,
    /// Held from the first open of `/dev/uioN` to the last close, under the
    /// DMA-control lock.
    pm: RuntimePm,
    /// Dropped after `pm`: the device is suspended before its clocks stop.
    _clocks: EnabledClocks,
}

impl PlatformUioOps {
    pub(crate) fn new(
        state: Arc<DeviceState>,
        clocks: EnabledClocks,
        pm: RuntimePm,
    ) -> Result<Self> {
        Ok(Self {
            state,
            masked: Arc::pin_init(new_spinlock_irq!(false), GFP_KERNEL)?,
            pm,
            _clocks: clocks,
        })
    }

    /// Masks (`true`) or unmasks the line unless it is so already.
    fn set_masked(&self, line: &IrqLine, mask: bool) {
        let mut masked = self.masked.lock();
        if *masked != mask {
            *masked = mask;
            if mask {
                line.disable_nosync();
            } else {
                line.enable();
            }
        }
    }
}

impl uio::Handler for PlatformUioOps {
    fn handle_irq(&self, line: &IrqLine) -> IrqReturn {
        // The line is ours alone: the interrupt is the device's.
        self.set_masked(line, true);
        IrqReturn::Handled
    }

    fn irqcontrol(&self, on: bool, line: &IrqLine) -> Result {
        self.state.control(|_| self.set_masked(line, !on))
    }

    fn open(&self) -> Result {
        self.state.uio_opened(|| self.pm.hold())
    }

    fn release(&self) {
        self.state.uio_closed(|| self.pm.release());
    }
}
