#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The C program built against uapi/uio_dmabuf.h alone, as a 64-bit and, on
# x86, as a 32-bit (IA32 emulation) program: imports a 1 MiB system-heap buffer (256 KiB
# under swiotlb=force, which cannot bounce the heap's 1 MiB chunks) and a
# 64-page scattered udmabuf, prints their segments, reads them back one by one,
# syncs and releases them, then checks the
# exact errno of every error case it can provoke. With --wrong-abi it issues
# IMPORT with a struct 8 bytes too long, another ioctl number: that run must
# fail with ENOTTY.
set -e
size=1048576
grep -qw swiotlb=force /proc/cmdline && size=262144
progs=uapi-test
[ "$(uname -m)" != x86_64 ] || progs="$progs uapi-test32"
for prog in $progs; do
	out=$($prog $size) || { echo "$out"; echo "$prog failed"; exit 1; }
	echo "$out"
	echo "$out" | grep -q "^device uio[0-9]* (.*): ABI 2, DMA mask 0x"
	echo "$out" | grep -q "^imported $size bytes: handle 1, [1-9][0-9]* segment(s)$"
	echo "$out" | grep -q "^imported 262144 bytes: handle 2, [1-9][0-9]* segment(s)$"
	n1=$(echo "$out" | sed -n 's/.*handle 1, \([0-9]*\) segment(s)$/\1/p')
	n2=$(echo "$out" | sed -n 's/.*handle 2, \([0-9]*\) segment(s)$/\1/p')
	[ "$(echo "$out" | grep -c '^ *[0-9]*  dma 0x')" = $((n1 + n2)) ]
	total=$(echo "$out" | sed -n 's/.* len \([0-9]*\)$/\1/p' | awk '{ s += $1 } END { print s }')
	[ "$total" = $((size + 262144)) ]
	echo "$out" | grep -q "^segments read back one by one: $n1$"
	echo "$out" | grep -q "^segments read back one by one: $n2$"
	[ "$(echo "$out" | grep -c '^released$')" = 2 ]
	echo "$out" | grep -q '^error cases: 2[0-9] checked, 0 failed$'

	wrong=$($prog --wrong-abi 2>&1) && rc=0 || rc=$?
	echo "$wrong"
	[ $rc = 1 ] || { echo "$prog --wrong-abi exited $rc, expected 1"; exit 1; }
	echo "$wrong" | grep -q '^IMPORT with a 72-byte struct (ioctl 0xc048db01): errno [0-9]* ENOTTY ' ||
		{ echo "$prog: IMPORT with a wrong struct size did not fail with ENOTTY"; exit 1; }
done
