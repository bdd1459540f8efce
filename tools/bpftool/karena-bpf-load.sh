#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Load one of karena's bundled BPF objects with plain bpftool, attach it,
# and pin everything under /sys/fs/bpf/karena/TOOL/{progs,maps,links}.
set -e
. "$(dirname "$(readlink -f "$0")")/karena-bpf-lib.sh"

usage() {
	cat <<EOT
Usage: $(basename "$0") [-o OBJ] TOOL

Load the BPF object of a karena tool with plain bpftool and attach it.
TOOL is one of: $KBPF_TOOLS (karena-TOOL.bpf.o from $(kbpf_objdir)).

Pins (bpffs, default root $KBPF_ROOT, override with KARENA_BPFFS):
  TOOL/progs/NAME   the programs     (bpftool prog loadall OBJ ... pinmaps ...)
  TOOL/maps/NAME    the maps         (read them with karena-bpf-dump)
  TOOL/links/NAME   the attachments  (the programs run while these exist)

bpftool 7.2+ attaches with 'loadall ... autoattach'.  bpftool 7.1 (Debian 12)
has no autoattach and 'prog attach' only handles socket/flow-dissector
types, so the links are made by the small karena-bpf-attach helper (raw
tracepoint open; perf tracepoint/kprobe event + BPF_LINK_CREATE) and pinned.
karena-allocs.bpf.o is not offered: uprobes need a target binary.

Options:
  -o OBJ    load this object file instead of the bundled one
  -h        this help

Then: karena-bpf-dump TOOL, karena-bpf-unload TOOL.
EOT
}

obj=
case "${1:-}" in --help) usage; exit 0 ;; esac
while getopts "o:h" opt; do
	case $opt in
	o) obj=$OPTARG ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || { usage >&2; exit 2; }
tool=$1
kbpf_tool_ok "$tool"
kbpf_need_root
kbpf_need_module
kbpf_need_bpffs
[ -n "$obj" ] || obj=$(kbpf_objdir)/karena-$tool.bpf.o
[ -f "$obj" ] || kbpf_die "$obj not found (build with make -C tools)"

dir=$KBPF_ROOT/$tool
[ -e "$dir" ] && kbpf_die "$dir exists: already loaded? (karena-bpf-unload $tool)"
mkdir -p "$dir/maps"

if kbpf_has_autoattach; then
	bpftool prog loadall "$obj" "$dir/links" pinmaps "$dir/maps" autoattach ||
		{ rm -rf "$dir"; kbpf_die "bpftool prog loadall failed"; }
	echo "loaded and attached with bpftool autoattach"
else
	bpftool prog loadall "$obj" "$dir/progs" pinmaps "$dir/maps" ||
		{ rm -rf "$dir"; kbpf_die "bpftool prog loadall failed"; }
	"$(kbpf_attach_helper)" "$obj" "$dir/progs" "$dir/links" ||
		{ rm -rf "$dir"; kbpf_die "attach failed (programs unloaded)"; }
fi
echo "pinned under $dir:"
for d in progs links maps; do
	[ -d "$dir/$d" ] && echo "  $d: $(ls "$dir/$d" | tr '\n' ' ')"
done
echo "see them with: bpftool -f prog list; bpftool -f link list"
