#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Prove the fuzz suite can fail: build karena.ko mutants (a copy of kmod/
# with one deliberate bug each, in build/fuzz-mutants/), run the fuzz suite
# on each in the guest, and require that it fails, with the test that
# should catch the bug among the failures.  Not part of `make check`
# (one guest boot per mutant):
#   make module && make -C selftests/fuzz && selftests/fuzz/prove_failures.sh
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
kdir=${KDIR:-/usr/src/linux-headers-$(scripts/kver.sh)}
export KARENA_FUZZ_OPS=${KARENA_FUZZ_OPS:-100000}
bad=0

# mutant: file, sed expression, pattern of the TAP line that must fail
mutant() {
	name=$1 file=$2 expr=$3 want=$4
	m=$top/build/fuzz-mutants/$name
	rm -rf "$m"
	scripts/kmod-sources.sh "$m"
	sed -i "$expr" "$m/$file"
	if cmp -s "kmod/$file" "$m/$file"; then
		echo "not ok - $name: the sed expression changed nothing in kmod/$file"
		bad=1
		return
	fi
	if ! make -s -C "$kdir" M="$m" modules >"$m/build.log" 2>&1; then
		echo "not ok - $name: mutant does not build (see $m/build.log)"
		bad=1
		return
	fi
	KARENA_MODULE=$m/karena.ko scripts/vm/guest-run.sh \
		'sh selftests/fuzz/run_guest.sh' >"$m/run.log" 2>&1
	rc=$?
	grep -E '^(not ok|# fuzz: FAIL|fuzz: FAIL)' "$m/run.log" | head -n 5 | sed 's/^/# /'
	if [ $rc != 0 ] && grep -E "^not ok .*$want" "$m/run.log" >/dev/null; then
		echo "ok - $name: the fuzz suite fails ($want)"
	else
		echo "not ok - $name: the fuzz suite did not catch it (exit $rc; $m/run.log)"
		bad=1
	fi
}

# Released pages are handed out again without being zeroed.
mutant no_zeroing pcp_cache.c 's/^\t\t\tclear_highpage(page);$/\t\t\t;/' 'fuzz \('
# A page the last store lets go is never uncharged: it "leaks" from the
# held count (sysfs pages_allocated).
mutant page_leak arena.c 's/^\tkarena_held_uncharge(kf, 1);$/\t;/' 'settle: files'
exit $bad
