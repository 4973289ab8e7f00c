// SPDX-License-Identifier: GPL-2.0
/*
 * The of_id module parameter: the device-tree compatible string of the
 * platform devices to bind, given at load time, as uio_pdrv_genirq takes it
 * (`modprobe uio_dmabuf of_id=vendor,device` or `uio_dmabuf.of_id=...` on the
 * kernel command line). The driver carries no compatible of its own: which
 * nodes are userspace-driven is the system's choice, not the driver's.
 *
 * The parameter's buffer is entry 0's compatible field of the platform
 * driver's match table. The parameter parser writes it before module init
 * and never after (no sysfs file: perm 0); unset, entry 0 is all zero, i.e. a
 * terminator, and the table matches nothing. Entry 1 is the terminator.
 */
#include <linux/mod_devicetable.h>
#include <linux/moduleparam.h>

/*
 * The platform driver's OF match table: a zero-terminated array, in module
 * data, written only by the parameter parser before module init. Called from
 * Rust (platform_driver.rs), hence the prototype here.
 */
const struct of_device_id *uio_dmabuf_of_id_table(void);

static struct of_device_id uio_dmabuf_of_match[2];
module_param_string(of_id, uio_dmabuf_of_match[0].compatible,
		    sizeof(uio_dmabuf_of_match[0].compatible), 0);
MODULE_PARM_DESC(of_id, "Device-tree compatible of the platform devices to bind (as uio_pdrv_genirq's of_id)");

const struct of_device_id *uio_dmabuf_of_id_table(void)
{
	return uio_dmabuf_of_match;
}
