// SPDX-License-Identifier: GPL-2.0

//! Out-of-tree build only: what the shared abstraction files call on kernel
//! crate types through methods that are private to the kernel crate (in-tree
//! they are in the kernel crate and call those methods themselves).
//!
//! The traits are in [`crate::prelude`] out of tree. Where a type's own method
//! of the same name is not accessible, method and path resolution skip it and
//! find the trait's, so the shared files compile unchanged in both builds.

use kernel_base::{
    bindings,
    device::{
        self,
        DeviceContext, //
    },
    ffi::c_ulong,
    io::resource::Resource,
    irq,
    pci, //
};

/// The C struct behind a kernel crate wrapper (`as_raw()`).
pub trait AsRaw {
    /// The C struct.
    type Raw;

    /// A pointer to the C struct behind `self`.
    fn as_raw(&self) -> *mut Self::Raw;
}

// Each wrapper below is `#[repr(transparent)]` over `Opaque<C struct>`, itself
// `#[repr(transparent)]` over the C struct, so a reference to the wrapper is a
// pointer to the C struct. The C functions mutate through these pointers, which
// `Opaque` (an `UnsafeCell`) permits.

impl<Ctx: DeviceContext> AsRaw for device::Device<Ctx> {
    type Raw = bindings::device;

    fn as_raw(&self) -> *mut bindings::device {
        core::ptr::from_ref(self)
            .cast::<bindings::device>()
            .cast_mut()
    }
}

impl<Ctx: DeviceContext> AsRaw for pci::Device<Ctx> {
    type Raw = bindings::pci_dev;

    fn as_raw(&self) -> *mut bindings::pci_dev {
        core::ptr::from_ref(self)
            .cast::<bindings::pci_dev>()
            .cast_mut()
    }
}

impl AsRaw for Resource {
    type Raw = bindings::resource;

    fn as_raw(&self) -> *mut bindings::resource {
        core::ptr::from_ref(self)
            .cast::<bindings::resource>()
            .cast_mut()
    }
}

/// A kernel crate wrapper made from a pointer to its C struct (`from_raw()`).
pub trait FromRaw: AsRaw {
    /// The wrapper of the C struct at `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` points to a valid C struct for `'a`, only accessed through the
    /// returned reference meanwhile.
    unsafe fn from_raw<'a>(ptr: *mut Self::Raw) -> &'a Self;
}

impl FromRaw for Resource {
    unsafe fn from_raw<'a>(ptr: *mut bindings::resource) -> &'a Self {
        // SAFETY: `Resource` is a transparent wrapper of `struct resource` (see
        // above), valid for `'a` (the caller's contract).
        unsafe { &*ptr.cast::<Resource>() }
    }
}

/// The C value of a kernel crate flags type (`into_inner()`).
pub trait IntoInner {
    /// The C value.
    type Inner;

    /// The C value of `self`.
    fn into_inner(self) -> Self::Inner;
}

impl IntoInner for irq::Flags {
    type Inner = c_ulong;

    /// The `IRQF_*` bits of `self`, found flag by flag: `irq::Flags` makes
    /// values only of its constants, combined with `|`, `&` and `!`. (Of a
    /// negation, only bits that name a flag are kept.)
    fn into_inner(self) -> c_ulong {
        use irq::Flags as F;
        [
            (F::TRIGGER_RISING, bindings::IRQF_TRIGGER_RISING),
            (F::TRIGGER_FALLING, bindings::IRQF_TRIGGER_FALLING),
            (F::TRIGGER_HIGH, bindings::IRQF_TRIGGER_HIGH),
            (F::TRIGGER_LOW, bindings::IRQF_TRIGGER_LOW),
            (F::SHARED, bindings::IRQF_SHARED),
            (F::PROBE_SHARED, bindings::IRQF_PROBE_SHARED),
            (F::TIMER, bindings::IRQF_TIMER),
            (F::PERCPU, bindings::IRQF_PERCPU),
            (F::NOBALANCING, bindings::IRQF_NOBALANCING),
            (F::IRQPOLL, bindings::IRQF_IRQPOLL),
            (F::ONESHOT, bindings::IRQF_ONESHOT),
            (F::NO_SUSPEND, bindings::IRQF_NO_SUSPEND),
            (F::FORCE_RESUME, bindings::IRQF_FORCE_RESUME),
            (F::NO_THREAD, bindings::IRQF_NO_THREAD),
            (F::EARLY_RESUME, bindings::IRQF_EARLY_RESUME),
            (F::COND_SUSPEND, bindings::IRQF_COND_SUSPEND),
            (F::NO_AUTOEN, bindings::IRQF_NO_AUTOEN),
            (F::NO_DEBUG, bindings::IRQF_NO_DEBUG),
        ]
        .into_iter()
        .filter(|&(flag, _)| self & flag == flag)
        .fold(0, |value, (_, bit)| value | bit as c_ulong)
    }
}
