#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs inside the guest for `make demo` (see scripts/demo.sh).
T=tools/build
LIB=$TOP/lib/libkarena.so
W=$TOP/bench/wl_json.py
step() { printf '\n== %s\n' "$*"; }

step "the module: /dev/karena and its parameters"
ls -l /dev/karena
modinfo -F description kmod/karena.ko
$T/karena-stat -P | head -n 30

step "python3 on libkarena (device backend), page faults by state (karena-faults)"
$T/karena-faults -c "env LD_PRELOAD=$LIB KARENA_BACKEND=dev KARENA_STATS=1 python3 $W 2>/tmp/stats.txt"
grep -E '^karena: (backend|mallocs)' /tmp/stats.txt || tail -n 5 /tmp/stats.txt

step "the same program, transitions and cache refills as they happen (karena-trace, first lines)"
$T/karena-trace -T -c "env LD_PRELOAD=$LIB KARENA_BACKEND=dev python3 $W" >/tmp/trace.txt 2>&1
head -n 15 /tmp/trace.txt
echo "... $(wc -l </tmp/trace.txt) lines"

step "allocation sizes by size class (karena-allocs)"
$T/karena-allocs -S -c "env LD_PRELOAD=$LIB KARENA_BACKEND=dev python3 $W" 2>&1 | head -n 40

step "fault latency: karena Ready faults vs anonymous faults (karena-faultlat)"
$T/karena-faultlat -c "env LD_PRELOAD=$LIB KARENA_BACKEND=dev python3 $W" 2>&1 | head -n 40

step "module-wide counters afterwards (karena-stat)"
$T/karena-stat -P
