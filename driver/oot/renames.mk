# SPDX-License-Identifier: GPL-2.0
#
# Out-of-tree build only, included by driver/Kbuild and qemu/benchmod/Kbuild.
# $(call uio_dmabuf_oot_renames,DRIVER_DIR): the -D flags that rename each C
# helper of DRIVER_DIR/rust/helpers (rust_helper_X) and the UIO core function
# of oot/compat.c to a module-private uio_dmabuf_oot_ name, so that nothing
# clashes with a kernel that has them too. Bindgen's output is edited to call
# them by their in-tree names (see driver/Kbuild).
uio_dmabuf_oot_helper_sed := s/.*\<rust_helper_\([a-z0-9_]*\)[(].*/-Drust_helper_\1=uio_dmabuf_oot_\1/p
uio_dmabuf_oot_renames = \
	$(shell sed -n '$(uio_dmabuf_oot_helper_sed)' $(sort $(wildcard $(1)/rust/helpers/*.c))) \
	-Duio_file_device=uio_dmabuf_oot_uio_file_device
