/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the C guest tests of the libraries (lib-test.c, metal-test.c) share:
 * checks counted and printed one per line, test buffers from both exporters,
 * the driver's debugfs counters, and devices found in sysfs.
 */
#ifndef UIO_DMABUF_TEST_UTIL_H
#define UIO_DMABUF_TEST_UTIL_H

#include <stddef.h>

/* Counts a check and prints "ok: what (got)" or "FAILED: what (got)". */
void check(int ok, const char *what, long got);

/* Checks that `got` is `want`: a negative errno, or a value >= 0. */
void expect(long got, long want, const char *what);

/* Prints "PROGRAM: N checks, M failed"; the exit status (1 if any failed). */
int finish(const char *program);

/* A `size`-byte buffer from the system heap (exits with 2 if that fails). */
int heap_buffer(size_t size);

/* A udmabuf over `pages` pages of a memfd, every other one of twice as many,
 * so that they are scattered in memory (exits with 2 if that fails). */
int scattered_udmabuf(unsigned int pages);

/* One counter of the driver's debugfs summary, -1 if absent. */
long counter(const char *name);

/*
 * The first device under /sys/bus/{pci,platform}/devices (PCI first) whose
 * `driver` link's last component `driver` accepts (NULL: no driver), with a
 * name shorter than `len`, into `name`: 0, or -1 if there is none.
 */
int find_device(int (*driver)(const char *bus, const char *name, const char *driver),
		char *name, size_t len);

/* find_device() predicates: bound to uio_dmabuf, to another driver, to none. */
int bound_here(const char *bus, const char *name, const char *driver);
int bound_elsewhere(const char *bus, const char *name, const char *driver);
int driverless(const char *bus, const char *name, const char *driver);

#endif
