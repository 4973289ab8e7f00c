// SPDX-License-Identifier: GPL-2.0
/*
 * dev_dma_params: shows the DMA parameters of every PCI device, only in the
 * test image.
 *
 * The DMA mask, the coherent mask and the maximum segment size a driver leaves
 * behind are not visible from userspace otherwise (sysfs has the masks' widths
 * only, nothing has the segment size). On load it creates
 * /sys/kernel/debug/dev_dma_params/<PCI address>, one file per device, which
 * reads "mask 0x... coherent 0x... max_seg_size N" at the time of the read.
 */
#include <linux/debugfs.h>
#include <linux/dma-mapping.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/seq_file.h>

static struct dentry *dir;

static int params_show(struct seq_file *m, void *unused)
{
	struct device *dev = m->private;

	seq_printf(m, "mask %#llx coherent %#llx max_seg_size %u\n",
		   (unsigned long long)dma_get_mask(dev),
		   (unsigned long long)dev->coherent_dma_mask, dma_get_max_seg_size(dev));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(params);

static int __init dev_dma_params_init(void)
{
	struct pci_dev *pdev = NULL;

	dir = debugfs_create_dir("dev_dma_params", NULL);
	/* The files hold no reference: the test guest never removes a device. */
	for_each_pci_dev(pdev)
		debugfs_create_file(pci_name(pdev), 0444, dir, &pdev->dev, &params_fops);
	return 0;
}

static void __exit dev_dma_params_exit(void)
{
	debugfs_remove_recursive(dir);
}

module_init(dev_dma_params_init);
module_exit(dev_dma_params_exit);
MODULE_DESCRIPTION("Test only: the DMA parameters of every PCI device in debugfs");
MODULE_LICENSE("GPL");
