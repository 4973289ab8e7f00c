// SPDX-License-Identifier: GPL-2.0

//! Raw C pointers behind kernel-crate wrappers whose `as_raw()` is private to the
//! kernel crate, for the abstraction modules that call C functions the kernel
//! crate does not wrap yet.
//!
//! Each wrapper is `#[repr(transparent)]` over `Opaque<C struct>`, itself
//! `#[repr(transparent)]` over the C struct, so a reference to the wrapper is a
//! pointer to the C struct. The C functions mutate through these pointers, which
//! `Opaque` (an `UnsafeCell`) permits.

use kernel::{
    device::{
        self,
        DeviceContext, //
    },
    pci,
    platform, //
};

use crate::bindings;

/// The `struct device` of `dev`.
pub(crate) fn device<Ctx: DeviceContext>(dev: &device::Device<Ctx>) -> *mut bindings::device {
    core::ptr::from_ref(dev)
        .cast::<bindings::device>()
        .cast_mut()
}

/// The `struct pci_dev` of `pdev`.
pub(crate) fn pci_dev<Ctx: DeviceContext>(pdev: &pci::Device<Ctx>) -> *mut bindings::pci_dev {
    core::ptr::from_ref(pdev)
        .cast::<bindings::pci_dev>()
        .cast_mut()
}

/// The `struct platform_device` of `pdev`.
pub(crate) fn platform_device<Ctx: DeviceContext>(
    pdev: &platform::Device<Ctx>,
) -> *mut bindings::platform_device {
    core::ptr::from_ref(pdev)
        .cast::<bindings::platform_device>()
        .cast_mut()
}
