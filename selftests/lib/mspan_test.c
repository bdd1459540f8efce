// SPDX-License-Identifier: MIT
/* mspan: allocBits / allocCache / freeindex and the remote-free stack. */
#include <stdlib.h>
#include <string.h>
#include "kselftest_harness.h"
#include "internal.h"

static void make_span(struct mspan *s, void *mem, int cls)
{
	memset(s, 0, sizeof(*s));
	s->start = (uintptr_t)mem;
	s->npages = karena_class_to_allocnpages[cls];
	s->state = SPAN_INUSE;
	span_init_small(s, cls << 1);
}

TEST(empty_span_fast_path_fails)
{
	ASSERT_EQ(0, empty_span.allocCache);
	ASSERT_EQ(-1, span_nextfree_fast(&empty_span));
}

TEST(allocates_every_slot_once_in_order)
{
	struct mspan s;

	make_span(&s, (void *)0x100000000ul, 1);	/* 8 B: 1024 objects */
	ASSERT_EQ(1024, s.nelems);
	for (int i = 0; i < 1024; i++)
		ASSERT_EQ(i, span_nextfree_slow(&s));
	ASSERT_EQ(-1, span_nextfree_slow(&s));
	ASSERT_EQ(1024, s.allocCount);
}

TEST(odd_nelems_never_returns_past_end)
{
	struct mspan s;

	make_span(&s, (void *)0x100000000ul, 3);	/* 24 B: 341 objects */
	ASSERT_EQ(341, s.nelems);
	for (int i = 0; i < 341; i++)
		ASSERT_EQ(i, span_nextfree_slow(&s));
	ASSERT_EQ(-1, span_nextfree_slow(&s));
}

TEST(fast_path_uses_ctz_window)
{
	struct mspan s;

	make_span(&s, (void *)0x100000000ul, 1);
	ASSERT_EQ(0, span_nextfree_slow(&s));	/* loads word 0 */
	ASSERT_EQ(~0ull >> 1, s.allocCache);
	ASSERT_EQ(1, span_nextfree_fast(&s));
	ASSERT_EQ(2, s.freeindex);
	/* mark 2..4 allocated in bits and cache: ctz skips them */
	s.allocBits[0] |= 0x1cull;
	s.allocCache &= ~0x7ull;
	ASSERT_EQ(5, span_nextfree_fast(&s));
	ASSERT_EQ(3, s.allocCount);	/* 0, 1 and 5 */
}

TEST(local_free_and_rescan_reuses_slots)
{
	struct mspan s;

	make_span(&s, (void *)0x100000000ul, 1);
	for (int i = 0; i < 1024; i++)
		span_nextfree_slow(&s);
	ASSERT_TRUE(span_free_local(&s, 2));
	ASSERT_TRUE(span_free_local(&s, 40));
	ASSERT_EQ(1022, s.allocCount);
	ASSERT_EQ(-1, span_nextfree_slow(&s));	/* freeindex at the end */
	s.freeindex = 0;			/* what mcache_refill does */
	s.allocCache = 0;
	ASSERT_EQ(2, span_nextfree_slow(&s));
	/* 20 was allocated in the previous pass: freeing it inside the loaded
	 * window must make it visible to the fast path at once */
	ASSERT_TRUE(span_free_local(&s, 20));
	ASSERT_EQ(20, span_nextfree_fast(&s));
	ASSERT_EQ(40, span_nextfree_fast(&s));
	ASSERT_EQ(-1, span_nextfree_slow(&s));
}

TEST(double_free_is_detected)
{
	struct mspan s;

	make_span(&s, (void *)0x100000000ul, 5);
	ASSERT_EQ(0, span_nextfree_slow(&s));
	ASSERT_TRUE(span_free_local(&s, 0));
	ASSERT_FALSE(span_free_local(&s, 0));
	ASSERT_FALSE(span_free_local(&s, 7));	/* never allocated */
}

TEST(remote_frees_are_drained_by_owner)
{
	struct mspan s;
	char *mem = aligned_alloc(8192, 8192);

	ASSERT_NE(NULL, mem);
	make_span(&s, mem, 6);		/* 64 B: 128 objects */
	for (int i = 0; i < 128; i++)
		span_nextfree_slow(&s);
	memset(mem, 0xab, 8192);
	span_free_remote(&s, 5, mem + 64 * 5);
	span_free_remote(&s, 77, mem + 64 * 77);
	ASSERT_EQ(1ull << 5, s.rfreeBits[0]);
	ASSERT_EQ(1ull << 13, s.rfreeBits[1]);
	ASSERT_EQ(0xab, (unsigned char)mem[64 * 5]);	/* object not written */
	ASSERT_EQ(128, s.allocCount);	/* not applied until drained */
	span_drain_remote(&s);
	ASSERT_EQ(0, s.rfreeBits[0]);
	ASSERT_EQ(0, s.rfreeBits[1]);
	ASSERT_EQ(126, s.allocCount);
	ASSERT_EQ(0, s.allocBits[0] >> 5 & 1);
	ASSERT_EQ(0, s.allocBits[1] >> 13 & 1);
	free(mem);
}

TEST(remote_double_free_is_applied_once)
{
	struct mspan s;
	char *mem = aligned_alloc(8192, 8192);

	ASSERT_NE(NULL, mem);
	make_span(&s, mem, 6);
	for (int i = 0; i < 128; i++)
		span_nextfree_slow(&s);
	span_free_remote(&s, 9, mem + 64 * 9);
	span_free_remote(&s, 9, mem + 64 * 9);	/* repeated before the drain */
	ASSERT_TRUE(span_free_local(&s, 10));
	span_free_remote(&s, 10, mem + 64 * 10);	/* freed here already */
	span_drain_remote(&s);
	ASSERT_EQ(126, s.allocCount);
	ASSERT_EQ(0, s.rfreeBits[0]);
	free(mem);
}

TEST(drain_updates_the_loaded_window)
{
	struct mspan s;
	char *mem = aligned_alloc(8192, 8192);

	ASSERT_NE(NULL, mem);
	make_span(&s, mem, 6);
	for (int i = 0; i < 128; i++)
		span_nextfree_slow(&s);
	ASSERT_TRUE(span_free_local(&s, 70));
	s.freeindex = 0;			/* what mcache_refill does */
	s.allocCache = 0;
	ASSERT_EQ(70, span_nextfree_slow(&s));	/* window: word 1 from 71 */
	span_free_remote(&s, 100, mem + 64 * 100);
	span_free_remote(&s, 3, mem + 64 * 3);	/* behind freeindex */
	span_drain_remote(&s);
	ASSERT_EQ(100, span_nextfree_fast(&s));
	ASSERT_EQ(-1, span_nextfree_slow(&s));
	ASSERT_EQ(127, s.allocCount);		/* 3 waits for a rescan */
	free(mem);
}

TEST(arming_sees_pending_remote_frees)
{
	struct mspan s;
	char *mem = aligned_alloc(8192, 8192);

	ASSERT_NE(NULL, mem);
	make_span(&s, mem, 6);
	for (int i = 0; i < 128; i++)
		span_nextfree_slow(&s);
	ASSERT_TRUE(span_arm_notify(&s));	/* nothing pending: armed */
	ASSERT_EQ(1, s.notify);
	s.notify = 0;
	span_free_remote(&s, 4, mem + 64 * 4);
	ASSERT_FALSE(span_arm_notify(&s));	/* pending: use it instead */
	ASSERT_EQ(0, s.notify);
	span_drain_remote(&s);
	ASSERT_EQ(127, s.allocCount);
	free(mem);
}

TEST(init_sets_exactly_the_tail_bits)
{
	struct mspan s;

	for (int cls = 1; cls < 68; cls++) {
		make_span(&s, (void *)0x200000000ul, cls);
		for (unsigned i = 0; i < MAX_NELEMS; i++)
			ASSERT_EQ(i >= s.nelems, s.allocBits[i >> 6] >> (i & 63) & 1);
	}
}

TEST(span_index_matches_division)
{
	struct mspan s;

	for (int cls = 1; cls < 68; cls++) {
		make_span(&s, (void *)0x200000000ul, cls);
		for (unsigned i = 0; i < s.nelems; i++)
			ASSERT_EQ(i, span_index(&s, s.start + (uintptr_t)i * s.elemsize +
						    s.elemsize - 1));
	}
}

TEST(span_index_exact_in_spans_up_to_64k)
{
	/* mcentral doubles spans of fewer than 16 objects, up to 8 pages */
	struct mspan s;

	for (int cls = 1; cls < 68; cls++) {
		size_t np = karena_class_to_allocnpages[cls];

		while (np * 8192 / karena_class_to_size[cls] < 16 && np * 2 <= 8)
			np *= 2;
		memset(&s, 0, sizeof(s));
		s.start = 0x300000000ul;
		s.npages = np;
		s.state = SPAN_INUSE;
		span_init_small(&s, cls << 1);
		ASSERT_LE(s.nelems, MAX_NELEMS);
		for (unsigned i = 0; i < s.nelems; i++) {
			uintptr_t a = s.start + (uintptr_t)i * s.elemsize;

			ASSERT_EQ(i, span_index(&s, a));
			ASSERT_EQ(i, span_index(&s, a + s.elemsize - 1));
		}
	}
}

TEST_HARNESS_MAIN
