#!/bin/sh
# dmesg-check.sh FILE: fail (exit 1, printing the lines) when a guest's
# kernel log shows a warning, bug, oops, lockdep or leak report.
pat='WARNING:|BUG:|Oops|general protection fault|Call Trace:|kernel BUG|kmemleak:|UBSAN:|KASAN:|possible circular locking|list_(add|del) corruption|refcount_t:|Bad page|bad page state|Kernel panic|RIP: '
if grep -E "$pat" "$1" >/dev/null 2>&1; then
	echo "dmesg-check: kernel reported problems:" >&2
	grep -E -A12 "$pat" "$1" | head -n 80 >&2
	exit 1
fi
exit 0
