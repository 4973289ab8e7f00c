#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The module is loaded at boot, unloads, and loads again (10 cycles).
set -e
grep -q '^uio_dmabuf ' /proc/modules
for i in 1 2 3 4 5 6 7 8 9 10; do
	rmmod uio_dmabuf
	if grep -q '^uio_dmabuf ' /proc/modules; then
		echo "still loaded after rmmod (cycle $i)"
		exit 1
	fi
	load-uio-dmabuf
	grep -q '^uio_dmabuf ' /proc/modules
done
