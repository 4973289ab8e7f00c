// SPDX-License-Identifier: GPL-2.0

//! A bound device's clocks and runtime PM, which the kernel crate does not wrap
//! (yet): every clock of its firmware node held enabled, and runtime PM as
//! `uio_pdrv_genirq` uses it. Both undo themselves on drop.

use core::{
    ptr,
    sync::atomic::{
        AtomicBool,
        Ordering, //
    },
};

use kernel::{
    device::{
        self,
        Bound, //
    },
    error::to_result,
    prelude::*,
    sync::aref::ARef,
};

use crate::{
    bindings,
    raw, //
};

/// Every clock of a device's firmware node (the `clocks` of its device-tree
/// node), prepared and enabled: a driver of the hardware holds its clocks, and
/// userspace cannot, so without this `clk_disable_unused` at late boot (or a
/// shared clock's other users) could gate the block under a userspace driver,
/// whose register accesses would then stall or read garbage.
///
/// # Invariants
///
/// `count` is 0 (`clks` unused), or `clks` is the array of `count` clocks
/// `clk_bulk_get_all` returned, each prepared and enabled once by this object.
pub(crate) struct EnabledClocks {
    clks: *mut bindings::clk_bulk_data,
    count: i32,
}

// SAFETY: The clock API may be called from any thread; the array is owned by
// this object and only read by the clock framework.
unsafe impl Send for EnabledClocks {}
// SAFETY: No method takes `&self` to change anything.
unsafe impl Sync for EnabledClocks {}

impl EnabledClocks {
    /// Gets and enables every clock of `dev`: none without clocks (or a clock
    /// framework); `EPROBE_DEFER` while a clock's provider is missing; the
    /// error of a clock that cannot be enabled, holding nothing.
    pub(crate) fn new(dev: &device::Device<Bound>) -> Result<Self> {
        let mut clks = ptr::null_mut();
        // SAFETY: `dev` is a valid bound device; `clks` is a valid place for
        // the array pointer.
        let count =
            unsafe { bindings::uio_dmabuf_helper_clk_bulk_get_all(raw::device(dev), &mut clks) };
        to_result(count)?;
        if count > 0 {
            // SAFETY: `clks` holds the `count` clocks just got.
            let enabled =
                unsafe { bindings::uio_dmabuf_helper_clk_bulk_prepare_enable(count, clks) };
            if let Err(e) = to_result(enabled) {
                // SAFETY: As above; none of them is left enabled on failure.
                unsafe { bindings::uio_dmabuf_helper_clk_bulk_put_all(count, clks) };
                return Err(e);
            }
        }
        Ok(Self { clks, count })
    }

    /// How many clocks are held.
    pub(crate) fn count(&self) -> u32 {
        self.count.unsigned_abs()
    }
}

impl Drop for EnabledClocks {
    fn drop(&mut self) {
        if self.count > 0 {
            // SAFETY: By the type invariant, each of the `count` clocks of
            // `clks` was enabled once by this object, and the array is ours.
            unsafe {
                bindings::uio_dmabuf_helper_clk_bulk_disable_unprepare(self.count, self.clks);
                bindings::uio_dmabuf_helper_clk_bulk_put_all(self.count, self.clks);
            }
        }
    }
}

/// Runtime PM of a bound device, as `uio_pdrv_genirq` has it: enabled while
/// bound, the device resumed (its power domain on, its runtime-PM callbacks
/// run) while [`RuntimePm::hold`] holds it, free to suspend otherwise. Without
/// `CONFIG_PM` every call does nothing.
///
/// # Invariants
///
/// Runtime PM of `dev` is enabled by this object; `held` is whether this
/// object holds one usage count of it with the device resumed.
pub(crate) struct RuntimePm {
    dev: ARef<device::Device>,
    held: AtomicBool,
}

impl RuntimePm {
    /// Enables runtime PM of `dev`, which starts out suspended.
    pub(crate) fn new(dev: &device::Device<Bound>) -> Self {
        // SAFETY: `dev` is a valid bound device, whose runtime PM nothing else
        // enabled (its driver does that, and this is its driver).
        unsafe { bindings::uio_dmabuf_helper_pm_runtime_enable(raw::device(dev)) };
        Self {
            dev: dev.into(),
            held: AtomicBool::new(false),
        }
    }

    /// Resumes the device and keeps it resumed, unless held already: the
    /// resume's error otherwise. The caller serializes this with
    /// [`RuntimePm::release`].
    pub(crate) fn hold(&self) -> Result {
        if self.held.load(Ordering::Relaxed) {
            return Ok(());
        }
        // SAFETY: `dev` is valid (a reference is held) with runtime PM
        // enabled (type invariant).
        to_result(unsafe {
            bindings::uio_dmabuf_helper_pm_runtime_resume_and_get(raw::device(&self.dev))
        })?;
        self.held.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Lets the device suspend again, if held. The caller serializes this with
    /// [`RuntimePm::hold`].
    pub(crate) fn release(&self) {
        if self.held.swap(false, Ordering::Relaxed) {
            // SAFETY: This object holds a usage count (type invariant).
            unsafe { bindings::uio_dmabuf_helper_pm_runtime_put_sync(raw::device(&self.dev)) };
        }
    }
}

impl Drop for RuntimePm {
    fn drop(&mut self) {
        self.release();
        // SAFETY: Runtime PM of `dev` was enabled by this object.
        unsafe { bindings::uio_dmabuf_helper_pm_runtime_disable(raw::device(&self.dev)) };
    }
}
