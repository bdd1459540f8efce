#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Fetch Debian's kernel image for the ABI linux-headers-amd64 points at,
# unpack it (not installed) into build/guest/, and produce what the guest
# loop and the BPF tools need:
#   build/guest/vmlinuz          the bootable image
#   build/guest/vmlinux          uncompressed ELF with BTF (for vmlinux.h)
#   build/guest/root/lib/modules the image's modules (+ modules.dep)
# Idempotent: does nothing when the stamp matches.
set -e
top=$(cd "$(dirname "$0")/../.." && pwd)
kver=$("$top/scripts/kver.sh")
out="$top/build/guest"
stamp="$out/.kernel-$kver"
[ -f "$stamp" ] && exit 0

pkg="linux-image-$kver"
# Same package version as the headers we build against.
ver=$(dpkg-query -W -f='${Version}' "linux-headers-$kver" 2>/dev/null || true)
dl="$out/dl"
rm -rf "$dl" "$out/root" && mkdir -p "$dl" && chmod 777 "$dl"  # _apt downloads into it
echo "fetch-kernel: downloading $pkg${ver:+=$ver}" >&2
( cd "$dl" && apt-get download -q "$pkg${ver:+=$ver}" >/dev/null ) || {
	echo "fetch-kernel: 'apt-get download $pkg' failed (run apt-get update?)" >&2
	exit 1
}
dpkg-deb -x "$dl"/"$pkg"_*.deb "$out/root"
depmod -b "$out/root" "$kver"
cp "$out/root/boot/vmlinuz-$kver" "$out/vmlinuz"
"$top/scripts/ksrc.sh"
sh "$top/build/ksrc/scripts/extract-vmlinux" "$out/vmlinuz" > "$out/vmlinux.tmp"
mv "$out/vmlinux.tmp" "$out/vmlinux"
rm -rf "$dl"
rm -f "$out"/.kernel-* && touch "$stamp"
echo "fetch-kernel: $kver ready in $out" >&2
