#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# selftests/tools in the guest (root, karena.ko loaded): every tool against
# a workload of known shape, asserting the counts it reports (-j JSON),
# and the plain-bpftool scripts (load, dump, unload, nothing left).
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
T=$TOP/tools/build
B=$TOP/tools/bpftool
S=$TOP/selftests/tools
W=$S/kworkload
OUT=${KARENA_OUT:-/tmp}/tools
LIB=$TOP/lib/libkarena.so
mkdir -p "$OUT"
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

n=0; fails=0
plan=17
echo "TAP version 13"
echo "1..$plan"

t0=$(date +%s)
el() { echo "# [$(($(date +%s) - t0))s]"; }
ok() { n=$((n + 1)); el; echo "ok $n - $1"; }
notok() { n=$((n + 1)); el; fails=$((fails + 1)); echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
# run DESC FILE CMD...: run CMD with output in FILE, show stderr as TAP comments
run() {
	f=$1; shift
	"$@" >"$f" 2>"$f.err"
	rc=$?
	sed 's/^/# /' "$f.err"
	return $rc
}
check() { $PY "$S/check.py" "$@"; }

if [ ! -d /sys/module/karena ] || [ ! -c /dev/karena ]; then
	while [ $n -lt $plan ]; do skip "tools test" "karena module not loaded"; done
	exit 0
fi
for t in karena-trace karena-faults karena-faultlat karena-allocs karena-stat; do
	[ -x "$T/$t" ] || { echo "# $T/$t not built (make -C selftests/tools)"; }
done

# 1-2 karena-trace: M legal transitions + 1 illegal, and cache refills
f=$OUT/trace.json
if run "$f" "$T/karena-trace" -j -c "$W trans 10" && check trace "$f" 10; then
	ok "karena-trace: 10 transitions (map, used/unused) and 1 failed map (-EINVAL)"
else notok "karena-trace: transitions"; fi
f=$OUT/trace-refill.json
if run "$f" "$T/karena-trace" -j -c "$W touch 600" && check refill "$f"; then
	ok "karena-trace: cache refills while touching 600 pages"
else notok "karena-trace: cache refills"; fi

# 3-5 karena-faults: N Ready faults; K SIGSEGV on Reserved; K on Prepared
f=$OUT/faults-touch.json
if run "$f" "$T/karena-faults" -j -c "$W touch 48" && check touch "$f" 48; then
	ok "karena-faults: 48 Ready faults on 48 touched pages"
else notok "karena-faults: Ready faults"; fi
f=$OUT/faults-segv.json
if run "$f" "$T/karena-faults" -j -c "$W segv 5" && check segv "$f" sigsegv_reserved 5; then
	ok "karena-faults: 5 SIGSEGV on Reserved pages"
else notok "karena-faults: SIGSEGV on Reserved"; fi
f=$OUT/faults-segvprep.json
if run "$f" "$T/karena-faults" -j -c "$W segvprep 4" && check segv "$f" sigsegv_prepared 4; then
	ok "karena-faults: 4 SIGSEGV on Prepared pages (strict)"
else notok "karena-faults: SIGSEGV on Prepared"; fi

# 6 karena-faultlat
f=$OUT/faultlat.json
if run "$f" "$T/karena-faultlat" -j -c "$W touch 32" && check faultlat "$f" 32; then
	ok "karena-faultlat: 32 karena faults timed, anon faults alongside"
else notok "karena-faultlat"; fi

# 7-8 karena-allocs: LD_PRELOAD and -lkarena
if [ -f "$LIB" ]; then
	f=$OUT/allocs-preload.json
	if run "$f" "$T/karena-allocs" -j -l "$LIB" \
		-c "env LD_PRELOAD=$LIB $S/allocwork 50 3000 20 5000 400" &&
	   check allocs "$f" 50 3000 20 5000; then
		ok "karena-allocs: LD_PRELOAD, 50 x 3000 B kept (by stack), 20 x 5000 B freed"
	else notok "karena-allocs: LD_PRELOAD"; fi
else
	skip "karena-allocs: LD_PRELOAD" "$LIB not built"
fi
if [ -x "$S/allocwork-linked" ]; then
	f=$OUT/allocs-linked.json
	if run "$f" "$T/karena-allocs" -j -c "$S/allocwork-linked 40 200 30 1000 400" &&
	   check allocs "$f" 40 200 30 1000; then
		ok "karena-allocs: -lkarena (library found by default), 40 x 200 B kept, 30 x 1000 B freed"
	else notok "karena-allocs: -lkarena"; fi
else
	skip "karena-allocs: -lkarena" "allocwork-linked not built (lib missing)"
fi

# 9-10 karena-stat: JSON with a process holding 20 touched pages; human output
"$W" touch 20 60000 >"$OUT/hold.json" &
hp=$!
sleep 2
f=$OUT/stat.json
if run "$f" "$T/karena-stat" -j -p "$hp" && check stat "$f" 20; then
	ok "karena-stat: module counters, per-CPU caches, process with 20 resident pages"
else notok "karena-stat -j"; fi
if run "$OUT/stat.txt" "$T/karena-stat" && grep -q "global counters" "$OUT/stat.txt" &&
   grep -q "karena-stat\|kworkload" "$OUT/stat.txt"; then
	ok "karena-stat: human output"
else notok "karena-stat human output"; cat "$OUT/stat.txt" | sed 's/^/# /'; fi
kill "$hp" 2>/dev/null; wait "$hp" 2>/dev/null

# 11-17 plain bpftool scripts
leftover() { bpftool prog list 2>/dev/null | grep -E "name (karena_fault|page_fault_user|handle_mm_fault|karena_transitio|karena_cache_)" ; }
if run "$OUT/bpf-load.txt" "$B/karena-bpf-load.sh" faults; then
	ok "karena-bpf-load faults"
	sed 's/^/# /' "$OUT/bpf-load.txt"
else notok "karena-bpf-load faults"; sed 's/^/# /' "$OUT/bpf-load.txt"; fi
"$W" touch 16 >"$OUT/bpf-w.json"
wp=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$OUT/bpf-w.json" 2>/dev/null)
if run "$OUT/bpf-dump.json" "$B/karena-bpf-dump.sh" -j faults karena_faults &&
   check bpf_faults "$OUT/bpf-dump.json" "${wp:-0}" 16; then
	ok "karena-bpf-dump faults: 16 Ready faults of the workload"
else notok "karena-bpf-dump faults"; fi
if run "$OUT/bpf-clear.txt" "$B/karena-bpf-dump.sh" -c faults karena_faults &&
   run "$OUT/bpf-dump2.json" "$B/karena-bpf-dump.sh" -j faults karena_faults &&
   [ "$($PY -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$OUT/bpf-dump2.json")" = 0 ]; then
	ok "karena-bpf-dump -c clears the map"
else notok "karena-bpf-dump -c"; fi
if run "$OUT/bpf-unload.txt" "$B/karena-bpf-unload.sh" faults && [ -z "$(leftover)" ]; then
	ok "karena-bpf-unload faults: no programs left"
else notok "karena-bpf-unload faults"; leftover | sed 's/^/# left: /'; fi
if run "$OUT/bpf-lat.txt" "$B/karena-bpf-load.sh" faultlat &&
   "$W" touch 8 >/dev/null &&
   run "$OUT/bpf-lat.json" "$B/karena-bpf-dump.sh" faultlat hists &&
   grep -q '"count"' "$OUT/bpf-lat.json"; then
	ok "karena-bpf-load/dump faultlat"
else notok "karena-bpf-load/dump faultlat"; fi
if run "$OUT/bpf-tr.txt" "$B/karena-bpf-load.sh" trace &&
   "$W" trans 4 >/dev/null &&
   run "$OUT/bpf-tr.json" "$B/karena-bpf-dump.sh" trace counts; then
	ok "karena-bpf-load/dump trace"
else notok "karena-bpf-load/dump trace"; fi
if run "$OUT/bpf-unload-all.txt" "$B/karena-bpf-unload.sh" -a && [ -z "$(leftover)" ] &&
   [ ! -e /sys/fs/bpf/karena ]; then
	ok "karena-bpf-unload -a: no programs, no pins left"
else notok "karena-bpf-unload -a"; leftover | sed 's/^/# left: /'; fi

[ $fails -eq 0 ]
