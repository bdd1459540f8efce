#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Instructions per malloc+free pair under callgrind, for every allocator.

For each allocator, size and mode (same thread / cross thread), runs
out/icount under valgrind --tool=callgrind, collecting only the measure_*
functions (icount.c), and subtracts the same loops run against a malloc
and free that do nothing: the result is the allocator's own instructions
per pair, amortised over its slow paths (refills, drains, page heap), in
the steady state after a warm-up.  Instruction counts do not depend on
the machine's load: the table is exact and repeatable (system calls count
as the instructions of their user-space wrapper only).

Used by run.py (make bench) and alone: `make -C bench icount` prints the
table and writes results/icount.md.  ICOUNT_PAIRS (default 100000),
ICOUNT_SIZES (comma list), BENCH_ALLOCS as in run.py.
"""
import concurrent.futures
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run  # noqa: E402  (allocator table, OUT, RES)

SIZES = [int(x) for x in (os.environ.get("ICOUNT_SIZES") or "4,8,16,64,1024,16384").split(",")]
PAIRS = int(os.environ.get("ICOUNT_PAIRS") or 100000)
MODES = ["same", "cross"]


def collected(mode, size, preload, env_extra):
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env.update(env_extra)
    if preload:
        env["LD_PRELOAD"] = preload
    cmd = ["valgrind", "--tool=callgrind", "--collect-atstart=no",
           "--toggle-collect=measure_*", "--callgrind-out-file=/dev/null",
           os.path.join(run.OUT, "icount"), mode, str(size), str(PAIRS)]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    m = re.search(r"Collected : (\d+)", p.stderr)
    r = re.search(r"pairs=(\d+)", p.stdout)
    if p.returncode != 0 or not m or not r:
        tail = " | ".join(p.stderr.strip().splitlines()[-3:])
        raise RuntimeError(f"icount {mode} {size}: {tail}")
    return int(m.group(1)), int(r.group(1))


def allocators():
    want = os.environ.get("BENCH_ALLOCS")
    out = []
    for name, lib, env, _ in run.ALLOCATORS:
        if want and name not in want.split(","):
            continue
        if lib and not os.path.exists(lib):
            continue
        out.append((name, lib, env))
    return out


def measure():
    """Returns ({(alloc, mode, size): instructions per pair}, [alloc names])."""
    allocs = allocators()
    jobs = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
        for mode in MODES:
            for size in SIZES:
                jobs[("base", mode, size)] = ex.submit(collected, "base-" + mode, size, None, {})
                for name, lib, env in allocs:
                    jobs[(name, mode, size)] = ex.submit(collected, mode, size, lib, env)
        res = {}
        for key, fut in jobs.items():
            try:
                res[key] = fut.result()
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                run.log(f"icount: {key[0]}: {e}")
                res[key] = None
    per_pair = {}
    for (name, mode, size), v in res.items():
        base = res.get(("base", mode, size))
        if name == "base" or v is None or base is None:
            continue
        per_pair[(name, mode, size)] = (v[0] - base[0]) / v[1]
    return per_pair, [a[0] for a in allocs]


def table(per_pair, names):
    L = ["## Instructions per malloc+free pair (callgrind, exact; lower is better)\n",
         f"Steady state after a warm-up, {PAIRS} pairs per cell in batches of at most "
         "64 objects / 64 KiB, minus the same loop against a no-op malloc/free. "
         "`same`: one thread mallocs and frees; `cross`: one thread mallocs, another "
         "frees (taking turns). Requests of 0..8 B use karena's 8-byte class.\n"]
    L.append("| mode | size | " + " | ".join(names) + " |")
    L.append("|---" * (len(names) + 2) + "|")
    for mode in MODES:
        for size in SIZES:
            cells = []
            for n in names:
                v = per_pair.get((n, mode, size))
                cells.append("FAIL" if v is None else f"{v:.1f}")
            L.append(f"| {mode} | {size} | " + " | ".join(cells) + " |")
    L.append("")
    return L


def main():
    subprocess.run(["make", "-C", HERE, "-s", "build"], check=True)
    per_pair, names = measure()
    lines = table(per_pair, names)
    os.makedirs(run.RES, exist_ok=True)
    with open(os.path.join(run.RES, "icount.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0 if len(per_pair) == len(names) * len(MODES) * len(SIZES) else 1


if __name__ == "__main__":
    sys.exit(main())
