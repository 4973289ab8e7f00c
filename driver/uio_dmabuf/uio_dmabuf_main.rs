// SPDX-License-Identifier: GPL-2.0

//! uio_dmabuf: a UIO driver that lets userspace drivers DMA into imported
//! dma-bufs.
//!
//! The PCI driver ([`pci_driver`]) and the platform driver ([`platform_driver`])
//! expose a device's memory regions and interrupt through UIO. The misc device
//! `/dev/uio-dmabuf` ([`file`]) imports dma-bufs from any exporter for a device
//! named by an open fd of its `/dev/uioN`: it attaches them to that device (so
//! IOMMU, swiotlb and the device's cache coherence apply), maps them, and
//! returns every DMA segment. Imports belong to the open file and are torn down
//! on close, process death and device unbind.
//!
//! Layout: the driver's logic, here, on top of kernel abstractions of their
//! own: [`kernel::uio`], [`kernel::dma_buf`], [`kernel::pm_runtime`],
//! [`kernel::clk::EnabledClocks`], [`kernel::dma::DeviceParams`],
//! [`kernel::pci::Intx`] and the PCI, IRQ and task functions next to it, which
//! are where the thin `unsafe` code over C APIs is.
//! Here, `unsafe` appears only where the kernel crate demands it of any user,
//! each with its safety argument: the module-wide lock's one-time
//! initialisation ([`registry`]), the proof that a guarded device is bound
//! ([`state::MappingSlot`], from the unbind protocol's invariant), the
//! `FromBytes`/`AsBytes` marker impls of the plain-data uapi and segment types,
//! and the OF match table of the `of_id` parameter ([`platform_driver`]).

// Out of tree, the crate root stands in for the kernel crate with these items,
// gated on `CONFIG_UIO_DMABUF` not being set, which the in-tree series leaves
// out: `kernel::` is the kernel crate plus the abstractions the series adds.
#[cfg(not(CONFIG_UIO_DMABUF))]
extern crate kernel as kernel_base;
#[cfg(not(CONFIG_UIO_DMABUF))]
extern crate self as kernel;
/// Out-of-tree build: the kernel crate plus what the in-tree series adds to it.
#[cfg(not(CONFIG_UIO_DMABUF))]
#[path = "../oot/mod.rs"]
pub mod oot;
#[cfg(not(CONFIG_UIO_DMABUF))]
pub use oot::{prelude, *};

use kernel::prelude::*;

mod abi;
mod bound;
mod file;
mod handles;
mod import;
mod pci_driver;
mod pci_uio_ops;
mod platform_driver;
mod platform_uio_ops;
mod registry;
mod segments;
mod state;
mod stats;

module! {
    type: UioDmabufModule,
    name: "uio_dmabuf",
    authors: ["uio-dmabuf developers"],
    description: "UIO driver that imports dma-bufs and reports their DMA addresses",
    license: "GPL",
    imports_ns: ["DMA_BUF"],
    params: {
        dma_bits: u32 {
            default: 0,
            description: "DMA mask width in bits for every bound device (0: 32 for PCI devices, \
                          the platform bus's for platform devices)",
        },
        max_segment_size: u32 {
            default: 4294967295,
            description: "Longest DMA segment reported, in bytes (at least a page); \
                          longer ones are split",
        },
        max_imports: u32 {
            default: 65536,
            description: "Live imports per open file of /dev/uio-dmabuf (ENOSPC beyond)",
        },
        max_mapped_bytes: u64 {
            default: 4294967296,
            description: "Imported bytes per open file of /dev/uio-dmabuf (EDQUOT beyond)",
        },
        max_device_imports: u32 {
            default: 262144,
            description: "Live imports per bound device, all files together (ENOSPC beyond)",
        },
        max_device_mapped_bytes: u64 {
            default: 17179869184,
            description: "Imported bytes per bound device, all files together (EDQUOT beyond)",
        },
    },
}

/// Empties the module-wide registry when dropped.
struct RegistryGuard;

impl Drop for RegistryGuard {
    fn drop(&mut self) {
        registry::clear();
    }
}

#[pin_data]
struct UioDmabufModule {
    // Drop order is declaration order: the debugfs files (which read the
    // registry), the import front-end (no file can be open then: each holds a
    // module reference), the PCI and platform drivers (unbinding every
    // device), then the registry's memory.
    #[pin]
    _debugfs: stats::Debugfs,
    #[pin]
    _misc: kernel::miscdevice::MiscDeviceRegistration<file::OpenFile>,
    #[pin]
    _pci: kernel::driver::Registration<kernel::pci::Adapter<pci_driver::UioDmabufDriver>>,
    #[pin]
    _platform: kernel::driver::Registration<
        kernel::platform::Adapter<platform_driver::UioDmabufPlatformDriver>,
    >,
    _registry: RegistryGuard,
}

// Paths spelt out in the crate root: out of tree, an import of a `kernel`
// module here would hide the one `pub use oot::*` re-exports.
impl kernel::InPlaceModule for UioDmabufModule {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        // SAFETY: Module init runs once, before the misc device and the PCI
        // driver that use the registry are registered below.
        unsafe { registry::init() };
        // SAFETY: Module init runs once, before the platform driver that
        // reads the table is registered below.
        unsafe { platform_driver::fill_of_id_table() };
        try_pin_init!(Self {
            _debugfs <- stats::Debugfs::new(),
            _misc <- kernel::miscdevice::MiscDeviceRegistration::register(
                kernel::miscdevice::MiscDeviceOptions { name: c"uio-dmabuf" }
            ),
            _pci <- kernel::driver::Registration::new(c"uio_dmabuf", module),
            _platform <- kernel::driver::Registration::new(c"uio_dmabuf", module),
            _registry: RegistryGuard,
        })
    }
}
