#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# modinfo shows the license, description, every parameter with its help text,
# the DMA_BUF namespace import, and no PCI alias.
set -e
info=$(modinfo /lib/modules/uio_dmabuf.ko)
echo "$info"
echo "$info" | grep -q '^license: *GPL$'
echo "$info" | grep -q '^description: *UIO driver that imports dma-bufs'
# busybox modinfo omits import_ns; read the .modinfo strings directly.
tr '\0' '\n' </lib/modules/uio_dmabuf.ko | grep -qx 'import_ns=DMA_BUF'
# No device IDs (binding is the user's: new_id, driver_override), so no PCI
# alias: nothing loads the module for a device on its own.
if echo "$info" | grep -qi '^alias: *pci:'; then
	echo "a PCI alias, but the driver has no device IDs"
	exit 1
fi
for p in dma_bits max_segment_size max_imports max_mapped_bytes; do
	echo "$info" | grep -q "^parm: *$p:[A-Za-z]"
done
