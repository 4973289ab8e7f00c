// SPDX-License-Identifier: GPL-2.0

//! Out-of-tree build only: [`kernel_base::clk`] plus `clk/bulk.rs` of
//! `driver/rust/kernel`, declared as the in-tree series declares them in
//! `rust/kernel/clk.rs`.

#[doc(no_inline)]
pub use kernel_base::clk::*;

#[path = "../rust/kernel/clk/bulk.rs"]
mod bulk;
pub use self::bulk::EnabledClocks;
