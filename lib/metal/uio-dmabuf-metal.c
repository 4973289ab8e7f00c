// SPDX-License-Identifier: MIT OR Apache-2.0
/*
 * libuio-dmabuf-metal: see uio-dmabuf-metal.h. A libmetal bus whose devices
 * are libuio-dmabuf devices: the UIO maps as I/O regions, the UIO interrupt
 * through libmetal's Linux IRQ thread, and imports as I/O regions whose
 * physical addresses are device addresses.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/dma-buf.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <metal/dma.h>
#include <metal/irq.h>
#include <metal/list.h>
#include <metal/utilities.h>

#include "uio-dmabuf-metal.h"

/*
 * libmetal's Linux IRQ thread acknowledges an interrupt through the bus of
 * the device registered for it; exported by libmetal, declared only for its
 * own sources (METAL_INTERNAL).
 */
void metal_linux_irq_register_dev(struct metal_device *dev, int irq);

/* libmetal's Linux IRQ numbers are file descriptors below this. */
#define METAL_IRQ_LIMIT 1023

/*
 * Protects the bus's device list, every device's import list and the
 * imports' ownership: imports are found by their region alone (release,
 * contiguous), on any device.
 */
static pthread_mutex_t lists_lock = PTHREAD_MUTEX_INITIALIZER;

struct umetal_device;

/* One import as a region; `io` first, so the region's address is the import's. */
struct umetal_import {
	struct metal_io_region io;
	struct umetal_device *dev;
	struct udb_import *imp;
	int dmabuf_fd;           /* a dup, for DMA_BUF_IOCTL_SYNC */
	uint32_t dir;            /* METAL_DMA_DEV_* the import allows */
	uint64_t sync_rw;        /* DMA_BUF_SYNC_READ/WRITE of the CPU's side */
	int device_owned;        /* handed to the device by metal_dma_map */
	metal_phys_addr_t *physmap; /* per page, when the segments are page-aligned */
	/* The segments sorted by device address, for phys_to_offset. */
	struct umetal_run {
		uint64_t dma_addr, offset, len;
	} *by_addr;
	uint32_t nr;
	struct umetal_import *next;
};

struct umetal_device {
	struct metal_device mdev;
	struct udb_device *udb;
	void *maps[METAL_MAX_DEVICE_REGIONS];
	size_t map_len[METAL_MAX_DEVICE_REGIONS];
	metal_phys_addr_t map_phys[METAL_MAX_DEVICE_REGIONS];
	int irq;                 /* the IRQ number (the uio fd), or -1 */
	struct umetal_import *imports;
	char name[];
};

static int bus_dev_open(struct metal_bus *bus, const char *name, struct metal_device **device);
static void bus_dev_close(struct metal_bus *bus, struct metal_device *device);
static void bus_close(struct metal_bus *bus);
static void bus_irq_ack(struct metal_bus *bus, struct metal_device *device, int irq);
static int bus_dma_map(struct metal_bus *bus, struct metal_device *device, uint32_t dir,
		       struct metal_sg *sg_in, int nents, struct metal_sg *sg_out);
static void bus_dma_unmap(struct metal_bus *bus, struct metal_device *device, uint32_t dir,
			  struct metal_sg *sg, int nents);

static struct metal_bus uio_dmabuf_bus = {
	.name = UIO_DMABUF_METAL_BUS,
	.ops = {
		.bus_close = bus_close,
		.dev_open = bus_dev_open,
		.dev_close = bus_dev_close,
		.dev_irq_ack = bus_irq_ack,
		.dev_dma_map = bus_dma_map,
		.dev_dma_unmap = bus_dma_unmap,
	},
};

static struct umetal_device *to_umetal(struct metal_device *mdev)
{
	return metal_container_of(mdev, struct umetal_device, mdev);
}

int uio_dmabuf_metal_init(void)
{
	struct metal_bus *found;

	/* libmetal registers a duplicate name without complaint: look first. */
	if (metal_bus_find(UIO_DMABUF_METAL_BUS, &found) == 0)
		return found == &uio_dmabuf_bus ? 0 : -EEXIST;
	metal_list_init(&uio_dmabuf_bus.devices);
	return metal_bus_register(&uio_dmabuf_bus);
}

void uio_dmabuf_metal_finish(void)
{
	struct metal_bus *found;

	if (metal_bus_find(UIO_DMABUF_METAL_BUS, &found) == 0 && found == &uio_dmabuf_bus)
		metal_bus_unregister(&uio_dmabuf_bus);
}

/* Reads the number in sysfs file `path` (decimal or 0x hexadecimal). */
static int read_number(const char *path, unsigned long long *value)
{
	char buf[64];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	errno = 0;
	*value = strtoull(buf, NULL, 0);
	return errno ? -errno : 0;
}

/* Reads attribute `attr` of UIO map `index` of the device. */
static int map_attr(struct umetal_device *dev, unsigned int index, const char *attr,
		    unsigned long long *value)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/class/uio/%s/maps/map%u/%s", udb_uio_name(dev->udb),
		 index, attr);
	return read_number(path, value);
}

/* Maps UIO map `index` of the device as region `index`: 0 when it exists,
 * 1 when there is no such map, else -errno. */
static int map_region(struct umetal_device *dev, unsigned int index)
{
	unsigned long long addr, offset, size;
	long page = sysconf(_SC_PAGESIZE);
	void *virt;
	int err = map_attr(dev, index, "addr", &addr);

	if (err == -ENOENT)
		return 1;
	if (err || map_attr(dev, index, "size", &size))
		return -EIO;
	if (map_attr(dev, index, "offset", &offset))
		offset = 0;
	dev->map_phys[index] = (metal_phys_addr_t)addr;
	virt = mmap(NULL, offset + size, PROT_READ | PROT_WRITE, MAP_SHARED,
		    udb_uio_fd(dev->udb), (off_t)index * page);
	if (virt == MAP_FAILED || (unsigned long long)dev->map_phys[index] != addr) {
		/* Keeps its index, with nothing in it (a map UIO cannot mmap). */
		if (virt != MAP_FAILED)
			munmap(virt, offset + size);
		metal_io_init(&dev->mdev.regions[index], NULL, &dev->map_phys[index], 0, -1, 0,
			      NULL);
		return 0;
	}
	dev->maps[index] = virt;
	dev->map_len[index] = offset + size;
	metal_io_init(&dev->mdev.regions[index], (char *)virt + offset, &dev->map_phys[index],
		      size, -1, 0, NULL);
	return 0;
}

static void release_import(struct umetal_import *imp);

static void close_device(struct umetal_device *dev)
{
	struct umetal_import *imp, *next;
	unsigned int i;

	if (dev->irq >= 0) {
		unsigned int flags;

		/* Out of the IRQ thread's poll set; then, under libmetal's IRQ
		 * lock, which the thread holds while it runs a handler and the
		 * ack, forget the handler and the device (libmetal never does on
		 * its own): after that the thread touches neither. */
		metal_irq_disable(dev->irq);
		flags = metal_irq_save_disable();
		metal_linux_irq_register_dev(NULL, dev->irq);
		metal_irq_unregister(dev->irq);
		metal_irq_restore_enable(flags);
	}
	pthread_mutex_lock(&lists_lock);
	imp = dev->imports;
	dev->imports = NULL;
	pthread_mutex_unlock(&lists_lock);
	for (; imp; imp = next) {
		next = imp->next;
		release_import(imp);
	}
	for (i = 0; i < METAL_MAX_DEVICE_REGIONS; i++)
		if (dev->maps[i])
			munmap(dev->maps[i], dev->map_len[i]);
	udb_close(dev->udb);
	free(dev);
}

static int bus_dev_open(struct metal_bus *bus, const char *name, struct metal_device **device)
{
	struct umetal_device *dev;
	unsigned int i;
	int err, on = 1;

	dev = calloc(1, sizeof(*dev) + strlen(name) + 1);
	if (!dev)
		return -ENOMEM;
	strcpy(dev->name, name);
	dev->irq = -1;
	err = udb_open(name, &dev->udb);
	if (err) {
		free(dev);
		return err;
	}
	if (udb_uio_fd(dev->udb) >= METAL_IRQ_LIMIT) {
		err = -EMFILE;
		goto fail;
	}
	dev->mdev.name = dev->name;
	dev->mdev.bus = bus;
	for (i = 0; i < METAL_MAX_DEVICE_REGIONS; i++) {
		err = map_region(dev, i);
		if (err < 0)
			goto fail;
		if (err > 0)
			break;
		dev->mdev.num_regions = i + 1;
	}
	/* Interrupt: as libmetal's UIO devices, if irqcontrol works. */
	if (write(udb_uio_fd(dev->udb), &on, sizeof(on)) == sizeof(on)) {
		dev->irq = udb_uio_fd(dev->udb);
		dev->mdev.irq_num = 1;
		dev->mdev.irq_info = (void *)(intptr_t)dev->irq;
		metal_linux_irq_register_dev(&dev->mdev, dev->irq);
	} else {
		dev->mdev.irq_info = (void *)-1;
	}
	pthread_mutex_lock(&lists_lock);
	metal_list_add_tail(&bus->devices, &dev->mdev.node);
	pthread_mutex_unlock(&lists_lock);
	*device = &dev->mdev;
	return 0;
fail:
	dev->irq = -1;
	close_device(dev);
	return err;
}

static void bus_dev_close(struct metal_bus *bus, struct metal_device *device)
{
	(void)bus;
	pthread_mutex_lock(&lists_lock);
	metal_list_del(&device->node);
	pthread_mutex_unlock(&lists_lock);
	close_device(to_umetal(device));
}

static void bus_close(struct metal_bus *bus)
{
	for (;;) {
		struct metal_device *mdev = NULL;

		pthread_mutex_lock(&lists_lock);
		if (!metal_list_is_empty(&bus->devices)) {
			mdev = metal_container_of(bus->devices.next, struct metal_device, node);
			metal_list_del(&mdev->node);
		}
		pthread_mutex_unlock(&lists_lock);
		if (!mdev)
			break;
		close_device(to_umetal(mdev));
	}
}

static void bus_irq_ack(struct metal_bus *bus, struct metal_device *device, int irq)
{
	uint32_t count;
	int on = 1;

	(void)bus;
	(void)device;
	/* Consume the event, then unmask the line (UIO irqcontrol). */
	if (read(irq, &count, sizeof(count)) == sizeof(count))
		(void)!write(irq, &on, sizeof(on));
}

struct udb_device *uio_dmabuf_metal_udb(struct metal_device *dev)
{
	return dev && dev->bus == &uio_dmabuf_bus ? to_umetal(dev)->udb : NULL;
}

/* The import of `dev` whose region is `io`, or NULL. Under lists_lock. */
static struct umetal_import *find_import(struct umetal_device *dev, struct metal_io_region *io)
{
	struct umetal_import *imp;

	for (imp = dev->imports; imp; imp = imp->next)
		if (&imp->io == io)
			return imp;
	return NULL;
}

/* The import whose region is `io`, on any open device of the bus, or NULL.
 * Under lists_lock. */
static struct umetal_import *import_of(struct metal_io_region *io)
{
	struct metal_list *node;

	if (!io || !uio_dmabuf_bus.devices.next)
		return NULL;
	metal_list_for_each(&uio_dmabuf_bus.devices, node) {
		struct metal_device *mdev = metal_container_of(node, struct metal_device, node);
		struct umetal_import *imp = find_import(to_umetal(mdev), io);

		if (imp)
			return imp;
	}
	return NULL;
}

static metal_phys_addr_t import_offset_to_phys(struct metal_io_region *io, unsigned long offset)
{
	struct umetal_import *imp = (struct umetal_import *)io;
	uint64_t addr;

	if (udb_dma_addr(imp->imp, offset, &addr, NULL))
		return METAL_BAD_PHYS;
	return (metal_phys_addr_t)addr;
}

static unsigned long import_phys_to_offset(struct metal_io_region *io, metal_phys_addr_t phys)
{
	struct umetal_import *imp = (struct umetal_import *)io;
	uint32_t lo = 0, hi = imp->nr;

	/* The last run starting at or below phys. */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (imp->by_addr[mid].dma_addr <= phys)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || phys - imp->by_addr[lo - 1].dma_addr >= imp->by_addr[lo - 1].len)
		return METAL_BAD_OFFSET;
	return imp->by_addr[lo - 1].offset + (phys - imp->by_addr[lo - 1].dma_addr);
}

static int by_dma_addr(const void *a, const void *b)
{
	const struct umetal_run *x = a, *y = b;

	return x->dma_addr < y->dma_addr ? -1 : x->dma_addr > y->dma_addr;
}

/* DMA_BUF_IOCTL_SYNC on the import's dma-buf: the CPU starts (`start`) or
 * ends its access. */
static int exporter_sync(struct umetal_import *imp, int start)
{
	struct dma_buf_sync sync = {
		.flags = (start ? DMA_BUF_SYNC_START : DMA_BUF_SYNC_END) | imp->sync_rw,
	};

	return ioctl(imp->dmabuf_fd, DMA_BUF_IOCTL_SYNC, &sync) ? -errno : 0;
}

/* Unlinks `imp` from its device's list. Under lists_lock. */
static void unlink_import(struct umetal_import *imp)
{
	struct umetal_import **link;

	for (link = &imp->dev->imports; *link; link = &(*link)->next)
		if (*link == imp) {
			*link = imp->next;
			break;
		}
}

/* Tears down an unlinked import. */
static void release_import(struct umetal_import *imp)
{
	/* The CPU's access ends (metal_dma_map ended it for a buffer still
	 * handed to the device). */
	if (!imp->device_owned)
		exporter_sync(imp, 0);
	munmap(imp->io.virt, imp->io.size);
	udb_release(imp->imp);
	close(imp->dmabuf_fd);
	free(imp->physmap);
	free(imp->by_addr);
	free(imp);
}

int uio_dmabuf_metal_import(struct metal_device *mdev, int dmabuf_fd, uint32_t dir,
			    uint32_t flags, struct metal_io_region **io)
{
	static const struct metal_io_ops ops = {
		.offset_to_phys = import_offset_to_phys,
		.phys_to_offset = import_phys_to_offset,
	};
	long page = sysconf(_SC_PAGESIZE);
	unsigned int page_shift = __builtin_ctzl((unsigned long)page);
	const struct uio_dmabuf_segment *segs;
	struct umetal_device *dev;
	struct umetal_import *imp;
	uint32_t udb_dir, i;
	uint64_t size, offset = 0;
	int aligned = 1, err;
	void *virt;

	if (!mdev || mdev->bus != &uio_dmabuf_bus || !io)
		return -EINVAL;
	switch (dir) {
	case METAL_DMA_DEV_R:
		udb_dir = UIO_DMABUF_DIR_TO_DEVICE;
		break;
	case METAL_DMA_DEV_W:
		udb_dir = UIO_DMABUF_DIR_FROM_DEVICE;
		break;
	case METAL_DMA_DEV_WR:
		udb_dir = UIO_DMABUF_DIR_BIDIRECTIONAL;
		break;
	default:
		return -EINVAL;
	}
	dev = to_umetal(mdev);
	imp = calloc(1, sizeof(*imp));
	if (!imp)
		return -ENOMEM;
	imp->dev = dev;
	imp->dir = dir;
	imp->sync_rw = dir == METAL_DMA_DEV_R ? DMA_BUF_SYNC_WRITE :
		       dir == METAL_DMA_DEV_W ? DMA_BUF_SYNC_READ : DMA_BUF_SYNC_RW;
	imp->dmabuf_fd = fcntl(dmabuf_fd, F_DUPFD_CLOEXEC, 0);
	if (imp->dmabuf_fd < 0) {
		err = -errno;
		free(imp);
		return err;
	}
	err = udb_import(dev->udb, dmabuf_fd, udb_dir, flags, &imp->imp);
	if (err) {
		close(imp->dmabuf_fd);
		free(imp);
		return err;
	}
	size = udb_size(imp->imp);
	segs = udb_segments(imp->imp, &imp->nr);
	/* libmetal's offsets and sizes are unsigned long and size_t. */
	if (size > ULONG_MAX || size > SIZE_MAX) {
		err = -ERANGE;
		goto fail;
	}
	imp->by_addr = calloc(imp->nr, sizeof(*imp->by_addr));
	imp->physmap = calloc((size + page - 1) / page, sizeof(*imp->physmap));
	if (!imp->by_addr || !imp->physmap) {
		err = -ENOMEM;
		goto fail;
	}
	for (i = 0; i < imp->nr; i++) {
		uint64_t p;

		if ((metal_phys_addr_t)(segs[i].dma_addr + segs[i].len - 1) !=
		    segs[i].dma_addr + segs[i].len - 1) {
			err = -ERANGE;
			goto fail;
		}
		imp->by_addr[i] = (struct umetal_run){ segs[i].dma_addr, offset, segs[i].len };
		if (segs[i].dma_addr % page || offset % page)
			aligned = 0;
		for (p = 0; aligned && p < segs[i].len; p += page)
			imp->physmap[(offset + p) / page] = segs[i].dma_addr + p;
		offset += segs[i].len;
	}
	qsort(imp->by_addr, imp->nr, sizeof(*imp->by_addr), by_dma_addr);
	if (!aligned) {
		/* Bounce buffers need not start pages: the ops translate. */
		free(imp->physmap);
		imp->physmap = NULL;
	}
	virt = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, dmabuf_fd, 0);
	if (virt == MAP_FAILED) {
		err = -errno;
		goto fail;
	}
	metal_io_init(&imp->io, virt, imp->physmap, size, page_shift, 0, &ops);
	/* The buffer belongs to the CPU until metal_dma_map(). */
	exporter_sync(imp, 1);
	pthread_mutex_lock(&lists_lock);
	imp->next = dev->imports;
	dev->imports = imp;
	pthread_mutex_unlock(&lists_lock);
	*io = &imp->io;
	return 0;
fail:
	udb_release(imp->imp);
	close(imp->dmabuf_fd);
	free(imp->physmap);
	free(imp->by_addr);
	free(imp);
	return err;
}

int uio_dmabuf_metal_release(struct metal_io_region *io)
{
	struct umetal_import *imp;

	pthread_mutex_lock(&lists_lock);
	imp = import_of(io);
	if (imp)
		unlink_import(imp);
	pthread_mutex_unlock(&lists_lock);
	if (!imp)
		return -EINVAL;
	release_import(imp);
	return 0;
}

size_t uio_dmabuf_metal_contiguous(struct metal_io_region *io, unsigned long offset)
{
	struct umetal_import *imp;
	uint64_t addr, run = 0;

	pthread_mutex_lock(&lists_lock);
	imp = import_of(io);
	if (imp && udb_dma_addr(imp->imp, offset, &addr, &run))
		run = 0;
	pthread_mutex_unlock(&lists_lock);
	return run;
}

/* Whether an import allowing `allowed` may be used for DMA in `dir`. */
static int direction_fits(uint32_t allowed, uint32_t dir)
{
	return dir && (dir & ~allowed) == 0;
}

/* The import of `dev` that holds all of `sg`, checked for `dir`, or NULL. */
static struct umetal_import *checked_entry(struct umetal_device *dev, uint32_t dir,
					  const struct metal_sg *sg)
{
	struct umetal_import *imp = find_import(dev, sg->io);
	unsigned long offset;

	if (!imp || sg->len <= 0 || !direction_fits(imp->dir, dir))
		return NULL;
	offset = metal_io_virt_to_offset(&imp->io, sg->virt);
	if (offset == METAL_BAD_OFFSET || offset + (unsigned long)sg->len > imp->io.size)
		return NULL;
	return imp;
}

/* Hands an import to the device: the exporter's end of CPU access, then
 * SYNC FOR_DEVICE; nothing if it is the device's already. Under lists_lock. */
static int to_device(struct umetal_import *imp)
{
	int err;

	if (imp->device_owned)
		return 0;
	err = exporter_sync(imp, 0);
	if (!err) {
		err = udb_sync(imp->imp, UIO_DMABUF_SYNC_FOR_DEVICE);
		if (err)
			exporter_sync(imp, 1);
	}
	if (!err)
		imp->device_owned = 1;
	return err;
}

/*
 * Hands an import back to the CPU: the exporter's start of CPU access, then
 * SYNC FOR_CPU, in that order: an exporter that syncs a mapping of its own
 * (udmabuf, for its misc device) copies that mapping's bounce buffer, which
 * never saw the device's data, over the pages when bouncing is forced; this
 * driver's sync then copies the device's data back over it. Nothing if the
 * import is the CPU's. Under lists_lock.
 */
static void to_cpu(struct umetal_import *imp)
{
	if (!imp->device_owned)
		return;
	exporter_sync(imp, 1);
	udb_sync(imp->imp, UIO_DMABUF_SYNC_FOR_CPU);
	imp->device_owned = 0;
}

static int bus_dma_map(struct metal_bus *bus, struct metal_device *device, uint32_t dir,
		       struct metal_sg *sg_in, int nents, struct metal_sg *sg_out)
{
	struct umetal_device *dev = to_umetal(device);
	struct umetal_import **imps, **handed;
	int i, n = 0, err = 0;

	(void)bus;
	if (nents <= 0)
		return -EINVAL;
	/* The entries' imports, then (from the middle) those handed over here. */
	imps = calloc(2 * (size_t)nents, sizeof(*imps));
	if (!imps)
		return -ENOMEM;
	handed = imps + nents;
	pthread_mutex_lock(&lists_lock);
	for (i = 0; i < nents && !err; i++) {
		imps[i] = checked_entry(dev, dir, &sg_in[i]);
		if (!imps[i])
			err = -EINVAL;
	}
	for (i = 0; i < nents && !err; i++) {
		/* Each import once, however many entries lie in it. */
		if (imps[i]->device_owned)
			continue;
		err = to_device(imps[i]);
		if (!err)
			handed[n++] = imps[i];
	}
	/* All or nothing: what this call handed over goes back on failure. */
	while (err && n > 0)
		to_cpu(handed[--n]);
	pthread_mutex_unlock(&lists_lock);
	free(imps);
	if (err)
		return err;
	if (sg_out != sg_in)
		memcpy(sg_out, sg_in, nents * sizeof(*sg_out));
	return nents;
}

static void bus_dma_unmap(struct metal_bus *bus, struct metal_device *device, uint32_t dir,
			  struct metal_sg *sg, int nents)
{
	struct umetal_device *dev = to_umetal(device);
	int i;

	(void)bus;
	pthread_mutex_lock(&lists_lock);
	for (i = 0; i < nents; i++) {
		struct umetal_import *imp = checked_entry(dev, dir, &sg[i]);

		if (imp)
			to_cpu(imp);
	}
	pthread_mutex_unlock(&lists_lock);
}
