/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * libuio-dmabuf: the C library over the uio_dmabuf uapi (<linux/uio_dmabuf.h>).
 *
 * A userspace driver opens a device bound to the uio_dmabuf kernel driver,
 * imports dma-bufs into it and programs its DMA engine with the device
 * addresses the import returns:
 *
 *	struct udb_device *dev;
 *	struct udb_import *buf;
 *	uint64_t addr, run;
 *	int err = udb_open("0000:00:03.0", &dev);      // or "fd500000.dma-controller", "uio0"
 *	if (!err)
 *		err = udb_import(dev, dmabuf_fd, UIO_DMABUF_DIR_TO_DEVICE, 0, &buf);
 *	if (!err)
 *		err = udb_dma_addr(buf, 0, &addr, &run);   // run: bytes contiguous from there
 *	// CPU writes the buffer, then:
 *	udb_sync(buf, UIO_DMABUF_SYNC_FOR_DEVICE);
 *	// program the device with addr (mmap udb_uio_fd(dev) for its registers,
 *	// read() it for interrupts), and after the device wrote a buffer:
 *	udb_sync(buf, UIO_DMABUF_SYNC_FOR_CPU);
 *	udb_release(buf);
 *	udb_close(dev);
 *
 * Errors: every int-returning function returns 0 (or a count) on success and
 * a negative errno on failure, the kernel's errno where an ioctl failed (the
 * errno table of README.md); errno itself is unspecified afterwards. Nothing
 * is printed.
 *
 * Threads: functions may be called from any number of threads at once on the
 * same or different devices and imports (each call is one or more ioctls on
 * file descriptors the objects own; the kernel serializes them), except that
 * an object must not be used while or after it is released or closed, as
 * with free(). udb_close() releases the imports of the device that are left.
 *
 * File descriptors are opened with O_CLOEXEC. A forked child shares them: its
 * imports are the parent's (they belong to the open file of /dev/uio-dmabuf).
 */
#ifndef UIO_DMABUF_LIB_H
#define UIO_DMABUF_LIB_H

#include <stddef.h>
#include <stdint.h>

#include <linux/uio_dmabuf.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A device bound to uio_dmabuf: its /dev/uioN and a file of /dev/uio-dmabuf. */
struct udb_device;

/* A dma-buf imported into a device: its handle and whole segment list. */
struct udb_import;

/*
 * Opens the device called `name`: a PCI address ("0000:00:03.0"), a platform
 * device's name ("fd500000.dma-controller"), a UIO node ("uio3") or its path
 * ("/dev/uio3"). Checks that uio_dmabuf drives it and that the kernel speaks
 * UIO_DMABUF_ABI_VERSION.
 * -ENODEV: no such device, or no UIO node (unbound); -EBUSY: the device is
 * bound to another driver; -EPROTO: another ABI version; -EINVAL: NULL
 * arguments or an empty name; the errno of opening /dev/uioN or
 * /dev/uio-dmabuf (-EACCES, -ENOENT when the module is not loaded, ...);
 * -ENOMEM.
 */
int udb_open(const char *name, struct udb_device **devp);

/* Releases the device's remaining imports and closes its files. NULL: nothing. */
void udb_close(struct udb_device *dev);

/* The open file descriptor of the device's /dev/uioN: mmap it for the
 * device's memory maps (map N at offset N * page size), read() it to wait for
 * an interrupt, write() 1 to re-enable it. Owned by the device. */
int udb_uio_fd(const struct udb_device *dev);

/* The device's UIO node name, "uioN". */
const char *udb_uio_name(const struct udb_device *dev);

/* What the device can address and its limits (UIO_DMABUF_IOC_INFO). */
int udb_info(const struct udb_device *dev, struct uio_dmabuf_info *info);

/*
 * Imports dma-buf `dmabuf_fd` for DMA by the device in `direction`
 * (UIO_DMABUF_DIR_*), with `flags` (UIO_DMABUF_IMPORT_*), and reads its whole
 * segment list. The kernel's errno on failure (-EEXIST: already imported for
 * this device; -ERANGE, -ENOSPC, -EDQUOT, -E2BIG, ...), -EINVAL for NULL
 * arguments, -ENOMEM; nothing stays imported then.
 */
int udb_import(struct udb_device *dev, int dmabuf_fd, uint32_t direction, uint32_t flags,
	       struct udb_import **impp);

/* The import's handle, as the ioctls name it. */
uint32_t udb_handle(const struct udb_import *imp);

/* The dma-buf's size in bytes. */
uint64_t udb_size(const struct udb_import *imp);

/* The DMA segments, in buffer order, covering udb_size() bytes. */
const struct uio_dmabuf_segment *udb_segments(const struct udb_import *imp, uint32_t *count);

/*
 * The device address of byte `offset` of the buffer, and in *run (if not
 * NULL) how many bytes from there are contiguous in device address space (to
 * the end of its segment). -ERANGE past the end of the buffer.
 */
int udb_dma_addr(const struct udb_import *imp, uint64_t offset, uint64_t *addr, uint64_t *run);

/* UIO_DMABUF_IOC_SYNC: `flags` is UIO_DMABUF_SYNC_FOR_CPU or _FOR_DEVICE. */
int udb_sync(struct udb_import *imp, uint32_t flags);

/*
 * Unmaps and drops the import (UIO_DMABUF_IOC_RELEASE) and frees `imp`, which
 * is gone even if the kernel reported an error (returned). NULL: 0.
 */
int udb_release(struct udb_import *imp);

#ifdef __cplusplus
}
#endif

#endif /* UIO_DMABUF_LIB_H */
