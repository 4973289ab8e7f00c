#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The ZynqMP part of the demo (`make demo`), run inside the arm64 guest on
# QEMU's xlnx-zcu102 with the GDMA channels of qemu/dts/zcu102.dts bound to
# uio_dmabuf through uio_dmabuf.of_id=xlnx,zynqmp-dma-1.0.
set -e

echo "== GDMA channels in the device tree (xlnx,zynqmp-dma-1.0), their driver"
for dev in /sys/bus/platform/devices/*.dma-controller; do
	drv=-
	[ -e "$dev/driver" ] && drv=$(basename "$(readlink "$dev/driver")")
	printf '%s  %s  driver %s\n' "$(basename "$dev")" \
		"$(tr '\0' ' ' <"$dev/of_node/compatible" | sed 's/ *$//')" "$drv"
done

echo
echo "== probe"
dmesg | sed -n 's/^.*uio_dmabuf \(fd5.*\): uio_dmabuf: /\1: /p'

echo
echo "== uio-dmabuf list"
uio-dmabuf list

echo
echo "== import 1 MiB from the system heap into GDMA channel 0"
uio-dmabuf import --device fd500000.dma-controller --heap system --size 1M

echo
echo "== DMA by the ZDMA channel into imported buffers (non-coherent: SYNC around it)"
uio-dmabuf zdma-selftest --device fd500000.dma-controller --size 64K
