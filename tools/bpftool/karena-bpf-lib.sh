# SPDX-License-Identifier: GPL-2.0
# Shared by the karena-bpf-*.sh scripts (sourced, not run).

KBPF_ROOT=${KARENA_BPFFS:-/sys/fs/bpf/karena}
KBPF_HERE=$(dirname "$(readlink -f "$0")")
KBPF_TOOLS="faults faultlat trace"

kbpf_die() { echo "$(basename "$0"): $*" >&2; exit 1; }

# Directory of the bundled objects: installed (share/karena/bpf) or tree (tools/build).
kbpf_objdir() {
	if [ -n "${KARENA_BPF_OBJDIR:-}" ]; then echo "$KARENA_BPF_OBJDIR"
	elif [ -d "$KBPF_HERE/../bpf" ]; then echo "$KBPF_HERE/../bpf"
	else echo "$KBPF_HERE/../build"; fi
}

kbpf_tool_ok() {
	case " $KBPF_TOOLS " in *" $1 "*) return 0 ;; esac
	kbpf_die "unknown tool '$1' (one of: $KBPF_TOOLS)"
}

kbpf_need_root() {
	[ "$(id -u)" = 0 ] || kbpf_die "must be run as root"
	command -v bpftool >/dev/null 2>&1 || kbpf_die "bpftool not found (apt-get install bpftool)"
}

kbpf_need_jq() {
	command -v jq >/dev/null 2>&1 || kbpf_die "jq not found (apt-get install jq)"
}

# The attach helper for bpftool < 7.2: installed next to the scripts, or
# built in tools/build.
kbpf_attach_helper() {
	for h in "$KBPF_HERE/karena-bpf-attach" "$KBPF_HERE/../build/karena-bpf-attach"; do
		[ -x "$h" ] && { echo "$h"; return; }
	done
	kbpf_die "karena-bpf-attach not found (build with make -C tools)"
}

kbpf_need_module() {
	[ -d /sys/module/karena ] ||
		kbpf_die "the karena module is not loaded (/sys/module/karena is absent)"
	[ -e /sys/kernel/btf/vmlinux ] ||
		kbpf_die "kernel BTF is missing (/sys/kernel/btf/vmlinux)"
}

kbpf_need_bpffs() {
	if ! grep -q " /sys/fs/bpf bpf " /proc/mounts; then
		mount -t bpf bpf /sys/fs/bpf || kbpf_die "cannot mount bpffs on /sys/fs/bpf"
	fi
}

# bpftool >= 7.2 pins links itself with 'autoattach'.
kbpf_has_autoattach() {
	bpftool prog help 2>&1 | grep -q autoattach
}

# Ids of the programs pinned (or held by links pinned) under directory $1:
# 'bpftool -f' lists pinned paths; one call for programs, one for links.
kbpf_prog_ids() {
	{ bpftool -f -j prog list; bpftool -f -j link list; } 2>/dev/null |
	jq -r --arg d "${1%/}/" \
		'.[] | select(any(.pinned[]?; startswith($d))) | (.prog_id // .id)' |
	sort -un | tr '\n' ' '
}

# Which of the program ids $@ are still loaded (one bpftool call).
kbpf_ids_loaded() {
	bpftool -j prog list 2>/dev/null |
	jq -r --arg ids " $* " '.[] | .id as $i | select($ids | contains(" \($i) ")) | $i' | tr '\n' ' '
}
