# SPDX-License-Identifier: GPL-2.0
"""The end-to-end table of make bench-vm, from the output of vm_e2e.sh.

report(scratch_dir) returns markdown lines: per program, KARENA_BACKEND=dev
against =mmap in the same guest run.

  time      median over reps of the per-rep ratio dev/mmap (the two runs of
            a rep are adjacent), with the range over reps; the workload's
            own time_s when it prints one (the work without the program's
            start-up), else the user+sys CPU time of the process and its
            children: in the guest, wall time is dominated by reading the
            host's files over 9p (python's modules, cc1), the same for
            both backends and very noisy
  faults    minor page faults from wait4 (children included), median
  THP       transparent huge pages allocated by faults during the run
            (/proc/vmstat thp_fault_alloc; the whole guest, so mostly the
            program)
  faults/MiB  faults per MiB touched, "touched" being the peak RSS (every
            page the program held at its peak was faulted in at least once;
            pages released and faulted again count once in the MiB but every
            time in the faults): one fault per 4 KiB page = 256, one per
            2 MiB = 0.5.  The target of issue 16 is dev at most 1/8 of mmap
  heap faults  the faults on the heap alone: on dev the module's count of
            Ready faults during the run (/sys/kernel/karena/faults); the
            program's other faults (its code, stacks, libc, the allocator's
            metadata) are then minflt - that, and the mmap backend's heap
            faults are its minflt minus those other faults of the dev run
            (the same program; an estimate, clamped at 0)
  syscalls  all system calls of one extra run under strace -f -c, and the
            ioctl + madvise among them (the backends' own calls)
  peak RSS  ru_maxrss from wait4, median
"""
import os
import re
import statistics

PROGS = ["json", "python", "sqlite", "gcc", "rounds",
         "sizeclass", "larson", "xthread", "frag", "large"]
WHAT = {
    "json": "python3: the demo's JSON workload (20,000 documents), PYTHONMALLOC=malloc",
    "python": "python3: bench/wl_python.py (objects, dicts, sorting, JSON, strings), PYTHONMALLOC=malloc",
    "sqlite": "sqlite3: joins, group by, sorts, temp index, rolled-back updates (gen_sqlite.py, scale 0.05)",
    "gcc": "gcc -O2 -c lib/mheap.c (cc1 and as preloaded too)",
    "rounds": "4 rounds: allocate 24 MiB in 16 B-64 KiB and write it, free half and redo, free all, malloc_trim, pause",
}


def kv(line):
    return dict(m.groups() for m in re.finditer(r"(\w+)=(\S+)", line))


def strace_counts(path):
    """(total calls, ioctl calls, madvise calls) from strace -c output."""
    calls = {}
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 5 and parts[3].isdigit():
                    calls[parts[-1]] = int(parts[3])
    except OSError:
        return None
    if "total" not in calls:
        return None
    return calls["total"], calls.get("ioctl", 0), calls.get("madvise", 0)


def med(runs, key):
    vals = [float(r[key]) for r in runs if key in r]
    return statistics.median(vals) if vals else None


def run_time(r):
    return float(r["time_s"]) if "time_s" in r else float(r["cpu_s"])


def time_ratios(m, d):
    """Per-rep dev/mmap ratios of the reps where both runs succeeded."""
    bm = {r["rep"]: run_time(r) for r in m}
    bd = {r["rep"]: run_time(r) for r in d}
    return [bd[k] / bm[k] for k in sorted(bm) if k in bd and bm[k] > 0]


def fmt(v, spec=".0f"):
    return "n/a" if v is None else format(v, spec)


def fmt_mib(v):
    """faults per MiB: one decimal below 10"""
    return fmt(v, ".1f" if v is not None and v < 10 else ".0f")


def per_mib(f, rss_kb):
    return f / (rss_kb / 1024) if f is not None and rss_kb else None


def heap_faults(m, d):
    """(mmap, dev) heap faults: dev's from the module, mmap's estimated."""
    kd, fd, fm = med(d, "kfaults"), med(d, "minflt"), med(m, "minflt")
    if kd is None or fd is None or fm is None:
        return None, None
    return max(fm - (fd - kd), 0), kd


def ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b else "n/a"


def row(prog, m, d, scratch):
    rs = time_ratios(m, d)
    fm, fd = med(m, "minflt"), med(d, "minflt")
    rm, rd = med(m, "maxrss_kb"), med(d, "maxrss_kb")
    tm, td = med(m, "thp"), med(d, "thp")
    per = [per_mib(fm, rm), per_mib(fd, rd)]
    hm, hd = heap_faults(m, d)
    hper = [per_mib(hm, rm), per_mib(hd, rd)]
    sc = [strace_counts(os.path.join(scratch, f"strace.{prog}.{be}.txt")) for be in ("mmap", "dev")]
    sys_s = ["n/a" if c is None else f"{c[0]} ({c[1] + c[2]})" for c in sc]
    t = (f"**{statistics.median(rs):.2f}** ({min(rs):.2f}-{max(rs):.2f})" if rs else "n/a")
    fr = f"{fd / fm:.2f}" if fm and fd is not None else "n/a"
    rr = f"{rd / rm:.2f}" if rm and rd is not None else "n/a"
    return (f"| {prog} | {t} | {fmt(fm)} / {fmt(fd)} | **{fr}** | {fmt(tm)} / {fmt(td)} | "
            f"{fmt_mib(per[0])} / {fmt_mib(per[1])} | **{ratio(per[1], per[0])}** | "
            f"{fmt(hm)} / {fmt(hd)} ({fmt(med(d, 'khuge'))}) | "
            f"{fmt_mib(hper[0])} / {fmt_mib(hper[1])} | **{ratio(hper[1], hper[0])}** | "
            f"{sys_s[0]} / {sys_s[1]} | "
            f"{fmt(rm and rm / 1024, '.1f')} / {fmt(rd and rd / 1024, '.1f')} | {rr} |")


def split_rows(runs):
    """The attribution table: each dev variant against the same mmap runs."""
    L = []
    for p in PROGS:
        if not runs.get((p, "dev-nolazy")):
            continue
        for be in ("dev", "dev-nolazy", "dev-nohuge", "dev-noscav"):
            base = "mmap-noscav" if be == "dev-noscav" else "mmap"
            m, d = runs.get((p, base)), runs.get((p, be))
            if not m or not d:
                continue
            rs = time_ratios(m, d)
            fm, fd = med(m, "minflt"), med(d, "minflt")
            rm, rd = med(m, "maxrss_kb"), med(d, "maxrss_kb")
            hm, hd = heap_faults(m, d)
            L.append(f"| {p} | {be} / {base} | {statistics.median(rs):.2f} | {fmt(fd)} ({fmt(med(d, 'kfaults'))}, "
                     f"{fmt(med(d, 'khuge'))} huge) | {ratio(per_mib(fd, rd), per_mib(fm, rm))} | "
                     f"{ratio(per_mib(hd, rd), per_mib(hm, rm))} | {fmt(rd and rd / 1024, '.1f')} | "
                     f"**{ratio(rd, rm)}** |" if rs else f"| {p} | {be} | n/a | | | | | |")
    if not L:
        return []
    return ["\nAttribution (E2E_SPLIT): the dev backend with the lazy release off "
            "(`KARENA_LAZY_RELEASE=0`), with huge blocks off (`KARENA_HUGEPAGE=0`), "
            "each against the same mmap runs, and both backends without the background "
            "scavenger (`KARENA_SCAVENGER=0`, `-noscav`) against each other.\n",
            "| program | backend / base | time | faults (heap: module, huge) | "
            "faults/MiB | heap faults/MiB | peak RSS MiB | peak RSS |",
            "|---|---|---|---|---|---|---|---|"] + L


def report(scratch):
    e2e = os.path.join(scratch, "e2e")
    try:
        with open(os.path.join(e2e, "runs.txt")) as f:
            lines = f.read().splitlines()
    except OSError:
        return ["n/a: no end-to-end output from the guest\n"]
    try:
        with open(os.path.join(e2e, "thp.txt")) as f:
            thp = f.read().strip()
    except OSError:
        thp = "?"
    maps = {kv(l)["be"]: kv(l).get("karena_mappings") for l in lines if l.startswith("MAPS")}
    runs, fails = {}, []
    for l in lines:
        if not l.startswith("E2E "):
            continue
        d = kv(l)
        if d.get("status") != "0":
            fails.append(l[:160])
            continue
        runs.setdefault((d["prog"], d["be"]), []).append(d)
    reps = max((int(d["rep"]) for rs in runs.values() for d in rs), default=0)
    L = [f"Guest THP setting: `{thp}` (Debian's default is `always`). /dev/karena "
         f"mappings in a preloaded sh: mmap backend {maps.get('mmap')}, dev backend "
         f"{maps.get('dev')}. {reps} reps per backend, interleaved. Each cell is "
         "mmap / dev; ratios are dev / mmap (lower = dev better).\n"]
    if maps.get("dev") in ("0", None):
        L.append("**KARENA_BACKEND=dev fell back to mmap**: the rows compare mmap with mmap.\n")
    L.append("| program | time dev/mmap (range) | faults | faults dev/mmap | THP faults | "
             "faults/MiB touched | dev/mmap | heap faults (dev huge) | heap faults/MiB | "
             "dev/mmap | syscalls (ioctl+madvise) | peak RSS MiB | RSS dev/mmap |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for p in PROGS:
        m, d = runs.get((p, "mmap")), runs.get((p, "dev"))
        if not m or not d:
            L.append(f"| {p} | n/a (ok runs: mmap {len(m or [])}, dev {len(d or [])}) "
                     "| | | | | | | | | | | |")
            continue
        L.append(row(p, m, d, e2e))
    L += split_rows(runs)
    L.append("")
    for p in PROGS:
        if p in WHAT:
            L.append(f"- {p}: {WHAT[p]}")
    L.append("- sizeclass .. large: the allocator workloads of `make bench` at scale "
             "VM_SCALE")
    L.append("- time: the workload's own time_s (json, python, rounds, sizeclass .. large) "
             "or user+sys CPU time (sqlite, gcc); wall time in the guest is dominated by "
             "9p reads of the host's files")
    if fails:
        L.append("\nfailed runs: " + " / ".join(f"`{f}`" for f in fails[:5]))
    return L
