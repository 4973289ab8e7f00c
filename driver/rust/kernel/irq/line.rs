// SPDX-License-Identifier: GPL-2.0

//! What a driver that masks its interrupt line itself needs to know of it and
//! set on it.
//!
//! C header: [`include/linux/irq.h`](srctree/include/linux/irq.h)

use crate::{
    bindings,
    irq::IrqRequest,
    prelude::*, //
};

/// Whether the interrupt of `irq` can be masked and unmasked (`disable_irq_nosync`,
/// `enable_irq`) from its hard-IRQ handler and under a spinlock: not if its
/// interrupt controller sleeps to reach the hardware (an expander on a slow bus,
/// `irq_bus_lock`) or runs its handlers nested in a thread (then the primary
/// handler never runs).
pub fn can_mask_in_handler(irq: &IrqRequest<'_>) -> bool {
    let irq = irq.irq();
    // SAFETY: `irq` is the valid IRQ number of a bound device; this only reads
    // its descriptor's chip, which lives as long as the descriptor.
    let chip = unsafe { bindings::irq_get_chip(irq) };
    if chip.is_null() {
        return false;
    }
    // SAFETY: `chip` is the live chip of the interrupt (above).
    let bus_lock = unsafe { (*chip).irq_bus_lock.is_some() };
    // SAFETY: As above; this only reads the descriptor's status.
    let nested = unsafe { bindings::irq_check_status_bit(irq, bindings::IRQ_NESTED_THREAD) };
    !bus_lock && !nested
}

/// Makes masking the interrupt of `irq` immediate if its line is level-triggered:
/// `disable_irq_nosync` then masks it at once rather than lazily on its next
/// assertion, as a device that keeps the line asserted until its driver (or
/// userspace) acknowledges it needs. To be called once the interrupt is
/// requested: freeing it clears the setting again.
pub fn unlazy_if_level(irq: &IrqRequest<'_>) {
    let irq = irq.irq();
    // SAFETY: `irq` is the valid IRQ number of a bound device.
    let trigger = unsafe { bindings::irq_get_trigger_type(irq) };
    if trigger & bindings::IRQ_TYPE_LEVEL_MASK != 0 {
        // CAST: A flag of the descriptor's status, which is an `unsigned int`.
        let unlazy = bindings::IRQ_DISABLE_UNLAZY as c_ulong;
        // SAFETY: As above; this sets a status flag under the descriptor's lock.
        unsafe { bindings::irq_set_status_flags(irq, unlazy) };
    }
}
