#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The C program built against uapi/uio_dmabuf.h alone imports a 1 MiB
# system-heap buffer (256 KiB under swiotlb=force, which cannot bounce the heap's
# 1 MiB chunks), prints its segments, syncs and releases it. With --wrong-abi it
# issues IMPORT with a struct 8 bytes too long, another ioctl number: that run
# must fail with ENOTTY.
set -e
size=1048576
grep -qw swiotlb=force /proc/cmdline && size=262144
out=$(uapi-test $size)
echo "$out"
echo "$out" | grep -q "^device uio[0-9]* (.*): ABI 1, DMA mask 0x"
echo "$out" | grep -q "^imported $size bytes: handle 1, [1-9][0-9]* segment(s)$"
n=$(echo "$out" | sed -n 's/.*handle 1, \([0-9]*\) segment(s)$/\1/p')
[ "$(echo "$out" | grep -c '^ *[0-9]*  dma 0x')" = "$n" ]
total=$(echo "$out" | sed -n 's/.* len \([0-9]*\)$/\1/p' | awk '{ s += $1 } END { print s }')
[ "$total" = "$size" ]
echo "$out" | grep -q '^released$'

wrong=$(uapi-test --wrong-abi 2>&1) && rc=0 || rc=$?
echo "$wrong"
[ $rc = 1 ] || { echo "uapi-test --wrong-abi exited $rc, expected 1"; exit 1; }
echo "$wrong" | grep -q '^IMPORT with a 72-byte struct (ioctl 0xc048db01): errno [0-9]* ENOTTY ' ||
	{ echo "IMPORT with a wrong struct size did not fail with ENOTTY"; exit 1; }
