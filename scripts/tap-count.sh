#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# tap-count.sh FILE RC: print "PASS FAIL SKIP" for one suite's TAP output.
# "ok ... # SKIP" is a skip; "not ok" a failure. A suite that exited
# non-zero without a failing line, or printed no test at all, gets one
# extra failure: a crash must never read as success. Exit status 4 is
# kselftest's skip (the module or a feature is absent): one skip when
# the suite printed no test, nothing more otherwise.
awk -v rc="$2" '
/^[ \t]*not ok( |$)/ { f++; next }
/^[ \t]*ok( |$)/ { if (toupper($0) ~ /# *SKIP/) s++; else p++; next }
END {
	if (rc == 4 && f == 0) {
		if (p + s == 0) s++
		printf "%d %d %d\n", p, f, s
		exit
	}
	if (rc != 0 && f == 0) f++
	if (p + f + s == 0) f++
	printf "%d %d %d\n", p, f, s
}' "$1"
