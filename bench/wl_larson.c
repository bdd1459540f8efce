/* SPDX-License-Identifier: GPL-2.0 */
/*
 * larson: many-threads churn after Larson & Krishnan's server benchmark.
 * T threads each own a slot array and repeatedly free a random slot and
 * refill it with a new object of random size (16 B .. 2 KiB).  After each
 * round the threads exit and a new generation starts that inherits the
 * arrays rotated by one, so objects allocated by one thread are freed by
 * another, and thread exit/creation exercises per-thread cache flushing.
 */
#include "common.h"
#include <pthread.h>

#define NTHREADS 4
#define SLOTS	 4096

struct worker {
	void **slot;
	long ops;
	uint64_t seed;
	unsigned long sum;
};

static void *run(void *arg)
{
	struct worker *w = arg;
	struct rng r;

	rng_seed(&r, w->seed);
	for (long i = 0; i < w->ops; i++) {
		unsigned k = (unsigned)rng_below(&r, SLOTS);
		size_t sz = rng_size(&r, 16, 2048);
		unsigned char *p;

		free(w->slot[k]);
		p = xmalloc(sz);
		p[0] = (unsigned char)sz;
		p[sz - 1] = 1;
		w->sum += p[0];
		w->slot[k] = p;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	double scale = bench_scale(argc, argv);
	int rounds = 20;
	long ops = (long)(250000 * scale);
	void **arrays[NTHREADS];
	struct worker w[NTHREADS];
	pthread_t t[NTHREADS];
	unsigned long sum = 0;
	struct rng r;

	rng_seed(&r, 7);
	for (int i = 0; i < NTHREADS; i++) {
		arrays[i] = xmalloc(SLOTS * sizeof(void *));
		for (int k = 0; k < SLOTS; k++)
			arrays[i][k] = xmalloc(rng_size(&r, 16, 2048));
	}
	double t0 = now_s();

	for (int rd = 0; rd < rounds; rd++) {
		for (int i = 0; i < NTHREADS; i++) {
			w[i].slot = arrays[(i + rd) % NTHREADS];
			w[i].ops = ops;
			w[i].seed = (uint64_t)rd * 131 + i;
			w[i].sum = 0;
			pthread_create(&t[i], NULL, run, &w[i]);
		}
		for (int i = 0; i < NTHREADS; i++) {
			pthread_join(t[i], NULL);
			sum += w[i].sum;
		}
	}
	double dt = now_s() - t0;

	for (int i = 0; i < NTHREADS; i++) {
		for (int k = 0; k < SLOTS; k++)
			free(arrays[i][k]);
		free(arrays[i]);
	}
	printf("RESULT wl=larson time_s=%.6f ops=%ld check=%lu\n", dt,
	       ops * NTHREADS * rounds, sum);
	return 0;
}
