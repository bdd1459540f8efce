# SPDX-License-Identifier: GPL-2.0
# Sourced by the entry scripts that print their TAP line by line (sh or
# bash):
#   ok STATUS NAME [DIAGNOSTIC]
#           one test: "ok N NAME" when STATUS is 0, else "not ok N NAME #
#           DIAGNOSTIC" (the diagnostic on one line, at most 400 characters)
#   tap_plan
#           "1..N", printed last: the plan is the number of tests that ran
# n counts the tests, failed the failures; a script that renumbers another
# program's TAP into its own stream counts those in n and failed too.
n=0
failed=0
ok() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n $2"
	else
		failed=$((failed + 1))
		echo "not ok $n $2${3:+ # $(printf '%s' "$3" | tr '\n' ' ' | cut -c1-400)}"
	fi
}
tap_plan() {
	echo "1..$n"
}
