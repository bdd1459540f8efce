#!/bin/sh
# Run the kernel's checkpatch.pl --strict over the module's sources. Fails
# on any ERROR or WARNING; CHECKs are reported.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/ksrc.sh"
cp="$top/build/ksrc/scripts/checkpatch.pl"
files=$(ls "$top"/kmod/*.c "$top"/kmod/*.h "$top"/kmod/uapi/*.h 2>/dev/null || true)
[ -n "$files" ] || { echo "checkpatch: no module sources" >&2; exit 1; }
out=$(perl "$cp" --strict --no-tree --terse --show-types --ignore FILE_PATH_CHANGES \
	--spelling-file "$top/build/ksrc/scripts/spelling.txt" \
	--const_structs "$top/build/ksrc/scripts/const_structs.checkpatch" -f $files 2>&1 || true)
printf '%s\n' "$out" | grep -E ': (ERROR|WARNING|CHECK):' || true
e=$(printf '%s\n' "$out" | grep -cE ': (ERROR|WARNING):' || true)
c=$(printf '%s\n' "$out" | grep -cE ': CHECK:' || true)
echo "checkpatch: $e errors/warnings, $c checks in $(echo $files | wc -w) files"
[ "$e" = 0 ]
