// SPDX-License-Identifier: GPL-2.0
/*
 * karena concurrency selftests: threads issuing transitions on one file,
 * munmap/close/fork racing with ioctls and faults, parent and child
 * transitioning their private views of one file at the same time.  Every
 * ioctl either works or fails with the documented errno; nothing hangs
 * (the harness timeout) and the kernel never warns (module.sh checks
 * dmesg after all suites).
 */
#include <pthread.h>
#include <stdatomic.h>

#include "kselftest_harness.h"
#include "karena_test.h"

#define NPAGES	64
#define SEED	0x3c

FIXTURE(concurrency) {
	int fd;
	long ps;
	size_t len;
	char *p;
};

FIXTURE_SETUP(concurrency)
{
	self->ps = kt_ps();
	self->len = NPAGES * self->ps;
	KT_OPEN_OR_SKIP(self->fd);
	self->p = kt_mmap(self->fd, self->len);
	ASSERT_NE(MAP_FAILED, self->p) TH_LOG("mmap: %s", strerror(errno));
	ASSERT_EQ(0, kt_trans(self->fd, self->p, self->len, KARENA_OP_ALLOC));
	kt_fill(self->p, NPAGES, SEED);
}

FIXTURE_TEARDOWN(concurrency)
{
	if (self->p && self->p != MAP_FAILED)
		munmap(self->p, self->len);
	if (self->fd >= 0)
		close(self->fd);
}

/* ------------------------------------------------------------------ */
/* threads */

#define NTHREADS	4
#define TPAGES		16
#define TLOOPS		20

struct worker {
	int fd;
	char *base;
	long ps;
	int errors;
	int first_err;
	int step;
};

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	size_t len = TPAGES * w->ps;
	int i, r;

#define W(op, flags) do {						\
	r = kt_trans_f(w->fd, w->base, len, op, flags);			\
	if (r) {							\
		if (!w->errors++) { w->first_err = r; w->step = op; }	\
	}								\
} while (0)
	for (i = 0; i < TLOOPS; i++) {
		W(KARENA_OP_MAP, 0);
		W(KARENA_OP_USED, i & 1 ? KARENA_F_POPULATE : 0);
		if (kt_first_nonzero(w->base, len) != -1 && !w->errors++)
			w->step = 100;
		kt_fill(w->base, TPAGES, (unsigned char)i);
		if (kt_check(w->base, TPAGES, (unsigned char)i) != -1 && !w->errors++)
			w->step = 101;
		W(KARENA_OP_UNUSED, 0);
		W(KARENA_OP_FAULT, 0);
		if (i & 1) {
			W(KARENA_OP_FREE, 0);
			W(KARENA_OP_RESERVE, 0);
		}
	}
	W(KARENA_OP_ALLOC, 0);
#undef W
	return NULL;
}

TEST_F(concurrency, threads_transition_own_regions)
{
	struct worker w[NTHREADS];
	pthread_t t[NTHREADS];
	size_t len = NTHREADS * TPAGES * self->ps;
	char *q = kt_mmap(self->fd, len);
	int i;

	ASSERT_NE(MAP_FAILED, q);
	for (i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){ .fd = self->fd, .ps = self->ps,
					.base = q + i * TPAGES * self->ps };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, worker_fn, &w[i]));
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ(0, w[i].errors) TH_LOG("thread %d: first error %d at step %d",
						 i, w[i].first_err, w[i].step);
	}
	EXPECT_EQ(-1, kt_first_not(self->fd, q, NTHREADS * TPAGES, KARENA_STATE_READY));
	EXPECT_EQ(-1, kt_first_nonzero(q, len));
	munmap(q, len);
}

struct racer {
	int fd;
	char *base;
	size_t len;
	atomic_int stop;
	atomic_long calls;
	int bad_err;
};

static void *racer_fn(void *arg)
{
	struct racer *r = arg;
	static const unsigned int ops[] = {
		KARENA_OP_HUGEPAGE, KARENA_OP_FREE, KARENA_OP_ALLOC,
		KARENA_OP_UNUSED, KARENA_OP_NOHUGEPAGE, KARENA_OP_FAULT,
	};
	unsigned char vec[NPAGES];
	struct karena_stats st;
	int e;

	while (!atomic_load(&r->stop)) {
		e = kt_trans(r->fd, r->base, r->len, ops[atomic_load(&r->calls) % 6]);
		if (e && e != EINVAL && e != EBADF && !r->bad_err)
			r->bad_err = e;
		e = kt_query(r->fd, r->base, r->len, vec);
		if (e && e != EINVAL && e != EBADF && !r->bad_err)
			r->bad_err = e;
		e = kt_stats(r->fd, &st);
		if (e && e != EBADF && !r->bad_err)
			r->bad_err = e;
		atomic_fetch_add(&r->calls, 1);
	}
	return NULL;
}

TEST_F(concurrency, munmap_while_another_thread_ioctls)
{
	struct racer r = { .fd = self->fd, .base = self->p, .len = self->len };
	pthread_t t;

	ASSERT_EQ(0, pthread_create(&t, NULL, racer_fn, &r));
	while (atomic_load(&r.calls) < 20)
		usleep(1000);
	ASSERT_EQ(0, munmap(self->p, self->len));
	self->p = NULL;
	usleep(20000);
	atomic_store(&r.stop, 1);
	pthread_join(t, NULL);
	EXPECT_EQ(0, r.bad_err) TH_LOG("racing ioctl failed with %s", strerror(r.bad_err));
	EXPECT_EQ(EINVAL, kt_trans(self->fd, r.base, r.len, KARENA_OP_FREE));
}

TEST_F(concurrency, close_while_another_thread_ioctls)
{
	struct racer r = { .fd = self->fd, .base = self->p, .len = self->len };
	pthread_t t;

	ASSERT_EQ(0, pthread_create(&t, NULL, racer_fn, &r));
	while (atomic_load(&r.calls) < 20)
		usleep(1000);
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	usleep(20000);
	atomic_store(&r.stop, 1);
	pthread_join(t, NULL);
	EXPECT_EQ(0, r.bad_err) TH_LOG("racing ioctl failed with %s", strerror(r.bad_err));
	/* The fd is gone, the mapping outlives it and unmaps cleanly. */
	EXPECT_EQ(EBADF, kt_trans(r.fd, r.base, r.len, KARENA_OP_FREE));
}

TEST_F(concurrency, munmap_while_another_thread_faults)
{
	struct racer r = { .fd = self->fd, .base = self->p, .len = self->len };
	pthread_t t;
	int i;

	/*
	 * The racer moves the whole range through FREE/ALLOC/UNUSED...
	 * while this thread touches it: every access either works or
	 * raises SIGSEGV, never anything else, and nothing oopses.
	 */
	ASSERT_EQ(0, pthread_create(&t, NULL, racer_fn, &r));
	for (i = 0; i < 200; i++) {
		int sig = kt_probe_write(self->p + (i % NPAGES) * self->ps, 1);

		if (sig && sig != SIGSEGV)
			break;
	}
	EXPECT_EQ(200, i);
	ASSERT_EQ(0, munmap(self->p, self->len));
	self->p = NULL;
	atomic_store(&r.stop, 1);
	pthread_join(t, NULL);
	EXPECT_EQ(0, r.bad_err) TH_LOG("racing ioctl failed with %s", strerror(r.bad_err));
}

/* A worker that cycles its own region until told to stop. */
struct cycler {
	int fd;
	char *base;
	long ps;
	atomic_int stop;
	atomic_long loops;
	int errors;
	int first_err;
	int step;
};

static void cycler_fail(struct cycler *c, int err, int step)
{
	if (!c->errors++) {
		c->first_err = err;
		c->step = step;
	}
}

static void *cycler_fn(void *arg)
{
	struct cycler *c = arg;
	size_t len = TPAGES * c->ps;
	unsigned char seed;
	int r;

	while (!atomic_load(&c->stop)) {
		seed = (unsigned char)atomic_load(&c->loops);
		r = kt_trans(c->fd, c->base, len, KARENA_OP_UNUSED);
		if (r)
			cycler_fail(c, r, KARENA_OP_UNUSED);
		r = kt_trans(c->fd, c->base, len, KARENA_OP_USED);
		if (r)
			cycler_fail(c, r, KARENA_OP_USED);
		if (kt_first_nonzero(c->base, len) != -1)
			cycler_fail(c, 0, 100);
		kt_fill(c->base, TPAGES, seed);
		if (kt_check(c->base, TPAGES, seed) != -1)
			cycler_fail(c, 0, 101);
		atomic_fetch_add(&c->loops, 1);
	}
	return NULL;
}

TEST_F(concurrency, fork_while_another_thread_transitions)
{
	struct cycler c = { .fd = self->fd, .ps = self->ps, .base = self->p };
	pthread_t t;
	int i;

	/* The cycler owns the first TPAGES pages; the rest stays put. */
	ASSERT_EQ(0, pthread_create(&t, NULL, cycler_fn, &c));
	for (i = 0; i < 5; i++) {
		pid_t pid = fork();

		ASSERT_LE(0, pid);
		if (pid == 0) {
			char *rest = self->p + TPAGES * self->ps;
			long bad = -1;
			long j;

			for (j = TPAGES; j < NPAGES; j++)
				if (!kt_page_ok(self->p, j, SEED)) {
					bad = j;
					break;
				}
			if (bad != -1)
				_exit(1);
			if (kt_first_not(self->fd, rest, NPAGES - TPAGES,
					 KARENA_STATE_READY) != -1)
				_exit(2);
			/* The child's copy of the cycled region is Ready or
			 * Prepared page by page, never anything else. */
			for (j = 0; j < TPAGES; j++) {
				int st = kt_state_of(self->fd, self->p + j * self->ps);

				if (st < 0 || (KT_STATE(st) != KARENA_STATE_READY &&
					       KT_STATE(st) != KARENA_STATE_PREPARED))
					_exit(3);
			}
			_exit(0);
		}
		EXPECT_EQ(0, kt_wait(pid)) TH_LOG("fork %d: 1 data, 2 state, 3 cycled state", i);
	}
	atomic_store(&c.stop, 1);
	pthread_join(t, NULL);
	EXPECT_EQ(0, c.errors) TH_LOG("cycler: first error %d at step %d",
				      c.first_err, c.step);
	EXPECT_LT(0, atomic_load(&c.loops));
}

TEST_F(concurrency, split_while_another_thread_transitions)
{
	struct cycler c = { .fd = self->fd, .ps = self->ps, .base = self->p };
	pthread_t t;
	int i;

	ASSERT_EQ(0, pthread_create(&t, NULL, cycler_fn, &c));
	/* Punch holes in the rest of the mapping: every munmap splits the VMA. */
	for (i = NPAGES - 2; i > TPAGES; i -= 4)
		ASSERT_EQ(0, munmap(self->p + i * self->ps, self->ps));
	while (atomic_load(&c.loops) < 3)
		usleep(1000);
	atomic_store(&c.stop, 1);
	pthread_join(t, NULL);
	EXPECT_EQ(0, c.errors) TH_LOG("cycler: first error %d at step %d",
				      c.first_err, c.step);
	/* What is left of the rest kept its data. */
	for (i = TPAGES; i < NPAGES; i++)
		if ((NPAGES - 2 - i) % 4)
			EXPECT_TRUE(kt_page_ok(self->p, i, SEED)) TH_LOG("page %d", i);
	/* The teardown's munmap of the whole range covers the holes too. */
}

TEST_F(concurrency, parent_and_child_transition_concurrently)
{
	pid_t pid;
	int i, fails = 0;

	/* Both run the same cycle on the same addresses of the same file. */
	pid = fork();
	ASSERT_LE(0, pid);
	for (i = 0; i < 30; i++) {
		unsigned char seed = (unsigned char)(pid ? 2 * i : 2 * i + 1);

		if (kt_trans(self->fd, self->p, self->len, KARENA_OP_UNUSED) ||
		    kt_trans(self->fd, self->p, self->len, KARENA_OP_USED)) {
			fails++;
			break;
		}
		if (kt_first_nonzero(self->p, self->len) != -1)
			fails++;
		kt_fill(self->p, NPAGES, seed);
		if (kt_check(self->p, NPAGES, seed) != -1)
			fails++;
	}
	if (pid == 0)
		_exit(fails ? 1 : 0);
	EXPECT_EQ(0, fails);
	EXPECT_EQ(0, kt_wait(pid)) TH_LOG("the child saw the parent's pages");
}

/*
 * SIGKILL lands in the middle of long transitions (EINTR inside the
 * module): the process dies, and every page it held comes back.
 */
static void long_transitions(long ps, bool vec)
{
	const long n = 16384;	/* 64 MiB */
	static struct karena_range r[KARENA_VEC_MAX];
	int fd = kt_open();
	char *q;
	int i;

	if (fd < 0)
		_exit(1);
	q = kt_mmap(fd, n * ps);
	if (q == MAP_FAILED)
		_exit(2);
	for (i = 0; i < KARENA_VEC_MAX; i++)
		kt_range(&r[i], q + i * (n / KARENA_VEC_MAX) * ps,
			 n / KARENA_VEC_MAX * ps, KARENA_OP_ALLOC, KARENA_F_POPULATE);
	printf("go\n");
	fflush(stdout);
	for (;;) {
		if (vec)
			kt_vec(fd, r, KARENA_VEC_MAX, NULL);
		else
			kt_trans_f(fd, q, n * ps, KARENA_OP_ALLOC, KARENA_F_POPULATE);
		kt_trans(fd, q, n * ps, KARENA_OP_FREE);
	}
}

static int kill_mid_transition(long ps, bool vec, int delay_ms)
{
	long long base = kt_read_num("/sys/kernel/karena/pages_allocated"), now;
	int pfd[2], i;
	char c;
	pid_t pid;

	if (base < 0 || pipe(pfd))
		return 1;
	pid = fork();
	if (pid < 0)
		return 2;
	if (pid == 0) {
		dup2(pfd[1], 1);
		long_transitions(ps, vec);
	}
	close(pfd[1]);
	if (read(pfd[0], &c, 1) != 1)
		return 3;
	usleep(delay_ms * 1000);
	kill(pid, SIGKILL);
	if (kt_wait(pid) != 128 + SIGKILL)
		return 4;
	close(pfd[0]);
	/* Exit teardown is synchronous, but give a slow guest a moment. */
	for (i = 0; i < 50; i++) {
		now = kt_read_num("/sys/kernel/karena/pages_allocated");
		if (now == base)
			return 0;
		usleep(20000);
	}
	fprintf(stderr, "# pages_allocated %lld before, %lld after\n", base, now);
	return 5;
}

TEST_F(concurrency, sigkill_during_long_transition_leaks_nothing)
{
	EXPECT_EQ(0, kill_mid_transition(self->ps, false, 30));
	EXPECT_EQ(0, kill_mid_transition(self->ps, false, 120));
}

TEST_F(concurrency, sigkill_during_long_vector_leaks_nothing)
{
	EXPECT_EQ(0, kill_mid_transition(self->ps, true, 30));
	EXPECT_EQ(0, kill_mid_transition(self->ps, true, 120));
}

TEST_HARNESS_MAIN
