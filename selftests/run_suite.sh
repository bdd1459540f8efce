#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# run_suite.sh SUITE ENTRY OUT: run one suite's entry script (run_guest.sh
# or run_native.sh) as both runners do: with bash, stdin from /dev/null,
# under the timeout its `settings` file gives (timeout=SECONDS, as in
# kselftest; KARENA_SUITE_TIMEOUT overrides it), TAP to OUT.tap, stderr to
# OUT.err, exit status to OUT.rc, wall seconds to OUT.secs.  Exit status 4
# means the suite skipped (kselftest's KSFT_SKIP: module or feature absent).
# The caller sets TOP and KARENA_OUT.  Used by scripts/run-suites.sh (make
# check) and run_kselftest.sh (make -C selftests run_tests, and installed).
dir=$(cd "$(dirname "$0")" && pwd)/$1
entry=$2 out=$3
secs=$(sed -n 's/^timeout=\([0-9][0-9]*\)$/\1/p' "$dir/settings" 2>/dev/null)
secs=${KARENA_SUITE_TIMEOUT:-${secs:-900}}
start=$(date +%s)
timeout -k 5 "$secs" bash "$dir/$entry" >"$out.tap" 2>"$out.err" </dev/null
rc=$?
echo "$rc" >"$out.rc"
echo $(($(date +%s) - start)) >"$out.secs"
exit "$rc"
