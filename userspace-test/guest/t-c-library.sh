#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# libuio-dmabuf (lib/) against the driver: lib-test (userspace-test/c/lib-test.c)
# on the first bound device, as a 64-bit and, on x86, a 32-bit program: opening
# by every kind of name and the refusals, imports from both exporters, address
# lookup, syncs, errors, threads, and the driver's counters back at zero.
# 1 MiB of system heap, 256 KiB under swiotlb=force (which cannot bounce the
# heap's 1 MiB chunks).
size=1048576
grep -qw swiotlb=force /proc/cmdline && size=262144
progs=lib-test
[ "$(uname -m)" != x86_64 ] || progs="$progs lib-test32"
for prog in $progs; do
	out=$($prog $size 2>&1)
	rc=$?
	echo "$out"
	[ $rc = 0 ] && echo "$out" | tail -n1 | grep -Eq '^lib-test: [0-9]+ checks, 0 failed$' ||
		{ echo "$prog: status $rc"; exit 1; }
done
