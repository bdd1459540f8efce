// SPDX-License-Identifier: GPL-2.0
/*
 * karena lifecycle selftests: fork gives private copy-on-write views in
 * both directions, munmap/close/exit in any order, memcg charging, and
 * the module-wide counters returning to zero when everything is gone.
 * Concurrent use is in concurrency.c.
 */

#include "kselftest_harness.h"
#include "karena_test.h"
#include "kt_cgroup.h"

#define NPAGES	64
#define SEED	0x3c
#define SYSFS	"/sys/kernel/karena/"

FIXTURE(lifecycle) {
	int fd;
	long ps;
	size_t len;
	char *p;
};

FIXTURE_SETUP(lifecycle)
{
	self->ps = kt_ps();
	self->len = NPAGES * self->ps;
	KT_OPEN_OR_SKIP(self->fd);
	self->p = kt_mmap(self->fd, self->len);
	ASSERT_NE(MAP_FAILED, self->p) TH_LOG("mmap: %s", strerror(errno));
	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->len, KARENA_OP_ALLOC));
	kt_fill(self->p, NPAGES, SEED);
}

FIXTURE_TEARDOWN(lifecycle)
{
	if (self->p && self->p != MAP_FAILED)
		munmap(self->p, self->len);
	if (self->fd >= 0)
		close(self->fd);
}

/* A tiny two-pipe handshake between parent and child. */
struct sync2 {
	int to_child[2];
	int to_parent[2];
};

static int sync2_init(struct sync2 *s)
{
	return pipe(s->to_child) || pipe(s->to_parent) ? -1 : 0;
}

static void sync2_post(int fd)
{
	char c = 1;

	if (write(fd, &c, 1) != 1)
		_exit(99);
}

static void sync2_wait(int fd)
{
	char c;

	if (read(fd, &c, 1) != 1)
		_exit(98);
}

/* ------------------------------------------------------------------ */
/* fork */

TEST_F(lifecycle, fork_child_sees_parent_data)
{
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (kt_first_not(self->fd, self->p, NPAGES, KARENA_STATE_READY) != -1)
			_exit(1);
		if (kt_check(self->p, NPAGES, SEED) != -1)
			_exit(2);
		_exit(0);
	}
	EXPECT_EQ(0, kt_wait(pid)) TH_LOG("1: state, 2: data");
}

TEST_F(lifecycle, fork_child_writes_invisible_to_parent)
{
	struct sync2 s;
	pid_t pid;

	ASSERT_EQ(0, sync2_init(&s));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		kt_fill(self->p, NPAGES, SEED + 1);
		sync2_post(s.to_parent[1]);
		sync2_wait(s.to_child[0]);
		/* Still our own data after the parent looked. */
		_exit(kt_check(self->p, NPAGES, SEED + 1) == -1 ? 0 : 1);
	}
	sync2_wait(s.to_parent[0]);
	EXPECT_EQ(-1, kt_check(self->p, NPAGES, SEED));
	sync2_post(s.to_child[1]);
	EXPECT_EQ(0, kt_wait(pid));
	EXPECT_EQ(-1, kt_check(self->p, NPAGES, SEED));
}

TEST_F(lifecycle, fork_parent_writes_invisible_to_child)
{
	struct sync2 s;
	pid_t pid;

	ASSERT_EQ(0, sync2_init(&s));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		sync2_wait(s.to_child[0]);
		_exit(kt_check(self->p, NPAGES, SEED) == -1 ? 0 : 1);
	}
	kt_fill(self->p, NPAGES, SEED + 2);
	sync2_post(s.to_child[1]);
	EXPECT_EQ(0, kt_wait(pid)) TH_LOG("child saw the parent's writes");
	EXPECT_EQ(-1, kt_check(self->p, NPAGES, SEED + 2));
}

TEST_F(lifecycle, fork_both_write_interleaved_pages)
{
	const size_t n = 256;
	char *q = kt_mmap(self->fd, n * self->ps);
	struct sync2 s;
	size_t i;
	pid_t pid;

	ASSERT_NE(MAP_FAILED, q);
	ASSERT_EQ(0, kt_trans(self->fd, q, n * self->ps, KARENA_OP_ALLOC));
	for (i = 0; i < n; i++)
		q[i * self->ps] = 'b';	/* before fork */
	ASSERT_EQ(0, sync2_init(&s));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		for (i = 1; i < n; i += 2)
			q[i * self->ps] = 'c';
		sync2_post(s.to_parent[1]);
		sync2_wait(s.to_child[0]);
		for (i = 0; i < n; i++)
			if (q[i * self->ps] != (i % 2 ? 'c' : 'b'))
				_exit(1);
		_exit(0);
	}
	for (i = 0; i < n; i += 2)
		q[i * self->ps] = 'p';
	sync2_wait(s.to_parent[0]);
	sync2_post(s.to_child[1]);
	EXPECT_EQ(0, kt_wait(pid)) TH_LOG("child saw a parent write");
	for (i = 0; i < n; i++)
		if (q[i * self->ps] != (i % 2 ? 'b' : 'p'))
			break;
	EXPECT_EQ(n, i) TH_LOG("page %zu: parent saw %c", i, q[i * self->ps]);
	munmap(q, n * self->ps);
}

TEST_F(lifecycle, fork_child_transitions_do_not_touch_parent)
{
	struct sync2 s;
	pid_t pid;

	ASSERT_EQ(0, sync2_init(&s));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (kt_trans(self->fd, self->p, 16 * self->ps, KARENA_OP_UNUSED))
			_exit(1);
		if (kt_trans(self->fd, self->p + 16 * self->ps, 16 * self->ps,
			     KARENA_OP_FAULT))
			_exit(2);
		if (kt_trans(self->fd, self->p + 32 * self->ps, 32 * self->ps,
			     KARENA_OP_FREE))
			_exit(3);
		if (kt_first_not(self->fd, self->p, 16, KARENA_STATE_PREPARED) != -1)
			_exit(4);
		sync2_post(s.to_parent[1]);
		sync2_wait(s.to_child[0]);
		_exit(0);
	}
	sync2_wait(s.to_parent[0]);
	/* While the child lives, and after. */
	EXPECT_EQ(-1, kt_first_not(self->fd, self->p, NPAGES, KARENA_STATE_READY));
	EXPECT_EQ(-1, kt_check(self->p, NPAGES, SEED));
	sync2_post(s.to_child[1]);
	EXPECT_EQ(0, kt_wait(pid));
	EXPECT_EQ(-1, kt_first_not(self->fd, self->p, NPAGES, KARENA_STATE_READY));
	EXPECT_EQ(-1, kt_check(self->p, NPAGES, SEED));
}

TEST_F(lifecycle, fork_parent_transitions_do_not_touch_child)
{
	struct sync2 s;
	pid_t pid;

	ASSERT_EQ(0, sync2_init(&s));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		sync2_wait(s.to_child[0]);
		if (kt_first_not(self->fd, self->p, NPAGES, KARENA_STATE_READY) != -1)
			_exit(1);
		_exit(kt_check(self->p, NPAGES, SEED) == -1 ? 0 : 2);
	}
	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->len, KARENA_OP_UNUSED));
	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->len, KARENA_OP_FREE));
	sync2_post(s.to_child[1]);
	EXPECT_EQ(0, kt_wait(pid)) TH_LOG("1: state, 2: data");
}

TEST_F(lifecycle, fork_child_stats_are_its_own)
{
	struct karena_stats pst, cst_expect;
	pid_t pid;

	ASSERT_EQ(0, kt_stats(self->fd, &pst));
	cst_expect = pst;
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct karena_stats st;

		if (kt_stats(self->fd, &st))
			_exit(1);
		if (st.ready_bytes != self->len)
			_exit(2);
		if (kt_trans(self->fd, self->p, self->len, KARENA_OP_FREE))
			_exit(3);
		if (kt_stats(self->fd, &st) || st.ready_bytes != 0)
			_exit(4);
		_exit(0);
	}
	EXPECT_EQ(0, kt_wait(pid));
	ASSERT_EQ(0, kt_stats(self->fd, &pst));
	EXPECT_EQ(cst_expect.ready_bytes, pst.ready_bytes);
	EXPECT_EQ(self->len, pst.ready_bytes);
}

TEST_F(lifecycle, fork_exec_child_leaves_parent_intact)
{
	long long base = -1;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	EXPECT_EQ(0, kt_wait(pid));
	EXPECT_EQ(-1, kt_first_not(self->fd, self->p, NPAGES, KARENA_STATE_READY));
	EXPECT_EQ(-1, kt_check(self->p, NPAGES, SEED));
	/* The parent is the only user again: writing copies nothing ... */
	kt_fill(self->p, NPAGES, SEED + 3);
	EXPECT_EQ(-1, kt_check(self->p, NPAGES, SEED + 3));
	/* ... and unmapping gives every page back. */
	base = kt_read_num("/sys/kernel/karena/pages_allocated");
	ASSERT_LE(NPAGES, base);
	ASSERT_EQ(0, munmap(self->p, self->len));
	self->p = NULL;
	EXPECT_EQ(base - NPAGES, kt_read_num("/sys/kernel/karena/pages_allocated"));
}

TEST_F(lifecycle, fork_three_generations)
{
	pid_t pid;
	int i;

	/* parent -> child -> grandchild: each sees the view at its fork and
	 * only its own writes after it. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		pid_t gpid;
		int st;

		kt_fill(self->p, NPAGES / 2, SEED + 1);	/* first half */
		gpid = fork();
		if (gpid < 0)
			_exit(10);
		if (gpid == 0) {
			if (kt_check(self->p, NPAGES / 2, SEED + 1) != -1)
				_exit(1);
			if (!kt_page_ok(self->p, NPAGES - 1, SEED))
				_exit(2);
			kt_fill(self->p, NPAGES, SEED + 2);
			_exit(kt_check(self->p, NPAGES, SEED + 2) == -1 ? 0 : 3);
		}
		kt_fill(self->p + NPAGES / 2 * kt_ps(), NPAGES / 2, SEED + 4);
		st = kt_wait(gpid);
		if (st)
			_exit(20 + st);
		if (kt_check(self->p, NPAGES / 2, SEED + 1) != -1)
			_exit(11);
		if (kt_check(self->p + NPAGES / 2 * kt_ps(), NPAGES / 2, SEED + 4) != -1)
			_exit(12);
		_exit(0);
	}
	kt_fill(self->p, NPAGES / 4, SEED + 5);
	EXPECT_EQ(0, kt_wait(pid)) TH_LOG("1-3 grandchild, 11-12 child, 20+ grandchild status");
	EXPECT_EQ(-1, kt_check(self->p, NPAGES / 4, SEED + 5));
	for (i = NPAGES / 4; i < NPAGES; i++)
		EXPECT_TRUE(kt_page_ok(self->p, i, SEED)) TH_LOG("page %d", i);
}

TEST_F(lifecycle, fork_after_close_keeps_mapping_private)
{
	pid_t pid;

	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (kt_check(self->p, NPAGES, SEED) != -1)
			_exit(1);
		kt_fill(self->p, NPAGES, SEED + 5);
		_exit(0);
	}
	EXPECT_EQ(0, kt_wait(pid));
	EXPECT_EQ(-1, kt_check(self->p, NPAGES, SEED));
}

TEST_F(lifecycle, child_keeps_data_after_parent_unmaps)
{
	struct sync2 s;
	pid_t pid;

	ASSERT_EQ(0, sync2_init(&s));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		sync2_wait(s.to_child[0]);
		_exit(kt_check(self->p, NPAGES, SEED) == -1 ? 0 : 1);
	}
	ASSERT_EQ(0, munmap(self->p, self->len));
	self->p = NULL;
	sync2_post(s.to_child[1]);
	EXPECT_EQ(0, kt_wait(pid));
}

/* ------------------------------------------------------------------ */
/* munmap, close, exit */

TEST_F(lifecycle, munmap_whole_then_range_einval)
{
	struct karena_stats st;
	unsigned char vec[NPAGES];

	ASSERT_EQ(0, munmap(self->p, self->len));
	EXPECT_EQ(EINVAL, kt_trans(self->fd, self->p, self->len, KARENA_OP_FREE));
	EXPECT_EQ(EINVAL, kt_query(self->fd, self->p, self->len, vec));
	ASSERT_EQ(0, kt_stats(self->fd, &st));
	EXPECT_EQ(0, st.reserved_bytes + st.prepared_bytes + st.ready_bytes);
	EXPECT_EQ(0, st.resident_bytes);
	self->p = NULL;
}

TEST_F(lifecycle, munmap_partial_then_remainder_works)
{
	char *hole = self->p + 16 * self->ps;
	struct karena_stats st;
	int i;

	ASSERT_EQ(0, munmap(hole, 16 * self->ps));
	/* The head and the tail are two mappings now. */
	EXPECT_EQ(-1, kt_first_not(self->fd, self->p, 16, KARENA_STATE_READY));
	EXPECT_EQ(-1, kt_first_not(self->fd, hole + 16 * self->ps, 32, KARENA_STATE_READY));
	for (i = 0; i < NPAGES; i++)
		if (i < 16 || i >= 32)
			EXPECT_TRUE(kt_page_ok(self->p, i, SEED)) TH_LOG("page %d", i);
	EXPECT_EQ(EINVAL, kt_trans(self->fd, hole, self->ps, KARENA_OP_FREE));
	EXPECT_EQ(EINVAL, kt_trans(self->fd, self->p, 32 * self->ps, KARENA_OP_UNUSED));
	ASSERT_EQ(0, kt_trans(self->fd, self->p, 16 * self->ps, KARENA_OP_UNUSED));
	ASSERT_EQ(0, kt_trans(self->fd, hole + 16 * self->ps, 32 * self->ps,
			      KARENA_OP_FAULT));
	ASSERT_EQ(0, kt_stats(self->fd, &st));
	EXPECT_EQ(32 * self->ps, st.reserved_bytes);
	EXPECT_EQ(16 * self->ps, st.prepared_bytes);
	EXPECT_EQ(0, st.ready_bytes);
	EXPECT_EQ(0, st.resident_bytes);
	ASSERT_EQ(0, kt_trans(self->fd, self->p, 16 * self->ps, KARENA_OP_USED));
	EXPECT_EQ(-1, kt_first_nonzero(self->p, 16 * self->ps));
	munmap(self->p, 16 * self->ps);
	munmap(hole + 16 * self->ps, 32 * self->ps);
	self->p = NULL;
}

TEST_F(lifecycle, mremap_shrink_keeps_the_head)
{
	struct karena_stats st;
	void *q;

	q = mremap(self->p, self->len, 16 * self->ps, 0);
	ASSERT_EQ(self->p, q) TH_LOG("mremap shrink: %s", strerror(errno));
	EXPECT_EQ(-1, kt_check(self->p, 16, SEED));
	EXPECT_EQ(-1, kt_first_not(self->fd, self->p, 16, KARENA_STATE_READY));
	EXPECT_EQ(EINVAL, kt_trans(self->fd, self->p + 16 * self->ps, self->ps,
				   KARENA_OP_FREE));
	ASSERT_EQ(0, kt_stats(self->fd, &st));
	EXPECT_EQ(16 * self->ps, st.ready_bytes);
	EXPECT_EQ(16 * self->ps, st.resident_bytes);
	munmap(self->p, 16 * self->ps);
	self->p = NULL;
}

TEST_F(lifecycle, close_before_munmap_mapping_still_works)
{
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	EXPECT_EQ(-1, kt_check(self->p, NPAGES, SEED));
	kt_fill(self->p, NPAGES, SEED + 7);
	EXPECT_EQ(-1, kt_check(self->p, NPAGES, SEED + 7));
	EXPECT_EQ(0, munmap(self->p, self->len));
	self->p = NULL;
}

TEST_F(lifecycle, close_before_munmap_reserved_still_faults)
{
	char *q = kt_mmap(self->fd, 4 * self->ps);

	ASSERT_NE(MAP_FAILED, q);
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	EXPECT_EQ(SIGSEGV, kt_probe_read(q, NULL));
	EXPECT_EQ(SIGSEGV, kt_probe_write(q + 3 * self->ps, 1));
	munmap(q, 4 * self->ps);
}

TEST_F(lifecycle, exit_with_everything_open)
{
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd = kt_open();
		char *q;

		if (fd < 0)
			_exit(1);
		q = kt_mmap(fd, 128 * self->ps);
		if (q == MAP_FAILED)
			_exit(2);
		if (kt_trans(fd, q, 128 * self->ps, KARENA_OP_ALLOC))
			_exit(3);
		memset(q, 1, 128 * self->ps);
		if (kt_trans(fd, q, 16 * self->ps, KARENA_OP_UNUSED))
			_exit(4);
		_exit(0);	/* no munmap, no close */
	}
	EXPECT_EQ(0, kt_wait(pid));
	/* The parent's own arena is untouched by all that. */
	EXPECT_EQ(-1, kt_check(self->p, NPAGES, SEED));
}

/* ------------------------------------------------------------------ */
/* memcg */

TEST_F(lifecycle, memcg_charged_for_touched_pages)
{
	const long n = 4096;	/* 16 MiB with 4 KiB pages */
	const char *why;
	char cg[128];
	pid_t pid;

	why = cg_make(cg, sizeof(cg), "kt");
	if (why)
		SKIP(return, "%s", why);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		long long before, after;
		int fd = kt_open();
		char *q;
		long i;

		if (fd < 0 || cg_enter(cg))
			_exit(1);
		q = kt_mmap(fd, n * kt_ps());
		if (q == MAP_FAILED || kt_trans(fd, q, n * kt_ps(), KARENA_OP_ALLOC))
			_exit(2);
		before = cg_current(cg);
		for (i = 0; i < n; i++)
			q[i * kt_ps()] = 1;
		after = cg_current(cg);
		fprintf(stderr, "# memory.current %lld -> %lld (+%lld kB for %ld pages)\n",
			before, after, (after - before) / 1024, n);
		/* Every touched page is charged to this cgroup. */
		_exit(after - before >= (n - 64) * kt_ps() ? 0 : 3);
	}
	EXPECT_EQ(0, kt_wait(pid)) TH_LOG("1: setup, 2: alloc, 3: not charged");
	/* The cgroup can go away once the child is gone (caches may pin it). */
	rmdir(cg);
}

/* ------------------------------------------------------------------ */
/* module-wide counters */

static long long global(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), SYSFS "%s", name);
	return kt_read_num(path);
}

/*
 * munmap gives back every page the mapping held, whatever touched it:
 * the module-wide pages_allocated is back where it was.
 */
enum touch { T_NONE, T_READ, T_WRITE, T_READ_WRITE, T_POPULATE, T_FORK };

static int pages_back_after_munmap(int fd, long ps, enum touch how)
{
	const long n = 64;
	long long base = global("pages_allocated"), now;
	char *q = kt_mmap(fd, n * ps);
	long i;

	if (base < 0)
		return 1;
	if (q == MAP_FAILED)
		return 2;
	if (kt_trans_f(fd, q, n * ps, KARENA_OP_ALLOC,
		       how == T_POPULATE ? KARENA_F_POPULATE : 0))
		return 3;
	for (i = 0; i < n; i++) {
		if (how == T_READ || how == T_READ_WRITE)
			(void)*(volatile char *)(q + i * ps);
		if (how == T_WRITE || how == T_READ_WRITE || how == T_FORK)
			q[i * ps] = 1;
	}
	if (how == T_FORK) {
		pid_t pid = fork();

		if (pid == 0) {
			for (i = 0; i < n; i++)
				q[i * ps] = 2;
			_exit(0);
		}
		if (kt_wait(pid))
			return 4;
	}
	if (munmap(q, n * ps))
		return 5;
	now = global("pages_allocated");
	if (now != base) {
		fprintf(stderr, "# pages_allocated %lld before, %lld after munmap\n",
			base, now);
		return 6;
	}
	return 0;
}

/* One mapping per variant, touched as the variant says, then unmapped. */
FIXTURE(munmap) {
	int fd;
	long ps;
};

FIXTURE_VARIANT(munmap) {
	enum touch how;
};

FIXTURE_VARIANT_ADD(munmap, untouched) { .how = T_NONE };
FIXTURE_VARIANT_ADD(munmap, read) { .how = T_READ };
FIXTURE_VARIANT_ADD(munmap, written) { .how = T_WRITE };
FIXTURE_VARIANT_ADD(munmap, read_then_written) { .how = T_READ_WRITE };
FIXTURE_VARIANT_ADD(munmap, populated) { .how = T_POPULATE };
FIXTURE_VARIANT_ADD(munmap, after_fork) { .how = T_FORK };

FIXTURE_SETUP(munmap)
{
	self->ps = kt_ps();
	KT_OPEN_OR_SKIP(self->fd);
}

FIXTURE_TEARDOWN(munmap)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(munmap, returns_every_page)
{
	EXPECT_EQ(0, pages_back_after_munmap(self->fd, self->ps, variant->how));
}

TEST_F(lifecycle, global_counters_return_to_zero)
{
	static const char *const names[] = { "files", "spaces", "mappings", "pages_allocated" };
	long long v;
	pid_t pid;
	size_t i;

	/* Something live first: a forked child with its own copy. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		kt_fill(self->p, NPAGES, SEED + 9);
		_exit(0);
	}
	ASSERT_EQ(0, kt_wait(pid));
	ASSERT_LE(0, global("pages_allocated")) TH_LOG(SYSFS "pages_allocated: %s", strerror(errno));
	EXPECT_LE(NPAGES, global("pages_allocated"));
	EXPECT_LE(1, global("files"));
	EXPECT_LE(1, global("mappings"));
	munmap(self->p, self->len);
	self->p = NULL;
	close(self->fd);
	self->fd = -1;
	/* Nothing else uses the device while the suites run. */
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		v = global(names[i]);
		EXPECT_EQ(0, v) TH_LOG(SYSFS "%s = %lld", names[i], v);
	}
}

TEST_HARNESS_MAIN
