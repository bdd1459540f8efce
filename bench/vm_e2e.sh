#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vm_e2e.sh: the end-to-end table of make bench-vm, run inside the test
# guest by bench/vm.py (module loaded).  Every program runs under
# LD_PRELOAD=lib/libkarena.so with KARENA_BACKEND=mmap and =dev in the same
# guest, interleaved (the order alternates rep by rep), through out/runit:
#
#   E2E prog=P be=B rep=N thp=<THP faults during the run>
#       kfaults=<the module's Ready faults> khuge=<of them, huge blocks>
#       RUNIT-fields RESULT-fields
#
# (kfaults/khuge: /sys/kernel/karena/faults and faults_huge before and
# after; the faults on the heap's device mappings, 0 on the mmap backend.)
# The programs in E2E_SPLIT run on two more backends, for the attribution
# of the dev backend's RSS and faults: dev-nolazy (KARENA_LAZY_RELEASE=0),
# dev-nohuge (KARENA_HUGEPAGE=0), and mmap-noscav / dev-noscav
# (KARENA_SCAVENGER=0: what the background scavenger's timing does to the
# peak RSS; malloc_trim still releases).
# (RUNIT: wall time, peak RSS and page faults from wait4, see runit.c;
# RESULT: the workload's own line, if it prints one).  First, not timed:
# one run per program and backend under strace -f -c (syscall counts:
# strace.P.B.txt), and the demo's JSON workload under karena-faults (both
# backends) and karena-trace (dev); then the timed reps, so a run cut
# short still has every count.
#
# Env: E2E_REPS (3), VM_SCALE (allocator workloads, 0.05), E2E_ONLY
# (space-separated program names), E2E_SPLIT (names; "rounds large"),
# E2E_LIB (the libkarena.so to preload; lib/libkarena.so: another build
# for an A/B of two libraries in one guest).
# Output: $KARENA_OUT/e2e/.
o=$KARENA_OUT/e2e
B=$TOP/bench/out
L=${E2E_LIB:-$TOP/lib/libkarena.so}
T=$TOP/tools/build
PY=/usr/bin/python3
reps=${E2E_REPS:-3}
s=${VM_SCALE:-0.05}
mkdir -p "$o"
: >"$o/runs.txt"

cat /sys/kernel/mm/transparent_hugepage/enabled >"$o/thp.txt"
for be in mmap dev; do
	n=$(KARENA_BACKEND=$be LD_PRELOAD=$L sh -c 'grep -c /dev/karena /proc/$$/maps')
	echo "MAPS be=$be karena_mappings=$n" >>"$o/runs.txt"
done
$PY "$TOP/bench/gen_sqlite.py" /tmp/e2e.db /tmp/e2e.sql 0.05 >/dev/null

# name|command (run by sh -c "exec ..." in the repo directory)
progs() {
	cat <<EOF
json|env PYTHONMALLOC=malloc $PY bench/wl_json.py
python|env PYTHONMALLOC=malloc $PY bench/wl_python.py 0.34
sqlite|sqlite3 /tmp/e2e.db < /tmp/e2e.sql
gcc|gcc -O2 -std=c11 -Ilib -c lib/mheap.c -o /tmp/e2e-mheap.o
rounds|$B/wl_rounds 0.25
sizeclass|$B/wl_sizeclass $s
larson|$B/wl_larson $s
xthread|$B/wl_xthread $s
frag|env BENCH_SETTLE_MS=200 $B/wl_frag $s
large|$B/wl_large $s
EOF
}

wanted() {
	[ -z "${E2E_ONLY:-}" ] && return 0
	case " $E2E_ONLY " in *" $1 "*) return 0 ;; esac
	return 1
}

split=${E2E_SPLIT-rounds large}

# the backends a program runs on, in the order of odd reps
backends() {
	case " $split " in
	*" $1 "*) echo "mmap dev dev-nolazy dev-nohuge mmap-noscav dev-noscav" ;;
	*) echo "mmap dev" ;;
	esac
}

# the environment of a backend
backend_env() {
	case $1 in
	dev-nolazy) echo "KARENA_BACKEND=dev KARENA_LAZY_RELEASE=0" ;;
	dev-nohuge) echo "KARENA_BACKEND=dev KARENA_HUGEPAGE=0" ;;
	*-noscav) echo "KARENA_BACKEND=${1%-noscav} KARENA_SCAVENGER=0" ;;
	*) echo "KARENA_BACKEND=$1" ;;
	esac
}

reverse() {
	r=
	for w in "$@"; do r="$w $r"; done
	echo $r
}

thp_faults() {
	awk '$1 == "thp_fault_alloc" { print $2 }' /proc/vmstat
}

kar() {
	cat "/sys/kernel/karena/$1" 2>/dev/null || echo 0
}

# run_one NAME BACKEND REP COMMAND
run_one() {
	out=$o/$1.$2.$3.out
	t0=$(thp_faults) k0=$(kar faults) h0=$(kar faults_huge)
	ru=$(env $(backend_env "$2") "$B/runit" -p "$L" -o "$out" -- sh -c "exec $4" \
		3>&1 >/dev/null 2>>"$o/stderr.txt" </dev/null)
	t1=$(thp_faults) k1=$(kar faults) h1=$(kar faults_huge)
	res=$(grep -m1 '^RESULT ' "$out" | sed 's/^RESULT //')
	echo "E2E prog=$1 be=$2 rep=$3 thp=$((t1 - t0)) kfaults=$((k1 - k0))" \
		"khuge=$((h1 - h0)) ${ru#RUNIT } $res" >>"$o/runs.txt"
}

progs | while IFS='|' read -r name cmd; do
	wanted "$name" || continue
	for be in mmap dev; do
		strace -f -c -o "$o/strace.$name.$be.txt" -E LD_PRELOAD="$L" \
			-E KARENA_BACKEND=$be sh -c "exec $cmd" >/dev/null 2>&1 </dev/null
	done
done

# the tools run -c COMMAND with exec: no leading VAR=value
json() { echo "env KARENA_BACKEND=$1 LD_PRELOAD=$L PYTHONMALLOC=malloc $PY bench/wl_json.py"; }
if wanted json; then
	for be in mmap dev; do
		"$T/karena-faults" -c "$(json $be)" >"$o/faults.json.$be.txt" 2>&1
	done
	"$T/karena-trace" -T -c "$(json dev)" >"$o/trace.json.dev.txt" 2>&1
fi

for rep in $(seq "$reps"); do
	progs | while IFS='|' read -r name cmd; do
		wanted "$name" || continue
		order=$(backends "$name")
		[ $((rep % 2)) = 0 ] && order=$(reverse $order)
		for be in $order; do
			run_one "$name" "$be" "$rep" "$cmd"
		done
	done
done
echo "E2E-DONE" >>"$o/runs.txt"
