/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * uio_dmabuf: let UIO (userspace) drivers DMA into imported dma-bufs.
 *
 * /dev/uio-dmabuf is the import front-end for every device (PCI or platform)
 * bound to the uio_dmabuf driver. A process names the target device by passing
 * an open file descriptor of that device's /dev/uioN: whoever may open the UIO
 * device may DMA with it, and nobody else (the capability model). The driver
 * attaches the dma-buf to the device itself, so IOMMU translation, swiotlb
 * bouncing and cache maintenance apply, maps it, and returns the DMA segments.
 * Imports belong to the open file of /dev/uio-dmabuf: closing it (or the
 * process dying) releases them all.
 *
 * Layout: only __u32/__u64/__s32 fields, explicit padding, every struct a
 * multiple of 8 bytes, so 32- and 64-bit userspace share one ABI. Fields named
 * "reserved" must be zero on input (else -EINVAL) and are zero on output.
 *
 * ioctl magic 0xDB ("dma-buf"), numbers 0x00-0x0F; unused in
 * Documentation/userspace-api/ioctl/ioctl-number.rst as of Linux 7.3.
 *
 * Errors common to all ioctls: -ENOTTY for an unknown ioctl number (including
 * ours with a wrong size or direction), -EFAULT for an argument pointer that
 * cannot be read or written, -EINVAL for a non-zero reserved field or an
 * unknown flag. The full errno table is in
 * Documentation/userspace-api/uio-dmabuf.rst (README.md out of tree).
 */
#ifndef _UAPI_UIO_DMABUF_H
#define _UAPI_UIO_DMABUF_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define UIO_DMABUF_ABI_VERSION 2
#define UIO_DMABUF_DEVICE "/dev/uio-dmabuf"
#define UIO_DMABUF_IOCTL_MAGIC 0xDB

/* DMA direction of an import; values equal the kernel's enum dma_data_direction. */
#define UIO_DMABUF_DIR_BIDIRECTIONAL 0
#define UIO_DMABUF_DIR_TO_DEVICE 1   /* the device reads the buffer */
#define UIO_DMABUF_DIR_FROM_DEVICE 2 /* the device writes the buffer */

/* One DMA segment: len bytes at device address dma_addr. */
struct uio_dmabuf_segment {
	__u64 dma_addr;
	__u64 len;
};

/* uio_dmabuf_info.flags */
#define UIO_DMABUF_INFO_IOMMU (1u << 0) /* an IOMMU translates the device's DMA */
/*
 * Part of RAM lies beyond the device's DMA mask, there is no IOMMU, and
 * nothing can bounce those pages for the device: the mask is below 32 bits
 * (swiotlb's pool lies below 4 GiB, not below such a mask) or swiotlb is not
 * active (swiotlb=noforce, or not set up). Every import fails with -ERANGE
 * rather than only those whose pages happen to lie too high; the device would
 * otherwise get addresses it truncates.
 */
#define UIO_DMABUF_INFO_UNREACHABLE_MEMORY (1u << 1)
/*
 * The device's DMA is not cache-coherent with the CPUs (arm64 platform devices
 * without "dma-coherent", for one): SYNC does the cache maintenance, so every
 * CPU access to a buffer the device reads or writes must be bracketed by SYNC
 * as described at UIO_DMABUF_IOC_SYNC.
 */
#define UIO_DMABUF_INFO_NONCOHERENT (1u << 2)

/*
 * UIO_DMABUF_IOC_INFO: what the device behind uio_fd can address, and the
 * limits of this file and of the device. uio_fd may be open read-only.
 */
struct uio_dmabuf_info {
	__s32 uio_fd;             /* in: open fd of the device's /dev/uioN */
	__u32 abi_version;        /* out: UIO_DMABUF_ABI_VERSION */
	__u64 dma_mask;           /* out: highest address the device can reach */
	__u64 max_segment_size;   /* out: no returned segment is longer */
	__u32 flags;              /* out: UIO_DMABUF_INFO_* */
	__u32 max_imports;        /* out: limit of live imports per open file */
	__u64 max_mapped_bytes;   /* out: limit of imported bytes per open file */
	__u32 max_device_imports; /* out: limit of live imports of the device (all files) */
	__u32 reserved0;
	__u64 max_device_mapped_bytes; /* out: limit of imported bytes of the device */
	__u64 reserved[2];
};

/* uio_dmabuf_import.flags */
#define UIO_DMABUF_IMPORT_CONTIGUOUS (1u << 0) /* fail with -E2BIG unless one segment */

/*
 * UIO_DMABUF_IOC_IMPORT: attach dmabuf_fd to the device behind uio_fd (open
 * for writing: programming DMA is writing to the device), map it for DMA in
 * `direction`, and return a handle, the buffer size and the segment count.
 * Up to `capacity` segments are written to the array at `segments` (which
 * may be 0 when capacity is 0); read the rest with
 * UIO_DMABUF_IOC_SEGMENTS. Segments that are contiguous in DMA space are merged
 * up to max_segment_size. A dma-buf is imported at most once per device, by any
 * open file (-EEXIST): share the handle instead.
 */
struct uio_dmabuf_import {
	__s32 uio_fd;             /* in */
	__s32 dmabuf_fd;          /* in */
	__u32 direction;          /* in: UIO_DMABUF_DIR_* */
	__u32 flags;              /* in: UIO_DMABUF_IMPORT_* */
	__u64 segments;           /* in: user pointer to struct uio_dmabuf_segment[capacity] */
	__u32 capacity;           /* in: entries at segments */
	__u32 handle;             /* out: names the import in later ioctls; never 0 */
	__u64 size;               /* out: dma-buf size in bytes */
	__u32 nr_segments;        /* out: total number of segments */
	__u32 reserved0;
	__u64 reserved[2];
};

/*
 * UIO_DMABUF_IOC_SEGMENTS: copy segments [first, first + capacity) of an import
 * (fewer at the end of the list) to `segments`.
 */
struct uio_dmabuf_segments {
	__u32 handle;             /* in */
	__u32 first;              /* in: index of the first segment; <= nr_segments */
	__u64 segments;           /* in: user pointer to struct uio_dmabuf_segment[capacity] */
	__u32 capacity;           /* in */
	__u32 count;              /* out: segments written */
	__u32 nr_segments;        /* out: total number of segments */
	__u32 reserved0;
	__u64 reserved;
};

/* uio_dmabuf_sync.flags: exactly one of */
#define UIO_DMABUF_SYNC_FOR_CPU (1u << 0)    /* after device DMA, before the CPU reads */
#define UIO_DMABUF_SYNC_FOR_DEVICE (1u << 1) /* after the CPU writes, before device DMA */

/*
 * UIO_DMABUF_IOC_SYNC: hand this import's mapping to the CPU or the device:
 * dma_sync_single_for_cpu/for_device over each DMA segment (behind an IOMMU,
 * over each physically contiguous run of it). Required around every DMA
 * whenever the mapping may not be coherent: swiotlb bounce buffers (a device
 * that cannot reach the pages), non-coherent architectures, and exporters
 * whose DMA_BUF_IOCTL_SYNC does not reach importers (udmabuf). Where the DMA
 * API says the mapping needs no sync (dma_need_sync), it returns at once.
 */
struct uio_dmabuf_sync {
	__u32 handle;             /* in */
	__u32 flags;              /* in: UIO_DMABUF_SYNC_* */
	__u64 reserved;
};

/* UIO_DMABUF_IOC_RELEASE: unmap, detach and drop the import. */
struct uio_dmabuf_release {
	__u32 handle;             /* in */
	__u32 reserved;
};

#define UIO_DMABUF_IOC_INFO     _IOWR(UIO_DMABUF_IOCTL_MAGIC, 0x00, struct uio_dmabuf_info)
#define UIO_DMABUF_IOC_IMPORT   _IOWR(UIO_DMABUF_IOCTL_MAGIC, 0x01, struct uio_dmabuf_import)
#define UIO_DMABUF_IOC_SEGMENTS _IOWR(UIO_DMABUF_IOCTL_MAGIC, 0x02, struct uio_dmabuf_segments)
#define UIO_DMABUF_IOC_SYNC     _IOW(UIO_DMABUF_IOCTL_MAGIC, 0x03, struct uio_dmabuf_sync)
#define UIO_DMABUF_IOC_RELEASE  _IOW(UIO_DMABUF_IOCTL_MAGIC, 0x04, struct uio_dmabuf_release)

#endif /* _UAPI_UIO_DMABUF_H */
