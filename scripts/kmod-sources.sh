#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# kmod-sources.sh DEST: the module's source tree, as DKMS and out-of-tree
# builds (make -C KDIR M=DEST) take it: kmod/Kbuild, the .c files its
# karena-y names, the headers, uapi/, the project's VERSION and a
# dkms.conf made from kmod/dkms.conf.in.  A clean file list, never a copy
# of a built tree (no objects, no .mod.c).  Used by `make dkms-install`
# and scripts/kcompat.sh.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:?usage: kmod-sources.sh DEST}
k=$top/kmod
version=$("$top/scripts/version.sh")
objs=$(sed -n 's/^karena-y[[:space:]]*[:+]=//p' "$k/Kbuild")
[ -n "$objs" ] || { echo "kmod-sources.sh: no karena-y line in $k/Kbuild" >&2; exit 1; }
mkdir -p "$dest/uapi"
cp "$k/Kbuild" "$k"/*.h "$dest/"
cp "$k"/uapi/*.h "$dest/uapi/"
for o in $objs; do
	cp "$k/${o%.o}.c" "$dest/"
done
echo "$version" >"$dest/VERSION"
sed "s/@VERSION@/$version/g" "$k/dkms.conf.in" >"$dest/dkms.conf"
