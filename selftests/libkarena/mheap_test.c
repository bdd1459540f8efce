// SPDX-License-Identifier: MIT
/* mheap: arena index, page allocator coalescing, needzero, large spans. */
#include <stdlib.h>
#include <string.h>
#include "kselftest_harness.h"
#include "internal.h"

#define P PAGE_BYTES

TEST(arena_index_finds_span_of_every_object)
{
	for (size_t n = 8; n <= 200000; n = n * 3 + 1) {
		char *p = karena_malloc(n);
		struct mspan *s;

		ASSERT_NE(NULL, p);
		ASSERT_NE(NULL, arena_of((uintptr_t)p));
		s = span_of((uintptr_t)p + n - 1);	/* last byte, same span */
		ASSERT_NE(NULL, s);
		ASSERT_EQ(SPAN_INUSE, s->state);
		ASSERT_LE(s->start, (uintptr_t)p);
		ASSERT_GT(s->start + s->npages * P, (uintptr_t)p + n - 1);
		karena_free(p);
	}
}

TEST(arena_index_rejects_foreign_addresses)
{
	int local;

	karena_free(karena_malloc(1));	/* init */
	ASSERT_EQ(NULL, arena_of(0x1000));
	ASSERT_EQ(NULL, arena_of((uintptr_t)&local));
	ASSERT_EQ(NULL, span_of(~(uintptr_t)0 - 4096));
	ASSERT_EQ(NULL, span_of((uintptr_t)1 << 60));
}

TEST(arenas_are_64MiB_aligned_and_registered)
{
	char *p = karena_malloc(1 << 20);
	uintptr_t base = (uintptr_t)p & ~(ARENA_BYTES - 1);

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, arena_of(base));
	ASSERT_NE(NULL, arena_of(base + ARENA_BYTES - 1));
	karena_free(p);
}

/* Get n (<= 8) page-adjacent spans of np[0], np[1], ... pages, in order. */
static int adjacent_spans(struct mspan **out, const size_t *np, int n)
{
	struct mspan *keep[64 + 8];
	int nkeep = 0, ok = 0;

	while (nkeep < 60) {
		int i, adj = 1;

		for (i = 0; i < n; i++) {
			out[i] = mheap_alloc(np[i], 1, 0);
			if (!out[i])
				break;
			if (i && out[i]->start != out[i - 1]->start + np[i - 1] * P)
				adj = 0;
		}
		if (i == n && adj) {
			ok = 1;
			break;
		}
		const int all = i == n;	/* else out of memory */

		while (i)
			keep[nkeep++] = out[--i];
		if (!all)
			break;
	}
	while (nkeep)
		mheap_free(keep[--nkeep]);
	return ok;
}

static int adjacent_triple(struct mspan **out, size_t a, size_t b, size_t c)
{
	const size_t np[3] = { a, b, c };

	return adjacent_spans(out, np, 3);
}

TEST(free_runs_coalesce_with_both_neighbours)
{
	struct mspan *t[3];
	uintptr_t a0, b0, c0, cend;
	struct mspan *fa, *fc, *f;

	karena_free(karena_malloc(1));
	ASSERT_TRUE(adjacent_triple(t, 3, 5, 7));
	a0 = t[0]->start, b0 = t[1]->start, c0 = t[2]->start;
	cend = c0 + 7 * P;
	mheap_free(t[0]);
	mheap_free(t[2]);
	fa = mheap_free_span_containing(a0);
	fc = mheap_free_span_containing(c0);
	ASSERT_NE(NULL, fa);
	ASSERT_NE(NULL, fc);
	ASSERT_NE(fa, fc);				/* b separates them */
	ASSERT_EQ(NULL, mheap_free_span_containing(b0));
	ASSERT_EQ(b0, fa->start + fa->npages * P);	/* a's run ends at b */
	ASSERT_EQ(b0 + 5 * P, fc->start);		/* c's run starts after b */
	mheap_free(t[1]);
	f = mheap_free_span_containing(b0);
	ASSERT_NE(NULL, f);
	ASSERT_LE(f->start, a0);			/* one run over all three */
	ASSERT_GE(f->start + f->npages * P, cend);
	ASSERT_EQ(f, mheap_free_span_containing(a0));
	ASSERT_EQ(f, mheap_free_span_containing(c0));
}

TEST(split_leaves_remainder_free)
{
	struct mspan *t[3];
	struct mspan *s;

	karena_free(karena_malloc(1));
	ASSERT_TRUE(adjacent_triple(t, 2, 9, 2));
	mheap_free(t[1]);		/* a 9-page hole between two spans */
	s = mheap_alloc(9, 1, 0);	/* exact fit: bin 9 */
	ASSERT_NE(NULL, s);
	ASSERT_EQ(t[0]->start + 2 * P, s->start);
	mheap_free(s);
	s = mheap_alloc(4, 1, 0);	/* bin 9 is the smallest fit */
	ASSERT_NE(NULL, s);
	ASSERT_EQ(t[0]->start + 2 * P, s->start);
	ASSERT_NE(NULL, mheap_free_span_containing(s->start + 4 * P));
	ASSERT_EQ(5, mheap_free_span_containing(s->start + 4 * P)->npages);
	mheap_free(s);
	mheap_free(t[0]);
	mheap_free(t[2]);
}

/*
 * Spans t[0..4] of 1, a, 1, b, 1 pages, page-adjacent in that order: t[1]
 * and t[3], once freed, are runs of exactly a and b pages at *lo < *hi.
 */
static int runs_between_guards(struct mspan **t, size_t a, size_t b,
			       uintptr_t *lo, uintptr_t *hi)
{
	const size_t np[5] = { 1, a, 1, b, 1 };

	if (!adjacent_spans(t, np, 5))
		return 0;
	*lo = t[1]->start;
	*hi = t[3]->start;
	return 1;
}

/* Free s (a span the test took) and the guards of runs_between_guards. */
static void free_span_and_guards(struct mspan *s, struct mspan **t)
{
	mheap_free(s);
	mheap_free(t[0]);
	mheap_free(t[2]);
	mheap_free(t[4]);
}

/*
 * Placement (mheap.c, free_find_big): a request no bin serves takes the
 * lowest-addressed big free run that fits and has no released page, not
 * the smallest (best fit), so the heap packs low.  Runs of 200 and 150
 * pages, in that order: 140 pages come from the 200-page run (or from a
 * run lower still).  Best fit took the 150-page run above it.
 */
TEST(big_runs_first_fit_lowest_address)
{
	struct mspan *t[5], *s;
	uintptr_t lo, hi;

	karena_free(karena_malloc(1));
	ASSERT_TRUE(runs_between_guards(t, 200, 150, &lo, &hi));
	mheap_free(t[1]);
	mheap_free(t[3]);
	ASSERT_EQ(200, mheap_free_span_containing(lo)->npages);
	ASSERT_EQ(150, mheap_free_span_containing(hi)->npages);
	s = mheap_alloc(140, 1, 0);
	ASSERT_NE(NULL, s);
	TH_LOG("runs at +0 and +%zu pages: 140 pages at %+ld",
	       (size_t)((hi - lo) / P), (long)(s->start - lo) / (long)P);
	ASSERT_LE(s->start, lo);
	free_span_and_guards(s, t);
}

/*
 * ... and a run still backed before a released one: a 150-page run
 * released (a scavenge that may cut huge blocks, so on the device
 * backend too) below a 200-page run freed after it: 140 pages come from
 * the backed run, which costs no fault and lets the released one stay
 * out of RSS.  Best fit and plain first fit both took the released run.
 */
TEST(big_runs_backed_first)
{
	struct mspan *t[5], *s;
	uintptr_t lo, hi;

	karena_free(karena_malloc(1));
	ASSERT_TRUE(runs_between_guards(t, 150, 200, &lo, &hi));
	mheap_free(t[1]);
	mheap_scavenge_cut(SIZE_MAX, 0, false);
	ASSERT_EQ(150, mheap_free_span_containing(lo)->nscav);
	mheap_free(t[3]);
	ASSERT_EQ(0, mheap_free_span_containing(hi)->nscav);
	s = mheap_alloc(140, 1, 0);
	ASSERT_NE(NULL, s);
	TH_LOG("released run at +0, backed at +%zu pages: 140 pages at %+ld",
	       (size_t)((hi - lo) / P), (long)(s->start - lo) / (long)P);
	ASSERT_EQ(hi, s->start);
	free_span_and_guards(s, t);
}

TEST(large_object_has_own_span)
{
	char *p = karena_malloc(100000);
	struct mspan *s = span_of((uintptr_t)p);

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, (uintptr_t)p % P);
	ASSERT_EQ(0, s->spanclass);
	ASSERT_EQ((uintptr_t)p, s->start);
	ASSERT_EQ((100000 + P - 1) / P, s->npages);
	ASSERT_EQ(s->npages * P, karena_malloc_usable_size(p));
	karena_free(p);
	ASSERT_EQ(0, karena_malloc_usable_size(p));
}

TEST(aligned_large_allocation)
{
	struct mspan *s = mheap_alloc(3, 256, 0);	/* 2 MiB aligned */

	ASSERT_NE(NULL, s);
	ASSERT_EQ(0, s->start % (256 * P));
	ASSERT_EQ(3, s->npages);
	mheap_free(s);
}

TEST(needzero_tracks_fresh_and_scavenged_pages)
{
	struct mspan *s;
	uintptr_t at;

	scavenger_enabled = 0;
	/* the heap is set up; the object stays, so no span of it is freed
	 * (its pages would come back dirty from a lazy release) */
	ASSERT_NE(NULL, karena_malloc(1));
	karena_release();
	s = mheap_alloc(40, 1, 0);		/* all pages scavenged: zero */
	ASSERT_NE(NULL, s);
	ASSERT_EQ(0, s->needzero);
	memset((void *)s->start, 0xab, 40 * P);
	at = s->start;
	mheap_free(s);
	s = mheap_alloc(40, 1, 0);		/* dirty pages come back */
	ASSERT_NE(NULL, s);
	ASSERT_EQ(at, s->start);
	ASSERT_EQ(1, s->needzero);
	mheap_free(s);
	/* scavenged again, at once (malloc_trim's release): zero */
	ASSERT_GE(mheap_scavenge(SIZE_MAX, 0, false), 40 * P);
	s = mheap_alloc(40, 1, 0);
	ASSERT_NE(NULL, s);
	ASSERT_EQ(0, s->needzero);
	for (size_t i = 0; i < 40 * P; i += 4096)
		ASSERT_EQ(0, ((unsigned char *)s->start)[i]);
	memset((void *)s->start, 0xab, 40 * P);
	mheap_free(s);
	/*
	 * The scavenger's (and karena_release()'s) release is lazy on the
	 * device backend (os_unused_lazy): the pages may come back with
	 * their data.
	 */
	ASSERT_GE(mheap_scavenge(SIZE_MAX, 0, true), 40 * P);
	s = mheap_alloc(40, 1, 0);
	ASSERT_NE(NULL, s);
	ASSERT_EQ(at, s->start);
	ASSERT_EQ(os_unused_lazy ? 1 : 0, s->needzero);
	mheap_free(s);
}

TEST(calloc_of_recycled_large_is_zero)
{
	unsigned char *p = karena_malloc(300000), *q;

	ASSERT_NE(NULL, p);
	memset(p, 0xff, 300000);
	karena_free(p);
	q = karena_calloc(1, 300000);
	ASSERT_NE(NULL, q);
	for (size_t i = 0; i < 300000; i++)
		ASSERT_EQ(0, q[i]);
	karena_free(q);
}

TEST(realloc_grows_large_in_place)
{
	char *p = NULL, *q;
	struct mspan *f;

	for (int i = 0; i < 20 && !p; i++) {
		char *x = karena_malloc(200000);

		f = mheap_free_span_containing((uintptr_t)x + span_of((uintptr_t)x)->npages * P);
		if (f && f->npages >= 64)
			p = x;	/* a big free run follows it */
	}
	ASSERT_NE(NULL, p);
	memset(p, 0x3c, 200000);
	q = karena_realloc(p, 400000);
	ASSERT_EQ(p, q);
	ASSERT_GE(karena_malloc_usable_size(q), 400000);
	ASSERT_EQ(0x3c, q[199999]);
	memset(q, 1, 400000);
	ASSERT_EQ(q, span_of((uintptr_t)q + 399999)->start == (uintptr_t)q ? q : NULL);
	karena_free(q);
}

TEST_HARNESS_MAIN
