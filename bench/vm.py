#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make -C bench vm: kernel-path ratios inside the QEMU test guest.

Boots the guest once with scripts/vm/guest-run.sh (module loaded) and runs
  1. out/kbench: Ready fault vs anonymous fault, USED|POPULATE vs
     MADV_POPULATE_WRITE, scattered release via madvise loop vs ioctl loop
     vs KARENA_IOC_VEC vs io_uring (see kbench.c);
  2. allocator workloads under LD_PRELOAD=lib/libkarena.so with
     KARENA_BACKEND=dev and =mmap, interleaved, VM_REPS times each.
Everything is reported as ratios within the one guest run (TCG: absolute
times are meaningless).  Writes results/vm-latest.md (+ raw output in
out/vm/).  Env: VM_REPS (3), VM_SCALE (0.05), KBENCH_PAGES, KBENCH_REPS,
BENCH_VM_RAW=DIR (skip booting; parse an earlier out dir).
"""
import datetime
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get("TOP") or os.path.dirname(HERE)
OUTDIR = os.path.join(HERE, "out", "vm")
RES = os.environ.get("BENCH_OUT") or os.path.join(HERE, "results")
REPS = int(os.environ.get("VM_REPS") or 3)
SCALE = os.environ.get("VM_SCALE") or "0.05"
WLS = ["sizeclass", "larson", "xthread", "frag", "large"]

GUEST_CMD = r"""
o=$KARENA_OUT
B=$TOP/bench/out
L=$TOP/lib/libkarena.so
{ uname -r; ls -l /dev/karena; grep -m1 'model name' /proc/cpuinfo; nproc; } > $o/env.txt 2>&1
KBENCH_PAGES=%(pages)s KBENCH_REPS=%(kreps)s $B/kbench > $o/kbench.txt 2>&1
echo "rc=$?" >> $o/kbench.txt
: > $o/alloc.txt
if [ -f "$L" ]; then
  for be in mmap dev; do
    n=$(KARENA_BACKEND=$be LD_PRELOAD=$L sh -c 'grep -c /dev/karena /proc/$$/maps')
    echo "MAPS be=$be karena_mappings=$n" >> $o/alloc.txt
  done
  for rep in $(seq %(reps)s); do
    for wl in %(wls)s; do
      for be in mmap dev; do
        r=$(KARENA_BACKEND=$be BENCH_SETTLE_MS=200 LD_PRELOAD=$L $B/wl_$wl %(scale)s 2>>$o/alloc.err)
        echo "RUN be=$be rep=$rep rc=$? $r" >> $o/alloc.txt
      done
    done
  done
else
  echo "NOLIB" >> $o/alloc.txt
fi
"""


def kv(line):
    return dict(m.groups() for m in re.finditer(r"(\w+)=(\S+)", line))


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
            "reps": REPS, "wls": " ".join(WLS), "scale": SCALE,
        }
        env = dict(os.environ, KARENA_VM_OUT=OUTDIR)
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
    alloc = read("alloc.txt").splitlines()

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
        "release": ("release N scattered 1-page ranges (base: N madvise(MADV_DONTNEED) calls)",
                    "madvise_dontneed_loop"),
    }
    L.append("| test | variant | ratio to base (lower = faster) | ns/page (guest, indicative) |")
    L.append("|---|---|---|---|")
    for t, (title, base) in titles.items():
        rows = [k for k in kb if k.get("test") == t]
        if not rows:
            L.append(f"| {t} | — | n/a (no output) | |")
            continue
        for k in rows:
            v = k.get("variant")
            if "na" in k:
                L.append(f"| {t} | {v} | n/a ({k['na']}) | |")
            elif v == base:
                L.append(f"| {t} | {v} (base) | 1.00 | {float(k['per_page_ns']):.0f} |")
            else:
                r = k.get("ratio")
                L.append(f"| {t} | {v} | {float(r):.2f} | {float(k['per_page_ns']):.0f} |"
                         if r else f"| {t} | {v} | n/a (base failed) | {k['per_page_ns']} |")
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

    L.append("## allocator workloads: KARENA_BACKEND=dev vs mmap (time ratio dev/mmap)\n")
    if not alloc:
        L.append("n/a: no output from the guest\n")
    elif alloc[0] == "NOLIB":
        L.append("n/a: lib/libkarena.so not built\n")
    else:
        maps = {kv(l)["be"]: kv(l).get("karena_mappings") for l in alloc if l.startswith("MAPS")}
        L.append(f"/dev/karena mappings in a preloaded sh: mmap backend {maps.get('mmap')}, "
                 f"dev backend {maps.get('dev')} (0 under dev means it fell back to mmap)\n")
        if maps.get("dev") in ("0", None):
            L.append("**n/a: KARENA_BACKEND=dev fell back to the mmap backend** (lib's dev "
                     "backend unavailable), so the ratios below compare mmap with mmap and "
                     "only show the run-to-run noise of the guest.\n")
        runs = {}
        fails = {}
        for l in alloc:
            if not l.startswith("RUN"):
                continue
            d = kv(l)
            wl = d.get("wl")
            if d.get("rc") != "0" or "time_s" not in d:
                fails.setdefault(d.get("be"), []).append(l[:120])
                continue
            runs.setdefault((wl, d["be"]), []).append(d)
        L.append(f"scale {SCALE}, {REPS} reps (median)\n")
        L.append("| workload | dev/mmap time | dev/mmap frag rss_freed | mmap time (s) |")
        L.append("|---|---|---|---|")
        for wl in WLS:
            m, d = runs.get((wl, "mmap")), runs.get((wl, "dev"))
            if not m or not d:
                L.append(f"| {wl} | n/a (failed: mmap {len(m or [])}, dev {len(d or [])} ok runs) | | |")
                continue
            tm = statistics.median(float(x["time_s"]) for x in m)
            td = statistics.median(float(x["time_s"]) for x in d)
            rss = ""
            if wl == "frag":
                rm = statistics.median(float(x["rss_freed_kb"]) for x in m)
                rd = statistics.median(float(x["rss_freed_kb"]) for x in d)
                rss = f"{rd / rm:.2f}" if rm else ""
            L.append(f"| {wl} | {td / tm:.2f} | {rss} | {tm:.3f} |")
        if fails:
            L.append("\nfailed runs:")
            for be, ls in fails.items():
                for l in ls[:5]:
                    L.append(f"- {be}: `{l}`")
        err = read("alloc.err").strip().splitlines()
        if err:
            L.append("\nstderr (first lines): " + " / ".join(f"`{e[:100]}`" for e in err[:5]))
    os.makedirs(RES, exist_ok=True)
    with open(os.path.join(RES, "vm-latest.md"), "w") as f:
        f.write("\n".join(L) + "\n")
    print("\n".join(L))
    return 0 if kb else 1


if __name__ == "__main__":
    sys.exit(main())
