// SPDX-License-Identifier: GPL-2.0
/* See test-util.h. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-heap.h>
#include <linux/udmabuf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "test-util.h"

static int checks, failures;

void check(int ok, const char *what, long got)
{
	checks++;
	if (!ok)
		failures++;
	printf("%s: %s (%ld)\n", ok ? "ok" : "FAILED", what, got);
}

void expect(long got, long want, const char *what)
{
	char line[240];

	if (want < 0)
		snprintf(line, sizeof(line), "%s: %s expected", what, strerror(-want));
	else
		snprintf(line, sizeof(line), "%s: %ld expected", what, want);
	check(got == want, line, got);
}

int finish(const char *program)
{
	printf("%s: %d checks, %d failed\n", program, checks, failures);
	return failures ? 1 : 0;
}

int heap_buffer(size_t size)
{
	struct dma_heap_allocation_data alloc = { .len = size, .fd_flags = O_RDWR | O_CLOEXEC };
	int heap = open("/dev/dma_heap/system", O_RDWR | O_CLOEXEC);

	if (heap < 0 || ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &alloc)) {
		perror("system heap");
		exit(2);
	}
	close(heap);
	return alloc.fd;
}

int scattered_udmabuf(unsigned int pages)
{
	long page = sysconf(_SC_PAGESIZE);
	struct udmabuf_create_list *list;
	int memfd, dev, fd;
	unsigned int i;

	memfd = memfd_create("uio-dmabuf-test", MFD_ALLOW_SEALING);
	dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	list = calloc(1, sizeof(*list) + pages * sizeof(list->list[0]));
	if (memfd < 0 || dev < 0 || !list || ftruncate(memfd, 2L * pages * page) ||
	    fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK)) {
		perror("udmabuf");
		exit(2);
	}
	list->flags = UDMABUF_FLAGS_CLOEXEC;
	list->count = pages;
	for (i = 0; i < pages; i++) {
		list->list[i].memfd = memfd;
		list->list[i].offset = 2L * i * page;
		list->list[i].size = page;
	}
	fd = ioctl(dev, UDMABUF_CREATE_LIST, list);
	if (fd < 0) {
		perror("UDMABUF_CREATE_LIST");
		exit(2);
	}
	free(list);
	close(dev);
	close(memfd);
	return fd;
}

long counter(const char *name)
{
	FILE *f = fopen("/sys/kernel/debug/uio_dmabuf/summary", "r");
	char key[64];
	long value, found = -1;

	while (f && fscanf(f, "%63s %ld", key, &value) == 2)
		if (!strcmp(key, name))
			found = value;
	if (f)
		fclose(f);
	return found;
}

int find_device(int (*driver)(const char *bus, const char *name, const char *driver),
		char *name, size_t len)
{
	static const char *const buses[] = { "pci", "platform" };
	size_t i;

	for (i = 0; i < 2; i++) {
		char dir[64];
		DIR *d;
		struct dirent *e;

		snprintf(dir, sizeof(dir), "/sys/bus/%s/devices", buses[i]);
		d = opendir(dir);
		while (d && (e = readdir(d))) {
			char path[512], target[512];
			const char *drv = NULL;
			ssize_t n;

			if (e->d_name[0] == '.' || strlen(e->d_name) >= len)
				continue;
			snprintf(path, sizeof(path), "%s/%s/driver", dir, e->d_name);
			n = readlink(path, target, sizeof(target) - 1);
			if (n > 0) {
				target[n] = '\0';
				drv = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
			}
			if (driver(buses[i], e->d_name, drv)) {
				strcpy(name, e->d_name);
				closedir(d);
				return 0;
			}
		}
		if (d)
			closedir(d);
	}
	return -1;
}

int bound_here(const char *bus, const char *name, const char *driver)
{
	(void)bus;
	(void)name;
	return driver && !strcmp(driver, "uio_dmabuf");
}

int bound_elsewhere(const char *bus, const char *name, const char *driver)
{
	(void)bus;
	(void)name;
	return driver && strcmp(driver, "uio_dmabuf");
}

int driverless(const char *bus, const char *name, const char *driver)
{
	(void)bus;
	(void)name;
	return !driver;
}
