// SPDX-License-Identifier: GPL-2.0
/*
 * Out-of-line wrappers for static inline kernel functions and macros used by the
 * Rust side (declared in helpers.h, bound by bindgen). Like rust/helpers/ in the
 * kernel tree: no logic here, only the call.
 */
#include <linux/cdev.h>
#include <linux/clk.h>
#include <linux/dma-buf.h>
#include <linux/dma-map-ops.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/iommu.h>
#include <linux/irq.h>
#include <linux/pci.h>
#include <linux/pm_runtime.h>
#include <linux/sched.h>
#include "helpers.h"

void uio_dmabuf_helper_sync_single_for_cpu(struct device *dev, dma_addr_t addr, size_t size,
					   enum dma_data_direction dir)
{
	dma_sync_single_for_cpu(dev, addr, size, dir);
}

void uio_dmabuf_helper_sync_single_for_device(struct device *dev, dma_addr_t addr, size_t size,
					      enum dma_data_direction dir)
{
	dma_sync_single_for_device(dev, addr, size, dir);
}

unsigned int uio_dmabuf_helper_max_seg_size(struct device *dev)
{
	return dma_get_max_seg_size(dev);
}

u64 uio_dmabuf_helper_dma_mask(struct device *dev)
{
	return dma_get_mask(dev);
}

u64 uio_dmabuf_helper_coherent_dma_mask(struct device *dev)
{
	return dev->coherent_dma_mask;
}

void uio_dmabuf_helper_set_max_seg_size(struct device *dev, unsigned int size)
{
	dma_set_max_seg_size(dev, size);
}

bool uio_dmabuf_helper_dma_need_sync(struct device *dev, dma_addr_t addr)
{
	return dma_need_sync(dev, addr);
}

/* Whether an IOMMU translates the device's DMA (a DMA domain, not identity). */
bool uio_dmabuf_helper_dma_translated(struct device *dev)
{
	struct iommu_domain *domain;

	if (!device_iommu_mapped(dev))
		return false;
	domain = iommu_get_domain_for_dev(dev);
	return domain && iommu_is_dma_domain(domain);
}

unsigned long uio_dmabuf_helper_bar_flags(struct pci_dev *pdev, int bar)
{
	return pci_resource_flags(pdev, bar);
}

struct resource *uio_dmabuf_helper_bar_resource(struct pci_dev *pdev, int bar)
{
	return pci_resource_n(pdev, bar);
}

unsigned int uio_dmabuf_helper_pci_irq(struct pci_dev *pdev)
{
	return pdev->irq;
}

bool uio_dmabuf_helper_intx_mask_supported(struct pci_dev *pdev)
{
	return pci_intx_mask_supported(pdev);
}

/* Whether the device's DMA is cache-coherent (true where no architecture
 * cache maintenance exists, as on x86). */
bool uio_dmabuf_helper_dma_coherent(struct device *dev)
{
	return dev_is_dma_coherent(dev);
}

/*
 * For a level-triggered line: disable_irq_nosync() masks it at once rather
 * than lazily on its next assertion (as uio_pdrv_genirq does: the device
 * keeps the line asserted until userspace acknowledges it).
 */
void uio_dmabuf_helper_irq_unlazy_if_level(unsigned int irq)
{
	if (irq_get_trigger_type(irq) & IRQ_TYPE_LEVEL_MASK)
		irq_set_status_flags(irq, IRQ_DISABLE_UNLAZY);
}

/* The bulk clock API (stubs without a clock framework). */
int uio_dmabuf_helper_clk_bulk_get_all(struct device *dev, struct clk_bulk_data **clks)
{
	return clk_bulk_get_all(dev, clks);
}

int uio_dmabuf_helper_clk_bulk_prepare_enable(int count, struct clk_bulk_data *clks)
{
	return clk_bulk_prepare_enable(count, clks);
}

void uio_dmabuf_helper_clk_bulk_disable_unprepare(int count, struct clk_bulk_data *clks)
{
	clk_bulk_disable_unprepare(count, clks);
}

void uio_dmabuf_helper_clk_bulk_put_all(int count, struct clk_bulk_data *clks)
{
	clk_bulk_put_all(count, clks);
}

/* Runtime PM, as uio_pdrv_genirq uses it (stubs without CONFIG_PM). */
void uio_dmabuf_helper_pm_runtime_enable(struct device *dev)
{
	pm_runtime_enable(dev);
}

void uio_dmabuf_helper_pm_runtime_disable(struct device *dev)
{
	pm_runtime_disable(dev);
}

int uio_dmabuf_helper_pm_runtime_resume_and_get(struct device *dev)
{
	return pm_runtime_resume_and_get(dev);
}

void uio_dmabuf_helper_pm_runtime_put_sync(struct device *dev)
{
	pm_runtime_put_sync(dev);
}

/*
 * Whether disable_irq_nosync()/enable_irq() of irq work from its hard-IRQ
 * handler and under a spinlock: not for an interrupt controller that sleeps
 * to reach the hardware (irq_bus_lock) or for an interrupt handled nested in
 * its parent's thread (whose primary handler never runs).
 */
bool uio_dmabuf_helper_irq_maskable_atomic(unsigned int irq)
{
	struct irq_chip *chip = irq_get_chip(irq);

	return chip && !chip->irq_bus_lock && !irq_check_status_bit(irq, IRQ_NESTED_THREAD);
}

dev_t uio_dmabuf_helper_file_rdev(struct file *file)
{
	struct inode *inode = file_inode(file);

	return S_ISCHR(inode->i_mode) ? inode->i_rdev : 0;
}

/*
 * The file operations of the character device a file of device number
 * file_rdev() was opened through (chrdev_open() installs them from the cdev
 * it records in the inode), or NULL if the inode has none.
 */
const struct file_operations *uio_dmabuf_helper_file_cdev_ops(struct file *file)
{
	struct inode *inode = file_inode(file);

	return inode->i_cdev ? inode->i_cdev->ops : NULL;
}

const struct file_operations *uio_dmabuf_helper_file_ops(struct file *file)
{
	return file->f_op;
}

void *uio_dmabuf_helper_file_private(struct file *file)
{
	return file->private_data;
}

bool uio_dmabuf_helper_file_writable(struct file *file)
{
	return file->f_mode & FMODE_WRITE;
}

bool uio_dmabuf_helper_current_exiting(void)
{
	return current->flags & (PF_EXITING | PF_KTHREAD);
}

void uio_dmabuf_helper_cond_resched(void)
{
	cond_resched();
}

void uio_dmabuf_helper_get_dma_buf(struct dma_buf *dmabuf)
{
	get_dma_buf(dmabuf);
}
