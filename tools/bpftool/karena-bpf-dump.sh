#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Dump (and optionally clear) the maps pinned by karena-bpf-load.
set -e
. "$(dirname "$(readlink -f "$0")")/karena-bpf-lib.sh"

usage() {
	cat <<EOT
Usage: $(basename "$0") [-c] [-j] TOOL [MAP...]

Dump the maps of a karena tool loaded with karena-bpf-load, with plain
'bpftool map dump pinned $KBPF_ROOT/TOOL/maps/MAP'.  Without MAP, every
map except read-only data and ring buffers.  Maps have BTF, so bpftool
prints keys and values as named fields.

Maps per tool:
  faults:    proc_faults   pid -> {user_faults, karena_user, karena_all, comm}
             karena_faults {tgid, state, kind} -> count
  faultlat:  hists         class -> {count, sum, slots[]} (class 0-4 = karena
                            kind, 5 = anon, 6 = file; microseconds, log2 slots)
  trace:     counts        per-CPU event counts (ring buffer events need the tool)

Options:
  -c    clear the maps after dumping them (delete hash keys, zero arrays;
        needs jq)
  -j    bpftool JSON output
  -h    this help
EOT
}

clear=; json=
case "${1:-}" in --help) usage; exit 0 ;; esac
while getopts "cjh" opt; do
	case $opt in
	c) clear=1 ;;
	j) json=-j ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { usage >&2; exit 2; }
tool=$1; shift
kbpf_tool_ok "$tool"
kbpf_need_root
dir=$KBPF_ROOT/$tool
[ -d "$dir/maps" ] || kbpf_die "$tool is not loaded ($dir/maps missing; run karena-bpf-load $tool)"

if [ $# -eq 0 ]; then
	set --
	for m in "$dir"/maps/*; do
		n=$(basename "$m")
		case $n in *rodata*|*.kconfig|events|inflight|start|pending) continue ;; esac
		set -- "$@" "$n"
	done
fi

for n in "$@"; do
	m=$dir/maps/$n
	[ -e "$m" ] || kbpf_die "no map $n (have: $(ls "$dir/maps" | tr '\n' ' '))"
	[ -n "$json" ] || echo "== $tool/$n"
	bpftool $json map dump pinned "$m"
	[ -n "$clear" ] || continue
	# one bpftool process for all the updates/deletes ('bpftool batch')
	kbpf_need_jq
	batch=$(mktemp)
	info=$(bpftool -j map show pinned "$m" | jq -r '"\(.type) \(.bytes_value)"')
	type=${info% *} vsize=${info#* }
	case $type in
	array|percpu_array)
		bpftool -j map dump pinned "$m" | jq -r --arg m "$m" --argjson vs "$vsize" \
			'.[] | "map update pinned \($m) key \(.key | join(" ")) value \([range($vs)] | map("0") | join(" "))"' ;;
	*)
		bpftool -j map dump pinned "$m" | jq -r --arg m "$m" \
			'.[] | "map delete pinned \($m) key \(.key | join(" "))"' ;;
	esac >"$batch"
	[ -s "$batch" ] && bpftool batch file "$batch" >/dev/null
	rm -f "$batch"
	[ -n "$json" ] || echo "(cleared $n)"
done
