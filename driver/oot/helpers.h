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

struct clk_bulk_data;
struct device;
struct dma_buf;
struct file;
struct file_operations;
struct pci_dev;
struct resource;

void uio_dmabuf_helper_sync_single_for_cpu(struct device *dev, dma_addr_t addr, size_t size,
					   enum dma_data_direction dir);
void uio_dmabuf_helper_sync_single_for_device(struct device *dev, dma_addr_t addr, size_t size,
					      enum dma_data_direction dir);
unsigned int uio_dmabuf_helper_max_seg_size(struct device *dev);
u64 uio_dmabuf_helper_dma_mask(struct device *dev);
u64 uio_dmabuf_helper_coherent_dma_mask(struct device *dev);
void uio_dmabuf_helper_set_max_seg_size(struct device *dev, unsigned int size);
bool uio_dmabuf_helper_dma_need_sync(struct device *dev, dma_addr_t addr);
bool uio_dmabuf_helper_dma_translated(struct device *dev);
bool uio_dmabuf_helper_dma_coherent(struct device *dev);
void uio_dmabuf_helper_irq_unlazy_if_level(unsigned int irq);
bool uio_dmabuf_helper_irq_maskable_atomic(unsigned int irq);
int uio_dmabuf_helper_clk_bulk_get_all(struct device *dev, struct clk_bulk_data **clks);
int uio_dmabuf_helper_clk_bulk_prepare_enable(int count, struct clk_bulk_data *clks);
void uio_dmabuf_helper_clk_bulk_disable_unprepare(int count, struct clk_bulk_data *clks);
void uio_dmabuf_helper_clk_bulk_put_all(int count, struct clk_bulk_data *clks);
void uio_dmabuf_helper_pm_runtime_enable(struct device *dev);
void uio_dmabuf_helper_pm_runtime_disable(struct device *dev);
int uio_dmabuf_helper_pm_runtime_resume_and_get(struct device *dev);
void uio_dmabuf_helper_pm_runtime_put_sync(struct device *dev);
unsigned long uio_dmabuf_helper_bar_flags(struct pci_dev *pdev, int bar);
struct resource *uio_dmabuf_helper_bar_resource(struct pci_dev *pdev, int bar);
unsigned int uio_dmabuf_helper_pci_irq(struct pci_dev *pdev);
bool uio_dmabuf_helper_intx_mask_supported(struct pci_dev *pdev);
dev_t uio_dmabuf_helper_file_rdev(struct file *file);
const struct file_operations *uio_dmabuf_helper_file_cdev_ops(struct file *file);
const struct file_operations *uio_dmabuf_helper_file_ops(struct file *file);
void *uio_dmabuf_helper_file_private(struct file *file);
bool uio_dmabuf_helper_file_writable(struct file *file);
/* Whether the caller is an exiting task or a kernel thread (PF_EXITING, PF_KTHREAD). */
bool uio_dmabuf_helper_current_exiting(void);
void uio_dmabuf_helper_cond_resched(void);
void uio_dmabuf_helper_get_dma_buf(struct dma_buf *dmabuf);

#endif
