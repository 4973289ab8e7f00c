// SPDX-License-Identifier: MIT OR Apache-2.0

//! Generates the uapi structs, constants and ioctl numbers from
//! `uapi/uio_dmabuf.h`, the one source of truth for the ABI (the kernel module
//! generates its side from the same header).

use std::{env, path::PathBuf};

fn main() {
    let header =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap()).join("../uapi/uio_dmabuf.h");
    println!("cargo:rerun-if-changed={}", header.display());
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    let bindings = bindgen::Builder::default()
        .header(header.to_str().expect("UTF-8 path"))
        .allowlist_type("uio_dmabuf_.*")
        .allowlist_var("UIO_DMABUF_.*")
        // The ioctl numbers are `_IOWR(...)` macros, beyond bindgen's own macro
        // parser: let clang evaluate them (its temporary files go to OUT_DIR).
        .clang_macro_fallback()
        .clang_macro_fallback_build_dir(&out_dir)
        .derive_default(true)
        .derive_debug(true)
        .derive_eq(true)
        .generate()
        .expect("bindgen failed on uapi/uio_dmabuf.h (is libclang installed? run 'make deps')");
    let out = out_dir.join("uapi.rs");
    bindings.write_to_file(out).expect("writing uapi bindings");
}
