// SPDX-License-Identifier: MIT
/*
 * KARENA_ASSERT: linked with the UBSan build of the library
 * (lib/build-ubsan, where KARENA_ASSERTS is on), each test breaks one
 * invariant the heap asserts (lock held, span state, counts) by calling
 * an internal function the wrong way, and the library must abort; the
 * same calls made the right way must not.
 */
#include <stdlib.h>
#include "kselftest_harness.h"
#include "internal.h"
#include "test_util.h"

static void struct_alloc_unlocked(void)
{
	span_struct_alloc();
}

static void free_a_freed_span(void)
{
	char *p = karena_malloc(1 << 20);
	struct mspan *s = span_of((uintptr_t)p);

	karena_free(p);		/* s is back in the heap: not in use */
	mheap_free(s);
}

static void live_count_above_nelems(void)
{
	char *p = karena_malloc(64);
	struct mspan *s = span_of((uintptr_t)p);

	s->allocCount = s->nelems + 1;
	span_set_list(s, LIST_NONE);
}

TEST(span_struct_alloc_without_heap_lock_aborts)
{
	karena_free(karena_malloc(1));	/* init */
	ASSERT_TRUE(dies_of_abort(struct_alloc_unlocked));
}

TEST(span_struct_alloc_with_heap_lock_runs)
{
	struct mspan *s;

	karena_free(karena_malloc(1));
	pthread_mutex_lock(&mheap_.lock);
	s = span_struct_alloc();
	pthread_mutex_unlock(&mheap_.lock);
	ASSERT_NE(NULL, s);
}

TEST(mheap_free_of_a_span_not_in_use_aborts)
{
	ASSERT_TRUE(dies_of_abort(free_a_freed_span));
}

TEST(more_objects_out_than_the_span_holds_aborts)
{
	ASSERT_TRUE(dies_of_abort(live_count_above_nelems));
}

TEST_HARNESS_MAIN
