// SPDX-License-Identifier: GPL-2.0
/*
 * Guest test of libuio-dmabuf (lib/): every function against the real driver,
 * on the first device bound to uio_dmabuf (PCI or platform):
 *   lib-test [BUFFER_SIZE]
 * opens the device by each kind of name and refuses others with the
 * documented errno, imports a system-heap buffer and a scattered udmabuf,
 * checks their segment lists and the device-address lookup, syncs, refuses a second import and bad fds, releases,
 * closes a device with imports left, runs importers in threads, and checks the
 * driver's debugfs counters back at zero. Prints one line per check and
 * "lib-test: N checks, M failed" last; exits 1 if any failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test-util.h"
#include "uio-dmabuf.h"

/* An import's segment list covers the buffer, and udb_dma_addr() finds the
 * first and the last byte of every segment. */
static void check_import(struct udb_import *imp, uint64_t size, const char *what)
{
	const struct uio_dmabuf_segment *segs;
	uint64_t total = 0, addr, run, off;
	uint32_t n, i;
	int consistent = 1;
	char line[160];

	segs = udb_segments(imp, &n);
	for (i = 0; i < n; i++) {
		/* Every segment's first and last byte looked up by offset. */
		if (udb_dma_addr(imp, total, &addr, &run) || addr != segs[i].dma_addr ||
		    run != segs[i].len)
			consistent = 0;
		off = total + segs[i].len - 1;
		if (udb_dma_addr(imp, off, &addr, &run) ||
		    addr != segs[i].dma_addr + segs[i].len - 1 || run != 1)
			consistent = 0;
		total += segs[i].len;
	}
	snprintf(line, sizeof(line), "%s: %u segment(s) cover the %llu bytes", what, n,
		 (unsigned long long)size);
	check(udb_size(imp) == size && total == size && n > 0, line, (long)total);
	snprintf(line, sizeof(line), "%s: udb_dma_addr agrees with every segment's ends", what);
	check(consistent, line, n);
	expect(udb_dma_addr(imp, size, &addr, NULL), -ERANGE, "udb_dma_addr at the buffer's end");
	check(udb_handle(imp) != 0, "handle is not 0", udb_handle(imp));
}

struct worker {
	struct udb_device *dev;
	int rounds, failed;
};

static void *importer(void *arg)
{
	struct worker *w = arg;
	int i;

	for (i = 0; i < w->rounds; i++) {
		int buf = heap_buffer(16384);
		struct udb_import *imp;

		if (udb_import(w->dev, buf, UIO_DMABUF_DIR_BIDIRECTIONAL, 0, &imp) ||
		    udb_sync(imp, UIO_DMABUF_SYNC_FOR_DEVICE) || udb_release(imp))
			w->failed++;
		close(buf);
	}
	return NULL;
}

/* Pages of the scattered udmabuf: more than twice the 32 segments IMPORT returns. */
#define UDMABUF_PAGES 96

/* Whether the guest bounces every mapping (then neighbouring bounce slots may merge). */
static int swiotlb_forced(void)
{
	FILE *f = fopen("/proc/cmdline", "r");
	char line[4096] = "";

	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = '\0';
		fclose(f);
	}
	return strstr(line, "swiotlb=force") != NULL;
}

int main(int argc, char **argv)
{
	size_t size = argc > 1 ? strtoul(argv[1], NULL, 0) : 1 << 20;
	char name[256], other[256], path[300];
	struct uio_dmabuf_info info;
	struct udb_device *dev, *again = NULL;
	struct udb_import *heap_imp = NULL, *udma_imp = NULL, *imp;
	struct worker workers[4];
	pthread_t threads[4];
	int heap, udma, i, err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (find_device(bound_here, name, sizeof(name))) {
		fprintf(stderr, "lib-test: no device bound to uio_dmabuf\n");
		return 2;
	}

	/* Opening: every kind of name, and the refusals. */
	err = udb_open(name, &dev);
	expect(err, 0, "udb_open by bus name");
	if (err)
		return 1;
	printf("device %s: %s\n", name, udb_uio_name(dev));
	expect(udb_open(udb_uio_name(dev), &again), 0, "udb_open by UIO node");
	check(again && !strcmp(udb_uio_name(again), udb_uio_name(dev)), "same UIO node", 0);
	udb_close(again);
	again = NULL;
	snprintf(path, sizeof(path), "/dev/%s", udb_uio_name(dev));
	expect(udb_open(path, &again), 0, "udb_open by /dev path");
	udb_close(again);
	expect(udb_open("no-such-device", &again), -ENODEV, "udb_open of an unknown name");
	expect(udb_open("../../kernel", &again), -ENODEV, "udb_open of a path");
	expect(udb_open("uio999", &again), -ENODEV, "udb_open of an absent UIO node");
	expect(udb_open("", &again), -EINVAL, "udb_open of an empty name");
	expect(udb_open(NULL, &again), -EINVAL, "udb_open of NULL");
	if (find_device(bound_elsewhere, other, sizeof(other)) == 0) {
		printf("device bound to another driver: %s\n", other);
		expect(udb_open(other, &again), -EBUSY, "udb_open of a device of another driver");
	} else {
		check(0, "a device bound to another driver to try", 0);
	}
	if (find_device(driverless, other, sizeof(other)) == 0) {
		printf("device without driver: %s\n", other);
		expect(udb_open(other, &again), -ENODEV, "udb_open of a device without driver");
	} else {
		check(0, "a device without driver to try", 0);
	}

	expect(udb_info(dev, &info), 0, "udb_info");
	check(info.abi_version == UIO_DMABUF_ABI_VERSION, "ABI version", info.abi_version);
	expect(udb_info(dev, NULL), -EINVAL, "udb_info(NULL)");

	/* Imports from both exporters. */
	heap = heap_buffer(size);
	udma = scattered_udmabuf(UDMABUF_PAGES);
	expect(udb_import(dev, heap, UIO_DMABUF_DIR_TO_DEVICE, 0, &heap_imp), 0, "import system heap");
	expect(udb_import(dev, udma, UIO_DMABUF_DIR_FROM_DEVICE, 0, &udma_imp), 0,
	       "import scattered udmabuf");
	if (!heap_imp || !udma_imp) {
		printf("lib-test: imports failed, nothing more to check\n");
		return finish("lib-test");
	}
	check_import(heap_imp, size, "system heap");
	check_import(udma_imp, UDMABUF_PAGES * sysconf(_SC_PAGESIZE), "udmabuf");
	if (!(info.flags & UIO_DMABUF_INFO_IOMMU) && !swiotlb_forced()) {
		/*
		 * Scattered pages stay apart in DMA space: more segments than
		 * IMPORT returns itself, so udb_import read the rest. Interleaved
		 * page faults of two memfds usually scatter them, but now and then
		 * the page allocator hands one memfd runs of neighbouring pages
		 * (seen on the ZynqMP guest: 96 pages in 4 runs); a fresh buffer
		 * is then tried, up to 5 in all. A driver that merged pages apart
		 * would fail every try.
		 */
		uint32_t n;
		int tries = 1;

		udb_segments(udma_imp, &n);
		while (n <= 32 && tries < 5) {
			struct udb_import *fresh = NULL;
			int fd = scattered_udmabuf(UDMABUF_PAGES);

			if (fd < 0 || udb_import(dev, fd, UIO_DMABUF_DIR_FROM_DEVICE, 0, &fresh))
				break;
			expect(udb_release(udma_imp), 0, "release the udmabuf import to try another");
			close(udma);
			udma = fd;
			udma_imp = fresh;
			udb_segments(udma_imp, &n);
			tries++;
		}
		printf("udmabuf: %u segments (buffer %d of at most 5)\n", n, tries);
		check(n > 32, "udmabuf: more segments than IMPORT returns (SEGMENTS read the rest)",
		      n);
	}
	check(counter("imports_alive") == 2, "debugfs: 2 imports alive", counter("imports_alive"));
	expect(udb_sync(heap_imp, UIO_DMABUF_SYNC_FOR_DEVICE), 0, "sync for the device");
	expect(udb_sync(udma_imp, UIO_DMABUF_SYNC_FOR_CPU), 0, "sync for the CPU");
	expect(udb_sync(heap_imp, UIO_DMABUF_SYNC_FOR_CPU | UIO_DMABUF_SYNC_FOR_DEVICE), -EINVAL,
	       "sync with both targets");
	expect(udb_sync(heap_imp, 0), -EINVAL, "sync without target");

	/* Refusals: nothing stays imported. */
	expect(udb_import(dev, heap, UIO_DMABUF_DIR_TO_DEVICE, 0, &imp), -EEXIST,
	       "second import of the same buffer");
	expect(udb_import(dev, -1, UIO_DMABUF_DIR_TO_DEVICE, 0, &imp), -EBADF, "import of fd -1");
	expect(udb_import(dev, udb_uio_fd(dev), UIO_DMABUF_DIR_TO_DEVICE, 0, &imp), -EINVAL,
	       "import of a fd that is no dma-buf");
	expect(udb_import(dev, udma, 7, 0, &imp), -EINVAL, "import with direction 7");
	expect(udb_import(dev, udma, UIO_DMABUF_DIR_TO_DEVICE, 0x80, &imp), -EINVAL,
	       "import with an unknown flag");
	expect(udb_import(dev, udma, UIO_DMABUF_DIR_TO_DEVICE, 0, NULL), -EINVAL,
	       "import without a result pointer");
	check(counter("imports_alive") == 2, "debugfs: still 2 imports alive",
	      counter("imports_alive"));

	expect(udb_release(udma_imp), 0, "release the udmabuf import");
	expect(udb_release(NULL), 0, "release NULL");
	check(counter("imports_alive") == 1, "debugfs: 1 import alive", counter("imports_alive"));

	/* Threads importing and releasing on one device at once. */
	for (i = 0; i < 4; i++) {
		workers[i] = (struct worker){ .dev = dev, .rounds = 25 };
		pthread_create(&threads[i], NULL, importer, &workers[i]);
	}
	err = 0;
	for (i = 0; i < 4; i++) {
		pthread_join(threads[i], NULL);
		err += workers[i].failed;
	}
	check(err == 0, "4 threads x 25 imports, syncs and releases", err);
	check(counter("imports_alive") == 1, "debugfs: the heap import alone alive",
	      counter("imports_alive"));

	/* Closing the device releases what is left. */
	udb_close(dev);
	udb_close(NULL);
	check(counter("imports_alive") == 0 && counter("bytes_mapped") == 0,
	      "debugfs: nothing alive after udb_close", counter("imports_alive"));
	close(heap);
	close(udma);

	return finish("lib-test");
}
