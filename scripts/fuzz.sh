#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# make fuzz: the fuzzer suite (selftests/fuzz/run_guest.sh: fuzz under the
# chaos driver, then the end-state checks) in the QEMU guest with
# KARENA_FUZZ_OPS operations (default 1,000,000), TAP on stdout, ending
# with the wall time.  KARENA_FUZZ_SEED reproduces a run; KARENA_GUEST_DIR
# and KARENA_MODULE select another kernel (see scripts/vm/boot.sh).
# Exit status 0 only when every test passed and the kernel log is clean.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
scripts/deps.sh
[ -n "${KARENA_MODULE:-}" ] || make -s module >/dev/null
make -s -C selftests/fuzz >/dev/null
export KARENA_FUZZ_OPS=${KARENA_FUZZ_OPS:-1000000}
export KARENA_VM_TIMEOUT=${KARENA_VM_TIMEOUT:-14400}
mkdir -p build
start=$(date +%s)
set +e
scripts/vm/guest-run.sh 'sh selftests/fuzz/run_guest.sh' >build/fuzz.log 2>&1
rc=$?
set -e
grep -E '^(ok|not ok|#|1\.\.)' build/fuzz.log || true
echo "# make fuzz: $KARENA_FUZZ_OPS operations, $(($(date +%s) - start)) s wall (boot included), exit $rc; console in build/fuzz.log"
exit $rc
