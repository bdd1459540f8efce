#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# karena module lifecycle tests, TAP on stdout.  Runs in the guest as root
# with karena.ko loaded; it unloads and reloads the module and leaves it
# loaded (with $KARENA_MOD_PARAMS) when it exits.
#
#   KT_DMESG_MARK   the kernel-log mark (selftests/ksft.sh) written before
#                   the suite (by run_guest.sh, else here at the start); the
#                   dmesg test looks at the lines after it.
#   KT_KO           the module to reload (default $TOP/kmod/karena.ko)
#
# Under TCG every exec costs about a second (binaries come over 9p), and an
# rmmod of karena ten: the script uses shell builtins wherever it can and
# unloads twice in all.
dir=$(cd "$(dirname "$0")" && pwd)
TOP=${TOP:-$(cd "$dir/../.." && pwd)}
. "$TOP/selftests/ksft.sh"
[ -n "${KT_DMESG_MARK:-}" ] || { KT_DMESG_MARK=module-$$; ksft_dmesg_mark "$KT_DMESG_MARK"; }
ko=${KT_KO:-${KARENA_MODULE:-$TOP/kmod/karena.ko}}
hold=$dir/hold
sysfs=/sys/kernel/karena
dbgfs=/sys/kernel/debug/karena
params=/sys/module/karena/parameters
# /tmp, not $KARENA_OUT: the latter is 9p, which refuses FIFOs.
tmp=$(mktemp -d /tmp/karena-module.XXXXXX)
n=0
rc=0

echo "TAP version 13"
t0=$(cut -d' ' -f1 /proc/uptime)
# Uptime stamps on stderr, with builtins only (an exec costs a second here).
stamp() { read -r up _ </proc/uptime; echo "# [$up] $*" >&2; }
ok()   { n=$((n + 1)); echo "ok $n $1"; stamp "ok $n"; }
nok()  { n=$((n + 1)); echo "not ok $n $1"; rc=1; stamp "not ok $n"; }
skip() { n=$((n + 1)); echo "ok $n $1 # SKIP $2"; }
diag() { echo "# $*"; }
# check DESC CMD...: one test, passes when CMD (usually a function) succeeds;
# its output becomes diagnostics when it fails.
check() {
	d=$1; shift
	if "$@" >"$tmp/check.log" 2>&1; then ok "$d"; else
		nok "$d"
		while IFS= read -r l; do echo "# $l"; done <"$tmp/check.log"
	fi
}
# has FILE PATTERN: a line of FILE matches the shell PATTERN.
has() {
	while IFS= read -r l; do
		case $l in $2) return 0 ;; esac
	done <"$1"
	return 1
}

loaded() { [ -d /sys/module/karena ]; }
load() { loaded || insmod "$ko" ${KARENA_MOD_PARAMS:-} "$@"; }
unload() { ! loaded || rmmod karena; }

# Start "hold MODE" in the background, holding its stdin open; wait for
# it to say "ready".  release() ends it and returns its status.
hold_pid=
start_hold() {
	rm -f "$tmp/fifo" "$tmp/hold.out"
	mkfifo "$tmp/fifo" || return 1
	: >"$tmp/hold.out"
	"$hold" "$1" <"$tmp/fifo" >"$tmp/hold.out" 2>"$tmp/hold.err" &
	hold_pid=$!
	exec 3>"$tmp/fifo"
	i=0
	until has "$tmp/hold.out" ready; do
		kill -0 "$hold_pid" 2>/dev/null || return 1
		i=$((i + 1)); [ $i -lt 100 ] || return 1
		sleep 0.2
	done
}
release() {
	exec 3>&-
	[ -n "$hold_pid" ] || return 1
	wait "$hold_pid"
	r=$?
	hold_pid=
	return $r
}

# rmmod must fail with "in use" and leave the module loaded.
rmmod_refused() {
	if rmmod karena 2>"$tmp/rmmod.err"; then
		echo "rmmod succeeded while the module was in use"
		load
		return 1
	fi
	while IFS= read -r l; do echo "$l"; done <"$tmp/rmmod.err"
	has "$tmp/rmmod.err" "*in use*" && loaded
}

cache_pages() { # pages in all per-CPU caches
	if [ -r "$sysfs/cache_pages" ]; then
		read -r v <"$sysfs/cache_pages" && echo "$v"
	elif [ -r "$dbgfs/cpus" ]; then
		awk 'NR > 1 { s += $3 } END { print s + 0 }' "$dbgfs/cpus"
	else
		echo -1
	fi
}

counters_zero() {
	for c in files spaces mappings pages_allocated; do
		read -r v <"$sysfs/$c" || return 1
		echo "$c $v"
		[ "$v" = 0 ] || return 1
	done
}

[ -x "$hold" ] || { nok "module.sh: $hold missing (make -C selftests/karena)"; echo "1..$n"; exit 1; }
[ "$(id -u)" = 0 ] || { skip "module.sh" "needs root"; echo "1..$n"; exit 0; }

# --- static facts ------------------------------------------------------
check "module is loaded" loaded
modinfo "$ko" >"$tmp/modinfo" 2>&1
check "modinfo: description" has "$tmp/modinfo" "description:*[a-z]*"
check "modinfo: license GPL" has "$tmp/modinfo" "license:*GPL*"
check "modinfo: parameters max_reserved and max_ready" \
	eval 'has "$tmp/modinfo" "parm:*max_reserved:*" && has "$tmp/modinfo" "parm:*max_ready:*"'
check "parameters visible in $params" \
	eval 'read -r a <"$params/max_reserved" && read -r b <"$params/max_ready" && [ "$a" -gt 0 ] && [ "$b" -gt 0 ]'
sysfs_readable() {
	for c in files spaces mappings pages_allocated cache_pages faults transitions; do
		read -r v <"$sysfs/$c" || return 1
		echo "$c $v"
	done
}
check "sysfs counters in $sysfs" sysfs_readable
if [ -r "$dbgfs/cpus" ]; then
	check "debugfs per-CPU cache table in $dbgfs/cpus" has "$dbgfs/cpus" "cpu online count*"
elif [ -d /sys/kernel/debug/tracing ] || [ -e /sys/kernel/debug/bdi ]; then
	nok "debugfs per-CPU cache table in $dbgfs/cpus"
else
	skip "debugfs per-CPU cache table" "debugfs not mounted"
fi

# --- runtime parameters, tracepoints -------------------------------------
param_runtime() {
	read -r old <"$params/max_ready" || return 1
	echo 2097152 >"$params/max_ready" || return 1
	"$hold" info >"$tmp/info" 2>&1
	echo "$old" >"$params/max_ready"
	has "$tmp/info" "max_ready 2097152"
}
check "writing a parameter at runtime sets the default of new files" param_runtime

tr=/sys/kernel/tracing
[ -d "$tr/events" ] || tr=/sys/kernel/debug/tracing
tracepoints() {
	for e in karena_transition karena_fault karena_cache_refill karena_cache_drain; do
		[ -d "$tr/events/karena/$e" ] || { echo "no karena:$e"; return 1; }
	done
	echo 0 >"$tr/tracing_on"
	echo >"$tr/trace"
	echo 1 >"$tr/events/karena/karena_transition/enable"
	echo 1 >"$tr/events/karena/karena_fault/enable"
	echo 1 >"$tr/tracing_on"
	"$hold" smoke
	echo 0 >"$tr/tracing_on"
	echo 0 >"$tr/events/karena/karena_transition/enable"
	echo 0 >"$tr/events/karena/karena_fault/enable"
	cp "$tr/trace" "$tmp/trace"
	echo >"$tr/trace"
	echo 1 >"$tr/tracing_on"
	# hold smoke: one ALLOC of 64 pages, then faults on them.
	has "$tmp/trace" "*hold*karena_transition:*" && has "$tmp/trace" "*hold*karena_fault:*"
}
if [ -d "$tr/events" ]; then
	check "tracepoints karena:karena_* exist and fire (karena_transition, karena_fault)" tracepoints
else
	skip "tracepoints karena:*" "no tracefs"
fi

# --- shrinker ----------------------------------------------------------
"$hold" churn 512 >"$tmp/churn.log" 2>&1
before=$(cache_pages)
if [ "$before" -gt 0 ]; then
	ok "churn leaves pages in the per-CPU caches"
else
	nok "churn leaves pages in the per-CPU caches"
fi
echo 2 >/proc/sys/vm/drop_caches
after=$(cache_pages)
i=0
while [ "$after" -gt 0 ] && [ $i -lt 20 ]; do
	# Remote CPUs drain from a work item: give it a moment.
	sleep 0.2; echo 2 >/proc/sys/vm/drop_caches; after=$(cache_pages); i=$((i + 1))
done
diag "cached pages before drop_caches $before, after $after"
if [ "$before" -gt 0 ] && [ "$after" -eq 0 ]; then
	ok "shrinker empties the per-CPU caches (drop_caches)"
else
	nok "shrinker empties the per-CPU caches (drop_caches)"
fi

# --- CPU offline -----------------------------------------------------------
# Pages released by a task on CPU 1 stay in CPU 1's cache; taking CPU 1
# offline must give them all back (the CPU-dead hotplug callback).
cpu_cache() { # CPU: its cached pages, clean + dirty, from debugfs
	while read -r c _ count _ _ _ _ _ _ _ dirty _; do
		[ "$c" = "$1" ] && { echo $((count + dirty)); return; }
	done <"$dbgfs/cpus"
	echo -1
}
cpu_offline_drains() {
	taskset -c 1 "$hold" churn 512 >"$tmp/churn-cpu1.log" 2>&1 || return 1
	b=$(cpu_cache 1)
	echo 0 >"$cpu1" || { echo "cannot take cpu1 offline"; return 1; }
	a=$(cpu_cache 1)
	echo 1 >"$cpu1" || echo "cannot bring cpu1 back online"
	echo "cpu1 cache: $b pages before offline, $a after"
	[ "$b" -gt 0 ] && [ "$a" = 0 ] && [ "$(cat "$cpu1")" = 1 ]
}
cpu1=/sys/devices/system/cpu/cpu1/online
if [ -w "$cpu1" ] && [ -r "$dbgfs/cpus" ] && command -v taskset >/dev/null; then
	check "CPU offline empties that CPU's cache" cpu_offline_drains
	diag "$(tail -n 1 "$tmp/check.log")"
else
	skip "CPU offline empties that CPU's cache" "no hotpluggable cpu1, debugfs or taskset"
fi

# --- dirty (released, not yet zeroed) pages ------------------------------
# A churn ends with FREE: the released pages go onto the dirty lists and a
# worker zeroes them a jiffy later, so some may still be dirty here (the
# count is only reported: the timing is the worker's).  Whatever is left,
# the shrinker must free clean and dirty pages alike.
cache_dirty() { read -r v <"$sysfs/cache_dirty" 2>/dev/null && echo "$v" || echo -1; }
dirty_drained() {
	"$hold" churn 512 >"$tmp/churn2.log" 2>&1 || return 1
	dd=$(cache_dirty); dc=$(cache_pages)
	echo "after churn: cache_pages $dc cache_dirty $dd"
	i=0
	while { [ "$(cache_pages)" -gt 0 ] || [ "$(cache_dirty)" != 0 ]; } && [ $i -lt 20 ]; do
		echo 2 >/proc/sys/vm/drop_caches; sleep 0.2; i=$((i + 1))
	done
	echo "after drop_caches: cache_pages $(cache_pages) cache_dirty $(cache_dirty)"
	[ "$dd" -ge 0 ] && [ "$dd" -le "$dc" ] &&
		[ "$(cache_pages)" = 0 ] && [ "$(cache_dirty)" = 0 ]
}
check "sysfs cache_dirty; the shrinker frees dirty pages too (drop_caches)" dirty_drained
diag "$(head -n 1 "$tmp/check.log")"
# Leave pages (some maybe dirty) for the unload below, which frees them all.
"$hold" churn 512 >"$tmp/churn3.log" 2>&1
diag "before unload: cache_pages $(cache_pages) cache_dirty $(cache_dirty)"

# --- rmmod while in use --------------------------------------------------
if start_hold open; then
	check "rmmod refused while a file is open" rmmod_refused
	check "holder of the open file exits cleanly" release
else
	nok "rmmod refused while a file is open"; release
fi
if start_hold map; then
	check "rmmod refused while only a mapping exists" rmmod_refused
	check "mapping kept its data while rmmod was refused" release
else
	nok "rmmod refused while only a mapping exists"; release
fi

# --- every resource returned, unload, reload with parameters ----------------
check "every file, space, mapping and page is gone once nothing is open" counters_zero
check "rmmod succeeds once nothing uses the module" unload
check "/dev/karena, sysfs and debugfs entries are gone after rmmod" \
	eval '[ ! -e /dev/karena ] && [ ! -e "$sysfs" ] && [ ! -e "$dbgfs" ]'
check "insmod again (max_ready=1048576 max_reserved=4194304 cache_high=64 strict=0)" \
	insmod "$ko" max_ready=1048576 max_reserved=4194304 cache_high=64 strict=0
check "/dev/karena is back and works" "$hold" smoke
"$hold" info >"$tmp/info" 2>&1
check "max_ready/max_reserved parameters become the file defaults" \
	eval 'has "$tmp/info" "max_ready 1048576" && has "$tmp/info" "max_reserved 4194304"'
check "cache_high parameter is the INFO cache bound" has "$tmp/info" "cache_pages 64"
check "strict=0: new files start lenient" has "$tmp/info" "lenient 1"
check "rmmod after reload" unload
check "insmod with the default parameters" load

# --- the kernel log ------------------------------------------------------
ksft_dmesg_since "$KT_DMESG_MARK" >"$tmp/dmesg"
pat='WARNING:|BUG:|Oops|general protection fault|Call Trace:|kernel BUG|kmemleak: [0-9]+ new suspected|UBSAN:|KASAN:|refcount_t:|[Bb]ad page|list_(add|del) corruption|karena.*(leak|still)'
if grep -Eq "$pat" "$tmp/dmesg"; then
	nok "no warning, BUG, oops or leak in dmesg during the suite"
	grep -E -A8 "$pat" "$tmp/dmesg" | head -n 40 | sed 's/^/# /'
else
	ok "no warning, BUG, oops or leak in dmesg during the suite"
fi

load >/dev/null 2>&1
rm -rf "$tmp"
diag "module.sh: $(awk -v a="$t0" '{ printf "%.0f", $1 - a }' /proc/uptime)s"
echo "1..$n"
exit $rc
