#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Run every karena device/module suite (tests.txt, in order) in the guest
# (karena.ko loaded).
# TAP on stdout; exit 0 only when every test passed or skipped.
# Binaries are built on the host (`make -C selftests/karena`): the guest's
# root is read-only.
dir=$(cd "$(dirname "$0")" && pwd)
TOP=${TOP:-$(cd "$dir/../.." && pwd)}
export TOP
. "$TOP/selftests/ksft.sh"
ksft_need_module karena
rc=0
KT_DMESG_MARK=karena-$$
export KT_DMESG_MARK
ksft_dmesg_mark "$KT_DMESG_MARK"

for t in $(sed "/^#/d" "$dir/tests.txt"); do
	echo "# karena: $t"
	if [ ! -x "$dir/$t" ]; then
		echo "not ok 1 karena.$t # binary missing: run make -C selftests/karena"
		rc=1
		continue
	fi
	start=$(date +%s)
	"$dir/$t" || rc=1
	echo "# karena: $t took $(( $(date +%s) - start ))s"
done

# memcg's deliberate OOM kills leave reports (with a Call Trace) in dmesg
# that module.sh's dmesg test would count: check the log so far with the
# guest's gate, which leaves out exactly those, then start module.sh after it.
log=${KARENA_OUT:-/tmp}/karena-dmesg.txt
ksft_dmesg_since "$KT_DMESG_MARK" >"$log"
if ! "$TOP/scripts/vm/dmesg-check.sh" "$log"; then
	echo "not ok 1 karena.dmesg # kernel problems during the suites above (stderr)"
	rc=1
fi
KT_DMESG_MARK=karena-module-$$
ksft_dmesg_mark "$KT_DMESG_MARK"

# Last: it unloads and reloads the module and checks dmesg for the suite.
echo "# karena: module.sh"
start=$(date +%s)
"$dir/module.sh" || rc=1
echo "# karena: module.sh took $(( $(date +%s) - start ))s"
exit $rc
