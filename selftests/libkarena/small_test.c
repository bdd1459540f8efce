// SPDX-License-Identifier: MIT
/*
 * Requests of 0..8 bytes: the 8-byte class (there is no tiny allocator,
 * lib/README.md), alignment min(16, pow2(n)), usable size, reuse order.
 */
#include <stdlib.h>
#include "kselftest_harness.h"
#include "internal.h"
#include "test_util.h"

TEST(requests_up_to_8_bytes_use_the_8_byte_class)
{
	for (size_t n = 0; n <= 8; n++) {
		char *a = karena_malloc(n), *b = karena_malloc(n);

		ASSERT_NE(NULL, a);
		ASSERT_NE(NULL, b);
		ASSERT_NE(a, b);
		ASSERT_EQ(1 << 1, span_of((uintptr_t)a)->spanclass);
		ASSERT_EQ(8, karena_malloc_usable_size(a));
		ASSERT_GE(labs(a - b), 8);	/* never overlapping */
		karena_free(a);
		karena_free(b);
	}
	ASSERT_EQ(2 << 1, span_of((uintptr_t)karena_malloc(9))->spanclass);
}

TEST(alignment_is_min_16_pow2)
{
	for (size_t n = 1; n <= 300; n++) {
		size_t want = 1;

		while (want < n && want < 16)
			want <<= 1;
		for (int k = 0; k < 20; k++) {
			void *p = karena_malloc(n);

			ASSERT_NE(NULL, p);
			ASSERT_EQ(0, (uintptr_t)p % want) TH_LOG("n=%zu p=%p", n, p);
		}
	}
}

/*
 * LIFO: the next malloc of a class returns the object freed last (its
 * line is hot), once the thread's list of the class is in use: a few
 * frees make it the class's current one (lib/tcache.c).
 */
TEST(freed_object_is_the_next_one_returned)
{
	char *warm[64], *a, *b;

	for (int i = 0; i < 64; i++)
		warm[i] = karena_malloc(4);
	for (int i = 0; i < 64; i++)
		karena_free(warm[i]);
	a = karena_malloc(4);
	b = karena_malloc(4);
	karena_free(a);
	ASSERT_EQ(a, karena_malloc(4));
	karena_free(b);
	karena_free(a);
	ASSERT_EQ(a, karena_malloc(8));
	ASSERT_EQ(b, karena_malloc(1));
}

static void bad_small_free(void)
{
	char *a = karena_malloc(2);

	karena_set_debug(1);
	karena_free(a + 1);	/* not an object start */
}

TEST(interior_pointer_of_small_object_aborts_in_debug)
{
	ASSERT_TRUE(dies_of_abort(bad_small_free));
}

TEST_HARNESS_MAIN
