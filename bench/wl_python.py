# SPDX-License-Identifier: GPL-2.0
"""python: a CPU + allocation heavy Python program, run by /usr/bin/python3
with the allocator preloaded.  The runner sets PYTHONMALLOC=malloc so that
every object allocation goes to malloc (by default pymalloc serves objects
<= 512 B itself and the allocator only sees arenas and big objects).

Work (fixed seed): build dicts of small objects, string formatting and
joining, sorting lists of tuples, JSON round trips, a word-frequency count
and list/set comprehensions; everything is dropped between rounds.
Prints: RESULT wl=python time_s=<s> check=<n>
"""
import json
import random
import sys
import time


class Rec:
    __slots__ = ("key", "val", "tags")

    def __init__(self, key, val, tags):
        self.key = key
        self.val = val
        self.tags = tags


def one_round(rnd, n):
    check = 0
    words = ["".join(rnd.choice("abcdefghijklmnop") for _ in range(rnd.randint(3, 12)))
             for _ in range(n // 4)]
    recs = {}
    for i in range(n):
        w = words[i % len(words)]
        recs[f"{w}-{i}"] = Rec(w, i * 3.5, [w[:2], w[-2:], str(i)])
    rows = sorted(((r.key, r.val, len(r.tags)) for r in recs.values()),
                  key=lambda t: (t[0], -t[1]))
    check += len(rows)
    freq = {}
    for r in recs.values():
        for t in r.tags:
            freq[t] = freq.get(t, 0) + 1
    check += max(freq.values())
    blob = json.dumps([{"k": r.key, "v": r.val, "t": r.tags}
                       for r in list(recs.values())[: n // 2]])
    back = json.loads(blob)
    check += len(back) + len(blob) // 1000
    text = " ".join(r.key * 2 for r in recs.values())
    check += len(set(text.split()))
    sq = [x * x for x in range(n) if x % 3]
    check += len({x % 9973 for x in sq})
    del recs, rows, freq, blob, back, text, sq, words
    return check


def main():
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    rounds = max(1, int(round(3 * scale)))
    rnd = random.Random(12345)
    t0 = time.perf_counter()
    check = 0
    for _ in range(rounds):
        check += one_round(rnd, 60000)
    print(f"RESULT wl=python time_s={time.perf_counter() - t0:.6f} check={check}")


main()
