// SPDX-License-Identifier: MIT
/*
 * Frees of other threads' objects (lib/tcache.c, lib/mcentral.c
 * "Transfer cache"): the freeing thread reuses them, hands batches on to
 * the thread that runs out of the class, and gives what it still holds
 * back to the spans when it exits or calls karena_release(), so no object
 * is lost and memory comes back.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include "kselftest_harness.h"
#include "internal.h"
#include "test_util.h"

#define SIZE	64
#define SPC	(6 << 1)	/* the 64-byte class */
#define N	48		/* fewer than a full list (128 for this class) */

static void *objs[4096];
static int nobjs;

static void *alloc_n(void *arg)
{
	for (int i = 0; i < nobjs; i++) {
		objs[i] = karena_malloc(SIZE);
		memset(objs[i], 0x5a, SIZE);
	}
	return arg;
}

static void *free_n(void *arg)
{
	for (int i = 0; i < nobjs; i++)
		karena_free(objs[i]);
	return arg;
}

static void run(void *(*fn)(void *))
{
	pthread_t t;

	if (pthread_create(&t, NULL, fn, NULL) || pthread_join(t, NULL))
		abort();
}

static int is_one_of_objs(void *p)
{
	for (int i = 0; i < nobjs; i++)
		if (objs[i] == p)
			return 1;
	return 0;
}

static uint64_t rfree_bits_of(struct mspan *s)
{
	uint64_t any = 0;

	for (unsigned i = 0; i < (s->nelems + 63u) / 64u; i++)
		any |= LOAD(&s->rfree_bits[i]);
	return any;
}

/*
 * Another thread's objects freed here come back from this thread's malloc
 * once its own span of the class is used up, most recently freed first,
 * and their span is never written.
 */
TEST(foreign_frees_are_reused_by_the_freeing_thread)
{
	struct mspan *s;
	void *p = NULL;
	int i;

	karena_free(karena_malloc(SIZE));	/* this thread has a cache */
	nobjs = N;
	run(alloc_n);
	s = span_of((uintptr_t)objs[0]);
	for (i = 0; i < N; i++)
		karena_free(objs[i]);
	ASSERT_EQ(0, rfree_bits_of(s));		/* the span was not written */
	for (i = 0; i < 4096 && !is_one_of_objs(p); i++)
		p = karena_malloc(SIZE);
	ASSERT_EQ(objs[N - 1], p);
	for (i = N - 2; i >= 0; i--)
		ASSERT_EQ(objs[i], karena_malloc(SIZE));
	ASSERT_EQ(0, rfree_bits_of(s));
}

/*
 * A thread that only frees other threads' objects hands batches on: each
 * time its list of the class reaches 128 objects, all of them go to the
 * transfer cache, which holds them until the next thread runs out of the
 * class and takes one.
 */
TEST(batches_pass_through_the_transfer_cache)
{
	void *p = NULL;

	karena_release();			/* empty transfer caches */
	ASSERT_EQ(0, LOAD(&mcentral_[SPC].nxfer));
	nobjs = 256;
	for (int i = 0; i < nobjs; i++)
		objs[i] = karena_malloc(SIZE);
	run(free_n);		/* full at 128 and 256: two batches of 128 */
	ASSERT_EQ(2, LOAD(&mcentral_[SPC].nxfer));
	/* this thread takes one once its own spans are used up */
	for (int i = 0; i < 4096 && LOAD(&mcentral_[SPC].nxfer) == 2; i++)
		p = karena_malloc(SIZE);
	ASSERT_EQ(1, LOAD(&mcentral_[SPC].nxfer));
	ASSERT_TRUE(is_one_of_objs(p));		/* the batch's first object */
}

/*
 * Objects a thread still holds when it exits go back to their spans, where
 * the owner finds them (the drain when its span runs out).
 */
TEST(thread_exit_gives_pending_foreign_objects_back)
{
	struct mspan *s;
	void *p = NULL;
	int i;

	karena_release();
	nobjs = N;
	for (i = 0; i < nobjs; i++)
		objs[i] = karena_malloc(SIZE);
	s = span_of((uintptr_t)objs[0]);
	ASSERT_EQ(0, rfree_bits_of(s));
	run(free_n);				/* < a batch: all held at exit */
	ASSERT_EQ(0, LOAD(&mcentral_[SPC].nxfer));
	ASSERT_NE(0, rfree_bits_of(s));		/* back in the span */
	for (i = 0; i < 4096 && !is_one_of_objs(p); i++)
		p = karena_malloc(SIZE);
	ASSERT_TRUE(is_one_of_objs(p));		/* and reused by the owner */
	ASSERT_EQ(0, rfree_bits_of(s));
}

/*
 * Producer and consumer threads come and go with batches pending; after
 * they all exited and karena_release() ran, the heap is back where it was
 * (but for a few objects of the C library's own: pthread_create allocates;
 * losing the batches pending at exit would leave thousands, megabytes).
 */
static void *consumer(void *arg)
{
	void **v = arg;

	for (int i = 0; i < 1000; i++)
		karena_free(v[i]);
	return NULL;
}

static void *producer(void *arg)
{
	void **v = arg;

	for (int i = 0; i < 1000; i++)
		v[i] = karena_malloc((size_t)16 << (i % 8));	/* 16 B .. 2 KiB */
	return NULL;
}

TEST(no_memory_lost_after_producers_and_consumers_exit)
{
	struct karena_heap_stats a = { .size = sizeof(a) }, b = { .size = sizeof(b) };
	static void *v[4][1000];

	karena_release();
	ASSERT_EQ(0, karena_stats(&a));
	for (int round = 0; round < 50; round++) {
		pthread_t p[4], c[4];

		for (int k = 0; k < 4; k++)
			ASSERT_EQ(0, pthread_create(&p[k], NULL, producer, v[k]));
		for (int k = 0; k < 4; k++)
			ASSERT_EQ(0, pthread_join(p[k], NULL));
		for (int k = 0; k < 4; k++)
			ASSERT_EQ(0, pthread_create(&c[k], NULL, consumer, v[(k + round) % 4]));
		for (int k = 0; k < 4; k++)
			ASSERT_EQ(0, pthread_join(c[k], NULL));
	}
	karena_release();
	ASSERT_EQ(0, karena_stats(&b));
	TH_LOG("heap in use %llu -> %llu KiB", (unsigned long long)a.heap_inuse >> 10,
	       (unsigned long long)b.heap_inuse >> 10);
	ASSERT_LE(b.heap_inuse, a.heap_inuse + (64 << 10));
	ASSERT_LE(b.mallocs - b.frees, a.mallocs - a.frees + 64);
}

#define EXPECT_COUNTS(dm, df) do {					\
	uint64_t m_, f_;						\
	counts_of(SPC >> 1, &m_, &f_);					\
	ASSERT_EQ(m0 + (dm), m_);					\
	ASSERT_EQ(f0 + (df), f_);					\
} while (0)

/*
 * free() counts nothing: frees per class are mallocs minus the objects
 * still out (lib/mstats.c).  Exact on every path an object takes back:
 * the owner's free, a foreign object held by the freeing thread, batches
 * in the transfer cache, objects given back to their spans' remote-free
 * bits at thread exit, KARENA_DEBUG's remote frees, full parked spans.
 */
TEST(frees_are_exact_on_every_path)
{
	uint64_t m0, f0;
	void *p, *mine[3 * 128];
	int i;

	karena_release();
	counts_of(SPC >> 1, &m0, &f0);
	p = karena_malloc(SIZE);			/* owner */
	karena_free(p);
	EXPECT_COUNTS(1, 1);
	nobjs = N;					/* held by this thread */
	run(alloc_n);
	EXPECT_COUNTS(1 + N, 1);
	for (i = 0; i < N; i++)
		karena_free(objs[i]);
	EXPECT_COUNTS(1 + N, 1 + N);
	for (i = 0; i < 3 * 128; i++)			/* 3 spans: 2 parked full */
		mine[i] = karena_malloc(SIZE);
	EXPECT_COUNTS(1 + N + 384, 1 + N);
	for (i = 0; i < 128; i++)			/* into parked spans */
		karena_free(mine[i]);
	EXPECT_COUNTS(1 + N + 384, 1 + N + 128);
	nobjs = 256;					/* transfer cache */
	for (i = 0; i < nobjs; i++)
		objs[i] = mine[128 + i];
	run(free_n);
	EXPECT_COUNTS(1 + N + 384, 1 + N + 384);
	nobjs = N;					/* remote bits at exit */
	for (i = 0; i < nobjs; i++)
		objs[i] = karena_malloc(SIZE);
	run(free_n);
	EXPECT_COUNTS(1 + 2 * N + 384, 1 + 2 * N + 384);
	karena_set_debug(1);				/* remote bits at once */
	p = karena_malloc(SIZE);
	karena_free(p);
	karena_set_debug(0);
	EXPECT_COUNTS(2 + 2 * N + 384, 2 + 2 * N + 384);
	karena_release();				/* drains change nothing */
	EXPECT_COUNTS(2 + 2 * N + 384, 2 + 2 * N + 384);
}

TEST_HARNESS_MAIN
