#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# PID 1 of the karena test guest. Loads virtio-9p, mounts the host root
# read-only and a writable results share, chroots into the host root and
# runs /out/cmd.sh there. The result is written to /out/rc; the host
# trusts nothing else (a hang or panic leaves no rc and counts as failure).
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev

for m in /modules/*.ko; do	# numbered in load order by mkinitramfs.sh; none if built in
	[ -f "$m" ] || continue
	insmod $m || echo "karena-guest: insmod $m failed"
done

opts=trans=virtio,version=9p2000.L,msize=512000,cache=none
R=/host
mkdir -p $R
mount -t 9p -o ro,$opts hostroot $R || { echo "karena-guest: no host root"; poweroff -f; }
# A second view of the host root that the tmpfs mounts below do not cover,
# so a repo under /tmp, /var/tmp or /root stays reachable.
mkdir -p /hostview
mount -o bind $R /hostview
mount -t tmpfs -o mode=1777 tmp $R/tmp
mkdir -p $R/tmp/out
mount -t 9p -o $opts out $R/tmp/out || { echo "karena-guest: no out share"; poweroff -f; }
mount -t proc proc $R/proc
mount -t sysfs sys $R/sys
mount -t devtmpfs dev $R/dev
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts devpts $R/dev/pts
mount -t tmpfs -o mode=1777 shm $R/dev/shm
mount -t tmpfs run $R/run
mount -t debugfs debugfs $R/sys/kernel/debug
mount -t tracefs tracefs $R/sys/kernel/tracing 2>/dev/null
mount -t bpf bpf $R/sys/fs/bpf
mount -t cgroup2 cgroup2 $R/sys/fs/cgroup 2>/dev/null
# /root and /var/tmp are read-only on the host share; tools want a HOME.
mount -t tmpfs roothome $R/root
mount -t tmpfs vartmp $R/var/tmp
# The repo (path from the host, in /tmp/out/top) if a tmpfs now hides it.
top=$(cat $R/tmp/out/top 2>/dev/null)
if [ -n "$top" ] && [ ! -d "$R$top" ] && [ -d "/hostview$top" ]; then
	mkdir -p "$R$top" && mount -o bind "/hostview$top" "$R$top"
fi

echo "karena-guest: booted $(uname -r), running tests"
chroot $R /bin/sh /tmp/out/cmd.sh </dev/null >/dev/console 2>&1
echo "karena-guest: done"
sync
# Without ACPI a power-off only halts: reboot, which
# -no-reboot turns into QEMU exiting.
[ -d /sys/firmware/acpi ] || reboot -f
poweroff -f
