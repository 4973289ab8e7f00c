/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * libuio-dmabuf-metal: a libmetal bus named "uio_dmabuf" for devices bound to
 * the uio_dmabuf kernel driver, for an unmodified libmetal (Linux backend).
 *
 *	struct metal_init_params params = METAL_INIT_DEFAULTS;
 *	struct metal_device *dev;
 *	struct metal_io_region *regs, *buf;
 *
 *	metal_init(&params);                    // needs uio_pci_generic or
 *	uio_dmabuf_metal_init();                //   uio_pdrv_genirq present, see below
 *	metal_device_open("uio_dmabuf", "0000:00:03.0", &dev);
 *	regs = metal_device_io_region(dev, 0);  // map 0: BAR0, the first reg
 *	metal_irq_register((intptr_t)dev->irq_info, handler, arg);
 *	metal_irq_enable((intptr_t)dev->irq_info);
 *	uio_dmabuf_metal_import(dev, dmabuf_fd, METAL_DMA_DEV_R, 0, &buf);
 *	// the CPU fills buf (metal_io_block_write, or through buf->virt), then
 *	metal_dma_map(dev, METAL_DMA_DEV_R, &sg, 1, &sg);   // hands it to the device
 *	metal_io_write64(regs, SRC, metal_io_phys(buf, 0));  // device address
 *	...
 *	metal_dma_unmap(dev, METAL_DMA_DEV_R, &sg, 1);      // back to the CPU
 *	uio_dmabuf_metal_release(buf);
 *	metal_device_close(dev);
 *	uio_dmabuf_metal_finish();
 *	metal_finish();
 *
 * Devices: metal_device_open("uio_dmabuf", NAME) with a PCI address, a
 * platform device's name or a UIO node ("uio3"), as libuio-dmabuf's udb_open()
 * takes them: -ENODEV for an unknown or unbound device, -EBUSY for one bound
 * to another driver. Its regions are the UIO maps in order (a map that cannot
 * be mapped keeps its index with size 0); metal_io_phys() of a region is the
 * bus address of the register. Its interrupt, if it has one, is libmetal's
 * IRQ number (intptr_t)dev->irq_info (the /dev/uioN file descriptor; irq_num
 * is 1), acknowledged by the bus after a handler returns METAL_IRQ_HANDLED
 * (read and re-enable through /dev/uioN): the handler must acknowledge the
 * interrupt at the device and must not call metal_irq_enable or
 * metal_irq_disable (libmetal holds its IRQ lock while it runs).
 *
 * Buffers: uio_dmabuf_metal_import() imports a dma-buf for DMA by the device
 * and returns it as a metal_io_region over the CPU mapping whose translation
 * gives device addresses: metal_io_phys(io, offset) is the DMA address of
 * byte `offset`, metal_io_phys_to_offset() goes back (the region's ops do
 * it, for segments at any alignment; its physmap also holds each page's
 * device address where every segment starts a page). Addresses
 * are contiguous only within a segment: uio_dmabuf_metal_contiguous() tells
 * how far, and UIO_DMABUF_IMPORT_CONTIGUOUS asks for a single segment. A
 * buffer belongs to the CPU after import; metal_dma_map() of scatter entries
 * in it hands it to the device (the exporter's DMA_BUF_IOCTL_SYNC end of CPU
 * access, then SYNC FOR_DEVICE; once, however many entries lie in it, and for
 * all entries or none), metal_dma_unmap() back to the CPU (DMA_BUF_IOCTL_SYNC
 * start, then SYNC FOR_CPU: udmabuf's own sync, under forced bouncing, would
 * otherwise copy stale data over what the device wrote). Every entry must lie within one
 * import of this device, and the direction must be one the import allows
 * (METAL_DMA_DEV_R: imported DEV_R or DEV_WR; ...), else -EINVAL. Entries are
 * not split (libmetal gives no room to): a DMA transfer must not cross a
 * segment boundary.
 *
 * libmetal facts this relies on (v2026.04.0): metal_init() succeeds only when
 * one of the drivers its own Linux buses know (uio_pdrv_genirq,
 * uio_dmem_genirq, uio_pci_generic, vfio-pci) exists, loaded or built in; its
 * IRQ thread does not start otherwise. It uses the internal
 * metal_linux_irq_register_dev(), which libmetal exports. Interrupt numbers
 * are file descriptors below 1023: opening fails with -EMFILE otherwise.
 * metal_phys_addr_t is an unsigned long: on 32-bit userspace an import with
 * a device address above 4 GiB fails with -ERANGE.
 *
 * Errors are negative errnos. Any thread may import, release, map and unmap
 * (the bus keeps its lists under a lock); a region must not be used while or
 * after it is released, nor a device while or after it is closed. Closing a
 * device also disables and unregisters its interrupt, waiting for a handler
 * that runs.
 */
#ifndef UIO_DMABUF_METAL_H
#define UIO_DMABUF_METAL_H

#include <stddef.h>
#include <stdint.h>

#include <metal/device.h>
#include <metal/io.h>

#include "uio-dmabuf.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The bus's name, as metal_device_open() takes it. */
#define UIO_DMABUF_METAL_BUS "uio_dmabuf"

/* Registers the "uio_dmabuf" bus; after metal_init(). Idempotent. */
int uio_dmabuf_metal_init(void);

/* Closes the bus's open devices and unregisters it; before metal_finish(). */
void uio_dmabuf_metal_finish(void);

/*
 * Imports dma-buf `dmabuf_fd` (not taken: the caller still closes it) into
 * `dev` for DMA in `dir` (METAL_DMA_DEV_R, _W or _WR), with `flags`
 * (UIO_DMABUF_IMPORT_*), maps it for the CPU and returns it as a region in
 * *io. -EINVAL: not a device of this bus, or a bad direction; -ERANGE: an
 * address metal_phys_addr_t cannot hold, or a size libmetal's cannot;
 * the import's errors (see udb_import()); -ENOMEM.
 */
int uio_dmabuf_metal_import(struct metal_device *dev, int dmabuf_fd, uint32_t dir,
			    uint32_t flags, struct metal_io_region **io);

/* Releases an import and its region (gone afterwards). */
int uio_dmabuf_metal_release(struct metal_io_region *io);

/* How many bytes from `offset` of an imported region are contiguous in
 * device address space; 0 past its end or for a region that is no import. */
size_t uio_dmabuf_metal_contiguous(struct metal_io_region *io, unsigned long offset);

/* The libuio-dmabuf device behind a device of this bus (its INFO, fds). */
struct udb_device *uio_dmabuf_metal_udb(struct metal_device *dev);

#ifdef __cplusplus
}
#endif

#endif /* UIO_DMABUF_METAL_H */
