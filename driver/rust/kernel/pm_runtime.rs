// SPDX-License-Identifier: GPL-2.0

//! Runtime power management of a device, as a driver that resumes its device
//! while userspace uses it has it.
//!
//! C header: [`include/linux/pm_runtime.h`](srctree/include/linux/pm_runtime.h)
//!
//! Without `CONFIG_PM` every call does nothing.

use crate::{
    bindings,
    device::{
        self,
        Bound, //
    },
    error::to_result,
    prelude::*,
    sync::aref::ARef, //
};
use core::sync::atomic::{
    AtomicBool,
    Ordering, //
};

/// Runtime PM of a bound device, as `uio_pdrv_genirq` has it: enabled while
/// this lives, the device resumed (its power domain on, its runtime-PM callbacks
/// run) while [`RuntimePm::hold`] holds it, free to suspend otherwise.
///
/// # Invariants
///
/// Runtime PM of `dev` is enabled by this object; `held` is whether this
/// object holds one usage count of it with the device resumed.
pub struct RuntimePm {
    dev: ARef<device::Device>,
    held: AtomicBool,
}

impl RuntimePm {
    /// Enables runtime PM of `dev`, which starts out suspended.
    pub fn new(dev: &device::Device<Bound>) -> Self {
        // SAFETY: `dev` is a valid bound device, whose runtime PM nothing else
        // enabled (its driver does that, and this is its driver).
        unsafe { bindings::pm_runtime_enable(dev.as_raw()) };
        Self {
            dev: dev.into(),
            held: AtomicBool::new(false),
        }
    }

    /// Resumes the device and keeps it resumed, unless held already: the
    /// resume's error otherwise. The caller serializes this with
    /// [`RuntimePm::release`].
    pub fn hold(&self) -> Result {
        if self.held.load(Ordering::Relaxed) {
            return Ok(());
        }
        // SAFETY: `dev` is valid (a reference is held) with runtime PM
        // enabled (type invariant).
        to_result(unsafe { bindings::pm_runtime_resume_and_get(self.dev.as_raw()) })?;
        self.held.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Lets the device suspend again, if held. The caller serializes this with
    /// [`RuntimePm::hold`].
    pub fn release(&self) {
        if self.held.swap(false, Ordering::Relaxed) {
            // SAFETY: This object holds a usage count (type invariant).
            unsafe { bindings::pm_runtime_put_sync(self.dev.as_raw()) };
        }
    }
}

impl Drop for RuntimePm {
    fn drop(&mut self) {
        self.release();
        // SAFETY: Runtime PM of `dev` was enabled by this object.
        unsafe { bindings::pm_runtime_disable(self.dev.as_raw()) };
    }
}
