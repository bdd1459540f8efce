// SPDX-License-Identifier: GPL-2.0
/*
 * Multithreaded stress of the malloc API as served by karena: cross-thread
 * frees, many threads with random sizes and content checks, thread churn,
 * fork in a threaded program, larson- and xmalloc-test-like workloads.
 *
 * Every test is bounded by time: STRESS_SECONDS (default 1.5) per test,
 * and never runs less than a minimum amount of work. Every block carries a
 * pattern written after allocation and checked before free.
 *
 * Built like conformance.c: linked with -lkarena (stress), plain for
 * LD_PRELOAD, or -DKARENA_PREFIXED against a sanitizer build of the lib.
 */
#include "api.h"

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <time.h>

#include "kselftest_harness.h"
#include "filter.h"

#define KiB (1024ul)
#define MiB (1024ul * 1024ul)

/*
 * The least work a test does whatever STRESS_SECONDS says, divided by
 * STRESS_MINWORK_DIV (the TCG guest is 10-50x slower; ThreadSanitizer makes
 * every access ~10x dearer, so it divides by 10 by default).
 */
static long minwork(long n)
{
	const char *s = getenv("STRESS_MINWORK_DIV");
#ifdef __SANITIZE_THREAD__
	long div = 10;
#else
	long div = 1;
#endif

	if (s && atol(s) > 0)
		div = atol(s);
	return n / div > 0 ? n / div : 1;
}
#define MINWORK(n) minwork(n)

/* ------------------------------------------------------------------ */
/* Shared helpers                                                      */
/* ------------------------------------------------------------------ */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double stress_seconds(void)
{
	const char *s = getenv("STRESS_SECONDS");
	double d = s ? atof(s) : 1.5;

	return d > 0 ? d : 1.5;
}

/* Errors found by worker threads; the test thread asserts on them. */
static atomic_int errors;
static char first_error[256];
static pthread_mutex_t err_lock = PTHREAD_MUTEX_INITIALIZER;

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *fmt, ...)
{
	va_list ap;

	if (atomic_fetch_add(&errors, 1) == 0) {
		pthread_mutex_lock(&err_lock);
		va_start(ap, fmt);
		vsnprintf(first_error, sizeof(first_error), fmt, ap);
		va_end(ap);
		pthread_mutex_unlock(&err_lock);
	}
}

#define ASSERT_NO_ERRORS() \
	ASSERT_EQ(0, atomic_load(&errors)) { \
		TH_LOG("first error: %s", first_error); \
	}

/* A block with its size and pattern seed. */
struct blk {
	uint8_t *p;
	size_t n;
	uint64_t seed;
};

/*
 * Only the first and last 64 bytes and one byte per 256 carry the pattern
 * (enough to catch overlap and reuse-while-live, cheap for big blocks).
 */
static void blk_fill(struct blk *b)
{
	size_t n = b->n;

	if (n <= 256) {
		pat_fill(b->p, n, b->seed);
		return;
	}
	pat_fill(b->p, 64, b->seed);
	for (size_t i = 64; i < n - 64; i += 256)
		b->p[i] = pat_byte(b->seed, i);
	pat_fill(b->p + n - 64, 64, b->seed + 1);
}

static bool blk_ok(const struct blk *b)
{
	size_t n = b->n;

	if (n <= 256)
		return pat_check(b->p, n, b->seed) < 0;
	if (pat_check(b->p, 64, b->seed) >= 0 ||
	    pat_check(b->p + n - 64, 64, b->seed + 1) >= 0)
		return false;
	for (size_t i = 64; i < n - 64; i += 256)
		if (b->p[i] != pat_byte(b->seed, i))
			return false;
	return true;
}

/* The first keep bytes of a block filled for b->n bytes are intact. */
static bool blk_prefix_ok(const struct blk *b, size_t keep)
{
	size_t n = b->n;

	if (n <= 256)
		return pat_check(b->p, keep, b->seed) < 0;
	for (size_t i = 0; i < keep; i++) {
		uint8_t want;

		if (i < 64)
			want = pat_byte(b->seed, i);
		else if (i >= n - 64)
			want = pat_byte(b->seed + 1, i - (n - 64));
		else if ((i - 64) % 256 == 0)
			want = pat_byte(b->seed, i);
		else
			continue;
		if (b->p[i] != want)
			return false;
	}
	return true;
}

/* Random size: mostly small, some up to 32 KiB, a few large. */
static size_t rnd_size(uint64_t *rs)
{
	uint64_t r = rnd_next(rs);

	unsigned pct = (unsigned)(r % 100);

	if (pct == 0)
		return 32 * KiB + (size_t)(r >> 8) % (512 * KiB);
	if (pct < 10)
		return (size_t)(r >> 8) % (32 * KiB) + 1;
	if (pct < 40)
		return (size_t)(r >> 8) % 16;
	return (size_t)(r >> 8) % 1024 + 1;
}

static bool blk_alloc(struct blk *b, size_t n, uint64_t seed)
{
	b->p = t_malloc(n);
	b->n = n;
	b->seed = seed;
	if (!b->p) {
		report("malloc(%zu) failed", n);
		return false;
	}
	blk_fill(b);
	return true;
}

static void blk_free(struct blk *b, const char *who)
{
	if (!b->p)
		return;
	if (!blk_ok(b))
		report("%s: block %p (%zu bytes, seed %llu) corrupted before free",
		       who, (void *)b->p, b->n, (unsigned long long)b->seed);
	t_free(b->p);
	b->p = NULL;
}

static void start_threads(pthread_t *t, int n, void *(*fn)(void *), void *arg,
			   size_t argsz)
{
	for (int i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, fn, (char *)arg + (size_t)i * argsz))
			report("pthread_create failed");
}

static void join_threads(pthread_t *t, int n)
{
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
}

/* ------------------------------------------------------------------ */
/* Producer/consumer: every block freed by a thread that did not       */
/* allocate it                                                         */
/* ------------------------------------------------------------------ */

#define PC_QLEN 4096
static struct {
	pthread_mutex_t lock;
	pthread_cond_t nonempty, nonfull;
	struct blk q[PC_QLEN];
	unsigned head, tail;
	bool done;
	double deadline;
	atomic_long produced, consumed;
} pc = { .lock = PTHREAD_MUTEX_INITIALIZER,
	 .nonempty = PTHREAD_COND_INITIALIZER,
	 .nonfull = PTHREAD_COND_INITIALIZER };

static void *pc_producer(void *arg)
{
	uint64_t rs = (uintptr_t)arg * 7919 + 1;
	long k = 0;

	while (!(k % 256 == 0 && now() > pc.deadline) || k < MINWORK(5000)) {
		struct blk b;

		if (!blk_alloc(&b, rnd_size(&rs), rnd_next(&rs)))
			break;
		pthread_mutex_lock(&pc.lock);
		while (pc.tail - pc.head == PC_QLEN)
			pthread_cond_wait(&pc.nonfull, &pc.lock);
		pc.q[pc.tail++ % PC_QLEN] = b;
		pthread_cond_signal(&pc.nonempty);
		pthread_mutex_unlock(&pc.lock);
		atomic_fetch_add(&pc.produced, 1);
		k++;
	}
	return NULL;
}

static void *pc_consumer(void *arg)
{
	(void)arg;
	for (;;) {
		struct blk b;

		pthread_mutex_lock(&pc.lock);
		while (pc.tail == pc.head && !pc.done)
			pthread_cond_wait(&pc.nonempty, &pc.lock);
		if (pc.tail == pc.head) {
			pthread_mutex_unlock(&pc.lock);
			return NULL;
		}
		b = pc.q[pc.head++ % PC_QLEN];
		pthread_cond_signal(&pc.nonfull);
		pthread_mutex_unlock(&pc.lock);
		blk_free(&b, "consumer");
		atomic_fetch_add(&pc.consumed, 1);
	}
}

TEST(producer_consumer_cross_thread_free)
{
	enum { P = 4, C = 4 };
	pthread_t prod[P], cons[C];

	pc.deadline = now() + stress_seconds();
	start_threads(prod, P, pc_producer, (void *)1, 1);
	start_threads(cons, C, pc_consumer, NULL, 0);
	join_threads(prod, P);
	pthread_mutex_lock(&pc.lock);
	pc.done = true;
	pthread_cond_broadcast(&pc.nonempty);
	pthread_mutex_unlock(&pc.lock);
	join_threads(cons, C);
	TH_LOG("%ld blocks passed between threads", atomic_load(&pc.produced));
	ASSERT_NO_ERRORS();
	ASSERT_EQ(atomic_load(&pc.produced), atomic_load(&pc.consumed));
}

/* ------------------------------------------------------------------ */
/* Many threads, random sizes, every API, content checks               */
/* ------------------------------------------------------------------ */

#define MT_THREADS 24
#define MT_SLOTS 512

struct mt_arg {
	int id;
	double deadline;
	long ops;
};

static void *mt_worker(void *argp)
{
	struct mt_arg *a = argp;
	struct blk s[MT_SLOTS] = { 0 };
	uint64_t rs = (uint64_t)a->id * 104729 + 17;
	char who[32];
	long k;

	snprintf(who, sizeof(who), "thread %d", a->id);
	for (k = 0; k < MINWORK(2000) || (k % 128 || now() < a->deadline); k++) {
		struct blk *b = &s[rnd_next(&rs) % MT_SLOTS];
		uint64_t op = rnd_next(&rs) % 16;
		size_t n = rnd_size(&rs);

		if (b->p && op < 10) {
			blk_free(b, who);
			continue;
		}
		if (b->p && op < 13) {
			/* realloc keeps the common prefix */
			struct blk old = *b;
			size_t keep = n < old.n ? n : old.n;
			uint8_t *q;

			n += !n; /* realloc(p, 0) may free p */
			keep = n < old.n ? n : old.n;
			q = t_realloc(b->p, n);

			if (!q) {
				report("%s: realloc(%zu) failed", who, n);
				continue;
			}
			b->p = q;
			if (!blk_prefix_ok(b, keep))
				report("%s: realloc %zu -> %zu lost contents", who,
				       old.n, n);
			b->n = n;
			blk_fill(b);
			continue;
		}
		if (b->p)
			blk_free(b, who);
		b->seed = rnd_next(&rs);
		b->n = n;
		if (op == 13) {
			b->p = t_calloc(1, n);
			if (b->p && first_nonzero(b->p, n) >= 0)
				report("%s: calloc(1, %zu) = %p not zeroed", who, n,
				       (void *)b->p);
		} else if (op == 14) {
			void *p = NULL;
			size_t al = (size_t)16 << (rnd_next(&rs) % 9);

			if (t_posix_memalign(&p, al, n))
				p = NULL;
			if (p && (uintptr_t)p % al)
				report("%s: posix_memalign(%zu) = %p", who, al, p);
			b->p = p;
		} else {
			b->p = t_malloc(n);
		}
		if (!b->p) {
			report("%s: allocation of %zu failed", who, n);
			continue;
		}
		if (t_malloc_usable_size(b->p) < n)
			report("%s: usable size %zu < %zu", who,
			       t_malloc_usable_size(b->p), n);
		blk_fill(b);
	}
	for (int i = 0; i < MT_SLOTS; i++)
		blk_free(&s[i], who);
	a->ops = k;
	return NULL;
}

TEST(many_threads_random_sizes)
{
	pthread_t t[MT_THREADS];
	struct mt_arg a[MT_THREADS];
	long ops = 0;

	for (int i = 0; i < MT_THREADS; i++)
		a[i] = (struct mt_arg){ .id = i, .deadline = now() + stress_seconds() };
	start_threads(t, MT_THREADS, mt_worker, a, sizeof(a[0]));
	join_threads(t, MT_THREADS);
	for (int i = 0; i < MT_THREADS; i++)
		ops += a[i].ops;
	TH_LOG("%d threads, %ld operations", MT_THREADS, ops);
	ASSERT_NO_ERRORS();
}

/* ------------------------------------------------------------------ */
/* Thread churn: per-thread caches must be flushed at thread exit      */
/* ------------------------------------------------------------------ */

#define CHURN_THREADS 8
#define CHURN_PER_CLASS 2
static const size_t churn_sizes[] = { 8, 16, 24, 32, 48, 64, 80, 96, 128, 160,
	192, 256, 320, 384, 512, 640, 768, 1024, 1280, 1536, 2048, 2688, 3072,
	4096, 5376, 6144, 8192, 9472, 10240, 12288, 13568, 16384, 20480, 24576,
	28672, 32768 };
#define CHURN_NSIZES (sizeof(churn_sizes) / sizeof(churn_sizes[0]))

struct churn_arg {
	uint64_t seed;
	struct blk keep[CHURN_NSIZES]; /* freed by main after the thread exits */
};

static void *churn_worker(void *argp)
{
	struct churn_arg *a = argp;
	struct blk b[CHURN_NSIZES][CHURN_PER_CLASS];

	for (size_t i = 0; i < CHURN_NSIZES; i++)
		for (int j = 0; j < CHURN_PER_CLASS; j++)
			blk_alloc(&b[i][j], churn_sizes[i], a->seed + i * 8 + (uint64_t)j);
	for (size_t i = 0; i < CHURN_NSIZES; i++) {
		for (int j = 0; j < CHURN_PER_CLASS; j++)
			blk_free(&b[i][j], "churn thread");
		blk_alloc(&a->keep[i], churn_sizes[i] - 1, a->seed ^ i);
	}
	return NULL;
}

TEST(thread_churn_caches_flushed)
{
	static struct churn_arg a[CHURN_THREADS];
	pthread_t t[CHURN_THREADS];
	double deadline = now() + stress_seconds();
	size_t base = 0, end;
	long lifetimes = 0, limit;

	for (int round = 0; round < 8 || round < MINWORK(60) || (round < 2000 && now() < deadline); round++) {
		for (int i = 0; i < CHURN_THREADS; i++)
			a[i].seed = (uint64_t)round * 1000 + (uint64_t)i * 100;
		start_threads(t, CHURN_THREADS, churn_worker, a, sizeof(a[0]));
		join_threads(t, CHURN_THREADS);
		/* free what the dead threads left behind */
		for (int i = 0; i < CHURN_THREADS; i++)
			for (size_t s = 0; s < CHURN_NSIZES; s++)
				blk_free(&a[i].keep[s], "main after exit");
		lifetimes += CHURN_THREADS;
		if (round == 3)
			base = rss_bytes();
	}
	end = rss_bytes();
	/*
	 * A dead thread whose cache was not flushed strands a span of every
	 * class it used (~400 KiB touched each); flushed caches are reused.
	 */
	limit = 32 * (long)MiB + lifetimes * 64 * (long)KiB;
	TH_LOG("%ld thread lifetimes, RSS %zu KiB -> %zu KiB", lifetimes,
	       base / KiB, end / KiB);
	ASSERT_NO_ERRORS();
	ASSERT_LT((long)end - (long)base, limit);
}

/* ------------------------------------------------------------------ */
/* Cross-thread frees make memory reusable by the allocating thread    */
/* ------------------------------------------------------------------ */

#define XR_N 100000
static struct blk xr_blocks[XR_N];

static void *xr_alloc(void *arg)
{
	uint64_t round = (uintptr_t)arg;

	for (int i = 0; i < XR_N; i++)
		blk_alloc(&xr_blocks[i], (size_t)(i % 8) * 16 + 48, round * XR_N + (uint64_t)i);
	return NULL;
}

static void *xr_free(void *arg)
{
	(void)arg;
	for (int i = 0; i < XR_N; i++)
		blk_free(&xr_blocks[i], "remote free");
	return NULL;
}

TEST(cross_thread_free_memory_reused)
{
	size_t base = 0, end;
	double deadline = now() + stress_seconds();
	int round;

	for (round = 0; round < 3 || round < MINWORK(10) || (round < 100 && now() < deadline); round++) {
		pthread_t a, b;

		pthread_create(&a, NULL, xr_alloc, (void *)(uintptr_t)round);
		pthread_join(a, NULL);
		pthread_create(&b, NULL, xr_free, NULL);
		pthread_join(b, NULL);
		if (round == 1)
			base = rss_bytes();
	}
	end = rss_bytes();
	/* ~10 MiB live per round; not reusing remote frees grows by that each round */
	TH_LOG("%d rounds, RSS %zu KiB -> %zu KiB", round, base / KiB, end / KiB);
	ASSERT_NO_ERRORS();
	ASSERT_LT(end, base + 40 * MiB);
}

/* ------------------------------------------------------------------ */
/* Tiny objects of one 16-byte block freed by two threads at once       */
/* ------------------------------------------------------------------ */

#define TI_RING 4096
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct blk q[TI_RING];
	unsigned head, tail;
	bool done;
} ti = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static void *ti_remote(void *arg)
{
	(void)arg;
	for (;;) {
		struct blk b;

		pthread_mutex_lock(&ti.lock);
		while (ti.head == ti.tail && !ti.done)
			pthread_cond_wait(&ti.cond, &ti.lock);
		if (ti.head == ti.tail) {
			pthread_mutex_unlock(&ti.lock);
			return NULL;
		}
		b = ti.q[ti.head++ % TI_RING];
		pthread_cond_signal(&ti.cond);
		pthread_mutex_unlock(&ti.lock);
		blk_free(&b, "tiny remote");
	}
}

/*
 * The owner allocates runs of tiny objects (consecutive ones share a block),
 * frees some itself at once, hands others to a remote thread, keeps the
 * rest live for a while: a block reused while one of its pieces is live
 * shows up as a changed pattern.
 */
TEST(tiny_block_pieces_freed_by_two_threads)
{
	enum { LIVE = 2048 };
	static struct blk live[LIVE];
	double deadline = now() + stress_seconds();
	uint64_t rs = 5;
	pthread_t r[2];
	long k;

	start_threads(r, 2, ti_remote, NULL, 0);
	for (k = 0; k < MINWORK(200000) || (k % 1024 || now() < deadline); k++) {
		struct blk b;
		uint64_t what = rnd_next(&rs);

		if (!blk_alloc(&b, (size_t)(what % 15) + 1, rnd_next(&rs)))
			break;
		switch ((what >> 8) % 3) {
		case 0:
			blk_free(&b, "tiny owner");
			break;
		case 1:
			pthread_mutex_lock(&ti.lock);
			while (ti.tail - ti.head == TI_RING)
				pthread_cond_wait(&ti.cond, &ti.lock);
			ti.q[ti.tail++ % TI_RING] = b;
			pthread_cond_signal(&ti.cond);
			pthread_mutex_unlock(&ti.lock);
			break;
		default: {
			struct blk *l = &live[(what >> 16) % LIVE];

			blk_free(l, "tiny owner (live)");
			*l = b;
		}
		}
	}
	pthread_mutex_lock(&ti.lock);
	ti.done = true;
	pthread_cond_broadcast(&ti.cond);
	pthread_mutex_unlock(&ti.lock);
	join_threads(r, 2);
	for (int i = 0; i < LIVE; i++)
		blk_free(&live[i], "tiny owner end");
	TH_LOG("%ld tiny objects", k);
	ASSERT_NO_ERRORS();
}

/* ------------------------------------------------------------------ */
/* malloc_trim while other threads allocate: released pages must never */
/* be live ones                                                        */
/* ------------------------------------------------------------------ */

#define TR_THREADS 6

static atomic_bool tr_stop;

static void *tr_worker(void *arg)
{
	uint64_t rs = (uintptr_t)arg * 7 + 11;
	struct blk s[32] = { 0 };

	for (long k = 0; !atomic_load(&tr_stop); k++) {
		struct blk *b = &s[rnd_next(&rs) % 32];

		blk_free(b, "trim worker");
		/* large and small, so whole spans go idle and come back */
		blk_alloc(b, k % 4 ? (size_t)(rnd_next(&rs) % 4096) + 1
				   : (size_t)(rnd_next(&rs) % (256 * KiB)) + 32 * KiB,
			  rnd_next(&rs));
		if (k % 8 == 0)
			for (int i = 0; i < 32; i++)
				if (s[i].p && !blk_ok(&s[i]))
					report("trim worker: live block %p (%zu) changed",
					       (void *)s[i].p, s[i].n);
	}
	for (int i = 0; i < 32; i++)
		blk_free(&s[i], "trim worker");
	return NULL;
}

TEST(trim_concurrent_with_allocation)
{
	pthread_t t[TR_THREADS];
	double deadline = now() + stress_seconds();
	long trims = 0;

	atomic_store(&tr_stop, false);
	start_threads(t, TR_THREADS, tr_worker, (void *)1, 1);
	while (trims < MINWORK(20) || now() < deadline) {
		t_malloc_trim(0);
		trims++;
		usleep(100); /* let the workers run between trims */
	}
	atomic_store(&tr_stop, true);
	join_threads(t, TR_THREADS);
	TH_LOG("%ld malloc_trim(0) calls during allocation", trims);
	ASSERT_NO_ERRORS();
}

/* ------------------------------------------------------------------ */
/* fork in a threaded program                                          */
/* ------------------------------------------------------------------ */

static atomic_bool bg_stop;

/* Background load: keeps allocator locks busy while we fork. */
static void *bg_worker(void *arg)
{
	uint64_t rs = (uintptr_t)arg * 31 + 5;
	struct blk s[64] = { 0 };

	for (unsigned k = 0; !atomic_load(&bg_stop); k++) {
		struct blk *b = &s[rnd_next(&rs) % 64];

		/* contend, but leave CPU to the forked children */
		if (k % 64 == 0)
			usleep(100);

		if (b->p)
			blk_free(b, "bg");
		else
			blk_alloc(b, rnd_size(&rs), rnd_next(&rs));
	}
	for (int i = 0; i < 64; i++)
		blk_free(&s[i], "bg");
	return NULL;
}

/* Child after fork: the allocator must work, all classes and large. */
static int child_work(struct blk *inherited, int ninh)
{
	uint64_t rs = (uint64_t)getpid();
	static struct blk v[2000];
	int bad = 0;

	alarm(20); /* a deadlocked child dies, the parent sees it */
	for (int i = 0; i < ninh; i++)
		if (!blk_ok(&inherited[i]))
			bad |= 1;
	for (int r = 0; r < 3; r++) {
		for (int i = 0; i < MINWORK(2000); i++)
			if (!blk_alloc(&v[i], rnd_size(&rs), rnd_next(&rs)))
				return 2;
		for (int i = 0; i < MINWORK(2000); i++) {
			if (!blk_ok(&v[i]))
				bad |= 4;
			t_free(v[i].p);
		}
	}
	uint8_t *z = t_calloc(1, 100 * KiB);

	if (!z || first_nonzero(z, 100 * KiB) >= 0)
		bad |= 8;
	t_free(z);
	/* the child may free and reuse what it inherited */
	for (int i = 0; i < ninh; i++) {
		t_free(inherited[i].p);
		inherited[i].p = t_malloc(inherited[i].n);
		if (!inherited[i].p)
			return 2;
		memset(inherited[i].p, 0xee, inherited[i].n);
	}
	return bad;
}

TEST(fork_in_threaded_program)
{
	enum { BG = 4, INH = 500 };
	pthread_t t[BG];
	static struct blk inh[INH];
	double deadline = now() + stress_seconds();
	uint64_t rs = 99;
	int forks = 0;

	for (int i = 0; i < INH; i++)
		blk_alloc(&inh[i], rnd_size(&rs), (uint64_t)i);
	atomic_store(&bg_stop, false);
	start_threads(t, BG, bg_worker, (void *)1, 1);
	while (forks < 3 || (forks < 200 && now() < deadline)) {
		int status;
		pid_t pid = fork();

		ASSERT_GE(pid, 0);
		if (pid == 0)
			_exit(child_work(inh, INH));
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		ASSERT_TRUE(WIFEXITED(status)) {
			TH_LOG("child %d killed by signal %d (SIGALRM = deadlock)",
			       forks, WTERMSIG(status));
		}
		ASSERT_EQ(0, WEXITSTATUS(status)) {
			TH_LOG("child %d: failure bits %#x (1 inherited corrupt, 4 own blocks, 8 calloc)",
			       forks, WEXITSTATUS(status));
		}
		forks++;
	}
	atomic_store(&bg_stop, true);
	join_threads(t, BG);
	/* the parent's blocks are its own: the children's writes are invisible */
	for (int i = 0; i < INH; i++)
		blk_free(&inh[i], "parent after fork");
	for (int i = 0; i < INH; i++)
		blk_alloc(&inh[i], rnd_size(&rs), (uint64_t)i + 7);
	for (int i = 0; i < INH; i++)
		blk_free(&inh[i], "parent, new blocks");
	TH_LOG("%d forks in %.1f s", forks, now() - deadline + stress_seconds());
	ASSERT_NO_ERRORS();
}

/*
 * Parent and child never see each other's heap writes, also for memory
 * the child allocates after fork from spans the parent had cached.
 */
TEST(fork_heap_is_private)
{
	enum { N = 4000 };
	static struct blk v[N];
	int up[2], down[2], status;
	uint64_t rs = 3;
	pid_t pid;
	char c = 0;

	for (int i = 0; i < N; i++)
		ASSERT_TRUE(blk_alloc(&v[i], rnd_size(&rs) % 4096 + 1, (uint64_t)i));
	/* free half: the child will reuse those slots of the parent's spans */
	for (int i = 0; i < N; i += 2)
		blk_free(&v[i], "parent");
	ASSERT_EQ(0, pipe(up));
	ASSERT_EQ(0, pipe(down));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int bad = 0;

		alarm(20);
		for (int i = 1; i < N; i += 2) {
			if (!blk_ok(&v[i]))
				bad = 1;
			memset(v[i].p, 0xcc, v[i].n);
		}
		for (int i = 0; i < N; i += 2) {
			v[i].p = t_malloc(v[i].n);
			if (!v[i].p)
				_exit(2);
			memset(v[i].p, 0xdd, v[i].n);
		}
		if (write(up[1], "x", 1) != 1)
			bad = 3;
		/* stay alive until the parent has looked */
		if (read(down[0], &c, 1) != 1)
			bad = 4;
		_exit(bad);
	}
	ASSERT_EQ(1, read(up[0], &c, 1));
	/* child has written everywhere; parent's view must be unchanged */
	int bad = 0;

	for (int i = 1; i < N; i += 2)
		if (!blk_ok(&v[i]))
			bad++;
	for (int i = 0; i < N; i += 2) {
		ASSERT_TRUE(blk_alloc(&v[i], v[i].n, (uint64_t)i * 3));
	}
	ASSERT_EQ(1, write(down[1], "y", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) {
		TH_LOG("child saw corrupted inherited blocks or failed (%d)",
		       WEXITSTATUS(status));
	}
	EXPECT_EQ(0, bad) {
		TH_LOG("%d parent blocks changed by the child's writes", bad);
	}
	for (int i = 0; i < N; i++)
		blk_free(&v[i], "parent");
	ASSERT_NO_ERRORS();
}

/* ------------------------------------------------------------------ */
/* larson: objects outlive the thread that allocated them              */
/* ------------------------------------------------------------------ */

#define LA_THREADS 8
#define LA_SLOTS 1000

struct la_lineage {
	struct blk s[LA_SLOTS];
	uint64_t rs;
	long ops;
};

static void *la_worker(void *argp)
{
	struct la_lineage *l = argp;

	for (int k = 0; k < 4000; k++) {
		struct blk *b = &l->s[rnd_next(&l->rs) % LA_SLOTS];

		blk_free(b, "larson");
		blk_alloc(b, (size_t)(rnd_next(&l->rs) % 500) + 10, rnd_next(&l->rs));
	}
	l->ops += 4000;
	return NULL;
}

TEST(larson_like)
{
	static struct la_lineage l[LA_THREADS];
	double deadline = now() + stress_seconds();
	pthread_t t[LA_THREADS];
	long ops = 0;
	int gen;

	for (int i = 0; i < LA_THREADS; i++) {
		l[i].rs = (uint64_t)i * 7 + 1;
		for (int j = 0; j < LA_SLOTS; j++)
			blk_alloc(&l[i].s[j], (size_t)(rnd_next(&l[i].rs) % 500) + 10,
				  rnd_next(&l[i].rs));
	}
	for (gen = 0; gen < MINWORK(10) || (gen < 10000 && now() < deadline); gen++) {
		/* each new generation of threads takes over another's objects */
		for (int i = 0; i < LA_THREADS; i++)
			if (pthread_create(&t[i], NULL, la_worker,
					   &l[(i + gen) % LA_THREADS]))
				report("pthread_create");
		join_threads(t, LA_THREADS);
	}
	for (int i = 0; i < LA_THREADS; i++) {
		for (int j = 0; j < LA_SLOTS; j++)
			blk_free(&l[i].s[j], "larson end");
		ops += l[i].ops;
	}
	TH_LOG("%d generations, %ld replacements", gen, ops);
	ASSERT_NO_ERRORS();
}

/* ------------------------------------------------------------------ */
/* xmalloc-test: every thread frees batches allocated by others        */
/* ------------------------------------------------------------------ */

#define XM_THREADS 8
#define XM_BATCH 64
#define XM_MAXB 256

struct xm_batch {
	struct xm_batch *next;
	struct blk b[XM_BATCH];
};

static struct {
	pthread_mutex_t lock;
	struct xm_batch *head;
	int depth;
	double deadline;
	atomic_long batches;
} xm = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void xm_release(struct xm_batch *x)
{
	for (int i = 0; i < XM_BATCH; i++)
		blk_free(&x->b[i], "xmalloc");
	t_free(x);
}

static void *xm_worker(void *arg)
{
	uint64_t rs = (uintptr_t)arg * 13 + 3;

	/*
	 * Batches change hands only once XM_MAXB / 2 are queued: each thread
	 * queues its share of that at least, so the test's claim is bound by
	 * work, not by how much a slow guest gets done before the deadline.
	 */
	for (long k = 0; k < MINWORK(200) + XM_MAXB / XM_THREADS ||
	     now() < xm.deadline; k++) {
		struct xm_batch *mine = t_malloc(sizeof(*mine)), *other = NULL;

		if (!mine) {
			report("malloc(batch) failed");
			break;
		}
		for (int i = 0; i < XM_BATCH; i++)
			blk_alloc(&mine->b[i], (size_t)(rnd_next(&rs) % 256) + 1,
				  rnd_next(&rs));
		pthread_mutex_lock(&xm.lock);
		mine->next = xm.head;
		xm.head = mine;
		xm.depth++;
		/* take the oldest batch (most likely another thread's) */
		if (xm.depth > XM_MAXB / 2) {
			struct xm_batch **pp = &xm.head->next;

			while ((*pp)->next)
				pp = &(*pp)->next;
			other = *pp;
			*pp = NULL;
			xm.depth--;
		}
		pthread_mutex_unlock(&xm.lock);
		if (other) {
			xm_release(other);
			atomic_fetch_add(&xm.batches, 1);
		}
	}
	return NULL;
}

TEST(xmalloc_test_like)
{
	pthread_t t[XM_THREADS];

	xm.deadline = now() + stress_seconds();
	start_threads(t, XM_THREADS, xm_worker, (void *)1, 1);
	join_threads(t, XM_THREADS);
	while (xm.head) {
		struct xm_batch *x = xm.head;

		xm.head = x->next;
		xm_release(x);
	}
	TH_LOG("%ld batches of %d freed by another thread",
	       atomic_load(&xm.batches), XM_BATCH);
	ASSERT_NO_ERRORS();
	ASSERT_GT(atomic_load(&xm.batches), 0);
}

int main(int argc, char **argv)
{
	filter_tests();
	return test_harness_run(argc, argv);
}
