#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# mkinitramfs.sh [DIR KVER]: build the guest initramfs (busybox-static,
# the 9p/virtio modules of the guest kernel, scripts/vm/init.sh as /init)
# into DIR/initramfs.cpio.gz, taking the modules from DIR/root/lib/modules/
# KVER as fetch-kernel.sh unpacks them (none when DIR/config says 9p is
# built in).  Default: build/guest and the
# target kernel.
set -e
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$top/build/guest}
kver=${2:-$("$top/scripts/kver.sh")}
img="$out/initramfs.cpio.gz"
init="$top/scripts/vm/init.sh"
[ -f "$img" ] && [ "$img" -nt "$init" ] && [ "$img" -nt "$0" ] &&
	[ "$img" -nt "$out/.kernel-$kver" ] && exit 0

dpkg-query -W -f='${db:Status-Status}' busybox-static 2>/dev/null | grep -q installed ||
	{ echo "mkinitramfs: need the static busybox (apt-get install busybox-static)" >&2; exit 1; }
stage="$out/initramfs.d"
rm -rf "$stage" && mkdir -p "$stage/bin" "$stage/modules" "$stage/proc" "$stage/sys" "$stage/dev"
cp /bin/busybox "$stage/bin/busybox"
cp "$init" "$stage/init" && chmod +x "$stage/init"
mods="$out/root/lib/modules/$kver/kernel"
# Whichever of these the kernel has as modules (newer kernels build virtio
# in, merge fscache into netfs, make 9pnet need netfs and compress modules
# with xz); init.sh loads what is there, in this order.
n=0
for m in drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev \
	 drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci fs/netfs/netfs \
	 fs/fscache/fscache net/9p/9pnet net/9p/9pnet_virtio fs/9p/9p; do
	n=$((n + 1))
	dst="$stage/modules/$(printf '%02d' $n)-${m##*/}.ko"
	if [ -f "$mods/$m.ko" ]; then
		cp "$mods/$m.ko" "$dst"
	elif [ -f "$mods/$m.ko.xz" ]; then
		xz -dc "$mods/$m.ko.xz" >"$dst"
	fi
done
# A kernel with 9p built in (the debug kernel, DIR/config) needs none.
[ -n "$(ls "$stage/modules")" ] || grep -qx 'CONFIG_9P_FS=y' "$out/config" 2>/dev/null ||
	{ echo "mkinitramfs: no 9p modules in $mods" >&2; exit 1; }
(cd "$stage" && find . | cpio -o -H newc --quiet | gzip -1) > "$img.tmp"
mv "$img.tmp" "$img"
rm -rf "$stage"
