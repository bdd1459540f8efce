#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make check: install what is missing, build everything, run every suite
# natively and in the QEMU guest (Debian 12's 6.1 kernel), run the module's
# suites again on the newest kernel in bookworm-backports (scripts/
# kcompat.sh), print each suite's TAP and end with one line
# "N passed, N failed, N skipped". Exit status 0 only if nothing failed.
#
#   --native-only / --guest-only   run one half
#   --debug    (make check-debug) no native half: every guest suite but
#              tools (no BTF), the fuzzer with KARENA_FUZZ_OPS (default
#              1,000,000) among them, on the
#              debug kernel of scripts/vm/debug-kernel.sh (KASAN, lockdep,
#              kmemleak...; built once, cached in build/debug-kernel/)
#   KARENA_VM_TIMEOUT=secs         guest wall-clock limit (default 2400)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
mode=all
case "${1:-}" in
--native-only) mode=native ;;
--guest-only) mode=guest ;;
--debug) mode=debug ;;
"") ;;
*) echo "usage: check.sh [--native-only|--guest-only|--debug]" >&2; exit 2 ;;
esac

res=build/check
rm -rf "$res" && mkdir -p "$res"
P=0 F=0 S=0
phases=""
now() { date +%s; }
phase() { phases="$phases $1=$2s"; echo "# phase $1: $2 s"; }

# count NAME TAPFILE RC: print a suite's TAP and add it to the totals.
count() {
	local name=$1 tap=$2 rc=$3 p f s
	echo "# ---- suite $name"
	cat "$tap"
	read -r p f s < <(scripts/tap-count.sh "$tap" "$rc")
	[ "$rc" = 0 ] || echo "# suite $name exited with status $rc"
	echo "# suite $name: $p passed, $f failed, $s skipped"
	P=$((P + p)) F=$((F + f)) S=$((S + s))
}

# count_dir PREFIX DIR: count every suite run-suites.sh left in DIR.
count_dir() {
	local tap name rc secs
	for tap in "$2"/*.tap; do
		[ -f "$tap" ] || continue
		name=$(basename "$tap" .tap)
		rc=0
		[ -f "$2/$name.rc" ] && rc=$(cat "$2/$name.rc")
		secs=$(cat "$2/$name.secs" 2>/dev/null || echo "?")
		count "$1/$name ($secs s)" "$tap" "$rc"
		[ "$rc" = 0 ] || tail -n 30 "$2/$name.err" 2>/dev/null | sed 's/^/# stderr: /'
	done
}

# step TAP N DESC CMD...: one build step as a TAP line, log kept on failure.
step() {
	local tap=$1 n=$2 desc=$3 log
	shift 3
	log="$res/step-$n.log"
	if "$@" >"$log" 2>&1; then
		echo "ok $n $desc" >>"$tap"
	else
		echo "not ok $n $desc" >>"$tap"
		tail -n 40 "$log" | sed 's/^/# /' >>"$tap"
	fi
}

t=$(now)
if ! scripts/deps.sh; then
	echo "# dependencies could not be installed"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi
phase deps $(($(now) - t))

t=$(now)
b=$res/build.tap
n=0
echo "TAP version 13" >"$b"
step "$b" $((n += 1)) "build: lib" make -C lib -j2
step "$b" $((n += 1)) "build: tools" make -C tools -j2
# The guest boots Debian 12's kernel: the module is built for it, whatever
# kernel this host runs.
step "$b" $((n += 1)) "build: module" make module KDIR="/usr/src/linux-headers-$(scripts/kver.sh)"
step "$b" $((n += 1)) "build: module against bookworm-backports' kernel, and its guest" \
	scripts/kcompat.sh --guest
for d in selftests/*/Makefile; do
	d=$(dirname "$d")
	step "$b" $((n += 1)) "build: $d" make -C "$d" -j2
done
# The kselftest install tree (selftests/packaging checks it, and runs it
# in the guest from a copy).
step "$b" $((n += 1)) "build: make -C selftests install INSTALL_PATH=build/ksft" \
	sh -c 'rm -rf build/ksft && make -C selftests install INSTALL_PATH="$PWD/build/ksft"'
step "$b" $((n += 1)) "checkpatch --strict: kmod" scripts/checkpatch.sh
if [ "$mode" = debug ]; then
	step "$b" $((n += 1)) "build: debug kernel and the module against it" \
		sh -c 'scripts/vm/debug-kernel.sh --module >build/check/debug-ko'
fi
echo "1..$n" >>"$b"
count build "$b" 0
phase build $(($(now) - t))

if [ "$mode" != guest ] && [ "$mode" != debug ]; then
	t=$(now)
	scripts/run-suites.sh native "$top/$res/native" 2>"$res/native-runner.log"
	count_dir native "$top/$res/native"
	phase native-tests $(($(now) - t))
fi

# guest_run NAME 'SUITES': boot a guest (the kernel and module given by
# KARENA_GUEST_DIR and KARENA_MODULE, default the 6.1 target), run the
# SUITES there (all when empty) and count them as NAME/...; then two
# checks of the run itself in NAME-vm.
guest_run() {
	local name=$1 suites=$2 g="$top/$res/$1" grc v boot
	KARENA_VM_OUT="$g" KARENA_VM_TIMEOUT="${KARENA_VM_TIMEOUT:-2400}" \
		scripts/vm/guest-run.sh "sh scripts/vm/guest-suites.sh $suites" \
		>"$res/$name-console.log" 2>&1
	grc=$?
	count_dir "$name" "$g"
	v=$res/$name-vm.tap
	{
		echo "TAP version 13"
		# The guest's suite runner must itself have finished cleanly: a
		# guest that could not reach the repo runs no suite at all.
		if [ "$(cat "$g/rc" 2>/dev/null)" != 0 ] || [ ! -s "$g/guest.tap" ]; then
			echo "not ok 1 $name: booted, ran the suites and powered off (status $grc)"
			tail -n 40 "$res/$name-console.log" | sed 's/^/# /'
		else
			echo "ok 1 $name: booted, ran the suites and powered off"
		fi
		if [ -f "$g/dmesg.txt" ] && scripts/vm/dmesg-check.sh "$g/dmesg.txt" 2>"$res/$name-dmesg-problems.txt"; then
			echo "ok 2 $name: kernel log has no WARN/BUG/oops/leak"
		else
			echo "not ok 2 $name: kernel log has no WARN/BUG/oops/leak"
			sed 's/^/# /' "$res/$name-dmesg-problems.txt" 2>/dev/null | head -n 60
		fi
		# The console is what a user of make demo sees: no firmware
		# or terminal control sequences.
		if grep -q "$(printf '\033')" "$res/$name-console.log"; then
			echo "not ok 3 $name: console output has no escape sequences"
			grep -n "$(printf '\033')" "$res/$name-console.log" | head -n 3 | cat -v | sed 's/^/# /'
		else
			echo "ok 3 $name: console output has no escape sequences"
		fi
		echo "1..3"
	} >"$v"
	count "$name-vm" "$v" 0
	boot=$(cat "$g/boot.secs" 2>/dev/null || echo "?")
	echo "# $name boot to first suite: ${boot} s (guest clock)"
}

if [ "$mode" = debug ]; then
	t=$(now)
	# Every guest suite but tools (its BPF programs need the kernel's BTF,
	# which the debug kernel does not have: scripts/vm/debug-kernel.config)
	# and packaging (it boots a guest of its own).
	debug_suites=""
	for s in selftests/*/run_guest.sh; do
		s=${s%/run_guest.sh} && s=${s##*/}
		case $s in tools|packaging) ;; *) debug_suites="$debug_suites $s" ;; esac
	done
	KARENA_GUEST_DIR="$(scripts/vm/debug-kernel.sh 2>/dev/null)/guest" \
	KARENA_MODULE="$(cat "$res/debug-ko" 2>/dev/null)" \
	KARENA_FUZZ_OPS="${KARENA_FUZZ_OPS:-1000000}" KARENA_SUITE_TIMEOUT="${KARENA_SUITE_TIMEOUT:-14400}" \
	KARENA_VM_TIMEOUT="${KARENA_VM_TIMEOUT:-28800}" guest_run guest-debug "$debug_suites"
	phase guest-debug $(($(now) - t))
elif [ "$mode" != native ]; then
	t=$(now)
	# Every suite but packaging, whose guest half (the kselftest tree
	# installed in build/ksft, run from a copy) boots a guest of its own:
	# one guest's timeout need not cover both.
	suites=""
	for s in selftests/*/run_guest.sh; do
		s=${s%/run_guest.sh} && s=${s##*/}
		[ "$s" = packaging ] || suites="$suites $s"
	done
	guest_run guest "$suites"
	phase guest $(($(now) - t))

	t=$(now)
	guest_run guest-ksft packaging
	phase guest-ksft $(($(now) - t))

	# The module's kernel-facing suites again on the newer kernel that
	# scripts/kcompat.sh built it for (bookworm-backports, 6.12).
	t=$(now)
	abi=$(cat build/kcompat/abi 2>/dev/null || echo newer)
	KARENA_GUEST_DIR="$top/build/kcompat/guest" \
	KARENA_MODULE="$top/build/kcompat/src/karena.ko" \
		guest_run "guest-$abi" "karena bounds uring devbackend tools"
	phase "guest-$abi" $(($(now) - t))
fi

echo "# phases:$phases"
echo "$P passed, $F failed, $S skipped"
[ "$F" = 0 ]
