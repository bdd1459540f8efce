#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# selftests/uring in the guest: the passthrough suite (TAP from
# kselftest_harness), then chaos: commands in flight under CPU hotplug,
# a memcg, drop_caches and parameter flips for KARENA_CHAOS_SECS (20).
# KARENA_RATIO=1 adds the release ratio measurement ('# ratio' lines;
# performance is make bench's job, not make check's).
cd "$(dirname "$0")" || exit 1
. ../ksft.sh
ksft_need_module uring
if [ ! -x ./uring ]; then
	echo "not ok 1 selftests/uring: not built (make -C selftests/uring)"
	exit 1
fi
rc=0
./uring || rc=1
./chaos "${KARENA_CHAOS_SECS:-20}" || rc=1
if [ "${KARENA_RATIO:-0}" = 1 ]; then
	out=$(./release_ratio) || rc=1
	printf '%s\n' "$out" | sed 's/^ok 1 /# ok /; s/^not ok 1 /# not ok /'
	[ $rc = 0 ] || echo "not ok 99 release_ratio"
fi
exit $rc
