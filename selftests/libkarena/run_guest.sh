#!/bin/sh
# SPDX-License-Identifier: MIT
# Run the libkarena unit tests (tests.txt) inside the guest on the device
# backend (binaries are built on the host by `make selftests`; the tree is
# read-only here).  TAP on stdout.
cd "$(dirname "$0")" || exit 1
export KARENA_BACKEND=dev
rc=0
for t in $(sed "/^#/d" tests.txt); do
	if [ ! -x "./$t" ]; then
		echo "not ok 1 selftests/libkarena $t not built"
		rc=1
		continue
	fi
	echo "# $t (KARENA_BACKEND=dev)"
	./$t || rc=1
done
exit $rc
