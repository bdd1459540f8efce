#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# selftests/tools on the host: the tools build and install, every tool and
# bpftool script answers --help (and the tools -h and -V with the project's
# VERSION, with -T meaning timestamps everywhere), and every one fails
# cleanly (message, exit status 1, no crash) when not root, when kernel BTF
# is missing, and when the karena module is not loaded (the host has no
# karena module) -- except karena-allocs, which traces the library with
# uprobes and must work without the module: as root it traces allocwork's
# known allocations here (check.py asserts the counts).
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
T=$TOP/tools/build
B=$TOP/tools/bpftool
OUT=${KARENA_OUT:-/tmp}/tools-native
TOOLS="karena-faults karena-faultlat karena-trace karena-allocs karena-stat"
BPF_TOOLS="karena-faults karena-faultlat karena-trace karena-allocs"
SCRIPTS="karena-bpf-load karena-bpf-dump karena-bpf-unload"
rm -rf "$OUT" && mkdir -p "$OUT"

n=0; fails=0
echo "TAP version 13"
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
show() { sed 's/^/# /' "$1" | head -${2:-5}; }

# expect_fail DESC PATTERN CMD...: exit status 1 (not a signal) and PATTERN on stderr
expect_fail() {
	desc=$1 pat=$2; shift 2
	"$@" >"$OUT/out" 2>"$OUT/err"
	rc=$?
	if [ $rc -eq 1 ] && grep -q "$pat" "$OUT/err"; then
		ok "$desc"
		show "$OUT/err" 1
	else
		notok "$desc (exit $rc)"
		show "$OUT/err"
	fi
}

as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all "$@"
}
# What runs as nobody must not need to read the checkout: a clone may sit
# in a directory only root can enter (/root is 0700).  Those tests run
# copies of the tools and scripts from a world-readable scratch directory.
PUB=$(mktemp -d /tmp/karena-tools-nobody.XXXXXX)
trap 'rm -rf "$PUB"' EXIT
chmod 755 "$PUB"
cp "$B"/*.sh "$PUB"/
for t in $TOOLS; do [ -f "$T/$t" ] && cp "$T/$t" "$PUB/"; done
chmod -R a+rX "$PUB"

# 1. build
if make -C "$TOP/tools" >"$OUT/build.log" 2>&1; then
	ok "tools build (make -C tools)"
else
	notok "tools build (make -C tools)"
	tail -20 "$OUT/build.log" | sed 's/^/# /'
fi

# --help and -h, -V/--version, -T
version=$("$TOP/scripts/version.sh")
for t in $TOOLS; do
	if "$T/$t" --help >"$OUT/help" 2>&1 && grep -q "^Usage: $t" "$OUT/help" &&
	   grep -q "EXAMPLES" "$OUT/help"; then
		ok "$t --help"
	else
		notok "$t --help"; show "$OUT/help"
	fi
	if "$T/$t" -h >"$OUT/h" 2>&1 && cmp -s "$OUT/h" "$OUT/help"; then
		ok "$t -h is --help"
	else
		notok "$t -h is --help"; show "$OUT/h"
	fi
	if [ "$("$T/$t" -V 2>&1)" = "$t $version" ] &&
	   [ "$("$T/$t" --version 2>&1)" = "$t $version" ]; then
		ok "$t -V and --version print '$t $version'"
	else
		notok "$t -V and --version print '$t $version'"; "$T/$t" -V 2>&1 | show /dev/stdin
	fi
	if grep -Eq '^ *-T, --timestamp +Include timestamps in the output' "$OUT/help"; then
		ok "$t -T is --timestamp"
	else
		notok "$t -T is --timestamp"; grep -e '-T' "$OUT/help" | show /dev/stdin
	fi
done

# 7-11. not root
for t in $TOOLS; do
	if [ "$(id -u)" != 0 ]; then
		expect_fail "$t fails cleanly when not root" "must be run as root" "$T/$t"
	else
		expect_fail "$t fails cleanly when not root (as nobody)" "must be run as root" \
			as_nobody "$PUB/$t"
	fi
done

# module not loaded (karena-allocs: below, it must work)
for t in $TOOLS; do
	[ "$t" = karena-allocs ] && continue
	if [ -d /sys/module/karena ]; then
		skip "$t fails cleanly without the module" "the karena module is loaded here"
	elif [ "$(id -u)" != 0 ]; then
		skip "$t fails cleanly without the module" "not root"
	else
		expect_fail "$t fails cleanly when the module is not loaded" \
			"karena module is not loaded" "$T/$t"
	fi
done

# karena-allocs traces libkarena with uprobes: no module needed
S=$TOP/selftests/tools
if [ -d /sys/module/karena ]; then
	skip "karena-allocs traces libkarena without the module" "the karena module is loaded here"
elif [ "$(id -u)" != 0 ]; then
	skip "karena-allocs traces libkarena without the module" "not root"
elif [ ! -f "$TOP/lib/libkarena.so" ] || [ ! -x "$S/allocwork" ]; then
	notok "karena-allocs traces libkarena without the module (lib/libkarena.so or allocwork not built)"
else
	for run in "allocs.json 50 3000 20 5000" "allocs-small.json 30 5 10 24"; do
		set -- $run
		"$T/karena-allocs" -j -a -c "env LD_PRELOAD=$TOP/lib/libkarena.so $S/allocwork $2 $3 $4 $5 400" \
			>"$OUT/$1" 2>"$OUT/$1.err"
		echo $? >"$OUT/$1.rc"
	done
	py=python3
	[ -x /usr/bin/python3 ] && py=/usr/bin/python3
	$py "$S/check.py" "$OUT" 0 1 "karena-allocs: LD_PRELOAD" >"$OUT/check.tap" 2>&1
	if [ "$(grep -c "^ok " "$OUT/check.tap")" = 2 ]; then
		ok "karena-allocs traces libkarena without the module (50 x 3000 B kept, 20 x 5000 B freed; 30 x 5 B in the 8-byte class)"
		grep "^#" "$OUT/check.tap"
	else
		notok "karena-allocs traces libkarena without the module"
		sed 's/^/# /' "$OUT/check.tap" "$OUT/allocs.json.err" "$OUT/allocs-small.json.err" | tail -14
	fi
fi

# tools/README's bpftrace one-liner on libkarena (uprobes: no module needed)
if [ "$(id -u)" != 0 ]; then
	skip "bpftrace one-liner: malloc sizes of libkarena" "not root"
elif ! command -v bpftrace >/dev/null; then
	notok "bpftrace one-liner: malloc sizes of libkarena (bpftrace missing: scripts/deps.sh installs it)"
else
	L=$TOP/lib/libkarena.so
	timeout 120 bpftrace -e "uprobe:$L:malloc { @bytes = hist(arg0); }" \
		-c "/usr/bin/env LD_PRELOAD=$L $S/allocwork 50 3000 20 5000 10" >"$OUT/bt.txt" 2>&1
	if grep -Eq '^\[2K, 4K\) +50 ' "$OUT/bt.txt" && grep -Eq '^\[4K, 8K\) +20 ' "$OUT/bt.txt"; then
		ok "bpftrace one-liner: malloc sizes of libkarena (50 in [2K, 4K), 20 in [4K, 8K))"
	else
		notok "bpftrace one-liner: malloc sizes of libkarena"
		sed 's/^/# /' "$OUT/bt.txt" | tail -8
	fi
fi

# kernel BTF missing (KARENA_BTF points the check elsewhere)
for t in $BPF_TOOLS; do
	if [ "$(id -u)" != 0 ]; then
		skip "$t fails cleanly without kernel BTF" "not root"
	else
		expect_fail "$t fails cleanly when kernel BTF is missing" "kernel BTF is missing" \
			env KARENA_BTF=/nonexistent/vmlinux "$T/$t"
	fi
done

# bpftool scripts: --help, and not root
for s in $SCRIPTS; do
	if sh "$B/$s.sh" --help >"$OUT/help" 2>&1 && grep -q "^Usage: $s" "$OUT/help"; then
		ok "$s --help"
	else
		notok "$s --help"; show "$OUT/help"
	fi
	if [ "$(id -u)" != 0 ]; then
		expect_fail "$s fails cleanly when not root" "must be run as root" sh "$B/$s.sh" faults
	else
		expect_fail "$s fails cleanly when not root (as nobody)" "must be run as root" \
			as_nobody sh "$PUB/$s.sh" faults
	fi
done

# make install into a scratch DESTDIR
d=$OUT/destdir
if make -C "$TOP/tools" install DESTDIR="$d" PREFIX=/usr >"$OUT/install.log" 2>&1 &&
   for t in $TOOLS; do [ -x "$d/usr/sbin/$t" ] || exit 1; done &&
   [ -f "$d/usr/share/karena/bpf/karena-faults.bpf.o" ] &&
   [ -x "$d/usr/share/karena/bpftool/karena-bpf-attach" ] &&
   "$d/usr/sbin/karena-bpf-load" --help 2>&1 | grep -q "$d/usr/share/karena/bpftool/../bpf"; then
	ok "make install DESTDIR= PREFIX=/usr (tools, bpf objects, bpftool scripts)"
else
	notok "make install"; tail -5 "$OUT/install.log" | sed 's/^/# /'
fi

echo "1..$n"
[ $fails -eq 0 ]
