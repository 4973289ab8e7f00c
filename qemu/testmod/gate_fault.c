// SPDX-License-Identifier: GPL-2.0
/*
 * gate_fault: a deliberately faulty module, only in the test image.
 *
 * It proves that qemu/run's kernel-log gate fails a run whose command exited 0.
 * Loading it with fault=NAME triggers one class of report:
 *   warn     a WARN()                                  -> "WARNING:"
 *   kasan    a one-byte heap out-of-bounds read        -> "BUG: KASAN: slab-out-of-bounds"
 *   lockdep  two mutexes taken in both orders          -> "possible circular locking"
 *   leak     kmalloc'd buffers whose pointers are lost -> kmemleak "unreferenced object"
 *   bug      BUG()                                     -> "kernel BUG at", "Oops"
 *   irqlock  a spinlock taken in a timer (softirq) and
 *            with softirqs enabled                     -> "inconsistent lock state"
 *   dmaapi   an unmap of a DMA address never mapped,
 *            for the first edu device                  -> "DMA-API: ... has not allocated"
 *   panic    panic()                                   -> "Kernel panic"
 *   none     nothing (the control case)
 */
#include <linux/compiler.h>
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/timer.h>

static char *fault = "none";
module_param(fault, charp, 0444);
MODULE_PARM_DESC(fault,
		 "which report to trigger: none, warn, kasan, lockdep, leak, bug, irqlock, dmaapi, panic");

static DEFINE_MUTEX(lock_a);
static DEFINE_MUTEX(lock_b);
static DEFINE_SPINLOCK(irq_lock);

static void irq_lock_timer_fn(struct timer_list *t)
{
	spin_lock(&irq_lock);
	spin_unlock(&irq_lock);
}

/* Taken with softirqs enabled here, and from a timer, i.e. in softirq context. */
static void irq_lock_misuse(void)
{
	struct timer_list timer;

	spin_lock(&irq_lock);
	spin_unlock(&irq_lock);
	timer_setup_on_stack(&timer, irq_lock_timer_fn, 0);
	mod_timer(&timer, jiffies + 1);
	msleep(100);
	timer_delete_sync(&timer);
	timer_destroy_on_stack(&timer);
}

/* Unmaps a DMA address that was never mapped: DMA-API debug's "not allocated". */
static int dma_api_misuse(void)
{
	struct pci_dev *pdev = pci_get_device(0x1234, 0x11e8, NULL);

	if (!pdev)
		return -ENODEV;
	dma_unmap_single(&pdev->dev, 0x100000, PAGE_SIZE, DMA_TO_DEVICE);
	pci_dev_put(pdev);
	return 0;
}

static int __init gate_fault_init(void)
{
	if (!strcmp(fault, "warn")) {
		WARN(1, "gate_fault: deliberate warning\n");
	} else if (!strcmp(fault, "kasan")) {
		char *buf = kmalloc(16, GFP_KERNEL);
		size_t idx = 16;

		if (!buf)
			return -ENOMEM;
		OPTIMIZER_HIDE_VAR(idx);
		pr_info("gate_fault: read past the end: %d\n", READ_ONCE(buf[idx]));
		kfree(buf);
	} else if (!strcmp(fault, "lockdep")) {
		mutex_lock(&lock_a);
		mutex_lock(&lock_b);
		mutex_unlock(&lock_b);
		mutex_unlock(&lock_a);
		mutex_lock(&lock_b);
		mutex_lock(&lock_a);
		mutex_unlock(&lock_a);
		mutex_unlock(&lock_b);
	} else if (!strcmp(fault, "leak")) {
		/*
		 * Several zeroed page-allocator-backed objects: a stale copy of the
		 * last pointer may survive in a cached kernel stack, which kmemleak
		 * scans, but not all of them. Small slab objects are no good here:
		 * stale freelist pointers left in neighbouring objects keep them
		 * "referenced".
		 */
		void *p;
		int i;

		for (i = 0; i < 4; i++) {
			p = kzalloc(4 * PAGE_SIZE, GFP_KERNEL);
			OPTIMIZER_HIDE_VAR(p);
		}
	} else if (!strcmp(fault, "bug")) {
		BUG();
	} else if (!strcmp(fault, "irqlock")) {
		irq_lock_misuse();
	} else if (!strcmp(fault, "dmaapi")) {
		return dma_api_misuse();
	} else if (!strcmp(fault, "panic")) {
		panic("gate_fault: deliberate panic\n");
	} else if (strcmp(fault, "none")) {
		return -EINVAL;
	}
	return 0;
}

static void __exit gate_fault_exit(void)
{
}

module_init(gate_fault_init);
module_exit(gate_fault_exit);
MODULE_DESCRIPTION("uio-dmabuf test harness: deliberately faulty module");
MODULE_LICENSE("GPL");
