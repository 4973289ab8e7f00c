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
 *   none     nothing (the control case)
 */
#include <linux/compiler.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/string.h>

static char *fault = "none";
module_param(fault, charp, 0444);
MODULE_PARM_DESC(fault, "which report to trigger: none, warn, kasan, lockdep, leak");

static DEFINE_MUTEX(lock_a);
static DEFINE_MUTEX(lock_b);

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
