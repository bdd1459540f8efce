#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# libkarena on the device backend, in the guest.  selftests/malloc's
# run_guest.sh already runs conformance, stress, python3, sqlite3 and gcc
# with KARENA_BACKEND=dev; this suite adds what it does not cover:
#   libkarena.*  the selftests/libkarena unit tests with KARENA_BACKEND=dev, each
#                asserting that the module counted transitions meanwhile
#   devbackend.* heap in /dev/karena mappings, releases through the module
#                (lazily, malloc_trim at once), calloc after a lazy release, ranges
#                across reservations, fork, threads (devbackend.c), once
#                with the vector ioctl and once with KARENA_URING=1; the
#                lazy tests again with KARENA_LAZY_RELEASE=0
#   git          a git workload under LD_PRELOAD, KARENA_STATS=1 must name
#                the dev backend
#   fallback     /dev/karena hidden (mount namespace): KARENA_DEBUG=1 logs
#                the fallback to mmap exactly once
set -u
here=$(cd "$(dirname "$0")" && pwd)
TOP=${TOP:-$(cd "$here/../.." && pwd)}
LIB=$TOP/lib/libkarena.so
. "$TOP/selftests/tap.sh"

counter() { cat /sys/kernel/karena/transitions 2>/dev/null || echo 0; }

# run_tap NAME CMD...: renumber the TAP tests of CMD into this stream
run_tap() {
	local name=$1 out rc line nt=0 nf=0 start=$SECONDS
	shift
	out=$(mktemp)
	timeout -k 5 120 "$@" > "$out" 2>&1 < /dev/null
	rc=$?
	while IFS= read -r line; do
		if [[ $line =~ ^(not\ )?ok\ [0-9]+\ (.*)$ ]]; then
			n=$((n + 1))
			nt=$((nt + 1))
			if [ -n "${BASH_REMATCH[1]}" ]; then
				nf=$((nf + 1))
				failed=$((failed + 1))
			fi
			if [[ ${BASH_REMATCH[2]} == \#* ]]; then	# unnamed SKIP
				echo "${BASH_REMATCH[1]}ok $n $name ${BASH_REMATCH[2]}"
			else
				echo "${BASH_REMATCH[1]}ok $n $name.${BASH_REMATCH[2]}"
			fi
		elif [[ $line == \#* ]]; then
			echo "$line"
		fi
	done < "$out"
	rm -f "$out"
	if [ "$nt" -eq 0 ] || { [ "$rc" -ne 0 ] && [ "$nf" -eq 0 ]; }; then
		n=$((n + 1))
		failed=$((failed + 1))
		echo "not ok $n $name # exited $rc after $nt tests"
	fi
	echo "# $name: $nt tests, $nf failed, $((SECONDS - start)) s"
}

. "$TOP/selftests/ksft.sh"
ksft_need_module devbackend
echo "TAP version 13"
export KARENA_BACKEND=dev

# ---- the allocator's unit tests on the device backend ----
# (sizeclasses_test is table arithmetic: nothing for the backend to do)
for t in $(sed "/^#/d; /^sizeclasses_test$/d" "$TOP/selftests/libkarena/tests.txt"); do
	bin=$TOP/selftests/libkarena/$t
	if [ ! -x "$bin" ]; then
		ok 1 "libkarena.$t" "not built (make -C selftests/libkarena)"
		continue
	fi
	c0=$(counter)
	if [ $t = scavenger_test ]; then
		# It measures RSS, which a lazy release keeps until memory
		# pressure: the eager release here (devbackend.c tests the lazy one).
		run_tap "libkarena.$t" env KARENA_LAZY_RELEASE=0 "$bin"
	else
		run_tap "libkarena.$t" "$bin"
	fi
	c1=$(counter)
	case $t in
	mheap_test|scavenger_test|malloc_test)
		[ "$c1" -gt "$c0" ]
		ok $? "libkarena.$t.used_device" "transitions $c0 -> $c1" ;;
	*)	echo "# libkarena.$t: module transitions $c0 -> $c1" ;;
	esac
done

# ---- devbackend.c: vector ioctl, then io_uring batches ----
if [ -x "$here/devbackend" ]; then
	run_tap devbackend "$here/devbackend"
	run_tap devbackend_uring env KARENA_URING=1 "$here/devbackend"
	# The whole file again with the eager release: 6.1's
	# kselftest_harness.h has no -t filter (it would run it all anyway).
	run_tap devbackend_eager env KARENA_LAZY_RELEASE=0 "$here/devbackend"
else
	ok 1 devbackend "not built (make -C selftests/devbackend)"
fi

# ---- git under LD_PRELOAD ----
start=$SECONDS
w=$(mktemp -d /tmp/devbackend-git.XXXXXX)
c0=$(counter)
(
	set -e
	export HOME=$w GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=k GIT_AUTHOR_EMAIL=k@e \
		GIT_COMMITTER_NAME=k GIT_COMMITTER_EMAIL=k@e
	export LD_PRELOAD=$LIB KARENA_STATS=1
	cd "$w"
	git init -q p && cd p
	seq 1 20000 > f1
	git add f1
	git commit -q -m c1
	sed -i 's/^1/x/' f1
	git diff --numstat > ../diff.txt
	git fsck --no-progress
) > "$w/preload.txt" 2>&1
pre=$?
c1=$(counter)
dev_lines=$(grep -c 'karena: backend=dev' "$w/preload.txt")
other=$(grep -c 'karena: backend=mmap' "$w/preload.txt")
diff=$(cat "$w/diff.txt" 2>/dev/null)
[ $pre = 0 ] && [ "$dev_lines" -ge 5 ] && [ "$other" = 0 ] &&
	[ "$c1" -gt "$c0" ] && [ "$diff" = "$(printf '11111\t11111\tf1')" ]
ok $? git_ld_preload "exit $pre, $dev_lines dev and $other mmap processes, transitions $c0 -> $c1, diff '$diff'"
echo "# git: $dev_lines processes on the dev backend, module transitions $c0 -> $c1, $((SECONDS - start)) s"
[ $pre = 0 ] || sed 's/^/# /' "$w/preload.txt" | grep -v 'karena: ' | head -20
rm -rf "$w"

# ---- fallback when the device is hidden ----
start=$SECONDS
if command -v unshare > /dev/null; then
	out=$(unshare -m sh -c 'mount -t tmpfs none /dev &&
		PYTHONHASHSEED=0 KARENA_BACKEND=auto KARENA_DEBUG=1 KARENA_STATS=1 LD_PRELOAD='"$LIB"' /usr/bin/python3 -S -c pass' 2>&1)
	nlog=$(printf '%s\n' "$out" | grep -c 'using the mmap backend')
	nmm=$(printf '%s\n' "$out" | grep -c 'backend=mmap')
	[ "$nlog" = 1 ] && [ "$nmm" = 1 ]
	ok $? fallback_logged_once "$nlog fallback lines, $nmm mmap stats lines"
	echo "# fallback: $((SECONDS - start)) s"
fi

tap_plan
echo "# devbackend (guest): $((n - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
