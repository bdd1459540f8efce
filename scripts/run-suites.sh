#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# run-suites.sh native|guest OUTDIR: run every selftests/*/run_KIND.sh
# (see selftests/README.md) through selftests/run_suite.sh, each to
# OUTDIR/NAME.tap with its stderr in NAME.err, exit status in NAME.rc and
# wall seconds in NAME.secs. Used by check.sh on the host and by
# vm/guest-suites.sh in the guest; check.sh counts the results.
# KARENA_SUITES="a b": only those suites.
kind=$1 out=$2
top=$(cd "$(dirname "$0")/.." && pwd)
case "$kind" in native|guest) ;; *) echo "usage: run-suites.sh native|guest OUTDIR" >&2; exit 2 ;; esac
mkdir -p "$out"
for s in "$top"/selftests/*/run_"$kind".sh; do
	[ -f "$s" ] || continue
	name=$(basename "$(dirname "$s")")
	case " ${KARENA_SUITES:-$name} " in *" $name "*) ;; *) continue ;; esac
	mkdir -p "$out/scratch/$name"
	echo "run-suites: $kind suite $name" >&2
	KARENA_OUT=$out/scratch/$name "$top/selftests/run_suite.sh" "$name" "run_$kind.sh" "$out/$name"
done
