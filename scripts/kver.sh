#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Print the kernel ABI the project targets: the one linux-headers-amd64
# depends on (e.g. 6.1.0-56-amd64). The guest boots exactly this kernel.
set -e
dep=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null ||
      apt-cache depends linux-headers-amd64 2>/dev/null | sed -n 's/.*Depends: //p')
abi=$(printf '%s\n' "$dep" | grep -o 'linux-headers-[0-9][^ ,]*-amd64' | head -n1)
[ -n "$abi" ] || { echo "kver.sh: cannot tell the linux-headers-amd64 ABI (run scripts/deps.sh)" >&2; exit 1; }
echo "${abi#linux-headers-}"
