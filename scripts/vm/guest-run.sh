#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# guest-run.sh 'CMD': boot the test guest (Debian's 6.1 kernel under QEMU
# TCG, host root shared read-only), insmod kmod/karena.ko, run CMD as root
# in the repo directory, and exit with CMD's status. Exits non-zero also
# when the guest hangs (KARENA_VM_TIMEOUT, default 900 s), panics, or the
# kernel log shows a WARN/BUG/oops (dmesg is kept in the output directory).
#
#   KARENA_NO_MODULE=1     do not load the module
#   KARENA_MODULE=PATH     load this karena.ko instead of kmod/karena.ko
#   KARENA_GUEST_DIR=DIR   boot another kernel (see boot.sh)
#   KARENA_MOD_PARAMS=...  module parameters for insmod
#   KARENA_VM_KEEP=1       keep the output directory (printed)
#   KARENA_VM_OUT=DIR      use (and keep) DIR as the output directory
#   KARENA_FUZZ_*, KARENA_SUITE_TIMEOUT  passed on to CMD in the guest
set -e
top=$(cd "$(dirname "$0")/../.." && pwd)
[ $# -ge 1 ] || { echo "usage: guest-run.sh 'COMMAND'" >&2; exit 2; }
if [ -n "${KARENA_VM_OUT:-}" ]; then
	out=$KARENA_VM_OUT KARENA_VM_KEEP=1
	rm -rf "$out" && mkdir -p "$out"
else
	out=$(mktemp -d /tmp/karena-vm.XXXXXX)
fi
mkdir -p "$out/scratch"
printf '%s\n' "$1" > "$out/user.sh"
mod=${KARENA_MODULE:-$top/kmod/karena.ko}
printf '%s\n' "$top" > "$out/top"	# init.sh makes it visible if a tmpfs hides it
pass=$(env | sed -n "s/^\(\(KARENA_FUZZ_[A-Z_]*\|KARENA_SUITE_TIMEOUT\)=\)\([A-Za-z0-9_.-]*\)$/export \1'\3'/p")
cat > "$out/cmd.sh" <<EOS
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TOP='$top' KARENA_GUEST=1 KARENA_OUT=/tmp/out/scratch KARENA_MODULE='$mod'
export KSFT_INCLUDE='$top/build/ksrc/include' LANG=C.UTF-8
$pass
if ! cd "\$TOP"; then
	echo "guest-run: \$TOP is not visible in the guest"
	rc=126
else
	if [ -z '${KARENA_NO_MODULE:-}' ]; then
		if [ -f '$mod' ]; then
			insmod '$mod' ${KARENA_MOD_PARAMS:-} || echo "guest-run: insmod $mod failed"
		else
			echo "guest-run: $mod not built (make module); running without it"
		fi
	fi
	sh /tmp/out/user.sh
	rc=\$?
fi
dmesg > /tmp/out/dmesg.txt
echo \$rc > /tmp/out/rc
EOS
set +e
"$top/scripts/vm/boot.sh" "$out"
rc=$?
if [ -f "$out/dmesg.txt" ] && ! "$top/scripts/vm/dmesg-check.sh" "$out/dmesg.txt"; then
	[ "$rc" = 0 ] && rc=3
fi
if [ -n "${KARENA_VM_KEEP:-}" ]; then echo "guest-run: output in $out" >&2; else rm -rf "$out"; fi
exit $rc
