#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# run_kselftest.sh: karena's kselftests the way kselftest runs them, on a
# machine with karena.ko loaded.  `make -C selftests run_tests` runs it
# in the source tree; `make -C selftests install INSTALL_PATH=DIR` copies
# it to DIR with kselftest-list.txt, and DIR can be copied anywhere.
#
#   run_kselftest.sh [-l] [-c SUITE]... [-t SUITE:ENTRY]... [-s]
#     -l   list the tests (SUITE:ENTRY, as in kselftest-list.txt)
#     -c   run only that suite (collection); -t only that test
#     -s   each suite's own TAP on stdout as it runs is indented
#          (default: kept in OUTDIR only, "# " lines on failure)
#   KSFT_OUT=DIR     keep each suite's TAP/stderr/status in DIR (default:
#                    a temporary directory, removed)
#   KARENA_MODULE    the karena.ko a suite that reloads the module uses
#
# Output: TAP, one line per suite ("ok 1 selftests: karena: run_guest.sh",
# "# SKIP" for exit status 4, "# TIMEOUT" past the suite's settings
# timeout).  Exit status 0 when no suite failed.
here=$(cd "$(dirname "$0")" && pwd)
if [ -d "$here/selftests" ]; then	# installed: DIR/run_kselftest.sh
	TOP=$here
else					# source tree: selftests/run_kselftest.sh
	TOP=$(cd "$here/.." && pwd)
fi
export TOP
list=${KSFT_LIST:-$TOP/kselftest-list.txt}
[ -f "$list" ] || list=$TOP/selftests/kselftest-list.txt
[ -f "$list" ] || { echo "run_kselftest.sh: no kselftest-list.txt (make -C selftests)" >&2; exit 2; }

only="" show=0
while getopts "lc:t:sh" o; do
	case $o in
	l) cat "$list"; exit 0 ;;
	c) only="$only $OPTARG:*" ;;
	t) only="$only $OPTARG" ;;
	s) show=1 ;;
	*) sed -n '3,21s/^# \{0,1\}//p' "$0"; [ "$o" = h ]; exit ;;
	esac
done

selected() {	# selected SUITE:ENTRY
	[ -z "$only" ] && return 0
	for pat in $only; do
		# shellcheck disable=SC2254
		case $1 in $pat) return 0 ;; esac
	done
	return 1
}

out=${KSFT_OUT:-}
[ -n "$out" ] || { out=$(mktemp -d /tmp/karena-ksft.XXXXXX); trap 'rm -rf "$out"' EXIT; }
mkdir -p "$out"
[ -n "${KARENA_MODULE:-}" ] || [ ! -f "$TOP/kmod/karena.ko" ] || export KARENA_MODULE="$TOP/kmod/karena.ko"

tests=$(while read -r t; do selected "$t" && echo "$t"; done <"$list")
total=$(printf '%s\n' "$tests" | grep -c .)
echo "TAP version 13"
echo "1..$total"
n=0 failed=0
for t in $tests; do
	n=$((n + 1))
	suite=${t%%:*} entry=${t#*:}
	echo "# selftests: $suite: $entry"
	mkdir -p "$out/scratch/$suite"
	KARENA_OUT=$out/scratch/$suite "$TOP/selftests/run_suite.sh" "$suite" "$entry" "$out/$suite"
	rc=$?
	if [ $show = 1 ] || { [ $rc != 0 ] && [ $rc != 4 ]; }; then
		sed 's/^/# /' "$out/$suite.tap"
		[ $rc = 0 ] || tail -n 20 "$out/$suite.err" | sed 's/^/# stderr: /'
	fi
	case $rc in
	0) echo "ok $n selftests: $suite: $entry" ;;
	4) echo "ok $n selftests: $suite: $entry # SKIP $(sed -n 's/.*# SKIP *//p' "$out/$suite.tap" | head -n 1)" ;;
	124 | 137) echo "not ok $n selftests: $suite: $entry # TIMEOUT $(sed -n 's/^timeout=//p' "$TOP/selftests/$suite/settings") seconds"
		failed=$((failed + 1)) ;;
	*) echo "not ok $n selftests: $suite: $entry # exit=$rc"
		failed=$((failed + 1)) ;;
	esac
done
[ $failed = 0 ]
