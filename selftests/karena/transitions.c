// SPDX-License-Identifier: GPL-2.0
/*
 * karena transition selftests: every legal transition of the uapi table
 * and what a program can observe after it (QUERY, access faults, zeroed
 * contents, residency, STATS, RSS).  Illegal ones are in badinput.c.
 */
#include <sys/uio.h>

#include "kselftest_harness.h"
#include "karena_test.h"

#define NPAGES	16

FIXTURE(transitions) {
	int fd;
	long ps;
	size_t len;
	char *p;
};

FIXTURE_SETUP(transitions)
{
	self->ps = kt_ps();
	self->len = NPAGES * self->ps;
	KT_OPEN_OR_SKIP(self->fd);
	self->p = kt_mmap_guarded(self->fd, NPAGES);
	ASSERT_NE(MAP_FAILED, self->p) TH_LOG("mmap: %s", strerror(errno));
}

FIXTURE_TEARDOWN(transitions)
{
	if (self->p && self->p != MAP_FAILED)
		kt_munmap_guarded(self->p, NPAGES);
	if (self->fd >= 0)
		close(self->fd);
}

static char *pg(FIXTURE_DATA(transitions) *self, int i)
{
	return self->p + (long)i * self->ps;
}

/* Every page faults with SIGSEGV on read and on write. */
#define EXPECT_ALL_SEGV(addr, n) do {					\
	int i_;								\
	for (i_ = 0; i_ < (n); i_++) {					\
		EXPECT_EQ(SIGSEGV, kt_probe_read((char *)(addr) + i_ * self->ps, NULL)) \
			TH_LOG("read of page %d", i_);			\
		EXPECT_EQ(SIGSEGV, kt_probe_write((char *)(addr) + i_ * self->ps, 1)) \
			TH_LOG("write of page %d", i_);			\
	}								\
} while (0)

/* Ready pages that read as zeros everywhere (first touch is a read). */
#define EXPECT_ZEROED(addr, n) do {					\
	char c_ = 1;							\
	ASSERT_EQ(0, kt_probe_read((addr), &c_));			\
	EXPECT_EQ(0, c_);						\
	EXPECT_EQ(-1, kt_first_nonzero((addr), (n) * self->ps));	\
} while (0)

TEST_F(transitions, mmap_is_all_reserved)
{
	struct karena_stats st;

	EXPECT_EQ(-1, kt_first_not(self->fd, self->p, NPAGES, KARENA_STATE_RESERVED));
	ASSERT_EQ(0, kt_stats(self->fd, &st));
	EXPECT_EQ(self->len, st.reserved_bytes);
	EXPECT_EQ(0, st.prepared_bytes);
	EXPECT_EQ(0, st.ready_bytes);
	EXPECT_EQ(0, st.resident_bytes);
}

TEST_F(transitions, reserved_access_sigsegv)
{
	struct karena_stats st;

	EXPECT_ALL_SEGV(self->p, 2);
	EXPECT_EQ(-1, kt_first_not(self->fd, self->p, NPAGES, KARENA_STATE_RESERVED));
	ASSERT_EQ(0, kt_stats(self->fd, &st));
	EXPECT_EQ(4, st.faults_sigsegv);
	EXPECT_EQ(0, st.faults);
}

TEST_F(transitions, map_gives_prepared)
{
	uint64_t pages = 0;
	struct karena_stats st;

	ASSERT_EQ(0, kt_trans_pages(self->fd, self->p, self->len, KARENA_OP_MAP, 0, &pages));
	EXPECT_EQ(NPAGES, pages);
	EXPECT_EQ(-1, kt_first_not(self->fd, self->p, NPAGES, KARENA_STATE_PREPARED));
	ASSERT_EQ(0, kt_stats(self->fd, &st));
	EXPECT_EQ(0, st.reserved_bytes);
	EXPECT_EQ(self->len, st.prepared_bytes);
}

TEST_F(transitions, prepared_access_sigsegv_strict)
{
	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->len, KARENA_OP_MAP));
	EXPECT_ALL_SEGV(self->p, 2);
	EXPECT_ALL_SEGV(pg(self, NPAGES - 1), 1);
	EXPECT_EQ(-1, kt_first_not(self->fd, self->p, NPAGES, KARENA_STATE_PREPARED));
}

TEST_F(transitions, used_gives_ready_zeroed_rw)
{
	uint64_t pages = 0;

	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->len, KARENA_OP_MAP));
	ASSERT_EQ(0, kt_trans_pages(self->fd, self->p, self->len, KARENA_OP_USED, 0, &pages));
	EXPECT_EQ(NPAGES, pages);
	EXPECT_EQ(-1, kt_first_not(self->fd, self->p, NPAGES, KARENA_STATE_READY));
	EXPECT_ZEROED(self->p, NPAGES);
	kt_fill(self->p, NPAGES, 0x11);
	EXPECT_EQ(-1, kt_check(self->p, NPAGES, 0x11));
	memset(self->p, 0xa5, self->len);
	EXPECT_EQ(0xa5, (unsigned char)self->p[self->len - 1]);
}

TEST_F(transitions, ready_untouched_not_resident)
{
	unsigned char vec[NPAGES];
	int i;

	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->len, KARENA_OP_MAP));
	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->len, KARENA_OP_USED));
	ASSERT_EQ(0, kt_query(self->fd, self->p, self->len, vec));
	for (i = 0; i < NPAGES; i++)
		EXPECT_EQ(0, vec[i] & KARENA_PAGE_RESIDENT) TH_LOG("page %d", i);
	/* Touch every other page: exactly those become resident. */
	for (i = 0; i < NPAGES; i += 2)
		self->p[i * self->ps] = 1;
	ASSERT_EQ(0, kt_query(self->fd, self->p, self->len, vec));
	for (i = 0; i < NPAGES; i++)
		EXPECT_EQ(i % 2 ? 0 : KARENA_PAGE_RESIDENT, vec[i] & KARENA_PAGE_RESIDENT)
			TH_LOG("page %d: %#x", i, vec[i]);
}

TEST_F(transitions, used_populate_resident_before_touch)
{
	unsigned char vec[NPAGES];
	struct karena_stats st;
	int i;

	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->len, KARENA_OP_MAP));
	ASSERT_EQ(0, kt_trans_f(self->fd, self->p, self->len, KARENA_OP_USED,
				KARENA_F_POPULATE));
	ASSERT_EQ(0, kt_query(self->fd, self->p, self->len, vec));
	for (i = 0; i < NPAGES; i++)
		EXPECT_EQ(KARENA_STATE_READY | KARENA_PAGE_RESIDENT,
			  vec[i] & (KARENA_STATE_MASK | KARENA_PAGE_RESIDENT))
			TH_LOG("page %d: %#x", i, vec[i]);
	ASSERT_EQ(0, kt_stats(self->fd, &st));
	EXPECT_EQ(self->len, st.resident_bytes);
	EXPECT_ZEROED(self->p, NPAGES);
}

TEST_F(transitions, unused_gives_prepared_then_zeros)
{
	unsigned char vec[NPAGES];
	uint64_t pages = 0;
	int i;

	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->len, KARENA_OP_MAP));
	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->len, KARENA_OP_USED));
	kt_fill(self->p, NPAGES, 0x22);
	ASSERT_EQ(0, kt_trans_pages(self->fd, self->p, self->len, KARENA_OP_UNUSED, 0, &pages));
	EXPECT_EQ(NPAGES, pages);
	ASSERT_EQ(0, kt_query(self->fd, self->p, self->len, vec));
	for (i = 0; i < NPAGES; i++)
		EXPECT_EQ(KARENA_STATE_PREPARED, vec[i] & (KARENA_STATE_MASK | KARENA_PAGE_RESIDENT))
			TH_LOG("page %d: %#x", i, vec[i]);
	EXPECT_ALL_SEGV(self->p, 1);
	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->len, KARENA_OP_USED));
	EXPECT_ZEROED(self->p, NPAGES);
}

TEST_F(transitions, unused_part_keeps_the_rest)
{
	int i;

	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->len, KARENA_OP_MAP));
	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->len, KARENA_OP_USED));
	kt_fill(self->p, NPAGES, 0x33);
	ASSERT_EQ(0, kt_trans(self->fd, pg(self, 4), 8 * self->ps, KARENA_OP_UNUSED));
	for (i = 0; i < NPAGES; i++)
		if (i < 4 || i >= 12)
			EXPECT_TRUE(kt_page_ok(self->p, i, 0x33)) TH_LOG("page %d", i);
	EXPECT_EQ(-1, kt_first_not(self->fd, pg(self, 4), 8, KARENA_STATE_PREPARED));
	EXPECT_EQ(KARENA_STATE_READY, KT_STATE(kt_state_of(self->fd, pg(self, 3))));
	EXPECT_EQ(KARENA_STATE_READY, KT_STATE(kt_state_of(self->fd, pg(self, 12))));
	EXPECT_EQ(SIGSEGV, kt_probe_read(pg(self, 4), NULL));
	EXPECT_EQ(SIGSEGV, kt_probe_read(pg(self, 11), NULL));
}

TEST_F(transitions, fault_from_each_state_to_reserved)
{
	uint64_t pages = 0;

	/* [0,4) Reserved, [4,8) Prepared, [8,16) Ready with data. */
	ASSERT_EQ(0, kt_trans(self->fd, pg(self, 4), 12 * self->ps, KARENA_OP_MAP));
	ASSERT_EQ(0, kt_trans(self->fd, pg(self, 8), 8 * self->ps, KARENA_OP_USED));
	kt_fill(pg(self, 8), 8, 0x44);
	ASSERT_EQ(0, kt_trans_pages(self->fd, self->p, self->len, KARENA_OP_FAULT, 0, &pages));
	EXPECT_EQ(NPAGES, pages);
	EXPECT_EQ(-1, kt_first_not(self->fd, self->p, NPAGES, KARENA_STATE_RESERVED));
	EXPECT_ALL_SEGV(pg(self, 8), 1);
	/* Contents were dropped. */
	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->len, KARENA_OP_MAP));
	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->len, KARENA_OP_USED));
	EXPECT_ZEROED(self->p, NPAGES);
}

TEST_F(transitions, free_from_each_state_to_none)
{
	struct karena_stats st;
	uint64_t pages = 0;

	/* [0,4) Reserved, [4,8) Prepared, [8,12) Ready, [12,16) None. */
	ASSERT_EQ(0, kt_trans(self->fd, pg(self, 12), 4 * self->ps, KARENA_OP_FREE));
	ASSERT_EQ(0, kt_trans(self->fd, pg(self, 4), 8 * self->ps, KARENA_OP_MAP));
	ASSERT_EQ(0, kt_trans(self->fd, pg(self, 8), 4 * self->ps, KARENA_OP_USED));
	kt_fill(pg(self, 8), 4, 0x55);
	ASSERT_EQ(0, kt_trans_pages(self->fd, self->p, self->len, KARENA_OP_FREE, 0, &pages));
	EXPECT_EQ(NPAGES, pages);
	EXPECT_EQ(-1, kt_first_not(self->fd, self->p, NPAGES, KARENA_STATE_NONE));
	EXPECT_ALL_SEGV(pg(self, 8), 1);
	EXPECT_ALL_SEGV(pg(self, 12), 1);
	ASSERT_EQ(0, kt_stats(self->fd, &st));
	EXPECT_EQ(0, st.reserved_bytes + st.prepared_bytes + st.ready_bytes);
	EXPECT_EQ(0, st.resident_bytes);
}

TEST_F(transitions, reserve_from_none)
{
	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->len, KARENA_OP_FREE));
	ASSERT_EQ(0, kt_trans(self->fd, pg(self, 2), 4 * self->ps, KARENA_OP_RESERVE));
	EXPECT_EQ(-1, kt_first_not(self->fd, pg(self, 2), 4, KARENA_STATE_RESERVED));
	EXPECT_EQ(-1, kt_first_not(self->fd, self->p, 2, KARENA_STATE_NONE));
	EXPECT_EQ(-1, kt_first_not(self->fd, pg(self, 6), NPAGES - 6, KARENA_STATE_NONE));
	EXPECT_ALL_SEGV(pg(self, 2), 1);
	/* And from there the usual path. */
	ASSERT_EQ(0, kt_trans(self->fd, pg(self, 2), 4 * self->ps, KARENA_OP_MAP));
	ASSERT_EQ(0, kt_trans(self->fd, pg(self, 2), 4 * self->ps, KARENA_OP_USED));
	EXPECT_ZEROED(pg(self, 2), 4);
}

TEST_F(transitions, alloc_from_none_and_reserved)
{
	uint64_t pages = 0;

	/* [0,8) None, [8,16) Reserved: one ALLOC covers both. */
	ASSERT_EQ(0, kt_trans(self->fd, self->p, 8 * self->ps, KARENA_OP_FREE));
	ASSERT_EQ(0, kt_trans_pages(self->fd, self->p, self->len, KARENA_OP_ALLOC, 0, &pages));
	EXPECT_EQ(NPAGES, pages);
	EXPECT_EQ(-1, kt_first_not(self->fd, self->p, NPAGES, KARENA_STATE_READY));
	EXPECT_ZEROED(self->p, NPAGES);
	kt_fill(self->p, NPAGES, 0x66);
	EXPECT_EQ(-1, kt_check(self->p, NPAGES, 0x66));
}

TEST_F(transitions, alloc_populate_resident)
{
	unsigned char vec[NPAGES];
	int i;

	ASSERT_EQ(0, kt_trans_f(self->fd, self->p, self->len, KARENA_OP_ALLOC,
				KARENA_F_POPULATE));
	ASSERT_EQ(0, kt_query(self->fd, self->p, self->len, vec));
	for (i = 0; i < NPAGES; i++)
		EXPECT_EQ(KARENA_STATE_READY | KARENA_PAGE_RESIDENT,
			  vec[i] & (KARENA_STATE_MASK | KARENA_PAGE_RESIDENT))
			TH_LOG("page %d: %#x", i, vec[i]);
	EXPECT_ZEROED(self->p, NPAGES);
}

TEST_F(transitions, free_of_none_is_legal)
{
	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->len, KARENA_OP_FREE));
	EXPECT_EQ(0, kt_trans(self->fd, self->p, self->len, KARENA_OP_FREE));
	EXPECT_EQ(-1, kt_first_not(self->fd, self->p, NPAGES, KARENA_STATE_NONE));
}

TEST_F(transitions, hugepage_hint_sets_and_clears_flag)
{
	unsigned char vec[NPAGES];
	int i;

	/* Every state but None: [0,4) Reserved, [4,8) Prepared, [8,16) Ready. */
	ASSERT_EQ(0, kt_trans(self->fd, pg(self, 4), 12 * self->ps, KARENA_OP_MAP));
	ASSERT_EQ(0, kt_trans(self->fd, pg(self, 8), 8 * self->ps, KARENA_OP_USED));
	kt_fill(pg(self, 8), 8, 0x77);
	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->len, KARENA_OP_HUGEPAGE));
	ASSERT_EQ(0, kt_query(self->fd, self->p, self->len, vec));
	for (i = 0; i < NPAGES; i++) {
		EXPECT_TRUE(vec[i] & KARENA_PAGE_HUGE) TH_LOG("page %d: %#x", i, vec[i]);
		EXPECT_EQ(i < 4 ? KARENA_STATE_RESERVED : i < 8 ? KARENA_STATE_PREPARED :
			  KARENA_STATE_READY, KT_STATE(vec[i]));
	}
	EXPECT_EQ(-1, kt_check(pg(self, 8), 8, 0x77));
	ASSERT_EQ(0, kt_trans(self->fd, pg(self, 8), 8 * self->ps, KARENA_OP_NOHUGEPAGE));
	ASSERT_EQ(0, kt_query(self->fd, self->p, self->len, vec));
	for (i = 0; i < NPAGES; i++)
		EXPECT_EQ(i < 8 ? KARENA_PAGE_HUGE : 0, vec[i] & KARENA_PAGE_HUGE)
			TH_LOG("page %d: %#x", i, vec[i]);
	EXPECT_EQ(-1, kt_check(pg(self, 8), 8, 0x77));
}

TEST_F(transitions, lenient_prepared_reads_zeros)
{
	struct karena_stats st;
	unsigned int prev = ~0U;
	char c = 1;

	ASSERT_EQ(0, kt_config(self->fd, KARENA_CFG_LENIENT, &prev));
	EXPECT_EQ(0, prev);
	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->len, KARENA_OP_MAP));
	EXPECT_EQ(0, kt_probe_read(pg(self, 3), &c));
	EXPECT_EQ(0, c);
	EXPECT_EQ(KARENA_STATE_PREPARED, KT_STATE(kt_state_of(self->fd, pg(self, 3))));
	ASSERT_EQ(0, kt_stats(self->fd, &st));
	EXPECT_EQ(1, st.faults_zero);
	/* Reserved still faults in lenient mode. */
	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->ps, KARENA_OP_FAULT));
	EXPECT_EQ(SIGSEGV, kt_probe_read(self->p, NULL));
	/* Back to strict: Prepared faults again. */
	ASSERT_EQ(0, kt_config(self->fd, 0, &prev));
	EXPECT_EQ(KARENA_CFG_LENIENT, prev);
	EXPECT_EQ(SIGSEGV, kt_probe_read(pg(self, 5), NULL));
}

TEST_F(transitions, lenient_unused_page_reads_zeros_not_old_data)
{
	char c = 1;
	int i;

	ASSERT_EQ(0, kt_config(self->fd, KARENA_CFG_LENIENT, NULL));
	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->len, KARENA_OP_ALLOC));
	memset(self->p, 0xee, self->len);
	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->len, KARENA_OP_UNUSED));
	for (i = 0; i < NPAGES; i++) {
		c = 1;
		EXPECT_EQ(0, kt_probe_read(pg(self, i) + 17, &c));
		EXPECT_EQ(0, c) TH_LOG("page %d", i);
	}
}

TEST_F(transitions, lenient_prepared_write_is_dropped_by_used)
{
	ASSERT_EQ(0, kt_config(self->fd, KARENA_CFG_LENIENT, NULL));
	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->len, KARENA_OP_MAP));
	/* Whatever a lenient access to Prepared does, Used yields zeros. */
	kt_probe_write(pg(self, 2), 0x5a);
	kt_probe_write(pg(self, 3) + 100, 0x5b);
	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->len, KARENA_OP_USED));
	EXPECT_ZEROED(self->p, NPAGES);
}

TEST_F(transitions, stats_bytes_follow_states)
{
	struct karena_stats st;
	long ps = self->ps;

	ASSERT_EQ(0, kt_trans(self->fd, self->p, 10 * ps, KARENA_OP_MAP));
	ASSERT_EQ(0, kt_trans(self->fd, self->p, 6 * ps, KARENA_OP_USED));
	ASSERT_EQ(0, kt_trans(self->fd, pg(self, 14), 2 * ps, KARENA_OP_FREE));
	ASSERT_EQ(0, kt_stats(self->fd, &st));
	EXPECT_EQ(4 * ps, st.reserved_bytes);
	EXPECT_EQ(4 * ps, st.prepared_bytes);
	EXPECT_EQ(6 * ps, st.ready_bytes);
	EXPECT_EQ(0, st.resident_bytes);
	memset(self->p, 1, 3 * ps);
	ASSERT_EQ(0, kt_stats(self->fd, &st));
	EXPECT_EQ(3 * ps, st.resident_bytes);
	ASSERT_EQ(0, kt_trans(self->fd, self->p, 2 * ps, KARENA_OP_UNUSED));
	ASSERT_EQ(0, kt_stats(self->fd, &st));
	EXPECT_EQ(6 * ps, st.prepared_bytes);
	EXPECT_EQ(4 * ps, st.ready_bytes);
	EXPECT_EQ(1 * ps, st.resident_bytes);
}

TEST_F(transitions, stats_transition_calls_counted)
{
	struct karena_stats st;
	int op;

	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->len, KARENA_OP_MAP));
	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->ps, KARENA_OP_USED));
	ASSERT_EQ(0, kt_trans(self->fd, pg(self, 1), self->ps, KARENA_OP_USED));
	ASSERT_EQ(0, kt_trans(self->fd, self->p, 2 * self->ps, KARENA_OP_UNUSED));
	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->len, KARENA_OP_FAULT));
	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->len, KARENA_OP_FREE));
	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->ps, KARENA_OP_RESERVE));
	ASSERT_EQ(0, kt_trans(self->fd, pg(self, 1), self->ps, KARENA_OP_ALLOC));
	ASSERT_EQ(0, kt_trans(self->fd, self->p, 2 * self->ps, KARENA_OP_HUGEPAGE));
	ASSERT_EQ(0, kt_trans(self->fd, self->p, 2 * self->ps, KARENA_OP_NOHUGEPAGE));
	ASSERT_EQ(0, kt_stats(self->fd, &st));
	for (op = 1; op <= KARENA_OP_MAX; op++)
		EXPECT_EQ(op == KARENA_OP_USED ? 2 : 1, st.transitions[op])
			TH_LOG("op %d", op);
	EXPECT_EQ(0, st.transitions[0]);
	EXPECT_EQ(0, st.transition_errors);
}

TEST_F(transitions, stats_faults_counted)
{
	struct karena_stats st;
	int i;

	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->len, KARENA_OP_ALLOC));
	for (i = 0; i < 5; i++)
		self->p[i * self->ps] = 1;
	/* Touching them again costs nothing. */
	for (i = 0; i < 5; i++)
		self->p[i * self->ps + 1] = 2;
	ASSERT_EQ(0, kt_stats(self->fd, &st));
	EXPECT_EQ(5, st.faults);
	EXPECT_EQ(st.faults, st.faults_cache_hit + st.faults_cache_miss);
	EXPECT_EQ(5 * self->ps, st.resident_bytes);
	EXPECT_EQ(0, st.faults_sigsegv);
	EXPECT_EQ(0, st.cow_copies);
}

TEST_F(transitions, vec_applies_ranges_in_order)
{
	struct karena_range r[5];
	struct karena_vec v;

	kt_range(&r[0], self->p, self->len, KARENA_OP_MAP, 0);
	kt_range(&r[1], self->p, 8 * self->ps, KARENA_OP_USED, 0);
	kt_range(&r[2], self->p, 4 * self->ps, KARENA_OP_UNUSED, 0);
	kt_range(&r[3], self->p, 2 * self->ps, KARENA_OP_USED, KARENA_F_POPULATE);
	kt_range(&r[4], pg(self, 12), 4 * self->ps, KARENA_OP_FREE, 0);
	ASSERT_EQ(0, kt_vec(self->fd, r, 5, &v));
	EXPECT_EQ(5, v.done);
	EXPECT_EQ(NPAGES + 8 + 4 + 2 + 4, v.pages);
	EXPECT_EQ(0, v.error);
	EXPECT_EQ(-1, kt_first_not(self->fd, self->p, 2, KARENA_STATE_READY));
	EXPECT_EQ(-1, kt_first_not(self->fd, pg(self, 2), 2, KARENA_STATE_PREPARED));
	EXPECT_EQ(-1, kt_first_not(self->fd, pg(self, 4), 4, KARENA_STATE_READY));
	EXPECT_EQ(-1, kt_first_not(self->fd, pg(self, 8), 4, KARENA_STATE_PREPARED));
	EXPECT_EQ(-1, kt_first_not(self->fd, pg(self, 12), 4, KARENA_STATE_NONE));
	EXPECT_TRUE(kt_state_of(self->fd, self->p) & KARENA_PAGE_RESIDENT);
	EXPECT_ZEROED(self->p, 2);
}

TEST_F(transitions, two_mappings_of_one_file_are_independent)
{
	char *q = kt_mmap(self->fd, 4 * self->ps);
	struct karena_stats st;

	ASSERT_NE(MAP_FAILED, q);
	ASSERT_EQ(0, kt_trans(self->fd, q, 4 * self->ps, KARENA_OP_ALLOC));
	kt_fill(q, 4, 0x12);
	EXPECT_EQ(-1, kt_first_not(self->fd, self->p, NPAGES, KARENA_STATE_RESERVED));
	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->len, KARENA_OP_ALLOC));
	EXPECT_ZEROED(self->p, NPAGES);
	EXPECT_EQ(-1, kt_check(q, 4, 0x12));
	ASSERT_EQ(0, kt_stats(self->fd, &st));
	EXPECT_EQ(self->len + 4 * self->ps, st.ready_bytes);
	munmap(q, 4 * self->ps);
	ASSERT_EQ(0, kt_stats(self->fd, &st));
	EXPECT_EQ(self->len, st.ready_bytes);
}

TEST_F(transitions, recycled_pages_are_zeroed_across_files)
{
	const size_t n = 256;
	int fd2 = kt_open();
	char *a, *b;
	size_t i;

	ASSERT_LE(0, fd2);
	/* File A dirties pages and gives them back to the caches... */
	a = kt_mmap(self->fd, n * self->ps);
	ASSERT_NE(MAP_FAILED, a);
	ASSERT_EQ(0, kt_trans(self->fd, a, n * self->ps, KARENA_OP_ALLOC));
	memset(a, 0xdb, n * self->ps);
	ASSERT_EQ(0, kt_trans(self->fd, a, n * self->ps / 2, KARENA_OP_UNUSED));
	ASSERT_EQ(0, kt_trans(self->fd, a + n * self->ps / 2, n * self->ps / 2,
			      KARENA_OP_FREE));
	/* ...file B, right after, must get zeroed ones. */
	b = kt_mmap(fd2, n * self->ps);
	ASSERT_NE(MAP_FAILED, b);
	ASSERT_EQ(0, kt_trans(fd2, b, n * self->ps, KARENA_OP_ALLOC));
	for (i = 0; i < n; i++)
		ASSERT_EQ(-1, kt_first_nonzero(b + i * self->ps, self->ps))
			TH_LOG("page %zu of the other file is not zeroed", i);
	/* And so does A itself. */
	ASSERT_EQ(0, kt_trans(self->fd, a, n * self->ps / 2, KARENA_OP_USED));
	EXPECT_EQ(-1, kt_first_nonzero(a, n * self->ps / 2));
	munmap(a, n * self->ps);
	munmap(b, n * self->ps);
	close(fd2);
}

TEST_F(transitions, rss_follows_touched_ready_pages)
{
	const long n = 512;
	long kb = self->ps / 1024, base, touched, released;
	char *q = kt_mmap(self->fd, n * self->ps);
	long i;

	ASSERT_NE(MAP_FAILED, q);
	ASSERT_EQ(0, kt_trans(self->fd, q, n * self->ps, KARENA_OP_ALLOC));
	/*
	 * The process's Rss, with slack for pages the process faults in
	 * meanwhile (libc text, stdio buffers: up to ~34 pages seen in the
	 * guest).  vma_rss_exact checks the mapping's own Rss exactly; this
	 * one checks the process total still moves by about n pages (a page
	 * not counted, or counted twice, is far outside the slack).
	 */
	base = kt_rss_kb();
	ASSERT_LT(0, base);
	for (i = 0; i < n; i++)
		q[i * self->ps] = 1;
	touched = kt_rss_kb();
	EXPECT_LE((n - 8) * kb, touched - base) TH_LOG("Rss %ld -> %ld kB", base, touched);
	EXPECT_GE((n + 64) * kb, touched - base) TH_LOG("Rss %ld -> %ld kB", base, touched);
	ASSERT_EQ(0, kt_trans(self->fd, q, n * self->ps, KARENA_OP_UNUSED));
	released = kt_rss_kb();
	EXPECT_GE(64 * kb, released - base) TH_LOG("Rss %ld -> %ld kB after Unused",
						  base, released);
	munmap(q, n * self->ps);
}

TEST_F(transitions, vma_rss_exact)
{
	const long n = 256;
	long kb = self->ps / 1024;
	char *q = kt_mmap(self->fd, n * self->ps);
	long i;

	ASSERT_NE(MAP_FAILED, q);
	ASSERT_EQ(0, kt_trans(self->fd, q, n * self->ps, KARENA_OP_ALLOC));
	EXPECT_EQ(0, kt_vma_rss_kb(q));
	for (i = 0; i < n; i += 2)
		q[i * self->ps] = 1;		/* writes */
	for (i = 1; i < n; i += 4)
		(void)*(volatile char *)(q + i * self->ps);	/* reads */
	EXPECT_EQ((n / 2 + n / 4) * kb, kt_vma_rss_kb(q));
	ASSERT_EQ(0, kt_trans(self->fd, q, n * self->ps / 2, KARENA_OP_UNUSED));
	EXPECT_EQ((n / 4 + n / 8) * kb, kt_vma_rss_kb(q));
	ASSERT_EQ(0, kt_trans(self->fd, q + n * self->ps / 2, n * self->ps / 2,
			      KARENA_OP_FREE));
	EXPECT_EQ(0, kt_vma_rss_kb(q));
	munmap(q, n * self->ps);
}

/* The kernel reads and writes arena pages like anonymous memory. */

TEST_F(transitions, kernel_copies_to_and_from_ready_pages)
{
	size_t n = 4 * self->ps;
	int pfd[2];

	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->len, KARENA_OP_ALLOC));
	kt_fill(self->p, 4, 0x81);
	ASSERT_EQ(0, pipe(pfd));
	/* copy_from_user out of touched pages, copy_to_user into untouched ones. */
	EXPECT_EQ((ssize_t)n, write(pfd[1], self->p, n));
	EXPECT_EQ((ssize_t)n, read(pfd[0], pg(self, 8), n));
	EXPECT_EQ(0, memcmp(self->p, pg(self, 8), n));
	close(pfd[0]);
	close(pfd[1]);
}

TEST_F(transitions, kernel_access_to_reserved_and_prepared_efault)
{
	char buf[16] = "0123456789abcde";
	int pfd[2];

	ASSERT_EQ(0, kt_trans(self->fd, pg(self, 4), 4 * self->ps, KARENA_OP_MAP));
	ASSERT_EQ(0, pipe(pfd));
	/* A syscall touching them fails with EFAULT: no signal, no state change. */
	EXPECT_EQ(-1, write(pfd[1], self->p, 16));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, write(pfd[1], pg(self, 4), 16));
	EXPECT_EQ(EFAULT, errno);
	ASSERT_EQ(16, write(pfd[1], buf, 16));
	EXPECT_EQ(-1, read(pfd[0], pg(self, 5), 16));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, kt_first_not(self->fd, self->p, 4, KARENA_STATE_RESERVED));
	EXPECT_EQ(-1, kt_first_not(self->fd, pg(self, 4), 4, KARENA_STATE_PREPARED));
	close(pfd[0]);
	close(pfd[1]);
}

TEST_F(transitions, process_vm_readv_writev_on_ready_pages)
{
	size_t n = 4 * self->ps;
	char *local = malloc(n);
	struct iovec l = { local, n }, r = { self->p, n };

	ASSERT_NE(NULL, local);
	ASSERT_EQ(0, kt_trans(self->fd, self->p, 12 * self->ps, KARENA_OP_ALLOC));
	kt_fill(self->p, 4, 0x91);
	/* get_user_pages on the arena: what O_DIRECT and ptrace rely on. */
	EXPECT_EQ((ssize_t)n, process_vm_readv(getpid(), &l, 1, &r, 1, 0))
		TH_LOG("process_vm_readv: %s", strerror(errno));
	EXPECT_EQ(0, memcmp(local, self->p, n));
	r.iov_base = pg(self, 8);
	EXPECT_EQ((ssize_t)n, process_vm_writev(getpid(), &l, 1, &r, 1, 0))
		TH_LOG("process_vm_writev: %s", strerror(errno));
	EXPECT_EQ(0, memcmp(self->p, pg(self, 8), n));
	/* Reserved pages cannot be pinned. */
	r.iov_base = pg(self, 12);
	EXPECT_EQ(-1, process_vm_readv(getpid(), &l, 1, &r, 1, 0));
	EXPECT_EQ(EFAULT, errno);
	free(local);
}

TEST_F(transitions, remap_after_munmap_starts_reserved)
{
	void *q;

	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->len, KARENA_OP_ALLOC));
	memset(self->p, 0x5c, self->len);
	kt_munmap_guarded(self->p, NPAGES);
	self->p = NULL;
	q = kt_mmap(self->fd, NPAGES * self->ps);
	ASSERT_NE(MAP_FAILED, q);
	EXPECT_EQ(-1, kt_first_not(self->fd, q, NPAGES, KARENA_STATE_RESERVED));
	ASSERT_EQ(0, kt_trans(self->fd, q, self->len, KARENA_OP_ALLOC));
	EXPECT_EQ(-1, kt_first_nonzero(q, self->len));
	munmap(q, self->len);
}

/*
 * The release path skips the zaps when no dropped page is mapped: pages
 * that were never touched (POPULATE), or whose PTEs madvise dropped.  In
 * each case the released pages must still be unreachable and come back
 * zeroed, and pages that stayed Ready keep their data.
 */
TEST_F(transitions, release_of_unmapped_pages_still_unmaps)
{
	char *half = pg(self, NPAGES / 2);
	size_t hl = self->len / 2;
	char c = 0;
	int i;

	ASSERT_EQ(0, kt_trans_f(self->fd, self->p, self->len, KARENA_OP_ALLOC,
				KARENA_F_POPULATE));
	memset(self->p, 0x5a, hl);		/* first half mapped */
	/* Second half: resident, never mapped; released alone. */
	ASSERT_EQ(0, kt_trans(self->fd, half, hl, KARENA_OP_UNUSED));
	EXPECT_ALL_SEGV(half, NPAGES / 2);
	for (i = 0; i < NPAGES / 2; i++) {
		ASSERT_EQ(0, kt_probe_read(pg(self, i), &c));
		EXPECT_EQ(0x5a, c) TH_LOG("page %d lost its data", i);
	}
	/* First half: PTEs dropped by madvise, then released. */
	ASSERT_EQ(0, madvise(self->p, hl, MADV_DONTNEED));
	ASSERT_EQ(0, kt_probe_read(pg(self, 0), &c));	/* maps page 0 again */
	EXPECT_EQ(0x5a, c);
	ASSERT_EQ(0, madvise(self->p, hl, MADV_DONTNEED));
	ASSERT_EQ(0, kt_trans(self->fd, self->p, hl, KARENA_OP_UNUSED));
	EXPECT_ALL_SEGV(self->p, NPAGES);
	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->len, KARENA_OP_USED));
	EXPECT_ZEROED(self->p, NPAGES);
}

TEST_HARNESS_MAIN
