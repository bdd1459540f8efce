#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Sourced by run_native.sh: the kselftest way.
#   - make -C selftests run_tests: TAP, one line per suite; without the
#     module (this host) the module's suites skip with exit status 4;
#   - the tree make check installed (make -C selftests install
#     INSTALL_PATH=build/ksft) is self-contained: runner, list, config, a
#     settings file per suite, no path into the checkout, test binaries
#     that find the installed libkarena.so ($ORIGIN rpath);
#   - config: Debian 12's kernel (the guest's) has every option it lists.
# run_guest.sh runs the installed tree in the guest.
ks=$(mktemp -d /tmp/karena-ksft.XXXXXX)
# Every suite that needs the module, and libkarena (which does not); malloc is
# left out here: it runs natively in its own suite already.
make -C "$TOP/selftests" run_tests TARGETS="karena uring devbackend libkarena tools fuzz" \
	>"$ks/run.tap" 2>"$ks/run.err"
rc=$?
sed -n '/^\(not \)\{0,1\}ok /s/^/# /p' "$ks/run.tap"
if [ -c /dev/karena ]; then
	[ $rc = 0 ] && ! grep -q '^not ok' "$ks/run.tap" && [ "$(grep -c '^ok .* selftests: ' "$ks/run.tap")" -ge 6 ]
	ok $? "kselftest: make -C selftests run_tests passes with the module loaded" "exit $rc"
else
	skips=$(grep -cE '^ok [0-9]+ selftests: (karena|uring|devbackend|tools|fuzz): run_guest.sh # SKIP .*(karena.ko is not loaded|karena.ko loaded)$' "$ks/run.tap")
	ran=$(grep -cE '^ok [0-9]+ selftests: libkarena: run_guest.sh$' "$ks/run.tap")
	[ $rc = 0 ] && [ "$skips" = 5 ] && [ "$ran" = 1 ] && grep -q '^1\.\.6$' "$ks/run.tap"
	ok $? "kselftest: make -C selftests run_tests without the module: 5 suites skip (exit 4), libkarena passes" \
		"exit $rc, $skips skipped, $ran passed: $(grep -E '^(# )?not ok' "$ks/run.tap" | head -n 4)"
fi
rm -rf "$ks"

d=$TOP/build/ksft
list=$(cat "$d/kselftest-list.txt" 2>/dev/null | tr '\n' ' ')
[ -x "$d/run_kselftest.sh" ] && [ "$list" = "karena:run_guest.sh bounds:run_guest.sh uring:run_guest.sh devbackend:run_guest.sh libkarena:run_guest.sh malloc:run_guest.sh tools:run_guest.sh fuzz:run_guest.sh " ] &&
	[ "$(cd "$d" && ./run_kselftest.sh -l | tr '\n' ' ')" = "$list" ] && [ -f "$d/config" ]
ok $? "kselftest: the installed tree has run_kselftest.sh, kselftest-list.txt and config" "list '$list'"
bad=""
for s in karena bounds uring devbackend libkarena malloc tools fuzz; do
	grep -qE '^timeout=[0-9]+$' "$d/selftests/$s/settings" 2>/dev/null || bad="$bad $s"
done
[ -d "$d" ] && [ -z "$bad" ]
ok $? "kselftest: every installed suite has a settings file with its timeout" "missing or bad:$bad"
refs=$(grep -rIl -- "$TOP" "$d" 2>/dev/null | head -n 3)
[ -d "$d" ] && [ -z "$refs" ]
ok $? "kselftest: no installed script or text file names the checkout ($TOP)" "$refs"
unresolved=""
for b in "$d"/selftests/malloc/conformance "$d"/selftests/devbackend/devbackend "$d"/selftests/tools/allocwork-linked; do
	[ -x "$b" ] || { unresolved="$unresolved ${b#"$d"/}(missing)"; continue; }
	lib=$(ldd "$b" | sed -n 's/.*libkarena.so.[0-9]* => \([^ ]*\) .*/\1/p')
	[ "$(readlink -f "$lib")" = "$(readlink -f "$d/lib/libkarena.so")" ] || unresolved="$unresolved ${b#"$d"/}($lib)"
done
[ -z "$unresolved" ]
ok $? "kselftest: installed test binaries load the installed libkarena.so" "$unresolved"

abi=$("$TOP/scripts/kver.sh")
cfg=/usr/src/linux-headers-$abi/.config
missing=""
for o in $(grep -o '^CONFIG_[A-Z0-9_]*' "$TOP/selftests/config"); do
	grep -qE "^$o=[ym]$" "$cfg" || missing="$missing $o"
done
[ -f "$cfg" ] && [ -z "$missing" ]
ok $? "kselftest: the guest kernel ($abi) sets every option selftests/config lists" "missing:$missing"
