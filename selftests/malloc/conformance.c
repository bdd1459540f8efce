// SPDX-License-Identifier: GPL-2.0
/*
 * Conformance of the C malloc API as served by karena.
 *
 * Built three ways from this one file (see Makefile):
 *   conformance          linked with -lkarena (rpath to $TOP/lib)
 *   conformance-plain    not linked with karena; run with LD_PRELOAD=libkarena.so
 *                        (without the preload glibc serves it and the
 *                        served_by_karena tests fail: that is the point)
 *   conformance-$SAN     -DKARENA_PREFIXED, static libkarena_prefixed.a built
 *                        with the sanitizer, karena_-prefixed API
 */
#include "api.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "filter.h"

/*
 * The overflow tests pass impossible sizes on purpose, and use a block
 * after a realloc that failed (which leaves it valid): keep the compiler
 * from reasoning about either.
 */
#pragma GCC diagnostic ignored "-Wuse-after-free"

static size_t hide(size_t x)
{
	volatile size_t v = x;

	return v;
}

#define KiB (1024ul)
#define MiB (1024ul * 1024ul)

static size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/* The alignment every block of this size must have (x86_64 max_align_t). */
static size_t min_align(size_t n)
{
	size_t a = 1;

	if (n >= 16)
		return 16;
	while (a < n)
		a <<= 1;
	return a;
}

/* ------------------------------------------------------------------ */
/* Which allocator serves this binary                                  */
/* ------------------------------------------------------------------ */

#define HELPER_ARG "--alloc-helper"
#define HELPER_N 20000ul

/* Child mode: a known number of mallocs and frees, then exit. */
static int alloc_helper(void)
{
	static void *v[HELPER_N];

	for (unsigned long i = 0; i < HELPER_N; i++) {
		v[i] = t_malloc((size_t)(i % 2000) + 1);
		if (!v[i])
			return 2;
	}
	for (unsigned long i = 0; i < HELPER_N; i++)
		t_free(v[i]);
	return 0;
}

/*
 * Run ourselves in helper mode with KARENA_STATS=1 and return the stats line
 * counters printed at exit (stderr). Returns false if no line was printed.
 */
static bool stats_of_helper(unsigned long *mallocs, unsigned long *frees,
			    int *status)
{
	static char buf[1 << 16];
	size_t len = 0;
	int fds[2];
	pid_t pid;
	ssize_t r;
	char *s;

	if (pipe(fds))
		return false;
	pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		char *argv[] = { "conformance", HELPER_ARG, NULL };

		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		setenv("KARENA_STATS", "1", 1);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(fds[1]);
	while (len < sizeof(buf) - 1 &&
	       (r = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)r;
	buf[len] = 0;
	close(fds[0]);
	waitpid(pid, status, 0);
	for (s = buf; (s = strstr(s, "karena: mallocs=")); s++) {
		if (sscanf(s, "karena: mallocs=%lu frees=%lu", mallocs,
			   frees) == 2)
			return true;
	}
	fprintf(stderr, "# helper stderr: %.400s\n", buf);
	return false;
}

TEST(stats_line_at_exit_counts_our_mallocs)
{
	unsigned long m = 0, f = 0;
	int status = -1;

	ASSERT_TRUE(stats_of_helper(&m, &f, &status)) {
		TH_LOG("no 'karena: mallocs=N frees=N' line with KARENA_STATS=1: not served by karena");
	}
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	EXPECT_GE(m, HELPER_N);
	EXPECT_GE(f, HELPER_N);
	EXPECT_GE(m, f);
}

typedef int (*stats_fn)(struct karena_heap_stats *);
typedef const char *(*backend_fn)(void);

/* karena's own entry points, found the way the binary was built. */
static void *karena_sym(const char *name)
{
#ifdef KARENA_PREFIXED
	if (!strcmp(name, "karena_stats"))
		return (void *)karena_stats;
	if (!strcmp(name, "karena_backend"))
		return (void *)karena_backend;
	return NULL;
#else
	return dlsym(RTLD_DEFAULT, name);
#endif
}

TEST(karena_stats_counts_our_mallocs)
{
	static struct karena_heap_stats a = { .size = sizeof(a) }, b = { .size = sizeof(b) };
	stats_fn st = (stats_fn)karena_sym("karena_stats");
	enum { N = 1000 };
	void *v[N];

	ASSERT_NE(NULL, st) {
		TH_LOG("no karena_stats(): this binary is not served by karena");
	}
	ASSERT_EQ(0, st(&a));
	for (int i = 0; i < N; i++) {
		v[i] = t_malloc(100);
		ASSERT_NE(NULL, v[i]);
	}
	void *big = t_malloc(MiB);

	ASSERT_NE(NULL, big);
	ASSERT_EQ(0, st(&b));
	TH_LOG("mallocs %llu -> %llu, heap_alloc %llu -> %llu, large_mallocs %llu -> %llu",
	       (unsigned long long)a.mallocs, (unsigned long long)b.mallocs,
	       (unsigned long long)a.heap_alloc, (unsigned long long)b.heap_alloc,
	       (unsigned long long)a.large_mallocs, (unsigned long long)b.large_mallocs);
	EXPECT_GE(b.mallocs, a.mallocs + N + 1);
	EXPECT_GE(b.large_mallocs, a.large_mallocs + 1);
	EXPECT_GE(b.heap_alloc, a.heap_alloc + N * 100 + MiB);
	EXPECT_GE(b.heap_sys, b.heap_inuse);
	for (int i = 0; i < N; i++)
		t_free(v[i]);
	t_free(big);
}

/*
 * The OS backend in use; KARENA_EXPECT_BACKEND (set by run_guest.sh when
 * /dev/karena exists) makes it a requirement.
 */
TEST(backend_as_expected)
{
	backend_fn be = (backend_fn)karena_sym("karena_backend");
	const char *want = getenv("KARENA_EXPECT_BACKEND");

	ASSERT_NE(NULL, be);
	const char *got = be();

	ASSERT_NE(NULL, got);
	TH_LOG("backend: %s (KARENA_BACKEND=%s)", got,
	       getenv("KARENA_BACKEND") ? getenv("KARENA_BACKEND") : "unset");
	if (want && *want)
		ASSERT_STREQ(want, got);
}

#ifndef KARENA_PREFIXED
/*
 * Every function of the API must resolve to libkarena: one left to glibc
 * means glibc's free() sees karena's pointers (or the reverse).
 */
TEST(served_by_karena_every_symbol)
{
	static const char *const names[] = {
		"malloc", "free", "calloc", "realloc", "reallocarray",
		"posix_memalign", "aligned_alloc", "memalign", "valloc",
		"pvalloc", "malloc_usable_size", "malloc_trim", "mallinfo2",
		"malloc_stats",
	};
	int bad = 0;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		void *sym = dlsym(RTLD_DEFAULT, names[i]);
		Dl_info di = { 0 };

		if (!sym || !dladdr(sym, &di) || !di.dli_fname ||
		    !strstr(di.dli_fname, "libkarena")) {
			TH_LOG("%s is served by %s, not libkarena", names[i],
			       sym && di.dli_fname ? di.dli_fname : "nothing");
			bad++;
		}
	}
	ASSERT_EQ(0, bad);
}

/* The calls this binary makes go through the same definitions. */
TEST(served_by_karena_direct_calls)
{
	void *(*volatile m)(size_t) = malloc;
	void (*volatile fr)(void *) = free;
	Dl_info di = { 0 };

	ASSERT_NE(0, dladdr((void *)m, &di));
	ASSERT_NE(NULL, strstr(di.dli_fname, "libkarena")) {
		TH_LOG("malloc as called by this binary is in %s", di.dli_fname);
	}
	ASSERT_NE(0, dladdr((void *)fr, &di));
	ASSERT_NE(NULL, strstr(di.dli_fname, "libkarena"));
}
#endif

/* ------------------------------------------------------------------ */
/* malloc / free basics                                                */
/* ------------------------------------------------------------------ */

TEST(free_null_is_noop)
{
	t_free(NULL);
	t_free(NULL);
	void *p = t_malloc(10);

	ASSERT_NE(NULL, p);
	t_free(p);
}

/*
 * malloc(0): we document and require the glibc behaviour (a unique,
 * freeable pointer). C allows NULL too, but a NULL return breaks programs
 * that treat NULL as ENOMEM, so karena must not do it.
 */
TEST(malloc_zero_unique_freeable)
{
	void *a = t_malloc(0), *b = t_malloc(0);

	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	EXPECT_NE(a, b);
	t_free(a);
	t_free(b);
}

TEST(alignment_small_sizes)
{
	/* Many of each, so a tiny/combining allocator packs them. */
	static void *v[64];
	int bad = 0;

	for (size_t n = 1; n <= 256; n++) {
		for (int i = 0; i < 64; i++) {
			v[i] = t_malloc(n);
			ASSERT_NE(NULL, v[i]);
			if ((uintptr_t)v[i] % min_align(n)) {
				if (bad++ < 5)
					TH_LOG("malloc(%zu) = %p, not %zu-aligned",
					       n, v[i], min_align(n));
			}
		}
		for (int i = 0; i < 64; i++)
			t_free(v[i]);
	}
	ASSERT_EQ(0, bad);
}

TEST(alignment_16_all_size_classes)
{
	int bad = 0;

	/* every size up to past the largest small class, 8 objects each */
	for (size_t n = 16; n <= 40 * KiB; n += (n < 2048 ? 8 : 40)) {
		void *v[8];

		for (int i = 0; i < 8; i++) {
			v[i] = t_malloc(n);
			ASSERT_NE(NULL, v[i]);
			if ((uintptr_t)v[i] % 16 && bad++ < 5)
				TH_LOG("malloc(%zu) = %p, not 16-aligned", n, v[i]);
		}
		for (int i = 0; i < 8; i++)
			t_free(v[i]);
	}
	ASSERT_EQ(0, bad);
}

TEST(alignment_large)
{
	size_t sizes[] = { 32 * KiB + 1, 40 * KiB, 100 * KiB, MiB, 3 * MiB + 5, 64 * MiB + 1 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		void *p = t_malloc(hide(sizes[i]));

		ASSERT_NE(NULL, p);
		EXPECT_EQ(0, (uintptr_t)p % 16);
		memset(p, 0x5a, sizes[i]);
		t_free(p);
	}
}

TEST(usable_size_null_is_zero)
{
	EXPECT_EQ(0, t_malloc_usable_size(NULL));
}

TEST(usable_size_at_least_requested)
{
	int bad = 0;

	for (size_t n = 0; n <= 70 * KiB; n += (n < 4096 ? 1 : 97)) {
		void *p = t_malloc(n);
		size_t u;

		ASSERT_NE(NULL, p);
		u = t_malloc_usable_size(p);
		if (u < n && bad++ < 5)
			TH_LOG("malloc_usable_size(malloc(%zu)) = %zu", n, u);
		t_free(p);
	}
	for (size_t n = 128 * KiB; n <= 16 * MiB; n = n * 3 / 2 + 1) {
		void *p = t_malloc(n);

		ASSERT_NE(NULL, p);
		EXPECT_GE(t_malloc_usable_size(p), n);
		t_free(p);
	}
	ASSERT_EQ(0, bad);
}

/*
 * Every byte malloc_usable_size() reports is the caller's: fill all usable
 * bytes of many live blocks of mixed sizes and check none overlap. Catches
 * a usable size reaching into a neighbour (e.g. inside a tiny block).
 */
TEST(usable_bytes_do_not_overlap)
{
	enum { N = 20000 };
	static void *v[N];
	static size_t u[N];
	uint64_t rs = 42;
	int bad = 0;

	for (int i = 0; i < N; i++) {
		size_t r = rnd_next(&rs);
		size_t n = (i % 3 == 0) ? r % 16 : (i % 97 == 0) ? r % (64 * KiB) : r % 600;

		v[i] = t_malloc(n);
		ASSERT_NE(NULL, v[i]);
		u[i] = t_malloc_usable_size(v[i]);
		ASSERT_GE(u[i], n);
		pat_fill(v[i], u[i], (uint64_t)i);
	}
	for (int i = 0; i < N; i++) {
		long off = pat_check(v[i], u[i], (uint64_t)i);

		if (off >= 0 && bad++ < 5)
			TH_LOG("block %d (%p, usable %zu) clobbered at offset %ld",
			       i, v[i], u[i], off);
	}
	for (int i = 0; i < N; i++)
		t_free(v[i]);
	ASSERT_EQ(0, bad);
}

/*
 * Tiny objects (< 16 bytes) share 16-byte blocks: freeing some must keep
 * the others intact, and the block must be reused only when all are dead.
 */
TEST(tiny_objects_free_interleaved)
{
	enum { N = 100000 };
	static uint8_t *v[N];
	static uint32_t seed[N];
	int bad = 0;

	for (uint32_t round = 0; round < 4; round++) {
		for (int i = 0; i < N; i++) {
			size_t n = (size_t)(i % 15) + 1;

			if (v[i])
				continue;
			v[i] = t_malloc(n);
			ASSERT_NE(NULL, v[i]);
			seed[i] = (uint32_t)i * 8 + round;
			pat_fill(v[i], n, seed[i]);
		}
		for (int i = 0; i < N; i++) {
			size_t n = (size_t)(i % 15) + 1;

			if (pat_check(v[i], n, seed[i]) >= 0 && bad++ < 5)
				TH_LOG("tiny object %d (%p, %zu bytes) clobbered in round %u",
				       i, (void *)v[i], n, round);
		}
		/* free a different subset each round */
		for (int i = (int)round; i < N; i += 2 + (int)round) {
			t_free(v[i]);
			v[i] = NULL;
		}
	}
	for (int i = 0; i < N; i++)
		t_free(v[i]);
	ASSERT_EQ(0, bad);
}

/* ------------------------------------------------------------------ */
/* calloc                                                              */
/* ------------------------------------------------------------------ */

TEST(calloc_returns_zeroed)
{
	for (size_t n = 1; n <= 80 * KiB; n = n * 5 / 4 + 1) {
		uint8_t *p = t_calloc(1, n);

		ASSERT_NE(NULL, p);
		ASSERT_EQ(-1, first_nonzero(p, n)) {
			TH_LOG("calloc(1, %zu) not zeroed", n);
		}
		t_free(p);
	}
	void *z = t_calloc(0, 16), *y = t_calloc(16, 0);

	ASSERT_NE(NULL, z);
	ASSERT_NE(NULL, y);
	t_free(z);
	t_free(y);
}

/* Freed blocks dirtied by the caller come back zeroed from calloc. */
TEST(calloc_zeroed_after_dirty_reuse_same_size)
{
	static const size_t sizes[] = { 1, 5, 8, 15, 16, 24, 48, 100, 512, 1000,
		4096, 8192, 20000, 32 * KiB, 32 * KiB + 1, 100 * KiB, MiB };
	enum { N = 256 };
	static uint8_t *v[N];

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		size_t n = sizes[s];
		int cnt = n > 64 * KiB ? 16 : N;

		for (int i = 0; i < cnt; i++) {
			v[i] = t_malloc(n);
			ASSERT_NE(NULL, v[i]);
			memset(v[i], 0xa5, t_malloc_usable_size(v[i]));
		}
		for (int i = 0; i < cnt; i++)
			t_free(v[i]);
		for (int i = 0; i < cnt; i++) {
			v[i] = t_calloc(n, 1);
			ASSERT_NE(NULL, v[i]);
			long off = first_nonzero(v[i], n);

			ASSERT_EQ(-1, off) {
				TH_LOG("calloc(%zu, 1) #%d = %p has byte %#x at %ld",
				       n, i, (void *)v[i], v[i][off], off);
			}
		}
		for (int i = 0; i < cnt; i++)
			t_free(v[i]);
	}
}

/*
 * Whole spans freed by one size class and reused by another: the new
 * class's calloc must not trust "fresh span" state.
 */
TEST(calloc_zeroed_after_span_reuse_other_class)
{
	enum { N = 40000 };
	static uint8_t *v[N];

	for (int i = 0; i < N; i++) {
		v[i] = t_malloc(48);
		ASSERT_NE(NULL, v[i]);
		memset(v[i], 0xa5, 48);
	}
	for (int i = 0; i < N; i++)
		t_free(v[i]);
	for (int i = 0; i < N / 16; i++) {
		v[i] = t_calloc(1, 1000);
		ASSERT_NE(NULL, v[i]);
		ASSERT_EQ(-1, first_nonzero(v[i], 1000)) {
			TH_LOG("calloc(1, 1000) #%d = %p not zeroed", i, (void *)v[i]);
		}
	}
	for (int i = 0; i < N / 16; i++)
		t_free(v[i]);
	/* and large objects out of the same pages */
	for (int i = 0; i < 8; i++) {
		v[i] = t_calloc(1, 200 * KiB);
		ASSERT_NE(NULL, v[i]);
		ASSERT_EQ(-1, first_nonzero(v[i], 200 * KiB));
	}
	for (int i = 0; i < 8; i++)
		t_free(v[i]);
}

TEST(calloc_overflow_enomem)
{
	void *p;

	errno = 0;
	p = t_calloc(hide(SIZE_MAX / 2), 4);
	EXPECT_EQ(NULL, p);
	EXPECT_EQ(ENOMEM, errno);
	errno = 0;
	p = t_calloc(hide((size_t)1 << 33), (size_t)1 << 31);
	EXPECT_EQ(NULL, p);
	EXPECT_EQ(ENOMEM, errno);
	errno = 0;
	p = t_calloc(hide(SIZE_MAX), hide(SIZE_MAX));
	EXPECT_EQ(NULL, p);
	EXPECT_EQ(ENOMEM, errno);
	/* the product fits in size_t but not in the address space */
	errno = 0;
	p = t_calloc(hide((size_t)1 << 24), (size_t)1 << 24);
	EXPECT_EQ(NULL, p);
	EXPECT_EQ(ENOMEM, errno);
}

/* ------------------------------------------------------------------ */
/* Impossible sizes                                                    */
/* ------------------------------------------------------------------ */

TEST(malloc_huge_enomem)
{
	static const size_t sizes[] = { SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 4096,
		SIZE_MAX - 65536, SIZE_MAX / 2 + 1, (size_t)PTRDIFF_MAX,
		(size_t)1 << 48 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		void *p;

		errno = 0;
		p = t_malloc(hide(sizes[i]));
		EXPECT_EQ(NULL, p) {
			TH_LOG("malloc(%#zx) = %p", sizes[i], p);
		}
		EXPECT_EQ(ENOMEM, errno) {
			TH_LOG("malloc(%#zx): errno %d", sizes[i], errno);
		}
	}
	/* and the allocator still works */
	void *q = t_malloc(100);

	ASSERT_NE(NULL, q);
	t_free(q);
}

TEST(aligned_apis_huge_enomem)
{
	void *p = (void *)1;

	errno = 0;
	EXPECT_EQ(ENOMEM, t_posix_memalign(&p, 64, hide(SIZE_MAX - 100)));
	errno = 0;
	EXPECT_EQ(NULL, t_aligned_alloc(64, hide(SIZE_MAX - 63)));
	EXPECT_EQ(ENOMEM, errno);
	errno = 0;
	EXPECT_EQ(NULL, t_memalign(4096, hide(SIZE_MAX - 100)));
	EXPECT_EQ(ENOMEM, errno);
	errno = 0;
	EXPECT_EQ(NULL, t_valloc(hide(SIZE_MAX - 100)));
	EXPECT_EQ(ENOMEM, errno);
	/* rounding up to a page overflows: must not return a tiny block */
	errno = 0;
	EXPECT_EQ(NULL, t_pvalloc(hide(SIZE_MAX - 100)));
	EXPECT_EQ(ENOMEM, errno);
}

/* ------------------------------------------------------------------ */
/* realloc / reallocarray                                              */
/* ------------------------------------------------------------------ */

TEST(realloc_null_is_malloc)
{
	uint8_t *p = t_realloc(NULL, 1000);

	ASSERT_NE(NULL, p);
	EXPECT_GE(t_malloc_usable_size(p), 1000);
	memset(p, 1, 1000);
	t_free(p);
	p = t_realloc(NULL, 0);
	ASSERT_NE(NULL, p);
	t_free(p);
}

/*
 * realloc(p, 0): documented behaviour is glibc's: p is freed and NULL is
 * returned (errno untouched). Returning a fresh minimal block is also
 * accepted. Either way p must not leak: 20000 x 16 KiB (320 MiB) leaked
 * would show in RSS.
 */
TEST(realloc_zero_frees)
{
	size_t before = rss_bytes(), after;
	int nulls = 0;

	for (int i = 0; i < 20000; i++) {
		uint8_t *p = t_malloc(16 * KiB);
		void *r;

		ASSERT_NE(NULL, p);
		for (size_t o = 0; o < 16 * KiB; o += 4096)
			p[o] = 1;
		r = t_realloc(p, 0);
		if (!r)
			nulls++;
		t_free(r);
	}
	after = rss_bytes();
	TH_LOG("realloc(p, 0) returned NULL %d/20000 times", nulls);
	EXPECT_TRUE(nulls == 0 || nulls == 20000);
	EXPECT_LT(after, before + 64 * MiB) {
		TH_LOG("RSS grew by %zu MiB: realloc(p, 0) leaks p",
		       (after - before) / MiB);
	}
}

#define REF_MAX (9 * MiB)
static uint8_t ref[REF_MAX];

/*
 * realloc a block from one size to another in steps, checking after each
 * step that every byte of the old contents survived. Returns 0 if so.
 */
static int grow_shrink(struct __test_metadata *_metadata, size_t from,
		       size_t to, size_t step)
{
	size_t n = from;
	uint8_t *p = t_malloc(n);

	if (ref[1] == 0)
		pat_fill(ref, REF_MAX, 77);
	if (!p || from > REF_MAX || to > REF_MAX)
		return 1;
	memcpy(p, ref, n);
	while (n != to) {
		size_t m = to > n ? (to - n < step ? to : n + step)
				  : (n - to < step ? to : n - step);
		uint8_t *q = t_realloc(p, m);
		size_t keep = m < n ? m : n;

		if (!q) {
			TH_LOG("realloc(%p, %zu) failed", (void *)p, m);
			t_free(p);
			return 1;
		}
		if (memcmp(q, ref, keep)) {
			TH_LOG("realloc %zu -> %zu lost data (first bad byte %ld)",
			       n, m, pat_check(q, keep, 77));
			t_free(q);
			return 1;
		}
		if (m > n)
			memcpy(q + n, ref + n, m - n);
		p = q;
		n = m;
	}
	t_free(p);
	return 0;
}

/*
 * One byte at a time through every size up to past the largest small
 * class (REALLOC_STEP=N for bigger steps, used in the slow guest: any step
 * still crosses every class boundary).
 */
static size_t realloc_step(void)
{
	const char *s = getenv("REALLOC_STEP");

	return s && atol(s) > 0 ? (size_t)atol(s) : 1;
}

TEST(realloc_grow_every_size)
{
	ASSERT_EQ(0, grow_shrink(_metadata, 1, 34 * KiB, realloc_step()));
}

TEST(realloc_shrink_every_size)
{
	ASSERT_EQ(0, grow_shrink(_metadata, 34 * KiB, 1, realloc_step()));
}

TEST(realloc_into_and_out_of_large)
{
	static const size_t jumps[][2] = {
		{ 16, 100 * KiB }, { 100 * KiB, 16 }, { 32 * KiB, 32 * KiB + 1 },
		{ 32 * KiB + 1, 32 * KiB }, { 1, MiB }, { MiB, 1 },
		{ 200 * KiB, 40 * KiB }, { 40 * KiB, 8 * MiB }, { MiB, 4 * MiB },
		{ 4 * MiB, MiB }, { 8, 17 }, { 24000, 33000 },
	};

	for (size_t i = 0; i < sizeof(jumps) / sizeof(jumps[0]); i++) {
		ASSERT_EQ(0, grow_shrink(_metadata, jumps[i][0], jumps[i][1],
					  SIZE_MAX)) {
			TH_LOG("jump %zu -> %zu", jumps[i][0], jumps[i][1]);
		}
	}
	/* large, in big steps both ways */
	ASSERT_EQ(0, grow_shrink(_metadata, 30 * KiB, 3 * MiB, 61 * KiB));
	ASSERT_EQ(0, grow_shrink(_metadata, 3 * MiB, 30 * KiB, 61 * KiB));
}

/*
 * Large objects grown and shrunk in place next to other live large
 * objects: no two live blocks ever share a byte.
 */
TEST(realloc_large_in_place_no_overlap)
{
	enum { N = 24 };
	static uint8_t *v[N];
	static size_t n[N];
	uint64_t rs = 1234;

	for (int i = 0; i < N; i++) {
		n[i] = 40 * KiB + (size_t)(rnd_next(&rs) % (200 * KiB));
		v[i] = t_malloc(n[i]);
		ASSERT_NE(NULL, v[i]);
		pat_fill(v[i], n[i], (uint64_t)i);
	}
	for (int round = 0; round < 200; round++) {
		int i = (int)(rnd_next(&rs) % N);
		uint64_t op = rnd_next(&rs) % 3;

		if (op == 0) {
			/* free a neighbour-to-be, so the next grow can go in place */
			t_free(v[i]);
			n[i] = 33 * KiB + (size_t)(rnd_next(&rs) % (100 * KiB));
			v[i] = t_malloc(n[i]);
		} else {
			size_t m = op == 1 ? n[i] + (size_t)(rnd_next(&rs) % (300 * KiB)) + 1
					   : 33 * KiB + (size_t)(rnd_next(&rs) % n[i]);
			uint8_t *q = t_realloc(v[i], m);

			ASSERT_NE(NULL, q);
			ASSERT_EQ(-1, pat_check(q, m < n[i] ? m : n[i], (uint64_t)i)) {
				TH_LOG("realloc %zu -> %zu lost data", n[i], m);
			}
			v[i] = q;
			n[i] = m;
		}
		ASSERT_NE(NULL, v[i]);
		pat_fill(v[i], n[i], (uint64_t)i);
		for (int j = 0; j < N; j++) {
			ASSERT_EQ(-1, pat_check(v[j], n[j], (uint64_t)j)) {
				TH_LOG("round %d: block %d (%p, %zu) clobbered after op %llu on %d",
				       round, j, (void *)v[j], n[j], (unsigned long long)op, i);
			}
		}
	}
	for (int i = 0; i < N; i++)
		t_free(v[i]);
}

/* Repeated large allocations do not leak memory or address space. */
TEST(large_alloc_free_cycles_bounded)
{
	uint64_t rs = 77;
	size_t rss0 = 0, vsz0 = 0, rss1, vsz1 = 0;
	unsigned long size;
	FILE *f;

	for (int i = 0; i < 2000; i++) {
		size_t n = 33 * KiB + (size_t)(rnd_next(&rs) % (16 * MiB));
		uint8_t *p = t_malloc(n);

		ASSERT_NE(NULL, p);
		p[0] = 1;
		p[n / 2] = 2;
		p[n - 1] = 3;
		t_free(p);
		if (i == 100) {
			rss0 = rss_bytes();
			f = fopen("/proc/self/statm", "r");
			ASSERT_NE(NULL, f);
			ASSERT_EQ(1, fscanf(f, "%lu", &size));
			fclose(f);
			vsz0 = size * page_size();
		}
	}
	rss1 = rss_bytes();
	f = fopen("/proc/self/statm", "r");
	ASSERT_NE(NULL, f);
	ASSERT_EQ(1, fscanf(f, "%lu", &size));
	fclose(f);
	vsz1 = size * page_size();
	TH_LOG("RSS %zu -> %zu KiB, VSZ %zu -> %zu MiB", rss0 / KiB, rss1 / KiB,
	       vsz0 / MiB, vsz1 / MiB);
	EXPECT_LT(rss1, rss0 + 64 * MiB);
	EXPECT_LT(vsz1, vsz0 + 1024 * MiB);
}

TEST(realloc_of_aligned_block_preserves)
{
	void *p = NULL;

	ASSERT_EQ(0, t_posix_memalign(&p, 4096, 3000));
	pat_fill(p, 3000, 5);
	p = t_realloc(p, 50 * KiB);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(-1, pat_check(p, 3000, 5));
	p = t_realloc(p, 100);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(-1, pat_check(p, 100, 5));
	t_free(p);
}

TEST(realloc_failure_keeps_block)
{
	uint8_t *p = t_malloc(1000), *q;

	ASSERT_NE(NULL, p);
	pat_fill(p, 1000, 9);
	errno = 0;
	q = t_realloc(p, hide(SIZE_MAX - 10));
	EXPECT_EQ(NULL, q);
	EXPECT_EQ(ENOMEM, errno);
	EXPECT_EQ(-1, pat_check(p, 1000, 9));
	errno = 0;
	q = t_realloc(p, hide((size_t)1 << 48));
	EXPECT_EQ(NULL, q);
	EXPECT_EQ(ENOMEM, errno);
	EXPECT_EQ(-1, pat_check(p, 1000, 9));
	t_free(p);
}

TEST(reallocarray_basic)
{
	uint32_t *p = t_reallocarray(NULL, 100, sizeof(uint32_t));

	ASSERT_NE(NULL, p);
	for (uint32_t i = 0; i < 100; i++)
		p[i] = i * 3;
	p = t_reallocarray(p, 10000, sizeof(uint32_t));
	ASSERT_NE(NULL, p);
	for (uint32_t i = 0; i < 100; i++)
		ASSERT_EQ(i * 3, p[i]);
	t_free(p);
}

TEST(reallocarray_overflow_enomem)
{
	uint8_t *p = t_malloc(64), *q;

	ASSERT_NE(NULL, p);
	pat_fill(p, 64, 3);
	errno = 0;
	q = t_reallocarray(p, hide(SIZE_MAX / 2), 4);
	EXPECT_EQ(NULL, q);
	EXPECT_EQ(ENOMEM, errno);
	errno = 0;
	q = t_reallocarray(NULL, hide((size_t)1 << 40), (size_t)1 << 40);
	EXPECT_EQ(NULL, q);
	EXPECT_EQ(ENOMEM, errno);
	/* the original block is untouched and still owned by the caller */
	EXPECT_EQ(-1, pat_check(p, 64, 3));
	t_free(p);
}

/* ------------------------------------------------------------------ */
/* Aligned allocation                                                  */
/* ------------------------------------------------------------------ */

static const size_t al_sizes[] = { 1, 8, 15, 16, 17, 100, 1000, 4095, 4096,
	4097, 20000, 32 * KiB, 40 * KiB, 300 * KiB, 2 * MiB + 3 };

TEST(posix_memalign_alignments)
{
	for (size_t a = sizeof(void *); a <= 4 * MiB; a <<= 1) {
		for (size_t s = 0; s < sizeof(al_sizes) / sizeof(al_sizes[0]); s++) {
			void *p = NULL;
			size_t n = al_sizes[s];

			ASSERT_EQ(0, t_posix_memalign(&p, a, n)) {
				TH_LOG("posix_memalign(%zu, %zu)", a, n);
			}
			ASSERT_EQ(0, (uintptr_t)p % a) {
				TH_LOG("posix_memalign(%zu, %zu) = %p", a, n, p);
			}
			ASSERT_GE(t_malloc_usable_size(p), n);
			memset(p, 0x11, n);
			t_free(p);
		}
	}
}

TEST(posix_memalign_bad_alignment_einval)
{
	static const size_t bad[] = { 0, 1, 2, 4, sizeof(void *) / 2 * 3, 24, 48,
		4096 + 8, SIZE_MAX, SIZE_MAX / 2 + 2 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		void *p = (void *)0x1234;
		int r;

		errno = 4242;
		r = t_posix_memalign(&p, bad[i], 64);
		EXPECT_EQ(EINVAL, r) {
			TH_LOG("posix_memalign(alignment %zu) returned %d", bad[i], r);
		}
		/* the error is the return value, not errno; *memptr untouched */
		EXPECT_EQ(4242, errno);
		EXPECT_EQ((void *)0x1234, p);
	}
}

TEST(aligned_alloc_alignments)
{
	for (size_t a = 1; a <= 4 * MiB; a <<= 1) {
		for (size_t s = 0; s < sizeof(al_sizes) / sizeof(al_sizes[0]); s++) {
			size_t n = al_sizes[s];
			void *p = t_aligned_alloc(a, n);

			ASSERT_NE(NULL, p) {
				TH_LOG("aligned_alloc(%zu, %zu)", a, n);
			}
			ASSERT_EQ(0, (uintptr_t)p % a);
			ASSERT_GE(t_malloc_usable_size(p), n);
			memset(p, 0x22, n);
			t_free(p);
		}
	}
}

/* C17 7.22.3.1: an unsupported alignment fails with NULL (EINVAL). */
TEST(aligned_alloc_bad_alignment_einval)
{
	static const size_t bad[] = { 0, 3, 24, 48, 4096 + 16, SIZE_MAX };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		void *p;

		errno = 0;
		p = t_aligned_alloc(bad[i], 64);
		EXPECT_EQ(NULL, p) {
			TH_LOG("aligned_alloc(%zu, 64) = %p", bad[i], p);
		}
		EXPECT_EQ(EINVAL, errno) {
			TH_LOG("aligned_alloc(%zu, 64): errno %d", bad[i], errno);
		}
		if (p)
			t_free(p);
	}
}

TEST(memalign_alignments)
{
	for (size_t a = 1; a <= 4 * MiB; a <<= 1) {
		for (size_t s = 0; s < sizeof(al_sizes) / sizeof(al_sizes[0]); s++) {
			size_t n = al_sizes[s];
			void *p = t_memalign(a, n);

			ASSERT_NE(NULL, p);
			ASSERT_EQ(0, (uintptr_t)p % a) {
				TH_LOG("memalign(%zu, %zu) = %p", a, n, p);
			}
			ASSERT_GE(t_malloc_usable_size(p), n);
			memset(p, 0x33, n);
			t_free(p);
		}
	}
}

TEST(valloc_page_aligned)
{
	for (size_t s = 0; s < sizeof(al_sizes) / sizeof(al_sizes[0]); s++) {
		size_t n = al_sizes[s];
		void *p = t_valloc(n);

		ASSERT_NE(NULL, p);
		ASSERT_EQ(0, (uintptr_t)p % page_size()) {
			TH_LOG("valloc(%zu) = %p", n, p);
		}
		ASSERT_GE(t_malloc_usable_size(p), n);
		memset(p, 0x44, n);
		t_free(p);
	}
}

/* pvalloc rounds the size up to whole pages; pvalloc(0) is a valid block. */
TEST(pvalloc_page_aligned_whole_pages)
{
	size_t pg = page_size();

	for (size_t s = 0; s < sizeof(al_sizes) / sizeof(al_sizes[0]); s++) {
		size_t n = al_sizes[s];
		size_t want = (n + pg - 1) / pg * pg;
		uint8_t *p = t_pvalloc(n);

		ASSERT_NE(NULL, p);
		ASSERT_EQ(0, (uintptr_t)p % pg);
		ASSERT_GE(t_malloc_usable_size(p), want) {
			TH_LOG("pvalloc(%zu): usable %zu < %zu", n,
			       t_malloc_usable_size(p), want);
		}
		memset(p, 0x55, want);
		t_free(p);
	}
	uint8_t *z = t_pvalloc(0);

	ASSERT_NE(NULL, z);
	ASSERT_EQ(0, (uintptr_t)z % pg);
	t_free(z);
}

/* Many live aligned blocks interleaved with plain ones never overlap. */
TEST(aligned_blocks_do_not_overlap)
{
	enum { N = 3000 };
	static void *v[N];
	static size_t n[N];
	uint64_t rs = 7;

	for (int i = 0; i < N; i++) {
		size_t a = (size_t)16 << (rnd_next(&rs) % 10);

		n[i] = (size_t)(rnd_next(&rs) % 5000) + 1;
		if (i % 2)
			v[i] = t_malloc(n[i]);
		else
			ASSERT_EQ(0, t_posix_memalign(&v[i], a, n[i]));
		ASSERT_NE(NULL, v[i]);
		pat_fill(v[i], n[i], (uint64_t)i);
	}
	for (int i = 0; i < N; i++) {
		ASSERT_EQ(-1, pat_check(v[i], n[i], (uint64_t)i)) {
			TH_LOG("block %d (%p, %zu) clobbered", i, v[i], n[i]);
		}
	}
	for (int i = 0; i < N; i++)
		t_free(v[i]);
}

/* ------------------------------------------------------------------ */
/* malloc_trim, mallinfo2, malloc_stats                                */
/* ------------------------------------------------------------------ */

/*
 * 64 MiB of 4 KiB blocks (below glibc's mmap threshold, inside karena's
 * small classes), touched, freed: malloc_trim(0) returns most of it.
 */
TEST(malloc_trim_releases_memory)
{
	enum { N = 16384 };
	static uint8_t *v[N];
	size_t base = rss_bytes(), peak, trimmed;

	for (int i = 0; i < N; i++) {
		v[i] = t_malloc(4000);
		ASSERT_NE(NULL, v[i]);
		memset(v[i], 0x77, 4000);
	}
	peak = rss_bytes();
	/* keep the first block so the heap is not simply empty */
	for (int i = 1; i < N; i++)
		t_free(v[i]);
	(void)t_malloc_trim(0);
	trimmed = rss_bytes();
	TH_LOG("RSS base %zu KiB, peak %zu KiB, after trim %zu KiB",
	       base / KiB, peak / KiB, trimmed / KiB);
	ASSERT_GT(peak, base + 48 * MiB);
	EXPECT_LT(trimmed, peak - 40 * MiB);
	/* released memory is reusable and comes back zeroed from calloc */
	for (int i = 1; i < N; i++) {
		v[i] = t_calloc(1, 4000);
		ASSERT_NE(NULL, v[i]);
		ASSERT_EQ(-1, first_nonzero(v[i], 4000));
	}
	for (int i = 0; i < N; i++)
		t_free(v[i]);
}

TEST(malloc_trim_on_fresh_heap)
{
	int r = t_malloc_trim(0);

	EXPECT_TRUE(r == 0 || r == 1);
	r = t_malloc_trim(1 << 20);
	EXPECT_TRUE(r == 0 || r == 1);
	void *p = t_malloc(123);

	ASSERT_NE(NULL, p);
	t_free(p);
}

/* mallinfo2 in-use bytes (uordblks + hblkhd) follow allocations. */
TEST(mallinfo2_tracks_usage)
{
	enum { N = 10000 };
	static void *v[N];
	struct mallinfo2 a, b, c;
	size_t ua, ub, uc;

	a = t_mallinfo2();
	for (int i = 0; i < N; i++) {
		v[i] = t_malloc(1024);
		ASSERT_NE(NULL, v[i]);
	}
	void *big = t_malloc(16 * MiB);

	ASSERT_NE(NULL, big);
	b = t_mallinfo2();
	for (int i = 0; i < N; i++)
		t_free(v[i]);
	t_free(big);
	c = t_mallinfo2();
	ua = a.uordblks + a.hblkhd;
	ub = b.uordblks + b.hblkhd;
	uc = c.uordblks + c.hblkhd;
	TH_LOG("in use: before %zu, live %zu, after free %zu; arena %zu -> %zu",
	       ua, ub, uc, a.arena, b.arena);
	EXPECT_GE(ub, ua + N * 1024ul + 16 * MiB);
	EXPECT_LE(uc, ub - (N * 1024ul + 16 * MiB));
	/* system bytes cover what is in use */
	EXPECT_GE(b.arena + b.hblkhd, b.uordblks + b.hblkhd);
}

/*
 * glibc's convention, which programs summing uordblks + hblkhd rely on:
 * hblkhd (mmapped/large blocks) is not also counted in uordblks.
 */
TEST(mallinfo2_counts_bytes_once)
{
	struct mallinfo2 a, b;
	size_t want = 16 * MiB + 64 * KiB, got;
	void *big, *small;

	a = t_mallinfo2();
	big = t_malloc(16 * MiB);
	small = t_malloc(64 * KiB);
	ASSERT_NE(NULL, big);
	ASSERT_NE(NULL, small);
	b = t_mallinfo2();
	got = (b.uordblks + b.hblkhd) - (a.uordblks + a.hblkhd);
	TH_LOG("uordblks %zu -> %zu, hblkhd %zu -> %zu", a.uordblks, b.uordblks,
	       a.hblkhd, b.hblkhd);
	EXPECT_GE(got, want);
	EXPECT_LE(got, want + want / 4) {
		TH_LOG("%zu bytes in use reported for %zu allocated: large blocks counted in both uordblks and hblkhd",
		       got, want);
	}
	t_free(big);
	t_free(small);
}

TEST(malloc_stats_prints_to_stderr)
{
	char buf[4096] = "";
	char path[] = "/tmp/karena-malloc-stats-XXXXXX";
	int fd = mkstemp(path), saved;
	ssize_t n;

	ASSERT_GE(fd, 0);
	unlink(path);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	void *p = t_malloc(1000);

	t_malloc_stats();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	t_free(p);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	ASSERT_GT(n, 10);
	buf[n] = 0;
	TH_LOG("malloc_stats: %.120s", buf);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], HELPER_ARG))
		return alloc_helper();
	filter_tests();
	return test_harness_run(argc, argv);
}
