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
	if [ "$t" = scavenger_test ]; then
		# It measures RSS after a release, which a lazy release keeps
		# until memory pressure: the eager release here
		# (selftests/devbackend tests the lazy one).
		KARENA_LAZY_RELEASE=0 ./$t || rc=1
	else
		./$t || rc=1
	fi
done
exit $rc
