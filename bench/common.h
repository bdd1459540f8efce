/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared helpers for the karena benchmark workloads: a fixed-seed PRNG (so
 * every allocator runs exactly the same work), a monotonic clock, current
 * RSS, and the machine-readable result line every workload prints:
 *
 *   RESULT wl=<name> time_s=<work seconds> [key=value ...]
 *
 * time_s covers the measured work only (no process start-up, no settle
 * sleeps); the runner prefers it to the external wall time.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* xoshiro256** seeded by splitmix64: fast, deterministic, per-thread state. */
struct rng {
	uint64_t s[4];
};

static inline uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline void rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl64(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t res = rotl64(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl64(s[3], 45);
	return res;
}

/* Uniform in [0, n). */
static inline uint64_t rng_below(struct rng *r, uint64_t n)
{
	return n ? rng_next(r) % n : 0;
}

/* Log-uniform size in [lo, hi]: small sizes dominate, as in real programs. */
static inline size_t rng_size(struct rng *r, size_t lo, size_t hi)
{
	unsigned lb = 63 - __builtin_clzll(lo | 1), hb = 63 - __builtin_clzll(hi | 1);
	unsigned b = lb + (unsigned)rng_below(r, hb - lb + 1);
	size_t base = (size_t)1 << b;
	size_t sz = base + rng_below(r, base);

	if (sz < lo)
		sz = lo;
	if (sz > hi)
		sz = hi;
	return sz;
}

static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Resident set size now, in KiB, from /proc/self/statm. */
static inline long rss_kb(void)
{
	long size = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &size, &res) != 2)
		res = -1;
	fclose(f);
	return res < 0 ? -1 : res * (sysconf(_SC_PAGESIZE) / 1024);
}

/*
 * Size with density proportional to 1/size^2 on [lo, hi] (inverse CDF):
 * most requests are tiny, a few are large, as in allocator test suites.
 */
static inline size_t rng_size_invsq(struct rng *r, size_t lo, size_t hi)
{
	double u = (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
	double s = 1.0 / (1.0 / (double)lo - u * (1.0 / (double)lo - 1.0 / (double)hi));
	size_t sz = (size_t)s;

	return sz < lo ? lo : sz > hi ? hi : sz;
}

/*
 * Fixed-duration workloads report throughput as time_s = seconds per
 * million operations (lower is better, like every other time_s).
 */
static inline void print_throughput(const char *wl, double dt, long ops,
				    unsigned long check)
{
	printf("RESULT wl=%s time_s=%.6f secs=%.3f ops=%ld mops_s=%.3f check=%lu\n",
	       wl, ops ? dt * 1e6 / (double)ops : dt, dt, ops,
	       dt > 0 ? (double)ops / dt / 1e6 : 0.0, check);
}

/* Scale factor: argv[1] if given, else $BENCH_SCALE, else 1.0. */
static inline double bench_scale(int argc, char **argv)
{
	const char *s = argc > 1 ? argv[1] : getenv("BENCH_SCALE");
	double v = s ? atof(s) : 1.0;

	return v > 0 ? v : 1.0;
}

static inline void *xmalloc(size_t n)
{
	void *p = malloc(n);

	if (!p) {
		fprintf(stderr, "malloc(%zu) failed\n", n);
		exit(2);
	}
	return p;
}

/* Touch one byte per cache line the way a real user would write a header. */
static inline void touch(void *p, size_t n)
{
	unsigned char *c = p;

	c[0] = (unsigned char)n;
	if (n > 1)
		c[n - 1] = 1;
}

#endif
