// SPDX-License-Identifier: GPL-2.0

//! Out-of-tree build only: [`kernel_base::task`] plus `task/exiting.rs` of
//! `driver/rust/kernel`, declared as the in-tree series declares them in
//! `rust/kernel/task.rs`.

#[doc(no_inline)]
pub use kernel_base::task::*;

#[path = "../rust/kernel/task/exiting.rs"]
mod exiting;
pub use self::exiting::{
    cond_resched,
    current_is_exiting, //
};
