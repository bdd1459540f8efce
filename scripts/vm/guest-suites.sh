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
KARENA_SUITES="$*" sh "$TOP/scripts/run-suites.sh" guest $out 2>/dev/console
rmmod_clean() { [ ! -d /sys/module/karena ] || rmmod karena; }
check "rmmod karena after all suites" rmmod_clean
check "module gone after rmmod" test ! -d /sys/module/karena
echo "1..$n" >>$g
