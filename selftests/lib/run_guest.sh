#!/bin/sh
# SPDX-License-Identifier: MIT
# Run the libkarena unit tests inside the guest on the device backend
# (binaries are built on the host by `make selftests`; the tree is
# read-only here).  TAP on stdout.
cd "$(dirname "$0")" || exit 1
export KARENA_BACKEND=dev
rc=0
for t in sizeclasses_test mspan_test mheap_test small_test scavenger_test malloc_test; do
	if [ ! -x "./$t" ]; then
		echo "not ok 1 selftests/lib $t not built"
		rc=1
		continue
	fi
	echo "# $t (KARENA_BACKEND=dev)"
	./$t || rc=1
done
exit $rc
