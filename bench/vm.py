#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make -C bench vm: kernel-path ratios inside the QEMU test guest.

Boots the guest once with scripts/vm/guest-run.sh (module loaded) and runs
  1. out/kbench: Ready fault vs anonymous fault, USED|POPULATE vs
     MADV_POPULATE_WRITE, scattered release via madvise loop vs ioctl loop
     vs KARENA_IOC_VEC vs io_uring (see kbench.c);
  2. vm_e2e.sh: real programs (python3, sqlite3, gcc) and the allocator
     workloads under LD_PRELOAD=lib/libkarena.so with KARENA_BACKEND=dev
     and =mmap, interleaved, VM_REPS times each: time, page faults, THP
     faults, syscalls, peak RSS (table: vm_e2e.py), and karena-faults /
     karena-trace on the demo's JSON workload.
Everything is reported as ratios within the one guest run (TCG: absolute
times are meaningless).  Writes results/vm-latest.md (+ raw output in
out/vm/).  Env: VM_REPS (3), VM_SCALE (0.05), E2E_ONLY (program names),
VM_KBENCH=0 (skip kbench), KBENCH_PAGES, KBENCH_REPS, BENCH_VM_RAW=DIR (skip booting; parse an
earlier out dir).
"""
import datetime
import os
import re
import subprocess
import sys

import vm_e2e

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get("TOP") or os.path.dirname(HERE)
OUTDIR = os.path.join(HERE, "out", "vm")
RES = os.environ.get("BENCH_OUT") or os.path.join(HERE, "results")
REPS = int(os.environ.get("VM_REPS") or 3)
SCALE = os.environ.get("VM_SCALE") or "0.05"

GUEST_CMD = r"""
o=$KARENA_OUT
B=$TOP/bench/out
{ uname -r; ls -l /dev/karena; grep -m1 'model name' /proc/cpuinfo; nproc; } > $o/env.txt 2>&1
if [ "%(kbench)s" != 0 ]; then
  KBENCH_PAGES=%(pages)s KBENCH_REPS=%(kreps)s $B/kbench > $o/kbench.txt 2>&1
  echo "rc=$?" >> $o/kbench.txt
fi
E2E_REPS=%(reps)s VM_SCALE=%(scale)s E2E_ONLY='%(only)s' sh $TOP/bench/vm_e2e.sh
"""


def kv(line):
    return dict(m.groups() for m in re.finditer(r"(\w+)=(\S+)", line))


def tool_excerpts(read):
    """karena-faults (both backends) and karena-trace's summary (dev) of the
    demo's JSON workload, as the guest printed them."""
    L = ["\n## The JSON workload under the tools\n", "```"]
    for be in ("mmap", "dev"):
        out = [l for l in read(f"e2e/faults.json.{be}.txt").splitlines()
               if l.startswith(("PID", " ")) or re.match(r"\d+\s", l)]
        L.append(f"# karena-faults, KARENA_BACKEND={be}")
        L += out[:4] or ["(no output)"]
    trace = read("e2e/trace.json.dev.txt").splitlines()
    ops = {}
    for l in trace:
        f = l.split()
        if len(f) > 5 and f[4] == "transition":
            ops[f[5]] = ops.get(f[5], 0) + 1
    L.append("# karena-trace -T, KARENA_BACKEND=dev: first lines, then transitions by op")
    L += [l for l in trace if l.startswith("TIME")][:1]
    L += [l for l in trace if len(l.split()) > 5 and l.split()[4] == "transition"][:6]
    L.append("  ".join(f"{k}={v}" for k, v in sorted(ops.items())) or "(no output)")
    L += [l for l in trace if l.startswith("# total")][:1]
    L.append("```")
    return L


def main():
    raw = os.environ.get("BENCH_VM_RAW")
    rc = 0
    if not raw:
        gr = os.path.join(TOP, "scripts", "vm", "guest-run.sh")
        if not os.path.exists(gr):
            print("bench vm: scripts/vm/guest-run.sh missing", file=sys.stderr)
            return 1
        cmd = GUEST_CMD % {
            "pages": os.environ.get("KBENCH_PAGES", "1024"),
            "kreps": os.environ.get("KBENCH_REPS", "7"),
            "reps": REPS, "scale": SCALE, "kbench": os.environ.get("VM_KBENCH", "1"),
            "only": re.sub(r"[^\w ]", "", os.environ.get("E2E_ONLY", "")),
        }
        env = dict(os.environ, KARENA_VM_OUT=OUTDIR)
        env.setdefault("KARENA_VM_TIMEOUT", "5400")    # TCG on a busy host
        print("bench vm: booting the guest (TCG, takes a few minutes)", file=sys.stderr)
        p = subprocess.run([gr, cmd], env=env)
        rc = p.returncode
        raw = OUTDIR
    scratch = os.path.join(raw, "scratch")

    def read(name):
        try:
            with open(os.path.join(scratch, name)) as f:
                return f.read()
        except OSError:
            return ""

    envt = read("env.txt").strip().splitlines()
    kb = [kv(l) | {"_line": l} for l in read("kbench.txt").splitlines() if l.startswith("KBENCH")]

    L = ["# karena kernel-path benchmarks (QEMU guest)\n"]
    L.append(f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}; "
             f"guest: {', '.join(envt[:1] + envt[2:4]) if envt else 'no guest output'}")
    L.append(f"- guest-run.sh exit status: {rc}")
    L.append("- QEMU TCG (no KVM): only the RATIOS below mean anything, each between two "
             "variants measured in the same guest run, interleaved rep by rep (medians).")
    L.append("- reproduce: `make bench-vm` (= `make -C bench vm`); raw output in bench/out/vm/scratch/\n")

    info = next((k for k in kb if k.get("test") == "info"), {})
    conf = next((k for k in kb if k.get("test") == "config"), {})
    L.append(f"- device: `{info.get('_line', 'no kbench output').replace('KBENCH ', '')}`")
    if conf:
        L.append(f"- N = {conf.get('pages')} pages, {conf.get('reps')} reps\n")

    titles = {
        "fault": ("Ready fault from the per-CPU cache vs anonymous fault (touch N pages)",
                  "anon_touch"),
        "populate": ("USED with KARENA_F_POPULATE vs MADV_POPULATE_WRITE (N pages)",
                     "madv_populate_write"),
        "populate_touch": ("make N pages ready and write them (base: anonymous + "
                           "MADV_POPULATE_WRITE); faults per page from getrusage",
                           "anon_madv_populate_touch"),
        "release": ("release N scattered 1-page ranges (base: N madvise(MADV_DONTNEED) calls)",
                    "madvise_dontneed_loop"),
    }
    L.append("| test | variant | ratio to base (lower = faster) | ns/page (guest, indicative) "
             "| faults/page |")
    L.append("|---|---|---|---|---|")
    for t, (title, base) in titles.items():
        rows = [k for k in kb if k.get("test") == t]
        if not rows:
            L.append(f"| {t} | — | n/a (no output) | | |")
            continue
        for k in rows:
            v = k.get("variant")
            fl = k.get("faults_per_page", "")
            if "na" in k:
                L.append(f"| {t} | {v} | n/a ({k['na']}) | | |")
            elif v == base:
                L.append(f"| {t} | {v} (base) | 1.00 | {float(k['per_page_ns']):.0f} | {fl} |")
            else:
                r = k.get("ratio")
                L.append(f"| {t} | {v} | {float(r):.2f} | {float(k['per_page_ns']):.0f} | {fl} |"
                         if r else f"| {t} | {v} | n/a (base failed) | {k['per_page_ns']} | {fl} |")
    for st in (k for k in kb if k.get("test") == "stats"):
        L.append(f"\nkbench file stats: `{st['_line'].replace('KBENCH ', '')}`")
    try:
        with open(os.path.join(raw, "dmesg.txt"), errors="replace") as f:
            warns = [l.strip() for l in f if re.search(r"WARNING:|BUG:|Oops|general protection", l)]
    except OSError:
        warns = []
    if warns:
        L.append("\n**kernel warnings during the run** (dmesg, first 3): " +
                 " / ".join(f"`{w[:160]}`" for w in warns[:3]))
    L.append("\nWhat the rows mean: see the header comment of bench/kbench.c.\n")

    L.append("## End to end: KARENA_BACKEND=dev vs mmap\n")
    L += vm_e2e.report(scratch)
    L += tool_excerpts(read)
    os.makedirs(RES, exist_ok=True)
    with open(os.path.join(RES, "vm-latest.md"), "w") as f:
        f.write("\n".join(L) + "\n")
    print("\n".join(L))
    return 0 if kb or os.environ.get("VM_KBENCH") == "0" else 1


if __name__ == "__main__":
    sys.exit(main())
