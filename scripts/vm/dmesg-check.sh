#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# dmesg-check.sh FILE: fail (exit 1, printing the lines) when a guest's
# kernel log shows a warning, bug, oops, lockdep or leak report.
# A memory-cgroup OOM kill is an expected outcome of tests that push a
# process against memory.max: its report (from "invoked oom-killer" to
# "Killed process") carries a Call Trace that is not a kernel problem, so
# those blocks are left out, and only those.
pat='WARNING:|BUG:|Oops|general protection fault|Call Trace:|kernel BUG|kmemleak: [0-9]+ new suspected|UBSAN:|KASAN:|possible circular locking|list_(add|del) corruption|refcount_t:|Bad page|bad page state|Kernel panic|RIP: '
log=$(awk '
/invoked oom-killer:/ { inoom = 1 }
inoom && /(Memory cgroup out of memory|Out of memory).*Killed process/ { inoom = 0; next }
!inoom { print }' "$1")
if printf '%s\n' "$log" | grep -E "$pat" >/dev/null 2>&1; then
	echo "dmesg-check: kernel reported problems:" >&2
	printf '%s\n' "$log" | grep -E -A12 "$pat" | head -n 80 >&2
	exit 1
fi
exit 0
