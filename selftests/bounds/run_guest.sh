#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# selftests/bounds in the guest (karena.ko loaded): the bounds and OOM
# suite, TAP from kselftest_harness.  A suite of its own because its OOM
# runs fill the guest's memory (minutes under TCG) and evict the page
# cache; the global OOM reports they leave are the kind
# scripts/vm/dmesg-check.sh leaves out.
cd "$(dirname "$0")" || exit 1
if [ ! -x ./bounds ]; then
	echo "not ok 1 selftests/bounds: not built (make -C selftests/bounds)"
	exit 1
fi
exec ./bounds
