// SPDX-License-Identifier: MIT OR Apache-2.0
/*
 * libuio-dmabuf in a few lines: import a system-heap buffer into a device
 * bound to uio_dmabuf and print the device addresses to program its DMA with.
 *   cc example.c $(pkg-config --cflags --libs uio-dmabuf)
 *   ./a.out 0000:00:03.0      (or fd500000.dma-controller, uio0)
 */
#include <fcntl.h>
#include <linux/dma-heap.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <uio-dmabuf.h>

int main(int argc, char **argv)
{
	struct dma_heap_allocation_data alloc = { .len = 1 << 20, .fd_flags = O_RDWR | O_CLOEXEC };
	const struct uio_dmabuf_segment *segs;
	struct udb_device *dev;
	struct udb_import *buf;
	uint32_t n, i;
	int heap, err;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DEVICE\n", argv[0]);
		return 2;
	}
	heap = open("/dev/dma_heap/system", O_RDWR | O_CLOEXEC);
	if (heap < 0 || ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &alloc)) {
		perror("/dev/dma_heap/system");
		return 1;
	}
	err = udb_open(argv[1], &dev);
	if (err) {
		fprintf(stderr, "%s: %s\n", argv[1], strerror(-err));
		return 1;
	}
	err = udb_import(dev, alloc.fd, UIO_DMABUF_DIR_BIDIRECTIONAL, 0, &buf);
	if (err) {
		fprintf(stderr, "import: %s\n", strerror(-err));
		udb_close(dev);
		return 1;
	}
	segs = udb_segments(buf, &n);
	printf("%s (%s): %u segment(s)\n", argv[1], udb_uio_name(dev), n);
	for (i = 0; i < n; i++)
		printf("  0x%016llx  %llu bytes\n", (unsigned long long)segs[i].dma_addr,
		       (unsigned long long)segs[i].len);
	/* The CPU fills the buffer here, then hands it to the device: */
	udb_sync(buf, UIO_DMABUF_SYNC_FOR_DEVICE);
	/* ... program the device's DMA with the addresses above, wait for its
	 * interrupt (read(udb_uio_fd(dev), ...)), then before the CPU reads: */
	udb_sync(buf, UIO_DMABUF_SYNC_FOR_CPU);
	udb_release(buf);
	udb_close(dev);
	close(alloc.fd);
	close(heap);
	return 0;
}
