#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Sourced by run_native.sh: one VERSION file, every consumer agrees with it
# (library soname, karena.pc, karena_version.h, karena_version(), module).
v=$("$TOP/scripts/version.sh")
IFS=. read -r vmaj vmin vpat <<<"$v"
echo "# VERSION: $v"

soname=$(readelf -d "$TOP/lib/libkarena.so" 2>/dev/null | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = "libkarena.so.$vmaj" ]
ok $? "version: libkarena.so's soname is libkarena.so.MAJOR" "soname '$soname'"

pcv=$(sed -n 's/^Version: //p' "$TOP/lib/karena.pc" 2>/dev/null)
[ "$pcv" = "$v" ]
ok $? "version: karena.pc says VERSION" "karena.pc Version '$pcv'"

# A program built against the header, linked to the built library: the
# header's macros and karena_version() must both say VERSION.
d=$(mktemp -d)
cat >"$d/v.c" <<'EOC'
#include <stdio.h>
#include <karena.h>
int main(void)
{
	printf("%d.%d.%d %s %u %u\n", KARENA_VERSION_MAJOR, KARENA_VERSION_MINOR,
	       KARENA_VERSION_PATCH, KARENA_VERSION, KARENA_VERSION_NUMBER,
	       karena_version());
	return 0;
}
EOC
num=$((vmaj * 10000 + vmin * 100 + vpat))
got=$(cc -std=c11 -Wall -Werror -I"$TOP/lib/include" -o "$d/v" "$d/v.c" \
	-L"$TOP/lib" -lkarena -Wl,-rpath,"$TOP/lib" 2>&1 && "$d/v" 2>&1)
[ "$got" = "$v $v $num $num" ]
ok $? "version: KARENA_VERSION_MAJOR/MINOR/PATCH, KARENA_VERSION and karena_version() say VERSION" "got '$got'"
rm -rf "$d"

for ko in "$TOP/kmod/karena.ko" "$TOP/build/kcompat/src/karena.ko"; do
	[ -f "$ko" ] || continue
	mv=$(/sbin/modinfo -F version "$ko" 2>&1)
	[ "$mv" = "$v" ]
	ok $? "version: MODULE_VERSION of ${ko#"$TOP"/} is VERSION" "modinfo says '$mv'"
done

cmp -s "$TOP/tools/build/karena_version.h" <("$TOP/scripts/version.sh" --header)
ok $? "version: the tools' karena_version.h is generated from VERSION"
