# SPDX-License-Identifier: GPL-2.0
# Sourced by run_native.sh and run_guest.sh (bash): run harness binaries and
# TAP scripts, renumber their tests into one TAP stream named VARIANT.test.
# Expects $here (this directory) and $TOP.

n=0
failed=0

# run_variant NAME CMD...: run one harness binary (or TAP script), renumber
# its tests into our stream. A variant that exits non-zero without a failed
# test, or that runs no test at all, counts as one failed test.
run_variant() {
	local name=$1 out rc line nt=0 nf=0 start=$SECONDS
	shift
	out=$(mktemp)
	timeout -k 10 "${VARIANT_TIMEOUT:-300}" "$@" > "$out" 2>&1 < /dev/null
	rc=$?
	while IFS= read -r line; do
		if [[ $line =~ ^(not\ )?ok\ [0-9]+\ (global\.)?(.*)$ ]]; then
			n=$((n + 1))
			nt=$((nt + 1))
			if [ -n "${BASH_REMATCH[1]}" ]; then
				nf=$((nf + 1))
				failed=$((failed + 1))
			fi
			echo "${BASH_REMATCH[1]}ok $n $name.${BASH_REMATCH[3]}"
		elif [[ $line == \#* ]]; then
			echo "$line"
		else
			echo "# $line"
		fi
	done < "$out"
	rm -f "$out"
	if [ "$nt" -eq 0 ] || { [ "$rc" -ne 0 ] && [ "$nf" -eq 0 ]; }; then
		n=$((n + 1))
		failed=$((failed + 1))
		echo "not ok $n $name # exited $rc after $nt tests ($([ "$rc" -eq 124 ] && echo timeout || echo crash or error))"
	fi
	echo "# $name: $nt tests, $nf failed, exit $rc, $((SECONDS - start))s"
}

# A binary the Makefile could not build (e.g. the lib's sanitizer build
# failed) is a failure, named for what is missing.
run_bin() {
	local name=$1 bin=$2
	shift 2
	if [ ! -x "$here/$bin" ]; then
		n=$((n + 1))
		failed=$((failed + 1))
		case $bin in
		*-asan | *-ubsan | *-tsan)
			echo "not ok $n $name # not built: needs $TOP/lib/build-${bin##*-}/libkarena_prefixed.a (make -C lib SAN=${bin##*-})" ;;
		*)
			echo "not ok $n $name # not built: $here/$bin (make -C selftests/malloc)" ;;
		esac
		return
	fi
	run_variant "$name" env "$@" "$here/$bin"
}

