/* SPDX-License-Identifier: GPL-2.0 */
/*
 * server: Larson & Krishnan's server simulation, fixed duration.
 * 2 threads each work on an array of 1000 objects (8 .. 1000 B, uniform):
 * an operation frees a random element and replaces it with a new object.
 * After 10000 operations a thread hands its array to a new thread and
 * exits, so every object a thread allocated is freed by a successor (or
 * still later ones): thread-to-thread frees and thread exit, as in a
 * server that passes requests between worker threads.  Runs 2 s x scale;
 * time_s is seconds per million operations (common.h).
 */
#include "common.h"
#include <pthread.h>

#define NCHAINS		2
#define NOBJS		1000
#define OPS_PER_THREAD	10000

struct chain {
	unsigned char *obj[NOBJS];
	struct rng r;
	long ops;
	unsigned long sum;
	int done;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

static volatile int stop;

static void *worker(void *arg)
{
	struct chain *c = arg;

	for (int i = 0; i < OPS_PER_THREAD; i++) {
		unsigned k = (unsigned)rng_below(&c->r, NOBJS);
		size_t sz = 8 + (size_t)rng_below(&c->r, 993);

		free(c->obj[k]);
		c->obj[k] = xmalloc(sz);
		touch(c->obj[k], sz);
		c->sum += c->obj[k][0];
	}
	c->ops += OPS_PER_THREAD;
	if (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		pthread_t t;
		pthread_attr_t a;

		/* hand the array to a successor and exit */
		pthread_attr_init(&a);
		pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &a, worker, c) == 0) {
			pthread_attr_destroy(&a);
			return NULL;
		}
		pthread_attr_destroy(&a);
	}
	pthread_mutex_lock(&c->lock);
	c->done = 1;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

int main(int argc, char **argv)
{
	double secs = 2.0 * bench_scale(argc, argv);
	static struct chain ch[NCHAINS];
	unsigned long sum = 0;
	long ops = 0;
	double t0;

	for (int i = 0; i < NCHAINS; i++) {
		rng_seed(&ch[i].r, 4141 + (uint64_t)i);
		pthread_mutex_init(&ch[i].lock, NULL);
		pthread_cond_init(&ch[i].cond, NULL);
		for (int k = 0; k < NOBJS; k++)
			ch[i].obj[k] = xmalloc(8 + (size_t)rng_below(&ch[i].r, 993));
	}
	t0 = now_s();
	for (int i = 0; i < NCHAINS; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, worker, &ch[i]) || pthread_detach(t)) {
			fprintf(stderr, "pthread_create failed\n");
			return 2;
		}
	}
	usleep((useconds_t)(secs * 1e6));
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < NCHAINS; i++) {
		pthread_mutex_lock(&ch[i].lock);
		while (!ch[i].done)
			pthread_cond_wait(&ch[i].cond, &ch[i].lock);
		pthread_mutex_unlock(&ch[i].lock);
		ops += ch[i].ops;
		sum += ch[i].sum;
	}
	double dt = now_s() - t0;

	for (int i = 0; i < NCHAINS; i++)
		for (int k = 0; k < NOBJS; k++)
			free(ch[i].obj[k]);
	print_throughput("server", dt, ops, sum);
	return 0;
}
