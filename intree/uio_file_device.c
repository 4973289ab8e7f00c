/**
 * uio_file_device - the UIO device an open file of /dev/uioN was opened on
 * @filep: an open file
 * @devt: the device number of a UIO device
 *
 * Lets the driver that registered a UIO device recognize an open file of that
 * device which userspace hands it, for instance as a file descriptor in an
 * ioctl of another character device, without access to the per-file state of
 * the UIO core.
 *
 * Return: the &struct uio_device that @filep was opened on, if @filep is an
 * open file of the UIO character device @devt; %NULL otherwise. The result is
 * for comparison only and must not be dereferenced: the file keeps the device
 * alive while it is open, so the pointer cannot be reused before the file is
 * released.
 */
struct uio_device *uio_file_device(struct file *filep, dev_t devt)
{
	struct uio_listener *listener;

	if (filep->f_op != &uio_fops || file_inode(filep)->i_rdev != devt)
		return NULL;
	listener = filep->private_data;
	return listener ? listener->dev : NULL;
}
EXPORT_SYMBOL_GPL(uio_file_device);

