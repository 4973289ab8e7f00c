// SPDX-License-Identifier: MIT OR Apache-2.0
/*
 * uapi-test: uses uapi/uio_dmabuf.h alone (plus libc and the kernel's own uapi
 * headers) the way a C userspace driver would: imports a system-heap buffer into
 * the first device bound to uio_dmabuf, prints its segments, reads them again
 * one by one, syncs and releases it; then checks the errno of every error the
 * ioctls can return without special module parameters or memory layout.
 *
 * Built with -Wall -Wextra -Werror, statically for the guest, twice: as a
 * 64-bit program and as a 32-bit one (-m32; the kernel runs it through
 * IA32_EMULATION and the misc device's compat_ptr_ioctl), so 32-bit userspace
 * provably gets the same ABI at run time, not only at compile time. With
 * -DUAPI_TEST_WRONG_LAYOUT one deliberately wrong assertion is added: that
 * build must fail, which shows the assertions are checked at all.
 *
 *   uapi-test [SIZE_BYTES]
 *   uapi-test --wrong-abi    IMPORT with a struct 8 bytes too long (another
 *                            ioctl number): prints the errno, which must be
 *                            ENOTTY, and exits 1 whatever happens
 */
#define _GNU_SOURCE /* memfd_create, F_ADD_SEALS */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/dma-heap.h>
#include <linux/udmabuf.h>

#include "uio_dmabuf.h"

/* The ABI: identical sizes and offsets on 32- and 64-bit. */
_Static_assert(sizeof(struct uio_dmabuf_segment) == 16, "segment size");
_Static_assert(sizeof(struct uio_dmabuf_info) == 72, "info size");
_Static_assert(offsetof(struct uio_dmabuf_info, dma_mask) == 8, "info.dma_mask");
_Static_assert(offsetof(struct uio_dmabuf_info, max_segment_size) == 16, "info.max_segment_size");
_Static_assert(offsetof(struct uio_dmabuf_info, flags) == 24, "info.flags");
_Static_assert(offsetof(struct uio_dmabuf_info, max_imports) == 28, "info.max_imports");
_Static_assert(offsetof(struct uio_dmabuf_info, max_mapped_bytes) == 32, "info.max_mapped_bytes");
_Static_assert(offsetof(struct uio_dmabuf_info, max_device_imports) == 40, "info.max_device_imports");
_Static_assert(offsetof(struct uio_dmabuf_info, max_device_mapped_bytes) == 48,
	       "info.max_device_mapped_bytes");
_Static_assert(offsetof(struct uio_dmabuf_info, reserved) == 56, "info.reserved");
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
_Static_assert(UIO_DMABUF_IOC_INFO == 0xc048db00u, "INFO number");
_Static_assert(UIO_DMABUF_IOC_IMPORT == 0xc040db01u, "IMPORT number");
_Static_assert(UIO_DMABUF_IOC_SEGMENTS == 0xc028db02u, "SEGMENTS number");
_Static_assert(UIO_DMABUF_IOC_SYNC == 0x4010db03u, "SYNC number");
_Static_assert(UIO_DMABUF_IOC_RELEASE == 0x4008db04u, "RELEASE number");

#ifdef UAPI_TEST_WRONG_LAYOUT
/* The compile-time negative: this build must fail right here. */
_Static_assert(sizeof(struct uio_dmabuf_import) == 56, "UAPI_TEST_WRONG_LAYOUT: import size");
#endif


static int fail(const char *what)
{
	fprintf(stderr, "uapi-test: %s: %s\n", what, strerror(errno));
	return 1;
}

/*
 * Opens /dev/uioN of the first device bound to uio_dmabuf, PCI before
 * platform; its name goes to `name`, its path to `dev_path` (of at least 32
 * bytes). A driver directory's other entries (bind, unbind, uevent, new_id,
 * the module link) have no uio subdirectory.
 */
static int open_first_uio(char *name, size_t len, char *dev_path)
{
	static const char *const drivers[] = {
		"/sys/bus/pci/drivers/uio_dmabuf",
		"/sys/bus/platform/drivers/uio_dmabuf",
	};
	int fd = -1;

	for (size_t i = 0; fd < 0 && i < sizeof(drivers) / sizeof(drivers[0]); i++) {
		DIR *d = opendir(drivers[i]);
		struct dirent *e;

		if (!d)
			continue;
		while (fd < 0 && (e = readdir(d))) {
			char path[600];
			DIR *u;
			struct dirent *ue;

			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s/uio", drivers[i], e->d_name);
			u = opendir(path);
			if (!u)
				continue;
			while ((ue = readdir(u))) {
				if (strncmp(ue->d_name, "uio", 3) == 0) {
					snprintf(name, len, "%s (%s)", ue->d_name, e->d_name);
					snprintf(dev_path, 32, "/dev/%.20s", ue->d_name);
					fd = open(dev_path, O_RDWR | O_CLOEXEC);
					break;
				}
			}
			closedir(u);
		}
		closedir(d);
	}
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
	case 0: return "success";
	case ENOTTY: return "ENOTTY";
	case EINVAL: return "EINVAL";
	case EFAULT: return "EFAULT";
	case ENODEV: return "ENODEV";
	case EBADF: return "EBADF";
	case ENOENT: return "ENOENT";
	case EEXIST: return "EEXIST";
	case E2BIG: return "E2BIG";
	default: return "E?";
	}
}

/* A system-heap dma-buf of `size` bytes, or -1. */
static int heap_buffer(int heap, unsigned long long size)
{
	struct dma_heap_allocation_data alloc = { .len = size, .fd_flags = O_RDWR | O_CLOEXEC };

	return ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &alloc) ? -1 : (int)alloc.fd;
}

/*
 * A udmabuf of `pages` memfd pages allocated interleaved with another memfd's,
 * so that few neighbours are physically contiguous; -1 on failure.
 */
static int scattered_udmabuf(unsigned int pages)
{
	long page = sysconf(_SC_PAGESIZE);
	int mem = memfd_create("uapi-test", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	int other = memfd_create("uapi-test-interleave", MFD_CLOEXEC);
	struct udmabuf_create create;
	unsigned int i;
	int dev, fd;

	if (mem < 0 || other < 0 || ftruncate(mem, (off_t)pages * page) ||
	    ftruncate(other, (off_t)pages * page))
		return -1;
	for (i = 0; i < pages; i++) {
		char one = 1;

		if (pwrite(mem, &one, 1, (off_t)i * page) != 1 ||
		    pwrite(other, &one, 1, (off_t)i * page) != 1)
			return -1;
	}
	close(other);
	if (fcntl(mem, F_ADD_SEALS, F_SEAL_SHRINK))
		return -1;
	dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	if (dev < 0)
		return -1;
	memset(&create, 0, sizeof(create));
	create.memfd = (__u32)mem;
	create.flags = UDMABUF_FLAGS_CLOEXEC;
	create.size = (__u64)pages * page;
	fd = ioctl(dev, UDMABUF_CREATE, &create);
	close(dev);
	close(mem);
	return fd;
}

static int checks, failures;

/* Records that `what` returned `ret` with errno, and expected `want` (0: success). */
static void expect(const char *what, int ret, int want)
{
	int got = ret == 0 ? 0 : errno;

	checks++;
	if (got == want) {
		printf("  ok    %s: %s\n", what, errno_name(want));
	} else {
		failures++;
		printf("  FAIL  %s: expected %s, got %s (%s)\n", what, errno_name(want),
		       errno_name(got), got ? strerror(got) : "no error");
	}
}

/*
 * Every error the ioctls give without special parameters, each with its exact
 * errno, on the device of `uio` (opened read-write as `uio_path`).
 */
static int error_cases(int dev, int uio, const char *uio_path, int heap)
{
	struct uio_dmabuf_segment segs[4];
	struct uio_dmabuf_info info;
	struct uio_dmabuf_import imp;
	struct uio_dmabuf_segments more;
	struct uio_dmabuf_sync sync;
	struct uio_dmabuf_release rel;
	int buf = heap_buffer(heap, 8192);
	int scattered = scattered_udmabuf(16);
	int read_only = open(uio_path, O_RDONLY | O_CLOEXEC);
	unsigned int handle;

	if (buf < 0 || scattered < 0 || read_only < 0)
		return fail("error-case setup");
	printf("errors:\n");

	memset(&info, 0, sizeof(info));
	info.uio_fd = -1;
	expect("INFO, uio_fd -1", ioctl(dev, UIO_DMABUF_IOC_INFO, &info), EBADF);
	info.uio_fd = buf;
	expect("INFO, a dma-buf as uio_fd", ioctl(dev, UIO_DMABUF_IOC_INFO, &info), ENODEV);
	info.uio_fd = uio;
	info.reserved[1] = 1;
	expect("INFO, reserved set", ioctl(dev, UIO_DMABUF_IOC_INFO, &info), EINVAL);
	expect("INFO, bad argument pointer", ioctl(dev, UIO_DMABUF_IOC_INFO, (void *)8), EFAULT);
	memset(&info, 0, sizeof(info));
	info.uio_fd = read_only;
	expect("INFO, read-only uio fd", ioctl(dev, UIO_DMABUF_IOC_INFO, &info), 0);

#define IMPORT_ARGS(u, d)                                       \
	do {                                                    \
		memset(&imp, 0, sizeof(imp));                   \
		imp.uio_fd = (u);                               \
		imp.dmabuf_fd = (d);                            \
		imp.direction = UIO_DMABUF_DIR_BIDIRECTIONAL;   \
		imp.segments = (uintptr_t)segs;                 \
		imp.capacity = 4;                               \
	} while (0)

	IMPORT_ARGS(uio, -1);
	expect("IMPORT, dmabuf_fd -1", ioctl(dev, UIO_DMABUF_IOC_IMPORT, &imp), EBADF);
	IMPORT_ARGS(uio, uio);
	expect("IMPORT, a uio fd as dmabuf_fd", ioctl(dev, UIO_DMABUF_IOC_IMPORT, &imp), EINVAL);
	IMPORT_ARGS(read_only, buf);
	expect("IMPORT, read-only uio fd", ioctl(dev, UIO_DMABUF_IOC_IMPORT, &imp), EBADF);
	IMPORT_ARGS(dev, buf);
	expect("IMPORT, /dev/uio-dmabuf as uio_fd", ioctl(dev, UIO_DMABUF_IOC_IMPORT, &imp), ENODEV);
	IMPORT_ARGS(uio, buf);
	imp.direction = 3;
	expect("IMPORT, direction 3", ioctl(dev, UIO_DMABUF_IOC_IMPORT, &imp), EINVAL);
	IMPORT_ARGS(uio, buf);
	imp.flags = 1u << 7;
	expect("IMPORT, unknown flag", ioctl(dev, UIO_DMABUF_IOC_IMPORT, &imp), EINVAL);
	IMPORT_ARGS(uio, buf);
	imp.segments = 0;
	expect("IMPORT, NULL segments with capacity 4", ioctl(dev, UIO_DMABUF_IOC_IMPORT, &imp),
	       EINVAL);
	IMPORT_ARGS(uio, buf);
	imp.reserved0 = 1;
	expect("IMPORT, reserved set", ioctl(dev, UIO_DMABUF_IOC_IMPORT, &imp), EINVAL);
	IMPORT_ARGS(uio, buf);
	imp.segments = 8;
	expect("IMPORT, bad segments pointer", ioctl(dev, UIO_DMABUF_IOC_IMPORT, &imp), EFAULT);
	/* That import was undone: the buffer imports again. */
	IMPORT_ARGS(uio, buf);
	expect("IMPORT after the undone one", ioctl(dev, UIO_DMABUF_IOC_IMPORT, &imp), 0);
	handle = imp.handle;
	IMPORT_ARGS(uio, buf);
	expect("IMPORT, same buffer again", ioctl(dev, UIO_DMABUF_IOC_IMPORT, &imp), EEXIST);

	/* CONTIGUOUS: E2BIG exactly when the buffer maps to several segments. */
	IMPORT_ARGS(uio, scattered);
	if (ioctl(dev, UIO_DMABUF_IOC_IMPORT, &imp))
		return fail("IMPORT of a scattered udmabuf");
	rel.handle = imp.handle;
	rel.reserved = 0;
	if (ioctl(dev, UIO_DMABUF_IOC_RELEASE, &rel))
		return fail("RELEASE of the scattered udmabuf");
	{
		unsigned int n = imp.nr_segments;

		IMPORT_ARGS(uio, scattered);
		imp.flags = UIO_DMABUF_IMPORT_CONTIGUOUS;
		expect(n > 1 ? "IMPORT CONTIGUOUS, several segments" : "IMPORT CONTIGUOUS, one segment",
		       ioctl(dev, UIO_DMABUF_IOC_IMPORT, &imp), n > 1 ? E2BIG : 0);
		if (n == 1) {
			rel.handle = imp.handle;
			ioctl(dev, UIO_DMABUF_IOC_RELEASE, &rel);
		}
	}

	memset(&more, 0, sizeof(more));
	more.handle = 0xdead;
	more.segments = (uintptr_t)segs;
	more.capacity = 4;
	expect("SEGMENTS, unknown handle", ioctl(dev, UIO_DMABUF_IOC_SEGMENTS, &more), ENOENT);
	more.handle = handle;
	more.first = 5;
	expect("SEGMENTS, first past the end", ioctl(dev, UIO_DMABUF_IOC_SEGMENTS, &more), EINVAL);
	more.first = 0;
	more.segments = 8;
	expect("SEGMENTS, bad segments pointer", ioctl(dev, UIO_DMABUF_IOC_SEGMENTS, &more), EFAULT);
	more.segments = (uintptr_t)segs;
	more.reserved = 1;
	expect("SEGMENTS, reserved set", ioctl(dev, UIO_DMABUF_IOC_SEGMENTS, &more), EINVAL);

	memset(&sync, 0, sizeof(sync));
	sync.handle = handle;
	expect("SYNC, no direction", ioctl(dev, UIO_DMABUF_IOC_SYNC, &sync), EINVAL);
	sync.flags = UIO_DMABUF_SYNC_FOR_CPU | UIO_DMABUF_SYNC_FOR_DEVICE;
	expect("SYNC, both directions", ioctl(dev, UIO_DMABUF_IOC_SYNC, &sync), EINVAL);
	sync.flags = UIO_DMABUF_SYNC_FOR_CPU;
	sync.handle = 0xdead;
	expect("SYNC, unknown handle", ioctl(dev, UIO_DMABUF_IOC_SYNC, &sync), ENOENT);

	memset(&rel, 0, sizeof(rel));
	rel.handle = handle;
	rel.reserved = 1;
	expect("RELEASE, reserved set", ioctl(dev, UIO_DMABUF_IOC_RELEASE, &rel), EINVAL);
	rel.reserved = 0;
	expect("RELEASE", ioctl(dev, UIO_DMABUF_IOC_RELEASE, &rel), 0);
	expect("RELEASE, released handle", ioctl(dev, UIO_DMABUF_IOC_RELEASE, &rel), ENOENT);
	sync.handle = handle;
	expect("SYNC, released handle", ioctl(dev, UIO_DMABUF_IOC_SYNC, &sync), ENOENT);
	expect("unknown ioctl", ioctl(dev, _IO(UIO_DMABUF_IOCTL_MAGIC, 0x0f), 0), ENOTTY);
#undef IMPORT_ARGS

	close(read_only);
	close(scattered);
	close(buf);
	printf("error cases: %d checked, %d failed\n", checks, failures);
	return failures ? 1 : 0;
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

/*
 * Imports `dmabuf` into the device of `uio`, prints every segment (the first
 * four from IMPORT, the rest paged in with SEGMENTS), reads them back one at a
 * time from the last, syncs both ways and releases it.
 */
static int import_and_read(int dev, int uio, int dmabuf)
{
	struct uio_dmabuf_segment segs[4], first[4];
	struct uio_dmabuf_import imp;
	struct uio_dmabuf_segments more;
	struct uio_dmabuf_sync sync;
	struct uio_dmabuf_release rel;
	unsigned int i, shown;

	memset(&imp, 0, sizeof(imp));
	imp.uio_fd = uio;
	imp.dmabuf_fd = dmabuf;
	imp.direction = UIO_DMABUF_DIR_BIDIRECTIONAL;
	imp.segments = (uintptr_t)segs;
	imp.capacity = 4;
	if (ioctl(dev, UIO_DMABUF_IOC_IMPORT, &imp))
		return fail("UIO_DMABUF_IOC_IMPORT");
	printf("imported %llu bytes: handle %u, %u segment(s)\n", (unsigned long long)imp.size,
	       imp.handle, imp.nr_segments);
	memcpy(first, segs, sizeof(first));

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

	/* Read again one at a time, from the last: the same list. */
	for (i = imp.nr_segments; i-- > 0;) {
		struct uio_dmabuf_segment one[2];

		memset(&more, 0, sizeof(more));
		more.handle = imp.handle;
		more.first = i;
		more.segments = (uintptr_t)one;
		more.capacity = 2;
		if (ioctl(dev, UIO_DMABUF_IOC_SEGMENTS, &more))
			return fail("UIO_DMABUF_IOC_SEGMENTS, one at a time");
		if (more.count != (i + 1 < imp.nr_segments ? 2u : 1u) ||
		    more.nr_segments != imp.nr_segments) {
			fprintf(stderr, "uapi-test: SEGMENTS from %u: count %u of %u\n", i, more.count,
				more.nr_segments);
			return 1;
		}
		if (i < 4 && (one[0].dma_addr != first[i].dma_addr || one[0].len != first[i].len)) {
			fprintf(stderr, "uapi-test: segment %u read back differs\n", i);
			return 1;
		}
	}
	printf("segments read back one by one: %u\n", imp.nr_segments);

	memset(&sync, 0, sizeof(sync));
	sync.handle = imp.handle;
	sync.flags = UIO_DMABUF_SYNC_FOR_DEVICE;
	if (ioctl(dev, UIO_DMABUF_IOC_SYNC, &sync))
		return fail("UIO_DMABUF_IOC_SYNC FOR_DEVICE");
	sync.flags = UIO_DMABUF_SYNC_FOR_CPU;
	if (ioctl(dev, UIO_DMABUF_IOC_SYNC, &sync))
		return fail("UIO_DMABUF_IOC_SYNC FOR_CPU");

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
	return 0;
}

int main(int argc, char **argv)
{
	int wrong = argc > 1 && strcmp(argv[1], "--wrong-abi") == 0;
	unsigned long long size = argc > 1 && !wrong ? strtoull(argv[1], NULL, 0) : 1 << 20;
	struct dma_heap_allocation_data alloc = { .len = size, .fd_flags = O_RDWR | O_CLOEXEC };
	struct uio_dmabuf_info info;
	char uio_name[520], uio_path[32];
	int heap, uio, dev, scattered;

	heap = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);
	if (heap < 0)
		return fail("open /dev/dma_heap/system");
	if (ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &alloc))
		return fail("DMA_HEAP_IOCTL_ALLOC");
	uio = open_first_uio(uio_name, sizeof(uio_name), uio_path);
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

	if (import_and_read(dev, uio, (int)alloc.fd))
		return 1;
	/* A scattered udmabuf: many segments without an IOMMU, paged in. */
	scattered = scattered_udmabuf(64);
	if (scattered < 0)
		return fail("create a scattered udmabuf");
	if (import_and_read(dev, uio, scattered))
		return 1;
	close(scattered);
	if (error_cases(dev, uio, uio_path, heap))
		return 1;
	close(dev);
	close(uio);
	close((int)alloc.fd);
	close(heap);
	return 0;
}

