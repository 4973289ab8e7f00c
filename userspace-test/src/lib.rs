// SPDX-License-Identifier: MIT OR Apache-2.0

//! Userspace side of `uio_dmabuf`: import dma-bufs into a UIO device for DMA.
//!
//! - [`import`]: the `/dev/uio-dmabuf` front-end ([`ImportDevice`], [`Import`]).
//! - [`buffers`]: dma-buf exporters (system heap, udmabuf).
//! - [`uio`]: `/dev/uioN` maps and interrupts; [`edu`]: QEMU's edu device;
//!   [`zdma`]: a ZynqMP DMA channel; [`selftest`]: end-to-end DMA into imports
//!   by either.
//! - [`sysfs`]: which devices the driver binds; [`mmap`]: owned mappings;
//!   [`affinity`]: the thread and interrupts on one CPU.
//! - [`bench`]: the benchmarks; [`vfio`]: VFIO's type1 IOMMU, which they compare
//!   with.

pub mod affinity;
pub mod bench;
pub mod buffers;
pub mod edu;
pub mod error;
pub mod import;
pub mod mmap;
pub mod selftest;
pub mod sysfs;
pub mod testing;
pub mod uapi;
pub mod uio;
pub mod vfio;
pub mod zdma;

pub use error::{Error, Result};
pub use import::{DeviceInfo, Direction, Import, ImportDevice, ImportFlags, Segment};
