// SPDX-License-Identifier: GPL-2.0
/*
 * Guest test of libuio-dmabuf-metal with an unmodified libmetal: only
 * libmetal's API and ours. On the first edu (x86, arm64 virt) or ZynqMP DMA
 * channel (arm64 zcu102) bound to uio_dmabuf:
 *   metal-test [SIZE]
 * opens it on the "uio_dmabuf" bus, checks its registers through
 * metal_io_read32 (edu's identification register; a ZDMA channel's interrupt
 * mask following its enable and disable registers), registers a libmetal
 * interrupt handler, imports a system-heap buffer (the device reads it) and a
 * scattered udmabuf (the device writes it), hands them to the device with
 * metal_dma_map, lets the device copy one to the other piece by piece with
 * addresses from metal_io_phys (edu through its internal buffer, ZDMA memory
 * to memory in simple mode; completion in the libmetal handler), takes them
 * back with metal_dma_unmap and compares. Then the refusals, and the driver's
 * counters back at zero. Prints one line per check and
 * "metal-test: N checks, M failed" last; exits 77 without such a device.
 *   metal-test --beyond-4g
 * checks libmetal's metal_phys_addr_t against device addresses above 4 GiB
 * (see beyond_4g()).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <metal/device.h>
#include <metal/dma.h>
#include <metal/io.h>
#include <metal/irq.h>
#include <metal/sys.h>

#include "test-util.h"
#include "uio-dmabuf-metal.h"
#include "uio-dmabuf.h"

/* edu's registers (QEMU docs/specs/edu.rst) */
#define EDU_ID 0x00
#define EDU_IRQ_STATUS 0x24
#define EDU_IRQ_RAISE 0x60
#define EDU_IRQ_ACK 0x64
#define EDU_DMA_SRC 0x80
#define EDU_DMA_DST 0x88
#define EDU_DMA_COUNT 0x90
#define EDU_DMA_CMD 0x98
#define EDU_DMA_START 1
#define EDU_DMA_TO_RAM 2
#define EDU_DMA_IRQ 4
#define EDU_IRQ_DMA 0x100
#define EDU_BUFFER 0x40000
/* QEMU 7.2 aborts on a transfer that ends at the buffer's end. */
#define EDU_MAX 4095

/* A ZynqMP DMA channel's registers (see userspace-test/src/zdma.rs) */
#define ZDMA_ISR 0x100
#define ZDMA_IMR 0x104
#define ZDMA_IEN 0x108
#define ZDMA_IDS 0x10c
#define ZDMA_CTRL0 0x110
#define ZDMA_SRC_DSCR 0x128
#define ZDMA_DST_DSCR 0x138
#define ZDMA_CTRL2 0x200
#define ZDMA_IRQ_ALL 0xfff
#define ZDMA_DONE 0x400
#define ZDMA_ERRORS 0x3f1
#define ZDMA_MAX ((1u << 30) - 1)

struct irq_state {
	struct metal_io_region *regs;
	atomic_uint dma_done;
	atomic_uint dma_failed;
	atomic_uint calls;
};

/* libmetal calls these from its IRQ thread: acknowledge at the device and
 * count; the bus then re-enables the line. */
static int edu_irq(int irq, void *arg)
{
	struct irq_state *st = arg;
	uint32_t status = metal_io_read32(st->regs, EDU_IRQ_STATUS);

	(void)irq;
	metal_io_write32(st->regs, EDU_IRQ_ACK, status);
	atomic_fetch_add(&st->calls, 1);
	if (status & EDU_IRQ_DMA)
		atomic_fetch_add(&st->dma_done, 1);
	return METAL_IRQ_HANDLED;
}

static int zdma_irq(int irq, void *arg)
{
	struct irq_state *st = arg;
	uint32_t status = metal_io_read32(st->regs, ZDMA_ISR);

	(void)irq;
	metal_io_write32(st->regs, ZDMA_ISR, status); /* write 1 to clear */
	atomic_fetch_add(&st->calls, 1);
	if (status & ZDMA_ERRORS)
		atomic_fetch_add(&st->dma_failed, 1);
	if (status & ZDMA_DONE)
		atomic_fetch_add(&st->dma_done, 1);
	return METAL_IRQ_HANDLED;
}

/* Waits up to 20 s for the handler to count a completion after `before`. */
static int wait_done(struct irq_state *st, unsigned int before)
{
	int ms;

	for (ms = 0; ms < 20000 && atomic_load(&st->dma_done) == before; ms++)
		usleep(1000);
	if (atomic_load(&st->dma_failed))
		return -EIO;
	return atomic_load(&st->dma_done) == before ? -ETIMEDOUT : 0;
}

/* One edu transfer between RAM at `ram` and its buffer. */
static int edu_dma(struct irq_state *st, uint64_t ram, size_t len, int to_ram)
{
	unsigned int before = atomic_load(&st->dma_done);

	metal_io_write64(st->regs, EDU_DMA_SRC, to_ram ? EDU_BUFFER : ram);
	metal_io_write64(st->regs, EDU_DMA_DST, to_ram ? ram : EDU_BUFFER);
	metal_io_write64(st->regs, EDU_DMA_COUNT, len);
	metal_io_write64(st->regs, EDU_DMA_CMD,
			 EDU_DMA_START | EDU_DMA_IRQ | (to_ram ? EDU_DMA_TO_RAM : 0));
	return wait_done(st, before);
}

/* edu copies through its buffer: two transfers. */
static int edu_copy(struct irq_state *st, uint64_t src, uint64_t dst, size_t len)
{
	int err = edu_dma(st, src, len, 0);

	return err ? err : edu_dma(st, dst, len, 1);
}

/* A ZDMA channel copies memory to memory: one simple-mode transfer. */
static int zdma_copy(struct irq_state *st, uint64_t src, uint64_t dst, size_t len)
{
	unsigned int before = atomic_load(&st->dma_done);

	metal_io_write32(st->regs, ZDMA_ISR, ZDMA_IRQ_ALL);
	metal_io_write32(st->regs, ZDMA_SRC_DSCR, (uint32_t)src);
	metal_io_write32(st->regs, ZDMA_SRC_DSCR + 4, (uint32_t)(src >> 32));
	metal_io_write32(st->regs, ZDMA_SRC_DSCR + 8, len);
	metal_io_write32(st->regs, ZDMA_SRC_DSCR + 12, 0);
	metal_io_write32(st->regs, ZDMA_DST_DSCR, (uint32_t)dst);
	metal_io_write32(st->regs, ZDMA_DST_DSCR + 4, (uint32_t)(dst >> 32));
	metal_io_write32(st->regs, ZDMA_DST_DSCR + 8, len);
	metal_io_write32(st->regs, ZDMA_DST_DSCR + 12, 0);
	metal_io_write32(st->regs, ZDMA_CTRL0, 0x80); /* simple mode, read-write */
	metal_io_write32(st->regs, ZDMA_IEN, ZDMA_DONE);
	metal_io_write32(st->regs, ZDMA_CTRL2, 1);    /* enable: go */
	return wait_done(st, before);
}

/* The copy engines: how to recognize, interrupt-handle and drive each. */
struct engine {
	const char *name;
	size_t max;
	int (*handler)(int irq, void *arg);
	int (*copy)(struct irq_state *st, uint64_t src, uint64_t dst, size_t len);
	int transfers_per_copy;
};

static const struct engine edu_engine = { "edu", EDU_MAX, edu_irq, edu_copy, 2 };
static const struct engine zdma_engine = { "ZDMA", ZDMA_MAX, zdma_irq, zdma_copy, 1 };

/* Whether the registers behave as the engine's: edu's identification
 * register; a ZDMA channel's interrupt mask following IDS and IEN. */
static int registers_answer(const struct engine *e, struct metal_io_region *regs, long *got)
{
	if (e == &edu_engine) {
		*got = metal_io_read32(regs, EDU_ID);
		return *got == 0x010000ed;
	}
	metal_io_write32(regs, ZDMA_IDS, ZDMA_IRQ_ALL);
	*got = metal_io_read32(regs, ZDMA_IMR) & ZDMA_IRQ_ALL;
	metal_io_write32(regs, ZDMA_IEN, ZDMA_DONE);
	return *got == ZDMA_IRQ_ALL &&
	       (metal_io_read32(regs, ZDMA_IMR) & ZDMA_IRQ_ALL) == (ZDMA_IRQ_ALL & ~ZDMA_DONE);
}

/* The engine of the device find_device() last accepted. */
static const struct engine *found_engine;

/* Accepts an edu or ZDMA channel bound to uio_dmabuf, noting its engine. */
static int our_engine(const char *bus, const char *name, const char *driver)
{
	char path[512], id[64] = "";
	ssize_t n;
	int fd;

	if (!bound_here(bus, name, driver))
		return 0;
	snprintf(path, sizeof(path), "/sys/bus/%s/devices/%s/%s", bus, name,
		 strcmp(bus, "pci") ? "of_node/compatible" : "device");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, id, sizeof(id) - 1);
	if (fd >= 0)
		close(fd);
	if (n > 0 && !strcmp(bus, "pci") && !strncmp(id, "0x11e8", 6))
		found_engine = &edu_engine;
	else if (n > 0 && strcmp(bus, "pci") && !strcmp(id, "xlnx,zynqmp-dma-1.0"))
		found_engine = &zdma_engine;
	else
		return 0;
	return 1;
}

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 31 ^ (i >> 12) * 7 ^ 0x5a);
}

/* Opening with the uio fd at 1023 or above: libmetal's IRQ table ends at 1022. */
static void check_high_fds(const char *name)
{
	struct rlimit lim = { 2048, 2048 };
	struct metal_device *dev;
	int fds[1100], n = 0, fd;

	if (setrlimit(RLIMIT_NOFILE, &lim)) {
		check(0, "raise RLIMIT_NOFILE to 2048", errno);
		return;
	}
	while (n < 1100 && (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0) {
		fds[n++] = fd;
		if (fd >= 1030)
			break;
	}
	expect(metal_device_open(UIO_DMABUF_METAL_BUS, name, &dev), -EMFILE,
	       "metal_device_open with no file descriptor below 1023 left");
	while (n > 0)
		close(fds[--n]);
}

/*
 * Closing a device whose handler is still registered and enabled, with an
 * interrupt raised just before (edu can raise one on request): the bus
 * disables it and waits for a running handler, after which the handler is
 * never called again; the device opens again afterwards.
 */
static void check_close_with_handler(const char *name, const struct engine *engine)
{
	struct irq_state st = { 0 };
	struct metal_device *dev;
	unsigned int calls;
	int irq;

	if (metal_device_open(UIO_DMABUF_METAL_BUS, name, &dev)) {
		check(0, "metal_device_open for the close test", 0);
		return;
	}
	st.regs = metal_device_io_region(dev, 0);
	irq = (int)(intptr_t)dev->irq_info;
	metal_irq_register(irq, engine->handler, &st);
	metal_irq_enable(irq);
	if (engine == &edu_engine)
		metal_io_write32(st.regs, EDU_IRQ_RAISE, EDU_IRQ_DMA);
	metal_device_close(dev);
	calls = atomic_load(&st.calls);
	usleep(300 * 1000);
	check(atomic_load(&st.calls) == calls, "no handler call after metal_device_close",
	      (long)atomic_load(&st.calls));
	if (metal_device_open(UIO_DMABUF_METAL_BUS, name, &dev)) {
		check(0, "metal_device_open after closing with a handler registered", 0);
		return;
	}
	check(1, "metal_device_open after closing with a handler registered", 0);
	/* Leave no interrupt pending at edu for the tests after this one. */
	if (engine == &edu_engine) {
		st.regs = metal_device_io_region(dev, 0);
		metal_io_write32(st.regs, EDU_IRQ_ACK, metal_io_read32(st.regs, EDU_IRQ_STATUS));
	}
	metal_device_close(dev);
}

/*
 * In a guest whose RAM reaches past 4 GiB, with a device that takes 64-bit
 * addresses and no IOMMU, system-heap pages come from above 4 GiB. libmetal's
 * metal_phys_addr_t is an unsigned long: a 64-bit build must take such an
 * import (metal_io_phys gives the addresses), a 32-bit build cannot hold them,
 * so the import fails with -ERANGE and leaves nothing behind. Where the buffer
 * is comes from the C library's own import of it, released before.
 */
static int beyond_4g(void)
{
	const uint64_t four_g = 1ull << 32, size = 1 << 20;
	struct metal_init_params params = METAL_INIT_DEFAULTS;
	const struct uio_dmabuf_segment *segs;
	uint64_t highest = 0, off, high_off = size;
	struct metal_io_region *io;
	struct metal_device *dev;
	struct udb_device *udb;
	struct udb_import *imp;
	uint32_t i, nr = 0;
	char devname[64];
	int fd, err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (find_device(our_engine, devname, sizeof(devname))) {
		printf("no edu or ZDMA channel bound to uio_dmabuf\n");
		return 77;
	}
	params.log_level = METAL_LOG_WARNING;
	expect(metal_init(&params), 0, "metal_init");
	expect(uio_dmabuf_metal_init(), 0, "uio_dmabuf_metal_init");
	err = metal_device_open(UIO_DMABUF_METAL_BUS, devname, &dev);
	expect(err, 0, "metal_device_open of the device");
	if (err)
		return finish("metal-test");
	fd = heap_buffer(size);
	expect(udb_open(devname, &udb), 0, "udb_open of the device");
	expect(udb_import(udb, fd, UIO_DMABUF_DIR_TO_DEVICE, 0, &imp), 0, "udb_import of the buffer");
	segs = udb_segments(imp, &nr);
	for (i = 0; i < nr; i++)
		if (segs[i].dma_addr + segs[i].len - 1 > highest)
			highest = segs[i].dma_addr + segs[i].len - 1;
	expect(udb_release(imp), 0, "udb_release");
	udb_close(udb);
	printf("highest device address 0x%llx, metal_phys_addr_t of %zu bytes\n",
	       (unsigned long long)highest, sizeof(metal_phys_addr_t));
	check(highest >= four_g, "the buffer has device addresses above 4 GiB", 0);

	err = uio_dmabuf_metal_import(dev, fd, METAL_DMA_DEV_R, 0, &io);
	if (sizeof(metal_phys_addr_t) >= sizeof(uint64_t)) {
		expect(err, 0, "64-bit metal_phys_addr_t: import of a buffer above 4 GiB");
		for (off = 0; !err && off < size; off += 4096)
			if (metal_io_phys(io, off) >= four_g && high_off == size)
				high_off = off;
		check(high_off < size && metal_io_phys_to_offset(io, metal_io_phys(io, high_off)) == high_off,
		      "metal_io_phys above 4 GiB and back", (long)high_off);
		if (!err)
			expect(uio_dmabuf_metal_release(io), 0, "release the import");
	} else {
		expect(err, -ERANGE, "32-bit metal_phys_addr_t: import of a buffer above 4 GiB");
	}
	check(counter("imports_alive") == 0 && counter("bytes_mapped") == 0,
	      "debugfs: nothing alive afterwards", counter("imports_alive"));
	metal_device_close(dev);
	uio_dmabuf_metal_finish();
	metal_finish();
	close(fd);
	return finish("metal-test");
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--beyond-4g"))
		return beyond_4g();

	size_t size = argc > 1 ? strtoul(argv[1], NULL, 0) : 32768, off;
	struct metal_init_params params = METAL_INIT_DEFAULTS;
	struct metal_io_region *regs, *src, *dst;
	struct irq_state st = { 0 };
	struct metal_device *dev, *other;
	struct metal_sg sg_src, sg_dst, sg_bad, sg_out;
	char devname[64], foreign[64];
	const struct engine *engine;
	uint8_t *bytes, word[4];
	int src_fd, dst_fd, irq, err;
	size_t bad = 0, pieces = 0;

	if (argc > 1 && !strcmp(argv[1], "--beyond-4g"))
		return beyond_4g();
	setvbuf(stdout, NULL, _IOLBF, 0);
	params.log_level = METAL_LOG_WARNING;
	engine = find_device(our_engine, devname, sizeof(devname)) ? NULL : found_engine;
	if (!engine) {
		printf("no edu or ZDMA channel bound to uio_dmabuf\n");
		return 77;
	}
	expect(metal_init(&params), 0, "metal_init");
	expect(uio_dmabuf_metal_init(), 0, "uio_dmabuf_metal_init");
	expect(uio_dmabuf_metal_init(), 0, "uio_dmabuf_metal_init again");

	/* Refusals first: nothing may stay open. */
	expect(metal_device_open(UIO_DMABUF_METAL_BUS, "0000:ff:1f.7", &other), -ENODEV,
	       "metal_device_open of an unknown device");
	if (find_device(bound_elsewhere, foreign, sizeof(foreign)) == 0) {
		printf("bound to another driver: %s\n", foreign);
		expect(metal_device_open(UIO_DMABUF_METAL_BUS, foreign, &other), -EBUSY,
		       "metal_device_open of a device bound to another driver");
	} else {
		check(0, "a device bound to another driver to try", 0);
	}
	check_high_fds(devname);

	err = metal_device_open(UIO_DMABUF_METAL_BUS, devname, &dev);
	expect(err, 0, "metal_device_open of the device");
	if (err)
		return 1;
	printf("device %s (%s): %u region(s), irq %d\n", devname, engine->name, dev->num_regions,
	       (int)(intptr_t)dev->irq_info);
	regs = metal_device_io_region(dev, 0);
	{
		long got = -1;

		check(regs && registers_answer(engine, regs, &got),
		      "the device's registers through metal_io_read32/write32", got);
	}
	expect(metal_io_block_read(regs, metal_io_region_size(regs), word, 4), -ERANGE,
	       "metal_io_block_read beyond region 0");
	check(metal_io_phys(regs, metal_io_region_size(regs)) == METAL_BAD_PHYS,
	      "metal_io_phys beyond region 0 is METAL_BAD_PHYS", 0);

	st.regs = regs;
	irq = (int)(intptr_t)dev->irq_info;
	check(dev->irq_num == 1 && irq >= 0, "an interrupt", irq);
	expect(metal_irq_register(irq, engine->handler, &st), 0, "metal_irq_register");
	metal_irq_enable(irq);

	/* Buffers: the device reads src and writes dst. */
	src_fd = heap_buffer(size);
	dst_fd = scattered_udmabuf(size / sysconf(_SC_PAGESIZE));
	expect(uio_dmabuf_metal_import(dev, src_fd, METAL_DMA_DEV_R, 0, &src), 0,
	       "import system heap, device reads");
	expect(uio_dmabuf_metal_import(dev, dst_fd, METAL_DMA_DEV_W, 0, &dst), 0,
	       "import scattered udmabuf, device writes");
	check(metal_io_region_size(src) == size && metal_io_region_size(dst) == size,
	      "regions as large as the buffers", (long)metal_io_region_size(dst));
	bytes = malloc(size);
	for (off = 0; off < size; off++)
		bytes[off] = pattern(off);
	expect(metal_io_block_write(src, 0, bytes, size), size, "fill the source");
	memset(bytes, 0, size);
	expect(metal_io_block_write(dst, 0, bytes, size), size, "zero the destination");

	sg_src = (struct metal_sg){ .virt = src->virt, .io = src, .len = size };
	sg_dst = (struct metal_sg){ .virt = dst->virt, .io = dst, .len = size };
	expect(metal_dma_map(dev, METAL_DMA_DEV_W, &sg_src, 1, &sg_out), -EINVAL,
	       "metal_dma_map of a device-read import for device writes");
	sg_bad = (struct metal_sg){ .virt = regs->virt, .io = regs, .len = 4 };
	expect(metal_dma_map(dev, METAL_DMA_DEV_R, &sg_bad, 1, &sg_out), -EINVAL,
	       "metal_dma_map of a region that is no import");
	sg_bad = (struct metal_sg){ .virt = src->virt, .io = src, .len = size + 1 };
	expect(metal_dma_map(dev, METAL_DMA_DEV_R, &sg_bad, 1, &sg_out), -EINVAL,
	       "metal_dma_map past the import's end");
	{
		/* Two entries in one import: handed over once, both returned. */
		struct metal_sg two[2] = {
			{ .virt = src->virt, .io = src, .len = size / 2 },
			{ .virt = (char *)src->virt + size / 2, .io = src, .len = size - size / 2 },
		};

		expect(metal_dma_map(dev, METAL_DMA_DEV_R, two, 2, two), 2,
		       "metal_dma_map of two entries in one import");
		metal_dma_unmap(dev, METAL_DMA_DEV_R, two, 2);
		/* One good entry and a bad one: refused as a whole. */
		two[1] = (struct metal_sg){ .virt = dst->virt, .io = dst, .len = 4 };
		expect(metal_dma_map(dev, METAL_DMA_DEV_R, two, 2, two), -EINVAL,
		       "metal_dma_map of a good and a bad entry");
	}
	expect(metal_dma_map(dev, METAL_DMA_DEV_R, &sg_src, 1, &sg_out), 1,
	       "metal_dma_map of the source");
	expect(metal_dma_map(dev, METAL_DMA_DEV_W, &sg_dst, 1, &sg_out), 1,
	       "metal_dma_map of the destination");

	/* The device copies source to destination, each piece within one
	 * segment of both and at most as long as the engine takes. */
	for (off = 0; off < size && !bad; pieces++) {
		size_t len = size - off, run;

		run = uio_dmabuf_metal_contiguous(src, off);
		len = run < len ? run : len;
		run = uio_dmabuf_metal_contiguous(dst, off);
		len = run < len ? run : len;
		len = len < engine->max ? len : engine->max;
		if (!len || engine->copy(&st, metal_io_phys(src, off), metal_io_phys(dst, off), len))
			bad = 1;
		else if (metal_io_phys_to_offset(dst, metal_io_phys(dst, off)) != off)
			bad = 2;
		off += len;
	}
	check(!bad, "DMA of every piece, completion in the libmetal handler", (long)pieces);
	check(atomic_load(&st.calls) == engine->transfers_per_copy * pieces,
	      "one handler call per transfer", (long)atomic_load(&st.calls));
	metal_dma_unmap(dev, METAL_DMA_DEV_R, &sg_src, 1);
	metal_dma_unmap(dev, METAL_DMA_DEV_W, &sg_dst, 1);
	expect(metal_io_block_read(dst, 0, bytes, size), size, "read the destination");
	for (off = 0, bad = 0; off < size; off++)
		bad += bytes[off] != pattern(off);
	check(bad == 0, "destination equals source, byte for byte", (long)bad);
	check(metal_io_phys(dst, size) == METAL_BAD_PHYS, "metal_io_phys past the import's end", 0);

	check(counter("imports_alive") == 2, "debugfs: 2 imports alive", counter("imports_alive"));
	expect(uio_dmabuf_metal_release(src), 0, "release the source");
	expect(uio_dmabuf_metal_release(regs), -EINVAL, "release of a region that is no import");
	metal_irq_disable(irq);
	metal_irq_unregister(irq);
	/* Closing the device releases the destination. */
	metal_device_close(dev);
	check(counter("imports_alive") == 0 && counter("bytes_mapped") == 0,
	      "debugfs: nothing alive after metal_device_close", counter("imports_alive"));
	check_close_with_handler(devname, engine);
	uio_dmabuf_metal_finish();
	metal_finish();
	close(src_fd);
	close(dst_fd);
	free(bytes);
	return finish("metal-test");
}
