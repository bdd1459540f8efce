#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Install what karena's build and tests need, on Debian 12. Quick and
# silent when everything is present; as root it runs apt-get update once
# and installs the rest; otherwise it names what is missing and fails.
# Then it fetches the guest kernel and the kernel-source helpers.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
pkgs="gcc make pkg-config libc6-dev git python3 sqlite3 file jq strace
kmod cpio xz-utils busybox-static qemu-system-x86 linux-headers-amd64 linux-source-6.1
clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev dwarves liburing-dev
help2man man-db libdw-dev libc6-dbg bpftrace linux-perf dkms"

missing=
for p in $pkgs; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "deps.sh: missing Debian packages:$missing" >&2
		echo "deps.sh: run as root, or: sudo apt-get install$missing" >&2
		exit 1
	fi
	command -v apt-get >/dev/null || { echo "deps.sh: not Debian (no apt-get); install:$missing" >&2; exit 1; }
	echo "deps.sh: installing:$missing" >&2
	apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >/dev/null
fi
"$top/scripts/ksrc.sh"
"$top/scripts/vm/fetch-kernel.sh"
