#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""karena benchmark runner: every workload under every allocator, in one run.

Allocators (all but glibc through LD_PRELOAD of the child only):
  glibc     no preload
  jemalloc  /usr/lib/x86_64-linux-gnu/libjemalloc.so.2
  tcmalloc  /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4
  mimalloc  /usr/lib/x86_64-linux-gnu/libmimalloc.so.2
  karena    $TOP/lib/libkarena.so with KARENA_BACKEND=mmap

Each (workload, allocator) is measured BENCH_REPS times (default 5; 2 with
BENCH_QUICK=1), interleaved rep by rep so background noise spreads over
all allocators; the median is reported.  Time is the workload's own
time_s (the measured work, without process start-up or settle sleeps)
when it prints one, else the wall time; peak RSS is the child's ru_maxrss
from wait4 (out/runit).

Environment: BENCH_REPS, BENCH_QUICK=1, BENCH_SCALE (default 1, quick 0.2),
BENCH_ALLOCS=comma list, BENCH_WORKLOADS=comma list, BENCH_OUT=dir
(default results/), BENCH_NO_INSTALL=1, BENCH_ICOUNT=0 (skip the callgrind
instruction table, icount.py), BENCH_TIMEOUT=s per run (300; a run
that times out or fails marks its cell FAIL).

Writes results/latest.csv, latest.md, latest.png (and a raw log in out/).
"""
import csv
import datetime
import math
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get("TOP") or os.path.dirname(HERE)
OUT = os.path.join(HERE, "out")
RES = os.environ.get("BENCH_OUT") or os.path.join(HERE, "results")
LIBDIR = "/usr/lib/x86_64-linux-gnu"
PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
REPS = int(os.environ.get("BENCH_REPS") or (2 if QUICK else 5))
SCALE = float(os.environ.get("BENCH_SCALE") or (0.2 if QUICK else 1.0))
TIMEOUT = int(os.environ.get("BENCH_TIMEOUT") or (120 if QUICK else 300))
SETTLE_MS = int(os.environ.get("BENCH_SETTLE_MS") or (300 if QUICK else 1000))

ALLOCATORS = [
    # name, preload, extra env, Debian package
    ("glibc", None, {}, None),
    ("jemalloc", f"{LIBDIR}/libjemalloc.so.2", {}, "libjemalloc2"),
    ("tcmalloc", f"{LIBDIR}/libtcmalloc_minimal.so.4", {}, "libtcmalloc-minimal4"),
    ("mimalloc", f"{LIBDIR}/libmimalloc.so.2", {}, "libmimalloc2.0"),
    ("karena", os.path.join(TOP, "lib", "libkarena.so"), {"KARENA_BACKEND": "mmap"}, None),
]

SQL_DB = os.path.join(OUT, "sqlite-bench.db")
SQL_SCRIPT = os.path.join(OUT, "sqlite-bench.sql")


def workloads():
    s = f"{SCALE:g}"
    w = [
        ("sizeclass", [f"{OUT}/wl_sizeclass", s], {}),
        ("xthread", [f"{OUT}/wl_xthread", s], {}),
        ("larson", [f"{OUT}/wl_larson", s], {}),
        ("frag", [f"{OUT}/wl_frag", s], {"BENCH_SETTLE_MS": str(SETTLE_MS)}),
        ("large", [f"{OUT}/wl_large", s], {}),
        ("mixed", [f"{OUT}/wl_mixed", s], {}),
        ("slots", [f"{OUT}/wl_slots", s], {}),
        ("server", [f"{OUT}/wl_server", s], {}),
        ("lifo", [f"{OUT}/wl_lifo", s], {}),
        ("bignum", [f"{OUT}/wl_bignum", s], {}),
        ("python", [PY, os.path.join(HERE, "wl_python.py"), s], {"PYTHONMALLOC": "malloc"}),
        ("sqlite", ["sh", "-c", f'exec sqlite3 "{SQL_DB}" < "{SQL_SCRIPT}"'], {}),
    ]
    only = os.environ.get("BENCH_WORKLOADS")
    if only:
        keep = only.split(",")
        w = [x for x in w if x[0] in keep]
    return w


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def ensure_packages():
    pkgs = [p for _, _, _, p in ALLOCATORS if p] + ["gnuplot-nox", "valgrind"]
    missing = []
    for p in pkgs:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", p],
                           capture_output=True, text=True)
        if r.returncode != 0 or "install ok installed" not in r.stdout:
            missing.append(p)
    if not missing:
        return
    if os.geteuid() != 0 or os.environ.get("BENCH_NO_INSTALL"):
        log(f"bench: missing packages {' '.join(missing)} (not root: not installing)")
        return
    log(f"bench: installing {' '.join(missing)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update"], env=env, check=False)
    subprocess.run(["apt-get", "install", "-y", "--no-install-recommends"] + missing,
                   env=env, check=False)


def parse_kv(line):
    return dict(m.groups() for m in re.finditer(r"(\w+)=(\S+)", line))


def run_one(cmd, preload, env_extra):
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env.update(env_extra)
    argv = [f"{OUT}/runit"] + (["-p", preload] if preload else []) + ["--"] + cmd
    p = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, start_new_session=True)
    try:
        out, err = p.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)    # runit and the workload: their own group
        out, err = p.communicate()
        err += f"\nbench: timeout after {TIMEOUT} s"
    p.stdout, p.stderr = out, err
    res, ru = None, None
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            res = parse_kv(line)
    for line in p.stderr.splitlines():
        if line.startswith("RUNIT "):
            ru = parse_kv(line)
    ok = ru is not None and ru.get("status") == "0" and res is not None
    return ok, res or {}, ru or {}, p.stdout + p.stderr


def machine_info():
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "glibc": platform.libc_ver()[1],
    }


def geomean(xs):
    xs = [x for x in xs if x and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def fmt_ratio(x):
    return "—" if x is None or x != x else f"{x:.2f}"


def main():
    ensure_packages()
    os.makedirs(RES, exist_ok=True)
    allocs = []
    want = os.environ.get("BENCH_ALLOCS")
    for name, lib, env, _ in ALLOCATORS:
        if want and name not in want.split(","):
            continue
        if lib and not os.path.exists(lib):
            log(f"bench: {name}: {lib} missing, skipped")
            continue
        allocs.append((name, lib, env))
    wls = workloads()
    if any(w[0] == "sqlite" for w in wls):
        log("bench: generating the sqlite database")
        subprocess.run([PY, os.path.join(HERE, "gen_sqlite.py"), SQL_DB, SQL_SCRIPT,
                        f"{SCALE:g}"], check=True)

    info = machine_info()
    load0 = os.getloadavg()
    log(f"bench: {len(wls)} workloads x {len(allocs)} allocators x {REPS} reps, "
        f"scale {SCALE:g}")
    samples = {}   # (wl, alloc) -> list of dicts
    fails = {}
    rawlog = open(os.path.join(OUT, "raw.log"), "w")
    t_start = time.time()
    for rep in range(REPS):
        for wname, cmd, wenv in wls:
            for aname, lib, aenv in allocs:
                env = dict(wenv)
                env.update(aenv)
                ok, res, ru, text = run_one(cmd, lib, env)
                rawlog.write(f"### rep={rep} wl={wname} alloc={aname} ok={ok}\n{text}\n")
                rawlog.flush()
                if not ok:
                    fails[(wname, aname)] = text.strip().splitlines()[-3:]
                    log(f"  {wname:10s} {aname:9s} FAILED: {' | '.join(fails[(wname, aname)])}")
                    continue
                s = {"wall_s": float(ru["wall_s"]), "maxrss_kb": int(ru["maxrss_kb"]),
                     "cpu_s": float(ru.get("cpu_s", "nan"))}
                s["time_s"] = float(res["time_s"]) if "time_s" in res else s["wall_s"]
                for k, v in res.items():
                    if k.startswith(("rss_", "ns_")):
                        s[k] = float(v)
                samples.setdefault((wname, aname), []).append(s)
                log(f"  rep {rep + 1}/{REPS} {wname:10s} {aname:9s} "
                    f"{s['time_s']:8.3f}s {s['maxrss_kb'] / 1024:8.1f}MiB")
    rawlog.close()
    elapsed = time.time() - t_start

    anames = [a[0] for a in allocs]
    wnames = [w[0] for w in wls]
    med = {}
    for key, ss in samples.items():
        if key in fails:     # a cell with any failed rep is reported as failed
            continue
        m = {k: statistics.median(s[k] for s in ss) for k in ss[0]}
        m["time_min"] = min(s["time_s"] for s in ss)
        m["time_max"] = max(s["time_s"] for s in ss)
        m["n"] = len(ss)
        med[key] = m

    tratio, rratio, cratio = {}, {}, {}
    for w in wnames:
        ts = [med[(w, a)]["time_s"] for a in anames if (w, a) in med]
        rs = [med[(w, a)]["maxrss_kb"] for a in anames if (w, a) in med]
        cs = [med[(w, a)]["cpu_s"] for a in anames if (w, a) in med]
        for a in anames:
            if (w, a) in med:
                tratio[(w, a)] = med[(w, a)]["time_s"] / min(ts)
                rratio[(w, a)] = med[(w, a)]["maxrss_kb"] / min(rs)
                cratio[(w, a)] = med[(w, a)]["cpu_s"] / min(cs) if min(cs) > 0 else float("nan")
    complete = [w for w in wnames if all((w, a) in med for a in anames)]
    gt = {a: geomean([tratio[(w, a)] for w in complete]) for a in anames}
    gr = {a: geomean([rratio[(w, a)] for w in complete]) for a in anames}
    gc = {a: geomean([cratio[(w, a)] for w in complete]) for a in anames}
    bc = min(gc.values()) if gc else 1
    gc = {a: v / bc for a, v in gc.items()}
    bt = min(gt.values()) if gt else 1
    br = min(gr.values()) if gr else 1
    gt = {a: v / bt for a, v in gt.items()}
    gr = {a: v / br for a, v in gr.items()}

    # CSV
    cols = ["workload", "allocator", "reps", "time_s_median", "time_s_min", "time_s_max",
            "wall_s_median", "cpu_s_median", "maxrss_kb_median", "time_ratio", "rss_ratio",
            "cpu_ratio",
            "rss_peak_kb", "rss_freed_kb", "rss_trim_kb", "status"]
    with open(os.path.join(RES, "latest.csv"), "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(cols)
        for w in wnames:
            for a in anames:
                m = med.get((w, a))
                if not m:
                    wr.writerow([w, a, 0] + [""] * (len(cols) - 4) + ["failed"])
                    continue
                wr.writerow([w, a, m["n"], f"{m['time_s']:.6f}", f"{m['time_min']:.6f}",
                             f"{m['time_max']:.6f}", f"{m['wall_s']:.6f}",
                             f"{m['cpu_s']:.6f}",
                             int(m["maxrss_kb"]), f"{tratio[(w, a)]:.4f}",
                             f"{rratio[(w, a)]:.4f}", f"{cratio[(w, a)]:.4f}",
                             int(m["rss_peak_kb"]) if "rss_peak_kb" in m else "",
                             int(m["rss_freed_kb"]) if "rss_freed_kb" in m else "",
                             int(m["rss_trim_kb"]) if "rss_trim_kb" in m else "", "ok"])
        for a in anames:
            wr.writerow(["geomean", a, "", "", "", "", "", "", "", f"{gt[a]:.4f}",
                         f"{gr[a]:.4f}", f"{gc[a]:.4f}", "", "", "", "ok"])

    # Markdown
    L = []
    L.append("# karena benchmark results\n")
    L.append(f"- machine: {info['cpu']}, {info['cores']} cores, kernel {info['kernel']}, "
             f"glibc {info['glibc']}")
    load1 = os.getloadavg()
    L.append(f"- date: {info['date']}; run took {elapsed / 60:.1f} min; load average "
             f"{load0[0]:.1f} at start, {load1[0]:.1f} at end (host shared with other jobs)")
    L.append(f"- config: {REPS} reps per cell (median), scale {SCALE:g}"
             f"{' (BENCH_QUICK)' if QUICK else ''}, frag settle {SETTLE_MS} ms; "
             f"karena with KARENA_BACKEND=mmap")
    L.append("- reproduce: `make bench` (full) or `BENCH_QUICK=1 make bench`; "
             "raw numbers in latest.csv\n")
    L.append("## Time, normalised to the best allocator per workload (1.00 = best, lower is better)\n")
    L.append("| workload | " + " | ".join(anames) + " | best (s) |")
    L.append("|---" * (len(anames) + 2) + "|")
    for w in wnames:
        row = [fmt_ratio(tratio.get((w, a))) if (w, a) in med else "FAIL" for a in anames]
        ts = [med[(w, a)]["time_s"] for a in anames if (w, a) in med]
        L.append(f"| {w} | " + " | ".join(row) + f" | {min(ts):.3f} |" if ts else
                 f"| {w} | " + " | ".join(row) + " | — |")
    L.append("| **geomean** | " + " | ".join(f"**{fmt_ratio(gt[a])}**" for a in anames) + " | |")
    L.append("")
    L.append("## CPU time (user+sys of the whole process, from wait4), normalised to the best\n")
    L.append("Less sensitive than wall time to other jobs on a shared host; includes start-up "
             "and, for frag, the settle phase; threads spinning or blocking show up differently "
             "than in wall time.\n")
    L.append("| workload | " + " | ".join(anames) + " |")
    L.append("|---" * (len(anames) + 1) + "|")
    for w in wnames:
        L.append(f"| {w} | " + " | ".join(
            fmt_ratio(cratio.get((w, a))) if (w, a) in med else "FAIL" for a in anames) + " |")
    L.append("| **geomean** | " + " | ".join(f"**{fmt_ratio(gc[a])}**" for a in anames) + " |")
    L.append("")
    L.append("## Peak RSS (ru_maxrss), normalised to the smallest per workload\n")
    L.append("| workload | " + " | ".join(anames) + " | smallest (MiB) |")
    L.append("|---" * (len(anames) + 2) + "|")
    for w in wnames:
        row = [fmt_ratio(rratio.get((w, a))) if (w, a) in med else "FAIL" for a in anames]
        rs = [med[(w, a)]["maxrss_kb"] for a in anames if (w, a) in med]
        L.append(f"| {w} | " + " | ".join(row) +
                 (f" | {min(rs) / 1024:.1f} |" if rs else " | — |"))
    L.append("| **geomean** | " + " | ".join(f"**{fmt_ratio(gr[a])}**" for a in anames) + " | |")
    L.append("")
    if "frag" in wnames:
        L.append("## frag: RSS in MiB (allocate ~256 MiB × scale, free 90%)\n")
        L.append("`peak` after allocating; `freed` after the frees and a "
                 f"{SETTLE_MS} ms sleep (background scavenger / decay only); `trim` after "
                 "malloc_trim(0) + the allocator's own release call (see wl_frag.c)\n")
        L.append("| allocator | peak | freed | trim |")
        L.append("|---|---|---|---|")
        for a in anames:
            m = med.get(("frag", a))
            if m:
                L.append(f"| {a} | {m['rss_peak_kb'] / 1024:.1f} | {m['rss_freed_kb'] / 1024:.1f}"
                         f" | {m['rss_trim_kb'] / 1024:.1f} |")
            else:
                L.append(f"| {a} | FAIL | | |")
        L.append("")
    if "sizeclass" in wnames:
        keys = None
        for a in anames:
            m = med.get(("sizeclass", a))
            if m:
                keys = sorted((k for k in m if k.startswith("ns_")), key=lambda k: int(k[3:]))
                break
        if keys:
            L.append("## sizeclass: ns per malloc+free pair, by size (median)\n")
            L.append("| size | " + " | ".join(anames) + " |")
            L.append("|---" * (len(anames) + 1) + "|")
            for k in keys:
                L.append(f"| {k[3:]} | " + " | ".join(
                    f"{med[('sizeclass', a)][k]:.1f}" if ("sizeclass", a) in med else "—"
                    for a in anames) + " |")
            L.append("")
    if os.environ.get("BENCH_ICOUNT", "1") != "0" and shutil.which("valgrind"):
        import icount
        log("bench: instructions per pair under callgrind")
        per_pair, inames = icount.measure()
        itab = icount.table(per_pair, inames)
        with open(os.path.join(RES, "icount.md"), "w") as f:
            f.write("\n".join(itab) + "\n")
        L.extend(itab)
    if fails:
        L.append("## Failures\n")
        for (w, a), lines in sorted(fails.items()):
            L.append(f"- {w} / {a}: `{' | '.join(lines)[:300]}`")
        L.append("")
    L.append("## Notes\n")
    L.append("- Times are each workload's own measured work (`time_s` in its RESULT line; "
             "sqlite: wall time of the sqlite3 process). Spread (min..max over reps) is in "
             "latest.csv.")
    L.append("- The host is shared (2 vCPUs, other jobs running): trust ratios within this "
             "run, not absolute times; threaded workloads are the noisiest.")
    L.append("- python runs /usr/bin/python3 with PYTHONMALLOC=malloc so objects reach the "
             "allocator; sqlite runs sqlite3 on a generated database (gen_sqlite.py).")
    L.append("- geomeans cover workloads where every allocator succeeded"
             + (f" ({', '.join(complete)})" if len(complete) != len(wnames) else "") + ".")
    with open(os.path.join(RES, "latest.md"), "w") as f:
        f.write("\n".join(L) + "\n")

    plot(wnames, anames, tratio, gt)
    sys.stdout.write("\n".join(L) + "\n")
    return 1 if fails else 0


def plot(wnames, anames, tratio, gt):
    gp = shutil.which("gnuplot")
    if not gp:
        log("bench: gnuplot missing, no latest.png")
        return
    dat = os.path.join(OUT, "latest.dat")
    with open(dat, "w") as f:
        f.write("workload " + " ".join(anames) + "\n")
        for w in wnames + ["geomean"]:
            vals = [gt[a] if w == "geomean" else tratio.get((w, a), float("nan"))
                    for a in anames]
            f.write(w + " " + " ".join("NaN" if v != v else f"{v:.4f}" for v in vals) + "\n")
    png = os.path.join(RES, "latest.png")
    script = f"""
set terminal pngcairo size 1200,600 noenhanced font 'sans,10'
set output '{png}'
set title 'karena bench: time normalised to the best allocator per workload (lower is better)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set ylabel 'time / best'
set yrange [0:*]
set grid ytics
set key top left
set xtics rotate by -30
plot for [i=2:{len(anames) + 1}] '{dat}' using i:xtic(1) title columnheader
"""
    r = subprocess.run([gp], input=script, text=True, capture_output=True)
    if r.returncode != 0:
        script = script.replace("pngcairo", "png")
        r = subprocess.run([gp], input=script, text=True, capture_output=True)
    if r.returncode != 0:
        log(f"bench: gnuplot failed: {r.stderr.strip()[:300]}")


if __name__ == "__main__":
    sys.exit(main())
