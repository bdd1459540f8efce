// SPDX-License-Identifier: MIT
/*
 * malloc.c - the malloc API, the tiny allocator, init and fork.
 *
 * Small allocation fast path (inlined into every entry point):
 *   TLS mcache pointer -> span of the class -> ctz(allocCache) -> object.
 * No locks and no atomic instructions.  Small free fast path: arena index
 * -> span; if this thread's mcache owns the span, clear its allocBit (no
 * atomics); else one fetch-or into the span's remote-free bitmap (mspan.c).
 *
 * Tiny allocator: requests of 1..7 bytes are carved from a 16-byte block
 * (an object of the 16 B class in a dedicated "tiny" span class), each
 * piece aligned to its size rounded up to a power of two.  The block's
 * per-block count (tinycount) is TINY_BIAS while the mcache is carving
 * from it, minus one per piece freed by other threads (atomic); pieces of
 * the current block freed by its own thread are counted down in the mcache
 * without atomics.  When the mcache retires the block it subtracts
 * TINY_BIAS - pieces (pieces: carved minus freed locally), so the count
 * becomes the number of live pieces, and whoever drops it to zero frees
 * the block (no atomic at all when every piece was freed locally).  tinystart
 * has one bit per byte marking piece starts plus an end marker after the
 * newest piece: malloc_usable_size of a piece is the distance to the next
 * marked byte, and free() rejects pointers that start no piece.
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

#define EXPORT __attribute__((visibility("default")))

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
		karena_hugepage = (int)karena_option(OPT_HUGEPAGE);
		stats_report_prepare();
		if (karena_option(OPT_VERBOSE))
			options_report();
		os_init();
		mheap_init();
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

static __attribute__((noinline)) void *small_alloc_slow(struct mcache *c, unsigned spc)
{
	struct mspan *s = c->alloc[spc];

	for (;;) {
		if (s != &empty_span) {
			int idx = span_nextfree_slow(s);

			if (idx >= 0)
				return (void *)(s->start + (uintptr_t)idx * s->elemsize);
		}
		s = mcache_refill(c, (int)spc);
		if (!s) {
			errno = ENOMEM;
			return NULL;
		}
		scavenger_maybe_start();
	}
}

static ALWAYS_INLINE void *small_alloc(struct mcache *c, unsigned spc)
{
	struct mspan *s = c->alloc[spc];
	int idx = span_nextfree_fast(s);

	if (likely(idx >= 0))
		return (void *)(s->start + (uintptr_t)idx * s->elemsize);
	return small_alloc_slow(c, spc);
}

/* ---- tiny ---- */

static void tiny_free_block(struct mspan *s, uintptr_t block)
{
	struct mcache *c = tls_mcache;

	span_free_object(c, s, span_index(s, block), (void *)block);
}

HIDDEN void tiny_retire(struct mcache *c)
{
	uintptr_t b = c->tiny;
	struct mspan *s;
	unsigned idx;

	if (!b)
		return;
	c->tiny = 0;
	s = span_of(b);
	idx = span_index(s, b);
	if (c->tinypieces == 0) {
		/* every piece was freed by this thread: no other thread can
		 * touch the count, no atomic needed */
		STORE(&s->tinycount[idx], 0);
		tiny_free_block(s, b);
		return;
	}
	if (__atomic_sub_fetch(&s->tinycount[idx], (uint8_t)(TINY_BIAS - c->tinypieces),
			       __ATOMIC_ACQ_REL) == 0)
		tiny_free_block(s, b);
}

static __attribute__((noinline)) void *tiny_alloc_slow(struct mcache *c, size_t n,
							size_t align)
{
	uintptr_t b;
	struct mspan *s;
	unsigned idx;

	tiny_retire(c);
	b = (uintptr_t)small_alloc(c, TINY_SPC);
	if (!b)
		return NULL;
	s = c->alloc[TINY_SPC];
	idx = span_index(s, b);
	STORE(&s->tinycount[idx], TINY_BIAS);
	STORE(&s->tinystart[idx], (uint16_t)(1u | 1u << n));
	(void)align;
	c->tiny = b;
	c->tinyoffset = (uint32_t)n;
	c->tinypieces = 1;
	return (void *)b;
}

static ALWAYS_INLINE void *tiny_alloc(struct mcache *c, size_t n)
{
	size_t align = n <= 2 ? (n ? n : 1) : n <= 4 ? 4 : 8;
	uintptr_t off;

	if (n == 0)
		n = 1;
	STAT_ADD(&c->tinyallocs, 1);
	STAT_ADD(&c->nmalloc[TINY_CLASS], 1);
	off = (c->tinyoffset + align - 1) & ~(align - 1);
	if (likely(c->tiny && off + n <= TINY_BLOCK)) {
		struct mspan *s = c->alloc[TINY_SPC];
		unsigned idx = span_index(s, c->tiny);
		uint16_t bits = LOAD(&s->tinystart[idx]);

		bits |= (uint16_t)(1u << off);
		if (off + n < TINY_BLOCK)
			bits |= (uint16_t)(1u << (off + n));
		STORE(&s->tinystart[idx], bits);
		c->tinyoffset = (uint32_t)(off + n);
		c->tinypieces++;
		return (void *)(c->tiny + off);
	}
	return tiny_alloc_slow(c, n, align);
}

static void tiny_free(struct mspan *s, unsigned idx, uintptr_t p)
{
	unsigned off = (unsigned)(p & (TINY_BLOCK - 1));
	struct mcache *c = tls_mcache;

	if (unlikely(!(LOAD(&s->tinystart[idx]) >> off & 1))) {
		karena_bad_pointer("free of invalid tiny pointer", (void *)p);
		return;
	}
	if (c) {
		STAT_ADD(&c->nfree[TINY_CLASS], 1);
		if (c->tiny == (p & ~(uintptr_t)(TINY_BLOCK - 1))) {
			/* a piece of the block this thread is carving from:
			 * count it down locally (see tiny_retire) */
			c->tinypieces--;
			return;
		}
	} else {
		__atomic_fetch_add(&global_nfree[TINY_CLASS], 1, __ATOMIC_RELAXED);
	}
	if (__atomic_sub_fetch(&s->tinycount[idx], 1, __ATOMIC_ACQ_REL) == 0)
		tiny_free_block(s, p & ~(uintptr_t)(TINY_BLOCK - 1));
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
	s->nelems = 1;
	if (zero && s->needzero)
		memset((void *)s->start, 0, s->npages * PAGE_BYTES);
	scavenger_maybe_start();
	return (void *)s->start;
}

/* ---- the API ---- */

static ALWAYS_INLINE void *do_malloc(size_t n)
{
	struct mcache *c = tls_mcache;

	if (likely(n <= KARENA_MAX_SMALL_SIZE)) {
		if (unlikely(!c)) {
			c = mcache_get_slow();
			if (!c) {
				errno = ENOMEM;
				return NULL;
			}
		}
		if (n <= KARENA_TINY_MAX)
			return tiny_alloc(c, n);

		unsigned cls = size_class_of(n);

		STAT_ADD(&c->nmalloc[cls], 1);
		return small_alloc(c, cls << 1);
	}
	return large_alloc(n, 1, false);
}

static ALWAYS_INLINE void do_free(void *ptr)
{
	uintptr_t p = (uintptr_t)ptr;
	struct mspan *s;

	if (unlikely(!p))
		return;
	s = span_of(p);
	if (unlikely(!s)) {
		karena_bad_pointer("free of foreign pointer", ptr);
		return;
	}
	unsigned spc = s->spanclass;
	uintptr_t off = p - s->start;

	if (likely(spc > 1 && LOAD(&s->state) == SPAN_INUSE &&
		   off < (s->npages << PAGE_SHIFT))) {
		unsigned idx = span_index(s, p);
		struct mcache *c = tls_mcache;

		if (spc == TINY_SPC) {
			tiny_free(s, idx, p);
			return;
		}
		if (unlikely(idx >= s->nelems || (uintptr_t)idx * s->elemsize != off)) {
			karena_bad_pointer("free of interior pointer", ptr);
			return;
		}
		if (likely(c != NULL))
			STAT_ADD(&c->nfree[spc >> 1], 1);
		else
			__atomic_fetch_add(&global_nfree[spc >> 1], 1, __ATOMIC_RELAXED);
		span_free_object(c, s, idx, ptr);
		return;
	}
	if (spc == 0 && LOAD(&s->state) == SPAN_INUSE && off == 0 && s->nelems == 1) {
		mheap_free(s);
		return;
	}
	karena_bad_pointer("free of invalid or already freed pointer", ptr);
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
	if (off >= (uintptr_t)s->nelems * s->elemsize)
		return 0;
	if (s->spanclass == TINY_SPC) {
		unsigned o = (unsigned)(p & (TINY_BLOCK - 1));
		unsigned bits = LOAD(&s->tinystart[span_index(s, p)]);

		if (!(bits >> o & 1))
			return 0;
		bits >>= o + 1;
		return bits ? (size_t)__builtin_ctz(bits) + 1 : TINY_BLOCK - o;
	}
	if ((uintptr_t)span_index(s, p) * s->elemsize != off)
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
			if (n > KARENA_TINY_MAX && size_class_of(n) == size_class_of(old))
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
				struct mcache *c = tls_mcache;

				if (!c && !(c = mcache_get_slow())) {
					errno = ENOMEM;
					return NULL;
				}
				STAT_ADD(&c->nmalloc[cls], 1);
				return small_alloc(c, cls << 1);
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

EXPORT void *karena_malloc(size_t n) { return do_malloc(n); }
EXPORT void karena_free(void *p) { do_free(p); }
EXPORT void *karena_calloc(size_t a, size_t b) { return do_calloc(a, b); }
EXPORT void *karena_realloc(void *p, size_t n) { return do_realloc(p, n); }

EXPORT void *karena_reallocarray(void *p, size_t nmemb, size_t size)
{
	size_t n;

	if (__builtin_mul_overflow(nmemb, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	return do_realloc(p, n);
}

EXPORT int karena_posix_memalign(void **out, size_t align, size_t n)
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

EXPORT void *karena_aligned_alloc(size_t align, size_t n)
{
	if (!pow2(align)) {
		errno = EINVAL;
		return NULL;
	}
	return do_aligned(align, n);
}

EXPORT void *karena_memalign(size_t align, size_t n)
{
	return karena_aligned_alloc(align, n);
}

EXPORT void *karena_valloc(size_t n)
{
	return do_aligned((size_t)sysconf(_SC_PAGESIZE), n);
}

EXPORT void *karena_pvalloc(size_t n)
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

EXPORT size_t karena_malloc_usable_size(void *p) { return do_usable_size(p); }

EXPORT int karena_malloc_trim(size_t pad)
{
	(void)pad;
	return karena_release() > 0;
}

EXPORT int karena_size_class(size_t n)
{
	if (n > KARENA_MAX_SMALL_SIZE)
		return 0;
	return (int)size_class_of(n ? n : 1);
}

EXPORT size_t karena_class_size(int c)
{
	return c > 0 && c < NUM_CLASSES ? karena_class_to_size[c] : 0;
}

EXPORT size_t karena_class_npages(int c)
{
	return c > 0 && c < NUM_CLASSES ? karena_class_to_allocnpages[c] : 0;
}

EXPORT const char *karena_backend(void)
{
	if (!LOAD_ACQ(&karena_inited))
		karena_init_slow();
	return os_cur->name;
}

EXPORT size_t karena_release(void)
{
	if (!LOAD_ACQ(&karena_inited))
		karena_init_slow();
	if (tls_mcache)
		mcache_release_empty(tls_mcache);
	mcentral_reclaim();
	return mheap_scavenge(SIZE_MAX, 0);
}

/* ---- the libc names (not in the sanitizer builds) ---- */
#ifndef KARENA_PREFIX_ONLY
EXPORT void *malloc(size_t n) { return do_malloc(n); }
EXPORT void free(void *p) { do_free(p); }
EXPORT void *calloc(size_t a, size_t b) { return do_calloc(a, b); }
EXPORT void *realloc(void *p, size_t n) { return do_realloc(p, n); }
EXPORT void *reallocarray(void *p, size_t a, size_t b) { return karena_reallocarray(p, a, b); }
EXPORT int posix_memalign(void **o, size_t a, size_t n) { return karena_posix_memalign(o, a, n); }
EXPORT void *aligned_alloc(size_t a, size_t n) { return karena_aligned_alloc(a, n); }
EXPORT void *memalign(size_t a, size_t n) { return karena_memalign(a, n); }
EXPORT void *valloc(size_t n) { return karena_valloc(n); }
EXPORT void *pvalloc(size_t n) { return karena_pvalloc(n); }
EXPORT size_t malloc_usable_size(void *p) { return do_usable_size(p); }
EXPORT int malloc_trim(size_t pad) { return karena_malloc_trim(pad); }
EXPORT struct mallinfo2 mallinfo2(void) { return karena_mallinfo2(); }
EXPORT void malloc_stats(void) { karena_malloc_stats(); }
#endif
