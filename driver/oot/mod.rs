// SPDX-License-Identifier: GPL-2.0

//! Out-of-tree build only: the kernel crate as the in-tree series makes it.
//!
//! The crate root declares `extern crate self as kernel` and re-exports this
//! module, so `kernel::` names this module in the driver's files, and `crate::`
//! in the abstraction files of `driver/rust/kernel`, which in-tree are modules of
//! the kernel crate. It re-exports everything the kernel crate has, and replaces
//! the modules the series extends with the kernel crate's module plus the
//! series' new child module, each declared as the in-tree parent declares it.

#[doc(no_inline)]
pub use kernel_base::*;

pub mod bindings;
pub mod clk;
pub mod dma;
#[path = "../rust/kernel/dma_buf.rs"]
pub mod dma_buf;
pub mod irq;
pub mod pci;
#[path = "../rust/kernel/pm_runtime.rs"]
pub mod pm_runtime;
pub mod prelude;
pub mod raw;
pub mod task;
pub mod uapi;
#[path = "../rust/kernel/uio.rs"]
pub mod uio;
