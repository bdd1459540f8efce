#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Judge the outputs run_guest.sh collected and print the TAP results.

  check.py OUTDIR HAVE_LINKED(0|1) HAVE_LIB(0|1) [PREFIX]

With PREFIX only the tests whose description starts with it run
(run_native.sh: "karena-allocs", traced on a host without the module).

Every tool ran with -j against workloads of known shape; each test below
reads one output file (and the tool's exit status in FILE.rc, its stderr in
FILE.err) and asserts the exact counts the workload must produce.
"""
import json
import os
import sys

OUT = sys.argv[1]
HAVE_LINKED = sys.argv[2] == "1"
HAVE_LIB = sys.argv[3] == "1"
ONLY = sys.argv[4] if len(sys.argv) > 4 else ""
# libc's static functions have names only in its separate debug info
LIBC_DBG = os.path.exists("/usr/share/doc/libc6-dbg")
notes = []


def diag(*a):
    notes.append(" ".join(str(x) for x in a))


def path(name):
    return os.path.join(OUT, name)


def ran(name):
    """The tool's exit status was 0 (stderr is shown otherwise)."""
    try:
        rc = int(open(path(name + ".rc")).read().strip() or "1")
    except (OSError, ValueError):
        diag(name, "did not run")
        return False
    if rc != 0:
        diag(name, "exited with", rc)
        try:
            for ln in open(path(name + ".err")).read().splitlines()[-8:]:
                diag("  " + ln)
        except OSError:
            pass
    return rc == 0


def lines(name):
    out = []
    try:
        for ln in open(path(name)):
            ln = ln.strip()
            if ln.startswith("{"):
                try:
                    out.append(json.loads(ln))
                except ValueError:
                    pass
    except OSError:
        pass
    return out


def expect(cond, *msg):
    if not cond:
        diag("FAIL:", *msg)
    return bool(cond)


def workloads(objs, kind):
    return [o for o in objs if o.get("workload") == kind]


def final(objs):
    f = [o for o in objs if o.get("final")]
    return f[-1] if f else None


def proc(objs, pid):
    f = final(objs)
    if not f:
        diag("no final report")
        return None
    for p in f["processes"]:
        if p["pid"] == pid:
            return p
    diag("pid", pid, "not in the report:", [p["pid"] for p in f["processes"]])
    return None


# ---- karena-trace ----

def t_trace_transitions():
    if not ran("trace.json"):
        return False
    objs = lines("trace.json")
    w = workloads(objs, "trans")
    if not expect(w, "no trans workload line"):
        return False
    w = w[0]
    mine = [o for o in objs if o.get("event") == "transition" and o["start"] == w["start"]]
    good = [o for o in mine if o["result"] == 0]
    bad = [o for o in mine if o["result"] != 0]
    ops = [o["op"] for o in good]
    want = ["map"] + ["used" if i % 2 else "unused" for i in range(1, 10)]
    diag("trace: %d transitions on the page, ops: %s; failed: %s" %
         (len(mine), " ".join(ops), [(o["op"], o["result"]) for o in bad]))
    r = expect(ops == want, "ops", ops, "want", want)
    r &= expect(len(bad) == 1 and bad[0]["op"] == "map" and bad[0]["result"] == -22,
                "the illegal MAP was not traced with -EINVAL")
    r &= expect(all(o["npages"] == 1 and o["pid"] == w["pid"] for o in mine), "npages/pid")
    return r


def t_trace_refill():
    if not ran("trace.json"):
        return False
    objs = lines("trace.json")
    # refills run in the faulting task or in the module's background worker
    rf = [o for o in objs if o.get("event") == "cache_refill"]
    diag("trace: %d cache refills (%s), %d pages" % (
        len(rf), ", ".join(sorted(set(o["comm"] for o in rf))), sum(o["npages"] for o in rf)))
    return expect(rf and all(o["npages"] > 0 and o["cached"] > 0 for o in rf),
                  "no cache refill while touching 600 pages")


def t_trace_drain():
    if not ran("drain.json"):
        return False
    dr = [o for o in lines("drain.json") if o.get("event") == "cache_drain"]
    by = {}
    for o in dr:
        by[o["reason"]] = by.get(o["reason"], 0) + o["npages"]
    diag("trace: %d cache drains, pages by reason: %s" % (len(dr), by))
    r = expect(all(o["npages"] > 0 and o["reason"] != "unknown" for o in dr),
               "a drain of 0 pages or with an unknown reason")
    r &= expect(by.get("shrinker", 0) > 0, "no shrinker drain on drop_caches")
    return r


# ---- karena-faults ----

def faults_of(kind):
    if not ran("faults.json"):
        return None, None
    objs = lines("faults.json")
    w = workloads(objs, kind)
    if not expect(w, "no", kind, "workload line"):
        return None, None
    return w[0], proc(objs, w[0]["pid"])


def t_faults_touch():
    w, p = faults_of("touch")
    if not p:
        return False
    n = w["pages"]
    diag("faults (touch %d): %s" % (n, {k: p[k] for k in (
        "faults", "other", "karena", "karena_user", "cache_hit", "cache_miss", "sigsegv")}))
    r = expect(p["karena"] == n and p["karena_user"] == n, "karena faults != %d" % n)
    r &= expect(p["cache_hit"] + p["cache_miss"] == n, "hit + miss != %d" % n)
    r &= expect(p["sigsegv"] == 0 and p["zero"] == 0, "unexpected sigsegv/zero")
    r &= expect(p["faults"] > n and p["other"] == p["faults"] - n, "other != faults - karena")
    return r


def t_faults_comm_after_exec():
    """The command's shell ends by exec'ing true, which takes no karena
    fault: the report names it true, not sh (nor karena-faults, the name
    the tool's child had before its first exec)."""
    if not ran("faults.json"):
        return False
    f = final(lines("faults.json"))
    if not expect(f, "no final report"):
        return False
    comms = [p["comm"] for p in f["processes"]]
    diag("faults.json processes:", comms)
    return expect("true" in comms and "sh" not in comms,
                  "the shell that exec'd true is not named true")


def t_faults_segv(kind, field):
    w, p = faults_of(kind)
    if not p:
        return False
    n = w["pages"]
    diag("faults (%s %d): %s" % (kind, n, {k: p[k] for k in (
        "karena", "sigsegv", "sigsegv_reserved", "sigsegv_prepared", "cache_hit")}))
    r = expect(w["sigsegv"] == n, "workload caught", w["sigsegv"], "signals")
    r &= expect(p[field] == n and p["sigsegv"] == n, field, p[field], "!=", n)
    r &= expect(p["cache_hit"] + p["cache_miss"] == 0, "unexpected Ready faults")
    return r


def t_faults_zero():
    w, p = faults_of("zero")
    if not p:
        return False
    n = w["pages"]
    diag("faults (zero %d): %s" % (n, {k: p[k] for k in (
        "karena", "zero", "sigsegv", "cache_hit", "cache_miss")}))
    r = expect(p["zero"] == n, "zero", p["zero"], "!=", n)
    r &= expect(p["sigsegv"] == 0 and p["cache_hit"] + p["cache_miss"] == 0,
                "unexpected sigsegv/Ready faults")
    r &= expect(all(x["state"] == "prepared" for x in p["by_state"]), "state != prepared")
    return r


def t_faults_cow():
    if not ran("faults.json"):
        return False
    objs = lines("faults.json")
    par, ch = workloads(objs, "cow"), workloads(objs, "cow-child")
    if not expect(par and ch, "cow workload failed (the child's writes reached the parent?)"):
        return False
    p = proc(objs, ch[0]["pid"])
    if not p:
        return False
    n = ch[0]["pages"]
    diag("faults (cow child, %d pages): %s" % (n, {k: p[k] for k in (
        "karena", "cow", "cache_hit", "cache_miss", "sigsegv")}))
    return expect(p["cow"] == n and p["sigsegv"] == 0, "child cow", p["cow"], "!=", n)


# ---- karena-faultlat ----

def t_faultlat():
    if not ran("faultlat.json"):
        return False
    f = final(lines("faultlat.json"))
    if not expect(f, "no final report"):
        return False
    cl = {c["class"]: c for c in f["classes"]}
    k = cl["karena_cache_hit"]["count"] + cl["karena_cache_miss"]["count"]
    diag("faultlat: counts %s; avg karena hit %.1f, anon %.1f %s" % (
        {c: cl[c]["count"] for c in cl if cl[c]["count"]},
        cl["karena_cache_hit"]["avg"], cl["anon"]["avg"], f["unit"]))
    r = expect(k == 32, "karena Ready faults", k, "!= 32")
    r &= expect(cl["anon"]["count"] > 0, "no anonymous faults")
    r &= expect(all(sum(b["count"] for b in c["hist"]) == c["count"] for c in cl.values()),
                "histogram sums != counts")
    return r


# ---- karena-allocs ----

def t_allocs(module, m, s, f, t, name="allocs.json"):
    if not ran(name):
        return False
    d = final(lines(name))
    if not expect(d, "no final report"):
        return False
    sizes = {c["size"]: c for c in d["classes"]}

    def cls(n):
        c = [x for x in sizes if x >= n]
        return sizes[min(c)] if c else None
    cs, ct = cls(s), cls(t)
    st = [x for x in d["stacks"] if x["frames"] and any(
        "leaky_alloc" in fr and "(%s)" % module in fr for fr in x["frames"])]
    diag("allocs (%s): class for %d B: %s; for %d B: %s" % (module, s, cs, t, ct))
    if st:
        diag("  outstanding via leaky_alloc: %d B in %d allocations: %s" % (
            st[0]["bytes"], st[0]["count"], " <- ".join(st[0]["frames"][:3])))
    r = expect(cs and cs["allocs"] == m and cs["alloc_bytes"] == m * s and cs["frees"] == 0,
               "class of %d B" % s)
    r &= expect(ct and ct["allocs"] == f and ct["frees"] == f and ct["free_bytes"] == f * t,
                "class of %d B" % t)
    r &= expect(st and st[0]["count"] == m and st[0]["bytes"] == m * s,
                "no outstanding stack through leaky_alloc with %d allocations" % m)
    if LIBC_DBG and st:
        libc = [fr for fr in st[0]["frames"] if fr.endswith("(libc.so.6)")]
        r &= expect(libc and not [fr for fr in libc if "[unknown]" in fr],
                    "libc frames without names although libc6-dbg is installed:", libc)
    return r


# ---- perf stat -e 'karena:*' (tools/README) ----

def t_perf():
    if not ran("perf.txt"):
        return False
    counts = {}
    for ln in open(path("perf.txt.err")):
        f = ln.strip().split(",")
        if len(f) > 2 and f[2].startswith("karena:"):
            counts[f[2]] = int(f[0]) if f[0].isdigit() else -1
    diag("perf stat -e 'karena:*':", counts)
    return expect(counts.get("karena:karena_fault") == 16, "16 karena_fault events") & \
        expect(counts.get("karena:karena_transition") == 2, "2 karena_transition events") & \
        expect(len(counts) == 4, "four karena tracepoints")


# ---- karena-stat ----

def t_stat():
    if not ran("stat.json"):
        return False
    objs = lines("stat.json")
    if not expect(objs, "no JSON"):
        return False
    d = objs[-1]
    st = d["stats"]
    diag("stat: %s ... per-CPU keys %s, processes %s" % (
        {k: st[k] for k in ("faults", "faults_cache_hit", "faults_sigsegv", "transitions")
         if k in st}, list(d["percpu"]), d["processes"]))
    r = expect(d["module"]["loaded"], "module not loaded")
    r &= expect(isinstance(st.get("faults"), int) and st["faults"] >= 20, "stats.faults")
    cpus = d["percpu"].get("cpus")
    r &= expect(isinstance(cpus, list) and cpus and all("cpu" in c for c in cpus),
                "no per-CPU cache table")
    pr = d["processes"]
    r &= expect(len(pr) == 1 and pr[0]["rss"] == 20 * 4096 and pr[0]["mappings"] >= 1,
                "the holding process should show 20 resident pages")
    return r


def t_stat_human():
    if not ran("stat.txt"):
        return False
    txt = open(path("stat.txt")).read()
    return expect("global counters" in txt and "processes mapping /dev/karena" in txt,
                  "sections missing")


# ---- bpftool scripts ----

def t_bpf_load():
    return ran("bpf-load.txt")


def t_bpf_dump():
    if not ran("bpf-dump.json"):
        return False
    try:
        wpid = json.load(open(path("bpf-w.json")))["pid"]
        d = json.load(open(path("bpf-dump.json")))
    except (OSError, ValueError, KeyError) as e:
        return expect(False, "bad output:", e)
    tot = 0
    for e in d:
        k, v = e.get("formatted", e).get("key"), e.get("formatted", e).get("value")
        if isinstance(k, dict) and k.get("tgid") == wpid and k.get("state") == 3:
            tot += v
    diag("bpftool map dump karena_faults: %d Ready faults of pid %d" % (tot, wpid))
    return expect(tot == 16, "Ready faults", tot, "!= 16")


def t_bpf_clear():
    if not (ran("bpf-clear.txt") and ran("bpf-dump2.json")):
        return False
    return expect(json.load(open(path("bpf-dump2.json"))) == [], "map not empty after -c")


def t_bpf_unload(name):
    if not ran(name):
        return False
    left = open(path(name + ".left")).read().strip()
    return expect(not left, "programs left:", left)


def t_bpf_faultlat():
    if not (ran("bpf-lat.txt") and ran("bpf-lat.json")):
        return False
    d = json.load(open(path("bpf-lat.json")))
    hit = [e["formatted"]["value"]["count"] for e in d if e["formatted"]["key"] in (0, 1)]
    diag("bpftool map dump hists: karena hit+miss count", sum(hit))
    return expect(sum(hit) == 8, "karena faults in hists", sum(hit), "!= 8")


TESTS = [
    ("karena-trace: 10 transitions (map, used/unused...) and 1 failed map (-EINVAL)",
     t_trace_transitions, None),
    ("karena-trace: cache refills traced while 600 pages are touched", t_trace_refill, None),
    ("karena-trace: shrinker drains of the per-CPU caches on drop_caches",
     t_trace_drain, None),
    ("karena-faults: 48 Ready faults on 48 touched pages, others counted apart",
     t_faults_touch, None),
    ("karena-faults: a process without karena faults is named after its exec (true)",
     t_faults_comm_after_exec, None),
    ("karena-faults: 5 SIGSEGV on Reserved pages",
     lambda: t_faults_segv("segv", "sigsegv_reserved"), None),
    ("karena-faults: 4 SIGSEGV on Prepared pages (strict)",
     lambda: t_faults_segv("segvprep", "sigsegv_prepared"), None),
    ("karena-faults: 6 lenient-mode zero-page reads of Prepared pages", t_faults_zero, None),
    ("karena-faults: 12 copy-on-write faults in a forked child", t_faults_cow, None),
    ("karena-faultlat: 32 karena faults timed, anonymous faults alongside", t_faultlat, None),
    ("karena-allocs: LD_PRELOAD, 50 x 3000 B kept (by stack, libc frames named "
     "from libc6-dbg), 20 x 5000 B freed",
     lambda: t_allocs("allocwork", 50, 3000, 20, 5000),
     None if HAVE_LIB else "lib/libkarena.so not built"),
    ("karena-allocs: -lkarena, 40 x 200 B kept (by stack, libc frames named), "
     "30 x 1000 B freed",
     lambda: t_allocs("allocwork-linked", 40, 200, 30, 1000),
     None if HAVE_LINKED else "allocwork-linked not built"),
    ("karena-allocs: LD_PRELOAD, 30 x 5 B in the 8-byte class, 10 x 24 B freed in the 32-byte class",
     lambda: t_allocs("allocwork", 30, 5, 10, 24, "allocs-small.json"),
     None if os.path.exists(path("allocs-small.json.rc")) else "run natively only"),
    ("perf stat -e 'karena:*': 16 karena_fault and 2 karena_transition events of "
     "kworkload touch 16", t_perf,
     None if os.path.exists(path("perf.txt.rc"))
     else "not run in the QEMU TCG guest (text patching of the scheduler oopsed it)"),
    ("karena-stat -j: counters, per-CPU caches, a process with 20 resident pages",
     t_stat, None),
    ("karena-stat: human output", t_stat_human, None),
    ("karena-bpf-load faults (plain bpftool + link pins)", t_bpf_load, None),
    ("karena-bpf-dump faults: 16 Ready faults of the workload", t_bpf_dump, None),
    ("karena-bpf-dump -c clears the map", t_bpf_clear, None),
    ("karena-bpf-unload faults: no programs left", lambda: t_bpf_unload("bpf-unload.txt"), None),
    ("karena-bpf-load/dump faultlat: 8 karena faults in hists", t_bpf_faultlat, None),
    ("karena-bpf-unload -a: no programs, no pins left",
     lambda: t_bpf_unload("bpf-unload-all.txt"), None),
]


def main():
    tests = [t for t in TESTS if t[0].startswith(ONLY)]
    print("TAP version 13")
    print("1..%d" % len(tests))
    fails = 0
    for i, (desc, fn, skip) in enumerate(tests, 1):
        del notes[:]
        if skip:
            print("ok %d - %s # SKIP %s" % (i, desc, skip))
            continue
        try:
            good = fn()
        except Exception as e:      # a malformed output is a failure, not a crash
            good = False
            diag("exception:", repr(e))
        for n in notes:
            print("# " + n)
        print("%sok %d - %s" % ("" if good else "not ", i, desc))
        fails += not good
    sys.stdout.flush()
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
