#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The demo (`make demo`), run inside the test guest.
set -e

echo "== PCI devices (edu is 1234:11e8)"
for dev in /sys/bus/pci/devices/*; do
	drv=-
	[ -e "$dev/driver" ] && drv=$(basename "$(readlink "$dev/driver")")
	printf '%s  %s:%s  class %s  driver %s\n' "$(basename "$dev")" \
		"$(sed 's/^0x//' "$dev/vendor")" "$(sed 's/^0x//' "$dev/device")" \
		"$(sed 's/^0x//' "$dev/class")" "$drv"
done | grep '1234:11e8'

echo
echo "== module"
grep '^uio_dmabuf ' /proc/modules

echo
echo "== uio-dmabuf list"
uio-dmabuf list

echo
echo "== import 1 MiB from the system heap"
uio-dmabuf import --heap system --size 1M

echo
echo "== import 64 KiB of memfd pages through udmabuf"
uio-dmabuf import --heap udmabuf --size 64K --direction to-device

echo
echo "== DMA through edu into imported buffers"
uio-dmabuf edu-selftest --size 32K
