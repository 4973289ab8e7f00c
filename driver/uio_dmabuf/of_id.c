// SPDX-License-Identifier: GPL-2.0
/*
 * The of_id module parameter: the device-tree compatible string of the
 * platform devices to bind, given at load time, as uio_pdrv_genirq takes it
 * (`modprobe uio_dmabuf of_id=vendor,device` or `uio_dmabuf.of_id=...` on the
 * kernel command line). The driver carries no compatible of its own: which
 * nodes are userspace-driven is the system's choice, not the driver's.
 *
 * The parameter parser writes the buffer before module init and never after
 * (no sysfs file: perm 0); module init copies it into the platform driver's
 * OF match table (platform_driver.rs), empty if the parameter is unset.
 */
#include <linux/moduleparam.h>

/* Called from Rust (platform_driver.rs), hence the prototype here. */
const char *uio_dmabuf_of_id(void);

/* As long as an OF match entry's compatible field, which it is copied into. */
static char uio_dmabuf_of_id_param[128];
module_param_string(of_id, uio_dmabuf_of_id_param, sizeof(uio_dmabuf_of_id_param), 0);
MODULE_PARM_DESC(of_id, "Device-tree compatible of the platform devices to bind (as uio_pdrv_genirq's of_id)");

/* The parameter's value, NUL-terminated (empty if unset). */
const char *uio_dmabuf_of_id(void)
{
	return uio_dmabuf_of_id_param;
}
