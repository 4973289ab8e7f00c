#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Real DMA by a ZynqMP GDMA channel bound to uio_dmabuf (QEMU's xlnx-zcu102;
# not applicable elsewhere: exit 77) into imports from both exporters,
# verified byte for byte (uio-dmabuf zdma-selftest), with the DMA API's sync
# tracepoints (dma:dma_sync_single_for_device / _for_cpu, read through tracefs)
# as the evidence that SYNC reaches the DMA API for every segment:
# - a device tree without dma-coherent (non-coherent DMA): one for_device event
#   per source and destination segment, one for_cpu event per destination
#   segment, on this channel, covering every byte; with --skip-cpu-sync the
#   for_cpu events vanish (the count follows the syncs);
# - with dma-coherent: the data arrives the same, and no sync event at all
#   (the DMA API has nothing to do for a coherent device).
# TCG models no data cache, so stale data cannot be shown here: the
# tracepoints are the evidence. Runs that must fail: --skip-segment 0.
channel=
for dev in /sys/bus/platform/drivers/uio_dmabuf/*; do
	[ -e "$dev/of_node/compatible" ] || continue
	tr '\0' '\n' <"$dev/of_node/compatible" | grep -qx 'xlnx,zynqmp-dma-1.0' || continue
	channel=$(basename "$dev")
	break
done
[ -n "$channel" ] || { echo "no ZDMA channel bound to uio_dmabuf"; exit 77; }
coherent=no
[ -e "/sys/bus/platform/devices/$channel/of_node/dma-coherent" ] && coherent=yes

T=/sys/kernel/tracing
[ -d $T/events ] || mount -t tracefs tracefs $T || { echo "no tracefs"; exit 1; }
for e in dma_sync_single_for_device dma_sync_single_for_cpu; do
	[ -e $T/events/dma/$e/enable ] || { echo "no tracepoint dma:$e"; exit 1; }
	echo 1 >$T/events/dma/$e/enable
done

size=65536
# traced ARGS...: runs zdma-selftest ARGS --json with the sync events traced;
# sets $out, $rc and, for this channel's events: $dev_n, $dev_bytes, $cpu_n,
# $cpu_bytes; and from the JSON: $src_segs, $dst_segs (both runs summed).
traced() {
	echo 0 >$T/tracing_on
	echo >$T/trace
	echo 1 >$T/tracing_on
	out=$(uio-dmabuf zdma-selftest --device "$channel" --size $size --json "$@" 2>&1)
	rc=$?
	echo 0 >$T/tracing_on
	echo "zdma-selftest $*: status $rc: $out"
	events=$(grep -E "dma_sync_single_for_(device|cpu): $channel " $T/trace)
	count() { echo "$events" | grep -c "dma_sync_single_for_$1:"; }
	bytes() {
		echo "$events" | grep "dma_sync_single_for_$1:" |
			sed -n 's/.* size=\([0-9]*\).*/\1/p' | awk '{ s += $1 } END { print s + 0 }'
	}
	dev_n=$(count device) dev_bytes=$(bytes device) cpu_n=$(count cpu) cpu_bytes=$(bytes cpu)
	sum() { echo "$out" | grep -o "\"$1\":[0-9]*" | cut -d: -f2 | awk '{ s += $1 } END { print s + 0 }'; }
	src_segs=$(sum src_segments) dst_segs=$(sum dst_segments)
	echo "sync events on $channel: for_device $dev_n ($dev_bytes bytes), for_cpu $cpu_n ($cpu_bytes bytes);" \
		"segments: source $src_segs, destination $dst_segs"
}
verdict() { # name expected-pass expected-status
	echo "$out" | grep -q "\"pass\":$2" && [ "$rc" = "$3" ] ||
		{ echo "$1: expected pass=$2 and status $3"; exit 1; }
}

traced
verdict "zdma-selftest" true 0
[ "$(echo "$out" | grep -o '"mismatches":0' | wc -l)" = 2 ] || { echo "mismatches in a run"; exit 1; }
[ "$(echo "$out" | grep -o "\"bytes_moved\":$size" | wc -l)" = 2 ] || { echo "not every byte moved"; exit 1; }
if [ $coherent = no ]; then
	[ "$dev_n" = $((src_segs + dst_segs)) ] && [ "$dev_bytes" = $((4 * size)) ] ||
		{ echo "SYNC FOR_DEVICE did not reach the DMA API once per segment"; exit 1; }
	[ "$cpu_n" = "$dst_segs" ] && [ "$cpu_bytes" = $((2 * size)) ] ||
		{ echo "SYNC FOR_CPU did not reach the DMA API once per destination segment"; exit 1; }
else
	[ "$dev_n" = 0 ] && [ "$cpu_n" = 0 ] || { echo "sync events for a coherent device"; exit 1; }
fi

traced --skip-cpu-sync
verdict "--skip-cpu-sync" true 0
if [ $coherent = no ]; then
	[ "$cpu_n" = 0 ] && [ "$dev_n" = $((src_segs + dst_segs)) ] ||
		{ echo "--skip-cpu-sync: for_cpu events although no SYNC FOR_CPU was asked"; exit 1; }
fi

traced --skip-segment 0
verdict "--skip-segment 0" false 1
[ "$(echo "$out" | grep -o '"mismatches":[1-9][0-9]*' | wc -l)" = 2 ] || { echo "--skip-segment 0: a run without mismatches"; exit 1; }

for e in dma_sync_single_for_device dma_sync_single_for_cpu; do
	echo 0 >$T/events/dma/$e/enable
done
# The table a user sees.
uio-dmabuf zdma-selftest --device "$channel" --size $size
