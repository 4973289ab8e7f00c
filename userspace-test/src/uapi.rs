// SPDX-License-Identifier: MIT OR Apache-2.0

//! The raw ABI of `/dev/uio-dmabuf`, generated from `uapi/uio_dmabuf.h` at build
//! time: structs, constants and the ioctl numbers (the header's `_IOWR`/`_IOW`
//! macros, which bindgen has clang evaluate).

#![allow(non_camel_case_types, non_upper_case_globals, missing_docs)]

include!(concat!(env!("OUT_DIR"), "/uapi.rs"));

/// `_IOC_WRITE`: userspace writes the argument (the kernel reads it).
pub const IOC_WRITE: u32 = 1;
/// `_IOC_READ`: the kernel writes the argument back.
pub const IOC_READ: u32 = 2;

/// `_IOC(dir, type, nr, size)` of `<asm-generic/ioctl.h>` with our magic: for
/// numbers the header does not define (tests of wrong sizes and directions,
/// the benchmark module's commands).
pub const fn ioc(dir: u32, nr: u32, size: usize) -> u32 {
    (dir << 30) | ((size as u32) << 16) | (UIO_DMABUF_IOCTL_MAGIC << 8) | nr
}

pub const IOC_INFO: u32 = UIO_DMABUF_IOC_INFO;
pub const IOC_IMPORT: u32 = UIO_DMABUF_IOC_IMPORT;
pub const IOC_SEGMENTS: u32 = UIO_DMABUF_IOC_SEGMENTS;
pub const IOC_SYNC: u32 = UIO_DMABUF_IOC_SYNC;
pub const IOC_RELEASE: u32 = UIO_DMABUF_IOC_RELEASE;

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    #[test]
    fn struct_sizes_are_the_abi() {
        // Multiples of 8 with only naturally aligned fields: identical on 32-bit.
        assert_eq!(size_of::<uio_dmabuf_segment>(), 16);
        assert_eq!(size_of::<uio_dmabuf_info>(), 72);
        assert_eq!(size_of::<uio_dmabuf_import>(), 64);
        assert_eq!(size_of::<uio_dmabuf_segments>(), 40);
        assert_eq!(size_of::<uio_dmabuf_sync>(), 16);
        assert_eq!(size_of::<uio_dmabuf_release>(), 8);
    }

    #[test]
    fn u64_fields_are_8_byte_aligned() {
        // i386 aligns __u64 to 4 in structs; 8-aligned offsets keep one layout.
        for off in [
            offset_of!(uio_dmabuf_info, dma_mask),
            offset_of!(uio_dmabuf_info, max_segment_size),
            offset_of!(uio_dmabuf_info, max_mapped_bytes),
            offset_of!(uio_dmabuf_info, max_device_mapped_bytes),
            offset_of!(uio_dmabuf_info, reserved),
            offset_of!(uio_dmabuf_import, segments),
            offset_of!(uio_dmabuf_import, size),
            offset_of!(uio_dmabuf_import, reserved),
            offset_of!(uio_dmabuf_segments, segments),
            offset_of!(uio_dmabuf_segments, reserved),
            offset_of!(uio_dmabuf_sync, reserved),
        ] {
            assert_eq!(off % 8, 0, "offset {off}");
        }
    }

    #[test]
    fn ioctl_numbers() {
        assert_eq!(IOC_INFO, 0xc048_db00);
        assert_eq!(IOC_IMPORT, 0xc040_db01);
        assert_eq!(IOC_SEGMENTS, 0xc028_db02);
        assert_eq!(IOC_SYNC, 0x4010_db03);
        assert_eq!(IOC_RELEASE, 0x4008_db04);
    }

    #[test]
    fn ioc_builds_the_header_numbers() {
        let rw = IOC_READ | IOC_WRITE;
        assert_eq!(ioc(rw, 0x00, size_of::<uio_dmabuf_info>()), IOC_INFO);
        assert_eq!(ioc(rw, 0x01, size_of::<uio_dmabuf_import>()), IOC_IMPORT);
        assert_eq!(
            ioc(rw, 0x02, size_of::<uio_dmabuf_segments>()),
            IOC_SEGMENTS
        );
        assert_eq!(ioc(IOC_WRITE, 0x03, size_of::<uio_dmabuf_sync>()), IOC_SYNC);
        assert_eq!(
            ioc(IOC_WRITE, 0x04, size_of::<uio_dmabuf_release>()),
            IOC_RELEASE
        );
    }

    #[test]
    fn directions_match_the_dma_api() {
        assert_eq!(UIO_DMABUF_DIR_BIDIRECTIONAL, 0);
        assert_eq!(UIO_DMABUF_DIR_TO_DEVICE, 1);
        assert_eq!(UIO_DMABUF_DIR_FROM_DEVICE, 2);
    }
}
