#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Sourced by run_native.sh: every tracked source, script and build file
# starts with an SPDX-License-Identifier line (in its first 3 lines), and
# every license it names has its text in LICENSES/.  Prose (*.md), data
# (bench/results, LICENSES itself), VERSION and kselftest settings files
# carry none.
missing="" unknown=""
while IFS= read -r f; do
	case $f in
	*.md | */.gitignore | .gitignore | VERSION | LICENSES/* | bench/results/* | */settings) continue ;;
	esac
	[ -f "$TOP/$f" ] || continue
	id=$(head -n 3 "$TOP/$f" | sed -n 's/.*SPDX-License-Identifier: \([^*]*\).*/\1/p' | head -n 1)
	if [ -z "$id" ]; then
		missing="$missing $f"
		continue
	fi
	for l in $(printf '%s\n' "$id" | tr -d '()' | sed 's/ WITH / /g; s/ OR / /g; s/ AND / /g'); do
		[ -f "$TOP/LICENSES/$l" ] || unknown="$unknown $f($l)"
	done
done < <(git -C "$TOP" ls-files)
[ -z "$missing" ]
ok $? "licenses: every source, script and build file has an SPDX-License-Identifier" "missing in:$missing"
[ -z "$unknown" ]
ok $? "licenses: every license named has its text in LICENSES/ (GPL-2.0, MIT, Linux-syscall-note, BSD-3-Clause)" "$unknown"
