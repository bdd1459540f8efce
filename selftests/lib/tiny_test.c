// SPDX-License-Identifier: MIT
/* The tiny allocator: 16-byte blocks, alignment, per-block live counts. */
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdlib.h>
#include "kselftest_harness.h"
#include "internal.h"
#include "test_util.h"

static uintptr_t block_of(void *p)
{
	return (uintptr_t)p & ~(uintptr_t)15;
}

TEST(small_requests_share_a_block)
{
	char *a, *b, *c;

	karena_free(karena_malloc(1));
	tiny_retire(tls_mcache);		/* start from a fresh block */
	a = karena_malloc(1);
	b = karena_malloc(2);
	c = karena_malloc(3);
	ASSERT_EQ(block_of(a), block_of(b));
	ASSERT_EQ(block_of(a), block_of(c));
	ASSERT_EQ(TINY_SPC, span_of((uintptr_t)a)->spanclass);
	ASSERT_NE(a, b);
	ASSERT_NE(b, c);
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

TEST(usable_size_covers_piece_only)
{
	karena_free(karena_malloc(1));
	tiny_retire(tls_mcache);
	char *a = karena_malloc(3);	/* offset 0 */
	char *b = karena_malloc(5);	/* offset 8 */

	ASSERT_EQ(block_of(a), block_of(b));
	ASSERT_EQ(8, b - a);
	ASSERT_GE(karena_malloc_usable_size(a), 3);
	ASSERT_LE(karena_malloc_usable_size(a), 8);	/* never into b */
	ASSERT_GE(karena_malloc_usable_size(b), 5);
	ASSERT_LE(karena_malloc_usable_size(b), 8);
}

TEST(live_counts_free_block_when_last_piece_goes)
{
	char *p[4];
	struct mspan *s;
	unsigned idx;

	karena_free(karena_malloc(1));
	tiny_retire(tls_mcache);
	for (int i = 0; i < 4; i++)
		p[i] = karena_malloc(4);	/* fills the block */
	s = span_of((uintptr_t)p[0]);
	idx = span_index(s, (uintptr_t)p[0]);
	ASSERT_EQ(TINY_BIAS, s->tinycount[idx]);	/* held by the mcache */
	karena_free(p[1]);	/* current block, own thread: counted locally */
	ASSERT_EQ(TINY_BIAS, s->tinycount[idx]);
	ASSERT_EQ(3, tls_mcache->tinypieces);
	char *q = karena_malloc(4);		/* no room: block retired */
	ASSERT_NE(block_of(q), block_of(p[0]));
	ASSERT_EQ(3, s->tinycount[idx]);	/* now exactly the live pieces */
	ASSERT_EQ(1, s->allocBits[idx >> 6] >> (idx & 63) & 1);
	karena_free(p[0]);
	karena_free(p[2]);
	ASSERT_EQ(1, s->allocBits[idx >> 6] >> (idx & 63) & 1);
	karena_free(p[3]);			/* last piece: block freed */
	ASSERT_EQ(0, s->tinycount[idx]);
	ASSERT_EQ(0, s->allocBits[idx >> 6] >> (idx & 63) & 1);
	karena_free(q);
}

TEST(block_freed_locally_is_reclaimed_at_retire)
{
	char *p[4], *q;
	struct mspan *s;
	unsigned idx;

	karena_free(karena_malloc(1));
	tiny_retire(tls_mcache);
	for (int i = 0; i < 4; i++)
		p[i] = karena_malloc(4);
	s = span_of((uintptr_t)p[0]);
	idx = span_index(s, (uintptr_t)p[0]);
	for (int i = 0; i < 4; i++)
		karena_free(p[i]);
	ASSERT_EQ(1, s->allocBits[idx >> 6] >> (idx & 63) & 1);	/* still held */
	q = karena_malloc(4);		/* retires the block: now free */
	ASSERT_EQ(0, s->tinycount[idx]);
	ASSERT_NE(block_of(q), block_of(p[0]));
	ASSERT_EQ(0, s->allocBits[idx >> 6] >> (idx & 63) & 1);
	karena_free(q);
}

static char *p16[16];

static void *free_p16(void *arg)
{
	for (int i = 0; i < 16; i++)
		karena_free(p16[i]);
	return arg;
}

TEST(pieces_freed_by_other_thread)
{
	char **p = p16;
	pthread_t t;

	karena_free(karena_malloc(1));
	tiny_retire(tls_mcache);
	for (int i = 0; i < 16; i++)
		p[i] = karena_malloc(1);
	struct mspan *s = span_of((uintptr_t)p[0]);
	unsigned idx = span_index(s, (uintptr_t)p[0]);

	tiny_retire(tls_mcache);
	ASSERT_EQ(16, s->tinycount[idx]);
	ASSERT_EQ(0, pthread_create(&t, NULL, free_p16, NULL));
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(0, s->tinycount[idx]);
	/* the block went on the span's remote-free stack */
	span_drain_remote(s);
	ASSERT_EQ(0, s->allocBits[idx >> 6] >> (idx & 63) & 1);
}

static void bad_tiny_free(void)
{
	karena_free(karena_malloc(1));
	tiny_retire(tls_mcache);
	char *a = karena_malloc(2);

	karena_debug = 1;
	karena_free(a + 1);	/* not a piece start */
}

TEST(invalid_tiny_pointer_aborts_in_debug)
{
	ASSERT_TRUE(dies_of_abort(bad_tiny_free));
}

TEST_HARNESS_MAIN
