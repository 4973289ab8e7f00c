// SPDX-License-Identifier: MIT OR Apache-2.0
/*
 * uapi-test: uses uapi/uio_dmabuf.h alone (plus libc and the kernel's own uapi
 * headers) the way a C userspace driver would: imports a system-heap buffer into
 * the first device bound to uio_dmabuf and prints its segments.
 *
 * Built with -Wall -Wextra -Werror, statically for the guest; the layout
 * assertions below are also compiled with -m32 (see the Makefile), so 32-bit
 * userspace provably sees the same ABI. With -DUAPI_TEST_WRONG_LAYOUT one
 * deliberately wrong assertion is added: that build must fail, which shows the
 * assertions are checked at all.
 *
 *   uapi-test [SIZE_BYTES]
 *   uapi-test --wrong-abi    IMPORT with a struct 8 bytes too long (another
 *                            ioctl number): prints the errno, which must be
 *                            ENOTTY, and exits 1 whatever happens
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/dma-heap.h>

#include "uio_dmabuf.h"

/* The ABI: identical sizes and offsets on 32- and 64-bit. */
_Static_assert(sizeof(struct uio_dmabuf_segment) == 16, "segment size");
_Static_assert(sizeof(struct uio_dmabuf_info) == 56, "info size");
_Static_assert(offsetof(struct uio_dmabuf_info, dma_mask) == 8, "info.dma_mask");
_Static_assert(offsetof(struct uio_dmabuf_info, max_segment_size) == 16, "info.max_segment_size");
_Static_assert(offsetof(struct uio_dmabuf_info, flags) == 24, "info.flags");
_Static_assert(offsetof(struct uio_dmabuf_info, max_imports) == 28, "info.max_imports");
_Static_assert(offsetof(struct uio_dmabuf_info, max_mapped_bytes) == 32, "info.max_mapped_bytes");
_Static_assert(offsetof(struct uio_dmabuf_info, reserved) == 40, "info.reserved");
_Static_assert(sizeof(struct uio_dmabuf_import) == 64, "import size");
_Static_assert(offsetof(struct uio_dmabuf_import, segments) == 16, "import.segments");
_Static_assert(offsetof(struct uio_dmabuf_import, handle) == 28, "import.handle");
_Static_assert(offsetof(struct uio_dmabuf_import, capacity) == 24, "import.capacity");
_Static_assert(offsetof(struct uio_dmabuf_import, size) == 32, "import.size");
_Static_assert(offsetof(struct uio_dmabuf_import, nr_segments) == 40, "import.nr_segments");
_Static_assert(offsetof(struct uio_dmabuf_import, reserved) == 48, "import.reserved");
_Static_assert(sizeof(struct uio_dmabuf_segments) == 40, "segments size");
_Static_assert(offsetof(struct uio_dmabuf_segments, segments) == 8, "segments.segments");
_Static_assert(offsetof(struct uio_dmabuf_segments, capacity) == 16, "segments.capacity");
_Static_assert(offsetof(struct uio_dmabuf_segments, count) == 20, "segments.count");
_Static_assert(offsetof(struct uio_dmabuf_segments, nr_segments) == 24, "segments.nr_segments");
_Static_assert(offsetof(struct uio_dmabuf_segments, reserved) == 32, "segments.reserved");
_Static_assert(sizeof(struct uio_dmabuf_sync) == 16, "sync size");
_Static_assert(offsetof(struct uio_dmabuf_sync, flags) == 4, "sync.flags");
_Static_assert(offsetof(struct uio_dmabuf_sync, reserved) == 8, "sync.reserved");
_Static_assert(sizeof(struct uio_dmabuf_release) == 8, "release size");
_Static_assert(UIO_DMABUF_IOC_INFO == 0xc038db00u, "INFO number");
_Static_assert(UIO_DMABUF_IOC_IMPORT == 0xc040db01u, "IMPORT number");
_Static_assert(UIO_DMABUF_IOC_SEGMENTS == 0xc028db02u, "SEGMENTS number");
_Static_assert(UIO_DMABUF_IOC_SYNC == 0x4010db03u, "SYNC number");
_Static_assert(UIO_DMABUF_IOC_RELEASE == 0x4008db04u, "RELEASE number");

#ifdef UAPI_TEST_WRONG_LAYOUT
/* The compile-time negative: this build must fail right here. */
_Static_assert(sizeof(struct uio_dmabuf_import) == 56, "UAPI_TEST_WRONG_LAYOUT: import size");
#endif

#ifndef UAPI_TEST_LAYOUT_ONLY

static int fail(const char *what)
{
	fprintf(stderr, "uapi-test: %s: %s\n", what, strerror(errno));
	return 1;
}

/* Opens /dev/uioN of the first PCI device bound to uio_dmabuf. */
static int open_first_uio(char *name, size_t len)
{
	const char *drv = "/sys/bus/pci/drivers/uio_dmabuf";
	DIR *d = opendir(drv);
	struct dirent *e;
	int fd = -1;

	if (!d)
		return -1;
	while (fd < 0 && (e = readdir(d))) {
		char path[600];
		DIR *u;
		struct dirent *ue;

		if (strchr(e->d_name, ':') == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/%s/uio", drv, e->d_name);
		u = opendir(path);
		if (!u)
			continue;
		while ((ue = readdir(u))) {
			if (strncmp(ue->d_name, "uio", 3) == 0) {
				snprintf(name, len, "%s (%s)", ue->d_name, e->d_name);
				snprintf(path, sizeof(path), "/dev/%s", ue->d_name);
				fd = open(path, O_RDWR | O_CLOEXEC);
				break;
			}
		}
		closedir(u);
	}
	closedir(d);
	return fd;
}

/* IMPORT as a build against a header with a longer struct would issue it. */
struct uio_dmabuf_import_too_long {
	struct uio_dmabuf_import imp;
	__u64 extra;
};
#define UIO_DMABUF_IOC_IMPORT_TOO_LONG \
	_IOWR(UIO_DMABUF_IOCTL_MAGIC, 0x01, struct uio_dmabuf_import_too_long)

static const char *errno_name(int e)
{
	switch (e) {
	case ENOTTY: return "ENOTTY";
	case EINVAL: return "EINVAL";
	case EFAULT: return "EFAULT";
	case ENODEV: return "ENODEV";
	case EBADF: return "EBADF";
	default: return "E?";
	}
}

/* The run that must fail: the driver refuses our IMPORT under another size. */
static int wrong_abi(int dev, int uio, int dmabuf)
{
	struct uio_dmabuf_segment seg;
	struct uio_dmabuf_import_too_long arg;
	struct uio_dmabuf_release rel;

	memset(&arg, 0, sizeof(arg));
	arg.imp.uio_fd = uio;
	arg.imp.dmabuf_fd = dmabuf;
	arg.imp.direction = UIO_DMABUF_DIR_BIDIRECTIONAL;
	arg.imp.segments = (uintptr_t)&seg;
	arg.imp.capacity = 1;
	if (ioctl(dev, UIO_DMABUF_IOC_IMPORT_TOO_LONG, &arg) == 0) {
		printf("IMPORT with a %zu-byte struct (ioctl %#x) succeeded: handle %u\n",
		       sizeof(arg), (unsigned int)UIO_DMABUF_IOC_IMPORT_TOO_LONG, arg.imp.handle);
		memset(&rel, 0, sizeof(rel));
		rel.handle = arg.imp.handle;
		ioctl(dev, UIO_DMABUF_IOC_RELEASE, &rel);
		return 1;
	}
	printf("IMPORT with a %zu-byte struct (ioctl %#x): errno %d %s (%s)\n", sizeof(arg),
	       (unsigned int)UIO_DMABUF_IOC_IMPORT_TOO_LONG, errno, errno_name(errno),
	       strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	int wrong = argc > 1 && strcmp(argv[1], "--wrong-abi") == 0;
	unsigned long long size = argc > 1 && !wrong ? strtoull(argv[1], NULL, 0) : 1 << 20;
	struct dma_heap_allocation_data alloc = { .len = size, .fd_flags = O_RDWR | O_CLOEXEC };
	struct uio_dmabuf_segment segs[4];
	struct uio_dmabuf_info info;
	struct uio_dmabuf_import imp;
	struct uio_dmabuf_segments more;
	struct uio_dmabuf_sync sync;
	struct uio_dmabuf_release rel;
	char uio_name[520];
	int heap, uio, dev;
	unsigned int i, shown;

	heap = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);
	if (heap < 0)
		return fail("open /dev/dma_heap/system");
	if (ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &alloc))
		return fail("DMA_HEAP_IOCTL_ALLOC");
	uio = open_first_uio(uio_name, sizeof(uio_name));
	if (uio < 0)
		return fail("open the /dev/uioN of a uio_dmabuf device");
	dev = open(UIO_DMABUF_DEVICE, O_RDWR | O_CLOEXEC);
	if (dev < 0)
		return fail("open " UIO_DMABUF_DEVICE);
	if (wrong)
		return wrong_abi(dev, uio, (int)alloc.fd);

	memset(&info, 0, sizeof(info));
	info.uio_fd = uio;
	if (ioctl(dev, UIO_DMABUF_IOC_INFO, &info))
		return fail("UIO_DMABUF_IOC_INFO");
	printf("device %s: ABI %u, DMA mask %#llx, max segment %#llx, IOMMU %s\n", uio_name,
	       info.abi_version, (unsigned long long)info.dma_mask,
	       (unsigned long long)info.max_segment_size,
	       info.flags & UIO_DMABUF_INFO_IOMMU ? "yes" : "no");

	memset(&imp, 0, sizeof(imp));
	imp.uio_fd = uio;
	imp.dmabuf_fd = (int)alloc.fd;
	imp.direction = UIO_DMABUF_DIR_BIDIRECTIONAL;
	imp.segments = (uintptr_t)segs;
	imp.capacity = 4;
	if (ioctl(dev, UIO_DMABUF_IOC_IMPORT, &imp))
		return fail("UIO_DMABUF_IOC_IMPORT");
	printf("imported %llu bytes: handle %u, %u segment(s)\n", (unsigned long long)imp.size,
	       imp.handle, imp.nr_segments);

	/* Print every segment: the first from IMPORT, the rest paged in. */
	shown = imp.nr_segments < 4 ? imp.nr_segments : 4;
	for (i = 0; i < imp.nr_segments; i++) {
		if (i >= shown) {
			memset(&more, 0, sizeof(more));
			more.handle = imp.handle;
			more.first = i;
			more.segments = (uintptr_t)segs;
			more.capacity = 4;
			if (ioctl(dev, UIO_DMABUF_IOC_SEGMENTS, &more))
				return fail("UIO_DMABUF_IOC_SEGMENTS");
			if (more.count == 0) {
				fprintf(stderr, "uapi-test: SEGMENTS returned nothing at %u\n", i);
				return 1;
			}
			shown = i + more.count;
		}
		printf("  %4u  dma %#018llx  len %llu\n", i,
		       (unsigned long long)segs[i % 4].dma_addr, (unsigned long long)segs[i % 4].len);
	}

	memset(&sync, 0, sizeof(sync));
	sync.handle = imp.handle;
	sync.flags = UIO_DMABUF_SYNC_FOR_DEVICE;
	if (ioctl(dev, UIO_DMABUF_IOC_SYNC, &sync))
		return fail("UIO_DMABUF_IOC_SYNC");

	memset(&rel, 0, sizeof(rel));
	rel.handle = imp.handle;
	if (ioctl(dev, UIO_DMABUF_IOC_RELEASE, &rel))
		return fail("UIO_DMABUF_IOC_RELEASE");
	/* Released twice: the handle is gone. */
	if (ioctl(dev, UIO_DMABUF_IOC_RELEASE, &rel) == 0 || errno != ENOENT) {
		fprintf(stderr, "uapi-test: second RELEASE did not fail with ENOENT\n");
		return 1;
	}
	printf("released\n");
	close(dev);
	close(uio);
	close((int)alloc.fd);
	close(heap);
	return 0;
}

#endif /* UAPI_TEST_LAYOUT_ONLY */
