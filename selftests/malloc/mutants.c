// SPDX-License-Identifier: GPL-2.0
/*
 * Deliberately broken allocators, to prove the tests can fail (see
 * prove_failures.sh). An LD_PRELOAD shim over glibc's __libc_* entry points;
 * MUTANT=name picks one defect. Not part of `make check`.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

enum {
	M_NONE, M_MISALIGN, M_USABLE_LIE, M_CALLOC_DIRTY, M_REALLOC_LOSE,
	M_NO_ENOMEM, M_WEAK_ALIGN, M_REALLOC0_LEAK, M_TRIM_NOOP, M_MALLINFO_ZERO,
	M_STATS_SILENT, M_PVALLOC_SHORT, M_TINY_OVERLAP, M_MALLOC0_NULL,
	M_REMOTE_FREE_LEAK, M_SHARED_HEAP, M_FORK_LOCK, M_REUSE_LIVE,
	M_USABLE_SHORT, M_FREE_NULL_CRASH, M_USABLE_NULL, M_REALLOC_FAIL_FREES,
	M_LARGE_LEAK,
};
static const char *const names[] = {
	"none", "misalign", "usable_lie", "calloc_dirty", "realloc_lose",
	"no_enomem", "weak_align", "realloc0_leak", "trim_noop", "mallinfo_zero",
	"stats_silent", "pvalloc_short", "tiny_overlap", "malloc0_null",
	"remote_free_leak", "shared_heap", "fork_lock", "reuse_live",
	"usable_short", "free_null_crash", "usable_null", "realloc_fail_frees",
	"large_leak",
};

static int mutant = -1;
static __thread int free_null_run;
static pthread_t main_thread;
static pthread_mutex_t big_lock = PTHREAD_MUTEX_INITIALIZER;

/* A MAP_SHARED pool (shared_heap, tiny_overlap): bump allocation, no free. */
#define POOL_SIZE (512ul << 20)
static uint8_t *pool;
static size_t pool_used;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;

static int which(void)
{
	if (mutant < 0) {
		const char *m = getenv("MUTANT");

		mutant = M_NONE;
		for (size_t i = 0; m && i < sizeof(names) / sizeof(names[0]); i++)
			if (!strcmp(m, names[i]))
				mutant = (int)i;
	}
	return mutant;
}

__attribute__((constructor)) static void init(void)
{
	main_thread = pthread_self();
	if (which() == M_TRIM_NOOP)
		mallopt(M_TRIM_THRESHOLD, 1 << 30);
	if (which() == M_SHARED_HEAP || which() == M_TINY_OVERLAP) {
		pool = mmap(NULL, POOL_SIZE, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (pool == MAP_FAILED)
			abort();
	}
}

static bool in_pool(void *p)
{
	return pool && (uint8_t *)p >= pool && (uint8_t *)p < pool + POOL_SIZE;
}

static void *pool_alloc(size_t n, size_t stride)
{
	void *p = NULL;

	pthread_mutex_lock(&pool_lock);
	if (pool_used + n + 16 < POOL_SIZE) {
		p = pool + pool_used;
		pool_used += stride ? stride : (n + 15) / 16 * 16 + 16;
	}
	pthread_mutex_unlock(&pool_lock);
	return p;
}

void *malloc(size_t n)
{
	static __thread void *last;
	static __thread unsigned cnt;
	static __thread size_t last_n;
	void *p;

	switch (which()) {
	case M_MISALIGN:
		if (n >= 16) {
			p = __libc_memalign(16, n + 16);
			return p ? (char *)p + 8 : NULL;
		}
		break;
	case M_NO_ENOMEM:
		if (n > PTRDIFF_MAX)
			return NULL; /* and errno untouched */
		break;
	case M_MALLOC0_NULL:
		if (!n)
			return NULL;
		break;
	case M_SHARED_HEAP:
		if (n && n <= 4096)
			return pool_alloc(n, 0);
		break;
	case M_TINY_OVERLAP:
		if (n && n < 16)
			return pool_alloc(n, 8);
		break;
	case M_FORK_LOCK:
		pthread_mutex_lock(&big_lock);
		p = __libc_malloc(n);
		usleep(1);
		pthread_mutex_unlock(&big_lock);
		return p;
	case M_REUSE_LIVE:
		/* now and then hand out the previous block again, still live */
		if (++cnt % 97 == 0 && last && n <= last_n)
			return last;
		p = __libc_malloc(n);
		last = p;
		last_n = n;
		return p;
	}
	return __libc_malloc(n);
}

void free(void *p)
{
	switch (which()) {
	case M_FREE_NULL_CRASH:
		/* libc itself may free(NULL) once; twice in a row is the test */
		if (!p && ++free_null_run >= 2)
			abort();
		if (p)
			free_null_run = 0;
		break;
	case M_MISALIGN:
		if (((uintptr_t)p & 15) == 8)
			p = (char *)p - 8;
		break;
	case M_REMOTE_FREE_LEAK:
		if (!pthread_equal(pthread_self(), main_thread))
			return;
		break;
	case M_FORK_LOCK:
		pthread_mutex_lock(&big_lock);
		__libc_free(p);
		pthread_mutex_unlock(&big_lock);
		return;
	case M_REUSE_LIVE:
		return; /* a reused block must not be freed twice */
	case M_LARGE_LEAK:
		if (p && malloc_usable_size(p) > 32768)
			return;
		break;
	}
	if (in_pool(p))
		return;
	__libc_free(p);
}

void *calloc(size_t a, size_t b)
{
	switch (which()) {
	case M_CALLOC_DIRTY:
		return malloc(a * b);
	case M_NO_ENOMEM:
		return malloc(a * b); /* no overflow check */
	case M_MISALIGN: case M_SHARED_HEAP: case M_TINY_OVERLAP: {
		void *p;

		if (b && a > SIZE_MAX / b) {
			errno = ENOMEM;
			return NULL;
		}
		p = malloc(a * b);
		if (p)
			memset(p, 0, a * b);
		return p;
	}
	}
	return __libc_calloc(a, b);
}

#define NEXT(ret, name, ...) \
	static ret (*next_##name)(__VA_ARGS__); \
	if (!next_##name) \
		next_##name = (ret (*)(__VA_ARGS__))dlsym(RTLD_NEXT, #name)

size_t malloc_usable_size(void *p)
{
	NEXT(size_t, malloc_usable_size, void *);
	if (!p)
		return which() == M_USABLE_NULL ? 16 : 0;
	if (in_pool(p))
		return which() == M_TINY_OVERLAP ? 15 : 16;
	if (which() == M_MISALIGN && ((uintptr_t)p & 15) == 8)
		return next_malloc_usable_size((char *)p - 8) - 8;
	if (which() == M_USABLE_LIE)
		return next_malloc_usable_size(p) + 16;
	if (which() == M_USABLE_SHORT)
		return next_malloc_usable_size(p) / 2;
	return next_malloc_usable_size(p);
}

static bool moves_pointers(void)
{
	int m = which();

	return m == M_MISALIGN || m == M_SHARED_HEAP || m == M_TINY_OVERLAP ||
	       m == M_REUSE_LIVE || m == M_REALLOC_LOSE;
}

void *realloc(void *p, size_t n)
{
	if (!p)
		return malloc(n);
	if (!n && which() == M_REALLOC0_LEAK)
		return NULL;
	if (n > PTRDIFF_MAX && which() == M_REALLOC_FAIL_FREES) {
		memset(p, 0, malloc_usable_size(p));
		free(p);
		errno = ENOMEM;
		return NULL;
	}
	if (moves_pointers()) {
		size_t old = malloc_usable_size(p), keep = old < n ? old : n;
		void *q;

		if (!n) {
			free(p);
			return NULL;
		}
		if (n > PTRDIFF_MAX) {
			errno = ENOMEM;
			return NULL;
		}
		q = malloc(n);
		if (!q)
			return NULL;
		if (which() == M_REALLOC_LOSE && n > old)
			keep /= 2;
		memcpy(q, p, keep);
		free(p);
		return q;
	}
	return __libc_realloc(p, n);
}

void *reallocarray(void *p, size_t a, size_t b)
{
	if (which() != M_NO_ENOMEM && b && a > SIZE_MAX / b) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, a * b);
}

int posix_memalign(void **out, size_t al, size_t n)
{
	NEXT(int, posix_memalign, void **, size_t, size_t);
	if (which() == M_WEAK_ALIGN) {
		*out = malloc(n);
		return 0;
	}
	return next_posix_memalign(out, al, n);
}

void *aligned_alloc(size_t al, size_t n)
{
	NEXT(void *, aligned_alloc, size_t, size_t);
	if (which() == M_WEAK_ALIGN)
		return malloc(n);
	return next_aligned_alloc(al, n);
}

void *memalign(size_t al, size_t n)
{
	if (which() == M_WEAK_ALIGN)
		return malloc(n);
	return __libc_memalign(al, n);
}

void *valloc(size_t n)
{
	NEXT(void *, valloc, size_t);
	if (which() == M_WEAK_ALIGN)
		return malloc(n);
	return next_valloc(n);
}

void *pvalloc(size_t n)
{
	NEXT(void *, pvalloc, size_t);
	if (which() == M_PVALLOC_SHORT)
		return __libc_memalign((size_t)sysconf(_SC_PAGESIZE), n ? n : 1);
	return next_pvalloc(n);
}

int malloc_trim(size_t pad)
{
	NEXT(int, malloc_trim, size_t);
	if (which() == M_TRIM_NOOP)
		return -1;
	return next_malloc_trim(pad);
}

struct mallinfo2 mallinfo2(void)
{
	NEXT(struct mallinfo2, mallinfo2, void);
	if (which() == M_MALLINFO_ZERO)
		return (struct mallinfo2){ 0 };
	return next_mallinfo2();
}

void malloc_stats(void)
{
	NEXT(void, malloc_stats, void);
	if (which() == M_STATS_SILENT)
		return;
	next_malloc_stats();
}
