#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Real DMA through edu into imports from both exporters, verified byte for byte
# (uio-dmabuf edu-selftest), and the negative check: without the destination's
# SYNC FOR_CPU, forced bounce buffers leave the CPU reading stale data, so the
# run must fail under swiotlb=force (elsewhere the mapping is coherent and the
# data arrives anyway).
out=$(uio-dmabuf edu-selftest --size 32K 2>&1)
rc=$?
echo "$out"
[ $rc = 0 ] && echo "$out" | tail -n1 | grep -qx PASS || { echo "edu-selftest failed (status $rc)"; exit 1; }
echo "$out" | grep -Eq '^system-heap +32768 .* 32768 +0  ok$' || { echo "system-heap row"; exit 1; }
echo "$out" | grep -Eq '^udmabuf +32768 .* 32768 +0  ok$' || { echo "udmabuf row"; exit 1; }

neg=$(uio-dmabuf edu-selftest --size 32K --skip-cpu-sync 2>&1)
rc=$?
echo "$neg"
if grep -qw swiotlb=force /proc/cmdline; then
	[ $rc != 0 ] || { echo "skipping SYNC FOR_CPU under swiotlb=force went unnoticed"; exit 1; }
	echo "$neg" | grep -Eq '^udmabuf .*DIFFERS$' || { echo "udmabuf data not stale without sync"; exit 1; }
else
	[ $rc = 0 ] || { echo "coherent mapping failed without SYNC FOR_CPU"; exit 1; }
fi
