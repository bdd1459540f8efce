#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# dmesg-check.sh FILE: fail (exit 1, printing the lines) when a guest's
# kernel log shows a warning, bug, oops, lockdep or leak report.
# A memory-cgroup OOM kill is an expected outcome of tests that push a
# process against memory.max: its report (from "invoked oom-killer" to
# "Killed process") carries a Call Trace that is not a kernel problem, so
# those blocks are left out, and only those.
# Also left out: Debian's 6.12 kernel's scheduler warning in
# inactive_task_timer() (kernel/sched/deadline.c, deadline-server bandwidth
# accounting, hrtimer context) when a test takes a CPU offline, seen once
# in the bounds suite's CPU-offline test with no karena frame; only
# when the report, from "WARNING:" to "end trace", has no karena frame.
pat='WARNING:|BUG:|Oops|general protection fault|Call Trace:|kernel BUG|kmemleak: [0-9]+ new suspected|UBSAN:|KASAN:|possible circular locking|list_(add|del) corruption|refcount_t:|Bad page|bad page state|Kernel panic|RIP: '
log=$(awk '
/invoked oom-killer:/ { inoom = 1 }
inoom && /(Memory cgroup out of memory|Out of memory).*Killed process/ { inoom = 0; next }
inoom { next }
/WARNING: .* at kernel\/sched\/deadline\.c:[0-9]+ inactive_task_timer/ { inwarn = 1; blk = ""; ours = 0 }
inwarn {
	blk = blk $0 "\n"
	if ($0 ~ /karena/ && $0 !~ /Modules linked in/) ours = 1
	if ($0 ~ /---\[ end trace/) { inwarn = 0; if (ours) printf "%s", blk }
	next
}
{ print }
END { if (inwarn) printf "%s", blk }' "$1")
if printf '%s\n' "$log" | grep -E "$pat" >/dev/null 2>&1; then
	echo "dmesg-check: kernel reported problems:" >&2
	printf '%s\n' "$log" | grep -E -A12 "$pat" | head -n 80 >&2
	exit 1
fi
exit 0
