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
# one 'bpftool -f' (show pinned paths) call for programs, one for links.
kbpf_prog_ids() {
	{ bpftool -f -j prog list; echo; bpftool -f -j link list; echo; } 2>/dev/null |
	python3 -c '
import json, sys
d = sys.argv[1].rstrip("/") + "/"
ids = set()
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    for o in json.loads(line):
        if any(p.startswith(d) for p in o.get("pinned", [])):
            ids.add(o.get("prog_id", o.get("id")))
print(" ".join(str(i) for i in sorted(ids)))
' "$1"
}

# Which of the program ids $@ are still loaded (one bpftool call).
kbpf_ids_loaded() {
	bpftool -j prog list 2>/dev/null | python3 -c '
import json, sys
want = set(sys.argv[1:])
print(" ".join(str(o["id"]) for o in json.load(sys.stdin) if str(o["id"]) in want))
' "$@"
}
