// SPDX-License-Identifier: GPL-2.0

//! Out-of-tree build only: [`kernel_base::pci`] plus `pci/enable.rs`,
//! `pci/intx.rs` and `pci/resource.rs` of `driver/rust/kernel`, declared as the
//! in-tree series declares them in `rust/kernel/pci.rs`, and the series'
//! [`NO_DEVICE_IDS`] as the kernel crate's adapter needs it.

use kernel_base::{
    bindings,
    device_id::IdArray, //
};

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

// Out of tree only: what the series changes in `rust/kernel/pci.rs` itself.

/// The ID table of a driver that has no static device IDs and binds only the
/// devices a user hands it, through `new_id` or `driver_override`.
///
/// In-tree this is an empty table, which the series' PCI adapter registers as
/// a `NULL` `id_table`, as a C driver with only dynamic IDs does. The kernel
/// crate's adapter passes any table on as it is, and for a table without
/// entries the PCI core's `new_id` refuses every ID. So this table holds one
/// entry that changes nothing else: it matches any device, but only one whose
/// `driver_override` names the driver (`override_only`), which the PCI core
/// binds to the driver anyway; and its `driver_data` is 0, the value `new_id`
/// writes. The module exports no alias for it (no `MODULE_DEVICE_TABLE`).
pub static NO_DEVICE_IDS: IdArray<DeviceId, (), 1> =
    IdArray::new_without_index([any_device_with_driver_override()]);

const fn any_device_with_driver_override() -> DeviceId {
    const ANY: u32 = bindings::PCI_ANY_ID as u32;
    let id = bindings::pci_device_id {
        vendor: ANY,
        device: ANY,
        subvendor: ANY,
        subdevice: ANY,
        class: 0,
        class_mask: 0,
        driver_data: 0,
        override_only: bindings::PCI_ID_F_VFIO_DRIVER_OVERRIDE,
    };
    // SAFETY: `DeviceId` is a `#[repr(transparent)]` wrapper of
    // `struct pci_device_id` without further invariants; its fields are
    // private to the kernel crate, which has no constructor of an
    // `override_only` entry.
    unsafe { core::mem::transmute::<bindings::pci_device_id, DeviceId>(id) }
}
