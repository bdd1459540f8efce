#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# make demo: karena's main job end to end. Builds everything, boots the
# QEMU guest on Debian's 6.1 kernel, loads karena.ko, and runs a real
# program (python3) on libkarena's /dev/karena backend while the eBPF tools
# watch: page faults by state, transitions, allocation sizes, statistics.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
scripts/deps.sh
echo "== building lib, tools and module" >&2
make -s all >/dev/null
make -s module KDIR="/usr/src/linux-headers-$(scripts/kver.sh)" >/dev/null	# the guest's kernel
exec scripts/vm/guest-run.sh 'sh scripts/demo-guest.sh'
