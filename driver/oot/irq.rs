// SPDX-License-Identifier: GPL-2.0

//! Out-of-tree build only: [`kernel_base::irq`] plus `irq/line.rs` of
//! `driver/rust/kernel`, declared as the in-tree series declares them in
//! `rust/kernel/irq.rs`.

#[doc(no_inline)]
pub use kernel_base::irq::*;

#[path = "../rust/kernel/irq/line.rs"]
mod line;
pub use self::line::{
    can_mask_in_handler,
    unlazy_if_level, //
};
