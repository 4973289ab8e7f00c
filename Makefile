# SPDX-License-Identifier: GPL-2.0
#
# uio-dmabuf top-level build. The two commands people run:
#   make demo    boot the test guest and run the demo
#   make check   run every test (host unit tests + guest suite)
# Everything else is a step of those two; see README.md.

SHELL := /bin/bash
TOP := $(CURDIR)
S := $(TOP)/scripts

# The kernel tree to build the module against: by default the project's debug
# test kernel (built and cached by `make kernel`); any Rust-enabled build tree
# otherwise, e.g. `make KDIR=/path/to/linux/build`.
# make variables for Kbuild (LLVM, the kernel's rustc, bindgen): the test
# kernel's toolchain; for any other KDIR the compilers that built it, found by
# scripts/kdir-toolchain, which first stops with a plain error when KDIR cannot
# build the module (no Rust, UIO or dma-buf support, another rustc). Override
# with KMAKE_FLAGS="...".
ifeq ($(KDIR),)
KDIR_IS_TEST_KERNEL := 1
KDIR = $(shell $(S)/kernel-dir)
KMAKE_FLAGS ?= $(shell $(S)/kernel-make-vars)
else
KMAKE_FLAGS ?= $(shell $(S)/kdir-toolchain $(KDIR) 2>/dev/null)
KDIR_CHECK = env $(filter LLVM=% RUSTC=% BINDGEN=%,$(KMAKE_FLAGS)) $(S)/kdir-toolchain $(KDIR) >/dev/null
endif

CARGO ?= cargo
RUST_TARGET := x86_64-unknown-linux-gnu
UT := $(TOP)/userspace-test
UT_BIN := $(UT)/target/$(RUST_TARGET)/release

.PHONY: patches initramfs-intree all module testmods deps kernel userspace ctest clib metal man install uninstall initramfs demo demo-x86 demo-zynqmp check check-host \
	fmt-check unit-test check-guest soak bench bench-image initramfs-arm64 fmt qemu-shell clean

all: module

deps:
	$(S)/deps

kernel: deps
	$(S)/build-kernel >/dev/null

module: $(if $(KDIR_IS_TEST_KERNEL),kernel)
	$(KDIR_CHECK)
	$(MAKE) -C $(KDIR) M=$(TOP) $(KMAKE_FLAGS) modules

# Test-image-only kernel modules: the harness's deliberately faulty module, and
# the benchmark floor module (it shares the driver's sources and its generated
# bindings, hence after `module`).
testmods: module
	$(MAKE) -C $(KDIR) M=$(TOP)/qemu/testmod $(KMAKE_FLAGS) modules
	$(MAKE) -C $(KDIR) M=$(TOP)/qemu/benchmod $(KMAKE_FLAGS) modules

# Statically linked so they run in the busybox guest. (build.rs runs bindgen
# over the uapi header: libclang comes with `make deps`.)
userspace: deps
	cd $(UT) && RUSTFLAGS="-C target-feature=+crt-static" \
		$(CARGO) build --release --locked --target $(RUST_TARGET)

# The C header test: built statically for the guest with the uapi header alone,
# as a 64-bit and as a 32-bit program (both run in the guest; the layout
# assertions are shown to fail when wrong), and the header as C++.
CFLAGS_UAPI := -Wall -Wextra -Werror -O2 -I$(TOP)/uapi
ctest: deps
	mkdir -p $(TOP)/build
	gcc $(CFLAGS_UAPI) -static -o $(TOP)/build/uapi-test $(UT)/c/uapi-test.c
	gcc -m32 $(CFLAGS_UAPI) -static -o $(TOP)/build/uapi-test32 $(UT)/c/uapi-test.c
	@# The layout assertions can fail: a deliberately wrong one must stop the build.
	gcc $(CFLAGS_UAPI) -DUAPI_TEST_WRONG_LAYOUT -fsyntax-only $(UT)/c/uapi-test.c 2>&1 \
		| grep -q 'UAPI_TEST_WRONG_LAYOUT: import size'
	g++ -x c++ -std=c++17 $(CFLAGS_UAPI) -fsyntax-only -include $(TOP)/uapi/uio_dmabuf.h /dev/null

# libuio-dmabuf (lib/): the C library over the uapi header, static and shared
# (exporting the udb_ API alone, lib/uio-dmabuf.map), its pkg-config file, the
# example built against the shared library, and the guest's test program
# linked statically with it as a 64-bit and as a 32-bit program.
LIB_BUILD := $(TOP)/build/lib
LIB_VERSION := 0.1.0
PREFIX ?= /usr/local
# The uapi header as userspace includes it once installed: <linux/uio_dmabuf.h>.
UAPI_INC := $(TOP)/build/include
CFLAGS_LIB := -Wall -Wextra -Werror -O2 -I$(UAPI_INC) -I$(TOP)/uapi -I$(TOP)/lib
clib: deps
	mkdir -p $(LIB_BUILD) $(UAPI_INC)/linux
	cp $(TOP)/uapi/uio_dmabuf.h $(UAPI_INC)/linux/uio_dmabuf.h
	gcc $(CFLAGS_LIB) -fPIC -c -o $(LIB_BUILD)/uio-dmabuf.o $(TOP)/lib/uio-dmabuf.c
	rm -f $(LIB_BUILD)/libuio-dmabuf.a && ar rcs $(LIB_BUILD)/libuio-dmabuf.a $(LIB_BUILD)/uio-dmabuf.o
	gcc -shared -pthread -Wl,-soname,libuio-dmabuf.so.0 -Wl,--version-script=$(TOP)/lib/uio-dmabuf.map \
		-o $(LIB_BUILD)/libuio-dmabuf.so.$(LIB_VERSION) $(LIB_BUILD)/uio-dmabuf.o
	ln -sf libuio-dmabuf.so.$(LIB_VERSION) $(LIB_BUILD)/libuio-dmabuf.so.0
	ln -sf libuio-dmabuf.so.0 $(LIB_BUILD)/libuio-dmabuf.so
	sed 's|@PREFIX@|$(PREFIX)|; s|@VERSION@|$(LIB_VERSION)|' $(TOP)/lib/uio-dmabuf.pc.in >$(LIB_BUILD)/uio-dmabuf.pc
	gcc $(CFLAGS_LIB) -o $(LIB_BUILD)/example $(TOP)/lib/example.c -L$(LIB_BUILD) -luio-dmabuf
	gcc $(CFLAGS_LIB) -static -pthread -o $(TOP)/build/lib-test $(UT)/c/lib-test.c $(UT)/c/test-util.c \
		$(LIB_BUILD)/libuio-dmabuf.a
	gcc -m32 $(CFLAGS_LIB) -static -pthread -o $(TOP)/build/lib-test32 $(UT)/c/lib-test.c $(UT)/c/test-util.c \
		$(TOP)/lib/uio-dmabuf.c
	g++ -x c++ -std=c++17 $(CFLAGS_LIB) -fsyntax-only -include $(TOP)/lib/uio-dmabuf.h /dev/null

# libuio-dmabuf-metal (lib/metal/): the libmetal bus, built against the user's
# libmetal (scripts/build-libmetal: LIBMETAL_PREFIX= an installation,
# LIBMETAL_SRC= a source tree or tarball, else the shared third-party
# release), and the guest's test program that uses only libmetal's API and
# ours, 64-bit and 32-bit. Without a libmetal this part is skipped, saying so, and so is its test.
I386_SYSFS = $(shell source $(S)/common.sh && echo $$I386_SYSFS)
metal: clib
	@rm -f $(TOP)/build/metal-test
	@set -e; prefix=$$($(S)/build-libmetal) || { rc=$$?; [ $$rc = 3 ] || exit $$rc; \
		echo "libmetal backend: SKIPPED (no libmetal; see above)"; exit 0; }; \
	echo "libmetal backend: against $$prefix"; \
	gcc $(CFLAGS_LIB) -I$(TOP)/lib/metal -I$$prefix/include -c -o $(LIB_BUILD)/uio-dmabuf-metal.o \
		$(TOP)/lib/metal/uio-dmabuf-metal.c; \
	rm -f $(LIB_BUILD)/libuio-dmabuf-metal.a; \
	ar rcs $(LIB_BUILD)/libuio-dmabuf-metal.a $(LIB_BUILD)/uio-dmabuf-metal.o; \
	gcc $(CFLAGS_LIB) -I$(TOP)/lib/metal -I$$prefix/include -static -pthread -o $(TOP)/build/metal-test \
		$(UT)/c/metal-test.c $(UT)/c/test-util.c $(LIB_BUILD)/libuio-dmabuf-metal.a $(LIB_BUILD)/libuio-dmabuf.a \
		$$prefix/lib/libmetal.a $$(gcc -print-file-name=libsysfs.a)
	@# The same test as a 32-bit program against a 32-bit libmetal, whose
	@# metal_phys_addr_t cannot hold a device address above 4 GiB.
	@rm -f $(TOP)/build/metal-test32
	@set -e; prefix=$$($(S)/build-libmetal i386) || { rc=$$?; [ $$rc = 3 ] || exit $$rc; \
		echo "libmetal backend (i386): SKIPPED (no libmetal; see above)"; exit 0; }; \
	echo "libmetal backend (i386): against $$prefix"; \
	gcc -m32 $(CFLAGS_LIB) -I$(TOP)/lib/metal -I$$prefix/include -static -pthread -o $(TOP)/build/metal-test32 \
		$(UT)/c/metal-test.c $(UT)/c/test-util.c $(TOP)/lib/metal/uio-dmabuf-metal.c $(TOP)/lib/uio-dmabuf.c \
		$$prefix/lib/libmetal.a $(I386_SYSFS)/lib/i386-linux-gnu/libsysfs.a

# The man pages, uio-dmabuf(4) (its ERRORS generated from README.md's errno
# table) and uio-dmabuf(1), into build/man.
man:
	$(S)/gen-man $(TOP)/build/man

initramfs: module testmods userspace ctest clib metal
	$(S)/mkinitramfs

# The demo: edu on x86 (PCI), then a ZynqMP GDMA channel on arm64 (platform
# device from the device tree, non-coherent DMA); each part ends in PASS.
demo: demo-x86 demo-zynqmp

demo-x86: initramfs
	$(TOP)/qemu/run --profile default -- /usr/share/uio-dmabuf/demo.sh

demo-zynqmp: initramfs-arm64
	$(TOP)/qemu/run --arch arm64 --machine zcu102 --append uio_dmabuf.of_id=xlnx,zynqmp-dma-1.0 \
		-- /usr/share/uio-dmabuf/demo-zynqmp.sh

# Everything, counted in one "N passed, N failed" line: the host checks of
# check-host, then the guest suite of check-guest, x86 and arm64.
check: initramfs initramfs-arm64 initramfs-intree
	$(TOP)/qemu/suite --host

# Rust sources formatted as the kernel formats its own (driver/.rustfmt.toml is
# the kernel tree's): every file of driver/ (the driver, the kernel abstractions
# of driver/rust/kernel, the out-of-tree driver/oot) and of the benchmark
# module, bindgen's output aside; and the userspace crate by cargo fmt.
RUSTFMT_ROOTS = $(filter-out %_generated.rs,$(shell find $(TOP)/driver $(TOP)/qemu/benchmod -name '*.rs'))
fmt:
	rustfmt --config-path $(TOP)/driver/.rustfmt.toml $(RUSTFMT_ROOTS)
	cd $(UT) && $(CARGO) fmt

check-host: fmt-check unit-test

fmt-check: deps
	rustfmt --config-path $(TOP)/driver/.rustfmt.toml --check $(RUSTFMT_ROOTS)
	cd $(UT) && $(CARGO) fmt --check

unit-test: deps
	cd $(UT) && $(CARGO) test --locked

check-guest: initramfs initramfs-arm64 initramfs-intree
	$(TOP)/qemu/suite

# A long fuzzer run: two workers, the call-heavy mix (most steps are ioctls on
# live imports; imports, new dma-bufs, reopened files and forks still come by
# the thousand), about 20 minutes under TCG with the debug kernel. The seed is
# printed; SOAK_SEED replays it.
SOAK_CALLS ?= 4000000
soak: initramfs
	$(TOP)/qemu/run --timeout 5400 -- uio-dmabuf-fuzz --calls $(SOAK_CALLS) --jobs 2 --mix calls \
		$(if $(SOAK_SEED),--seed $(SOAK_SEED))

# The benchmark image: the benchmark kernel (KERNEL_FLAVOUR=bench: the test
# kernel without KASAN, lockdep, DMA-API debug, kmemleak) and the module and the
# benchmark floor module built against it from a copy of their sources, so the
# objects built for the debug kernel stay as they are.
# $(call build_copy,TREE,KDIR,KMAKE_FLAGS,SUBDIR): copies the module sources
# and SUBDIR (a directory of test modules) into TREE and builds both against
# the kernel in KDIR.
define build_copy
	rm -rf $(1) && mkdir -p $(1)
	git -C $(TOP) ls-files --cached --others --exclude-standard -- Kbuild driver uapi $(4) \
		| cpio -pdm --quiet $(1)
	$(MAKE) -C $(2) M=$(1) $(3) modules
	$(MAKE) -C $(2) M=$(1)/$(4) $(3) modules
endef

BENCH_TREE := $(TOP)/build/bench-tree
BENCH_KDIR = $(shell KERNEL_FLAVOUR=bench $(S)/kernel-dir)
bench-image: deps userspace ctest
	KERNEL_FLAVOUR=bench $(S)/build-kernel >/dev/null
	$(call build_copy,$(BENCH_TREE),$(BENCH_KDIR),$(KMAKE_FLAGS),qemu/benchmod)
	KERNEL_FLAVOUR=bench MODULE_TREE=$(BENCH_TREE) $(S)/mkinitramfs

# Benchmarks on the benchmark kernel in a 2 GiB guest without an IOMMU (edu
# with a 64-bit mask, so every page is reachable) and behind intel-iommu (edu
# with a 64-bit mask too, as a PCIe accelerator has: the IOVA space is no
# limit, and the second edu is handed to vfio-pci for the comparison with
# VFIO); each profile BENCH_RUNS times (default 2: the report states how far
# the second run's ratios lie from the first's); results in
# build/bench-PROFILE-RUN.json, report and plot in docs/. BENCH_FLAGS=--quick
# for a short run. Behind the IOMMU in strict mode: in lazy mode the IOVAs of
# unmapped buffers wait in a flush queue of up to 256 entries per CPU, which
# 1 MiB buffers re-mapped in a tight loop fill to the last page (IMPORT then
# fails with ENOMEM, as any mapping would). QEMU's intel-iommu remaps no
# interrupts, so VFIO's type1 backend would refuse the group (EPERM) unless
# told to allow unsafe interrupts: the benchmark maps memory and takes none.
BENCH_FLAGS ?=
BENCH_RUNS ?= 2
bench: bench-image
	set -e; for run in $$(seq $(BENCH_RUNS)); do for p in wide iommu; do \
		KERNEL_FLAVOUR=bench $(TOP)/qemu/run --profile $$p --mem 2G --timeout 5400 \
			$$([ $$p != iommu ] || echo --dma-bits 64 --append iommu.strict=1 \
				--append vfio_iommu_type1.allow_unsafe_interrupts=1) -- sh -c \
			'insmod /lib/modules/test/uio_dmabuf_bench.ko && uio-dmabuf bench $(BENCH_FLAGS)' \
			| tee $(TOP)/build/bench-$$p-$$run.log; \
		sed -n 's/^BENCH-JSON //p' $(TOP)/build/bench-$$p-$$run.log >$(TOP)/build/bench-$$p-$$run.json; \
	done; done
	$(S)/bench-report $(TOP)/docs \
		no-iommu=$$(seq -f '$(TOP)/build/bench-wide-%g.json' $(BENCH_RUNS) | head -n 2 | paste -sd,) \
		iommu=$$(seq -f '$(TOP)/build/bench-iommu-%g.json' $(BENCH_RUNS) | head -n 2 | paste -sd,)

# The arm64 guest image (KERNEL_ARCH=arm64, booted by `qemu/run --arch arm64`):
# the arm64 debug kernel, and the module and test modules built against it from
# a copy of their sources (the x86 objects in the tree stay as they are), the
# userspace programs and the C header test cross-built for aarch64 (the
# standard library from Debian's arm64 libstd-rust-web-dev, see scripts/deps;
# built with the kernel's rustc, since that library is its release's, in a
# target directory of their own so the host builds' stay valid),
# the project's device trees compiled by dtc.
ARM64_TREE := $(TOP)/build/arm64-tree
ARM64_KDIR = $(shell KERNEL_ARCH=arm64 $(S)/kernel-dir)
ARM64_KMAKE_FLAGS = $(shell KERNEL_ARCH=arm64 $(S)/kernel-make-vars)
ARM64_TARGET := aarch64-unknown-linux-gnu
ARM64_SYSROOT = $(shell source $(S)/common.sh && echo $$ARM64_SYSROOT)
ARM64_SYSFS = $(shell source $(S)/common.sh && echo $$ARM64_SYSFS)
# clang and lld cross-compile and link for aarch64 against Debian's cross libc
# and libgcc (libc6-dev-arm64-cross, libgcc-12-dev-arm64-cross).
ARM64_CC := --target=aarch64-linux-gnu -fuse-ld=lld
ARM64_LINK := -C link-arg=--target=aarch64-linux-gnu -C link-arg=-fuse-ld=lld
initramfs-arm64: deps clib
	KERNEL_ARCH=arm64 $(S)/build-kernel >/dev/null
	$(call build_copy,$(ARM64_TREE),$(ARM64_KDIR),$(ARM64_KMAKE_FLAGS),qemu/testmod)
	cd $(UT) && RUSTC=$(shell source $(S)/common.sh && echo $$KRUSTC) \
		CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=clang-19 \
		CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS="--sysroot $(ARM64_SYSROOT) -C target-feature=+crt-static $(ARM64_LINK)" \
		CARGO_TARGET_DIR=$(UT)/target/arm64 $(CARGO) build --release --locked --target $(ARM64_TARGET)
	clang-19 $(ARM64_CC) $(CFLAGS_UAPI) -static -o $(TOP)/build/uapi-test-arm64 $(UT)/c/uapi-test.c
	clang-19 $(ARM64_CC) $(CFLAGS_LIB) -static -pthread -o $(TOP)/build/lib-test-arm64 \
		$(UT)/c/lib-test.c $(UT)/c/test-util.c $(TOP)/lib/uio-dmabuf.c
	@# The libmetal backend's test (see `metal`); libmetal's atomic.h trips
	@# clang's -Wdeprecated-pragma (ATOMIC_VAR_INIT), hence the -Wno.
	@rm -f $(TOP)/build/metal-test-arm64
	@set -e; prefix=$$(KERNEL_ARCH=arm64 $(S)/build-libmetal) || { rc=$$?; [ $$rc = 3 ] || exit $$rc; \
		echo "libmetal backend (arm64): SKIPPED (no libmetal; see above)"; exit 0; }; \
	echo "libmetal backend (arm64): against $$prefix"; \
	clang-19 $(ARM64_CC) $(CFLAGS_LIB) -Wno-deprecated-pragma -I$(TOP)/lib/metal -I$$prefix/include -static -pthread \
		-o $(TOP)/build/metal-test-arm64 $(UT)/c/metal-test.c $(UT)/c/test-util.c $(TOP)/lib/metal/uio-dmabuf-metal.c \
		$(TOP)/lib/uio-dmabuf.c $$prefix/lib/libmetal.a $(ARM64_SYSFS)/lib/aarch64-linux-gnu/libsysfs.a
	for dts in $(TOP)/qemu/dts/*.dts; do \
		dtc -q -I dts -O dtb -o $(TOP)/build/$$(basename $$dts .dts).dtb $$dts || exit 1; \
	done
	KERNEL_ARCH=arm64 MODULE_TREE=$(ARM64_TREE) $(S)/mkinitramfs

# The driver as a patch series against the pristine source tree of the test
# kernel (scripts/make-patches after intree/series.toml), into build/patches;
# KSRC=/path/to/linux for another tree.
patches: $(if $(KSRC),,kernel)
	$(S)/make-patches $(or $(KSRC),$(shell source $(S)/common.sh && kernel_source_tree)) $(TOP)/build/patches

# The guest images of the in-tree kernels (scripts/build-intree: the series
# applied to a copy of the test kernel's tree, built with CONFIG_UIO_DMABUF=m
# and =y): the in-tree module and the test modules built against the =m
# kernel, the same userspace as the test image.
INTREE_TREE := $(TOP)/build/intree-tree
INTREE_KDIR = $(shell KERNEL_FLAVOUR=intree-m $(S)/kernel-dir)
initramfs-intree: patches userspace ctest clib metal
	$(S)/build-intree >/dev/null
	rm -rf $(INTREE_TREE) && mkdir -p $(INTREE_TREE)/driver
	git -C $(TOP) ls-files --cached --others --exclude-standard -- qemu/testmod | cpio -pdm --quiet $(INTREE_TREE)
	$(MAKE) -C $(INTREE_KDIR) M=$(INTREE_TREE)/qemu/testmod $(KMAKE_FLAGS) modules
	cp $(INTREE_KDIR)/drivers/uio/uio_dmabuf/uio_dmabuf.ko $(INTREE_TREE)/driver/
	KERNEL_FLAVOUR=intree-m MODULE_TREE=$(INTREE_TREE) $(S)/mkinitramfs
	KERNEL_FLAVOUR=intree-y MODULE_TREE=$(INTREE_TREE) $(S)/mkinitramfs

# make install / make uninstall, DESTDIR-aware (PREFIX, default /usr/local):
# the module into the kernel's module tree of KDIR's release (modules_install,
# under updates/, then depmod), the uapi header as <linux/uio_dmabuf.h>, the C
# library (static, shared, header, pkg-config file; the libmetal bus where it
# was built), the CLI, the man pages, a udev rule giving group uio-dmabuf
# /dev/uio-dmabuf (the group is created when installing into /), and a
# modprobe.d example with every option commented out.
KREL = $(shell $(MAKE) -s -C $(KDIR) $(KMAKE_FLAGS) kernelrelease)
INSTALL_FILES = $(PREFIX)/include/linux/uio_dmabuf.h $(PREFIX)/include/uio-dmabuf.h \
	$(PREFIX)/lib/libuio-dmabuf.a $(PREFIX)/lib/libuio-dmabuf.so.$(LIB_VERSION) \
	$(PREFIX)/lib/libuio-dmabuf.so.0 $(PREFIX)/lib/libuio-dmabuf.so \
	$(PREFIX)/lib/pkgconfig/uio-dmabuf.pc $(PREFIX)/bin/uio-dmabuf \
	$(PREFIX)/share/man/man1/uio-dmabuf.1 $(PREFIX)/share/man/man4/uio-dmabuf.4 \
	/etc/udev/rules.d/70-uio-dmabuf.rules /etc/modprobe.d/uio-dmabuf.conf
METAL_INSTALL_FILES = $(PREFIX)/include/uio-dmabuf-metal.h $(PREFIX)/lib/libuio-dmabuf-metal.a
install: module userspace clib metal man
	$(MAKE) -C $(KDIR) M=$(TOP) $(KMAKE_FLAGS) INSTALL_MOD_PATH=$(DESTDIR) INSTALL_MOD_DIR=updates \
		modules_install
	depmod $(if $(DESTDIR),-b $(DESTDIR)) $(KREL)
	install -D -m 0644 $(TOP)/uapi/uio_dmabuf.h $(DESTDIR)$(PREFIX)/include/linux/uio_dmabuf.h
	install -D -m 0644 $(TOP)/lib/uio-dmabuf.h $(DESTDIR)$(PREFIX)/include/uio-dmabuf.h
	install -D -m 0644 $(LIB_BUILD)/libuio-dmabuf.a $(DESTDIR)$(PREFIX)/lib/libuio-dmabuf.a
	install -D -m 0755 $(LIB_BUILD)/libuio-dmabuf.so.$(LIB_VERSION) \
		$(DESTDIR)$(PREFIX)/lib/libuio-dmabuf.so.$(LIB_VERSION)
	ln -sf libuio-dmabuf.so.$(LIB_VERSION) $(DESTDIR)$(PREFIX)/lib/libuio-dmabuf.so.0
	ln -sf libuio-dmabuf.so.0 $(DESTDIR)$(PREFIX)/lib/libuio-dmabuf.so
	mkdir -p $(DESTDIR)$(PREFIX)/lib/pkgconfig
	sed 's|@PREFIX@|$(PREFIX)|; s|@VERSION@|$(LIB_VERSION)|' $(TOP)/lib/uio-dmabuf.pc.in \
		>$(DESTDIR)$(PREFIX)/lib/pkgconfig/uio-dmabuf.pc
	if [ -f $(LIB_BUILD)/libuio-dmabuf-metal.a ]; then \
		install -D -m 0644 $(TOP)/lib/metal/uio-dmabuf-metal.h $(DESTDIR)$(PREFIX)/include/uio-dmabuf-metal.h; \
		install -D -m 0644 $(LIB_BUILD)/libuio-dmabuf-metal.a $(DESTDIR)$(PREFIX)/lib/libuio-dmabuf-metal.a; \
	fi
	install -D -m 0755 $(UT_BIN)/uio-dmabuf $(DESTDIR)$(PREFIX)/bin/uio-dmabuf
	install -D -m 0644 $(TOP)/build/man/uio-dmabuf.1 $(DESTDIR)$(PREFIX)/share/man/man1/uio-dmabuf.1
	install -D -m 0644 $(TOP)/build/man/uio-dmabuf.4 $(DESTDIR)$(PREFIX)/share/man/man4/uio-dmabuf.4
	install -D -m 0644 $(TOP)/packaging/70-uio-dmabuf.rules $(DESTDIR)/etc/udev/rules.d/70-uio-dmabuf.rules
	install -D -m 0644 $(TOP)/packaging/uio-dmabuf.conf $(DESTDIR)/etc/modprobe.d/uio-dmabuf.conf
	[ -n "$(DESTDIR)" ] || getent group uio-dmabuf >/dev/null || groupadd --system uio-dmabuf

uninstall:
	rm -f $(DESTDIR)/lib/modules/$(KREL)/updates/driver/uio_dmabuf.ko
	depmod $(if $(DESTDIR),-b $(DESTDIR)) $(KREL)
	rm -f $(addprefix $(DESTDIR),$(INSTALL_FILES) $(METAL_INSTALL_FILES))

qemu-shell: initramfs
	$(TOP)/qemu/run --shell

clean:
	-[ -z "$(KDIR_IS_TEST_KERNEL)" ] || [ ! -d "$(KDIR)" ] || { $(MAKE) -C $(KDIR) M=$(TOP) clean; \
		$(MAKE) -C $(KDIR) M=$(TOP)/qemu/testmod clean; \
		$(MAKE) -C $(KDIR) M=$(TOP)/qemu/benchmod clean; }
	rm -rf $(UT)/target $(TOP)/build
