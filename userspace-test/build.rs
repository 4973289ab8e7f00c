// SPDX-License-Identifier: MIT OR Apache-2.0

//! Generates the uapi structs, constants and ioctl numbers from
//! `uapi/uio_dmabuf.h`, the one source of truth for the ABI (the kernel module
//! generates its side from the same header); and the few of VFIO's, from the
//! system's `<linux/vfio.h>`, that the benchmarks compare with.

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

    // A file, not header contents: the macro fallback needs one to include.
    let wrapper = out_dir.join("vfio-wrapper.h");
    std::fs::write(&wrapper, "#include <linux/vfio.h>\n").expect("writing the VFIO wrapper");
    let vfio = bindgen::Builder::default()
        .header(wrapper.to_str().expect("UTF-8 path"))
        .allowlist_type("vfio_group_status|vfio_iommu_type1_dma_(map|unmap)")
        .allowlist_var(
            "VFIO_(API_VERSION|TYPE1v2_IOMMU|GROUP_FLAGS_VIABLE|DMA_MAP_FLAG_(READ|WRITE))",
        )
        .allowlist_var(
            "VFIO_(GET_API_VERSION|CHECK_EXTENSION|SET_IOMMU|GROUP_GET_STATUS|GROUP_SET_CONTAINER)",
        )
        .allowlist_var("VFIO_IOMMU_(MAP|UNMAP)_DMA")
        .clang_macro_fallback()
        .clang_macro_fallback_build_dir(&out_dir)
        .derive_default(true)
        .derive_debug(true)
        .generate()
        .expect("bindgen failed on <linux/vfio.h> (run 'make deps' for linux-libc-dev)");
    vfio.write_to_file(out_dir.join("vfio.rs"))
        .expect("writing VFIO bindings");
}
