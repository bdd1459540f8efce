#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# version.sh [--header]: the project's one version, from the top-level
# VERSION file (MAJOR.MINOR.PATCH).  Without arguments it prints the
# string; --header prints karena_version.h, the C header the library
# installs and the tools include (KARENA_VERSION_MAJOR/MINOR/PATCH,
# KARENA_VERSION_NUMBER, KARENA_VERSION).  The module reads VERSION
# directly in kmod/Kbuild (a DKMS source tree has no scripts/).
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
v=$(cat "$top/VERSION")
case "$v" in
*[!0-9.]* | *..* | .* | *. ) ok=no ;;
*) ok=yes ;;
esac
IFS=. read -r major minor patch extra <<EOV
$v
EOV
if [ "$ok" != yes ] || [ -z "$patch" ] || [ -n "$extra" ]; then
	echo "version.sh: $top/VERSION must be MAJOR.MINOR.PATCH, not '$v'" >&2
	exit 1
fi
case "${1:-}" in
"") echo "$v" ;;
--header)
	cat <<EOH
/* SPDX-License-Identifier: GPL-2.0 */
/* karena_version.h: generated from VERSION by scripts/version.sh. */
#ifndef KARENA_VERSION_H
#define KARENA_VERSION_H

#define KARENA_VERSION_MAJOR	$major
#define KARENA_VERSION_MINOR	$minor
#define KARENA_VERSION_PATCH	$patch
/* MAJOR * 10000 + MINOR * 100 + PATCH, what karena_version() returns */
#define KARENA_VERSION_NUMBER	$((major * 10000 + minor * 100 + patch))
#define KARENA_VERSION		"$v"

#endif
EOH
	;;
*) echo "usage: version.sh [--header]" >&2; exit 2 ;;
esac
