#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# boot.sh OUTDIR [TIMEOUT]: boot the karena test guest once. OUTDIR must
# hold cmd.sh; the guest runs it (chrooted into the read-only host root,
# OUTDIR mounted at /tmp/out) and writes OUTDIR/rc before powering off.
# The serial console goes to stdout. Exit status: cmd.sh's, or 124 when
# the guest hung and was killed, or 125 when it died without a result
# (panic, oops in init, failed boot).
set -e
top=$(cd "$(dirname "$0")/../.." && pwd)
out=$(cd "$1" && pwd)
tmo=${2:-${KARENA_VM_TIMEOUT:-900}}
# KARENA_GUEST_DIR: another kernel, prepared by the caller (vmlinuz and
# initramfs.cpio.gz in that directory; scripts/kcompat.sh --guest).
if [ -n "${KARENA_GUEST_DIR:-}" ]; then
	g=$KARENA_GUEST_DIR
	# and the kernel arguments that kernel needs (debug-kernel.sh)
	[ -f "$g/cmdline" ] && guest_args=$(cat "$g/cmdline")
else
	g="$top/build/guest"
	"$top/scripts/vm/fetch-kernel.sh"
	"$top/scripts/vm/mkinitramfs.sh"
fi
rm -f "$out/rc"
# log_buf_len: the suites check the kernel log from a line count taken at
# their start; the default ring (128 KiB on the debug kernel) wraps during
# a 1,000,000-operation fuzz run, which cuts reports in two and loses
# lines (a suite then fails on half an OOM report).  8 MiB is 64 times it.
# The console is what the user sees (make demo) and what the logs keep:
# the firmware's noise is filtered out of it.  SeaBIOS's serial console
# writes its banner, "Booting from ROM.." and terminal control sequences
# (ESC c resets the terminal, ESC [2J clears it, ESC [?7l turns line
# wrapping off); the kernel's last word at power-off ("reboot: Power
# down", or "Restarting system" where init reboots; the debug kernel
# prints no timestamps) goes too.
set +e
{
timeout -k 10 "$tmo" qemu-system-x86_64 \
	-accel tcg -cpu max -m "${KARENA_VM_MEM:-2G}" -smp "${KARENA_VM_CPUS:-2}" \
	-nographic -monitor none -serial stdio -no-reboot -nic none -vga none \
	-kernel "$g/vmlinuz" -initrd "$g/initramfs.cpio.gz" \
	-append "console=ttyS0 quiet loglevel=4 panic=-1 no_timer_check log_buf_len=8M ${guest_args:-} ${KARENA_VM_APPEND:-}" \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
	-virtfs local,path="$out",mount_tag=out,security_model=none,multidevs=remap \
	</dev/null
echo $? >"$out/qemu.rc"
} | sed -u -e 's/\x1bc//g; s/\x1b\[[0-9;?]*[A-Za-z]//g' -e '/^SeaBIOS (version /d' \
	-e 's/^Booting from ROM\.*//' -e '/^\.\.*\r*$/d' \
	-e '/^\(\[ *[0-9.]*\] \)\{0,1\}reboot: \(Power down\|Restarting system\)/d'
qrc=$(cat "$out/qemu.rc")
set -e
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	echo "boot.sh: guest did not finish within ${tmo}s: killed" >&2
	exit 124
fi
if [ ! -s "$out/rc" ]; then
	echo "boot.sh: guest stopped without a result (qemu exit $qrc): panic or boot failure" >&2
	exit 125
fi
exit "$(cat "$out/rc")"
