#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# selftests/malloc, native: every variant of the conformance and stress
# suites, then the real programs. One TAP stream on stdout (tests renumbered
# and named VARIANT.test); each binary's own output follows as "# " lines
# where it is not a test line. Exits non-zero if anything failed.
#
# Environment: TOP, KARENA_OUT (from make check), STRESS_SECONDS (default 0.7
# natively, 0.3 under sanitizers), REAL_SCALE (0.5), MALLOC_SUITES (subset of
# the names below).
set -u

here=$(cd "$(dirname "$0")" && pwd)
TOP=${TOP:-$(cd "$here/../.." && pwd)}
export TOP
LIB=$TOP/lib/libkarena.so

. "$here/lib.sh"

want() { [ -z "${MALLOC_SUITES:-}" ] || [[ " $MALLOC_SUITES " == *" $1 "* ]]; }

SS=${STRESS_SECONDS:-0.7}
SAN_SS=${STRESS_SECONDS:-0.3}
ASAN="ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:allocator_may_return_null=1"
UBSAN="UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1"
# die_after_fork=0: the harness and the fork tests fork a threaded process on
# purpose. (Lock-order checking stays on: since lib 0b3b178 the atfork handler
# holds few enough locks for TSan's deadlock detector.)
TSAN="TSAN_OPTIONS=halt_on_error=1:die_after_fork=0:second_deadlock_stack=1"

echo "TAP version 13"
want conformance && run_bin conformance conformance
want conformance-preload && [ -f "$LIB" ] &&
	run_bin conformance-preload conformance-plain LD_PRELOAD="$LIB"
want conformance-preload && [ ! -f "$LIB" ] && {
	n=$((n + 1)); failed=$((failed + 1))
	echo "not ok $n conformance-preload # $LIB missing"
}
# KARENA_DEBUG=1 aborts on pointers karena thinks invalid: no false positives
want conformance-debug && run_bin conformance-debug conformance KARENA_DEBUG=1
want stress && run_bin stress stress STRESS_SECONDS="$SS"
want introspect && run_bin introspect introspect
want introspect-preload && [ -f "$LIB" ] &&
	run_bin introspect-preload introspect-plain LD_PRELOAD="$LIB"
want prefixed && run_bin prefixed prefixed
want install && run_variant install bash "$here/install.sh"
want conformance-asan && run_bin conformance-asan conformance-asan "$ASAN"
want conformance-ubsan && run_bin conformance-ubsan conformance-ubsan "$UBSAN"
want introspect-asan && run_bin introspect-asan introspect-asan "$ASAN"
want introspect-ubsan && run_bin introspect-ubsan introspect-ubsan "$UBSAN"
want stress-asan && run_bin stress-asan stress-asan "$ASAN" STRESS_SECONDS="$SAN_SS"
want stress-ubsan && run_bin stress-ubsan stress-ubsan "$UBSAN" STRESS_SECONDS="$SAN_SS"
want stress-tsan && run_bin stress-tsan stress-tsan "$TSAN" STRESS_SECONDS="$SAN_SS"
want real && run_variant real env REAL_SCALE="${REAL_SCALE:-0.5}" "$here/real_programs.sh"
echo "1..$n"
echo "# malloc: $((n - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
