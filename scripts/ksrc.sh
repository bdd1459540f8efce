#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Extract the few files karena needs from Debian's linux-source-6.1 tarball
# into build/ksrc (kselftest harness, checkpatch, extract-vmlinux). Never
# committed; cached, so the 15 s tar runs once.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
out="$top/build/ksrc"
stamp="$out/.stamp"
[ -f "$stamp" ] && exit 0
tarball=$(ls /usr/src/linux-source-6.1.tar.* 2>/dev/null | head -n1)
[ -n "$tarball" ] || { echo "ksrc.sh: /usr/src/linux-source-6.1.tar.xz missing (apt-get install linux-source-6.1)" >&2; exit 1; }
tmp="$out.tmp"
rm -rf "$tmp" && mkdir -p "$tmp"
tar -xf "$tarball" -C "$tmp" --strip-components=1 --wildcards \
	'linux-source-6.1/tools/testing/selftests/kselftest_harness.h' \
	'linux-source-6.1/tools/testing/selftests/kselftest.h' \
	'linux-source-6.1/scripts/extract-vmlinux' \
	'linux-source-6.1/scripts/checkpatch.pl' \
	'linux-source-6.1/scripts/spelling.txt' \
	'linux-source-6.1/scripts/const_structs.checkpatch'
mkdir -p "$tmp/include"
cp "$tmp"/tools/testing/selftests/kselftest*.h "$tmp/include/"
rm -rf "$out" && mv "$tmp" "$out" && touch "$stamp"
