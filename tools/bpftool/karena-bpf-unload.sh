#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Detach and unload what karena-bpf-load pinned, and check nothing is left.
set -e
. "$(dirname "$(readlink -f "$0")")/karena-bpf-lib.sh"

usage() {
	cat <<EOT
Usage: $(basename "$0") TOOL|-a

Remove the pins of a karena tool loaded with karena-bpf-load
($KBPF_ROOT/TOOL: links first, which detaches the programs, then programs
and maps).  The kernel frees programs and maps when their last pin or file
descriptor goes; the script then checks that
none of the tool's programs is left (bpftool -f prog/link list gives
the ids behind the pins, bpftool prog list shows what is still loaded),
and fails if one is (needs jq).

Options:
  -a    unload every karena tool (all of $KBPF_ROOT)
  -h    this help
EOT
}

all=
case "${1:-}" in --help) usage; exit 0 ;; esac
while getopts "ah" opt; do
	case $opt in
	a) all=1 ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
kbpf_need_root
kbpf_need_jq
if [ -n "$all" ]; then
	set -- $(ls "$KBPF_ROOT" 2>/dev/null)
	[ $# -gt 0 ] || { echo "nothing loaded under $KBPF_ROOT"; exit 0; }
else
	[ $# -eq 1 ] || { usage >&2; exit 2; }
	kbpf_tool_ok "$1"
fi

rc=0
for tool in "$@"; do
	dir=$KBPF_ROOT/$tool
	[ -d "$dir" ] || { echo "$tool: not loaded ($dir missing)"; continue; }
	ids=$(kbpf_prog_ids "$dir")
	rm -rf "$dir/links"
	rm -rf "$dir/progs" "$dir/maps"
	rmdir "$dir"
	left=
	for i in 1 2 3 4 5 6 7 8 9 10; do
		left=
		[ -n "$ids" ] && left=$(kbpf_ids_loaded $ids)
		[ -z "$left" ] && break
		sleep 0.5
	done
	if [ -n "$left" ]; then
		echo "$tool: programs still loaded after unpinning: ids $left" >&2
		rc=1
	else
		echo "$tool: unloaded (programs ${ids:-none} gone)"
	fi
done
rmdir "$KBPF_ROOT" 2>/dev/null || true
exit $rc
