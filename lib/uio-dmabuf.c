// SPDX-License-Identifier: MIT OR Apache-2.0
/*
 * libuio-dmabuf: see uio-dmabuf.h. Each function is a thin layer over the
 * ioctls of <uio_dmabuf.h>; the library keeps no global state. A device owns
 * its two file descriptors and the list of its live imports (under a mutex,
 * so that udb_close() can release what is left).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "uio-dmabuf.h"

#define DRIVER_NAME "uio_dmabuf"
/* Segments the IMPORT call itself returns; SEGMENTS reads the rest. */
#define FIRST_SEGMENTS 32

struct udb_device {
	int uio_fd;
	int ctl_fd;
	char uio_name[32];
	pthread_mutex_t lock; /* protects imports */
	struct udb_import *imports;
};

struct udb_import {
	struct udb_device *dev;
	uint32_t handle;
	uint32_t nr_segments;
	uint64_t size;
	struct uio_dmabuf_segment *segments;
	struct udb_import *prev, *next; /* in dev->imports */
};

/* Formats a path into buf[len]: 0, or -ENAMETOOLONG if it does not fit. */
static int __attribute__((format(printf, 3, 4))) path_of(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* The last path component of the symlink at `path` into buf; -errno. */
static int link_name(const char *path, char *buf, size_t len)
{
	char target[PATH_MAX];
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	const char *base;

	if (n < 0)
		return -errno;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) >= len)
		return -ENAMETOOLONG;
	strcpy(buf, base);
	return 0;
}

/* Whether the device at sysfs directory `dir` is driven by uio_dmabuf:
 * 0 if so, -EBUSY if by another driver, -ENODEV if by none. */
static int check_driver(const char *dir)
{
	char path[PATH_MAX], driver[64];
	int err;

	err = path_of(path, sizeof(path), "%s/driver", dir);
	if (!err)
		err = link_name(path, driver, sizeof(driver));
	if (err == -ENOENT)
		return -ENODEV;
	if (err)
		return err;
	return strcmp(driver, DRIVER_NAME) ? -EBUSY : 0;
}

/* Whether `name` is "uio" followed by a decimal number. */
static int is_uio_node(const char *name)
{
	const char *p = name + 3;

	if (strncmp(name, "uio", 3) || !*p)
		return 0;
	for (; *p; p++)
		if (*p < '0' || *p > '9')
			return 0;
	return 1;
}

/* The UIO node ("uioN") of device `name` (see udb_open), checked to be
 * uio_dmabuf's, into node[len]. */
static int resolve(const char *name, char *node, size_t len)
{
	static const char *const buses[] = { "pci", "platform" };
	char dir[PATH_MAX], path[PATH_MAX];
	const char *base = name;
	size_t i;
	int err;

	if (!strncmp(name, "/dev/", 5))
		base = name + 5;
	if (is_uio_node(base)) {
		if (path_of(dir, sizeof(dir), "/sys/class/uio/%s/device", base) ||
		    access(dir, F_OK))
			return -ENODEV;
		err = check_driver(dir);
		if (err)
			return err;
		if (strlen(base) >= len)
			return -ENAMETOOLONG;
		strcpy(node, base);
		return 0;
	}
	if (base != name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return -ENODEV;
	for (i = 0; i < sizeof(buses) / sizeof(buses[0]); i++) {
		DIR *uio;
		struct dirent *e;

		if (path_of(dir, sizeof(dir), "/sys/bus/%s/devices/%s", buses[i], name))
			return -ENODEV;
		if (access(dir, F_OK))
			continue;
		err = check_driver(dir);
		if (!err)
			err = path_of(path, sizeof(path), "%s/uio", dir);
		if (err)
			return err;
		uio = opendir(path);
		if (!uio)
			return -ENODEV;
		err = -ENODEV;
		while ((e = readdir(uio))) {
			if (is_uio_node(e->d_name) && strlen(e->d_name) < len) {
				strcpy(node, e->d_name);
				err = 0;
				break;
			}
		}
		closedir(uio);
		return err;
	}
	return -ENODEV;
}

int udb_open(const char *name, struct udb_device **devp)
{
	struct uio_dmabuf_info info;
	struct udb_device *dev;
	char path[64];
	int err;

	if (!name || !*name || !devp)
		return -EINVAL;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->uio_fd = dev->ctl_fd = -1;
	err = resolve(name, dev->uio_name, sizeof(dev->uio_name));
	if (err)
		goto fail;
	err = path_of(path, sizeof(path), "/dev/%s", dev->uio_name);
	if (err)
		goto fail;
	dev->uio_fd = open(path, O_RDWR | O_CLOEXEC);
	if (dev->uio_fd < 0) {
		err = -errno;
		goto fail;
	}
	dev->ctl_fd = open(UIO_DMABUF_DEVICE, O_RDWR | O_CLOEXEC);
	if (dev->ctl_fd < 0) {
		err = -errno;
		goto fail;
	}
	err = pthread_mutex_init(&dev->lock, NULL);
	if (err) {
		err = -err;
		goto fail;
	}
	err = udb_info(dev, &info);
	if (!err && info.abi_version != UIO_DMABUF_ABI_VERSION)
		err = -EPROTO;
	if (err) {
		pthread_mutex_destroy(&dev->lock);
		goto fail;
	}
	*devp = dev;
	return 0;
fail:
	if (dev->ctl_fd >= 0)
		close(dev->ctl_fd);
	if (dev->uio_fd >= 0)
		close(dev->uio_fd);
	free(dev);
	return err;
}

static void free_import(struct udb_import *imp)
{
	free(imp->segments);
	free(imp);
}

void udb_close(struct udb_device *dev)
{
	struct udb_import *imp, *next;

	if (!dev)
		return;
	/* Closing the file of /dev/uio-dmabuf releases every import of it. */
	close(dev->ctl_fd);
	close(dev->uio_fd);
	for (imp = dev->imports; imp; imp = next) {
		next = imp->next;
		free_import(imp);
	}
	pthread_mutex_destroy(&dev->lock);
	free(dev);
}

int udb_uio_fd(const struct udb_device *dev)
{
	return dev->uio_fd;
}

const char *udb_uio_name(const struct udb_device *dev)
{
	return dev->uio_name;
}

int udb_info(const struct udb_device *dev, struct uio_dmabuf_info *info)
{
	if (!dev || !info)
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	info->uio_fd = dev->uio_fd;
	return ioctl(dev->ctl_fd, UIO_DMABUF_IOC_INFO, info) ? -errno : 0;
}

/* Issues `request` with `arg` on the device's control file: 0 or -errno. */
static int ctl(const struct udb_device *dev, unsigned long request, void *arg)
{
	return ioctl(dev->ctl_fd, request, arg) ? -errno : 0;
}

/* RELEASE of `handle`: 0 or -errno. */
static int release_handle(struct udb_device *dev, uint32_t handle)
{
	struct uio_dmabuf_release rel = { .handle = handle };

	return ctl(dev, UIO_DMABUF_IOC_RELEASE, &rel);
}

int udb_import(struct udb_device *dev, int dmabuf_fd, uint32_t direction, uint32_t flags,
	       struct udb_import **impp)
{
	struct uio_dmabuf_segment first[FIRST_SEGMENTS];
	struct uio_dmabuf_import args = {
		.dmabuf_fd = dmabuf_fd,
		.direction = direction,
		.flags = flags,
		.segments = (uintptr_t)first,
		.capacity = FIRST_SEGMENTS,
	};
	struct udb_import *imp;
	uint32_t have;
	int err;

	if (!dev || !impp)
		return -EINVAL;
	args.uio_fd = dev->uio_fd;
	err = ctl(dev, UIO_DMABUF_IOC_IMPORT, &args);
	if (err)
		return err;
	imp = calloc(1, sizeof(*imp));
	if (imp)
		imp->segments = calloc(args.nr_segments ? args.nr_segments : 1,
				       sizeof(*imp->segments));
	if (!imp || !imp->segments) {
		err = -ENOMEM;
		goto undo;
	}
	imp->dev = dev;
	imp->handle = args.handle;
	imp->size = args.size;
	imp->nr_segments = args.nr_segments;
	have = args.nr_segments < FIRST_SEGMENTS ? args.nr_segments : FIRST_SEGMENTS;
	memcpy(imp->segments, first, have * sizeof(*first));
	while (have < imp->nr_segments) {
		struct uio_dmabuf_segments more = {
			.handle = imp->handle,
			.first = have,
			.segments = (uintptr_t)(imp->segments + have),
			.capacity = imp->nr_segments - have,
		};

		err = ctl(dev, UIO_DMABUF_IOC_SEGMENTS, &more);
		if (!err && more.count == 0)
			err = -EIO;
		if (err)
			goto undo;
		have += more.count;
	}
	pthread_mutex_lock(&dev->lock);
	imp->next = dev->imports;
	if (imp->next)
		imp->next->prev = imp;
	dev->imports = imp;
	pthread_mutex_unlock(&dev->lock);
	*impp = imp;
	return 0;
undo:
	release_handle(dev, args.handle);
	if (imp)
		free_import(imp);
	return err;
}

uint32_t udb_handle(const struct udb_import *imp)
{
	return imp->handle;
}

uint64_t udb_size(const struct udb_import *imp)
{
	return imp->size;
}

const struct uio_dmabuf_segment *udb_segments(const struct udb_import *imp, uint32_t *count)
{
	if (count)
		*count = imp->nr_segments;
	return imp->segments;
}

int udb_dma_addr(const struct udb_import *imp, uint64_t offset, uint64_t *addr, uint64_t *run)
{
	uint64_t start = 0;
	uint32_t i;

	if (!imp || !addr)
		return -EINVAL;
	if (offset >= imp->size)
		return -ERANGE;
	/* A linear scan: one per transfer a driver programs, over a list that
	 * is short where transfers are many (merged segments, IOVAs). */
	for (i = 0; i < imp->nr_segments; i++) {
		const struct uio_dmabuf_segment *s = &imp->segments[i];

		if (offset < start + s->len) {
			*addr = s->dma_addr + (offset - start);
			if (run)
				*run = start + s->len - offset;
			return 0;
		}
		start += s->len;
	}
	return -ERANGE;
}

int udb_sync(struct udb_import *imp, uint32_t flags)
{
	struct uio_dmabuf_sync sync = { .flags = flags };

	if (!imp)
		return -EINVAL;
	sync.handle = imp->handle;
	return ctl(imp->dev, UIO_DMABUF_IOC_SYNC, &sync);
}

int udb_release(struct udb_import *imp)
{
	struct udb_device *dev;
	int err;

	if (!imp)
		return 0;
	dev = imp->dev;
	pthread_mutex_lock(&dev->lock);
	if (imp->prev)
		imp->prev->next = imp->next;
	else
		dev->imports = imp->next;
	if (imp->next)
		imp->next->prev = imp->prev;
	pthread_mutex_unlock(&dev->lock);
	err = release_handle(dev, imp->handle);
	free_import(imp);
	return err;
}
