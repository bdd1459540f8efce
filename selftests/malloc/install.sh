#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make -C lib install into a scratch DESTDIR, then use the installed tree
# as a program would: both libraries and their pkg-config files, the
# library's <karena.h> next to the device's <linux/karena.h> in one
# program, and the prefix-only library leaving malloc to libc.  TAP.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
n=0 fails=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
notok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n $1"; }
check() { local desc=$1; shift; if "$@" >"$d/out" 2>&1; then ok "$desc"; else notok "$desc"; sed 's/^/# /' "$d/out" | tail -8; fi; }

echo "TAP version 13"
v=$("$TOP/scripts/version.sh")
root=$d/root
check "make -C lib install DESTDIR PREFIX=/usr" \
	make -C "$TOP/lib" install DESTDIR="$root" PREFIX=/usr
check "libkarena.so.$v and libkarena-prefixed.so.$v with soname links" \
	test -f "$root/usr/lib/libkarena.so.$v" -a -L "$root/usr/lib/libkarena.so.1" \
	-a -f "$root/usr/lib/libkarena-prefixed.so.$v" -a -L "$root/usr/lib/libkarena-prefixed.so.1" \
	-a -f "$root/usr/lib/libkarena-prefixed.a"
check "the UAPI header is installed as linux/karena.h, unchanged" \
	cmp "$TOP/kmod/uapi/karena.h" "$root/usr/include/linux/karena.h"
pc() { PKG_CONFIG_PATH= PKG_CONFIG_LIBDIR="$root/usr/lib/pkgconfig" \
	PKG_CONFIG_SYSROOT_DIR="$root" pkg-config "$@"; }
libs=$(pc --libs karena-prefixed 2>&1 | xargs) ver=$(pc --modversion karena-prefixed 2>&1)
check "pkg-config karena-prefixed: -lkarena-prefixed, version $v ($libs, $ver)" \
	test "$libs" = "-L$root/usr/lib -lkarena-prefixed" -a "$ver" = "$v"
libs=$(pc --libs karena 2>&1 | xargs)
check "pkg-config karena: -lkarena ($libs)" test "$libs" = "-L$root/usr/lib -lkarena"
flags=$(pc --cflags --libs karena-prefixed 2>&1)
cat >"$d/use.c" <<'EOC'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <karena.h>		/* the library */
#include <linux/karena.h>	/* the device's ABI */

int main(void)
{
	struct karena_transition t = { .size = sizeof(t) };
	struct karena_heap_stats st = { .size = sizeof(st) };
	void *p = karena_malloc(100);
	Dl_info i;

	if (!p || karena_stats(&st) || st.mallocs < 1 || t.size != sizeof(t))
		return 1;
	karena_free(p);
	if (!dladdr(dlsym(RTLD_DEFAULT, "malloc"), &i) || !strstr(i.dli_fname, "libc.so"))
		return 2;
	printf("%s %u\n", KARENA_DEVICE, KARENA_ABI_VERSION);
	return 0;
}
EOC
check "a program includes <karena.h> and <linux/karena.h>, links karena-prefixed, malloc stays libc's" \
	sh -c "cc -Wall -Werror -o '$d/use' '$d/use.c' $flags -ldl && LD_LIBRARY_PATH='$root/usr/lib' '$d/use'"
check "make -C lib uninstall removes them all" \
	sh -c "make -C '$TOP/lib' uninstall DESTDIR='$root' PREFIX=/usr >/dev/null &&
	       [ -z \"\$(find '$root' -type f -o -type l)\" ]"
echo "1..$n"
[ $fails -eq 0 ]
