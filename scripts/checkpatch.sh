#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Run the kernel's checkpatch.pl --strict over the module's sources (not
# the generated *.mod.c). Fails on any ERROR or WARNING, and on any
# checkpatch output it does not understand (a usage message must never
# read as "clean"); CHECKs are reported.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/ksrc.sh"
cp="$top/build/ksrc/scripts/checkpatch.pl"	# finds spelling.txt beside it
files=$(ls "$top"/kmod/*.c "$top"/kmod/*.h "$top"/kmod/uapi/*.h 2>/dev/null | grep -v '\.mod\.c$' || true)
[ -n "$files" ] || { echo "checkpatch: no module sources" >&2; exit 1; }
set +e
out=$(perl "$cp" --strict --no-tree --terse --show-types --ignore FILE_PATH_CHANGES -f $files 2>&1)
set -e
bad=$(printf '%s\n' "$out" | grep -vE ': (ERROR|WARNING|CHECK):|^total: |^$' || true)
if [ -n "$bad" ]; then
	echo "checkpatch: unexpected output (checkpatch did not run?):" >&2
	printf '%s\n' "$bad" | head -n 20 >&2
	exit 1
fi
printf '%s\n' "$out" | grep -E ': (ERROR|WARNING|CHECK):' || true
e=$(printf '%s\n' "$out" | grep -cE ': (ERROR|WARNING):' || true)
c=$(printf '%s\n' "$out" | grep -cE ': CHECK:' || true)
n=$(echo $files | wc -w)
echo "checkpatch: $e errors/warnings, $c checks in $n files"
[ "$e" = 0 ]
