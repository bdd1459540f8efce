#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# kcompat.sh [--guest]: build kmod/ against a newer Debian kernel than the
# 6.1 target: the newest linux-headers-*-amd64 in bookworm-backports (6.12
# as of writing), into build/kcompat/src/karena.ko.  This is what keeps
# kmod/compat.h honest.  Fails on any compiler or modpost warning, so an
# API that is gone (an implicit declaration, an unexported symbol) fails.
#
# --guest also fetches that kernel's image and makes the guest loop able
# to boot it: build/kcompat/guest/{vmlinuz,initramfs.cpio.gz}, for
#   KARENA_GUEST_DIR=build/kcompat/guest \
#   KARENA_MODULE=build/kcompat/src/karena.ko scripts/vm/guest-run.sh CMD
#
# The headers are fetched with apt-get download into build/kcompat/, with
# a private sources list and lists directory: the machine's apt
# configuration is not touched.  Idempotent: the download is skipped when
# build/kcompat/.headers-<ver> exists.
#   KARENA_KCOMPAT_SUITE   apt suite to take the headers from
#                          (default bookworm-backports)
#   KARENA_KCOMPAT_MIRROR  (default http://deb.debian.org/debian)
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
out="$top/build/kcompat"
suite=${KARENA_KCOMPAT_SUITE:-bookworm-backports}
mirror=${KARENA_KCOMPAT_MIRROR:-http://deb.debian.org/debian}
die() { echo "kcompat: $*" >&2; exit 1; }
guest=
[ "${1:-}" = --guest ] && guest=1

apt="$out/apt"
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$out/dl"
echo "deb $mirror $suite main" >"$apt/sources.list"
set -- -o Dir::Etc::SourceList="$apt/sources.list" \
	-o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists="$apt/lists" \
	-o Dir::State::status=/dev/null -o Dir::Cache="$apt/cache" \
	-o Debug::NoLocking=1 -o APT::Sandbox::User=root -q
if [ ! -f "$apt/.updated" ] || [ -n "$(find "$apt/.updated" -mmin +1440)" ]; then
	apt-get "$@" update >"$out/apt-update.log" 2>&1 ||
		die "apt-get update of $suite failed (see $out/apt-update.log)"
	touch "$apt/.updated"
fi

# linux-headers-amd64 of that suite names the ABI: linux-headers-<abi>.
abi=$(apt-cache "$@" depends linux-headers-amd64 2>/dev/null |
	sed -n 's/^ *Depends: linux-headers-\(.*-amd64\)$/\1/p' | head -n1)
[ -n "$abi" ] || die "no linux-headers-amd64 in $suite"
hdr="$out/root/usr/src/linux-headers-$abi"
stamp="$out/.headers-$abi"

if [ ! -f "$stamp" ]; then
	deps=$(apt-cache "$@" depends "linux-headers-$abi")
	common=$(printf '%s\n' "$deps" |
		sed -n 's/^ *Depends: \(linux-headers-.*-common\)$/\1/p' | head -n1)
	kbuild=$(printf '%s\n' "$deps" |
		sed -n 's/^ *Depends: \(linux-kbuild-.*\)$/\1/p' | head -n1)
	[ -n "$common" ] && [ -n "$kbuild" ] ||
		die "cannot tell the dependencies of linux-headers-$abi"
	rm -rf "$out/dl"/*.deb "$out/root"
	(cd "$out/dl" && apt-get "$@" download "linux-headers-$abi" \
		"$common" "$kbuild" >"$out/apt-download.log" 2>&1) ||
		die "apt-get download linux-headers-$abi failed (see $out/apt-download.log)"
	for d in "$out/dl"/*.deb; do
		dpkg-deb -x "$d" "$out/root"
	done
	# Debian's per-flavour Makefile includes the common tree by its
	# installed (absolute) path; point it at the unpacked one.
	sed -i "s|/usr/src/|$out/root/usr/src/|" "$hdr/Makefile"
	rm -f "$out"/.headers-* "$out/dl"/*.deb
	touch "$stamp"
fi

# The module's sources as DKMS builds them (M=<that tree>), so the 6.1
# objects in kmod/ are left alone.
src="$out/src"
rm -rf "$src"
"$top/scripts/kmod-sources.sh" "$src"
log="$out/build.log"
make -C "$hdr" M="$src" modules >"$log" 2>&1 || { cat "$log" >&2; die "build against $abi failed"; }
if grep -Ei 'warning|error|undefined' "$log" >&2; then
	die "build against $abi gave the warnings above"
fi
[ -f "$src/karena.ko" ] || die "no karena.ko after the build against $abi"
modinfo -F vermagic "$src/karena.ko" | grep -q "^$abi " ||
	die "karena.ko vermagic is not $abi"
echo "$abi" >"$out/abi"
echo "kcompat: karena.ko builds against $abi ($suite)"
[ -n "$guest" ] || exit 0

# The image: only vmlinuz and the modules the guest's initramfs needs.
g="$out/guest"
if [ ! -f "$g/.kernel-$abi" ]; then
	rm -rf "$g" "$out/dl"/*.deb && mkdir -p "$g/root"
	(cd "$out/dl" && apt-get "$@" download "linux-image-$abi" \
		>"$out/apt-download.log" 2>&1) ||
		die "apt-get download linux-image-$abi failed (see $out/apt-download.log)"
	dpkg-deb --fsys-tarfile "$out/dl"/linux-image-*.deb |
		tar -x -C "$g/root" --wildcards './boot/vmlinuz-*' \
			'./lib/modules/*/kernel/drivers/virtio/*' \
			'./lib/modules/*/kernel/net/9p/*' './lib/modules/*/kernel/fs/9p/*' \
			'./lib/modules/*/kernel/fs/netfs/*' 2>/dev/null ||
		die "cannot unpack linux-image-$abi"
	cp "$g/root/boot/vmlinuz-$abi" "$g/vmlinuz"
	rm -f "$out/dl"/*.deb
	touch "$g/.kernel-$abi"
fi
"$top/scripts/vm/mkinitramfs.sh" "$g" "$abi"
echo "kcompat: guest kernel $abi ready in $g"
