#!/bin/sh
# SPDX-License-Identifier: MIT
# Run the libkarena unit tests (tests.txt) natively; TAP on stdout.
cd "$(dirname "$0")" || exit 1
: "${TOP:=$(cd ../.. && pwd)}"
export TOP
make -s >&2 || { echo "not ok 1 selftests/libkarena build"; exit 1; }
rc=0
for t in $(sed "/^#/d" tests.txt); do
	echo "# $t"
	./$t || rc=1
done
exit $rc
