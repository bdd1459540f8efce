// SPDX-License-Identifier: GPL-2.0
/*
 * karena bad-input selftests: every illegal transition and malformed
 * range is a clean error and changes nothing (QUERY before and after is
 * identical, contents of Ready pages survive), limits give ENOMEM/EPERM,
 * the vector stops at its first bad range, mremap and the unsupported
 * mmap flavour are refused.
 *
 * The fixture maps 16 pages between guard pages in four quarters:
 *   [0,4) Reserved   [4,8) Prepared   [8,12) Ready (pattern)   [12,16) None
 */

#include "kselftest_harness.h"
#include "karena_test.h"

#define NPAGES	16
#define Q_RES	0
#define Q_PREP	4
#define Q_READY	8
#define Q_NONE	12
#define QLEN	4
#define SEED	0x5a

FIXTURE(badinput) {
	int fd;
	long ps;
	char *p;
	unsigned char before[NPAGES];
	struct karena_stats st_before;
};

static char *pg(FIXTURE_DATA(badinput) *self, int i)
{
	return self->p + (long)i * self->ps;
}

FIXTURE_SETUP(badinput)
{
	self->ps = kt_ps();
	KT_OPEN_OR_SKIP(self->fd);
	self->p = kt_mmap_guarded(self->fd, NPAGES);
	ASSERT_NE(MAP_FAILED, self->p) TH_LOG("mmap: %s", strerror(errno));
	ASSERT_EQ(0, kt_trans(self->fd, pg(self, Q_PREP), 8 * self->ps, KARENA_OP_MAP));
	ASSERT_EQ(0, kt_trans(self->fd, pg(self, Q_READY), QLEN * self->ps, KARENA_OP_USED));
	ASSERT_EQ(0, kt_trans(self->fd, pg(self, Q_NONE), QLEN * self->ps, KARENA_OP_FREE));
	kt_fill(pg(self, Q_READY), QLEN, SEED);
	ASSERT_EQ(0, kt_query(self->fd, self->p, NPAGES * self->ps, self->before));
	ASSERT_EQ(-1, kt_first_not(self->fd, pg(self, Q_RES), QLEN, KARENA_STATE_RESERVED));
	ASSERT_EQ(-1, kt_first_not(self->fd, pg(self, Q_PREP), QLEN, KARENA_STATE_PREPARED));
	ASSERT_EQ(-1, kt_first_not(self->fd, pg(self, Q_READY), QLEN, KARENA_STATE_READY));
	ASSERT_EQ(-1, kt_first_not(self->fd, pg(self, Q_NONE), QLEN, KARENA_STATE_NONE));
	ASSERT_EQ(0, kt_stats(self->fd, &self->st_before));
}

FIXTURE_TEARDOWN(badinput)
{
	if (self->p && self->p != MAP_FAILED)
		kt_munmap_guarded(self->p, NPAGES);
	if (self->fd >= 0)
		close(self->fd);
}

/* Nothing changed since setup: states, flags, Ready contents, byte counts. */
static int first_diff(const unsigned char *a, const unsigned char *b, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (a[i] != b[i])
			return i;
	return -1;
}

#define ASSERT_UNCHANGED() do {						\
	unsigned char now_[NPAGES];					\
	struct karena_stats st_;					\
	int d_;								\
	ASSERT_EQ(0, kt_query(self->fd, self->p, NPAGES * self->ps, now_)); \
	d_ = first_diff(self->before, now_, NPAGES);			\
	EXPECT_EQ(-1, d_) TH_LOG("page %d: %#x -> %#x", d_,		\
				 self->before[d_ & (NPAGES - 1)],	\
				 now_[d_ & (NPAGES - 1)]);		\
	EXPECT_EQ(-1, kt_check(pg(self, Q_READY), QLEN, SEED));		\
	ASSERT_EQ(0, kt_stats(self->fd, &st_));				\
	EXPECT_EQ(self->st_before.reserved_bytes, st_.reserved_bytes);	\
	EXPECT_EQ(self->st_before.prepared_bytes, st_.prepared_bytes);	\
	EXPECT_EQ(self->st_before.ready_bytes, st_.ready_bytes);	\
} while (0)

/* op on each quarter in 'illegal' (bitmask of quarter indexes) -> EINVAL. */
static void illegal_quarters(struct __test_metadata *_metadata,
			     FIXTURE_DATA(badinput) *self, unsigned int op,
			     unsigned int illegal)
{
	static const char *qname[] = { "Reserved", "Prepared", "Ready", "None" };
	int q;

	for (q = 0; q < 4; q++) {
		if (!(illegal & (1U << q)))
			continue;
		EXPECT_EQ(EINVAL, kt_trans(self->fd, pg(self, q * QLEN),
					   QLEN * self->ps, op))
			TH_LOG("op %u on %s", op, qname[q]);
		/* And on a single page. */
		EXPECT_EQ(EINVAL, kt_trans(self->fd, pg(self, q * QLEN + 1),
					   self->ps, op))
			TH_LOG("op %u on one %s page", op, qname[q]);
	}
}

#define QB(q)	(1U << ((q) / QLEN))

TEST_F(badinput, reserve_illegal_sources)
{
	illegal_quarters(_metadata, self, KARENA_OP_RESERVE,
			 QB(Q_RES) | QB(Q_PREP) | QB(Q_READY));
	ASSERT_UNCHANGED();
}

TEST_F(badinput, map_illegal_sources)
{
	illegal_quarters(_metadata, self, KARENA_OP_MAP,
			 QB(Q_PREP) | QB(Q_READY) | QB(Q_NONE));
	ASSERT_UNCHANGED();
}

TEST_F(badinput, used_illegal_sources)
{
	illegal_quarters(_metadata, self, KARENA_OP_USED,
			 QB(Q_RES) | QB(Q_READY) | QB(Q_NONE));
	ASSERT_UNCHANGED();
}

TEST_F(badinput, unused_illegal_sources)
{
	illegal_quarters(_metadata, self, KARENA_OP_UNUSED,
			 QB(Q_RES) | QB(Q_PREP) | QB(Q_NONE));
	ASSERT_UNCHANGED();
}

TEST_F(badinput, fault_on_none)
{
	illegal_quarters(_metadata, self, KARENA_OP_FAULT, QB(Q_NONE));
	ASSERT_UNCHANGED();
}

TEST_F(badinput, alloc_illegal_sources)
{
	illegal_quarters(_metadata, self, KARENA_OP_ALLOC,
			 QB(Q_PREP) | QB(Q_READY));
	ASSERT_UNCHANGED();
}

TEST_F(badinput, hugepage_hints_on_none)
{
	illegal_quarters(_metadata, self, KARENA_OP_HUGEPAGE, QB(Q_NONE));
	illegal_quarters(_metadata, self, KARENA_OP_NOHUGEPAGE, QB(Q_NONE));
	ASSERT_UNCHANGED();
}

/* All or nothing: a range with one bad page changes none of its pages. */

TEST_F(badinput, map_mixed_range_all_or_nothing)
{
	/* Reserved pages then one Prepared page. */
	EXPECT_EQ(EINVAL, kt_trans(self->fd, pg(self, Q_RES), (QLEN + 1) * self->ps,
				   KARENA_OP_MAP));
	ASSERT_UNCHANGED();
}

TEST_F(badinput, used_mixed_range_all_or_nothing)
{
	/* Prepared pages then one Ready page. */
	EXPECT_EQ(EINVAL, kt_trans(self->fd, pg(self, Q_PREP), (QLEN + 1) * self->ps,
				   KARENA_OP_USED));
	ASSERT_UNCHANGED();
}

TEST_F(badinput, unused_mixed_range_all_or_nothing)
{
	/* Ready pages then one None page: the Ready contents must survive. */
	EXPECT_EQ(EINVAL, kt_trans(self->fd, pg(self, Q_READY), (QLEN + 1) * self->ps,
				   KARENA_OP_UNUSED));
	ASSERT_UNCHANGED();
}

TEST_F(badinput, fault_mixed_range_all_or_nothing)
{
	/* Everything from Reserved up to one None page. */
	EXPECT_EQ(EINVAL, kt_trans(self->fd, self->p, (Q_NONE + 1) * self->ps,
				   KARENA_OP_FAULT));
	ASSERT_UNCHANGED();
}

TEST_F(badinput, alloc_mixed_range_all_or_nothing)
{
	/* None pages are fine for ALLOC, the Ready page before them is not. */
	EXPECT_EQ(EINVAL, kt_trans(self->fd, pg(self, Q_NONE - 1), (QLEN + 1) * self->ps,
				   KARENA_OP_ALLOC));
	ASSERT_UNCHANGED();
}

/* Malformed ranges. */

TEST_F(badinput, unaligned_start)
{
	EXPECT_EQ(EINVAL, kt_trans(self->fd, self->p + 1, self->ps, KARENA_OP_MAP));
	EXPECT_EQ(EINVAL, kt_trans(self->fd, self->p + self->ps / 2, self->ps,
				   KARENA_OP_FREE));
	ASSERT_UNCHANGED();
}

TEST_F(badinput, unaligned_len)
{
	EXPECT_EQ(EINVAL, kt_trans(self->fd, self->p, self->ps + 1, KARENA_OP_MAP));
	EXPECT_EQ(EINVAL, kt_trans(self->fd, self->p, self->ps - 1, KARENA_OP_MAP));
	EXPECT_EQ(EINVAL, kt_trans(self->fd, pg(self, Q_READY), 1, KARENA_OP_FREE));
	ASSERT_UNCHANGED();
}

TEST_F(badinput, zero_len)
{
	EXPECT_EQ(EINVAL, kt_trans(self->fd, self->p, 0, KARENA_OP_MAP));
	EXPECT_EQ(EINVAL, kt_trans(self->fd, pg(self, Q_READY), 0, KARENA_OP_FREE));
	ASSERT_UNCHANGED();
}

TEST_F(badinput, overflowing_range)
{
	uint64_t huge = ~(uint64_t)(self->ps - 1);	/* page aligned */

	EXPECT_EQ(EINVAL, kt_trans(self->fd, self->p, huge, KARENA_OP_MAP));
	EXPECT_EQ(EINVAL, kt_trans(self->fd, pg(self, Q_READY), huge, KARENA_OP_FREE));
	/* start + len wraps to a small address inside nothing. */
	EXPECT_EQ(EINVAL, kt_trans(self->fd, (void *)(uintptr_t)huge, 2 * self->ps,
				   KARENA_OP_FREE));
	ASSERT_UNCHANGED();
}

TEST_F(badinput, range_outside_any_mapping)
{
	char *anon = mmap(NULL, self->ps, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, anon);
	EXPECT_EQ(EINVAL, kt_trans(self->fd, anon, self->ps, KARENA_OP_FREE));
	EXPECT_EQ(EINVAL, kt_trans(self->fd, NULL, self->ps, KARENA_OP_FREE));
	EXPECT_EQ(EINVAL, kt_trans(self->fd, (void *)0xffffffff81000000UL,
				   self->ps, KARENA_OP_FREE));
	munmap(anon, self->ps);
	ASSERT_UNCHANGED();
}

TEST_F(badinput, range_straddling_mapping_end)
{
	EXPECT_EQ(EINVAL, kt_trans(self->fd, pg(self, NPAGES - 1), 2 * self->ps,
				   KARENA_OP_FREE));
	EXPECT_EQ(EINVAL, kt_trans(self->fd, pg(self, Q_READY), (QLEN * 2 + 1) * self->ps,
				   KARENA_OP_FREE));
	ASSERT_UNCHANGED();
}

TEST_F(badinput, range_straddling_mapping_start)
{
	EXPECT_EQ(EINVAL, kt_trans(self->fd, self->p - self->ps, 2 * self->ps,
				   KARENA_OP_MAP));
	EXPECT_EQ(EINVAL, kt_trans(self->fd, self->p - self->ps, (NPAGES + 2) * self->ps,
				   KARENA_OP_FREE));
	ASSERT_UNCHANGED();
}

TEST_F(badinput, range_in_another_files_mapping)
{
	int fd2 = kt_open();
	char *q;

	ASSERT_LE(0, fd2);
	q = kt_mmap(fd2, 4 * self->ps);
	ASSERT_NE(MAP_FAILED, q);
	/* This file cannot touch the other file's pages, nor query them. */
	EXPECT_EQ(EINVAL, kt_trans(self->fd, q, 4 * self->ps, KARENA_OP_MAP));
	EXPECT_EQ(EINVAL, kt_trans(self->fd, q, 4 * self->ps, KARENA_OP_FREE));
	EXPECT_EQ(EINVAL, kt_trans(self->fd, q, 4 * self->ps, KARENA_OP_ALLOC));
	EXPECT_EQ(-1, kt_first_not(fd2, q, 4, KARENA_STATE_RESERVED));
	/* And the other way round. */
	EXPECT_EQ(EINVAL, kt_trans(fd2, pg(self, Q_READY), self->ps, KARENA_OP_UNUSED));
	EXPECT_EQ(EINVAL, kt_query(fd2, self->p, self->ps, self->before));
	munmap(q, 4 * self->ps);
	close(fd2);
	ASSERT_UNCHANGED();
}

TEST_F(badinput, range_across_two_mappings)
{
	/* A second mapping of the same file right after the first one. */
	char *q = mmap(self->p + NPAGES * self->ps, self->ps, PROT_READ | PROT_WRITE,
		       KT_MAP_FLAVOUR | MAP_FIXED, self->fd, 0);

	ASSERT_NE(MAP_FAILED, q);
	EXPECT_EQ(EINVAL, kt_trans(self->fd, pg(self, NPAGES - 1), 2 * self->ps,
				   KARENA_OP_FREE));
	EXPECT_EQ(KARENA_STATE_RESERVED, kt_state_of(self->fd, q));
	munmap(q, self->ps);
	ASSERT_UNCHANGED();
}

TEST_F(badinput, unknown_op)
{
	static const unsigned int ops[] = { 0, KARENA_OP_MAX + 1, 64, 0xffffffffU };
	size_t i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		EXPECT_EQ(EINVAL, kt_trans(self->fd, self->p, NPAGES * self->ps, ops[i]))
			TH_LOG("op %u", ops[i]);
	ASSERT_UNCHANGED();
}

TEST_F(badinput, unknown_flag_bits)
{
	unsigned int bit;

	for (bit = 1; bit; bit <<= 1) {
		if (bit & KARENA_F_ALL)
			continue;
		EXPECT_EQ(EINVAL, kt_trans_f(self->fd, pg(self, Q_PREP), QLEN * self->ps,
					     KARENA_OP_USED, bit))
			TH_LOG("flag %#x", bit);
	}
	ASSERT_UNCHANGED();
}

TEST_F(badinput, transition_errors_counted)
{
	struct karena_stats st;

	/* Two illegal transitions: each failed call counts once. */
	EXPECT_EQ(EINVAL, kt_trans(self->fd, pg(self, Q_READY), self->ps, KARENA_OP_MAP));
	EXPECT_EQ(EINVAL, kt_trans(self->fd, pg(self, Q_RES), QLEN * self->ps,
				   KARENA_OP_UNUSED));
	ASSERT_EQ(0, kt_stats(self->fd, &st));
	EXPECT_EQ(self->st_before.transition_errors + 2, st.transition_errors);
	EXPECT_EQ(self->st_before.transitions[KARENA_OP_MAP], st.transitions[KARENA_OP_MAP]);
}

/* QUERY errors. */

TEST_F(badinput, query_bad_ranges)
{
	unsigned char vec[NPAGES + 2];

	EXPECT_EQ(EINVAL, kt_query(self->fd, self->p + 1, self->ps, vec));
	EXPECT_EQ(EINVAL, kt_query(self->fd, self->p, 0, vec));
	EXPECT_EQ(EINVAL, kt_query(self->fd, self->p, self->ps + 1, vec));
	EXPECT_EQ(EINVAL, kt_query(self->fd, self->p, (NPAGES + 1) * self->ps, vec));
	EXPECT_EQ(EINVAL, kt_query(self->fd, self->p - self->ps, 2 * self->ps, vec));
	EXPECT_EQ(EINVAL, kt_query(self->fd, self->p, ~(uint64_t)(self->ps - 1), vec));
}

TEST_F(badinput, query_bad_buffer_efault)
{
	unsigned char *ro = mmap(NULL, self->ps, PROT_READ,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *two = mmap(NULL, 2 * self->ps, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, ro);
	ASSERT_NE(MAP_FAILED, two);
	ASSERT_EQ(0, munmap(two + self->ps, self->ps));
	EXPECT_EQ(EFAULT, kt_query(self->fd, self->p, NPAGES * self->ps, NULL));
	EXPECT_EQ(EFAULT, kt_query(self->fd, self->p, NPAGES * self->ps, ro));
	/* Room for half the answer. */
	EXPECT_EQ(EFAULT, kt_query(self->fd, self->p, NPAGES * self->ps,
				   (unsigned char *)two + self->ps - NPAGES / 2));
	munmap(ro, self->ps);
	munmap(two, self->ps);
	ASSERT_UNCHANGED();
}

/* Vectors. */

TEST_F(badinput, vec_count_zero_and_too_big)
{
	static struct karena_range r[KARENA_VEC_MAX + 1];
	struct karena_vec v;
	int i;

	for (i = 0; i <= KARENA_VEC_MAX; i++)
		kt_range(&r[i], self->p, self->ps, KARENA_OP_HUGEPAGE, 0);
	EXPECT_EQ(EINVAL, kt_vec(self->fd, r, 0, &v));
	EXPECT_EQ(EINVAL, kt_vec(self->fd, r, KARENA_VEC_MAX + 1, &v));
	EXPECT_EQ(EINVAL, kt_vec(self->fd, r, 0xffffffffU, &v));
	ASSERT_UNCHANGED();
}

TEST_F(badinput, vec_max_count_accepted)
{
	static struct karena_range r[KARENA_VEC_MAX];
	struct karena_vec v;
	int i;

	/* FREE is legal from any state: VEC_MAX frees of one None page. */
	for (i = 0; i < KARENA_VEC_MAX; i++)
		kt_range(&r[i], pg(self, Q_NONE + i % QLEN), self->ps, KARENA_OP_FREE, 0);
	EXPECT_EQ(0, kt_vec(self->fd, r, KARENA_VEC_MAX, &v));
	EXPECT_EQ(KARENA_VEC_MAX, v.done);
	EXPECT_EQ(0, v.error);
	ASSERT_UNCHANGED();
}

TEST_F(badinput, vec_bad_pointer_efault)
{
	char *two = mmap(NULL, 2 * self->ps, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct karena_vec v;

	ASSERT_NE(MAP_FAILED, two);
	EXPECT_EQ(EFAULT, kt_vec(self->fd, NULL, 1, &v));
	EXPECT_EQ(EFAULT, kt_vec(self->fd, (struct karena_range *)0xffffffff81000000UL,
				 1, &v));
	ASSERT_EQ(0, munmap(two, 2 * self->ps));
	EXPECT_EQ(EFAULT, kt_vec(self->fd, (struct karena_range *)two, 1, &v));
	ASSERT_UNCHANGED();
}

TEST_F(badinput, vec_array_running_into_unmapped_page)
{
	char *two = mmap(NULL, 2 * self->ps, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct karena_range *r;
	struct karena_vec v;

	ASSERT_NE(MAP_FAILED, two);
	ASSERT_EQ(0, munmap(two + self->ps, self->ps));
	/* One readable range (a legal MAP), the second one is unmapped. */
	r = (struct karena_range *)(two + self->ps) - 1;
	kt_range(r, pg(self, Q_RES), self->ps, KARENA_OP_MAP, 0);
	EXPECT_EQ(EFAULT, kt_vec(self->fd, r, 2, &v));
	/* Where it stopped must agree with the page states. */
	EXPECT_LE(v.done, 1);
	EXPECT_EQ(v.done ? KARENA_STATE_PREPARED : KARENA_STATE_RESERVED,
		  kt_state_of(self->fd, pg(self, Q_RES)));
	EXPECT_EQ(v.done, v.pages);
	/* Either range 1 failed (error says so) or the array was refused whole. */
	EXPECT_TRUE(v.error == -EFAULT || (v.error == 0 && v.done == 0))
		TH_LOG("done %u error %d", v.done, v.error);
	munmap(two, self->ps);
}

TEST_F(badinput, vec_stops_at_first_bad_range)
{
	struct karena_range r[4];
	struct karena_vec v;

	kt_range(&r[0], pg(self, Q_RES), 2 * self->ps, KARENA_OP_MAP, 0);
	kt_range(&r[1], pg(self, Q_PREP), 3 * self->ps, KARENA_OP_USED, 0);
	kt_range(&r[2], pg(self, Q_RES + 2), self->ps, KARENA_OP_USED, 0); /* illegal */
	kt_range(&r[3], pg(self, Q_RES + 3), self->ps, KARENA_OP_MAP, 0);
	EXPECT_EQ(EINVAL, kt_vec(self->fd, r, 4, &v));
	EXPECT_EQ(2, v.done);
	EXPECT_EQ(5, v.pages);
	EXPECT_EQ(-EINVAL, v.error);
	/* Ranges 0 and 1 applied, 2 and 3 not. */
	EXPECT_EQ(-1, kt_first_not(self->fd, pg(self, Q_RES), 2, KARENA_STATE_PREPARED));
	EXPECT_EQ(-1, kt_first_not(self->fd, pg(self, Q_PREP), 3, KARENA_STATE_READY));
	EXPECT_EQ(KARENA_STATE_PREPARED, kt_state_of(self->fd, pg(self, Q_PREP + 3)));
	EXPECT_EQ(-1, kt_first_not(self->fd, pg(self, Q_RES + 2), 2, KARENA_STATE_RESERVED));
}

TEST_F(badinput, vec_malformed_range_reports_index)
{
	struct karena_range r[3];
	struct karena_vec v;

	kt_range(&r[0], pg(self, Q_RES), self->ps, KARENA_OP_MAP, 0);
	kt_range(&r[1], pg(self, Q_RES + 1) + 1, self->ps, KARENA_OP_MAP, 0);
	kt_range(&r[2], pg(self, Q_RES + 2), self->ps, KARENA_OP_MAP, 0);
	EXPECT_EQ(EINVAL, kt_vec(self->fd, r, 3, &v));
	EXPECT_EQ(1, v.done);
	EXPECT_EQ(1, v.pages);
	EXPECT_EQ(-EINVAL, v.error);
	EXPECT_EQ(KARENA_STATE_PREPARED, kt_state_of(self->fd, pg(self, Q_RES)));
	EXPECT_EQ(-1, kt_first_not(self->fd, pg(self, Q_RES + 1), 3, KARENA_STATE_RESERVED));
}

TEST_F(badinput, vec_bad_op_or_flag_in_a_range_reports_index)
{
	struct karena_range r[3];
	struct karena_vec v;

	kt_range(&r[0], pg(self, Q_RES), self->ps, KARENA_OP_MAP, 0);
	kt_range(&r[1], pg(self, Q_RES + 1), self->ps, KARENA_OP_MAX + 1, 0);
	kt_range(&r[2], pg(self, Q_RES + 2), self->ps, KARENA_OP_MAP, 0);
	EXPECT_EQ(EINVAL, kt_vec(self->fd, r, 3, &v));
	EXPECT_EQ(1, v.done);
	EXPECT_EQ(-EINVAL, v.error);
	kt_range(&r[1], pg(self, Q_PREP), self->ps, KARENA_OP_USED, 1U << 7);
	kt_range(&r[0], pg(self, Q_RES + 3), self->ps, KARENA_OP_MAP, 0);
	EXPECT_EQ(EINVAL, kt_vec(self->fd, r, 2, &v));
	EXPECT_EQ(1, v.done);
	EXPECT_EQ(-EINVAL, v.error);
	EXPECT_EQ(KARENA_STATE_PREPARED, KT_STATE(kt_state_of(self->fd, pg(self, Q_PREP))));
	EXPECT_EQ(-1, kt_first_not(self->fd, pg(self, Q_RES + 1), 2, KARENA_STATE_RESERVED));
}

TEST_F(badinput, vec_first_range_bad_changes_nothing)
{
	struct karena_range r[2];
	struct karena_vec v;

	kt_range(&r[0], pg(self, Q_READY), self->ps, KARENA_OP_MAP, 0);
	kt_range(&r[1], pg(self, Q_RES), self->ps, KARENA_OP_MAP, 0);
	EXPECT_EQ(EINVAL, kt_vec(self->fd, r, 2, &v));
	EXPECT_EQ(0, v.done);
	EXPECT_EQ(0, v.pages);
	EXPECT_EQ(-EINVAL, v.error);
	ASSERT_UNCHANGED();
}

/* Limits. */

TEST_F(badinput, ready_limit_enomem)
{
	struct karena_limits l;

	/* Four Ready pages exist; allow exactly six. */
	ASSERT_EQ(0, kt_limits(self->fd, KARENA_LIMIT_SET_READY, 0, 6 * self->ps, &l));
	EXPECT_EQ(ENOMEM, kt_trans(self->fd, pg(self, Q_PREP), 3 * self->ps,
				   KARENA_OP_USED));
	EXPECT_EQ(ENOMEM, kt_trans(self->fd, pg(self, Q_NONE), 3 * self->ps,
				   KARENA_OP_ALLOC));
	ASSERT_UNCHANGED();
	/* Up to the limit is fine. */
	EXPECT_EQ(0, kt_trans(self->fd, pg(self, Q_PREP), 2 * self->ps, KARENA_OP_USED));
	EXPECT_EQ(ENOMEM, kt_trans(self->fd, pg(self, Q_PREP + 2), self->ps,
				   KARENA_OP_USED));
	EXPECT_EQ(KARENA_STATE_PREPARED, kt_state_of(self->fd, pg(self, Q_PREP + 2)));
}

TEST_F(badinput, reserved_limit_enomem_on_mmap)
{
	struct karena_limits l;
	void *q;

	/* 16 pages are mapped (the None quarter counts too); allow 20. */
	ASSERT_EQ(0, kt_limits(self->fd, KARENA_LIMIT_SET_RESERVED,
			       (NPAGES + 4) * self->ps, 0, &l));
	EXPECT_EQ((uint64_t)(NPAGES + 4) * self->ps, l.max_reserved);
	q = kt_mmap(self->fd, 5 * self->ps);
	EXPECT_EQ(MAP_FAILED, q);
	EXPECT_EQ(ENOMEM, errno);
	if (q != MAP_FAILED)
		munmap(q, 5 * self->ps);
	q = kt_mmap(self->fd, 4 * self->ps);
	EXPECT_NE(MAP_FAILED, q) TH_LOG("mmap up to the limit: %s", strerror(errno));
	if (q != MAP_FAILED)
		munmap(q, 4 * self->ps);
	ASSERT_UNCHANGED();
}

TEST_F(badinput, mmap_beyond_default_max_reserved_enomem)
{
	struct karena_limits l;
	void *q;

	ASSERT_EQ(0, kt_limits(self->fd, 0, 0, 0, &l));
	q = mmap(NULL, l.max_reserved + self->ps, PROT_READ | PROT_WRITE,
		 KT_MAP_FLAVOUR, self->fd, 0);
	EXPECT_EQ(MAP_FAILED, q);
	EXPECT_EQ(ENOMEM, errno);
	if (q != MAP_FAILED)
		munmap(q, l.max_reserved + self->ps);
	ASSERT_UNCHANGED();
}

/*
 * A None page keeps its per-page bookkeeping, so it stays in max_reserved
 * (mapped bytes): FREE makes no room for another mmap, and leaving None
 * (Reserve, Alloc) maps nothing new, so the limit does not refuse it.
 */
TEST_F(badinput, none_pages_count_in_max_reserved)
{
	struct karena_limits l;
	void *q;

	ASSERT_EQ(0, kt_limits(self->fd, KARENA_LIMIT_SET_RESERVED,
			       NPAGES * self->ps, 0, &l));
	ASSERT_EQ(0, kt_trans(self->fd, pg(self, Q_RES), QLEN * self->ps,
			      KARENA_OP_FREE));
	q = kt_mmap(self->fd, self->ps);
	EXPECT_EQ(MAP_FAILED, q) TH_LOG("mmap after FREE passed max_reserved");
	if (q != MAP_FAILED)
		munmap(q, self->ps);
	EXPECT_EQ(0, kt_trans(self->fd, pg(self, Q_RES), QLEN * self->ps,
			      KARENA_OP_RESERVE));
	EXPECT_EQ(0, kt_trans(self->fd, pg(self, Q_NONE), QLEN * self->ps,
			      KARENA_OP_ALLOC));
}

/*
 * mmap, FREE everything, mmap again, keeping the mappings: each round
 * leaves an entry per None page, so the rounds must end at max_reserved
 * (the old module let them go on for ever).
 */
TEST_F(badinput, mmap_free_loop_stops_at_max_reserved)
{
	enum { ROUND = 64, MAX_ROUNDS = 256 };
	void *maps[MAX_ROUNDS];
	struct karena_limits l;
	int i, n = 0;

	ASSERT_EQ(0, kt_limits(self->fd, KARENA_LIMIT_SET_RESERVED,
			       (NPAGES + 4 * ROUND) * self->ps, 0, &l));
	for (i = 0; i < MAX_ROUNDS; i++) {
		maps[n] = kt_mmap(self->fd, ROUND * self->ps);
		if (maps[n] == MAP_FAILED)
			break;
		if (kt_trans(self->fd, maps[n++], ROUND * self->ps,
			     KARENA_OP_FREE))
			break;
	}
	EXPECT_EQ(4, n) TH_LOG("%d rounds of mmap + FREE of %d pages", n, ROUND);
	EXPECT_EQ(ENOMEM, errno);
	while (n--)
		munmap(maps[n], ROUND * self->ps);
}

TEST_F(badinput, limit_unknown_flags)
{
	struct karena_limits l, now;

	ASSERT_EQ(0, kt_limits(self->fd, 0, 0, 0, &now));
	EXPECT_EQ(EINVAL, kt_limits(self->fd, 1U << 2, self->ps, self->ps, &l));
	EXPECT_EQ(EINVAL, kt_limits(self->fd, 1U << 31 | KARENA_LIMIT_SET_READY,
				    self->ps, self->ps, &l));
	ASSERT_EQ(0, kt_limits(self->fd, 0, 0, 0, &l));
	EXPECT_EQ(now.max_ready, l.max_ready);
	EXPECT_EQ(now.max_reserved, l.max_reserved);
}

TEST_F(badinput, config_unknown_flags)
{
	unsigned int prev;

	EXPECT_EQ(EINVAL, kt_config(self->fd, 1U << 1, &prev));
	EXPECT_EQ(EINVAL, kt_config(self->fd, 1U << 31 | KARENA_CFG_LENIENT, &prev));
	ASSERT_EQ(0, kt_config(self->fd, 0, &prev));
	EXPECT_EQ(0, prev);
}

/* A file opened without CAP_SYS_RESOURCE cannot go above the defaults. */
TEST_F(badinput, raise_limit_without_cap_eperm)
{
	struct karena_limits def;
	pid_t pid;

	ASSERT_EQ(0, kt_limits(self->fd, 0, 0, 0, &def));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct karena_limits l;
		int fd;

		if (kt_drop_cap_sys_resource())
			_exit(10);
		fd = kt_open();
		if (fd < 0)
			_exit(16);
		/* Above the default: refused, limits unchanged. */
		if (kt_limits(fd, KARENA_LIMIT_SET_READY, 0,
			      def.max_ready + self->ps, &l) != EPERM)
			_exit(11);
		if (kt_limits(fd, KARENA_LIMIT_SET_RESERVED,
			      def.max_reserved * 2, 0, &l) != EPERM)
			_exit(12);
		if (kt_limits(fd, 0, 0, 0, &l) || l.max_ready != def.max_ready ||
		    l.max_reserved != def.max_reserved)
			_exit(13);
		/* Lowering, and raising back up to the default, is allowed. */
		if (kt_limits(fd, KARENA_LIMIT_SET_READY, 0, self->ps, &l))
			_exit(14);
		if (kt_limits(fd, KARENA_LIMIT_SET_READY, 0, def.max_ready, &l))
			_exit(15);
		_exit(0);
	}
	EXPECT_EQ(0, kt_wait(pid)) TH_LOG("child step (10 capset, 16 open, 11 ready, "
					   "12 reserved, 13 changed, 14 lower, "
					   "15 back to default)");
}

/*
 * The capability that counts is the opener's: a descriptor opened with
 * CAP_SYS_RESOURCE may be raised by a process without it (the old module
 * checked the caller).
 */
TEST_F(badinput, raise_limit_checks_the_opener_not_the_caller)
{
	struct karena_limits def;
	pid_t pid;

	if (geteuid() != 0)
		SKIP(return, "needs root (CAP_SYS_RESOURCE) to open the file");
	ASSERT_EQ(0, kt_limits(self->fd, 0, 0, 0, &def));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct karena_limits l;

		if (kt_drop_cap_sys_resource())
			_exit(10);
		if (kt_limits(self->fd, KARENA_LIMIT_SET_READY, 0,
			      def.max_ready + self->ps, &l))
			_exit(11);
		_exit(l.max_ready == def.max_ready + self->ps ? 0 : 12);
	}
	EXPECT_EQ(0, kt_wait(pid)) TH_LOG("child step (10 capset, 11 raise, 12 value)");
}

TEST_F(badinput, raise_limit_with_cap_allowed)
{
	struct karena_limits def, l;

	if (geteuid() != 0)
		SKIP(return, "needs root (CAP_SYS_RESOURCE)");
	ASSERT_EQ(0, kt_limits(self->fd, 0, 0, 0, &def));
	EXPECT_EQ(0, kt_limits(self->fd, KARENA_LIMIT_SET_READY, 0,
			       def.max_ready + self->ps, &l));
	ASSERT_EQ(0, kt_limits(self->fd, 0, 0, 0, &l));
	EXPECT_EQ(def.max_ready + self->ps, l.max_ready);
}

/*
 * A descriptor carries its opener's rights, whoever calls: another user
 * holding root's descriptor may lower its limits, and root may not raise
 * the limits of a descriptor that nobody opened.
 */
TEST_F(badinput, limits_follow_the_opener)
{
	struct karena_limits def, l;
	struct stat st;
	int fd, ok;
	pid_t pid;
	gid_t g;

	if (geteuid() != 0)
		SKIP(return, "needs root to become another user");
	ASSERT_EQ(0, kt_limits(self->fd, 0, 0, 0, &def));
	/* Nobody's file: a non-root euid drops the effective capabilities. */
	ASSERT_EQ(0, stat(KARENA_DEVICE, &st));
	g = st.st_gid;
	ASSERT_EQ(0, setgroups(1, &g));
	ASSERT_EQ(0, setegid(KT_NOBODY));
	ASSERT_EQ(0, seteuid(KT_NOBODY));
	fd = kt_open();
	ok = !seteuid(0) && !setegid(0);
	ASSERT_TRUE(ok);
	ASSERT_LE(0, fd) TH_LOG("open as nobody: %s", strerror(errno));
	EXPECT_EQ(EPERM, kt_limits(fd, KARENA_LIMIT_SET_READY, 0,
				   def.max_ready + self->ps, &l));
	EXPECT_EQ(0, kt_limits(fd, KARENA_LIMIT_SET_READY, 0, self->ps, &l));
	close(fd);

	/* Root's file in nobody's hands. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (kt_become_nobody())
			_exit(10);
		if (kt_limits(self->fd, 0, 0, 0, &l))
			_exit(11);
		if (kt_limits(self->fd, KARENA_LIMIT_SET_READY, 0, self->ps, &l))
			_exit(12);
		_exit(0);
	}
	EXPECT_EQ(0, kt_wait(pid)) TH_LOG("child step (10 nobody, 11 read, 12 lower)");
	ASSERT_EQ(0, kt_limits(self->fd, 0, 0, 0, &l));
	EXPECT_EQ((uint64_t)self->ps, l.max_ready);
}

/* mmap and mremap. */

TEST_F(badinput, mmap_other_flavour_einval)
{
	void *q = mmap(NULL, self->ps, PROT_READ | PROT_WRITE, KT_MAP_OTHER, self->fd, 0);

	EXPECT_EQ(MAP_FAILED, q);
	EXPECT_EQ(EINVAL, errno);
	if (q != MAP_FAILED)
		munmap(q, self->ps);
}

TEST_F(badinput, mremap_grow_fails_cleanly)
{
	void *q = mremap(self->p, NPAGES * self->ps, 2 * NPAGES * self->ps,
			 MREMAP_MAYMOVE);

	EXPECT_EQ(MAP_FAILED, q);
	if (q != MAP_FAILED) {
		self->p = q;	/* so teardown unmaps the right place */
		return;
	}
	ASSERT_UNCHANGED();
	/* The mapping still works. */
	EXPECT_EQ(0, kt_probe_write(pg(self, Q_READY), SEED));
}

TEST_F(badinput, mremap_move_fails_cleanly)
{
	char *dst = mmap(NULL, NPAGES * self->ps, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *q;

	ASSERT_NE(MAP_FAILED, dst);
	q = mremap(self->p, NPAGES * self->ps, NPAGES * self->ps,
		   MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	EXPECT_EQ(MAP_FAILED, q);
	if (q != MAP_FAILED) {
		munmap(q, NPAGES * self->ps);
		self->p = NULL;
		return;
	}
	munmap(dst, NPAGES * self->ps);
	ASSERT_UNCHANGED();
}

TEST_HARNESS_MAIN
