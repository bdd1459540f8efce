#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Sourced by run_native.sh: the guests' kernel-log gate on made-up logs.
#   - scripts/vm/dmesg-check.sh fails on a warning, passes a whole memcg
#     OOM report, fails on one whose first line is cut off, and passes
#     6.12's inactive_task_timer() warning only without a karena frame;
#   - ksft_dmesg_since (selftests/ksft.sh) returns the log after its mark,
#     and the whole ring once the mark has left it.
dc=$TOP/scripts/vm/dmesg-check.sh
lg=$(mktemp -d /tmp/karena-dmesgcheck.XXXXXX)

oom='[ 10.0] memcg invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0
[ 10.0] Call Trace:
[ 10.0]  <TASK>
[ 10.0]  dump_stack_lvl+0x44/0x5c
[ 10.1] Memory cgroup out of memory: Killed process 357 (memcg) total-vm:68048kB'
warn='[ 11.0] WARNING: CPU: 1 PID: 9 at kmod/fault.c:80 karena_fault+0x1/0x2 [karena]
[ 11.0] Call Trace:
[ 11.0] ---[ end trace 0000000000000000 ]---'
dl='[ 12.0] WARNING: CPU: 1 PID: 0 at kernel/sched/deadline.c:265 inactive_task_timer+0x2/0x3
[ 12.0] Call Trace:
[ 12.0]  <IRQ>
[ 12.0]  __hrtimer_run_queues+0x1/0x2'
end='[ 12.0] ---[ end trace 0000000000000000 ]---'

# dmesg_case NAME WANT TEXT: dmesg-check.sh on TEXT exits WANT (0 clean, 1 problem)
dmesg_case() {
	printf '%s\n' "$3" >"$lg/log"
	"$dc" "$lg/log" 2>"$lg/err"
	[ $? = "$2" ]
	ok $? "dmesg-check: $1" "$(head -n 3 "$lg/err")"
}
dmesg_case "a warning fails the check" 1 "[ 1.0] ok
$warn"
dmesg_case "a whole memcg OOM report passes" 0 "$oom"
dmesg_case "an OOM report whose first line is cut off fails (why the guests slice by mark)" 1 \
	"$(printf '%s\n' "$oom" | tail -n +2)"
dmesg_case "6.12's inactive_task_timer warning without a karena frame passes" 0 "$dl
$end"
dmesg_case "the same warning with a karena frame fails" 1 "$dl
[ 12.0]  karena_release_pages+0x1/0x2 [karena]
$end"
dmesg_case "the same warning with no end of report fails" 1 "$dl"

# ksft_dmesg_since with dmesg replaced by a fixed ring (a subshell: the
# function stays local to it).
since() {
	(
		dmesg() { printf '%s\n' "$ring"; }
		. "$TOP/selftests/ksft.sh"
		ksft_dmesg_since "$1"
	)
}
ring="[ 1.0] before
$warn
[ 2.0] karena-ksft: mark s-1
[ 3.0] after
[ 4.0] karena-ksft: mark s-12
[ 5.0] last"
got=$(since s-1 | sed 's/^\[[^]]*\] //' | tr '\n' '|')
[ "$got" = "after|karena-ksft: mark s-12|last|" ]
ok $? "ksft_dmesg_since: the lines after its own mark, not after a mark it prefixes" "got '$got'"
since s-1 >"$lg/log" && "$dc" "$lg/log" 2>/dev/null
ok $? "ksft_dmesg_since: a warning before the mark is not in the slice"
since gone >"$lg/log"
[ "$(wc -l <"$lg/log")" = "$(printf '%s\n' "$ring" | wc -l)" ] && ! "$dc" "$lg/log" 2>/dev/null
ok $? "ksft_dmesg_since: when the mark has left the ring, the whole ring is checked"
rm -rf "$lg"
