#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Sourced by run_native.sh: a clone as a new user gets it, with no build/
# (no guest kernel), inside a directory only its owner can enter (mktemp
# -d is 0700, like a clone under /root):
#   - `make` builds the library and the tools, vmlinux.h from the running
#     kernel's BTF, and creates no build/;
#   - `make install DESTDIR=` installs them;
#   - without clang the library still builds and the skip is named;
#   - the tools' host suite, which drops to nobody, passes from there.
fresh=$(mktemp -d /tmp/karena-fresh.XXXXXX)	# mode 0700
src=$fresh/karena
mkdir "$src"
if ! git -C "$TOP" ls-files -z | (cd "$TOP" && tar --null --ignore-failed-read -T - -cf - 2>/dev/null) |
	tar -C "$src" -xf -; then
	ok 1 "fresh: copy the tracked files of $TOP" "git ls-files | tar failed"
fi
echo "# fresh: clone of the tracked files in $src (mode $(stat -c %a "$fresh"))"

log=$fresh/make.log
make -C "$src" -j2 >"$log" 2>&1
rc=$?
btf=/sys/kernel/btf/vmlinux
if [ -r "$btf" ]; then
	[ $rc = 0 ] && [ -f "$src/lib/libkarena.so" ] && [ -x "$src/tools/build/karena-faults" ] &&
		grep -q "tools: vmlinux.h from $btf" "$log" && [ ! -e "$src/build" ]
	ok $? "fresh: make without build/ builds the library and the tools (vmlinux.h from $btf)" \
		"exit $rc: $(grep -E 'rror:|missing|\*\*\*' "$log" | head -n 3)"
else
	[ $rc = 0 ] && [ -f "$src/lib/libkarena.so" ] && grep -q "tools: skipped .*kernel-BTF" "$log"
	ok $? "fresh: make without build/ or kernel BTF builds the library, names the skipped tools" "exit $rc"
fi

d=$fresh/destdir
make -C "$src" install DESTDIR="$d" PREFIX=/usr >"$fresh/install.log" 2>&1
rc=$?
[ $rc = 0 ] && [ -L "$d/usr/lib/libkarena.so.1" ] && [ -f "$d/usr/include/karena.h" ] &&
	[ -f "$d/usr/include/karena_version.h" ] && [ -x "$d/usr/sbin/karena-stat" ] && [ ! -e "$src/build" ]
ok $? "fresh: make install DESTDIR= PREFIX=/usr without the guest kernel" \
	"exit $rc: $(tail -n 2 "$fresh/install.log")"

make -C "$src/tools" clean >/dev/null 2>&1
make -C "$src" CLANG=/nonexistent/clang >"$log" 2>&1
rc=$?
[ $rc = 0 ] && [ -f "$src/lib/libkarena.so" ] && [ -x "$src/tools/build/karena-stat" ] &&
	[ ! -e "$src/tools/build/karena-faults" ] &&
	grep -q "tools: skipped karena-faults .*missing /nonexistent/clang" "$log"
ok $? "fresh: without clang make still builds the library and karena-stat, and names what it skipped" \
	"exit $rc: $(grep 'tools:' "$log")"

# The tools suite's nobody tests from the 0700 clone (the BPF tools were
# just cleaned: rebuild them, and the suite's workloads).
make -C "$src/tools" -j2 >"$log" 2>&1
make -C "$src/selftests/tools" TOP="$src" >>"$log" 2>&1
out=$(KARENA_OUT=$fresh/out TOP=$src sh "$src/selftests/tools/run_native.sh" 2>&1)
rc=$?
nob=$(printf '%s\n' "$out" | grep -c '^ok .*(as nobody)')
[ $rc = 0 ] && [ "$nob" -ge 8 ]
ok $? "fresh: the tools' host suite passes from a clone in a 0700 directory ($nob tests as nobody)" \
	"exit $rc: $(printf '%s\n' "$out" | grep '^not ok' | head -n 4)"
rm -rf "$fresh"
