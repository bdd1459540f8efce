#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Assertions on the tools' JSON output for run_guest.sh.

  check.py NAME FILE [ARGS...]    exit 0 if the check holds; diagnostics
                                  are printed as TAP comments ("# ...").
"""
import json
import sys


def lines(path):
    out = []
    for ln in open(path):
        ln = ln.strip()
        if ln.startswith("{"):
            try:
                out.append(json.loads(ln))
            except ValueError:
                pass
    return out


def diag(*a):
    print("# " + " ".join(str(x) for x in a))


def workload(objs):
    w = [o for o in objs if "workload" in o]
    return w[-1] if w else None


def expect(cond, *msg):
    if not cond:
        diag("FAIL:", *msg)
    return cond


def faults_proc(objs):
    final = [o for o in objs if o.get("final")]
    if not final or not final[-1]["processes"]:
        diag("no final report with a process")
        return None
    return final[-1]["processes"][0]


def c_trace(objs, n):
    n = int(n)
    w = workload(objs)
    ev = [o for o in objs if o.get("event") == "transition"]
    mine = [o for o in ev if w and o["start"] == w["start"]]
    ok = [o for o in mine if o["result"] == 0]
    bad = [o for o in mine if o["result"] != 0]
    ops = [o["op"] for o in ok]
    diag("transitions on the workload page:", len(mine), "ok:", len(ok), "failed:",
         [(o["op"], o["result"]) for o in bad], "ops:", " ".join(ops[:12]))
    want = ["map"] + ["used" if i % 2 else "unused" for i in range(1, n)]
    r = expect(w is not None, "no workload line")
    r &= expect(ops == want, "ops", ops, "want", want)
    r &= expect(len(bad) == 1 and bad[0]["op"] == "map" and bad[0]["result"] == -22,
                "illegal MAP not traced with -EINVAL")
    r &= expect(all(o["npages"] == 1 for o in mine), "npages != 1")
    return r


def c_refill(objs):
    rf = [o for o in objs if o.get("event") == "cache_refill"]
    diag("cache refills:", len(rf), "pages:", sum(o["npages"] for o in rf))
    return expect(len(rf) >= 1 and all(o["npages"] > 0 for o in rf), "no refill event")


def c_touch(objs, n):
    n = int(n)
    p = faults_proc(objs)
    if not p:
        return False
    diag("faults:", {k: p[k] for k in ("faults", "other", "karena", "karena_user",
                                        "cache_hit", "cache_miss", "sigsegv")})
    r = expect(p["karena"] == n, "karena", p["karena"], "!=", n)
    r &= expect(p["karena_user"] == n, "karena_user", p["karena_user"], "!=", n)
    r &= expect(p["cache_hit"] + p["cache_miss"] == n, "hit+miss != n")
    r &= expect(p["sigsegv"] == 0, "unexpected sigsegv")
    r &= expect(p["faults"] >= n and p["other"] == p["faults"] - n, "other != faults - n")
    return r


def c_segv(objs, field, n):
    n = int(n)
    p = faults_proc(objs)
    if not p:
        return False
    diag("faults:", {k: p[k] for k in ("faults", "karena", "sigsegv", "sigsegv_reserved",
                                        "sigsegv_prepared", "cache_hit", "cache_miss")})
    r = expect(p[field] == n, field, p[field], "!=", n)
    r &= expect(p["sigsegv"] == n, "sigsegv", p["sigsegv"], "!=", n)
    r &= expect(p["cache_hit"] + p["cache_miss"] == 0, "unexpected Ready faults")
    return r


def c_faultlat(objs, n):
    n = int(n)
    final = [o for o in objs if o.get("final")]
    if not final:
        return expect(False, "no final report")
    cl = {c["class"]: c for c in final[-1]["classes"]}
    k = cl["karena_cache_hit"]["count"] + cl["karena_cache_miss"]["count"]
    diag("counts:", {c: cl[c]["count"] for c in cl}, "avg hit/anon:",
         cl["karena_cache_hit"]["avg"], cl["anon"]["avg"], final[-1]["unit"])
    r = expect(k == n, "karena Ready faults", k, "!=", n)
    r &= expect(cl["anon"]["count"] > 0, "no anon faults")
    r &= expect(sum(b["count"] for b in cl["karena_cache_hit"]["hist"]) ==
                cl["karena_cache_hit"]["count"], "histogram sum != count")
    return r


def c_allocs(objs, m, s, f, t):
    m, s, f, t = int(m), int(s), int(f), int(t)
    final = [o for o in objs if o.get("final")]
    if not final:
        return expect(False, "no final report")
    d = final[-1]
    sizes = {c["size"]: c for c in d["classes"] if c["class"] != "tiny"}
    diag("allocs:", d["allocs"], "frees:", d["frees"], "outstanding:", d["outstanding"],
         "lib:", d["lib"])
    # the class that serves s and t: smallest class >= size
    cs = min(x for x in sizes if x >= s) if any(x >= s for x in sizes) else None
    ct = min(x for x in sizes if x >= t) if any(x >= t for x in sizes) else None
    r = expect(cs is not None and sizes[cs]["allocs"] == m and sizes[cs]["alloc_bytes"] == m * s,
               "class of", s, sizes.get(cs))
    r &= expect(ct is not None and sizes[ct]["allocs"] == f and sizes[ct]["frees"] == f,
                "class of", t, sizes.get(ct))
    leak = [st for st in d["stacks"] if any("leaky_alloc" in fr for fr in st["frames"])]
    if leak:
        diag("leaky stack:", leak[0]["bytes"], "bytes,", leak[0]["count"], "allocs:",
             " <- ".join(leak[0]["frames"][:3]))
    r &= expect(bool(leak) and leak[0]["count"] == m and leak[0]["bytes"] == m * s,
                "no outstanding stack through leaky_alloc with", m, "allocations")
    return r


def c_stat(objs, pages):
    pages = int(pages)
    if not objs:
        return expect(False, "no JSON")
    d = objs[-1]
    st = d["stats"]
    diag("stats:", {k: st[k] for k in sorted(st)[:8]}, "procs:", d["processes"])
    r = expect(d["module"]["loaded"], "module not loaded")
    r &= expect(isinstance(st.get("faults"), int) and st["faults"] >= pages, "stats.faults")
    r &= expect("cpus" in d["percpu"], "no per-CPU cache detail")
    pr = d["processes"]
    r &= expect(len(pr) == 1 and pr[0]["rss"] == pages * 4096 and pr[0]["mappings"] >= 1,
                "process rss != %d pages" % pages)
    return r


def c_bpf_faults(path, pid, n):
    pid, n = int(pid), int(n)
    d = json.load(open(path))
    tot = 0
    for e in d:
        k = e.get("formatted", e).get("key") if "formatted" in e else e.get("key")
        v = e.get("formatted", e).get("value") if "formatted" in e else e.get("value")
        if isinstance(k, dict) and k.get("tgid") == pid and k.get("state") == 3:
            tot += v
    diag("karena_faults (Ready) of pid", pid, "=", tot)
    return expect(tot == n, "bpftool dump: Ready faults", tot, "!=", n)


def main():
    name, path = sys.argv[1], sys.argv[2]
    args = sys.argv[3:]
    if name == "bpf_faults":
        ok = c_bpf_faults(path, *args)
    else:
        objs = lines(path)
        ok = {"trace": c_trace, "refill": c_refill, "touch": c_touch,
              "segv": c_segv, "faultlat": c_faultlat, "allocs": c_allocs,
              "stat": c_stat}[name](objs, *args)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
