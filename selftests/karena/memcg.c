// SPDX-License-Identifier: GPL-2.0
/*
 * karena memcg selftests: a process cannot escape its cgroup's memory.max
 * through /dev/karena (kmod/README.md, "memcg").  What is checked is the
 * module's documented design (kmod/README.md "memcg", kmod/pcp_cache.c):
 *
 * - pages are allocated with __GFP_ACCOUNT under set_active_memcg() of the
 *   faulting mm's memcg, so every page a process maps is charged to its
 *   cgroup;
 *   a Ready fault past memory.max ends in the memcg OOM killer, and so does
 *   a USED + POPULATE past it (the pages are charged in the ioctl, whose
 *   charge runs the memcg OOM killer on the caller: it dies of SIGKILL
 *   inside the ioctl, which never returns);
 * - pages dropped by UNUSED or munmap are uncharged, except those kept in
 *   a per-CPU cache (at most cache_high per CPU, still charged);
 * - a page is charged to the memcg of the mm that faults, populates or
 *   copies it, as that memcg is at the time: a process moved to another
 *   cgroup charges its next pages there and is bounded by its memory.max,
 *   and a forked child's copies on first touch go to the child's cgroup;
 * - a per-CPU cache belongs to one memcg at a time: a fault from another
 *   memcg never takes its pages, and after cache_batch such faults in a row
 *   the foreign pages are freed (uncharged) and the cache changes hands.
 *
 * Each test creates its own child cgroup(s) under /sys/fs/cgroup (cgroup2,
 * memory controller enabled at the root), moves forked children into them
 * and removes them afterwards.  Children that measure caches are pinned to
 * CPU 0 so that all their cache traffic is on one per-CPU cache.  The
 * deliberate OOM kills leave a report in dmesg; the guest's dmesg gate
 * (scripts/vm/dmesg-check.sh) leaves those blocks out.
 */
#include <sched.h>

#include "kselftest_harness.h"
#include "karena_test.h"
#include "kt_cgroup.h"

#define PARAMS		"/sys/module/karena/parameters/"
#define MiB		(1024LL * 1024)
#define LIMIT		(16 * MiB)	/* memory.max of the OOM tests */
#define OVER		(64 * MiB)	/* what the OOM tests try to get */
#define SLACK_PAGES	64		/* over memory.max, page tables, slab */
/*
 * memcg's per-CPU charge stock (MEMCG_CHARGE_BATCH in 6.1): a charge takes
 * 64 pages from the page counter at a time and an uncharge parks pages
 * there, so memory.current can run up to 64 pages ahead of (or, when a
 * stock is consumed, behind) what is really in use.  It is drained when
 * another memcg charges on that CPU.
 */
#define STOCK_PAGES	64
#define SEED		0x5a

/* Numbers children report to the test process (shared anonymous page). */
struct shared {
	volatile long touched;		/* pages written so far */
	volatile int stage;
	volatile int ret;
	volatile long long v[16];
};

#define MAXCG	2
#define MAXKIDS	2

FIXTURE(memcg) {
	long ps;
	long cache_high;	/* karena.cache_high, pages */
	long batch;		/* effective cache_batch (<= cache_high, >= 1) */
	int ncg;
	char cg[MAXCG][96];
	pid_t kids[MAXKIDS];
	struct shared *sh;
};

static int pin_cpu0(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/* Make a new child cgroup of the root; its path, or NULL (errno set). */
static const char *cg_new(FIXTURE_DATA(memcg) *self, const char *name)
{
	char *cg;

	if (self->ncg >= MAXCG) {
		errno = ENOSPC;
		return NULL;
	}
	cg = self->cg[self->ncg];
	snprintf(cg, sizeof(self->cg[0]), CGROOT "/karena-memcg-%d-%s",
		 getpid(), name);
	rmdir(cg);	/* a leftover of a killed run with the same pid */
	if (mkdir(cg, 0755))
		return NULL;
	self->ncg++;
	if (cg_current(cg) < 0) {
		errno = ENOENT;
		return NULL;
	}
	return cg;
}

static void reap(FIXTURE_DATA(memcg) *self, pid_t pid)
{
	int i;

	for (i = 0; i < MAXKIDS; i++)
		if (self->kids[i] == pid)
			self->kids[i] = 0;
}

static pid_t spawn(FIXTURE_DATA(memcg) *self)
{
	pid_t pid;
	int i;

	for (i = 0; i < MAXKIDS && self->kids[i]; i++)
		;
	if (i == MAXKIDS)
		return -1;
	pid = fork();
	if (pid > 0)
		self->kids[i] = pid;
	return pid;
}

/* Wait for @pid; its raw wait status, or -1. */
static int wait_status(FIXTURE_DATA(memcg) *self, pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	reap(self, pid);
	return status;
}

/*
 * Wait for @pid while sampling @cg's memory.current every millisecond or
 * so; the highest sample goes to *max.  The raw wait status, or -1.
 */
static int wait_sampling(FIXTURE_DATA(memcg) *self, pid_t pid, const char *cg,
			 long long *max)
{
	int status;
	pid_t r;

	*max = 0;
	for (;;) {
		long long cur = cg_current(cg);

		if (cur > *max)
			*max = cur;
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0)
			return -1;
		usleep(1000);
	}
	reap(self, pid);
	return status;
}

static const char *status_str(int status, char *buf, size_t len)
{
	if (status == -1)
		snprintf(buf, len, "waitpid failed");
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else if (WIFEXITED(status))
		snprintf(buf, len, "exited %d", WEXITSTATUS(status));
	else
		snprintf(buf, len, "status 0x%x", status);
	return buf;
}

FIXTURE_SETUP(memcg)
{
	long long high, batch;
	char cg[96];
	int fd;

	self->ps = kt_ps();
	KT_OPEN_OR_SKIP(fd);
	close(fd);
	if (geteuid())
		KT_SKIP_SETUP("needs root (cgroups)");
	if (access(CGROOT "/cgroup.controllers", F_OK))
		KT_SKIP_SETUP("no cgroup2 at " CGROOT);
	write_file(CGROOT "/cgroup.subtree_control", "+memory");
	/* Is the controller there for a child?  (cg_new checks again.) */
	snprintf(cg, sizeof(cg), CGROOT "/karena-memcg-%d-probe", getpid());
	ASSERT_EQ(0, mkdir(cg, 0755)) TH_LOG("mkdir %s: %s", cg, strerror(errno));
	if (cg_current(cg) < 0) {
		rmdir(cg);
		KT_SKIP_SETUP("memory controller not available");
	}
	rmdir(cg);

	high = kt_read_num(PARAMS "cache_high");
	batch = kt_read_num(PARAMS "cache_batch");
	ASSERT_LE(0, high) TH_LOG("cannot read " PARAMS "cache_high");
	ASSERT_LE(0, batch) TH_LOG("cannot read " PARAMS "cache_batch");
	self->cache_high = high;
	/* As pcp_cache.c uses it: max(1, min(cache_batch, cache_high)). */
	self->batch = batch < high ? batch : high;
	if (self->batch < 1)
		self->batch = 1;

	self->sh = mmap(NULL, sizeof(struct shared), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->sh);
	/* Touched here: charged to the test's own (root) cgroup. */
	memset(self->sh, 0, sizeof(*self->sh));
}

FIXTURE_TEARDOWN(memcg)
{
	int i;

	for (i = 0; i < MAXKIDS; i++) {
		if (self->kids[i] > 0) {
			kill(self->kids[i], SIGKILL);
			waitpid(self->kids[i], NULL, 0);
			self->kids[i] = 0;
		}
	}
	for (i = self->ncg - 1; i >= 0; i--)
		if (cg_remove(self->cg[i]))
			TH_LOG("rmdir %s: %s", self->cg[i], strerror(errno));
	if (self->sh && self->sh != MAP_FAILED)
		munmap(self->sh, sizeof(*self->sh));
}

/* ------------------------------------------------------------------ */
/* memory.max holds against Ready faults and POPULATE */

/*
 * Child of the OOM tests: map OVER bytes in @map_cg and get them Ready,
 * either ALLOC + touch every page, or MAP + USED|POPULATE, from @cg: when
 * the two differ, the child moves to @cg after mapping (ALLOC or MAP),
 * before any page is allocated.  Exit codes: 10 cgroup, 11 open, 12 mmap,
 * 13 ALLOC/MAP failed, 18 moving to @cg; 0 = it got it all.
 */
static void __attribute__((noreturn))
oom_child(FIXTURE_DATA(memcg) *self, const char *map_cg, const char *cg,
	  bool populate)
{
	long i, n = OVER / self->ps;
	char *p;
	int fd;

	p = cg_child_map(map_cg, OVER, &fd);
	if (kt_trans(fd, p, OVER, populate ? KARENA_OP_MAP : KARENA_OP_ALLOC))
		_exit(13);
	if (cg != map_cg && cg_enter(cg))
		_exit(18);
	self->sh->stage = 1;
	if (populate) {
		self->sh->ret = kt_trans_f(fd, p, OVER, KARENA_OP_USED,
					   KARENA_F_POPULATE);
		self->sh->stage = 2;
		_exit(0);
	}
	for (i = 0; i < n; i++) {
		p[i * self->ps] = 1;
		self->sh->touched = i + 1;
	}
	self->sh->stage = 2;
	_exit(0);
}

/*
 * Run oom_child in a cgroup with memory.max = 16M (LIMIT), having mapped
 * in that cgroup or (@moved) in an unlimited one it leaves before any page
 * is allocated, and check that the memcg OOM killer stopped it:
 *
 * - ALLOC + touch: the fault that would pass the limit returns
 *   VM_FAULT_OOM after the kill; the child touched no more than the limit
 *   and got close to it (faults work up to the limit);
 * - MAP + USED|POPULATE: the pages are allocated and charged in the
 *   ioctl, and the charge that cannot fit runs the memcg OOM killer on the
 *   caller (the only task of the cgroup): it dies of SIGKILL inside the
 *   ioctl, which never returns to user space.
 *
 * Either way the cgroup never went over its limit.  A page is charged to
 * the memcg of the mm that faults or populates it as it is at that moment
 * (kmod/README.md, "memcg"), so moving after mapping changes nothing.
 */
static void oom_check(struct __test_metadata *_metadata,
		      FIXTURE_DATA(memcg) *self, bool populate, bool moved)
{
	const char *map_cg = moved ? cg_new(self, "oom-map") : NULL;
	const char *cg = cg_new(self, "oom");
	long long peak, sampled, ooms, touched_bytes;
	char buf[64];
	int status;
	pid_t pid;

	ASSERT_NE(NULL, cg) TH_LOG("cgroup: %s", strerror(errno));
	if (moved)
		ASSERT_NE(NULL, map_cg) TH_LOG("cgroup: %s", strerror(errno));
	ASSERT_EQ(0, cg_write(cg, "memory.max", "16M"));
	ASSERT_EQ(LIMIT, cg_read(cg, "memory.max"));

	pid = spawn(self);
	ASSERT_LE(0, pid);
	if (pid == 0)
		oom_child(self, moved ? map_cg : cg, cg, populate);
	status = wait_sampling(self, pid, cg, &sampled);
	touched_bytes = self->sh->touched * self->ps;
	peak = cg_read(cg, "memory.peak");	/* since 5.19 */
	ooms = cg_event(cg, "oom_kill");
	TH_LOG("child %s, stage %d, touched %lld kB, USED|POPULATE returned "
	       "%s; memory.peak %lld kB, highest memory.current seen %lld kB, "
	       "oom_kill %lld", status_str(status, buf, sizeof(buf)),
	       self->sh->stage, touched_bytes / 1024,
	       populate && self->sh->stage == 2 ? strerror(self->sh->ret) :
	       "(not called or never returned)", peak / 1024, sampled / 1024,
	       ooms);

	/* Never: 64M made Ready and resident under a 16M limit. */
	ASSERT_FALSE(self->sh->stage == 2 &&
		     (!populate || self->sh->ret == 0))
		TH_LOG("got all 64M under memory.max 16M");
	ASSERT_TRUE(WIFSIGNALED(status))
		TH_LOG("exit codes: 10 cgroup, 11 open, 12 mmap, 13 ALLOC/MAP, "
		       "18 moving, 0 = the ioctl returned");
	EXPECT_EQ(SIGKILL, WTERMSIG(status));
	EXPECT_EQ(1, self->sh->stage) TH_LOG("killed outside the touch/ioctl");
	EXPECT_LE(1, ooms) TH_LOG("memory.events oom_kill");
	if (!populate) {
		EXPECT_GE(LIMIT, touched_bytes);
		EXPECT_LE(LIMIT / 2, touched_bytes);
	}
	if (peak >= 0)
		EXPECT_GE(LIMIT + SLACK_PAGES * self->ps, peak);
	EXPECT_GE(LIMIT + SLACK_PAGES * self->ps, sampled);
}

/* A child that ALLOCs 64M under memory.max 16M and touches every page. */
TEST_F_TIMEOUT(memcg, ready_faults_past_max_oom_killed, 120)
{
	oom_check(_metadata, self, false, false);
}

/* The same with MAP + USED|POPULATE of 64M. */
TEST_F_TIMEOUT(memcg, used_populate_past_max_oom_killed, 120)
{
	oom_check(_metadata, self, true, false);
}

/* ALLOC in an unlimited cgroup, move to the 16M one, touch every page. */
TEST_F_TIMEOUT(memcg, moved_ready_faults_past_new_max_oom_killed, 120)
{
	oom_check(_metadata, self, false, true);
}

/* MAP in an unlimited cgroup, move to the 16M one, USED|POPULATE 64M. */
TEST_F_TIMEOUT(memcg, moved_used_populate_past_new_max_oom_killed, 120)
{
	oom_check(_metadata, self, true, true);
}

/* ------------------------------------------------------------------ */
/* charging and uncharging */

#define CHARGE_PAGES	2048	/* 8 MiB */
#define TOL_PAGES	32	/* page tables, xarray nodes, stray slab */

enum after_touch { AT_NOTHING, AT_UNUSED, AT_MUNMAP };

/*
 * Child side of most tests: pin to CPU 0 (so memcg charges and the per-CPU
 * cache are on one CPU), enter @cg, open the device, map @len bytes and
 * ALLOC them (Ready, not touched yet).  Exit codes: 16 affinity,
 * 10 cgroup, 11 open, 12 mmap, 13 ALLOC.
 */
static char *child_ready_in(const char *cg, size_t len, int *fdp)
{
	char *p;

	if (pin_cpu0())
		_exit(16);
	p = cg_child_map(cg, len, fdp);
	if (kt_trans(*fdp, p, len, KARENA_OP_ALLOC))
		_exit(13);
	return p;
}

/*
 * Child: pinned to CPU 0, enter @cg, ALLOC CHARGE_PAGES and report
 * memory.current before touching (v[0]), after touching every page (v[1])
 * and after @then (v[2]).  Exit codes: 10 cgroup, 11 open, 12 mmap,
 * 13 ALLOC, 14 UNUSED, 15 munmap, 16 affinity.
 */
static void __attribute__((noreturn))
charge_child(FIXTURE_DATA(memcg) *self, const char *cg, enum after_touch then)
{
	size_t len = CHARGE_PAGES * self->ps;
	char *p;
	long i;
	int fd;

	p = child_ready_in(cg, len, &fd);
	self->sh->v[0] = cg_current(cg);
	for (i = 0; i < CHARGE_PAGES; i++)
		p[i * self->ps] = 1;
	self->sh->v[1] = cg_current(cg);
	if (then == AT_UNUSED && kt_trans(fd, p, len, KARENA_OP_UNUSED))
		_exit(14);
	if (then == AT_MUNMAP && munmap(p, len))
		_exit(15);
	self->sh->v[2] = cg_current(cg);
	_exit(0);
}

static int run_charge_child(FIXTURE_DATA(memcg) *self, const char *cg,
			    enum after_touch then)
{
	pid_t pid = spawn(self);

	if (pid < 0)
		return -1;
	if (pid == 0)
		charge_child(self, cg, then);
	return wait_status(self, pid);
}

#define CHARGE_EXITS	"exit codes: 10 cgroup, 11 open, 12 mmap, 13 ALLOC, " \
			"14 UNUSED, 15 munmap, 16 sched_setaffinity"

/*
 * Touching N Ready pages charges N pages to the toucher's cgroup: at
 * least N (every mapped page), at most N + cache_high (what the one
 * per-CPU cache used may hold for it) + a little.
 */
TEST_F_TIMEOUT(memcg, touched_pages_charged, 90)
{
	const char *cg = cg_new(self, "charge");
	long long before, after;
	int status;

	ASSERT_NE(NULL, cg) TH_LOG("cgroup: %s", strerror(errno));
	status = run_charge_child(self, cg, AT_NOTHING);
	ASSERT_EQ(0, status) TH_LOG("child status 0x%x; " CHARGE_EXITS, status);
	before = self->sh->v[0];
	after = self->sh->v[1];
	TH_LOG("memory.current %lld -> %lld kB for %d pages (%ld kB)",
	       before / 1024, after / 1024, CHARGE_PAGES,
	       CHARGE_PAGES * self->ps / 1024);
	EXPECT_LE((CHARGE_PAGES - STOCK_PAGES) * self->ps, after - before);
	EXPECT_GE((CHARGE_PAGES + self->cache_high + TOL_PAGES + STOCK_PAGES) *
		  self->ps, after - before);
}

/*
 * Touch CHARGE_PAGES in a new cgroup, then @then: the cgroup's charge
 * falls back to what it was before the touches, but for what the per-CPU
 * cache keeps (at most cache_high pages, charged while cached).
 */
static void uncharge_check(struct __test_metadata *_metadata,
			   FIXTURE_DATA(memcg) *self, enum after_touch then,
			   const char *what)
{
	const char *cg = cg_new(self, what);
	long long before, touched, after;
	int status;

	ASSERT_NE(NULL, cg) TH_LOG("cgroup: %s", strerror(errno));
	status = run_charge_child(self, cg, then);
	ASSERT_EQ(0, status) TH_LOG("child status 0x%x; " CHARGE_EXITS, status);
	before = self->sh->v[0];
	touched = self->sh->v[1];
	after = self->sh->v[2];
	TH_LOG("memory.current %lld -> %lld -> %lld kB (touch %d pages, %s)",
	       before / 1024, touched / 1024, after / 1024, CHARGE_PAGES, what);
	EXPECT_LE((CHARGE_PAGES - STOCK_PAGES) * self->ps, touched - before);
	EXPECT_GE((self->cache_high + TOL_PAGES + STOCK_PAGES) * self->ps,
		  after - before);
}

/* UNUSED gives the pages back. */
TEST_F_TIMEOUT(memcg, unused_uncharges, 90)
{
	uncharge_check(_metadata, self, AT_UNUSED, "UNUSED");
}

/* munmap gives the pages back the same way. */
TEST_F_TIMEOUT(memcg, munmap_uncharges, 90)
{
	uncharge_check(_metadata, self, AT_MUNMAP, "munmap");
}

/* ------------------------------------------------------------------ */
/* which memcg a space charges */

#define SPACE_PAGES	1024	/* 4 MiB */
/* What the cgroup not charged may gain meanwhile: stray stack/anon. */
#define OTHER_MAX_PAGES	128

/*
 * The copies a forked child makes on first touch are charged to the
 * child's cgroup as it is when it touches, as anonymous COW copies are:
 * a child that moves to cgroup B and then writes every inherited page has
 * its copies charged to B, not to the parent's cgroup A.
 *
 * C1 (in A) ALLOCs and writes the pages, forks C2; C2 moves to B and
 * writes every page (copy on first touch), reporting A's and B's
 * memory.current around it and its cow_copies.  C1 waits for C2, so the
 * pages stay shared until C2 copied them.
 */
TEST_F_TIMEOUT(memcg, fork_copies_charged_to_child_memcg, 90)
{
	const char *a = cg_new(self, "forkA");
	const char *b = cg_new(self, "forkB");
	long long da, db;
	int status;
	pid_t pid;

	ASSERT_NE(NULL, a) TH_LOG("cgroup: %s", strerror(errno));
	ASSERT_NE(NULL, b) TH_LOG("cgroup: %s", strerror(errno));
	pid = spawn(self);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		size_t len = SPACE_PAGES * self->ps;
		struct karena_stats st;
		int fd, st2;
		pid_t c2;
		char *p;
		long i;

		p = child_ready_in(a, len, &fd);
		kt_fill(p, SPACE_PAGES, SEED);
		c2 = fork();
		if (c2 < 0)
			_exit(14);
		if (c2 == 0) {
			if (cg_enter(b))
				_exit(20);
			self->sh->v[0] = cg_current(a);
			self->sh->v[1] = cg_current(b);
			for (i = 0; i < SPACE_PAGES; i++)
				p[i * self->ps] = (char)(SEED + i + 1);
			self->sh->v[2] = cg_current(a);
			self->sh->v[3] = cg_current(b);
			if (kt_stats(fd, &st))
				_exit(21);
			self->sh->v[4] = st.cow_copies;
			_exit(0);
		}
		if (waitpid(c2, &st2, 0) != c2)
			_exit(15);
		_exit(WIFEXITED(st2) && !WEXITSTATUS(st2) ? 0 :
		      WIFEXITED(st2) ? WEXITSTATUS(st2) : 17);
	}
	status = wait_status(self, pid);
	ASSERT_EQ(0, status)
		TH_LOG("status 0x%x; exit codes: 10 cgroup A, 11 open, 12 mmap, "
		       "13 ALLOC, 14 fork, 15 wait, 16 affinity, 17 C2 killed, "
		       "20 cgroup B, 21 STATS", status);
	da = self->sh->v[2] - self->sh->v[0];
	db = self->sh->v[3] - self->sh->v[1];
	TH_LOG("C2 (in B) wrote %d inherited pages: A %+lld kB, B %+lld kB, "
	       "cow_copies %lld", SPACE_PAGES, da / 1024, db / 1024,
	       self->sh->v[4]);
	/* The copies were made (not the pages taken back) ... */
	ASSERT_LE(SPACE_PAGES, self->sh->v[4]);
	/* ... and charged to the cgroup C2 lives in ... */
	EXPECT_LE((SPACE_PAGES - STOCK_PAGES) * self->ps, db);
	/* ... not to the parent's (whose own pages stay where they were). */
	EXPECT_GE(OTHER_MAX_PAGES * self->ps, da);
}

/*
 * A process that maps in A, then moves to B, has the pages it touches from
 * then on charged to B (kmod/README.md, "memcg").
 */
TEST_F_TIMEOUT(memcg, moved_process_charges_new_memcg, 90)
{
	const char *a = cg_new(self, "moveA");
	const char *b = cg_new(self, "moveB");
	long long da, db;
	int status;
	pid_t pid;

	ASSERT_NE(NULL, a) TH_LOG("cgroup: %s", strerror(errno));
	ASSERT_NE(NULL, b) TH_LOG("cgroup: %s", strerror(errno));
	pid = spawn(self);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		size_t len = SPACE_PAGES * self->ps;
		char *p;
		long i;
		int fd;

		p = child_ready_in(a, len, &fd);
		if (cg_enter(b))
			_exit(20);
		self->sh->v[0] = cg_current(a);
		self->sh->v[1] = cg_current(b);
		for (i = 0; i < SPACE_PAGES; i++)
			p[i * self->ps] = 1;
		self->sh->v[2] = cg_current(a);
		self->sh->v[3] = cg_current(b);
		_exit(0);
	}
	status = wait_status(self, pid);
	ASSERT_EQ(0, status)
		TH_LOG("status 0x%x; exit codes: 10 cgroup A, 11 open, 12 mmap, "
		       "13 ALLOC, 16 affinity, 20 cgroup B", status);
	da = self->sh->v[2] - self->sh->v[0];
	db = self->sh->v[3] - self->sh->v[1];
	TH_LOG("mapped in A, moved to B, touched %d pages: A %+lld kB, B %+lld kB",
	       SPACE_PAGES, da / 1024, db / 1024);
	EXPECT_LE((SPACE_PAGES - STOCK_PAGES) * self->ps, db);
	EXPECT_GE(OTHER_MAX_PAGES * self->ps, da);
}

/* ------------------------------------------------------------------ */
/* per-CPU caches crossing memcgs */

#define PHASES		4	/* A, B, A, B */
#define SMALL_PAGES	16	/* page tables and slab of a few hundred pages */

/*
 * Child of cache_never_crosses_memcgs: pinned to CPU 0, in @cg, one file
 * with PHASES / 2 * k Ready pages; on each 'f' from @cmd it touches the
 * next k pages and answers on @ack; 'q' ends it.  Exit codes: 10 cgroup,
 * 11 open, 12 mmap, 13 ALLOC, 14 pipe, 16 affinity.
 */
static void __attribute__((noreturn))
cross_child(FIXTURE_DATA(memcg) *self, const char *cg, long k, int cmd, int ack)
{
	size_t len = PHASES / 2 * k * self->ps;
	long next = 0, i;
	char c = 'r';
	char *p;
	int fd;

	p = child_ready_in(cg, len, &fd);
	if (write(ack, &c, 1) != 1)
		_exit(14);
	while (read(cmd, &c, 1) == 1 && c == 'f') {
		for (i = 0; i < k; i++, next++)
			p[next * self->ps] = 1;
		if (write(ack, &c, 1) != 1)
			_exit(14);
	}
	_exit(0);
}

/*
 * Two sibling cgroups A and B, one task each, both on CPU 0, take turns
 * faulting k = 2 * cache_batch pages.  pcp_cache.c documents the bound: a
 * cache belongs to one memcg at a time; a fault from another memcg never
 * takes its pages (it gets a page charged to its own memcg), and after
 * cache_batch such faults in a row the foreign pages are freed, uncharging
 * them.  So in each turn of X (the other one being Y):
 *  - X's charge grows by at least k pages (no page of Y's was used) and by
 *    at most k + cache_high (+ memcg's charge stock);
 *  - Y's charge grows by at most 2 * cache_batch pages (one background
 *    refill of its own cache, queued before the turn; + the charge stock);
 *  - at the end Y holds nothing in the cache any more: its charge is its
 *    mapped pages plus page tables.
 * memcg's own charge stock (STOCK_PAGES) does not blur the first and last
 * checks: both tasks charge on CPU 0 only, so X's stock there was drained
 * by Y's charges before X's turn (in turn 0, by B's setup, which runs after
 * A's), and Y's by X's charges during it.
 */
TEST_F_TIMEOUT(memcg, cache_never_crosses_memcgs, 90)
{
	const char *cg[2] = { cg_new(self, "crossA"), cg_new(self, "crossB") };
	long long base[2], mapped[2] = { 0, 0 }, cur[2], prev[2];
	int cmd[2][2], ack[2], i, ph;
	long k = 2 * self->batch;
	char c;

	ASSERT_NE(NULL, cg[0]) TH_LOG("cgroup: %s", strerror(errno));
	ASSERT_NE(NULL, cg[1]) TH_LOG("cgroup: %s", strerror(errno));
	if (!self->cache_high)
		SKIP(return, "karena.cache_high=0: no per-CPU caching");
	ASSERT_EQ(0, pipe(ack));
	for (i = 0; i < 2; i++) {
		pid_t pid;

		ASSERT_EQ(0, pipe(cmd[i]));
		pid = spawn(self);
		ASSERT_LE(0, pid);
		if (pid == 0) {
			close(ack[0]);
			close(cmd[i][1]);
			cross_child(self, cg[i], k, cmd[i][0], ack[1]);
		}
		close(cmd[i][0]);
		ASSERT_EQ(1, read(ack[0], &c, 1))
			TH_LOG("child %c failed to start", 'A' + i);
	}
	close(ack[1]);
	for (i = 0; i < 2; i++)
		base[i] = cg_current(cg[i]);

	for (ph = 0; ph < PHASES; ph++) {
		int x = ph % 2, y = 1 - x;

		for (i = 0; i < 2; i++)
			prev[i] = cg_current(cg[i]);
		c = 'f';
		ASSERT_EQ(1, write(cmd[x][1], &c, 1));
		ASSERT_EQ(1, read(ack[0], &c, 1))
			TH_LOG("child %c died in turn %d", 'A' + x, ph);
		mapped[x] += k;
		for (i = 0; i < 2; i++)
			cur[i] = cg_current(cg[i]);
		/*
		 * B's base was read right after its setup, with B's charge
		 * stock still on CPU 0; A's turn drained it and B has not
		 * faulted yet: this is B's real base.
		 */
		if (ph == 0)
			base[y] = cur[y];
		TH_LOG("turn %d: %c faulted %ld pages: %c %+lld kB, %c %+lld kB; "
		       "%c holds %lld kB over its mapped pages",
		       ph, 'A' + x, k, 'A' + x, (cur[x] - prev[x]) / 1024,
		       'A' + y, (cur[y] - prev[y]) / 1024, 'A' + y,
		       (cur[y] - base[y] - mapped[y] * self->ps) / 1024);
		EXPECT_LE((k - 2) * self->ps, cur[x] - prev[x])
			TH_LOG("turn %d: %c's pages not all charged to %c",
			       ph, 'A' + x, 'A' + x);
		EXPECT_GE((k + self->cache_high + SMALL_PAGES + STOCK_PAGES) *
			  self->ps, cur[x] - prev[x]);
		EXPECT_GE((2 * self->batch + STOCK_PAGES) * self->ps,
			  cur[y] - prev[y])
			TH_LOG("turn %d: %c's faults charged %c",
			       ph, 'A' + x, 'A' + y);
		EXPECT_GE(SMALL_PAGES * self->ps,
			  cur[y] - base[y] - mapped[y] * self->ps)
			TH_LOG("turn %d: %c's cached pages not freed after %ld "
			       "foreign faults", ph, 'A' + y, k);
	}
	for (i = 0; i < 2; i++) {
		c = 'q';
		EXPECT_EQ(1, write(cmd[i][1], &c, 1));
		close(cmd[i][1]);
	}
	for (i = 0; i < MAXKIDS; i++) {
		pid_t pid = self->kids[i];
		int status;

		if (!pid)
			continue;
		status = wait_status(self, pid);
		EXPECT_EQ(0, status)
			TH_LOG("status 0x%x; exit codes: 10 cgroup, 11 open, "
			       "12 mmap, 13 ALLOC, 14 pipe, 16 affinity", status);
	}
	close(ack[0]);
}

TEST_HARNESS_MAIN
