# SPDX-License-Identifier: GPL-2.0
# Shared settings for the project's scripts. Source it; do not run it.
#
# Everything the build downloads or produces outside the git tree lives under
# $UIO_DMABUF_CACHE (default ~/.cache/uio-dmabuf), keyed so that several checkouts
# share one kernel build.

set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${UIO_DMABUF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/uio-dmabuf}

# The kernel the test image is built from, one setting: KERNEL_VERSION, the
# release whose Debian linux-source package (from trixie-backports, which moves
# on to newer releases) is fetched. `make deps` lists the releases the suite has
# when this one is gone. KERNEL_SOURCE_PACKAGE and KERNEL_SOURCE_SUITE override
# the package and suite themselves.
KERNEL_VERSION=${KERNEL_VERSION:-7.3}
KERNEL_SOURCE_PACKAGE=${KERNEL_SOURCE_PACKAGE:-linux-source-$KERNEL_VERSION}
KERNEL_SOURCE_SUITE=${KERNEL_SOURCE_SUITE:-trixie-backports}
KERNEL_SOURCE_MIRROR=${KERNEL_SOURCE_MIRROR:-http://deb.debian.org/debian}

# Kernel toolchain: Debian's rustc-web (the rustup toolchain has no rust-src and
# another version) and clang/LLVM 19 (KASAN with Rust needs a clang-built kernel).
KRUSTC=${KRUSTC:-/usr/bin/rustc}
LLVM_SUFFIX=${LLVM_SUFFIX:--19}
BINDGEN_VERSION=${BINDGEN_VERSION:-0.72.1}
TOOLS=$CACHE/tools
KBINDGEN=${KBINDGEN:-$TOOLS/bin/bindgen}

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Run as root, through sudo only when we are not root already.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	else
		command -v sudo >/dev/null || die "not root and no sudo: run '$*' as root, or install sudo"
		sudo "$@"
	fi
}

# Bump when the way the kernel is built changes in a way the inputs below miss.
KERNEL_RECIPE=2

# The architecture of the test kernel and guest: x86_64 (QEMU q35, the
# default) or arm64 (QEMU xlnx-zcu102 and virt), cross-built with the same
# clang/LLVM and rustc.
KERNEL_ARCH=${KERNEL_ARCH:-x86_64}
case "$KERNEL_ARCH" in
x86_64 | arm64) ;;
*) die "KERNEL_ARCH is 'x86_64' or 'arm64', not '$KERNEL_ARCH'" ;;
esac

# make variables for everything built against the test kernel (kernel and module).
kmake_vars() {
	printf '%s\n' "LLVM=$LLVM_SUFFIX" "RUSTC=$KRUSTC" "HOSTRUSTC=$KRUSTC" "BINDGEN=$KBINDGEN"
	[ "$KERNEL_ARCH" = x86_64 ] || echo "ARCH=$KERNEL_ARCH"
}
export LIBCLANG_PATH=${LIBCLANG_PATH:-/usr/lib/llvm${LLVM_SUFFIX}/lib}

kernel_source_deb() {
	local stamp=$CACHE/kernel-source/stamp
	[ -f "$stamp" ] || die "kernel source not fetched yet: run 'make deps'"
	cat "$stamp"
}

# Which kernel: "debug", the test kernel every test runs on (tinyconfig +
# qemu/kernel.config, KASAN, lockdep, DMA-API debug, kmemleak), or "bench", the
# same without the debug section (qemu/kernel-bench.config), so that `make bench`
# measures the driver rather than the debug instrumentation; or "intree-m" /
# "intree-y", the debug kernel with the patch series of `make patches` applied
# and CONFIG_UIO_DMABUF=m / =y (scripts/build-intree; x86_64).
KERNEL_FLAVOUR=${KERNEL_FLAVOUR:-debug}

# The config fragment of $KERNEL_FLAVOUR for $KERNEL_ARCH, applied on top of
# tinyconfig: the common part, the architecture's, then the debug section (or
# the benchmark kernel's instead).
kernel_fragment() {
	local common=$TOP/qemu/kernel.config
	sed '/^# Tests and debugging:/,$d' "$common"
	cat "$TOP/qemu/kernel-$KERNEL_ARCH.config"
	case "$KERNEL_FLAVOUR" in
	debug | intree-*) sed -n '/^# Tests and debugging:/,$p' "$common" ;;
	bench) cat "$TOP/qemu/kernel-bench.config" ;;
	*) die "KERNEL_FLAVOUR is 'debug', 'bench', 'intree-m' or 'intree-y', not '$KERNEL_FLAVOUR'" ;;
	esac
}

# The guest image that goes with the $KERNEL_FLAVOUR kernel for $KERNEL_ARCH
# (scripts/mkinitramfs): build/initramfs[-arm64][-bench].cpio.
initramfs_path() {
	local name=initramfs
	[ "$KERNEL_ARCH" = x86_64 ] || name+=-$KERNEL_ARCH
	[ "$KERNEL_FLAVOUR" = debug ] || name+=-$KERNEL_FLAVOUR
	echo "$TOP/build/$name.cpio"
}

# The kernel image QEMU boots, inside the build directory.
kernel_image() {
	case "$KERNEL_ARCH" in
	x86_64) echo "$(kernel_build_dir)/arch/x86/boot/bzImage" ;;
	arm64) echo "$(kernel_build_dir)/arch/arm64/boot/Image" ;;
	esac
}

# Userspace for an arm64 guest, cross-built from Debian packages only: the
# aarch64 standard library of the installed rustc-web (libstd-rust-web-dev for
# arm64, unpacked by `make deps` into a sysroot beside the host's) and
# busybox-static for arm64.
ARM64_SYSROOT=$CACHE/arm64/rust-sysroot
ARM64_BUSYBOX=$CACHE/arm64/busybox
# libsysfs-dev for arm64 (static library and headers), for libmetal.
ARM64_SYSFS=$CACHE/arm64/unpacked/usr
# And for i386: the 32-bit libmetal (metal_phys_addr_t is 32 bits wide there).
I386_SYSFS=$CACHE/i386/unpacked/usr

# The build directory of the test kernel: one per source version, config fragment
# and toolchain, so a change of any of them builds afresh and nothing else does.
kernel_build_dir() {
	case "$KERNEL_FLAVOUR" in
	intree-*)
		echo "$(intree_dir)/src/build-${KERNEL_FLAVOUR#intree-}"
		return
		;;
	esac
	local key
	key=$({
		basename "$(kernel_source_deb)"
		[ "$KERNEL_ARCH" = x86_64 ] || echo "arch $KERNEL_ARCH"
		kernel_fragment
		"$KRUSTC" --version
		"clang$LLVM_SUFFIX" --version | head -n1
		"$KBINDGEN" --version
		echo "recipe $KERNEL_RECIPE"
	} | sha256sum | cut -c1-16)
	# Inside the source tree it is built from: Kbuild then records every path
	# relative to it, so a copy of tree and build directory rebuilds only what
	# changed (scripts/build-intree).
	echo "$(kernel_source_tree)/build-$key"
}

# The unpacked source tree of the fetched kernel source package.
kernel_source_tree() {
	echo "$CACHE/src/$(basename "$(kernel_source_deb)" .deb)"
}

# The in-tree build (scripts/build-intree): a copy of the source tree with the
# patch series applied, holding build-m and build-y; keyed by the debug
# kernel's build directory and the series.
intree_dir() {
	local key
	key=$({
		basename "$(KERNEL_FLAVOUR=debug kernel_build_dir)"
		cat "$TOP"/build/patches/0[0-9][0-9][1-9]-*.patch 2>/dev/null
		echo "intree recipe 1"
	} | sha256sum | cut -c1-16)
	echo "$CACHE/intree/$key"
}
