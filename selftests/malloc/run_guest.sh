#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# selftests/malloc in the QEMU guest (TCG, 10-50x slower than native): the
# conformance and stress suites and two real programs (python3, sqlite3;
# gcc takes minutes under TCG), with the device
# backend (KARENA_BACKEND=dev). When /dev/karena exists the tests require
# that karena really runs on it (KARENA_EXPECT_BACKEND=dev); otherwise the
# lib falls back to mmap and the run says so. Lean on purpose: larger
# realloc steps, less minimum stress work, smaller workloads. Binaries are
# built on the host (the guest root is read-only).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

here=$(cd "$(dirname "$0")" && pwd)
TOP=${TOP:-$(cd "$here/../.." && pwd)}
export TOP
. "$here/lib.sh"

export KARENA_BACKEND=dev
if [ -c /dev/karena ]; then
	export KARENA_EXPECT_BACKEND=dev
else
	echo "# /dev/karena missing: karena falls back to the mmap backend"
fi

echo "TAP version 13"
# malloc_trim_releases_memory measures RSS after a release: the device
# backend's lazy release (its default) keeps released pages resident until
# the module reclaims them, so the conformance run releases eagerly.
run_bin conformance conformance REALLOC_STEP=61 KARENA_LAZY_RELEASE=0
run_bin stress stress STRESS_SECONDS=0.3 STRESS_MINWORK_DIV=20
run_variant real env REAL_PROGRAMS="python3 sqlite3" REAL_SCALE=0.05 \
	SQLITE_ROWS=1000 "$here/real_programs.sh"
echo "1..$n"
echo "# malloc (guest): $((n - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
