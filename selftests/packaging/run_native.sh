#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# selftests/packaging on the host: one version everywhere (version.sh), a
# fresh clone builds, installs and tests from a 0700 directory (fresh.sh),
# the module installs by Kbuild (kmod/ and the top-level Kbuild) and by
# DKMS (module.sh), the kselftest way works and installs a self-contained
# tree (kselftest.sh), SPDX lines and LICENSES/ agree (licenses.sh), the
# guests' kernel-log gate works (dmesgcheck.sh).
# TAP on stdout, exit 0 only when nothing failed.  Expects `make`,
# `make module` and `make selftests` to have run (make check's build step).
set -u
here=$(cd "$(dirname "$0")" && pwd)
TOP=${TOP:-$(cd "$here/../.." && pwd)}
export TOP
. "$TOP/selftests/tap.sh"

echo "TAP version 13"
. "$here/version.sh"
. "$here/fresh.sh"
. "$here/module.sh"
. "$here/kselftest.sh"
. "$here/licenses.sh"
. "$here/dmesgcheck.sh"
tap_plan
[ "$failed" -eq 0 ]
