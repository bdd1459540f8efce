#!/bin/sh
# selftests/uring in the guest: the passthrough suite (TAP from
# kselftest_harness), then the release ratio measurement as '# ' lines.
cd "$(dirname "$0")" || exit 1
if [ ! -x ./uring ]; then
	echo "not ok 1 selftests/uring: not built (make -C selftests/uring)"
	exit 1
fi
rc=0
./uring || rc=1
if [ -x ./release_ratio ] && [ -z "${KARENA_NO_RATIO:-}" ]; then
	./release_ratio || rc=1
fi
exit $rc
