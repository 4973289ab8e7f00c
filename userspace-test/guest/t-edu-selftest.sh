#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Real DMA through edu into imports from both exporters, verified byte for byte
# (uio-dmabuf edu-selftest), and runs that must fail or pass for a reason:
# - --skip-segment 0 programs no DMA for the destination's first segment: in
#   every profile the run fails (status 1, FAIL, both rows DIFFERS);
# - --importer-sync-only reads the system-heap destination through its mmap
#   with only our SYNC FOR_CPU (no DMA_BUF_IOCTL_SYNC): it passes everywhere,
#   under swiotlb=force only because our sync copies the bounce buffers back;
# - --skip-cpu-sync leaves out every CPU-side sync of the destination (ours and
#   the system heap's DMA_BUF_IOCTL_SYNC): forced bounce buffers then leave the
#   CPU reading stale data, so under swiotlb=force both rows differ and the run
#   fails (elsewhere the mapping is coherent and the data arrives anyway).
# Not applicable without an edu bound to uio_dmabuf (exit 77).
edu=
for dev in /sys/bus/pci/drivers/uio_dmabuf/*:*; do
	[ "$(cat "$dev/vendor" "$dev/device" 2>/dev/null | tr '\n' ' ')" = "0x1234 0x11e8 " ] && edu=yes
done
[ -n "$edu" ] || { echo "no edu bound to uio_dmabuf"; exit 77; }
passes() { # name output status
	[ "$3" = 0 ] && echo "$2" | tail -n1 | grep -qx PASS || { echo "$1: failed (status $3)"; exit 1; }
	echo "$2" | grep -Eq '^system-heap +32768 .* 32768 +[0-9]+ +0  ok$' || { echo "$1: system-heap row"; exit 1; }
	echo "$2" | grep -Eq '^udmabuf +32768 .* 32768 +[0-9]+ +0  ok$' || { echo "$1: udmabuf row"; exit 1; }
}
fails() { # name output status
	[ "$3" = 1 ] || { echo "$1: status $3, expected 1 (a failed check)"; exit 1; }
	echo "$2" | tail -n1 | grep -qx FAIL || { echo "$1: no FAIL line"; exit 1; }
	for exporter in system-heap udmabuf; do
		echo "$2" | grep -Eq "^$exporter .*DIFFERS\$" || { echo "$1: $exporter row does not say DIFFERS"; exit 1; }
	done
}

out=$(uio-dmabuf edu-selftest --size 32K 2>&1)
rc=$?
echo "$out"
passes edu-selftest "$out" $rc

out=$(uio-dmabuf edu-selftest --size 32K --skip-segment 0 2>&1)
rc=$?
echo "$out"
fails "--skip-segment 0" "$out" $rc

out=$(uio-dmabuf edu-selftest --size 32K --importer-sync-only 2>&1)
rc=$?
echo "$out"
passes "--importer-sync-only" "$out" $rc

out=$(uio-dmabuf edu-selftest --size 32K --skip-cpu-sync 2>&1)
rc=$?
echo "$out"
if grep -qw swiotlb=force /proc/cmdline; then
	fails "--skip-cpu-sync under swiotlb=force" "$out" $rc
else
	passes "--skip-cpu-sync on a coherent mapping" "$out" $rc
fi
