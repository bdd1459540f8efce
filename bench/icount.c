/* SPDX-License-Identifier: GPL-2.0 */
/*
 * icount: the code callgrind counts for instructions per malloc+free pair.
 *
 *   icount same|cross|base-same|base-cross SIZE PAIRS
 *
 * It runs PAIRS malloc+free pairs of SIZE bytes in batches (at most 64
 * objects and 64 KiB, like wl_sizeclass) after a warm-up of the same
 * amount, so caches, spans and free lists are in their steady state.
 *   same:  one thread mallocs a batch, writes a byte of each object and
 *          frees it (in allocation order);
 *   cross: the main thread mallocs a batch, a second thread frees it;
 *          the threads take turns (a handshake outside the measured code),
 *          so the allocator's remote-free and reclaim paths are counted,
 *          deterministically.
 * The measured code is in functions named measure_*: icount.py runs this
 * under valgrind --tool=callgrind --collect-atstart=no
 * --toggle-collect='measure_*' and divides the collected instructions by
 * PAIRS.  base-same/base-cross run the identical loops against a malloc
 * and free that do nothing (through the same function pointers), so the
 * loop and call overhead can be subtracted: what remains is the
 * allocator's own instructions.
 */
#include "common.h"
#include <pthread.h>
#include <semaphore.h>

#define MAXBATCH	64

static void *(*volatile alloc_fn)(size_t) = malloc;
static void (*volatile free_fn)(void *) = free;
static char null_obj[64 << 10];

static void *null_malloc(size_t n)
{
	(void)n;
	return null_obj;
}

static void null_free(void *p)
{
	(void)p;
}

static size_t size;
static unsigned batch;
static void *objs[MAXBATCH];
static sem_t to_freer, to_allocer;

static inline void alloc_batch(void)
{
	void *(*fn)(size_t) = alloc_fn;

	for (unsigned i = 0; i < batch; i++) {
		objs[i] = fn(size);
		*(volatile char *)objs[i] = (char)i;
	}
}

static inline void free_batch(void)
{
	void (*fn)(void *) = free_fn;

	for (unsigned i = 0; i < batch; i++)
		fn(objs[i]);
}

static __attribute__((noipa)) void warm_same(long rounds)
{
	for (long r = 0; r < rounds; r++) {
		alloc_batch();
		free_batch();
	}
}

__attribute__((noipa)) void measure_same(long rounds)
{
	for (long r = 0; r < rounds; r++) {
		alloc_batch();
		free_batch();
	}
}

__attribute__((noipa)) void measure_cross_alloc(void)
{
	alloc_batch();
}

__attribute__((noipa)) void measure_cross_free(void)
{
	free_batch();
}

static __attribute__((noipa)) void warm_cross_alloc(void)
{
	alloc_batch();
}

static __attribute__((noipa)) void warm_cross_free(void)
{
	free_batch();
}

static long total_rounds;

static void *freer(void *arg)
{
	(void)arg;
	for (long r = 0; r < 2 * total_rounds; r++) {
		sem_wait(&to_freer);
		if (r < total_rounds)
			warm_cross_free();
		else
			measure_cross_free();
		sem_post(&to_allocer);
	}
	return NULL;
}

static void run_cross(long rounds)
{
	pthread_t t;

	total_rounds = rounds;
	sem_init(&to_freer, 0, 0);
	sem_init(&to_allocer, 0, 0);
	if (pthread_create(&t, NULL, freer, NULL)) {
		fprintf(stderr, "icount: pthread_create failed\n");
		exit(2);
	}
	for (long r = 0; r < 2 * rounds; r++) {
		if (r < rounds)
			warm_cross_alloc();
		else
			measure_cross_alloc();
		sem_post(&to_freer);
		sem_wait(&to_allocer);
	}
	pthread_join(t, NULL);
}

int main(int argc, char **argv)
{
	const char *mode;
	long pairs, rounds;

	if (argc != 4) {
		fprintf(stderr, "usage: icount same|cross|base-same|base-cross SIZE PAIRS\n");
		return 2;
	}
	mode = argv[1];
	size = strtoul(argv[2], NULL, 0);
	pairs = atol(argv[3]);
	if (size == 0 || size > sizeof(null_obj) || pairs <= 0) {
		fprintf(stderr, "icount: bad size or pairs\n");
		return 2;
	}
	batch = (65536 / size) < MAXBATCH ? (unsigned)(65536 / size) : MAXBATCH;
	rounds = (pairs + batch - 1) / batch;
	if (!strncmp(mode, "base-", 5)) {
		alloc_fn = null_malloc;
		free_fn = null_free;
		mode += 5;
	}
	if (!strcmp(mode, "same")) {
		warm_same(rounds);
		measure_same(rounds);
	} else if (!strcmp(mode, "cross")) {
		run_cross(rounds);
	} else {
		fprintf(stderr, "icount: unknown mode %s\n", mode);
		return 2;
	}
	printf("RESULT wl=icount mode=%s size=%zu pairs=%ld batch=%u\n", argv[1], size,
	       rounds * batch, batch);
	return 0;
}
