#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# selftests/tools in the guest (root, karena.ko loaded): every tool against
# workloads of known shape (kworkload, allocwork), then the plain-bpftool
# scripts (load, dump, clear, unload, nothing left).  The tools run first,
# collecting -j output in $KARENA_OUT/tools; check.py then asserts the
# exact counts and prints TAP.  Each tool loads once (BPF load/verify and
# tracepoint enabling cost seconds under TCG).
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
T=$TOP/tools/build
B=$TOP/tools/bpftool
S=$TOP/selftests/tools
W=$S/kworkload
OUT=${KARENA_OUT:-/tmp}/tools
LIB=$TOP/lib/libkarena.so
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
rm -rf "$OUT" && mkdir -p "$OUT"

. "$TOP/selftests/ksft.sh"
ksft_need_module tools

t0=$(date +%s)
# step FILE CMD...: run CMD, stdout to FILE, stderr to FILE.err, status to FILE.rc
step() {
	f=$OUT/$1; shift
	"$@" >"$f" 2>"$f.err"
	echo $? >"$f.rc"
	echo "# [$(($(date +%s) - t0))s] $(basename "$f"): rc $(cat "$f.rc")"
}
leftover() {
	bpftool prog list 2>/dev/null |
		grep -E "name (karena_fault|page_fault_user|handle_mm_fault|karena_transitio|karena_cache_)"
}

# the tools (-a: with -c, trace every process, so one run covers several workloads)
step trace.json "$T/karena-trace" -j -a -c "sh -c '$W trans 10; $W touch 600'"
# The 600 pages freed at exit fill the per-CPU cache; drop_caches then runs
# the shrinker in the shell's context, which drains it.
step drain.json "$T/karena-trace" -j -a -c "sh -c '$W touch 600; echo 3 >/proc/sys/vm/drop_caches'"
# (the shell ends by exec'ing true, which takes no karena fault: the
# report must name it after its exec)
step faults.json "$T/karena-faults" -j -a -c "sh -c '$W touch 48; $W segv 5; $W segvprep 4; $W zero 6; $W cow 12; exec true'"
step faultlat.json "$T/karena-faultlat" -j -c "$W touch 32"
have_lib=0; have_linked=0
[ -f "$LIB" ] && have_lib=1
[ -x "$S/allocwork-linked" ] && have_linked=1
if [ $have_lib = 1 ]; then
	cmd="env LD_PRELOAD=$LIB $S/allocwork 50 3000 20 5000 400"
	[ $have_linked = 1 ] && cmd="$cmd; $S/allocwork-linked 40 200 30 1000 400"
	step allocs.json "$T/karena-allocs" -j -a -c "sh -c '$cmd'"
fi
# tools/README's perf example: the tracepoints counted by perf. Not in our
# QEMU TCG guest (KARENA_GUEST=1): per-task perf events flip the scheduler's
# static keys, and text patching of finish_task_switch while the other TCG
# vCPU runs it oopsed the 6.12 guest once (int3 in finish_task_switch,
# "Fatal exception in interrupt"); on a real machine it runs.
[ -n "${KARENA_GUEST:-}" ] || step perf.txt perf stat -x, -e 'karena:*' -- "$W" touch 16
"$W" touch 20 120000 >"$OUT/hold.json" &
hp=$!
sleep 1
step stat.json "$T/karena-stat" -j -p "$hp"
step stat.txt "$T/karena-stat"
kill "$hp" 2>/dev/null; wait "$hp" 2>/dev/null

# plain bpftool
step bpf-load.txt "$B/karena-bpf-load.sh" faults
"$W" touch 16 >"$OUT/bpf-w.json"
step bpf-dump.json "$B/karena-bpf-dump.sh" -j faults karena_faults
step bpf-clear.txt "$B/karena-bpf-dump.sh" -c faults karena_faults
step bpf-dump2.json "$B/karena-bpf-dump.sh" -j faults karena_faults
step bpf-unload.txt "$B/karena-bpf-unload.sh" faults
leftover >"$OUT/bpf-unload.txt.left"
step bpf-lat.txt "$B/karena-bpf-load.sh" faultlat
"$W" touch 8 >/dev/null
step bpf-lat.json "$B/karena-bpf-dump.sh" -j faultlat hists
# (the trace object attaches like faults' raw_tp: not loaded again here,
# each bpftool run costs ~10 s under TCG)
step bpf-unload-all.txt "$B/karena-bpf-unload.sh" -a
{ leftover; [ -e /sys/fs/bpf/karena ] && echo "/sys/fs/bpf/karena still exists"; } \
	>"$OUT/bpf-unload-all.txt.left"

$PY "$S/check.py" "$OUT" $have_linked $have_lib
