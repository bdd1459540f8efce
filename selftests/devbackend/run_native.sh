#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Native (no /dev/karena on the host): KARENA_DEBUG=1 logs the fallback to
# the mmap backend exactly once; KARENA_BACKEND=dev warns without debug.
here=$(cd "$(dirname "$0")" && pwd)
TOP=${TOP:-$(cd "$here/../.." && pwd)}
LIB=$TOP/lib/libkarena.so
echo "TAP version 13"
echo "1..2"
if [ -e /dev/karena ]; then
	echo "ok 1 fallback_logged_once # SKIP /dev/karena exists"
	echo "ok 2 dev_requested_warns # SKIP /dev/karena exists"
	exit 0
fi
rc=0
out=$(KARENA_DEBUG=1 KARENA_STATS=1 LD_PRELOAD=$LIB /usr/bin/python3 -c 'print(1)' 2>&1)
a=$(printf '%s\n' "$out" | grep -c 'using the mmap backend')
b=$(printf '%s\n' "$out" | grep -c 'backend=mmap')
if [ "$a" = 1 ] && [ "$b" = 1 ]; then echo "ok 1 fallback_logged_once"
else echo "not ok 1 fallback_logged_once # $a log lines, $b stats lines"; rc=1; fi
out=$(KARENA_BACKEND=dev LD_PRELOAD=$LIB /usr/bin/python3 -c 'print(1)' 2>&1)
a=$(printf '%s\n' "$out" | grep -c 'KARENA_BACKEND=dev but /dev/karena is unusable')
if [ "$a" = 1 ]; then echo "ok 2 dev_requested_warns"
else echo "not ok 2 dev_requested_warns # $a warning lines"; rc=1; fi
exit $rc
