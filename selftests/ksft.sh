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
