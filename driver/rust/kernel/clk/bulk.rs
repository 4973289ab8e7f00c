// SPDX-License-Identifier: GPL-2.0

//! Every clock of a device, held through the bulk clock API.
//!
//! C header: [`include/linux/clk.h`](srctree/include/linux/clk.h)
//!
//! Available whether or not the kernel has a clock framework: without one, a
//! device has no clocks.

use crate::{
    bindings,
    device::{
        self,
        Bound, //
    },
    error::to_result,
    prelude::*, //
};
use core::ptr;

/// Every clock of a device's firmware node (the `clocks` of its device-tree
/// node), prepared and enabled for as long as this lives: a driver holds the
/// clocks of its hardware, so that `clk_disable_unused` at late boot (or a
/// shared clock's other users) cannot gate the block under it, whose register
/// accesses would then stall or read garbage.
///
/// # Invariants
///
/// `count` is 0 (`clks` unused), or `clks` is the array of `count` clocks
/// `clk_bulk_get_all` returned, each prepared and enabled once by this object.
pub struct EnabledClocks {
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
    pub fn new(dev: &device::Device<Bound>) -> Result<Self> {
        let mut clks = ptr::null_mut();
        // SAFETY: `dev` is a valid bound device; `clks` is a valid place for
        // the array pointer.
        let count = unsafe { bindings::clk_bulk_get_all(dev.as_raw(), &mut clks) };
        to_result(count)?;
        if count > 0 {
            // SAFETY: `clks` holds the `count` clocks just got.
            let enabled = unsafe { bindings::clk_bulk_prepare_enable(count, clks) };
            if let Err(e) = to_result(enabled) {
                // SAFETY: As above; none of them is left enabled on failure.
                unsafe { bindings::clk_bulk_put_all(count, clks) };
                return Err(e);
            }
        }
        Ok(Self { clks, count })
    }

    /// How many clocks are held.
    pub fn count(&self) -> u32 {
        self.count.unsigned_abs()
    }
}

impl Drop for EnabledClocks {
    fn drop(&mut self) {
        if self.count > 0 {
            // SAFETY: By the type invariant, each of the `count` clocks of
            // `clks` was enabled once by this object, and the array is ours.
            unsafe {
                bindings::clk_bulk_disable_unprepare(self.count, self.clks);
                bindings::clk_bulk_put_all(self.count, self.clks);
            }
        }
    }
}
