// SPDX-License-Identifier: GPL-2.0

//! The ioctl ABI of `/dev/uio-dmabuf`: the structs come from
//! `uapi/uio_dmabuf.h` through bindgen (one source of truth); this module adds
//! the ioctl numbers and turns raw arguments into validated requests.

use core::ops::{
    Deref,
    DerefMut, //
};
use kernel::{
    dma::DataDirection,
    ioctl::{
        _IOW,
        _IOWR, //
    },
    prelude::*,
    transmute::{
        AsBytes,
        FromBytes, //
    },
    uapi::{
        self,
        uio_dmabuf_import,
        uio_dmabuf_info,
        uio_dmabuf_release,
        uio_dmabuf_segments,
        uio_dmabuf_sync, //
    },
};

use crate::segments::Segment;

/// Declares `$name`, the argument of an ioctl as it is copied in and out: the
/// uapi struct `$raw` (whose fields it dereferences to), of `$size` bytes. The
/// uapi structs are the `uapi` crate's, so the driver's marker impls go on a
/// wrapper of its own.
macro_rules! ioctl_arg {
    ($($name:ident($raw:ty) => $size:expr),* $(,)?) => {$(
        #[doc = concat!("The `", stringify!($raw), "` argument of an ioctl.")]
        #[repr(transparent)]
        #[derive(Clone, Copy, Default)]
        pub(crate) struct $name($raw);

        // SAFETY: A uapi struct of `__u32`/`__s32`/`__u64` fields with explicit
        // padding fields: no implicit padding, every bit pattern is valid.
        unsafe impl FromBytes for $name {}
        // SAFETY: As above, so it has no uninitialized bytes.
        unsafe impl AsBytes for $name {}

        impl Deref for $name {
            type Target = $raw;

            fn deref(&self) -> &$raw {
                &self.0
            }
        }

        impl DerefMut for $name {
            fn deref_mut(&mut self) -> &mut $raw {
                &mut self.0
            }
        }

        const _: () = assert!(core::mem::size_of::<$name>() == $size);
    )*};
}

// Sizes are part of the ABI (and of the ioctl numbers); these catch drift.
ioctl_arg! {
    InfoArgs(uio_dmabuf_info) => 72,
    ImportArgs(uio_dmabuf_import) => 64,
    SegmentsArgs(uio_dmabuf_segments) => 40,
    SyncArgs(uio_dmabuf_sync) => 16,
    ReleaseArgs(uio_dmabuf_release) => 8,
}
const _: () =
    assert!(core::mem::size_of::<uapi::uio_dmabuf_segment>() == core::mem::size_of::<Segment>());

const MAGIC: u32 = uapi::UIO_DMABUF_IOCTL_MAGIC;
pub(crate) const IOC_INFO: u32 = _IOWR::<InfoArgs>(MAGIC, 0x00);
pub(crate) const IOC_IMPORT: u32 = _IOWR::<ImportArgs>(MAGIC, 0x01);
pub(crate) const IOC_SEGMENTS: u32 = _IOWR::<SegmentsArgs>(MAGIC, 0x02);
pub(crate) const IOC_SYNC: u32 = _IOW::<SyncArgs>(MAGIC, 0x03);
pub(crate) const IOC_RELEASE: u32 = _IOW::<ReleaseArgs>(MAGIC, 0x04);

pub(crate) const ABI_VERSION: u32 = uapi::UIO_DMABUF_ABI_VERSION;
pub(crate) const INFO_IOMMU: u32 = uapi::UIO_DMABUF_INFO_IOMMU;
pub(crate) const INFO_UNREACHABLE_MEMORY: u32 = uapi::UIO_DMABUF_INFO_UNREACHABLE_MEMORY;
pub(crate) const INFO_NONCOHERENT: u32 = uapi::UIO_DMABUF_INFO_NONCOHERENT;
const IMPORT_CONTIGUOUS: u32 = uapi::UIO_DMABUF_IMPORT_CONTIGUOUS;
const SYNC_FOR_CPU: u32 = uapi::UIO_DMABUF_SYNC_FOR_CPU;
const SYNC_FOR_DEVICE: u32 = uapi::UIO_DMABUF_SYNC_FOR_DEVICE;

/// A validated IMPORT request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ImportRequest {
    pub(crate) uio_fd: i32,
    pub(crate) dmabuf_fd: i32,
    pub(crate) direction: DataDirection,
    pub(crate) contiguous: bool,
    /// Where to write up to `capacity` segments (0 when capacity is 0).
    pub(crate) segments: usize,
    pub(crate) capacity: u32,
}

pub(crate) use kernel::dma_buf::SyncTarget;

/// The direction field of IMPORT.
pub(crate) fn direction(raw: u32) -> Result<DataDirection> {
    match raw {
        uapi::UIO_DMABUF_DIR_BIDIRECTIONAL => Ok(DataDirection::Bidirectional),
        uapi::UIO_DMABUF_DIR_TO_DEVICE => Ok(DataDirection::ToDevice),
        uapi::UIO_DMABUF_DIR_FROM_DEVICE => Ok(DataDirection::FromDevice),
        _ => Err(EINVAL),
    }
}

/// A user array pointer with a capacity: a NULL pointer only with capacity 0.
fn user_array(ptr: u64, capacity: u32) -> Result<usize> {
    if ptr == 0 && capacity != 0 {
        return Err(EINVAL);
    }
    usize::try_from(ptr).map_err(|_| EINVAL)
}

/// Checks the input fields of INFO.
pub(crate) fn info_request(args: &uio_dmabuf_info) -> Result<i32> {
    if args.reserved0 != 0 || args.reserved.iter().any(|&r| r != 0) {
        return Err(EINVAL);
    }
    Ok(args.uio_fd)
}

/// Checks the input fields of IMPORT.
pub(crate) fn import_request(args: &uio_dmabuf_import) -> Result<ImportRequest> {
    if args.reserved0 != 0 || args.reserved.iter().any(|&r| r != 0) {
        return Err(EINVAL);
    }
    if args.flags & !IMPORT_CONTIGUOUS != 0 {
        return Err(EINVAL);
    }
    Ok(ImportRequest {
        uio_fd: args.uio_fd,
        dmabuf_fd: args.dmabuf_fd,
        direction: direction(args.direction)?,
        contiguous: args.flags & IMPORT_CONTIGUOUS != 0,
        segments: user_array(args.segments, args.capacity)?,
        capacity: args.capacity,
    })
}

/// Checks the input fields of SEGMENTS: `(handle, first, user pointer, capacity)`.
pub(crate) fn segments_request(args: &uio_dmabuf_segments) -> Result<(u32, u32, usize, u32)> {
    if args.reserved0 != 0 || args.reserved != 0 {
        return Err(EINVAL);
    }
    Ok((
        args.handle,
        args.first,
        user_array(args.segments, args.capacity)?,
        args.capacity,
    ))
}

/// Checks the input fields of SYNC.
pub(crate) fn sync_request(args: &uio_dmabuf_sync) -> Result<(u32, SyncTarget)> {
    if args.reserved != 0 {
        return Err(EINVAL);
    }
    match args.flags {
        SYNC_FOR_CPU => Ok((args.handle, SyncTarget::Cpu)),
        SYNC_FOR_DEVICE => Ok((args.handle, SyncTarget::Device)),
        _ => Err(EINVAL),
    }
}

/// Checks the input fields of RELEASE.
pub(crate) fn release_request(args: &uio_dmabuf_release) -> Result<u32> {
    if args.reserved != 0 {
        return Err(EINVAL);
    }
    Ok(args.handle)
}

#[kunit_tests(uio_dmabuf_uapi)]
mod tests {
    use super::*;
    use kernel::uapi::{
        uio_dmabuf_import as ImportArgs,
        uio_dmabuf_info as InfoArgs,
        uio_dmabuf_release as ReleaseArgs,
        uio_dmabuf_segments as SegmentsArgs,
        uio_dmabuf_sync as SyncArgs, //
    };

    fn import() -> ImportArgs {
        ImportArgs {
            uio_fd: 3,
            dmabuf_fd: 4,
            direction: uapi::UIO_DMABUF_DIR_TO_DEVICE,
            segments: 0x1000,
            capacity: 8,
            ..Default::default()
        }
    }

    #[test]
    fn valid_import_is_accepted() -> Result {
        let req = import_request(&import())?;
        assert_eq!(
            req,
            ImportRequest {
                uio_fd: 3,
                dmabuf_fd: 4,
                direction: DataDirection::ToDevice,
                contiguous: false,
                segments: 0x1000,
                capacity: 8
            }
        );
        let contiguous = ImportArgs {
            flags: IMPORT_CONTIGUOUS,
            ..import()
        };
        assert!(import_request(&contiguous)?.contiguous);
        Ok(())
    }

    #[test]
    fn import_rejects_bad_fields() {
        assert_eq!(
            import_request(&ImportArgs {
                direction: 3,
                ..import()
            }),
            Err(EINVAL)
        );
        assert_eq!(
            import_request(&ImportArgs {
                direction: u32::MAX,
                ..import()
            }),
            Err(EINVAL)
        );
        assert_eq!(
            import_request(&ImportArgs {
                flags: 1 << 1,
                ..import()
            }),
            Err(EINVAL)
        );
        assert_eq!(
            import_request(&ImportArgs {
                flags: 1 << 31,
                ..import()
            }),
            Err(EINVAL)
        );
        assert_eq!(
            import_request(&ImportArgs {
                reserved0: 1,
                ..import()
            }),
            Err(EINVAL)
        );
        assert_eq!(
            import_request(&ImportArgs {
                reserved: [0, 1],
                ..import()
            }),
            Err(EINVAL)
        );
        assert_eq!(
            import_request(&ImportArgs {
                segments: 0,
                ..import()
            }),
            Err(EINVAL)
        );
    }

    #[test]
    fn null_array_with_zero_capacity_is_fine() -> Result {
        let req = import_request(&ImportArgs {
            segments: 0,
            capacity: 0,
            ..import()
        })?;
        assert_eq!((req.segments, req.capacity), (0, 0));
        Ok(())
    }

    #[test]
    fn directions_map_to_dma_api() {
        assert_eq!(direction(0), Ok(DataDirection::Bidirectional));
        assert_eq!(direction(1), Ok(DataDirection::ToDevice));
        assert_eq!(direction(2), Ok(DataDirection::FromDevice));
        // DMA_NONE (3) is not a direction to DMA in.
        assert_eq!(direction(3), Err(EINVAL));
    }

    #[test]
    fn sync_needs_exactly_one_target() {
        let sync = |flags, reserved| {
            sync_request(&SyncArgs {
                handle: 1,
                flags,
                reserved,
            })
        };
        assert_eq!(sync(SYNC_FOR_CPU, 0), Ok((1, SyncTarget::Cpu)));
        assert_eq!(sync(SYNC_FOR_DEVICE, 0), Ok((1, SyncTarget::Device)));
        assert_eq!(sync(0, 0), Err(EINVAL));
        assert_eq!(sync(SYNC_FOR_CPU | SYNC_FOR_DEVICE, 0), Err(EINVAL));
        assert_eq!(sync(1 << 2, 0), Err(EINVAL));
        assert_eq!(sync(SYNC_FOR_CPU, 1), Err(EINVAL));
    }

    #[test]
    fn reserved_fields_must_be_zero() {
        assert_eq!(
            info_request(&InfoArgs {
                reserved: [1, 0],
                ..Default::default()
            }),
            Err(EINVAL)
        );
        assert_eq!(
            release_request(&ReleaseArgs {
                handle: 1,
                reserved: 1
            }),
            Err(EINVAL)
        );
        let segs = SegmentsArgs {
            handle: 1,
            reserved: 1,
            ..Default::default()
        };
        assert_eq!(segments_request(&segs), Err(EINVAL));
        let segs = SegmentsArgs {
            handle: 1,
            reserved0: 1,
            ..Default::default()
        };
        assert_eq!(segments_request(&segs), Err(EINVAL));
    }

    #[test]
    fn ioctl_numbers_match_the_header() {
        // _IOWR(0xDB, 0x01, 64 bytes) computed by hand: dir 3 << 30 | size << 16 | magic << 8 | nr.
        assert_eq!(IOC_IMPORT, (3 << 30) | (64 << 16) | (0xDB << 8) | 0x01);
        assert_eq!(IOC_RELEASE, (1 << 30) | (8 << 16) | (0xDB << 8) | 0x04);
    }
}
