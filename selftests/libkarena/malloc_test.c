// SPDX-License-Identifier: MIT
/* The malloc API on top of the components: errors, alignment, realloc,
 * cross-thread frees, thread exit, fork, debug checks, stats. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "kselftest_harness.h"
#include "internal.h"
#include "test_util.h"

TEST(impossible_sizes_give_enomem)
{
	errno = 0;
	ASSERT_EQ(NULL, karena_malloc(SIZE_MAX));
	ASSERT_EQ(ENOMEM, errno);
	errno = 0;
	ASSERT_EQ(NULL, karena_calloc(SIZE_MAX / 2, 3));
	ASSERT_EQ(ENOMEM, errno);
	errno = 0;
	ASSERT_EQ(NULL, karena_reallocarray(NULL, SIZE_MAX / 4, 8));
	ASSERT_EQ(ENOMEM, errno);
	errno = 0;
	ASSERT_EQ(NULL, karena_malloc(SIZE_MAX - 8192));
	ASSERT_EQ(ENOMEM, errno);
}

TEST(bad_alignment_gives_einval)
{
	void *p = (void *)1;

	ASSERT_EQ(EINVAL, karena_posix_memalign(&p, 3, 10));
	ASSERT_EQ(EINVAL, karena_posix_memalign(&p, 4, 10));	/* < sizeof(void *) */
	ASSERT_EQ((void *)1, p);
	errno = 0;
	ASSERT_EQ(NULL, karena_aligned_alloc(24, 48));
	ASSERT_EQ(EINVAL, errno);
	errno = 0;
	ASSERT_EQ(NULL, karena_memalign(0, 48));
	ASSERT_EQ(EINVAL, errno);
}

TEST(aligned_allocations_are_aligned)
{
	for (size_t al = 8; al <= (1 << 22); al <<= 1) {
		size_t sizes[] = { 1, 7, 100, al, al + 1, 40000 };

		for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			void *p = NULL;

			ASSERT_EQ(0, karena_posix_memalign(&p, al, sizes[i]));
			ASSERT_EQ(0, (uintptr_t)p % al) TH_LOG("al=%zu n=%zu", al, sizes[i]);
			ASSERT_GE(karena_malloc_usable_size(p), sizes[i]);
			memset(p, 1, sizes[i]);
			karena_free(p);
		}
	}
	void *v = karena_valloc(10), *pv = karena_pvalloc(5000);

	ASSERT_EQ(0, (uintptr_t)v % 4096);
	ASSERT_EQ(0, (uintptr_t)pv % 4096);
	ASSERT_GE(karena_malloc_usable_size(pv), 8192);
	karena_free(v);
	karena_free(pv);
}

TEST(free_null_and_malloc_zero)
{
	karena_free(NULL);
	void *a = karena_malloc(0), *b = karena_malloc(0);

	ASSERT_NE(NULL, a);
	ASSERT_NE(a, b);
	karena_free(a);
	karena_free(b);
}

TEST(usable_size_and_contents)
{
	for (size_t n = 1; n < 70000; n += n / 3 + 1) {
		unsigned char *p = karena_malloc(n);

		ASSERT_NE(NULL, p);
		ASSERT_GE(karena_malloc_usable_size(p), n);
		memset(p, 0x5a, karena_malloc_usable_size(p));
		karena_free(p);
	}
}

TEST(realloc_in_place_within_class)
{
	char *p = karena_malloc(100), *q;	/* class 112 */

	strcpy(p, "hello");
	q = karena_realloc(p, 110);
	ASSERT_EQ(p, q);
	q = karena_realloc(p, 2000);
	ASSERT_NE(p, q);
	ASSERT_STREQ("hello", q);
	p = karena_realloc(q, 100000);
	ASSERT_STREQ("hello", p);
	q = karena_realloc(p, 90000);		/* large, shrink a bit: in place */
	ASSERT_EQ(p, q);
	ASSERT_EQ(NULL, karena_realloc(q, 0));	/* frees */
}

TEST(calloc_zeroes_recycled_small)
{
	for (int r = 0; r < 3; r++) {
		unsigned char *p[64];

		for (int i = 0; i < 64; i++) {
			p[i] = karena_malloc(200);
			memset(p[i], 0xee, 200);
		}
		for (int i = 0; i < 64; i++)
			karena_free(p[i]);
		for (int i = 0; i < 64; i++) {
			p[i] = karena_calloc(10, 20);
			for (int k = 0; k < 200; k++)
				ASSERT_EQ(0, p[i][k]);
		}
		for (int i = 0; i < 64; i++)
			karena_free(p[i]);
	}
}

#define XN 20000
static void *xobjs[XN];

static void *free_all(void *arg)
{
	for (int i = 0; i < XN; i++)
		karena_free(xobjs[i]);
	return arg;
}

TEST(cross_thread_frees_are_reused)
{
	struct karena_heap_stats a = { .size = sizeof(a) }, b = { .size = sizeof(b) };

	ASSERT_EQ(0, karena_stats(&a));
	for (int round = 0; round < 30; round++) {
		pthread_t t;

		for (int i = 0; i < XN; i++) {
			xobjs[i] = karena_malloc(48);
			ASSERT_NE(NULL, xobjs[i]);
			memset(xobjs[i], round, 48);
		}
		ASSERT_EQ(0, pthread_create(&t, NULL, free_all, NULL));
		ASSERT_EQ(0, pthread_join(t, NULL));
	}
	ASSERT_EQ(0, karena_stats(&b));
	/* 30 rounds of ~1 MiB: memory is reused, not leaked */
	ASSERT_LT(b.heap_inuse, a.heap_inuse + (8 << 20));
	ASSERT_GE(b.by_size[5].frees, a.by_size[5].frees + 30 * XN);
}

static void *aobjs[1024];
static int naobjs;

static void *free_aobjs(void *arg)
{
	for (int i = 0; i < naobjs; i++)
		karena_free(aobjs[i]);
	return arg;
}

TEST(remote_frees_to_parked_span_notify_owner)
{
	const int spc = 6 << 1;		/* 64-byte class */
	struct mcache *c;
	struct mspan *a;
	void *p, *first;
	pthread_t t;
	int i;

	first = karena_malloc(64);	/* a cache; no free: that makes the
					 * class's list current (lib/tcache.c) */
	c = tls_mcache;
	p = karena_malloc(64);
	a = span_of((uintptr_t)p);
	naobjs = 0;
	aobjs[naobjs++] = p;
	for (i = 0; i < 2000 && c->alloc[spc] == a; i++) {
		p = karena_malloc(64);
		if (span_of((uintptr_t)p) == a)
			aobjs[naobjs++] = p;
	}
	ASSERT_NE(a, c->alloc[spc]);		/* a ran out and was parked */
	ASSERT_EQ(LIST_LFULL, a->list);
	ASSERT_EQ(c, span_owner(a));		/* still ours */
	ASSERT_EQ(1, a->notify);		/* armed */
	ASSERT_EQ(0, pthread_create(&t, NULL, free_aobjs, NULL));
	ASSERT_EQ(0, pthread_join(t, NULL));
	/* the freeing thread's complete batches wait in the transfer cache
	 * (remote_test.c); reclaiming hands them to the span */
	mcentral_reclaim();
	ASSERT_EQ(1, a->queued);		/* first remote free told us */
	ASSERT_EQ(a, c->rnotify);
	for (i = 0; i < 5000 && c->alloc[spc] != a; i++)
		karena_malloc(64);
	ASSERT_EQ(a, c->alloc[spc]);		/* and we went back to it */
	ASSERT_EQ(0, a->queued);
	ASSERT_LT(a->allocCount, a->nelems);
	karena_free(first);
}

TEST(empty_spans_are_kept_for_reuse_and_released)
{
	const int spc = karena_size_class(2048) << 1;
	struct karena_heap_stats a = { .size = sizeof(a) }, b = { .size = sizeof(b) };
	struct mcache *c;
	void *p[64];
	int i;

	karena_free(karena_malloc(2048));
	c = tls_mcache;
	for (i = 0; i < 64; i++)
		ASSERT_NE(NULL, p[i] = karena_malloc(2048));
	for (i = 0; i < 64; i++)
		karena_free(p[i]);
	/* spans that became empty stay with the thread, bounded */
	ASSERT_NE(NULL, c->empty[spc].head);
	ASSERT_LE(c->empty_pages[spc], 8);
	ASSERT_EQ(LIST_LEMPTY, c->empty[spc].head->list);
	ASSERT_EQ(0, c->empty[spc].head->allocCount);
	ASSERT_EQ(0, karena_stats(&a));
	/* the next batch takes them without the heap */
	for (i = 0; i < 32; i++)
		ASSERT_NE(NULL, p[i] = karena_malloc(2048));
	ASSERT_EQ(0, karena_stats(&b));
	ASSERT_EQ(a.heap_inuse, b.heap_inuse);
	for (i = 0; i < 32; i++)
		karena_free(p[i]);
	ASSERT_NE(NULL, c->empty[spc].head);
	karena_release();
	ASSERT_EQ(NULL, c->empty[spc].head);
	ASSERT_EQ(0, c->empty_total);
}

static void *alloc_and_exit(void *arg)
{
	for (int i = 0; i < 1000; i++)
		karena_free(karena_malloc(64));
	*(void **)arg = karena_malloc(64);	/* outlives the thread */
	return NULL;
}

TEST(thread_exit_flushes_cache)
{
	struct karena_heap_stats a = { .size = sizeof(a) }, b = { .size = sizeof(b) };
	void *left = NULL;
	pthread_t t;

	ASSERT_EQ(0, karena_stats(&a));
	ASSERT_EQ(0, pthread_create(&t, NULL, alloc_and_exit, &left));
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(0, karena_stats(&b));
	ASSERT_EQ(a.nthreads, b.nthreads);	/* its cache is gone */
	ASSERT_GE(b.mallocs, a.mallocs + 1001);	/* counters survive */
	struct mspan *s = span_of((uintptr_t)left);

	ASSERT_EQ(0, s->owner);			/* span handed to mcentral */
	karena_free(left);			/* freeing it still works */
}

static volatile int stop;

static void *hammer(void *arg)
{
	while (!stop)
		karena_free(karena_malloc(1 + (size_t)rand() % 5000));
	return arg;
}

TEST(fork_while_other_thread_allocates)
{
	pthread_t t;

	stop = 0;
	ASSERT_EQ(0, pthread_create(&t, NULL, hammer, NULL));
	for (int i = 0; i < 20; i++) {
		pid_t pid = fork();
		int st;

		ASSERT_GE(pid, 0);
		if (pid == 0) {
			void *p[100];

			for (int k = 0; k < 100; k++)
				p[k] = karena_malloc((size_t)k * 100 + 1);
			for (int k = 0; k < 100; k++)
				karena_free(p[k]);
			_exit(0);
		}
		ASSERT_EQ(pid, waitpid(pid, &st, 0));
		ASSERT_TRUE(WIFEXITED(st));
		ASSERT_EQ(0, WEXITSTATUS(st));
	}
	stop = 1;
	pthread_join(t, NULL);
}

static void small_double_free(void)
{
	void *p = karena_malloc(64);

	karena_set_debug(1);
	karena_free(p);
	karena_free(p);
}

static void *free_thread(void *p)
{
	karena_free(p);
	return NULL;
}

static void remote_double_free_fn(void)
{
	void *p = karena_malloc(64);

	karena_set_debug(1);
	karena_free(p);
	/* second free from a thread that does not own the span */
	pthread_t t;

	pthread_create(&t, NULL, free_thread, p);
	pthread_join(t, NULL);
	/* the owner notices when it drains the remote frees */
	for (int i = 0; i < 100000; i++)
		karena_malloc(64);
}

static void large_double_free(void)
{
	void *p = karena_malloc(1 << 20);

	karena_set_debug(1);
	karena_free(p);
	karena_free(p);
}

static void foreign_free(void)
{
	int x;

	karena_set_debug(1);
	karena_free(&x);
}

static void tail_waste_free(void)
{
	char *p = karena_malloc(48);	/* 170 objects, 32 bytes of tail */
	struct mspan *s = span_of((uintptr_t)p);

	karena_set_debug(1);
	karena_free((void *)(s->start + (uintptr_t)s->nelems * s->elemsize));
}

TEST(pointer_into_span_tail_aborts_in_debug)
{
	ASSERT_TRUE(dies_of_abort(tail_waste_free));
}

TEST(double_free_aborts_in_debug)
{
	ASSERT_TRUE(dies_of_abort(small_double_free));
}

TEST(remote_double_free_aborts_in_debug)
{
	ASSERT_TRUE(dies_of_abort(remote_double_free_fn));
}

TEST(large_double_free_aborts_in_debug)
{
	ASSERT_TRUE(dies_of_abort(large_double_free));
}

TEST(foreign_pointer_aborts_in_debug)
{
	ASSERT_TRUE(dies_of_abort(foreign_free));
}

TEST(foreign_pointer_ignored_without_debug)
{
	int x;
	char *p = karena_malloc(256);

	karena_set_debug(0);
	karena_free(&x);
	karena_free(p + 8);	/* interior */
	ASSERT_EQ(256, karena_malloc_usable_size(p));
	karena_free(p);
}

TEST(stats_count_mallocs_and_frees)
{
	struct karena_heap_stats a = { .size = sizeof(a) }, b = { .size = sizeof(b) };
	void *p[100];

	ASSERT_EQ(0, karena_stats(&a));
	for (int i = 0; i < 100; i++)
		p[i] = karena_malloc(1000);
	ASSERT_EQ(0, karena_stats(&b));
	ASSERT_EQ(a.by_size[32].mallocs + 100, b.by_size[32].mallocs);
	ASSERT_GE(b.heap_alloc, a.heap_alloc + 100 * 1000);
	ASSERT_GE(b.heap_sys, b.heap_inuse + b.heap_idle - b.heap_released);
	for (int i = 0; i < 100; i++)
		karena_free(p[i]);
	ASSERT_EQ(0, karena_stats(&a));
	ASSERT_EQ(b.by_size[32].frees + 100, a.by_size[32].frees);
	ASSERT_EQ(-1, karena_stats(NULL));
}

TEST(backend_is_reported)
{
	const char *b = karena_backend();

	ASSERT_NE(NULL, b);
	ASSERT_TRUE(!strcmp(b, "mmap") || !strcmp(b, "dev"));
	/* forced device backend with the device present: it must be used */
	const char *want = getenv("KARENA_BACKEND");

	if (want && !strcmp(want, "dev") && access("/dev/karena", R_OK | W_OK) == 0)
		ASSERT_STREQ("dev", b);
	if (want && !strcmp(want, "mmap"))
		ASSERT_STREQ("mmap", b);
}

TEST_HARNESS_MAIN
