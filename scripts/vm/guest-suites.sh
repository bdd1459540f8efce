#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# guest-suites.sh [SUITE...]: runs inside the guest (from check.sh) every
# selftests/*/run_guest.sh (or the SUITEs named) through
# scripts/run-suites.sh, results in /tmp/out; then the guest's own
# checks (module loaded at start, rmmod clean at the end) in
# /tmp/out/guest.tap. The host counts the results.
out=/tmp/out
n=0
g=$out/guest.tap
echo "TAP version 13" > $g
cut -d" " -f1 /proc/uptime >$out/boot.secs
check() { # check DESC CMD...
	n=$((n + 1)); d=$1; shift
	if "$@" >>$out/guest.err 2>&1; then echo "ok $n guest: $d" >>$g; else echo "not ok $n guest: $d" >>$g; fi
}
check "karena.ko loaded" test -d /sys/module/karena
check "/dev/karena is a character device" test -c /dev/karena
# A kernel with kmemleak (the debug kernel): forget what boot left, and
# scan at the end; any unreferenced object fails the run.
leaks=/sys/kernel/debug/kmemleak
if [ -w $leaks ]; then
	echo clear >$leaks
fi
KARENA_SUITES="$*" sh "$TOP/scripts/run-suites.sh" guest $out 2>/dev/console
rmmod_clean() { [ ! -d /sys/module/karena ] || rmmod karena; }
check "rmmod karena after all suites" rmmod_clean
check "module gone after rmmod" test ! -d /sys/module/karena
no_leaks() { # two scans: an object must stay unreferenced across both
	echo scan >$leaks && sleep 6 && echo scan >$leaks || return 1
	! grep -A20 unreferenced $leaks
}
if [ -w $leaks ]; then
	check "kmemleak: no leak after all suites" no_leaks
fi
echo "1..$n" >>$g
