#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Real programs under LD_PRELOAD=libkarena.so, one TAP test each: python3,
# git, gcc, sqlite3 run a generated workload twice, without and with the
# preload (KARENA_STATS=1). A test passes when both runs exit 0, produce the
# same stdout and the same stderr (karena's own "karena: " lines removed),
# and the stats lines prove karena served at least MIN mallocs.
#
# Environment: TOP (repo root), KARENA_OUT (scratch; else a mktemp dir),
# KARENA_LIB (default $TOP/lib/libkarena.so), KARENA_BACKEND (passed through),
# REAL_PROGRAMS="python3 git gcc sqlite3" (subset to run), REAL_SCALE (workload
# size factor, default 1; the slow guest uses less), SQLITE_ROWS (10000).
set -u

here=$(cd "$(dirname "$0")" && pwd)
TOP=${TOP:-$(cd "$here/../.." && pwd)}
LIB=${KARENA_LIB:-$TOP/lib/libkarena.so}
PROGS=${REAL_PROGRAMS:-python3 git gcc sqlite3}
base=${KARENA_OUT:-${TMPDIR:-/tmp}}
mkdir -p "$base"
work=$(mktemp -d "$base/real_programs.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

# A clean, deterministic environment for both runs.
# PYTHONMALLOC=malloc: every Python object through malloc, not pymalloc's arenas
export LC_ALL=C TZ=UTC HOME="$work/home" PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1
export PYTHONMALLOC=malloc
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=karena GIT_AUTHOR_EMAIL=karena@example.org
export GIT_COMMITTER_NAME=karena GIT_COMMITTER_EMAIL=karena@example.org
export GIT_AUTHOR_DATE="2024-01-01T00:00:00Z" GIT_COMMITTER_DATE="2024-01-01T00:00:00Z"
unset LD_PRELOAD KARENA_STATS
mkdir -p "$HOME"

export REAL_SCALE=${REAL_SCALE:-1}
ROWS=${SQLITE_ROWS:-10000}
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=$(command -v python3)

n=0
failed=0
echo "TAP version 13"
echo "1..$(echo $PROGS | wc -w)"

# ---- workloads: each gen_X writes its inputs into $1, run_X runs in $1 ----

gen_python3() {
	cat > "$1/work.py" <<'EOF'
import json, hashlib, os
S = float(os.environ.get("REAL_SCALE", "1"))
def n(x):
    return max(10, int(x * S))

class Shape:
    registry = {}
    def __init__(self, name):
        self.name = name
        Shape.registry.setdefault(type(self).__name__, []).append(self)
    def area(self):
        raise NotImplementedError
    def describe(self):
        return "%s %s area=%.3f" % (type(self).__name__, self.name, self.area())

class Rect(Shape):
    def __init__(self, name, w, h):
        super().__init__(name); self.w, self.h = w, h
    def area(self):
        return self.w * self.h

class Square(Rect):
    def __init__(self, name, s):
        super().__init__(name, s, s)

class Circle(Shape):
    def __init__(self, name, r):
        super().__init__(name); self.r = r
    def area(self):
        return 3.14159 * self.r * self.r

shapes = []
for i in range(n(10000)):
    k = i % 3
    if k == 0:
        shapes.append(Rect("r%d" % i, i % 17 + 1, i % 13 + 1))
    elif k == 1:
        shapes.append(Square("s%d" % i, i % 11 + 1))
    else:
        shapes.append(Circle("c%d" % i, (i % 7) / 2.0 + 0.5))
total = sum(s.area() for s in shapes)
print("shapes", len(shapes), "total area %.2f" % total)
for cls in sorted(Shape.registry):
    print(cls, len(Shape.registry[cls]), Shape.registry[cls][-1].describe())

# dicts and lists, growing and shrinking
d = {}
for i in range(n(50000)):
    d["key%d" % (i * 7919 % 200003)] = [i, str(i) * (i % 5), {"n": i}]
for i in range(0, n(50000), 3):
    d.pop("key%d" % (i * 7919 % 200003), None)
lst = sorted(d.items(), key=lambda kv: kv[1][0])[:1000]
print("dict", len(d), "first", lst[0][0], "last", lst[-1][0])

# strings
words = [("w%05d" % i) * (1 + i % 9) for i in range(n(20000))]
text = " ".join(words)
parts = text.split(" ")
joined = "-".join(p.upper()[::-1] for p in parts[::7])
print("text", len(text), len(parts), hashlib.sha256(joined.encode()).hexdigest())

# json round trip
doc = {"items": [{"id": i, "name": "item%d" % i, "tags": ["t%d" % (i % 10)] * (i % 4),
                  "price": round(i * 1.25, 2), "nested": {"a": [i, i + 1], "b": None}}
                 for i in range(n(10000))]}
s = json.dumps(doc, sort_keys=True)
back = json.loads(s)
assert back == doc
print("json", len(s), hashlib.md5(s.encode()).hexdigest(), back["items"][n(1234)]["name"])
EOF
}
run_python3() { (cd "$1" && "$PYTHON" work.py); }
min_python3=100000

gen_git() {
	mkdir -p "$1/repo/src/sub" "$1/repo/doc"
	for i in $(seq 1 100); do
		printf 'file %d\n%s\n' "$i" "$(seq "$i" $((i + 40)))" > "$1/repo/src/f$i.txt"
	done
	for i in $(seq 1 50); do
		printf 'int f%d(void) { return %d; }\n' "$i" "$i" > "$1/repo/src/sub/f$i.c"
	done
	printf '# doc\n' > "$1/repo/doc/README"
}
run_git() {
	(
		set -e
		cd "$1/repo"
		git init -q -b main .
		git add -A
		git commit -q -m "initial import"
		for i in $(seq 1 10); do
			echo "change $i" >> "src/f$i.txt"
			git rm -q "src/sub/f$i.c"
			git add -A
			git commit -q -m "change $i"
		done
		git log --stat --format='%H %s' | head -200
		git log --oneline | wc -l
		git diff HEAD~5 --stat
		git gc -q
		git fsck --no-progress
		git rev-parse HEAD
	)
}
min_git=20000

gen_gcc() {
	cat > "$1/prog.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct node { char key[24]; long val; struct node *next; };

static unsigned hash(const char *s)
{
	unsigned h = 2166136261u;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static int cmp(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return (x > y) - (x < y);
}

int main(void)
{
	enum { NB = 4096, N = 100000 };
	struct node **tab = calloc(NB, sizeof(*tab));
	long *vals = malloc(N * sizeof(*vals)), sum = 0;
	char *buf = NULL;
	size_t len = 0;

	for (long i = 0; i < N; i++) {
		struct node *n = malloc(sizeof(*n));
		snprintf(n->key, sizeof(n->key), "k%ld", i * 7919 % N);
		n->val = i;
		unsigned h = hash(n->key) % NB;
		n->next = tab[h];
		tab[h] = n;
		vals[i] = (i * 104729) % 1000003;
	}
	qsort(vals, N, sizeof(*vals), cmp);
	for (int b = 0; b < NB; b++)
		for (struct node *n = tab[b], *nx; n; n = nx) {
			nx = n->next;
			sum += n->val * (long)(b + 1);
			free(n);
		}
	for (int i = 0; i < 1000; i++) {
		buf = realloc(buf, len + 32);
		len += (size_t)snprintf(buf + len, 32, "%ld,", vals[i * 97]);
	}
	printf("sum=%ld median=%ld len=%zu head=%.40s\n", sum, vals[N / 2], len, buf);
	free(buf);
	free(vals);
	free(tab);
	return 0;
}
EOF
}
run_gcc() { (cd "$1" && gcc -O2 -Wall -Wextra -o prog prog.c && ./prog); }
min_gcc=20000

gen_sqlite3() {
	{
		echo "CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, s TEXT, v REAL);"
		echo "BEGIN;"
		awk -v rows="$ROWS" 'BEGIN { for (i = 1; i <= rows; i++)
			printf "INSERT INTO t(k, s, v) VALUES (%d, '\''name-%d-%s'\'', %d.%02d);\n",
				(i * 7919) % 97, i, substr("abcdefghijklmnopqrstuvwxyz", 1 + i % 26), i % 1000, i % 100 }'
		echo "COMMIT;"
		echo "CREATE INDEX t_k ON t(k);"
		echo "CREATE INDEX t_s ON t(s);"
		echo "SELECT count(*), sum(k), round(avg(v), 4), max(length(s)) FROM t;"
		echo "SELECT k, count(*), round(sum(v), 2), min(s) FROM t GROUP BY k ORDER BY k LIMIT 30;"
		echo "SELECT s FROM t WHERE k = 42 ORDER BY s DESC LIMIT 5;"
		echo "UPDATE t SET s = upper(s) WHERE id % 3 = 0;"
		echo "DELETE FROM t WHERE k > 90;"
		echo "SELECT count(*), group_concat(id) FROM (SELECT id FROM t WHERE s LIKE 'NAME-1%' ORDER BY id LIMIT 20);"
		echo "PRAGMA integrity_check;"
	} > "$1/work.sql"
}
run_sqlite3() { (cd "$1" && sqlite3 db.sqlite < work.sql); }
min_sqlite3=20000

# ---- one program: reference run, preloaded run, compare ----

stats_mallocs() { # sum of mallocs= over every process's stats line
	sed -n 's/^karena: mallocs=\([0-9]*\) .*/\1/p' "$1" | awk '{ s += $1 } END { print s + 0 }'
}

run_one() {
	local prog=$1 d="$work/$1" rc_ref rc_ka lines mallocs why=""
	n=$((n + 1))
	if ! command -v "$prog" >/dev/null 2>&1 && [ "$prog" != python3 ]; then
		echo "not ok $n $prog # $prog is not installed"
		failed=$((failed + 1))
		return
	fi
	mkdir -p "$d/ref" "$d/ka"
	"gen_$prog" "$d/ref"
	"gen_$prog" "$d/ka"
	local t0=$SECONDS
	"run_$prog" "$d/ref" > "$d/ref.out" 2> "$d/ref.err"
	rc_ref=$?
	local t1=$SECONDS
	LD_PRELOAD="$LIB" KARENA_STATS=1 "run_$prog" "$d/ka" > "$d/ka.out" 2> "$d/ka.err"
	rc_ka=$?
	local t2=$SECONDS
	grep -v '^karena: ' "$d/ka.err" > "$d/ka.err.clean"
	lines=$(grep -c '^karena: mallocs=' "$d/ka.err")
	mallocs=$(stats_mallocs "$d/ka.err")
	local min_var="min_$prog"
	local min=${!min_var}

	if [ "$rc_ref" -ne 0 ]; then
		why="reference run (no preload) exited $rc_ref"
	elif [ "$rc_ka" -ne 0 ]; then
		why="preloaded run exited $rc_ka"
	elif ! cmp -s "$d/ref.out" "$d/ka.out"; then
		why="stdout differs from the reference run"
	elif ! cmp -s "$d/ref.err" "$d/ka.err.clean"; then
		why="stderr differs from the reference run"
	elif [ "$lines" -eq 0 ]; then
		why="no 'karena: mallocs=' line: karena did not serve it"
	elif [ "$mallocs" -lt "$min" ]; then
		why="only $mallocs mallocs served by karena (< $min)"
	fi
	echo "# $prog: reference ${rc_ref} in $((t1 - t0))s, preloaded ${rc_ka} in $((t2 - t1))s," \
		"$lines processes, $mallocs mallocs by karena, stdout $(wc -l < "$d/ka.out") lines"
	if [ -z "$why" ]; then
		echo "ok $n $prog"
	else
		echo "# $prog: $why"
		diff "$d/ref.out" "$d/ka.out" | head -20 | sed 's/^/# stdout: /'
		diff "$d/ref.err" "$d/ka.err.clean" | head -20 | sed 's/^/# stderr: /'
		grep -v '^karena: ' "$d/ka.err" | tail -5 | sed 's/^/# preloaded stderr: /'
		echo "not ok $n $prog"
		failed=$((failed + 1))
	fi
}

if [ ! -f "$LIB" ]; then
	for p in $PROGS; do
		n=$((n + 1))
		echo "not ok $n $p # $LIB missing"
	done
	exit 1
fi
for p in $PROGS; do
	run_one "$p"
done
[ "$failed" -eq 0 ]
