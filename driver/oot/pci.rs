// SPDX-License-Identifier: GPL-2.0

//! Out-of-tree build only: [`kernel_base::pci`] plus `pci/enable.rs`,
//! `pci/intx.rs` and `pci/resource.rs` of `driver/rust/kernel`, declared as the
//! in-tree series declares them in `rust/kernel/pci.rs`.

#[doc(no_inline)]
pub use kernel_base::pci::*;

#[path = "../rust/kernel/pci/enable.rs"]
mod enable;
#[path = "../rust/kernel/pci/intx.rs"]
mod intx;
#[path = "../rust/kernel/pci/resource.rs"]
mod resource;
pub use self::enable::{
    enable_device_managed,
    set_bus_master, //
};
pub use self::intx::Intx;
pub use self::resource::{
    bar_resource,
    STD_NUM_BARS, //
};
