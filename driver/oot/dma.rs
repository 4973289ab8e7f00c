// SPDX-License-Identifier: GPL-2.0

//! Out-of-tree build only: [`kernel_base::dma`] plus `dma/params.rs` of
//! `driver/rust/kernel`, declared as the in-tree series declares them in
//! `rust/kernel/dma.rs`.

#[doc(no_inline)]
pub use kernel_base::dma::*;

#[path = "../rust/kernel/dma/params.rs"]
mod params;
pub use self::params::DeviceParams;
