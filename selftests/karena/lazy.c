// SPDX-License-Identifier: GPL-2.0
/*
 * karena lazy release selftests: KARENA_OP_UNUSED with KARENA_F_LAZY
 * (kmod/lazy.c, the uapi header's "Lazy release").
 *
 * - a lazy Unused keeps the pages: QUERY shows them Prepared, RESIDENT
 *   and LAZY; a Used takes the same physical page back (pagemap PFN) with
 *   its old contents and without a fault (STATS faults unchanged);
 * - reclaim (drop_caches runs the shrinker) turns them into plain
 *   Prepared entries: the next Used reads zeros, a fault each page;
 * - strict mode: an eager Unused still raises SIGSEGV on touch; a lazily
 *   released page is readable through the PTE kept from before the
 *   release, and raises SIGSEGV once reclaimed (no PTE, Prepared);
 * - the flag in a vector, bad input (LAZY on other ops), memcg at its
 *   limit (lazy pages are reclaimed, no OOM kill), fork (the child gets
 *   the pages Prepared without contents, the parent keeps them), and the
 *   global counters lazy_pages / pages_allocated back to where they were.
 *
 * The tests use drop_caches and cgroups: they need root, as the guest has.
 */
#include <sched.h>

#include "kselftest_harness.h"
#include "karena_test.h"
#include "kt_cgroup.h"

#define SYSFS		"/sys/kernel/karena/"
#define NPAGES		64
#define SEED		0x3c

/* One page in QUERY's terms: the state and the flags the tests look at. */
#define Q_LAZY		(KARENA_STATE_PREPARED | KARENA_PAGE_RESIDENT | \
			 KARENA_PAGE_LAZY)
#define Q_MASK		(KARENA_STATE_MASK | KARENA_PAGE_RESIDENT | \
			 KARENA_PAGE_LAZY)

/* Number of pages of [p, p + n pages) whose QUERY byte is @want (masked). */
static long q_count(int fd, const void *p, size_t n, unsigned char want)
{
	unsigned char vec[NPAGES * 4];
	long c = 0;
	size_t i;

	if (n > sizeof(vec) || kt_query(fd, p, n * kt_ps(), vec))
		return -1;
	for (i = 0; i < n; i++)
		c += (vec[i] & Q_MASK) == want;
	return c;
}

/* The PFN backing @p now (root: /proc/self/pagemap), 0 if none. */
static uint64_t pfn_of(const void *p)
{
	uint64_t e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		return 0;
	if (pread(fd, &e, 8, (uintptr_t)p / kt_ps() * 8) != 8)
		e = 0;
	close(fd);
	return (e >> 63) ? e & ((1ULL << 55) - 1) : 0;
}

static long long counter(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), SYSFS "%s", name);
	return kt_read_num(path);
}

/* Global reclaim: drop_caches runs every shrinker, karena's too. */
static int drop_caches(void)
{
	return write_file("/proc/sys/vm/drop_caches", "3");
}

FIXTURE(lazy) {
	int fd;
	long ps;
	size_t len;
	char *p;
};

FIXTURE_SETUP(lazy)
{
	self->ps = kt_ps();
	self->len = NPAGES * self->ps;
	KT_OPEN_OR_SKIP(self->fd);
	if (geteuid())
		KT_SKIP_SETUP("needs root (drop_caches, pagemap)");
	ASSERT_EQ(0, kt_config(self->fd, 0, NULL));	/* strict */
	self->p = kt_mmap(self->fd, self->len);
	ASSERT_NE(MAP_FAILED, self->p);
	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->len, KARENA_OP_MAP));
	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->len, KARENA_OP_USED));
	kt_fill(self->p, NPAGES, SEED);
}

FIXTURE_TEARDOWN(lazy)
{
	if (self->p && self->p != MAP_FAILED)
		munmap(self->p, self->len);
	close(self->fd);
}

TEST_F(lazy, feature_advertised)
{
	struct karena_info info;

	ASSERT_EQ(0, kt_info(self->fd, &info));
	EXPECT_TRUE(info.features & KARENA_FEAT_LAZY);
}

TEST_F(lazy, used_takes_same_page_back_without_fault)
{
	struct karena_stats st;
	uint64_t pfn = pfn_of(self->p), faults;

	ASSERT_NE(0, pfn);
	ASSERT_EQ(0, kt_stats(self->fd, &st));
	faults = st.faults;
	ASSERT_EQ(0, kt_trans_f(self->fd, self->p, self->len,
				KARENA_OP_UNUSED, KARENA_F_LAZY));
	EXPECT_EQ(NPAGES, q_count(self->fd, self->p, NPAGES, Q_LAZY));
	ASSERT_EQ(0, kt_stats(self->fd, &st));
	EXPECT_EQ(self->len, st.lazy_bytes);
	EXPECT_EQ(self->len, st.prepared_bytes);
	EXPECT_EQ(0, st.resident_bytes);

	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->len, KARENA_OP_USED));
	EXPECT_EQ(NPAGES, q_count(self->fd, self->p, NPAGES,
				  KARENA_STATE_READY | KARENA_PAGE_RESIDENT));
	EXPECT_EQ(-1, kt_check(self->p, NPAGES, SEED));	/* old contents */
	EXPECT_EQ(pfn, pfn_of(self->p));
	ASSERT_EQ(0, kt_stats(self->fd, &st));
	EXPECT_EQ(faults, st.faults);
	EXPECT_EQ(0, st.lazy_bytes);
	EXPECT_EQ(self->len, st.resident_bytes);
}

TEST_F(lazy, reclaimed_by_shrinker_then_used_reads_zero)
{
	struct karena_stats st;
	uint64_t faults;

	ASSERT_EQ(0, kt_trans_f(self->fd, self->p, self->len,
				KARENA_OP_UNUSED, KARENA_F_LAZY));
	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(NPAGES, q_count(self->fd, self->p, NPAGES,
				  KARENA_STATE_PREPARED));
	ASSERT_EQ(0, kt_stats(self->fd, &st));
	EXPECT_EQ(0, st.lazy_bytes);
	EXPECT_EQ(NPAGES, st.lazy_reclaimed);
	faults = st.faults;
	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->len, KARENA_OP_USED));
	EXPECT_EQ(-1, kt_first_nonzero(self->p, self->len));
	ASSERT_EQ(0, kt_stats(self->fd, &st));
	EXPECT_EQ(faults + NPAGES, st.faults);
}

TEST_F(lazy, strict_eager_unused_still_sigsegv)
{
	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->len,
			      KARENA_OP_UNUSED));
	EXPECT_EQ(SIGSEGV, kt_probe_read(self->p, NULL));
	EXPECT_EQ(SIGSEGV, kt_probe_write(self->p + self->ps, 1));
}

TEST_F(lazy, strict_lazy_readable_until_reclaimed)
{
	char c = 0;

	ASSERT_EQ(0, kt_trans_f(self->fd, self->p, self->len,
				KARENA_OP_UNUSED, KARENA_F_LAZY));
	/* The PTE from before the release still maps the old page. */
	EXPECT_EQ(0, kt_probe_read(self->p, &c));
	EXPECT_EQ((char)SEED, c);
	EXPECT_EQ(-1, kt_check(self->p, NPAGES, SEED));
	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(SIGSEGV, kt_probe_read(self->p, NULL));
	EXPECT_EQ(SIGSEGV, kt_probe_write(self->p + self->ps, 1));
}

TEST_F(lazy, strict_lazy_fault_sigsegv_lenient_maps_old_page)
{
	char c = 0;

	ASSERT_EQ(0, kt_trans_f(self->fd, self->p, self->len,
				KARENA_OP_UNUSED, KARENA_F_LAZY));
	/* No PTE: the touch faults, and the page is Prepared. */
	ASSERT_EQ(0, madvise(self->p, self->len, MADV_DONTNEED));
	EXPECT_EQ(SIGSEGV, kt_probe_read(self->p, NULL));
	ASSERT_EQ(0, kt_config(self->fd, KARENA_CFG_LENIENT, NULL));
	EXPECT_EQ(0, kt_probe_read(self->p, &c));
	EXPECT_EQ((char)SEED, c);
	EXPECT_EQ(NPAGES, q_count(self->fd, self->p, NPAGES, Q_LAZY));
}

TEST_F(lazy, vector_of_scattered_ranges)
{
	struct karena_range r[NPAGES / 2];
	struct karena_stats st;
	struct karena_vec v;
	unsigned int i;

	for (i = 0; i < NPAGES / 2; i++)
		kt_range(&r[i], self->p + 2 * i * self->ps, self->ps,
			 KARENA_OP_UNUSED, KARENA_F_LAZY);
	ASSERT_EQ(0, kt_vec(self->fd, r, NPAGES / 2, &v));
	EXPECT_EQ(NPAGES / 2, v.done);
	EXPECT_EQ(NPAGES / 2, q_count(self->fd, self->p, NPAGES, Q_LAZY));
	ASSERT_EQ(0, kt_stats(self->fd, &st));
	EXPECT_EQ(self->len / 2, st.lazy_bytes);
	/* Still-present pages come back as they were. */
	for (i = 0; i < NPAGES / 2; i++)
		r[i].op = KARENA_OP_USED, r[i].flags = 0;
	ASSERT_EQ(0, kt_vec(self->fd, r, NPAGES / 2, NULL));
	EXPECT_EQ(-1, kt_check(self->p, NPAGES, SEED));
}

TEST_F(lazy, bad_input)
{
	static const unsigned int ops[] = {
		KARENA_OP_MAP, KARENA_OP_USED, KARENA_OP_FAULT,
		KARENA_OP_FREE, KARENA_OP_ALLOC, KARENA_OP_HUGEPAGE,
		KARENA_OP_NOHUGEPAGE, KARENA_OP_RESERVE,
	};
	struct karena_range r[2];
	struct karena_vec v;
	unsigned int i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		EXPECT_EQ(EINVAL, kt_trans_f(self->fd, self->p, self->len,
					     ops[i], KARENA_F_LAZY))
			TH_LOG("op %u", ops[i]);
	EXPECT_EQ(NPAGES, q_count(self->fd, self->p, NPAGES,
				  KARENA_STATE_READY | KARENA_PAGE_RESIDENT));
	/* A vector stops at the range that has it on another op. */
	kt_range(&r[0], self->p, self->ps, KARENA_OP_UNUSED, KARENA_F_LAZY);
	kt_range(&r[1], self->p + self->ps, self->ps, KARENA_OP_FAULT,
		 KARENA_F_LAZY);
	EXPECT_EQ(EINVAL, kt_vec(self->fd, r, 2, &v));
	EXPECT_EQ(1, v.done);
	/* Released twice: the page is Prepared, Unused needs Ready. */
	EXPECT_EQ(EINVAL, kt_trans_f(self->fd, self->p, self->ps,
				     KARENA_OP_UNUSED, KARENA_F_LAZY));
	EXPECT_EQ(1, q_count(self->fd, self->p, NPAGES, Q_LAZY));
}

TEST_F(lazy, fault_and_free_drop_lazy_pages)
{
	long long before = counter("lazy_pages");
	struct karena_stats st;

	ASSERT_EQ(0, kt_trans_f(self->fd, self->p, self->len,
				KARENA_OP_UNUSED, KARENA_F_LAZY));
	EXPECT_EQ(before + NPAGES, counter("lazy_pages"));
	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->len / 2,
			      KARENA_OP_FAULT));
	ASSERT_EQ(0, kt_trans(self->fd, self->p + self->len / 2,
			      self->len / 2, KARENA_OP_FREE));
	ASSERT_EQ(0, kt_stats(self->fd, &st));
	EXPECT_EQ(0, st.lazy_bytes);
	EXPECT_EQ(before, counter("lazy_pages"));
	EXPECT_EQ(SIGSEGV, kt_probe_read(self->p, NULL));
}

TEST_F(lazy, counters_return_to_zero_at_munmap_and_close)
{
	long long lazy0 = counter("lazy_pages");
	long long held0;

	ASSERT_EQ(0, kt_trans_f(self->fd, self->p, self->len,
				KARENA_OP_UNUSED, KARENA_F_LAZY));
	held0 = counter("pages_allocated");
	EXPECT_EQ(lazy0 + NPAGES, counter("lazy_pages"));
	ASSERT_EQ(0, munmap(self->p, self->len));
	self->p = NULL;
	EXPECT_EQ(lazy0, counter("lazy_pages"));
	EXPECT_EQ(held0 - NPAGES, counter("pages_allocated"));
}

/*
 * Fork: the parent's PTEs are zapped; the child gets the lazily released
 * pages Prepared without a page (Used there reads zeros); the parent
 * keeps its pages and a Used gets the old contents back.
 */
TEST_F(lazy, fork_child_gets_prepared_parent_keeps_pages)
{
	pid_t pid;

	ASSERT_EQ(0, kt_trans_f(self->fd, self->p, self->len,
				KARENA_OP_UNUSED, KARENA_F_LAZY));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (q_count(self->fd, self->p, NPAGES,
			    KARENA_STATE_PREPARED) != NPAGES)
			_exit(10);
		if (kt_trans(self->fd, self->p, self->len, KARENA_OP_USED))
			_exit(11);
		_exit(kt_first_nonzero(self->p, self->len) == -1 ? 0 : 12);
	}
	EXPECT_EQ(0, kt_wait(pid));
	EXPECT_EQ(NPAGES, q_count(self->fd, self->p, NPAGES, Q_LAZY));
	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->len, KARENA_OP_USED));
	EXPECT_EQ(-1, kt_check(self->p, NPAGES, SEED));
}

/*
 * memcg at its limit: a child in a cgroup with memory.max = 8 MiB touches
 * 6 MiB, releases it lazily and touches another 6 MiB.  Memcg reclaim
 * must take the lazily released pages (the shrinker, memcg-aware) rather
 * than OOM-kill the child.
 */
#define CG_MAX		(8LL << 20)
#define CG_TOUCH	(6LL << 20)

static void __attribute__((noreturn)) memcg_child(const char *cg)
{
	struct karena_stats st;
	long ps = kt_ps();
	char *p;
	long i;
	int fd;

	p = cg_child_map(cg, 2 * CG_TOUCH, &fd);
	if (kt_trans(fd, p, 2 * CG_TOUCH, KARENA_OP_ALLOC))
		_exit(13);
	for (i = 0; i < CG_TOUCH; i += ps)
		p[i] = 1;
	if (kt_trans_f(fd, p, CG_TOUCH, KARENA_OP_UNUSED, KARENA_F_LAZY))
		_exit(14);
	for (i = CG_TOUCH; i < 2 * CG_TOUCH; i += ps)
		p[i] = 1;
	if (kt_stats(fd, &st) || !st.lazy_reclaimed)
		_exit(15);
	_exit(0);
}

TEST_F_TIMEOUT(lazy, memcg_limit_reclaims_lazy_pages_not_oom, 90)
{
	char cg[96], max[32];
	const char *why = cg_make(cg, sizeof(cg), "lazy");
	int status;
	pid_t pid;

	if (why)
		SKIP(return, "%s", why);
	snprintf(max, sizeof(max), "%lld", CG_MAX);
	ASSERT_EQ(0, cg_write(cg, "memory.max", max));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		memcg_child(cg);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status))
		TH_LOG("child killed by signal %d", WTERMSIG(status));
	if (WIFEXITED(status))
		EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(0, cg_event(cg, "oom_kill"));
	EXPECT_EQ(0, cg_remove(cg));
}

TEST_HARNESS_MAIN
