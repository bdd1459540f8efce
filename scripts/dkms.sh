#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# dkms.sh install|uninstall: karena.ko under DKMS (`make dkms-install`,
# `make dkms-uninstall`).
#
# install: the module's sources (scripts/kmod-sources.sh: a clean file
# list and dkms.conf) into /usr/src/karena-VERSION, then dkms add, build
# and install for KVER (default: the running kernel), the udev rule as
# /etc/udev/rules.d/60-karena.rules and /etc/modules-load.d/karena.conf
# (load at boot).  A karena already in DKMS at that version is removed
# first.  DKMS signs the module with its MOK key when the kernel wants
# signed modules (README.md, "Secure Boot").
# uninstall: dkms remove of every karena version, then the sources, the
# udev rule and the modules-load.d entry.
#
#   KVER=6.1.0-56-amd64   build for that kernel (its headers installed)
#   DKMS_ROOT=DIR         use private trees under DIR (DIR/usr/src,
#                         DIR/var/lib/dkms, DIR/lib/modules, DIR/etc) and
#                         skip depmod/udevadm: how make check tests this
#                         without touching the machine's DKMS state
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
version=$("$top/scripts/version.sh")
kver=${KVER:-$(uname -r)}
root=${DKMS_ROOT:-}
src_tree=$root/usr/src
etc=$root/etc
if [ -n "$root" ]; then
	mkdir -p "$src_tree" "$root/var/lib/dkms" "$root/lib/modules/$kver"
	# DKMS's own MOK key for signing, private too (dkms takes these from
	# the environment unless /etc/dkms/framework.conf sets them)
	mok_signing_key=$root/var/lib/dkms/mok.key
	mok_certificate=$root/var/lib/dkms/mok.pub
	export mok_signing_key mok_certificate
	set -- "$@" --sourcetree "$src_tree" --dkmstree "$root/var/lib/dkms" \
		--installtree "$root/lib/modules" --no-depmod
fi
action=$1
shift
die() { echo "dkms.sh: $*" >&2; exit 1; }
command -v dkms >/dev/null || die "dkms is not installed (apt-get install dkms, or scripts/deps.sh)"
[ -n "$root" ] || [ "$(id -u)" = 0 ] || die "must be run as root (or with DKMS_ROOT=DIR)"

# Every karena version DKMS knows, from "karena/1.0.0, ...: added" lines.
known_versions() {
	dkms status "$@" karena 2>/dev/null | sed -n 's|^karena/\([^,:]*\)[,:].*|\1|p' | sort -u
}

remove_all() {
	for v in $(known_versions "$@"); do
		dkms remove karena/"$v" --all "$@" >/dev/null
		rm -rf "$src_tree/karena-$v"
	done
}

reload_udev() {
	[ -z "$root" ] && command -v udevadm >/dev/null || return 0
	udevadm control --reload-rules 2>/dev/null || true
}

case $action in
install)
	remove_all "$@"
	rm -rf "$src_tree/karena-$version"
	"$top/scripts/kmod-sources.sh" "$src_tree/karena-$version"
	dkms add karena/"$version" "$@"
	dkms build karena/"$version" -k "$kver" "$@"
	dkms install karena/"$version" -k "$kver" "$@"
	install -D -m 0644 "$top/kmod/60-karena.rules" "$etc/udev/rules.d/60-karena.rules"
	install -d "$etc/modules-load.d"
	echo karena >"$etc/modules-load.d/karena.conf"
	reload_udev
	echo "dkms.sh: karena $version installed for $kver; modprobe karena (or reboot) to load it"
	;;
uninstall)
	remove_all "$@"
	rm -f "$etc/udev/rules.d/60-karena.rules" "$etc/modules-load.d/karena.conf"
	reload_udev
	echo "dkms.sh: karena removed from DKMS"
	;;
*)
	echo "usage: dkms.sh install|uninstall" >&2
	exit 2
	;;
esac
