#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# selftests/man: the man pages render without warnings (man --warnings -l,
# 80 columns), there is one per tool, they document what the code defines
# (every KARENA_* variable of the library's options table and every
# exported karena_ function in libkarena(3); every ioctl, sysfs counter,
# module parameter and tracepoint in karena(4)), and make install puts
# them where man finds them.  TAP.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
OUT=${KARENA_OUT:-/tmp}/man
rm -rf "$OUT" && mkdir -p "$OUT"
TOOLS="karena-faults karena-faultlat karena-trace karena-allocs karena-stat"
n=0 fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
echo "TAP version 13"

pages="$TOP/man/libkarena.3 $TOP/man/karena.4"
for t in $TOOLS; do pages="$pages $TOP/tools/build/man/$t.8"; done
for p in $pages; do
	name=${p#$TOP/}
	if [ ! -f "$p" ]; then
		notok "$name exists (make -C tools builds the tools' pages with help2man)"
		continue
	fi
	MANWIDTH=80 man --warnings -l "$p" >"$OUT/page" 2>"$OUT/warn"
	rc=$?
	if [ $rc -eq 0 ] && [ ! -s "$OUT/warn" ] && [ -s "$OUT/page" ]; then
		ok "$name renders without warnings ($(wc -l <"$OUT/page") lines)"
	else
		notok "$name renders without warnings (exit $rc)"
		sed 's/^/# /' "$OUT/warn" | head -5
	fi
done

# documents_all PAGE WHAT NAME...: every NAME appears in PAGE
documents_all() {
	local page=$1 what=$2 missing= nm
	shift 2
	for nm in "$@"; do
		grep -q -- "$(printf '%s' "$nm" | sed 's/-/\\\\-/g')" "$page" || grep -qw -- "$nm" "$page" ||
			missing="$missing $nm"
	done
	if [ $# -gt 0 ] && [ -z "$missing" ]; then
		ok "$(basename "$page") documents every $what ($#)"
	else
		notok "$(basename "$page") documents every $what ($# found in the code; missing:${missing:- none found})"
	fi
}

lib=$TOP/lib/libkarena.so
vars=$(KARENA_STATS=2 LD_PRELOAD="$lib" /bin/true 2>&1 | sed -n 's/^karena:   \(KARENA_[A-Z_]*\) .*/\1/p')
documents_all "$TOP/man/libkarena.3" "KARENA_* variable of the options table" $vars
funcs=$(nm -D --defined-only "$lib" 2>/dev/null | awk '$2 == "T" && $3 ~ /^karena_/ { print $3 }')
documents_all "$TOP/man/libkarena.3" "exported karena_ function" $funcs
ioctls=$(sed -n 's/^#define \(KARENA_IOC_[A-Z]*\)[[:space:]]*_IO.*/\1/p' "$TOP/kmod/uapi/karena.h")
documents_all "$TOP/man/karena.4" "ioctl of the UAPI" $ioctls
attrs=$(sed -n 's/^KAR_ATTR(\([a-z_]*\),.*/\1/p' "$TOP/kmod/main.c")
documents_all "$TOP/man/karena.4" "file of /sys/kernel/karena" $attrs
params=$(sed -n 's/^module_param_\(named\|cb\)(\([a-z_]*\),.*/\2/p' "$TOP"/kmod/*.c)
documents_all "$TOP/man/karena.4" "module parameter" $params
events=$(sed -n 's/^TRACE_EVENT(\([a-z_]*\),.*/\1/p' "$TOP/kmod/karena_trace.h")
documents_all "$TOP/man/karena.4" "tracepoint" $events

d=$OUT/root
if make -C "$TOP/lib" install DESTDIR="$d" PREFIX=/usr >"$OUT/install.log" 2>&1 &&
   make -C "$TOP/tools" install DESTDIR="$d" PREFIX=/usr >>"$OUT/install.log" 2>&1 &&
   make -C "$TOP" -s install-man DESTDIR="$d" PREFIX=/usr >>"$OUT/install.log" 2>&1; then
	missing=
	for pg in libkarena:3 karena:4 $(for t in $TOOLS; do echo "$t:8"; done); do
		man -M "$d/usr/share/man" -w "${pg#*:}" "${pg%:*}" >/dev/null 2>&1 || missing="$missing $pg"
	done
	if [ -z "$missing" ]; then
		ok "make install puts every page where man -M PREFIX/share/man finds it"
	else
		notok "make install: man cannot find:$missing"
	fi
else
	notok "make install (lib, tools, install-man) into $d"
	tail -5 "$OUT/install.log" | sed 's/^/# /'
fi
echo "1..$n"
[ $fails -eq 0 ]
