#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# karena module lifecycle tests, TAP on stdout.  Runs in the guest as root
# with karena.ko loaded; it unloads and reloads the module and leaves it
# loaded (with $KARENA_MOD_PARAMS) when it exits.
#
#   KT_DMESG_START  number of dmesg lines before the suite started (set by
#                   run_guest.sh); the dmesg test looks at the lines after.
dir=$(cd "$(dirname "$0")" && pwd)
TOP=${TOP:-$(cd "$dir/../.." && pwd)}
ko=${KT_KO:-$TOP/kmod/karena.ko}
hold=$dir/hold
sysfs=/sys/kernel/karena
dbgfs=/sys/kernel/debug/karena
# /tmp, not $KARENA_OUT: the latter is 9p, which refuses FIFOs.
tmp=$(mktemp -d /tmp/karena-module.XXXXXX)
n=0
rc=0

echo "TAP version 13"
ok()   { n=$((n + 1)); echo "ok $n $1"; }
nok()  { n=$((n + 1)); echo "not ok $n $1"; rc=1; }
skip() { n=$((n + 1)); echo "ok $n $1 # SKIP $2"; }
diag() { echo "# $*"; }
# check DESC CMD...: one test, passes when CMD succeeds.
check() { d=$1; shift; if "$@" >"$tmp/check.log" 2>&1; then ok "$d"; else
	nok "$d"; sed 's/^/# /' "$tmp/check.log" | head -n 20; fi; }

loaded() { [ -d /sys/module/karena ]; }
load() { loaded || insmod "$ko" ${KARENA_MOD_PARAMS:-} "$@"; }
unload() { ! loaded || rmmod karena; }

# Start "hold MODE" in the background, holding its stdin open; wait for
# it to say "ready".  release() ends it.
hold_pid=
start_hold() {
	rm -f "$tmp/fifo" "$tmp/hold.out"
	mkfifo "$tmp/fifo" || return 1
	"$hold" "$1" <"$tmp/fifo" >"$tmp/hold.out" 2>"$tmp/hold.err" &
	hold_pid=$!
	exec 3>"$tmp/fifo"
	i=0
	while ! grep -q ready "$tmp/hold.out" 2>/dev/null; do
		kill -0 "$hold_pid" 2>/dev/null || { cat "$tmp/hold.err" >&2; return 1; }
		i=$((i + 1)); [ $i -lt 300 ] || return 1
		sleep 0.1
	done
}
release() {
	exec 3>&-
	[ -z "$hold_pid" ] || wait "$hold_pid"
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
	cat "$tmp/rmmod.err"
	grep -qi "in use" "$tmp/rmmod.err" && loaded
}

cache_pages() { # pages in all per-CPU caches (debugfs, else sysfs)
	if [ -r "$dbgfs/cpus" ]; then
		awk 'NR > 1 { s += $3 } END { print s + 0 }' "$dbgfs/cpus"
	elif [ -r "$sysfs/cache_pages" ]; then
		cat "$sysfs/cache_pages"
	else
		echo -1
	fi
}

[ -x "$hold" ] || { nok "module.sh: $hold missing (make -C selftests/karena)"; echo "1..$n"; exit 1; }
[ "$(id -u)" = 0 ] || { skip "module.sh" "needs root"; echo "1..$n"; exit 0; }

# --- static facts ------------------------------------------------------
check "module is loaded" loaded
check "modinfo: description" sh -c "modinfo -F description '$ko' | grep -q ."
check "modinfo: license GPL" sh -c "modinfo -F license '$ko' | grep -Eqx 'GPL|GPL v2|Dual [A-Za-z/]*GPL[A-Za-z/]*'"
check "modinfo: parameters max_reserved and max_ready" \
	sh -c "modinfo -F parm '$ko' | grep -q '^max_reserved:' && modinfo -F parm '$ko' | grep -q '^max_ready:'"
check "parameters visible in /sys/module/karena/parameters" \
	sh -c "cat /sys/module/karena/parameters/max_reserved /sys/module/karena/parameters/max_ready"
check "sysfs counters in $sysfs" sh -c "cat '$sysfs/files' '$sysfs/spaces' '$sysfs/mappings' '$sysfs/pages_allocated' '$sysfs/cache_pages'"
if [ -d /sys/kernel/debug ] && [ -n "$(ls /sys/kernel/debug 2>/dev/null)" ]; then
	check "debugfs per-CPU cache table in $dbgfs/cpus" \
		sh -c "head -n1 '$dbgfs/cpus' | grep -q count && [ \$(wc -l <'$dbgfs/cpus') -ge 2 ]"
else
	skip "debugfs per-CPU cache table" "debugfs not mounted"
fi

# --- shrinker ----------------------------------------------------------
if "$hold" churn 512 && [ "$(cache_pages)" -gt 0 ]; then
	ok "churn leaves pages in the per-CPU caches"
else
	nok "churn leaves pages in the per-CPU caches"
fi
before=$(cache_pages)
sync
echo 2 >/proc/sys/vm/drop_caches
after=$(cache_pages)
i=0
while [ "$after" -gt 0 ] && [ $i -lt 30 ]; do
	sleep 0.1; echo 2 >/proc/sys/vm/drop_caches; after=$(cache_pages); i=$((i + 1))
done
diag "cached pages before drop_caches $before, after $after"
if [ "$before" -gt 0 ] && [ "$after" -eq 0 ]; then
	ok "shrinker empties the per-CPU caches (drop_caches)"
else
	nok "shrinker empties the per-CPU caches (drop_caches)"
fi

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

# --- unload, reload --------------------------------------------------------
counters_zero() {
	for c in files spaces mappings pages_allocated; do
		v=$(cat "$sysfs/$c") || return 1
		echo "$c $v"
		[ "$v" = 0 ] || return 1
	done
}
check "every file, space, mapping and page is gone once nothing is open" counters_zero
check "rmmod succeeds once nothing uses the module" unload
check "/dev/karena and sysfs are gone after rmmod" \
	sh -c "[ ! -e /dev/karena ] && [ ! -e '$sysfs' ] && [ ! -e '$dbgfs' ]"
check "insmod again" load
check "/dev/karena is back and works" "$hold" smoke

# --- module parameters ---------------------------------------------------
if unload && insmod "$ko" max_ready=1048576 max_reserved=4194304; then
	check "max_ready/max_reserved parameters become the file defaults" sh -c \
		"'$hold' info | tee /dev/stderr | grep -qx 'max_ready 1048576' &&
		 '$hold' info | grep -qx 'max_reserved 4194304'"
else
	nok "max_ready/max_reserved parameters become the file defaults"
fi
unload
check "insmod with the default parameters" load

# --- the kernel log ------------------------------------------------------
start=${KT_DMESG_START:-0}
dmesg | tail -n +"$((start + 1))" >"$tmp/dmesg"
pat='WARNING:|BUG:|Oops|general protection fault|Call Trace:|kernel BUG|kmemleak|UBSAN:|KASAN:|refcount_t:|[Bb]ad page|list_(add|del) corruption|karena.*(leak|still)'
if grep -Eq "$pat" "$tmp/dmesg"; then
	nok "no warning, BUG, oops or leak in dmesg during the suite"
	grep -E -A8 "$pat" "$tmp/dmesg" | head -n 40 | sed 's/^/# /'
else
	ok "no warning, BUG, oops or leak in dmesg during the suite"
fi

load >/dev/null 2>&1
rm -rf "$tmp"
echo "1..$n"
exit $rc
