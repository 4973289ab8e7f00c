// SPDX-License-Identifier: GPL-2.0
/*
 * Out-of-tree build only: uio_file_device(), which the in-tree series adds to
 * the UIO core (drivers/uio/uio.c, where it compares the file's operations
 * with uio_fops and reads its struct uio_listener). Without it, from outside
 * the UIO core: a file of the character device devt that was opened through
 * that device's own operations was opened by uio_open(), which stored its
 * struct uio_listener in private_data; the listener's first member is the UIO
 * device, and it stays there until the file is released.
 */

#include <linux/cdev.h>
#include <linux/fs.h>
#include <linux/uio_driver.h>

/* The first member of struct uio_listener (private to drivers/uio/uio.c). */
struct uio_listener_head {
	struct uio_device *dev;
};

struct uio_device *uio_file_device(struct file *filp, dev_t devt)
{
	struct inode *inode = file_inode(filp);
	struct uio_listener_head *listener;

	if (!S_ISCHR(inode->i_mode) || inode->i_rdev != devt)
		return NULL;
	/* Its operations are its character device's, i.e. the UIO core's. */
	if (!inode->i_cdev || filp->f_op != inode->i_cdev->ops)
		return NULL;
	listener = filp->private_data;
	return listener ? listener->dev : NULL;
}
