// SPDX-License-Identifier: GPL-2.0
/*
 * platform_testdev: a platform device for uio_dmabuf's platform driver on a
 * guest without a device tree (x86), only in the test image.
 *
 * On load it registers the platform device "uio_dmabuf_testdev" with two
 * memory resources in a free stretch of the physical address space (nothing
 * answers there: reads return what QEMU returns for unassigned memory):
 * "regs", one page, and "tiny", 256 bytes at the start of the next page, so
 * that the driver has a sub-page region to reserve the rest of the page for.
 * No interrupt: x86 has no interrupt controller line to give it. It binds to
 * nothing by itself (no driver has its name); the test binds it through
 * driver_override. Unloading unregisters it, unbinding it first.
 */
#include <linux/ioport.h>
#include <linux/module.h>
#include <linux/platform_device.h>

static struct platform_device *pdev;

static int __init platform_testdev_init(void)
{
	struct resource window = { .name = "platform_testdev probe", .flags = IORESOURCE_MEM };
	struct resource res[2];
	int ret;

	/* Two free pages below 4 GiB, found by asking for them and giving them back. */
	ret = allocate_resource(&iomem_resource, &window, 2 * PAGE_SIZE, SZ_1G, U32_MAX,
				PAGE_SIZE, NULL, NULL);
	if (ret)
		return ret;
	release_resource(&window);
	res[0] = DEFINE_RES_MEM_NAMED(window.start, PAGE_SIZE, "regs");
	res[1] = DEFINE_RES_MEM_NAMED(window.start + PAGE_SIZE, 256, "tiny");
	pdev = platform_device_register_simple("uio_dmabuf_testdev", PLATFORM_DEVID_NONE, res,
					       ARRAY_SIZE(res));
	return PTR_ERR_OR_ZERO(pdev);
}

static void __exit platform_testdev_exit(void)
{
	platform_device_unregister(pdev);
}

module_init(platform_testdev_init);
module_exit(platform_testdev_exit);
MODULE_DESCRIPTION("Test-only platform device for uio_dmabuf's platform driver");
MODULE_LICENSE("GPL");
