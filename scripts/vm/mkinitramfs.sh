#!/bin/sh
# Build the guest initramfs (busybox-static, the 9p/virtio modules of the
# guest kernel, scripts/vm/init.sh as /init) into build/guest/initramfs.cpio.gz.
set -e
top=$(cd "$(dirname "$0")/../.." && pwd)
kver=$("$top/scripts/kver.sh")
out="$top/build/guest"
img="$out/initramfs.cpio.gz"
init="$top/scripts/vm/init.sh"
[ -f "$img" ] && [ "$img" -nt "$init" ] && [ "$img" -nt "$out/.kernel-$kver" ] && exit 0

dpkg-query -W -f='${db:Status-Status}' busybox-static 2>/dev/null | grep -q installed ||
	{ echo "mkinitramfs: need the static busybox (apt-get install busybox-static)" >&2; exit 1; }
stage="$out/initramfs.d"
rm -rf "$stage" && mkdir -p "$stage/bin" "$stage/modules" "$stage/proc" "$stage/sys" "$stage/dev"
cp /bin/busybox "$stage/bin/busybox"
cp "$init" "$stage/init" && chmod +x "$stage/init"
mods="$out/root/lib/modules/$kver/kernel"
for m in drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev \
	 drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci net/9p/9pnet \
	 net/9p/9pnet_virtio fs/netfs/netfs fs/fscache/fscache fs/9p/9p; do
	cp "$mods/$m.ko" "$stage/modules/"
done
(cd "$stage" && find . | cpio -o -H newc --quiet | gzip -1) > "$img.tmp"
mv "$img.tmp" "$img"
rm -rf "$stage"
