/* SPDX-License-Identifier: GPL-2.0 */
/*
 * slots: per-thread working set churn, fixed duration, throughput.
 * Each of 2 threads owns 1024 slots; one operation frees a random slot
 * and refills it with a new object whose size is drawn from an
 * inverse-square distribution on 4 B .. 32 KiB (half the requests are
 * under 8 B, a few are tens of KiB) and writes its first and last byte.
 * The threads never share objects: this is the per-thread fast path under
 * a realistic size mix.  Runs 2 s x scale; time_s is seconds per million
 * operations (common.h).
 */
#include "common.h"
#include <pthread.h>

#define NTHREADS	2
#define NSLOTS		1024

struct worker {
	uint64_t seed;
	long ops;
	unsigned long sum;
};

static volatile int stop;

static void *run(void *arg)
{
	struct worker *w = arg;
	unsigned char *slot[NSLOTS] = { 0 };
	struct rng r;
	long ops = 0;

	rng_seed(&r, w->seed);
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		for (int i = 0; i < 256; i++) {
			unsigned k = (unsigned)rng_below(&r, NSLOTS);
			size_t sz = rng_size_invsq(&r, 4, 32768);

			free(slot[k]);
			slot[k] = xmalloc(sz);
			touch(slot[k], sz);
			w->sum += slot[k][0];
		}
		ops += 256;
	}
	for (int k = 0; k < NSLOTS; k++)
		free(slot[k]);
	w->ops = ops;
	return NULL;
}

int main(int argc, char **argv)
{
	double secs = 2.0 * bench_scale(argc, argv);
	struct worker w[NTHREADS];
	pthread_t t[NTHREADS];
	unsigned long sum = 0;
	long ops = 0;
	double t0 = now_s();

	for (int i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){ .seed = 1000 + (uint64_t)i };
		pthread_create(&t[i], NULL, run, &w[i]);
	}
	usleep((useconds_t)(secs * 1e6));
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		ops += w[i].ops;
		sum += w[i].sum;
	}
	print_throughput("slots", now_s() - t0, ops, sum);
	return 0;
}
