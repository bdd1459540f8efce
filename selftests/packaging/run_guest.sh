#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# selftests/packaging in the guest: the kselftest tree make check installed
# (build/ksft) is copied to /tmp, like a tree copied to a test machine, and
# run from there by its own run_kselftest.sh, with the checkout hidden
# under an empty tmpfs (mount namespace) so that nothing can reach back
# into it.  Its TAP (one line per suite) is this suite's TAP.
#   KARENA_KSFT_SUITES="a b"  the installed suites to run (default: karena,
#   uring, libkarena and tools, which between them use every part of the tree:
#   the module file, the library, test binaries, the tools, BPF objects and
#   bpftool scripts; make check runs every suite in its own guest anyway)
set -u
here=$(cd "$(dirname "$0")" && pwd)
TOP=${TOP:-$(cd "$here/../.." && pwd)}
echo "TAP version 13"
if [ ! -x "$TOP/build/ksft/run_kselftest.sh" ]; then
	echo "1..1"
	echo "not ok 1 ksft-install: $TOP/build/ksft missing (make -C selftests install INSTALL_PATH=build/ksft)"
	exit 1
fi
rm -rf /tmp/ksft && cp -a "$TOP/build/ksft" /tmp/ksft
out=${KARENA_OUT:-/tmp}/ksft
mkdir -p "$out"
suites=${KARENA_KSFT_SUITES:-karena uring libkarena tools}
sel=""
for s in $suites; do sel="$sel -c $s"; done
# The runner picks /tmp/ksft/kmod/karena.ko for the suites that reload it;
# a fuzz run is short here (the guest's own fuzz suite does 250,000).
env -u KARENA_MODULE -u TOP KSFT_OUT="$out" KARENA_FUZZ_OPS="${KARENA_FUZZ_OPS:-20000}" unshare -m sh -c \
	'mount -t tmpfs none "$1" && shift && cd /tmp/ksft && ./run_kselftest.sh "$@"' sh "$TOP" $sel \
	>"$out/run.tap" 2>"$out/run.err"
rc=$?
sed -n 's/^\(\(not \)\{0,1\}ok [0-9]*\) selftests: /\1 ksft-install: /p; /^#/p; /^1\.\./p' "$out/run.tap" |
	grep -v '^# ok \|^# not ok ' | grep -v '^TAP'
[ "$(grep -c '^ok [0-9]* selftests: ' "$out/run.tap")" -ge "$(echo $suites | wc -w)" ] || { echo "# runner exit $rc"; tail -n 5 "$out/run.err" | sed 's/^/# /'; }
exit $rc
