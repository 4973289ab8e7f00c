#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The driver's KUnit suites ran at module load and all passed.
log=$(dmesg)
for suite in uio_dmabuf_uapi uio_dmabuf_handles uio_dmabuf_segments; do
	if ! echo "$log" | grep -Eq "# $suite: pass:[1-9][0-9]* fail:0 skip:0"; then
		echo "suite $suite did not pass:"
		echo "$log" | grep -E "$suite|not ok" | tail -n 20
		exit 1
	fi
done
