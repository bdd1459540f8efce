# SPDX-License-Identifier: GPL-2.0
# Sourced by the suites' entry scripts (sh or bash).
KSFT_SKIP=4	# kselftest's exit status for "skipped"

# ksft_need_module SUITE: skip the whole suite (TAP skip line, exit 4)
# when karena.ko is not loaded: on a test machine that is a reason to
# skip, not a failure (make check's guest checks the module loaded).
ksft_need_module() {
	[ -c /dev/karena ] && [ -d /sys/module/karena ] && return 0
	echo "TAP version 13"
	echo "1..1"
	echo "ok 1 $1 # SKIP karena.ko is not loaded"
	exit $KSFT_SKIP
}

# ksft_dmesg_mark NAME: write a mark into the kernel log (root: /dev/kmsg).
# ksft_dmesg_since NAME: the kernel log after the last such mark.  A mark
# rather than a line count: dmesg's line numbers shift when the ring wraps,
# and a slice that starts inside a report hides the report's first line
# from dmesg-check.sh.  When the mark has left the ring, the whole ring is
# printed (too much is checked, never a cut report).
ksft_dmesg_mark() {
	echo "karena-ksft: mark $1" >/dev/kmsg
}

ksft_dmesg_since() {
	dmesg 2>/dev/null | awk -v m="karena-ksft: mark $1" '
		{ line[NR] = $0 }
		index($0, m) && substr($0, index($0, m) + length(m)) == "" { s = NR }
		END { for (i = s + 1; i <= NR; i++) print line[i] }'
}
