#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# debug-kernel.sh: build (once) the debug guest kernel of `make check-debug`
# from Debian's linux-source-6.1: `make tinyconfig` plus
# scripts/vm/debug-kernel.config (virtio-pci, 9p, serial console built in;
# KASAN, lockdep, DEBUG_VM, kmemleak, atomic-sleep and hung-task checks).
#
# The result is cached under build/debug-kernel/HASH/, HASH covering the
# config fragment, the recipe version below, the source package version
# and the toolchain, so a second run only prints the directory:
#   HASH/obj                  the kernel build tree (KDIR for the module)
#   HASH/guest/vmlinuz        bootable image  } KARENA_GUEST_DIR for
#   HASH/guest/initramfs.cpio.gz             } scripts/vm/boot.sh
#   HASH/build-seconds        wall time of the cold build
# build/debug-kernel/current points at the newest HASH. Prints HASH's path.
# A cold build runs for a long time (see README.md); it runs under nice.
#
# debug-kernel.sh --module: also build kmod/ against that tree (in
# HASH/module/, sources from scripts/kmod-sources.sh) and print the
# karena.ko path.
set -e
top=$(cd "$(dirname "$0")/../.." && pwd)
frag="$top/scripts/vm/debug-kernel.config"
base="$top/build/debug-kernel"
jobs=${KARENA_JOBS:-$(nproc)}

tarball=$(ls /usr/src/linux-source-6.1.tar.* 2>/dev/null | head -n1)
[ -n "$tarball" ] || { echo "debug-kernel: /usr/src/linux-source-6.1.tar.xz missing (apt-get install linux-source-6.1)" >&2; exit 1; }
for t in flex bison bc pahole gcc; do
	command -v $t >/dev/null || missing="$missing $t"
done
if [ -n "${missing:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "debug-kernel: missing:$missing (apt-get install flex bison bc dwarves)" >&2; exit 1; }
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		flex bison bc dwarves libelf-dev libssl-dev >/dev/null
fi
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || stat -c %s "$tarball")
# Bump recipe when a change to this script changes the kernel it builds.
recipe=1
hash=$( { cat "$frag"; echo "$recipe $srcver"; gcc --version | head -n1; pahole --version; } |
	sha256sum | cut -c1-16)
dir="$base/$hash"
# module DIR: build this checkout's kmod/ against DIR/obj, print the .ko
module() {
	rm -rf "$1/module"
	"$top/scripts/kmod-sources.sh" "$1/module"
	nice -n "${KARENA_NICE:-10}" make -s -C "$1/obj" M="$1/module" modules >&2
	echo "$1/module/karena.ko"
}
result() {
	# The initramfs follows scripts/vm/init.sh (mkinitramfs.sh rebuilds
	# it only when that is newer; it is not part of HASH).
	kv=$(ls -A "$dir/guest" | sed -n 's/^\.kernel-//p')
	"$top/scripts/vm/mkinitramfs.sh" "$dir/guest" "$kv"
	# pci=noacpi: the PCI interrupt routing method (_PRT) of QEMU's ACPI
	# tables takes minutes per call in the AML interpreter under KASAN and
	# TCG (AE_AML_LOOP_TIMEOUT, soft lockups); the MP table's routing is
	# enough for virtio.  loglevel=5: warnings reach the console.
	echo "pci=noacpi loglevel=5" >"$dir/guest/cmdline"
	if [ "${1:-}" = --module ]; then module "$dir"; else echo "$dir"; fi
}
if [ -f "$dir/.done" ]; then
	result "$@"
	exit 0
fi

start=$(date +%s)
src="$base/src-$srcver"
if [ ! -f "$src/.stamp" ]; then
	echo "debug-kernel: unpacking $tarball" >&2
	rm -rf "$src" && mkdir -p "$src"
	tar -xf "$tarball" -C "$src" --strip-components=1
	touch "$src/.stamp"
fi
# An unfinished tree of another configuration (an interrupted build) is
# reused: Kbuild rebuilds only what the configuration change touches.
for old in "$base"/*/obj; do
	[ -d "$old" ] && [ ! -f "${old%/obj}/.done" ] && [ ! -d "$dir" ] &&
		mv "${old%/obj}" "$dir"
done
rm -rf "$dir/guest" "$dir/module" && mkdir -p "$dir/obj" "$dir/guest"
kmake() { nice -n "${KARENA_NICE:-10}" make -s -C "$src" O="$dir/obj" ARCH=x86_64 "$@"; }
kmake tinyconfig >/dev/null
"$src/scripts/kconfig/merge_config.sh" -m -O "$dir/obj" "$dir/obj/.config" "$frag" >/dev/null
kmake olddefconfig >/dev/null
bad=$(grep -E '^CONFIG_[A-Z0-9_]+=y$' "$frag" | while read -r l; do
	grep -qx "$l" "$dir/obj/.config" || echo "${l%=y}"
done)
[ -z "$bad" ] || { echo "debug-kernel: the config lost:" $bad "(unmet dependencies)" >&2; exit 1; }
echo "debug-kernel: building in $dir/obj with $jobs jobs (long)" >&2
kmake -j"$jobs" bzImage modules
kmake modules_prepare >/dev/null

kver=$(kmake -s kernelrelease)
cp "$dir/obj/arch/x86/boot/bzImage" "$dir/guest/vmlinuz"
cp "$dir/obj/vmlinux" "$dir/guest/vmlinux"
cp "$dir/obj/.config" "$dir/guest/config"
touch "$dir/guest/.kernel-$kver"
"$top/scripts/vm/mkinitramfs.sh" "$dir/guest" "$kver"
echo $(($(date +%s) - start)) > "$dir/build-seconds"
touch "$dir/.done"
ln -sfn "$hash" "$base/current"
for old in "$base"/*/; do	# older configurations of this cache
	# not through the `current` link: rm -rf current/ empties its target
	[ -L "${old%/}" ] && continue
	case "$old" in "$dir/"|"$src/") ;; *) [ -f "$old/.done" ] && rm -rf "$old" ;; esac
done
echo "debug-kernel: $kver built in $(cat "$dir/build-seconds") s" >&2
result "$@"
