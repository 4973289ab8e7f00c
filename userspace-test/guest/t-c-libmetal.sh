#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# libuio-dmabuf-metal with an unmodified libmetal (metal-test,
# userspace-test/c/metal-test.c): edu opened on libmetal's "uio_dmabuf" bus,
# its ID through metal_io_read32, DMA between a system-heap and a udmabuf
# import programmed with metal_io_phys addresses, completion in a libmetal
# interrupt handler, metal_dma_map/unmap, the refusals, counters back at zero.
# Not applicable (exit 77) without a libmetal at build time (make metal says
# so) or without an edu. 16 KiB per buffer. Where a 32-bit build exists
# (metal-test32, x86), it runs too.
command -v metal-test >/dev/null || { echo "metal-test not built: no libmetal (make metal)"; exit 77; }
for t in metal-test metal-test32; do
	command -v $t >/dev/null || continue
	out=$($t 16384 2>&1)
	rc=$?
	echo "$out"
	[ $rc = 77 ] && { echo "$out" | tail -n1; exit 77; }
	[ $rc = 0 ] && echo "$out" | tail -n1 | grep -Eq '^metal-test: [0-9]+ checks, 0 failed$' ||
		{ echo "$t: status $rc"; exit 1; }
done
