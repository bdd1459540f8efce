// SPDX-License-Identifier: MIT
/*
 * The per-thread lists of freed objects in front of the spans
 * (lib/tcache.c): bounded, every object on a list or back in its span,
 * returned whole at thread exit and by karena_release(), and malloc takes
 * the object freed last.
 */
#include <pthread.h>
#include <stdint.h>
#include "kselftest_harness.h"
#include "internal.h"
#include "test_util.h"

#define SIZE	64
#define SPC	(6 << 1)	/* the 64-byte class */
#define LIMIT	128		/* its list's length at most */
#define NOBJ	4096

static void *objs[NOBJ];

static uint32_t list_len(void)
{
	struct mspan *l = tls_mcache->tcache[SPC];

	return l == &tcache_none ? 0 : tcache_count(l);
}

/* Objects of objs[0..n) their spans count as out (each span once). */
static uint64_t out_in_spans(int n)
{
	struct mspan *seen[NOBJ];
	int nseen = 0;
	uint64_t out = 0;

	for (int i = 0; i < n; i++) {
		struct mspan *s = span_of((uintptr_t)objs[i]);
		int j;

		for (j = 0; j < nseen && seen[j] != s; j++)
			;
		if (j < nseen)
			continue;
		seen[nseen++] = s;
		if (LOAD(&s->state) == SPAN_INUSE && s->spanclass == SPC)
			out += span_live(s);
	}
	return out;
}

/*
 * A thread that frees thousands of its objects without mallocs keeps at
 * most LIMIT of them on its list; all the others are back in their spans
 * (so they can be reused or their pages released).
 */
TEST(own_frees_stay_in_a_bounded_list)
{
	karena_release();
	for (int i = 0; i < NOBJ; i++)
		objs[i] = karena_malloc(SIZE);
	ASSERT_EQ(NOBJ, out_in_spans(NOBJ));
	for (int i = 0; i < NOBJ; i++)
		karena_free(objs[i]);
	ASSERT_LE(list_len(), LIMIT);
	ASSERT_LT(0, list_len());
	/* every object is on the list or free in its span */
	ASSERT_EQ(list_len(), out_in_spans(NOBJ));
	karena_release();
	ASSERT_EQ(0, list_len());
	ASSERT_EQ(0, out_in_spans(NOBJ));
}

static void *churn(void *arg)
{
	for (int i = 0; i < NOBJ; i++)
		objs[i] = karena_malloc(SIZE);
	for (int i = 0; i < NOBJ; i += 2)		/* some stay on the list */
		karena_free(objs[i]);
	for (int i = 1; i < NOBJ; i += 2)
		karena_free(objs[i]);
	return arg;
}

/*
 * A thread exits with objects on its list: they go back to their spans
 * (none is lost, and the frees are counted: frees are derived from what
 * the spans and the live threads' lists hold, lib/mstats.c).
 */
TEST(thread_exit_returns_its_list)
{
	uint64_t m0, f0, m, f;
	pthread_t t;

	karena_release();
	counts_of(SPC >> 1, &m0, &f0);
	ASSERT_EQ(0, pthread_create(&t, NULL, churn, NULL));
	ASSERT_EQ(0, pthread_join(t, NULL));
	counts_of(SPC >> 1, &m, &f);
	ASSERT_EQ(m0 + NOBJ, m);
	ASSERT_EQ(f0 + NOBJ, f);
	ASSERT_EQ(0, out_in_spans(NOBJ));
}

/*
 * Once the class's list is in use, malloc returns the objects freed last
 * first, whichever of the thread's spans they belong to.
 */
TEST(malloc_takes_the_last_freed_object)
{
	int n = 3 * LIMIT / 4;

	karena_release();
	for (int i = 0; i < n; i++)
		objs[i] = karena_malloc(SIZE);
	for (int i = 0; i < n; i++)
		karena_free(objs[i]);
	for (int i = n - 1; i >= 0; i--)
		ASSERT_EQ(objs[i], karena_malloc(SIZE));
}

TEST_HARNESS_MAIN
