// SPDX-License-Identifier: MIT
/* mspan: the free list, the bump pointer, the remote-free bitmap and its drain. */
#include <stdlib.h>
#include <string.h>
#include "kselftest_harness.h"
#include "internal.h"

/* A span of class cls over fresh memory (the free list is in the objects). */
static void *make_span(struct mspan *s, int cls)
{
	size_t np = karena_class_to_allocnpages[cls];
	void *mem = aligned_alloc(8192, np * 8192);

	memset(s, 0, sizeof(*s));
	s->start = (uintptr_t)mem;
	s->npages = np;
	s->state = SPAN_INUSE;
	span_init_small(s, cls << 1);
	return mem;
}

static char *obj(struct mspan *s, unsigned i)
{
	return (char *)(s->start + (uintptr_t)i * s->elemsize);
}

/* Allocate every object of s (in address order). */
static void fill(struct mspan *s)
{
	while (span_alloc_slow(s))
		;
}

static int times_on_list(struct mspan *s, void *p)
{
	int n = 0;

	for (void **q = s->freelist; q; q = *q)
		n += q == p;
	return n;
}

TEST(empty_span_fast_path_fails)
{
	ASSERT_EQ(NULL, empty_span.freelist);
	ASSERT_EQ(NULL, span_alloc_fast(&empty_span));
}

TEST(allocates_every_slot_once_in_order)
{
	struct mspan s;
	void *mem = make_span(&s, 1);	/* 8 B: 1024 objects */

	ASSERT_EQ(1024, s.nelems);
	for (unsigned i = 0; i < 1024; i++)
		ASSERT_EQ(obj(&s, i), span_alloc_slow(&s));
	ASSERT_EQ(NULL, span_alloc_slow(&s));
	ASSERT_EQ(1024, span_live(&s));
	free(mem);
}

TEST(odd_nelems_never_returns_past_end)
{
	struct mspan s;
	void *mem = make_span(&s, 3);	/* 24 B: 341 objects */

	ASSERT_EQ(341, s.nelems);
	for (unsigned i = 0; i < 341; i++)
		ASSERT_EQ(obj(&s, i), span_alloc_slow(&s));
	ASSERT_EQ(NULL, span_alloc_slow(&s));
	free(mem);
}

TEST(never_used_objects_are_not_written)
{
	struct mspan s;
	char *mem = make_span(&s, 6);	/* 64 B: 128 objects */

	memset(mem, 0xab, 8192);
	for (unsigned i = 0; i < 128; i++)
		ASSERT_EQ(obj(&s, i), span_alloc_fast(&s));	/* bump, inline */
	ASSERT_EQ(NULL, span_alloc_fast(&s));
	for (int i = 0; i < 8192; i++)
		ASSERT_EQ(0xab, (unsigned char)mem[i]);	/* RSS follows the program */
	ASSERT_TRUE(span_free_local(&s, obj(&s, 5)));
	ASSERT_EQ(obj(&s, 5), span_alloc_fast(&s));
	free(mem);
}

TEST(local_free_is_reused_first)
{
	struct mspan s;
	void *mem = make_span(&s, 6);
	char *a = span_alloc_slow(&s), *b = span_alloc_fast(&s), *c = span_alloc_fast(&s);

	ASSERT_TRUE(span_free_local(&s, b));
	ASSERT_EQ(2, span_live(&s));
	ASSERT_EQ(b, span_alloc_fast(&s));	/* LIFO: the hot object */
	ASSERT_TRUE(span_free_local(&s, a));
	ASSERT_TRUE(span_free_local(&s, b));
	ASSERT_FALSE(span_free_local(&s, c));	/* emptied: the caller is told */
	ASSERT_EQ(0, span_live(&s));
	free(mem);
}

TEST(parked_span_frees_are_slow_only_when_worth_using_again)
{
	struct mspan s;
	void *mem = make_span(&s, 6);	/* 128 objects: worth using at 112 out */
	unsigned i;

	fill(&s);
	span_set_list(&s, LIST_LFULL);
	ASSERT_EQ(128, span_live(&s));
	ASSERT_EQ(112, span_park_threshold(&s));
	for (i = 0; i < 15; i++)
		ASSERT_TRUE(span_free_local(&s, obj(&s, i)));
	ASSERT_EQ(113, span_live(&s));
	ASSERT_FALSE(span_free_local(&s, obj(&s, i)));	/* an eighth free */
	ASSERT_EQ(112, span_live(&s));
	span_set_list(&s, LIST_LPARTIAL);
	ASSERT_EQ(112, span_live(&s));
	ASSERT_TRUE(span_free_local(&s, obj(&s, 100)));
	ASSERT_EQ(111, span_live(&s));
	free(mem);
}

TEST(object_is_free_sees_list_remote_and_never_used)
{
	struct mspan s;
	void *mem = make_span(&s, 6);

	ASSERT_TRUE(span_object_is_free(&s, 0));	/* never used */
	span_alloc_slow(&s);
	span_alloc_fast(&s);
	span_alloc_fast(&s);
	ASSERT_FALSE(span_object_is_free(&s, 0));
	ASSERT_FALSE(span_object_is_free(&s, 1));
	ASSERT_TRUE(span_free_local(&s, obj(&s, 2)));
	ASSERT_TRUE(span_object_is_free(&s, 2));	/* on the list */
	ASSERT_TRUE(span_object_is_free(&s, 100));	/* never used */
	span_free_remote(&s, 1, obj(&s, 1));
	ASSERT_TRUE(span_object_is_free(&s, 1));	/* pending remote free */
	free(mem);
}

TEST(remote_frees_are_drained_by_owner)
{
	struct mspan s;
	char *mem = make_span(&s, 6);	/* 64 B: 128 objects */

	fill(&s);
	memset(mem, 0xab, 8192);
	span_free_remote(&s, 5, mem + 64 * 5);
	span_free_remote(&s, 77, mem + 64 * 77);
	ASSERT_EQ(1ull << 5, s.rfree_bits[0]);
	ASSERT_EQ(1ull << 13, s.rfree_bits[1]);
	ASSERT_EQ(0xab, (unsigned char)mem[64 * 5]);	/* object not written */
	ASSERT_EQ(128, span_live(&s));	/* not applied until drained */
	ASSERT_EQ(NULL, span_alloc_fast(&s));
	ASSERT_EQ(mem + 64 * 77, span_alloc_slow(&s));	/* drains, then pops */
	ASSERT_EQ(0, s.rfree_bits[0]);
	ASSERT_EQ(0, s.rfree_bits[1]);
	ASSERT_EQ(mem + 64 * 5, span_alloc_fast(&s));
	ASSERT_EQ(NULL, span_alloc_slow(&s));
	ASSERT_EQ(128, span_live(&s));
	free(mem);
}

TEST(remote_double_free_is_applied_once)
{
	struct mspan s;
	char *mem = make_span(&s, 6);

	fill(&s);
	span_free_remote(&s, 9, mem + 64 * 9);
	span_free_remote(&s, 9, mem + 64 * 9);	/* repeated before the drain */
	span_drain_remote(&s);
	ASSERT_EQ(127, span_live(&s));
	ASSERT_EQ(1, times_on_list(&s, mem + 64 * 9));
	ASSERT_EQ(0, s.rfree_bits[0]);
	free(mem);
}

TEST(arming_sees_pending_remote_frees)
{
	struct mspan s;
	char *mem = make_span(&s, 6);

	fill(&s);
	ASSERT_TRUE(span_arm_notify(&s));	/* nothing pending: armed */
	ASSERT_EQ(1, s.notify);
	s.notify = 0;
	span_free_remote(&s, 4, mem + 64 * 4);
	ASSERT_FALSE(span_arm_notify(&s));	/* pending: use it instead */
	ASSERT_EQ(0, s.notify);
	span_drain_remote(&s);
	ASSERT_EQ(127, span_live(&s));
	free(mem);
}

/* Spans as mcentral sizes them: Go's pages, doubled below 16 objects up
 * to 8 pages. */
static void init_as_mcentral(struct mspan *s, int cls)
{
	size_t np = karena_class_to_allocnpages[cls];

	while (np * 8192 / karena_class_to_size[cls] < 16 && np * 2 <= 8)
		np *= 2;
	memset(s, 0, sizeof(*s));
	s->start = 0x300000000ul;
	s->npages = np;
	s->state = SPAN_INUSE;
	span_init_small(s, cls << 1);
}

TEST(span_index_exact_in_every_span)
{
	struct mspan s;

	for (int cls = 1; cls < 68; cls++) {
		init_as_mcentral(&s, cls);
		ASSERT_LE(s.nelems, MAX_NELEMS);
		for (unsigned i = 0; i < s.nelems; i++) {
			uintptr_t a = s.start + (uintptr_t)i * s.elemsize;

			ASSERT_EQ(i, span_index(&s, a));
			ASSERT_EQ(i, span_index(&s, a + s.elemsize - 1));
		}
	}
}

TEST(object_start_check_is_exact_for_every_offset)
{
	struct mspan s;

	for (int cls = 1; cls < 68; cls++) {
		uintptr_t limit;

		init_as_mcentral(&s, cls);
		limit = (uintptr_t)s.nelems * s.elemsize;
		for (uintptr_t off = 0; off < s.npages * 8192 + 64; off++) {
			bool want = off < limit && off % s.elemsize == 0;

			if (want != span_object_start(&s, off))
				TH_LOG("class %d size %u offset %lu", cls, s.elemsize,
				       (unsigned long)off);
			ASSERT_EQ(want, span_object_start(&s, off));
		}
		/* below the span start, and far past it at multiples of the size */
		for (uintptr_t k = 1; k <= 4096; k++) {
			ASSERT_FALSE(span_object_start(&s, -(k * s.elemsize)));
			ASSERT_FALSE(span_object_start(&s, -k));
			ASSERT_FALSE(span_object_start(&s, limit * k + k * s.elemsize * 4099));
		}
		ASSERT_FALSE(span_object_start(&s, (uintptr_t)s.elemsize << 32));
		ASSERT_FALSE(span_object_start(&s, (uintptr_t)s.elemsize << 47));
		/* a span that is not a small span in use accepts nothing */
		s.nelems = 0;
		ASSERT_FALSE(span_object_start(&s, 0));
	}
}

TEST_HARNESS_MAIN
