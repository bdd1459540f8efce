// SPDX-License-Identifier: GPL-2.0
/*
 * karena vector selftests: vectors of many small ranges, the shape the
 * library's scavenger sends, applied in place under one hold of the
 * store lock (kmod/transition.c karena_apply_direct(), kmod/run.c: runs and
 * the lazy Unused of plain Ready pages).
 *
 * What a vector guarantees, whatever path each range takes: its ranges
 * are applied in the order given (unsorted, overlapping and in different
 * mappings of the file alike), each all or nothing; the vector stops at
 * its first range that fails, the ones before it stay applied, the ones
 * after it are not looked at, and STATS count exactly the applied ones.
 * The tests mix ranges in random order over many xarray nodes, entries
 * erased in between (Fault) next to ranges that follow them in the node,
 * more pages than one hold of the lock covers, and ranges that must take
 * the staged path (POPULATE, slots to fill) between direct ones.
 */
#include "kselftest_harness.h"
#include "karena_test.h"

#define NPAGES		4096
#define SEED		0x5a

/* QUERY bits the tests compare. */
#define Q_MASK		(KARENA_STATE_MASK | KARENA_PAGE_RESIDENT | \
			 KARENA_PAGE_LAZY)
#define Q_READY		(KARENA_STATE_READY | KARENA_PAGE_RESIDENT)
#define Q_LAZY		(KARENA_STATE_PREPARED | KARENA_PAGE_RESIDENT | \
			 KARENA_PAGE_LAZY)
#define Q_PREP		KARENA_STATE_PREPARED

FIXTURE(vecrun) {
	int fd;
	long ps;
	char *p;
	struct karena_range r[KARENA_VEC_MAX];
	unsigned char q[NPAGES];
};

FIXTURE_SETUP(vecrun)
{
	self->ps = kt_ps();
	KT_OPEN_OR_SKIP(self->fd);
	self->p = kt_mmap_guarded(self->fd, NPAGES);
	ASSERT_NE(MAP_FAILED, self->p) TH_LOG("mmap: %s", strerror(errno));
	ASSERT_EQ(0, kt_trans(self->fd, self->p, NPAGES * self->ps,
			      KARENA_OP_ALLOC));
	kt_fill(self->p, NPAGES, SEED);
}

FIXTURE_TEARDOWN(vecrun)
{
	if (self->p && self->p != MAP_FAILED)
		kt_munmap_guarded(self->p, NPAGES);
	if (self->fd >= 0)
		close(self->fd);
}

static char *pg(FIXTURE_DATA(vecrun) *self, long i)
{
	return self->p + i * self->ps;
}

/* The QUERY bytes of the whole mapping, masked, into self->q. */
static int query_all(FIXTURE_DATA(vecrun) *self)
{
	long i;

	if (kt_query(self->fd, self->p, NPAGES * self->ps, self->q))
		return -1;
	for (i = 0; i < NPAGES; i++)
		self->q[i] &= Q_MASK;
	return 0;
}

/* The first page whose QUERY byte is not want(i), or -1. */
#define FIRST_WRONG(self, want) ({					\
	long i_, bad_ = -2;						\
	if (!query_all(self)) {						\
		for (bad_ = -1, i_ = 0; i_ < NPAGES; i_++)		\
			if ((self)->q[i_] != (want)) {			\
				bad_ = i_;				\
				break;					\
			}						\
	}								\
	if (bad_ >= 0)							\
		TH_LOG("page %ld: %#x", bad_, (self)->q[bad_]);		\
	bad_;								\
})

/* A permutation of 0..n-1 (a fixed seed: the same order every run). */
static void shuffle(long *idx, long n)
{
	unsigned int s = 12345;
	long i, j, t;

	for (i = 0; i < n; i++)
		idx[i] = i;
	for (i = n - 1; i > 0; i--) {
		s = s * 1103515245 + 12345;
		j = (s >> 8) % (i + 1);
		t = idx[i];
		idx[i] = idx[j];
		idx[j] = t;
	}
}

/* Apply self->r[0..n-1]; the karena_vec filled in, the ioctl's errno back. */
static int vec(FIXTURE_DATA(vecrun) *self, long n, struct karena_vec *v)
{
	return kt_vec(self->fd, self->r, n, v);
}

/*
 * Every other page of [0, 2n), single-page ranges in random order over
 * 32 xarray leaf nodes: each released, the others untouched; a Used vector
 * in another order takes the lazily released pages back with their data.
 */
static void scattered(FIXTURE_DATA(vecrun) *self,
		      struct __test_metadata *_metadata, unsigned int flags)
{
	const long n = 1024;
	bool lazy = flags & KARENA_F_LAZY;
	struct karena_stats st0, st;
	struct karena_vec v;
	long idx[1024], i;

	ASSERT_EQ(0, kt_stats(self->fd, &st0));
	shuffle(idx, n);
	for (i = 0; i < n; i++)
		kt_range(&self->r[i], pg(self, 2 * idx[i]), self->ps,
			 KARENA_OP_UNUSED, flags);
	ASSERT_EQ(0, vec(self, n, &v));
	EXPECT_EQ(n, v.done);
	EXPECT_EQ(n, v.pages);
	EXPECT_EQ(-1, FIRST_WRONG(self, i_ >= 2 * n || i_ % 2 ? Q_READY :
				  lazy ? Q_LAZY : Q_PREP));
	ASSERT_EQ(0, kt_stats(self->fd, &st));
	EXPECT_EQ((NPAGES - n) * self->ps, st.ready_bytes);
	EXPECT_EQ(n * self->ps, st.prepared_bytes);
	/* Lazily released pages are held, but not resident Ready pages. */
	EXPECT_EQ((NPAGES - n) * self->ps, st.resident_bytes);
	EXPECT_EQ(lazy ? n * self->ps : 0, st.lazy_bytes);
	EXPECT_EQ(n, st.transitions[KARENA_OP_UNUSED] -
		     st0.transitions[KARENA_OP_UNUSED]);
	EXPECT_EQ(st0.transition_errors, st.transition_errors);

	shuffle(idx, n);
	for (i = 0; i < n; i++)
		kt_range(&self->r[i], pg(self, 2 * idx[n - 1 - i]), self->ps,
			 KARENA_OP_USED, 0);
	ASSERT_EQ(0, vec(self, n, &v));
	EXPECT_EQ(n, v.done);
	EXPECT_EQ(-1, FIRST_WRONG(self, i_ >= 2 * n || i_ % 2 || lazy ?
				  Q_READY : KARENA_STATE_READY));
	ASSERT_EQ(0, kt_stats(self->fd, &st));
	EXPECT_EQ(0, st.lazy_bytes);
	for (i = 0; i < 2 * n; i++) {
		bool old_data = i % 2 || lazy;

		EXPECT_TRUE(old_data ? kt_page_ok(self->p, i, SEED) :
			    kt_first_nonzero(pg(self, i), self->ps) == -1)
			TH_LOG("page %ld", i);
	}
}

TEST_F(vecrun, scattered_unsorted_lazy)
{
	scattered(self, _metadata, KARENA_F_LAZY);
}

TEST_F(vecrun, scattered_unsorted_eager)
{
	scattered(self, _metadata, 0);
}

/*
 * A range that fails in the middle (the same page again, a page outside
 * the mapping): the ranges before it applied and counted, none after it.
 */
TEST_F(vecrun, bad_range_in_the_middle_stops_the_rest)
{
	unsigned int flags[2] = { KARENA_F_LAZY, 0 };
	struct karena_stats st0, st;
	struct karena_vec v;
	int k, bad;

	for (k = 0; k < 2; k++) {
		for (bad = 0; bad < 2; bad++) {
			long base = 16 * (2 * k + bad);
			bool lazy = flags[k];

			ASSERT_EQ(0, kt_stats(self->fd, &st0));
			kt_range(&self->r[0], pg(self, base + 4), self->ps,
				 KARENA_OP_UNUSED, flags[k]);
			kt_range(&self->r[1], pg(self, base), self->ps,
				 KARENA_OP_UNUSED, flags[k]);
			/* Page base + 4 again (Prepared now), or outside. */
			kt_range(&self->r[2], bad ? pg(self, NPAGES) :
				 pg(self, base + 4), self->ps,
				 KARENA_OP_UNUSED, flags[k]);
			kt_range(&self->r[3], pg(self, base + 2), self->ps,
				 KARENA_OP_UNUSED, flags[k]);
			EXPECT_EQ(EINVAL, vec(self, 4, &v));
			EXPECT_EQ(2, v.done);
			EXPECT_EQ(2, v.pages);
			EXPECT_EQ(-EINVAL, v.error);
			ASSERT_EQ(0, kt_stats(self->fd, &st));
			EXPECT_EQ(2, st.transitions[KARENA_OP_UNUSED] -
				     st0.transitions[KARENA_OP_UNUSED]);
			/* A range in no mapping is no space's error. */
			EXPECT_EQ(bad ? 0 : 1, st.transition_errors -
					       st0.transition_errors);
			EXPECT_EQ(2 * self->ps, st.prepared_bytes -
						st0.prepared_bytes);
			EXPECT_EQ(lazy ? 2 * self->ps : 0,
				  st.lazy_bytes - st0.lazy_bytes);
			EXPECT_EQ(2 * self->ps,
				  st0.resident_bytes - st.resident_bytes);
			EXPECT_EQ(lazy ? Q_LAZY : Q_PREP,
				  kt_state_of(self->fd, pg(self, base)) & Q_MASK);
			EXPECT_EQ(lazy ? Q_LAZY : Q_PREP,
				  kt_state_of(self->fd, pg(self, base + 4)) & Q_MASK);
			EXPECT_EQ(Q_READY,
				  kt_state_of(self->fd, pg(self, base + 2)) & Q_MASK);
		}
	}
}

/*
 * Fault erases an entry (its leaf node may go with it); the next range
 * lies in the same node.  Then whole nodes erased, and ranges that need
 * new slots (the staged path) among them.
 */
TEST_F(vecrun, ranges_next_to_erased_entries)
{
	struct karena_vec v;
	long i;

	for (i = 0; i < 256; i++)
		kt_range(&self->r[i], pg(self, i), self->ps,
			 i % 2 ? KARENA_OP_UNUSED : KARENA_OP_FAULT,
			 i % 2 ? KARENA_F_LAZY : 0);
	ASSERT_EQ(0, vec(self, 256, &v));
	EXPECT_EQ(256, v.done);
	EXPECT_EQ(-1, FIRST_WRONG(self, i_ >= 256 ? Q_READY :
				  i_ % 2 ? Q_LAZY : KARENA_STATE_RESERVED));
	/* Erase what is left of nodes 0-3, then fill some slots again. */
	for (i = 0; i < 128; i++)
		kt_range(&self->r[i], pg(self, 2 * i + 1), self->ps,
			 KARENA_OP_FAULT, 0);
	kt_range(&self->r[128], pg(self, 3), self->ps, KARENA_OP_MAP, 0);
	kt_range(&self->r[129], pg(self, 3), self->ps, KARENA_OP_USED, 0);
	kt_range(&self->r[130], pg(self, 70), 2 * self->ps, KARENA_OP_MAP, 0);
	kt_range(&self->r[131], pg(self, 256), self->ps, KARENA_OP_UNUSED,
		 KARENA_F_LAZY);
	ASSERT_EQ(0, vec(self, 132, &v));
	EXPECT_EQ(132, v.done);
	EXPECT_EQ(128 + 1 + 1 + 2 + 1, v.pages);
	EXPECT_EQ(-1, FIRST_WRONG(self, i_ == 3 ? KARENA_STATE_READY :
				  i_ == 70 || i_ == 71 ? Q_PREP :
				  i_ == 256 ? Q_LAZY :
				  i_ > 256 ? Q_READY : KARENA_STATE_RESERVED));
	EXPECT_EQ(-1, kt_first_nonzero(pg(self, 3), self->ps));
}

/*
 * More pages than one hold of the store lock covers (1024 ranges of two
 * pages), and ranges of two mappings of the file (one space) alternating.
 */
TEST_F(vecrun, long_vector_and_two_mappings)
{
	char *m2 = kt_mmap(self->fd, 64 * self->ps);
	struct karena_stats st;
	struct karena_vec v;
	long i;

	ASSERT_NE(MAP_FAILED, m2);
	for (i = 0; i < KARENA_VEC_MAX; i++)
		kt_range(&self->r[i], pg(self, 4 * i), 2 * self->ps,
			 KARENA_OP_UNUSED, KARENA_F_LAZY);
	ASSERT_EQ(0, vec(self, KARENA_VEC_MAX, &v));
	EXPECT_EQ(KARENA_VEC_MAX, v.done);
	EXPECT_EQ(2 * KARENA_VEC_MAX, v.pages);
	EXPECT_EQ(-1, FIRST_WRONG(self, i_ % 4 < 2 ? Q_LAZY : Q_READY));

	ASSERT_EQ(0, kt_trans(self->fd, m2, 64 * self->ps, KARENA_OP_ALLOC));
	memset(m2, 7, 64 * self->ps);
	for (i = 0; i < 64; i++)
		kt_range(&self->r[i], i % 2 ? m2 + i * self->ps :
			 pg(self, 4 * i + 2), self->ps, KARENA_OP_UNUSED,
			 KARENA_F_LAZY);
	ASSERT_EQ(0, vec(self, 64, &v));
	EXPECT_EQ(64, v.done);
	EXPECT_EQ(-1, FIRST_WRONG(self, i_ % 4 < 2 ||
				  (i_ < 256 && i_ % 8 == 2) ? Q_LAZY : Q_READY));
	for (i = 0; i < 64; i++)
		EXPECT_EQ(i % 2 ? Q_LAZY : Q_READY,
			  kt_state_of(self->fd, m2 + i * self->ps) & Q_MASK)
			TH_LOG("second mapping, page %ld", i);
	ASSERT_EQ(0, kt_stats(self->fd, &st));
	EXPECT_EQ((2 * KARENA_VEC_MAX + 32 + 32) * self->ps, st.lazy_bytes);
	munmap(m2, 64 * self->ps);
}

/*
 * Ranges of the staged path (POPULATE, Free dropping pages) between
 * direct ones: each applied in order, residency and STATS exact.
 */
TEST_F(vecrun, staged_and_direct_ranges_mixed)
{
	struct karena_stats st0, st;
	struct karena_vec v;

	ASSERT_EQ(0, kt_trans(self->fd, self->p, 8 * self->ps,
			      KARENA_OP_UNUSED));
	ASSERT_EQ(0, kt_stats(self->fd, &st0));
	kt_range(&self->r[0], pg(self, 0), self->ps, KARENA_OP_USED,
		 KARENA_F_POPULATE);
	kt_range(&self->r[1], pg(self, 8), self->ps, KARENA_OP_UNUSED,
		 KARENA_F_LAZY);
	kt_range(&self->r[2], pg(self, 1), self->ps, KARENA_OP_USED, 0);
	kt_range(&self->r[3], pg(self, 9), self->ps, KARENA_OP_FREE, 0);
	kt_range(&self->r[4], pg(self, 2), 2 * self->ps, KARENA_OP_USED,
		 KARENA_F_POPULATE);
	kt_range(&self->r[5], pg(self, 10), self->ps, KARENA_OP_UNUSED,
		 KARENA_F_LAZY);
	kt_range(&self->r[6], pg(self, 8), self->ps, KARENA_OP_USED, 0);
	ASSERT_EQ(0, vec(self, 7, &v));
	EXPECT_EQ(7, v.done);
	EXPECT_EQ(8, v.pages);
	EXPECT_EQ(-1, FIRST_WRONG(self,
				  i_ == 0 || i_ == 2 || i_ == 3 || i_ >= 11 ||
				  i_ == 8 ? Q_READY :
				  i_ == 1 ? KARENA_STATE_READY :
				  i_ == 9 ? KARENA_STATE_NONE :
				  i_ == 10 ? Q_LAZY : Q_PREP));
	ASSERT_EQ(0, kt_stats(self->fd, &st));
	/* +3 POPULATEd, -1 freed, -1 lazily released; page 8 came back. */
	EXPECT_EQ(st0.resident_bytes + self->ps, st.resident_bytes);
	EXPECT_EQ(self->ps, st.lazy_bytes);
	EXPECT_EQ(-1, kt_first_nonzero(self->p, 4 * self->ps));
	EXPECT_TRUE(kt_page_ok(self->p, 8, SEED));
}

/*
 * Lazy ranges of several pages, one across two leaf nodes: each is
 * checked whole before any page changes, so a range with a page that is
 * not Ready (its last) fails with all its pages as they were; the ranges
 * before it stay applied, the one after it is not looked at.
 */
TEST_F(vecrun, lazy_multi_page_range_all_or_nothing)
{
	struct karena_stats st0, st;
	struct karena_vec v;
	long i;

	ASSERT_EQ(0, kt_trans(self->fd, pg(self, 23), self->ps,
			      KARENA_OP_UNUSED));
	ASSERT_EQ(0, kt_stats(self->fd, &st0));
	kt_range(&self->r[0], pg(self, 0), 8 * self->ps, KARENA_OP_UNUSED,
		 KARENA_F_LAZY);
	kt_range(&self->r[1], pg(self, 60), 8 * self->ps, KARENA_OP_UNUSED,
		 KARENA_F_LAZY);
	kt_range(&self->r[2], pg(self, 16), 8 * self->ps, KARENA_OP_UNUSED,
		 KARENA_F_LAZY);
	kt_range(&self->r[3], pg(self, 24), 8 * self->ps, KARENA_OP_UNUSED,
		 KARENA_F_LAZY);
	EXPECT_EQ(EINVAL, vec(self, 4, &v));
	EXPECT_EQ(2, v.done);
	EXPECT_EQ(16, v.pages);
	EXPECT_EQ(-EINVAL, v.error);
	EXPECT_EQ(-1, FIRST_WRONG(self, i_ < 8 || (i_ >= 60 && i_ < 68) ?
				  Q_LAZY : i_ == 23 ? Q_PREP : Q_READY));
	ASSERT_EQ(0, kt_stats(self->fd, &st));
	EXPECT_EQ(16 * self->ps, st.lazy_bytes - st0.lazy_bytes);
	EXPECT_EQ(16 * self->ps, st0.resident_bytes - st.resident_bytes);
	EXPECT_EQ(16 * self->ps, st.prepared_bytes - st0.prepared_bytes);
	EXPECT_EQ(2, st.transitions[KARENA_OP_UNUSED] -
		     st0.transitions[KARENA_OP_UNUSED]);
	EXPECT_EQ(1, st.transition_errors - st0.transition_errors);
	/* Taken back with their contents. */
	kt_range(&self->r[0], pg(self, 0), 8 * self->ps, KARENA_OP_USED, 0);
	kt_range(&self->r[1], pg(self, 60), 8 * self->ps, KARENA_OP_USED, 0);
	ASSERT_EQ(0, vec(self, 2, &v));
	for (i = 0; i < 72; i++)
		EXPECT_TRUE(i == 23 || kt_page_ok(self->p, i, SEED))
			TH_LOG("page %ld", i);
}

/*
 * Single-page lazy ranges over pages a lazy Unused cannot simply keep,
 * among ones it can: a page still shared with a fork child (released
 * eagerly: the child keeps its contents), a Ready page never touched
 * (Prepared, no page) and a page with the HUGEPAGE hint (kept, hint
 * kept).
 */
TEST_F(vecrun, lazy_ranges_over_shared_untouched_and_hinted_pages)
{
	const unsigned char qh = Q_MASK | KARENA_PAGE_HUGE;
	struct karena_stats st0, st;
	struct karena_vec v;
	int go[2], i;
	pid_t pid;
	char c;

	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(10);
		/* The parent's release left the child's pages alone. */
		_exit(kt_check(self->p, 8, SEED) == -1 ? 0 : 11);
	}
	close(go[0]);
	/* Written after fork: the parent's own pages again, but page 5. */
	for (i = 0; i < 8; i++)
		if (i != 5)
			self->p[i * self->ps] = (char)(SEED + i);
	ASSERT_EQ(0, kt_trans(self->fd, pg(self, 1), self->ps,
			      KARENA_OP_HUGEPAGE));
	ASSERT_EQ(0, kt_trans(self->fd, pg(self, 3), self->ps,
			      KARENA_OP_FAULT));
	ASSERT_EQ(0, kt_trans(self->fd, pg(self, 3), self->ps,
			      KARENA_OP_ALLOC));
	ASSERT_EQ(0, kt_stats(self->fd, &st0));
	for (i = 0; i < 7; i++)
		kt_range(&self->r[i], pg(self, i), self->ps, KARENA_OP_UNUSED,
			 KARENA_F_LAZY);
	ASSERT_EQ(0, vec(self, 7, &v));
	EXPECT_EQ(7, v.done);
	for (i = 0; i < 7; i++)
		EXPECT_EQ(i == 1 ? Q_LAZY | KARENA_PAGE_HUGE :
			  i == 3 || i == 5 ? Q_PREP : Q_LAZY,
			  kt_state_of(self->fd, pg(self, i)) & qh)
			TH_LOG("page %d", i);
	ASSERT_EQ(0, kt_stats(self->fd, &st));
	EXPECT_EQ(5 * self->ps, st.lazy_bytes - st0.lazy_bytes);
	/* 5 kept and 1 dropped are no longer resident Ready pages. */
	EXPECT_EQ(6 * self->ps, st0.resident_bytes - st.resident_bytes);
	ASSERT_EQ(1, write(go[1], "g", 1));
	close(go[1]);
	EXPECT_EQ(0, kt_wait(pid));
}

/*
 * Bad ranges in a vector of lazy ranges: a reserved field, an unknown
 * flag, a zero length each stop it there (the ranges before applied); an
 * array whose end cannot be read fails whole with EFAULT, also when a
 * bad range comes before the unreadable one: nothing is applied.
 */
TEST_F(vecrun, bad_fields_and_unreadable_tail)
{
	char *two = mmap(NULL, 2 * self->ps, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct karena_range *r;
	struct karena_vec v;
	int k;

	for (k = 0; k < 3; k++) {
		long base = 8 * k;

		kt_range(&self->r[0], pg(self, base), self->ps,
			 KARENA_OP_UNUSED, KARENA_F_LAZY);
		kt_range(&self->r[1], pg(self, base + 2), self->ps,
			 KARENA_OP_UNUSED, KARENA_F_LAZY);
		kt_range(&self->r[2], pg(self, base + 4), self->ps,
			 KARENA_OP_UNUSED, KARENA_F_LAZY);
		kt_range(&self->r[3], pg(self, base + 6), self->ps,
			 KARENA_OP_UNUSED, KARENA_F_LAZY);
		if (k == 0)
			self->r[2].reserved = 1;
		else if (k == 1)
			self->r[2].flags |= 1U << 7;
		else
			self->r[2].len = 0;
		EXPECT_EQ(EINVAL, vec(self, 4, &v));
		EXPECT_EQ(2, v.done);
		EXPECT_EQ(2, v.pages);
		EXPECT_EQ(-EINVAL, v.error);
	}
	EXPECT_EQ(-1, FIRST_WRONG(self, i_ < 24 && i_ % 8 < 4 && !(i_ % 2) ?
				  Q_LAZY : Q_READY));

	ASSERT_NE(MAP_FAILED, two);
	ASSERT_EQ(0, munmap(two + self->ps, self->ps));
	r = (struct karena_range *)(two + self->ps) - 2;
	kt_range(&r[0], pg(self, 100), self->ps, KARENA_OP_UNUSED,
		 KARENA_F_LAZY);
	kt_range(&r[1], pg(self, 102), self->ps, KARENA_OP_UNUSED,
		 KARENA_F_LAZY);
	r[1].reserved = 1;
	EXPECT_EQ(EFAULT, kt_vec(self->fd, r, 3, &v));
	EXPECT_EQ(0, v.done);
	EXPECT_EQ(0, v.pages);
	EXPECT_EQ(Q_READY, kt_state_of(self->fd, pg(self, 100)) & Q_MASK);
	munmap(two, self->ps);
}

TEST_HARNESS_MAIN
