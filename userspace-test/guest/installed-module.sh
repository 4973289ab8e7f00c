#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The module as users install it, in a guest booted without the image's own
# (qemu/suite adds the files with --noload): `make install`'s tree under
# /lib/modules/$(uname -r) (updates/driver/uio_dmabuf.ko, depmod's
# modules.dep) and its modprobe.d example with the dma_bits line enabled,
# and the module DKMS built and installed (/root/dkms/uio_dmabuf.ko).
# `modprobe uio_dmabuf` must load the installed file with the example's
# option; edu, handed to it through new_id as a user would (the driver has
# no device IDs), must pass the edu self-test; `modprobe -r` unloads it;
# then the DKMS module the same way through insmod. (The image's own module
# is at /lib/modules/uio_dmabuf.ko, outside the tree modprobe searches.)
set -e
fail() { echo "FAIL installed-module: $*"; exit 1; }
loaded() { grep -q '^uio_dmabuf ' /proc/modules; }
bind_edus() { echo "1234 11e8" >/sys/bus/pci/drivers/uio_dmabuf/new_id || fail "new_id"; }
dir=/lib/modules/$(uname -r)
! loaded || fail "uio_dmabuf is loaded before modprobe"
grep -q '^updates/driver/uio_dmabuf.ko:' "$dir/modules.dep" || fail "modules.dep does not name the module"
want=$(sed -n 's/^options uio_dmabuf dma_bits=\([0-9]*\).*/\1/p' /etc/modprobe.d/uio-dmabuf.conf)
[ -n "$want" ] || fail "the modprobe.d example has no enabled dma_bits line"

modprobe uio_dmabuf || fail "modprobe uio_dmabuf"
loaded || fail "not loaded after modprobe"
bind_edus
# Rust module parameters have no sysfs file: the probe line shows the mask.
dmesg | grep -q "uio_dmabuf: .*, $want-bit DMA mask" ||
	fail "no device probed with the $want-bit DMA mask the modprobe.d example sets"
echo "modprobe: $dir/updates/driver/uio_dmabuf.ko loaded, dma_bits=$want from modprobe.d"
uio-dmabuf edu-selftest --size 16K >/tmp/out 2>&1 || { cat /tmp/out; fail "edu self-test with the installed module"; }
tail -n1 /tmp/out
modprobe -r uio_dmabuf || fail "modprobe -r uio_dmabuf"
! loaded || fail "still loaded after modprobe -r"

insmod /root/dkms/uio_dmabuf.ko || fail "insmod of the DKMS module"
echo "dkms: /root/dkms/uio_dmabuf.ko loaded"
bind_edus
uio-dmabuf edu-selftest --size 16K >/tmp/out 2>&1 || { cat /tmp/out; fail "edu self-test with the DKMS module"; }
tail -n1 /tmp/out
rmmod uio_dmabuf
echo "PASS installed-module"
