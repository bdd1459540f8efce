// SPDX-License-Identifier: MIT
/*
 * malloc.c - the malloc API, init and fork.
 *
 * Small allocation fast path (inlined into every entry point):
 *   TLS mcache pointer -> current span (or list of freed objects, tcache.c)
 *   of the class -> pop its free list.
 * No locks, no atomic instructions, no NULL test: a thread without a
 * cache yet points at boot_mcache, whose spans are all the empty span, so
 * its first malloc of every class takes the slow path, which sets the
 * cache up.  Small free fast path: arena index entry -> the arena's page
 * map -> span (two dependent loads); an object-start check; if this
 * span's owner token is this thread's (mcache.c "Owner tokens": the
 * thread pointer, no TLS load), push the object on the thread's list of
 * freed objects of the class, which the span points to (no atomics; the
 * next malloc of the class takes it back: tcache.c), else on the same
 * list found through the thread's cache; the lists give objects back to
 * their spans in batches.  Statistics:
 * malloc adds one to a per-mcache counter, free() counts nothing (frees
 * are derived, mstats.c).
 *
 * There is no tiny allocator: Go combines requests below 16 bytes into
 * 16-byte blocks because its GC frees a block wholesale; with per-object
 * free() the block needs a live count, paid on every free of a piece, and
 * it only saves memory for 1..2-byte requests (lib/README.md: "Tiny
 * allocator").  Requests of 0..8 bytes use the 8-byte class.
 *
 * Init happens at the first allocation of the process, allocates nothing
 * through malloc (os layer is raw syscalls, metadata is mmap'd), and only
 * then calls pthread_atfork (which may itself allocate).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "internal.h"

HIDDEN int karena_inited;
HIDDEN int karena_debug;
HIDDEN int karena_hugepage;
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- diagnostics ---- */

static void write_str(const char *s)
{
	ssize_t r = write(2, s, strlen(s));

	(void)r;
}

HIDDEN void karena_warn(const char *msg)
{
	write_str("karena: ");
	write_str(msg);
	write_str("\n");
}

HIDDEN void karena_fatal(const char *msg)
{
	write_str("karena: fatal: ");
	write_str(msg);
	write_str("\n");
	abort();
}

HIDDEN void karena_bad_pointer(const char *what, const void *p)
{
	char buf[160];

	if (!karena_debug)
		return;
	snprintf(buf, sizeof(buf), "%s %p detected (KARENA_DEBUG=1)",
		 what, p);
	karena_fatal(buf);
}

/* ---- init, env, fork ---- */

static void fork_prepare(void)
{
	mcache_lock_all();
	mcentral_lock_all();
	heap_lock_all();
}

static void fork_parent(void)
{
	heap_unlock_all();
	mcentral_unlock_all();
	mcache_unlock_all();
}

static void fork_child(void)
{
	heap_reinit_locks();
	mcentral_reinit_locks();
	mcache_reinit_locks();
	mcache_retoken_after_fork();
	scavenger_after_fork_child();
}

HIDDEN void karena_init_slow(void)
{
	int saved = errno;

	if (LOAD_ACQ(&karena_inited))
		return;
	pthread_mutex_lock(&init_lock);
	if (!karena_inited) {
		karena_debug = (int)karena_option(OPT_DEBUG);
		stats_report_prepare();
		if (karena_option(OPT_VERBOSE))
			options_report();
		os_init();
		/* Default: the device's huge blocks; THP decides for mmap. */
		karena_hugepage = karena_option(OPT_HUGEPAGE) < 0 ?
			os_cur != &os_mmap_backend :
			(int)karena_option(OPT_HUGEPAGE);
		scavenger_init();
		mcache_init_key();
		STORE_REL(&karena_inited, 1);
		/* may allocate: the heap is ready now */
		pthread_atfork(fork_prepare, fork_parent, fork_child);
	}
	pthread_mutex_unlock(&init_lock);
	errno = saved;
}

/* options (and their warnings) and the report's descriptor, early */
__attribute__((constructor)) static void karena_ctor(void)
{
	stats_report_prepare();
}

__attribute__((destructor)) static void karena_fini(void)
{
	stats_report_at_exit();
}

/* ---- small objects ---- */

/*
 * The free list of c's current span for spc is empty (or c is still the
 * boot cache): take the thread's own cache, drain the span, or
 * refill from the mcache's lists, mcentral or the heap.
 */
static __attribute__((noinline)) void *small_alloc_slow(uintptr_t spc)
{
	struct mcache *c = tls_mcache;
	struct mspan *s;

	if (unlikely(c == &boot_mcache)) {
		c = mcache_get_slow();
		if (!c) {
			errno = ENOMEM;
			return NULL;
		}
	}
	s = c->alloc[spc];
	for (;;) {
		if (s != &empty_span) {
			void *p = s->list == LIST_TCACHE ? span_alloc_fast(s) : span_alloc_slow(s);

			if (p) {
				STAT_INC(mcache_nmalloc(c, spc));
				return p;
			}
		}
		s = mcache_refill(c, (int)spc);
		if (!s) {
			errno = ENOMEM;
			return NULL;
		}
		scavenger_maybe_start();
	}
}

static ALWAYS_INLINE void *small_alloc(uintptr_t spc)
{
	struct mcache *c = tls_mcache;
	void *p = span_alloc_fast(c->alloc[spc]);

	if (likely(p != NULL)) {
		STAT_INC(mcache_nmalloc(c, spc));
		return p;
	}
	return small_alloc_slow(spc);
}

/*
 * A free without a list of the class in the calling thread's cache: the
 * thread has no cache yet (a thread that only frees, a consumer, gets one
 * and batches its frees like any other), the class has no list yet, or
 * KARENA_DEBUG.  Frees in debug mode, and after the thread's cache was
 * flushed at exit, go straight to the span's remote-free bitmap: in debug
 * mode the bit's old value catches a repeated free at once, and the
 * owner's drain catches the free of an object already on the free list
 * (mspan.c).
 */
static void small_free_rare(struct mspan *s, void *p)
{
	struct mcache *c = mcache_own();
	struct mspan *l;

	if (!karena_debug) {
		if (!c)
			c = mcache_for_free();
		if (c && (l = tcache_get(c, s->spanclass)) != NULL) {
			tcache_free(l, p);
			return;
		}
	}
	span_free_remote(s, span_index(s, (uintptr_t)p), p);
}

/* tcache_free found l at its limit, or l is &tcache_none (tcache.c). */
HIDDEN __attribute__((noinline)) void tcache_free_slow(struct mspan *l, void *p)
{
	if (l == &tcache_none) {
		STORE(&tcache_none.allocCount, 0);
		small_free_rare(span_of((uintptr_t)p), p);
		return;
	}
	*(void **)p = l->freelist;
	l->freelist = p;
	tcache_full(tls_mcache, l);
}

/* ---- large ---- */

static void *large_alloc(size_t n, size_t align_pages, bool zero)
{
	struct mspan *s;

	if (n > ((size_t)1 << (ADDR_BITS - 1))) {
		errno = ENOMEM;
		return NULL;
	}
	if (unlikely(!LOAD_ACQ(&karena_inited)))
		karena_init_slow();
	s = mheap_alloc((n + PAGE_BYTES - 1) >> PAGE_SHIFT, align_pages, 0);
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	if (zero && s->needzero)
		memset((void *)s->start, 0, s->npages * PAGE_BYTES);
	scavenger_maybe_start();
	return (void *)s->start;
}

/* Not a small object: a large one, or a pointer that is no object. */
static __attribute__((noinline)) void free_not_small(void *ptr)
{
	uintptr_t p = (uintptr_t)ptr;
	struct mspan *s;

	if (!p)
		return;
	s = span_of(p);
	if (!s || s == &no_span) {
		karena_bad_pointer("free of foreign pointer", ptr);
		return;
	}
	if (s->spanclass == 0 && LOAD(&s->state) == SPAN_INUSE && p == s->start) {
		mheap_free(s);
		return;
	}
	if (s->spanclass > 1)
		karena_bad_pointer("free of interior pointer", ptr);
	else
		karena_bad_pointer("free of invalid or already freed pointer", ptr);
}

/* ---- the API ---- */

static ALWAYS_INLINE void *do_malloc(size_t n)
{
	if (likely(n <= SMALL_SIZE_MAX))
		return small_alloc(karena_malloc_spc1[n]);
	if (likely(n <= KARENA_MAX_SMALL_SIZE))
		return small_alloc(size_spanclass_of(n));
	return large_alloc(n, 1, false);
}

/*
 * free(p): the arena index entry (NULL for free(NULL) and foreign
 * pointers; addresses above 2^48 wrap onto an arena, and the offset
 * checks below reject them), the span from the arena's page map (never
 * NULL: &no_span where no span ever was), an object-start check, then a
 * push on the calling thread's list of the object's class (tcache.c).
 */
static ALWAYS_INLINE void do_free(void *ptr)
{
	uintptr_t p = (uintptr_t)ptr;
	struct heap_arena *ha;

	ha = LOAD_ACQ(&arena_index[(p >> ARENA_SHIFT) & ((1u << ARENA_INDEX_BITS) - 1)]);
	if (likely(ha != NULL)) {
		struct mspan *s = LOAD(&ha->spans[(p >> PAGE_SHIFT) & (ARENA_PAGES - 1)]);

		if (likely(span_object_start(s, p - s->start))) {
			/* no owner test, no NULL test: tcache.c */
			tcache_free(tls_mcache->tcache[s->spanclass], ptr);
			return;
		}
	}
	free_not_small(ptr);
}

static size_t do_usable_size(void *ptr)
{
	uintptr_t p = (uintptr_t)ptr;
	struct mspan *s;
	uintptr_t off;

	if (!p)
		return 0;
	s = span_of(p);
	if (!s || LOAD(&s->state) != SPAN_INUSE)
		return 0;
	off = p - s->start;
	if (s->spanclass == 0)
		return off == 0 ? s->npages * PAGE_BYTES : 0;
	if (!span_object_start(s, off))
		return 0;
	return s->elemsize;
}

static void *do_calloc(size_t nmemb, size_t size)
{
	size_t n;
	void *p;

	if (__builtin_mul_overflow(nmemb, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	if (n > KARENA_MAX_SMALL_SIZE)
		return large_alloc(n, 1, true);
	p = do_malloc(n);
	if (p)
		memset(p, 0, n);
	return p;
}

static void *do_realloc(void *p, size_t n)
{
	size_t old;
	void *q;

	if (!p)
		return do_malloc(n);
	if (n == 0) {
		do_free(p);
		return NULL;
	}
	old = do_usable_size(p);
	if (!old) {
		karena_bad_pointer("realloc of invalid pointer", p);
		errno = EINVAL;
		return NULL;
	}
	if (n <= old) {
		/* same class, or not worth moving */
		if (old <= KARENA_MAX_SMALL_SIZE) {
			if (size_class_of(n) == size_class_of(old))
				return p;
			if (n > old / 2)
				return p;
		} else if (n > old / 2) {
			return p;
		}
	}
	if (n > old && old > KARENA_MAX_SMALL_SIZE && n <= ((size_t)1 << (ADDR_BITS - 1))) {
		/* large: take the free run after it if there is one */
		struct mspan *s = span_of((uintptr_t)p);

		if (mheap_grow_inplace(s, (n + PAGE_BYTES - 1) >> PAGE_SHIFT))
			return p;
	}
	q = do_malloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, n < old ? n : old);
	do_free(p);
	return q;
}

/* align: a power of two */
static void *do_aligned(size_t align, size_t n)
{
	if (align <= 8192 && n <= KARENA_MAX_SMALL_SIZE) {
		size_t m = n < align ? align : n;

		if (m < 8)
			m = 8;
		if (m <= KARENA_MAX_SMALL_SIZE) {
			for (unsigned cls = size_class_of(m); cls < NUM_CLASSES; cls++) {
				if (karena_class_to_size[cls] % align)
					continue;
				return small_alloc(cls << 1);
			}
		}
	}
	if (n == 0)
		n = 1;
	return large_alloc(n, align > PAGE_BYTES ? align >> PAGE_SHIFT : 1, false);
}

static inline bool pow2(size_t x)
{
	return x && !(x & (x - 1));
}

KARENA_EXPORT void *karena_malloc(size_t n) { return do_malloc(n); }
KARENA_EXPORT void karena_free(void *p) { do_free(p); }
KARENA_EXPORT void *karena_calloc(size_t a, size_t b) { return do_calloc(a, b); }
KARENA_EXPORT void *karena_realloc(void *p, size_t n) { return do_realloc(p, n); }

KARENA_EXPORT void *karena_reallocarray(void *p, size_t nmemb, size_t size)
{
	size_t n;

	if (__builtin_mul_overflow(nmemb, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	return do_realloc(p, n);
}

KARENA_EXPORT int karena_posix_memalign(void **out, size_t align, size_t n)
{
	void *p;
	int saved = errno;

	if (!pow2(align) || align % sizeof(void *))
		return EINVAL;
	p = do_aligned(align, n);
	if (!p) {
		errno = saved;
		return ENOMEM;
	}
	*out = p;
	return 0;
}

KARENA_EXPORT void *karena_aligned_alloc(size_t align, size_t n)
{
	if (!pow2(align)) {
		errno = EINVAL;
		return NULL;
	}
	return do_aligned(align, n);
}

KARENA_EXPORT void *karena_memalign(size_t align, size_t n)
{
	return karena_aligned_alloc(align, n);
}

KARENA_EXPORT void *karena_valloc(size_t n)
{
	return do_aligned((size_t)sysconf(_SC_PAGESIZE), n);
}

KARENA_EXPORT void *karena_pvalloc(size_t n)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t r;

	if (__builtin_add_overflow(n, pg - 1, &r)) {
		errno = ENOMEM;
		return NULL;
	}
	r &= ~(pg - 1);
	return do_aligned(pg, r ? r : pg);
}

KARENA_EXPORT size_t karena_malloc_usable_size(void *p) { return do_usable_size(p); }

/*
 * Scavenge every idle page; @lazy: as the background scavenger does (the
 * device backend may keep the pages until memory pressure).
 */
static size_t release_all(bool lazy)
{
	if (!LOAD_ACQ(&karena_inited))
		karena_init_slow();
	if (mcache_own())
		mcache_release_empty(mcache_own());
	mcentral_reclaim();
	return mheap_scavenge(SIZE_MAX, 0, lazy);
}

/* glibc's meaning: give memory back to the OS now (RSS drops). */
KARENA_EXPORT int karena_malloc_trim(size_t pad)
{
	(void)pad;
	return release_all(false) > 0;
}

KARENA_EXPORT int karena_size_class(size_t n)
{
	if (n > KARENA_MAX_SMALL_SIZE)
		return 0;
	return (int)size_class_of(n ? n : 1);
}

KARENA_EXPORT size_t karena_class_size(int c)
{
	return c > 0 && c < NUM_CLASSES ? karena_class_to_size[c] : 0;
}

KARENA_EXPORT size_t karena_class_npages(int c)
{
	return c > 0 && c < NUM_CLASSES ? karena_class_to_allocnpages[c] : 0;
}

KARENA_EXPORT const char *karena_backend(void)
{
	if (!LOAD_ACQ(&karena_inited))
		karena_init_slow();
	return os_cur->name;
}

KARENA_EXPORT size_t karena_release(void)
{
	return release_all(true);
}

/* ---- the libc names (not in the sanitizer builds) ---- */
#ifndef KARENA_PREFIX_ONLY
KARENA_EXPORT void *malloc(size_t n) { return do_malloc(n); }
KARENA_EXPORT void free(void *p) { do_free(p); }
KARENA_EXPORT void *calloc(size_t a, size_t b) { return do_calloc(a, b); }
KARENA_EXPORT void *realloc(void *p, size_t n) { return do_realloc(p, n); }
KARENA_EXPORT void *reallocarray(void *p, size_t a, size_t b) { return karena_reallocarray(p, a, b); }
KARENA_EXPORT int posix_memalign(void **o, size_t a, size_t n) { return karena_posix_memalign(o, a, n); }
KARENA_EXPORT void *aligned_alloc(size_t a, size_t n) { return karena_aligned_alloc(a, n); }
KARENA_EXPORT void *memalign(size_t a, size_t n) { return karena_memalign(a, n); }
KARENA_EXPORT void *valloc(size_t n) { return karena_valloc(n); }
KARENA_EXPORT void *pvalloc(size_t n) { return karena_pvalloc(n); }
KARENA_EXPORT size_t malloc_usable_size(void *p) { return do_usable_size(p); }
KARENA_EXPORT int malloc_trim(size_t pad) { return karena_malloc_trim(pad); }
KARENA_EXPORT struct mallinfo2 mallinfo2(void) { return karena_mallinfo2(); }
KARENA_EXPORT void malloc_stats(void) { karena_malloc_stats(); }
#endif
