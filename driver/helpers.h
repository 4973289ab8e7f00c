/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Out-of-line wrappers for static inline kernel functions and macros that the
 * Rust side of uio_dmabuf needs but kernel::bindings does not provide. Each does
 * exactly what the wrapped function does; see helpers.c.
 */
#ifndef UIO_DMABUF_HELPERS_H
#define UIO_DMABUF_HELPERS_H

#include <linux/dma-direction.h>
#include <linux/types.h>

struct device;
struct dma_buf;
struct file;
struct pci_dev;

void uio_dmabuf_helper_sync_single_for_cpu(struct device *dev, dma_addr_t addr, size_t size,
					   enum dma_data_direction dir);
void uio_dmabuf_helper_sync_single_for_device(struct device *dev, dma_addr_t addr, size_t size,
					      enum dma_data_direction dir);
unsigned int uio_dmabuf_helper_max_seg_size(struct device *dev);
u64 uio_dmabuf_helper_dma_mask(struct device *dev);
bool uio_dmabuf_helper_dma_translated(struct device *dev);
unsigned long uio_dmabuf_helper_bar_flags(struct pci_dev *pdev, int bar);
unsigned int uio_dmabuf_helper_pci_irq(struct pci_dev *pdev);
bool uio_dmabuf_helper_intx_mask_supported(struct pci_dev *pdev);
dev_t uio_dmabuf_helper_file_rdev(struct file *file);
void uio_dmabuf_helper_get_dma_buf(struct dma_buf *dmabuf);

#endif
