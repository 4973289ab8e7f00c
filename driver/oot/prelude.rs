// SPDX-License-Identifier: GPL-2.0

//! Out-of-tree build only: the kernel crate's prelude, plus the traits of
//! [`crate::raw`], which stand in for methods private to the kernel crate.

#[doc(no_inline)]
pub use super::raw::{
    AsRaw as _,
    FromRaw as _,
    IntoInner as _, //
};
#[doc(no_inline)]
pub use kernel_base::prelude::*;
