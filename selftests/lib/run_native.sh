#!/bin/sh
# SPDX-License-Identifier: MIT
# Run the libkarena unit tests natively; TAP on stdout.
cd "$(dirname "$0")" || exit 1
: "${TOP:=$(cd ../.. && pwd)}"
export TOP
make -s >&2 || { echo "not ok 1 selftests/lib build"; exit 1; }
rc=0
for t in sizeclasses_test mspan_test mheap_test small_test scavenger_test malloc_test; do
	echo "# $t"
	./$t || rc=1
done
exit $rc
