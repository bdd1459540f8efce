/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xthread: producer/consumer cross-thread free.  P producer threads
 * malloc objects (16 B .. 1 KiB, fixed-seed sizes), fill their first
 * bytes and hand them in batches of 64 through a bounded queue to C
 * consumer threads, which check and free them.  Every free is remote:
 * this is the path Go's mcentral and the other allocators' remote-free
 * lists handle.
 */
#include "common.h"
#include <pthread.h>

#define NPROD	2
#define NCONS	2
#define BATCH	64
#define QCAP	64

struct batch {
	void *p[BATCH];
	int n;
};

static struct batch *queue[QCAP];
static int qhead, qtail, qcount, producers_left = NPROD;
static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qnotempty = PTHREAD_COND_INITIALIZER;
static pthread_cond_t qnotfull = PTHREAD_COND_INITIALIZER;
static long per_producer;
static unsigned long checks[NCONS];

static void put(struct batch *b)
{
	pthread_mutex_lock(&qlock);
	while (qcount == QCAP)
		pthread_cond_wait(&qnotfull, &qlock);
	queue[qtail] = b;
	qtail = (qtail + 1) % QCAP;
	qcount++;
	pthread_cond_signal(&qnotempty);
	pthread_mutex_unlock(&qlock);
}

static struct batch *get(void)
{
	struct batch *b = NULL;

	pthread_mutex_lock(&qlock);
	while (qcount == 0 && producers_left > 0)
		pthread_cond_wait(&qnotempty, &qlock);
	if (qcount > 0) {
		b = queue[qhead];
		qhead = (qhead + 1) % QCAP;
		qcount--;
		pthread_cond_signal(&qnotfull);
	}
	pthread_mutex_unlock(&qlock);
	return b;
}

static void *producer(void *arg)
{
	struct rng r;

	rng_seed(&r, 1000 + (uintptr_t)arg);
	for (long done = 0; done < per_producer; done += BATCH) {
		struct batch *b = xmalloc(sizeof(*b));

		b->n = BATCH;
		for (int i = 0; i < BATCH; i++) {
			size_t sz = rng_size(&r, 16, 1024);
			unsigned char *p = xmalloc(sz);

			p[0] = (unsigned char)sz;
			b->p[i] = p;
		}
		put(b);
	}
	pthread_mutex_lock(&qlock);
	producers_left--;
	pthread_cond_broadcast(&qnotempty);
	pthread_mutex_unlock(&qlock);
	return NULL;
}

static void *consumer(void *arg)
{
	uintptr_t id = (uintptr_t)arg;
	struct batch *b;

	while ((b = get()) != NULL) {
		for (int i = 0; i < b->n; i++) {
			checks[id] += *(unsigned char *)b->p[i];
			free(b->p[i]);
		}
		free(b);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	double scale = bench_scale(argc, argv);
	pthread_t pt[NPROD], ct[NCONS];
	unsigned long sum = 0;

	per_producer = (long)(2400000 * scale);
	double t0 = now_s();

	for (uintptr_t i = 0; i < NCONS; i++)
		pthread_create(&ct[i], NULL, consumer, (void *)i);
	for (uintptr_t i = 0; i < NPROD; i++)
		pthread_create(&pt[i], NULL, producer, (void *)i);
	for (int i = 0; i < NPROD; i++)
		pthread_join(pt[i], NULL);
	for (int i = 0; i < NCONS; i++)
		pthread_join(ct[i], NULL);
	double dt = now_s() - t0;

	for (int i = 0; i < NCONS; i++)
		sum += checks[i];
	printf("RESULT wl=xthread time_s=%.6f objs=%ld check=%lu\n", dt,
	       per_producer * NPROD, sum);
	return 0;
}
