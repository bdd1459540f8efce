#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# selftests/fuzz in the guest (karena.ko loaded, root): the fuzzer under
# the chaos driver, then the end-state checks; TAP on stdout.
#
#   KARENA_FUZZ_OPS=N        operations (default 150000: under a minute
#                            of TCG on a quiet machine; `make fuzz` runs 1,000,000)
#   KARENA_FUZZ_SEED=S       reproduce a run (the seed is printed)
#   KARENA_FUZZ_HOTPLUG_URING=1  io_uring commands while CPU 1 goes offline
#                            and online (off by default: issue 17 item 0
#                            oopses today's module; two phases instead)
#
# Half the workers run in a 64 MiB memcg, one in three as nobody.  A hang is caught by fuzz's own
# watchdog (120 s without progress: kernel stacks and sysrq-w into dmesg),
# with hung_task_timeout_secs lowered so the kernel reports it too.
# The module is unloaded by the settle check and loaded again at the end.
dir=$(cd "$(dirname "$0")" && pwd)
TOP=${TOP:-$(cd "$dir/../.." && pwd)}
. "$TOP/selftests/ksft.sh"
out=${KARENA_OUT:-/tmp}
ops=${KARENA_FUZZ_OPS:-150000}
seed=${KARENA_FUZZ_SEED:-$(( $(date +%s) ^ $$ ))}
ko=${KARENA_MODULE:-$TOP/kmod/karena.ko}
n=0 rc=0
ok()  { n=$((n + 1)); echo "ok $n $1"; }
nok() { n=$((n + 1)); echo "not ok $n $1"; rc=1; }

echo "TAP version 13"
for b in fuzz chaos; do
	[ -x "$dir/$b" ] || { nok "fuzz: $b not built (make -C selftests/fuzz)"; echo "1..$n"; exit 1; }
done
[ "$(id -u)" = 0 ] && [ -d /sys/module/karena ] ||
	{ echo "ok 1 fuzz # SKIP needs root and karena.ko loaded"; echo "1..1"; exit 4; }	# kselftest's skip
ksft_dmesg_mark fuzz-$$
ht=/proc/sys/kernel/hung_task_timeout_secs
[ -w $ht ] && { read -r ht_old <$ht; echo 30 >$ht; }

cg=/sys/fs/cgroup/karena-fuzz
cgopt=
if grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null &&
   echo +memory >/sys/fs/cgroup/cgroup.subtree_control && mkdir -p $cg &&
   echo 64M >$cg/memory.max; then
	cgopt="-m $cg"
else
	echo "# no memory cgroup: every worker in the root cgroup"
fi

# phase NAME OPS CHAOS_FLAGS FUZZ_FLAGS: the fuzzer with chaos alongside.
phase() {
	"$dir/chaos" $3 -s "$seed" >"$out/chaos-$1.log" 2>&1 &
	cpid=$!
	"$dir/fuzz" -s "$seed" -n "$2" -p 3 -t 2 $cgopt -u 65534 -o "$out/fuzz.progress" $4 \
		>"$out/fuzz-$1.log" 2>&1
	frc=$?
	kill -TERM $cpid; wait $cpid
	crc=$?
	sed 's/^/# /; s/^# # /# /' "$out/fuzz-$1.log" | head -n 60
	sed 's/^/# /; s/^# # /# /' "$out/chaos-$1.log"
	if [ $frc = 0 ]; then
		ok "fuzz ($1): $2 operations, no failure, no hang"
	else
		nok "fuzz ($1): $2 operations, no failure, no hang (exit $frc)"
	fi
	if [ $crc = 0 ]; then
		ok "chaos ($1): every rmmod refused while a file was open"
	else
		nok "chaos ($1): every rmmod refused while a file was open"
	fi
}

if [ "${KARENA_FUZZ_HOTPLUG_URING:-0}" = 1 ]; then
	phase all "$ops" "-H -i 100" ""
else
	phase hotplug $((ops / 2)) "-H -i 100" -U
	phase uring $((ops - ops / 2)) "" ""
fi
rmdir $cg 2>/dev/null
# What the module saw (event counters are cumulative since load).
line="# karena counters:"
for f in /sys/kernel/karena/*; do read -r v <"$f" && line="$line ${f##*/}=$v"; done
echo "$line"

"$dir/chaos" settle $n >"$out/settle.log" 2>&1 || rc=1
cat "$out/settle.log"
n=$((n + $(grep -c '^\(not \)\{0,1\}ok ' "$out/settle.log")))

ksft_dmesg_since fuzz-$$ >"$out/fuzz-dmesg.txt"
if "$TOP/scripts/vm/dmesg-check.sh" "$out/fuzz-dmesg.txt" 2>"$out/dmesg-problems.txt"; then
	ok "fuzz: kernel log clean (no WARN/BUG/oops/KASAN/lockdep/hung task)"
else
	nok "fuzz: kernel log clean (no WARN/BUG/oops/KASAN/lockdep/hung task)"
	sed 's/^/# /' "$out/dmesg-problems.txt" | head -n 60
fi
[ -n "${ht_old:-}" ] && echo "$ht_old" >$ht
[ -d /sys/module/karena ] || insmod "$ko" ${KARENA_MOD_PARAMS:-} || nok "fuzz: insmod $ko again"
echo "1..$n"
exit $rc
