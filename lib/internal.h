/* SPDX-License-Identifier: MIT */
/*
 * internal.h - libkarena's internal structures, shared by the components:
 *
 *   sizeclasses.c  generated tables (mksizeclasses.c)
 *   mspan.c        span of pages holding objects of one class: free list
 *                  threaded through the free objects, lazy carving,
 *                  remote-free bitmap
 *   mcache.c       per-thread cache of one span per span class
 *   mcentral.c     per span class partial/full span lists
 *   mheap.c        page allocator over 64 MiB arenas, arena index
 *   mgcscavenge.c  background scavenger, the release of free runs
 *                  (hugepage-aware), karena_release
 *   malloc.c       the malloc API and its fast paths, init, fork
 *   mstats.c       statistics (karena_stats, mallinfo, malloc_info)
 *   stats_print.c  statistics as text or JSON, the KARENA_STATS report
 *   options.c      the KARENA_* variables (one table), mallopt
 *   os*.c          the OS layer (os.h)
 */
#ifndef KARENA_INTERNAL_H
#define KARENA_INTERNAL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <pthread.h>
#include "include/karena.h"
#include "sizeclasses.h"
#include "os.h"

#define HIDDEN		__attribute__((visibility("hidden")))
#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#define ALWAYS_INLINE	inline __attribute__((always_inline))

#define PAGE_SHIFT	KARENA_PAGE_SHIFT
#define PAGE_BYTES	((uintptr_t)1 << PAGE_SHIFT)
#define ARENA_SHIFT	26
#define ARENA_BYTES	((uintptr_t)1 << ARENA_SHIFT)
#define ARENA_PAGES	(ARENA_BYTES >> PAGE_SHIFT)		/* 8192 */
#define ADDR_BITS	48
#define ARENA_INDEX_BITS	(ADDR_BITS - ARENA_SHIFT)	/* 22: 4 Mi arenas */
#define NUM_CLASSES	KARENA_NUM_CLASSES
#define NUM_SPANCLASS	(NUM_CLASSES * 2)	/* Go's class << 1 | noscan; noscan unused */
#define MAX_NELEMS	1024			/* 8-byte class: 8192 / 8 */
#define RFREE_WORDS	(MAX_NELEMS / 64)
#define GROW_PAGES	512			/* heap grows by >= 4 MiB */
#define FREE_BINS	128			/* exact-size free lists */

#define LOAD(p)		__atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define LOAD_ACQ(p)	__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE_REL(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)
/* Counter bumped by one owner thread, read racily by stats readers. */
#define STAT_ADD(p, n)	STORE((p), LOAD(p) + (n))
/*
 * The same for the fast paths: on x86-64 one add to memory, a single
 * instruction whose 8-byte store readers see whole (as the kernel's
 * this_cpu_inc); the asm keeps the compiler from splitting it and
 * sanitizers see no race (only the owner writes).
 */
#if defined(__x86_64__)
#define STAT_INC(p)	__asm__("addq $1, %0" : "+m"(*(p)))
#else
#define STAT_INC(p)	STAT_ADD((p), 1)
#endif

enum span_state {
	SPAN_DEAD = 0,		/* struct on the free list */
	SPAN_INUSE,		/* holds objects (small) or one large object */
	SPAN_FREE,		/* idle pages in the heap's free lists */
	SPAN_BUSY,		/* idle pages taken out by the scavenger */
};

enum span_list_id {
	LIST_NONE = 0,		/* an mcache's current span for its class */
	LIST_PARTIAL,		/* mcentral partial (unowned) */
	LIST_FULL,		/* mcentral full (unowned) */
	LIST_LPARTIAL,		/* owner's local partial list */
	LIST_LFULL,		/* owner's local full list */
	LIST_LEMPTY,		/* owner's local empty list (kept for reuse) */
	LIST_TCACHE,		/* not a span: an mcache's list of freed objects (tcache.c) */
};

struct mcache;


/*
 * Cache-line layout: line 0 is everything malloc and free touch, so a
 * free into a span that is not hot (larson's random victims) costs one
 * miss on the span, not two: the fields every free() reads, from any
 * thread (written only when the span changes hands or state), and the
 * allocation state the owner writes.  A free reads line 0 for the
 * object-start check and the class, and pushes the object on the freeing
 * thread's list of the class (tcache.c), so owner writes here do not slow
 * other threads' frees per object.  Line 1
 * is list and page-heap bookkeeping, the object size (only the bump path
 * of a fresh span reads it) and the remote-free notification flags; lines
 * 2-3 the remote-free bitmap,
 * written by other threads when objects go back to their spans.
 */
struct mspan {
	/* line 0 */
	uintptr_t start;		/* startAddr, page aligned */
	uintptr_t owner;		/* atomic: the owning cache's token, 0 when unowned */
	void *freelist;			/* owner: free objects, linked through their first word */
	uint64_t inv;			/* elemsize >> shift's inverse mod 2^64 (span_object_start) */
	uint64_t nelems;		/* objects; 0 unless a small span in use (64 bits:
					 * free() compares with it in memory) */
	uintptr_t bump, bumpend;	/* owner: objects [bump, bumpend) never handed out */
	uint32_t allocCount;		/* owner: objects out (span_live); biased while parked */
	uint8_t spanclass;		/* class << 1; 0 = large or not in use */
	uint8_t shift;			/* trailing zero bits of elemsize */
	uint8_t state;			/* enum span_state */
	uint8_t list;			/* enum span_list_id */
	/* line 1 */
	size_t npages __attribute__((aligned(64)));
	uint32_t divmul;		/* offset * divmul >> 32 == index */
	uint8_t needzero;		/* pages may hold old data */
	uint8_t notify;			/* atomic: parked full, report the first remote free */
	uint8_t queued;			/* atomic: on the owner's notify stack */
	struct mspan *rnext;		/* link in the owner's notify stack */
	struct mspan *next, *prev;	/* free bin, mcentral or mcache list */
	size_t nscav;			/* FREE/BUSY: pages scavenged (Prepared) */
	uint32_t freetick;		/* FREE/BUSY: scav_tick when last freed */
	uint32_t elemsize;		/* (only the bump path reads it on line 1) */
	struct mspan *allnext;		/* every span struct ever made (allspans) */
	/* lines 2-3: other threads' frees */
	uint64_t rfree_bits[RFREE_WORDS] __attribute__((aligned(64)));	/* atomic: 1 = freed, not yet drained */
} __attribute__((aligned(64)));
_Static_assert(offsetof(struct mspan, list) == 63, "mspan line 0");
_Static_assert(offsetof(struct mspan, rfree_bits) == 128, "mspan line 2");

struct span_list {
	struct mspan *head;
};

struct heap_arena {
	struct mspan *spans[ARENA_PAGES];	/* page -> span */
	uint64_t scav[ARENA_PAGES / 64];	/* 1 = page scavenged (Prepared) */
	uint64_t dirty[ARENA_PAGES / 64];	/* 1 = scavenged, may keep data */
};

struct mcache {
	struct mspan *alloc[NUM_SPANCLASS];	/* never NULL: &empty_span */
	uintptr_t token;		/* what its spans' owner field holds (thread_token) */
	/* STAT_INC by the owner: mallocs by class (frees: mstats.c) */
	uint64_t nmalloc[NUM_CLASSES];
	struct span_list partial[NUM_SPANCLASS];	/* owned, with free slots */
	struct span_list full[NUM_SPANCLASS];		/* owned, parked full */
	struct span_list empty[NUM_SPANCLASS];		/* owned, no objects */
	uint16_t empty_pages[NUM_SPANCLASS];		/* pages in empty[] */
	uint32_t empty_total;				/* pages in all empty[] */
	struct mspan *rnotify;		/* atomic: spans notified by remote frees */
	struct mcache *next, *prev;	/* all live caches */
	int dying;
	/*
	 * Per span class, the objects this thread freed (tcache.c), or
	 * &tcache_none until the list is set up on first use; kept when the
	 * cache is recycled (mcache_get_slow clears only what is above this
	 * field).  free() reads it by the span's class with no NULL test.
	 */
	struct mspan *tcache[NUM_SPANCLASS];
};

/* A batch of freed objects linked through their first word. */
struct obj_batch {
	void *head;
	uint32_t n;
};
#define XFER_SLOTS	16

struct mcentral {
	pthread_mutex_t *lock;		/* one of MCENTRAL_LOCKS, shared */
	struct span_list partial, full;
	uint64_t nspans;
	uint32_t nxfer;			/* atomic (read unlocked): batches in xfer */
	struct obj_batch xfer[XFER_SLOTS];	/* transfer cache (mcentral.c) */
} __attribute__((aligned(64)));
/*
 * Span classes share a few locks (striped): mcentral is off the hot path
 * now that spans stay owned by threads, and fork's prepare handler must
 * hold every allocator lock at once (sanitizers cap locks held at 64).
 */
#define MCENTRAL_LOCKS	16

struct heap_stats_raw {
	uint64_t sys, released, inuse_pages, idle_pages, reserved;
	uint64_t large_mallocs, large_frees, large_inuse, large_bytes_total;
	uint64_t spans_inuse, scavenged_total;
	uint64_t peak_pages;	/* inuse_pages' highest since the scavenger reset it */
};

struct mheap {
	pthread_mutex_t lock;
	struct span_list free[FREE_BINS];	/* npages == index */
	struct span_list large;			/* npages >= FREE_BINS */
	uint64_t binmask[FREE_BINS / 64];
	uintptr_t cur, curend;			/* Reserved, not yet Mapped */
	uintptr_t hint;
	struct heap_stats_raw st;
};

/* ---- globals ---- */
extern HIDDEN struct mheap mheap_;
extern HIDDEN struct mcentral mcentral_[NUM_SPANCLASS];
extern HIDDEN struct heap_arena *arena_index[1 << ARENA_INDEX_BITS];
extern HIDDEN struct mspan empty_span;
extern HIDDEN struct mspan no_span;
extern HIDDEN struct mcache boot_mcache;
extern HIDDEN __thread struct mcache *tls_mcache __attribute__((tls_model("initial-exec")));
extern HIDDEN int karena_debug;
extern HIDDEN int karena_hugepage;
extern HIDDEN int karena_inited;

/* ---- diagnostics ---- */
HIDDEN void karena_warn(const char *msg);
HIDDEN __attribute__((noreturn)) void karena_fatal(const char *msg);
HIDDEN void karena_bad_pointer(const char *what, const void *p);
HIDDEN void karena_init_slow(void);

/*
 * Debug assertions, where Go throws and mimalloc has mi_assert_internal:
 * compiled in when KARENA_ASSERTS is defined (the SAN= builds, and
 * `make -C lib ASSERTS=1`), and to nothing otherwise.  A failed one
 * aborts with "karena: fatal: assertion ... failed at FILE:LINE".
 * KARENA_ASSERT_LOCKED(m): some thread holds m (a default mutex cannot
 * say which; a caller without the lock takes it here and fails).
 */
#ifdef KARENA_ASSERTS
#include <errno.h>
#include <stdio.h>
static inline __attribute__((noreturn)) void
karena_assert_fail(const char *cond, const char *file, int line)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "assertion %s failed at %s:%d", cond, file, line);
	karena_fatal(buf);
}
#define KARENA_ASSERT(c)	((c) ? (void)0 : karena_assert_fail(#c, __FILE__, __LINE__))
#define KARENA_ASSERT_LOCKED(m)	KARENA_ASSERT(pthread_mutex_trylock(m) == EBUSY)
#else
#define KARENA_ASSERT(c)	((void)sizeof(!(c)))
#define KARENA_ASSERT_LOCKED(m)	((void)sizeof(m))
#endif

/* ---- arena index (mheap.c) ---- */
static ALWAYS_INLINE struct heap_arena *arena_of(uintptr_t a)
{
	uintptr_t i = a >> ARENA_SHIFT;

	if (unlikely(i >> ARENA_INDEX_BITS))
		return NULL;
	return LOAD_ACQ(&arena_index[i]);
}

/*
 * The span holding address a: NULL outside the heap's arenas, &no_span
 * (state DEAD, spanclass 0) for pages of an arena that were never part of
 * a span; may be stale for addresses in free runs.
 */
static ALWAYS_INLINE struct mspan *span_of(uintptr_t a)
{
	struct heap_arena *ha = arena_of(a);

	if (unlikely(!ha))
		return NULL;
	return LOAD(&ha->spans[(a >> PAGE_SHIFT) & (ARENA_PAGES - 1)]);
}

/*
 * The page heap's scavenged bitmap (1 = Prepared) and free lists, for the
 * scavenger (mgcscavenge.c).  Heap lock held, except scav_test and
 * scav_runs_apply on a run the caller took out of the lists (BUSY).
 */
static inline bool scav_test(uintptr_t a)
{
	struct heap_arena *ha = arena_of(a);
	size_t pg = (a >> PAGE_SHIFT) & (ARENA_PAGES - 1);

	/* relaxed: the scavenger reads its own pages' bits without the lock
	 * while others rewrite neighbouring bits of the word under it */
	return LOAD(&ha->scav[pg >> 6]) >> (pg & 63) & 1;
}
HIDDEN void scav_set_range(uintptr_t start, size_t npages, bool on);
HIDDEN void dirty_set(uintptr_t a);
HIDDEN size_t scav_runs_apply(uintptr_t start, size_t npages, bool want,
			      int op, unsigned flags, size_t budget_pages);
HIDDEN void free_remove(struct mspan *s);
HIDDEN void free_coalesce_insert(struct mspan *s);

HIDDEN struct mspan *mheap_alloc(size_t npages, size_t align_pages, int spanclass);
HIDDEN void mheap_free(struct mspan *s);
HIDDEN bool mheap_grow_inplace(struct mspan *s, size_t npages);
/*
 * lazy: the background scavenger's release (OS_F_LAZY, see os.h).
 * mheap_scavenge never cuts a huge-backed 2 MiB block (mgcscavenge.c,
 * scav_keep_huge); mheap_scavenge_cut does.
 */
HIDDEN size_t mheap_scavenge(size_t max_bytes, uint32_t min_age_ticks,
			     bool lazy);
HIDDEN size_t mheap_scavenge_cut(size_t max_bytes, uint32_t min_age_ticks,
				 bool lazy);
HIDDEN struct mspan *mheap_free_span_containing(uintptr_t a);
HIDDEN void *persistent_alloc(size_t n);
HIDDEN struct mspan *span_struct_alloc(void);
HIDDEN int arena_register(uintptr_t base, size_t len);
HIDDEN size_t scav_count(uintptr_t start, size_t npages);
HIDDEN void heap_lock_all(void);
HIDDEN void heap_unlock_all(void);
HIDDEN void heap_reinit_locks(void);

/* ---- mspan.c ---- */
HIDDEN void span_init_small(struct mspan *s, int spanclass);
HIDDEN void *span_alloc_slow(struct mspan *s);
HIDDEN void span_drain_remote(struct mspan *s);
HIDDEN void span_free_remote(struct mspan *s, unsigned idx, void *p);
HIDDEN void span_free_remote_list(void *head, uint32_t n);
HIDDEN bool span_arm_notify(struct mspan *s);
HIDDEN bool span_object_is_free(const struct mspan *s, unsigned idx);
HIDDEN void span_inuse_sum(uint64_t *inuse);
extern HIDDEN struct mspan *allspans;

static ALWAYS_INLINE unsigned span_index(const struct mspan *s, uintptr_t p)
{
	return (unsigned)(((uint64_t)(p - s->start) * s->divmul) >> 32);
}

/*
 * Is offset off (any 64-bit value) the start of one of span s's objects?
 * With elemsize = q << shift (q odd) and inv = q's inverse mod 2^64,
 * off * inv rotated right by shift is off / elemsize when elemsize
 * divides off, and above UINT64_MAX / elemsize when it does not (the
 * exact-division test of Granlund and Montgomery, Hacker's Delight 10-17),
 * so one compare with nelems checks divisibility and range together.
 * nelems is 0 for every span that is not a small span in use (large,
 * free, no_span), so that test also rejects them.  free() checks every
 * pointer with it (selftests/libkarena/mspan_test: every offset of every class).
 */
static ALWAYS_INLINE bool span_object_start(const struct mspan *s, uintptr_t off)
{
	uint64_t x = (uint64_t)off * s->inv;

	x = (x >> s->shift) | (x << ((64 - s->shift) & 63));
	return x < s->nelems;
}

/*
 * The calling thread's token: its thread pointer, unique among live
 * threads and one instruction away on x86-64 (no TLS offset from the
 * GOT).  A thread's cache puts it in the owner field of the spans it
 * owns (mcache.c "Owner tokens").
 */
static ALWAYS_INLINE uintptr_t thread_token(void)
{
#if defined(__x86_64__)
	uintptr_t tp;

	__asm__("mov %%fs:0, %0" : "=r"(tp));	/* the TCB's self pointer */
	return tp;
#else
	return (uintptr_t)__builtin_thread_pointer();
#endif
}

/*
 * Owner-only: pop a free object, else take the next never-used one (not
 * written: its pages are touched by the caller, as it uses them), else
 * NULL.
 */
static ALWAYS_INLINE void *span_alloc_fast(struct mspan *s)
{
	void **p = s->freelist;

	if (likely(p != NULL)) {
		s->freelist = *p;
		s->allocCount++;
		return p;
	}
	if (s->bump < s->bumpend) {
		p = (void **)s->bump;
		s->bump += s->elemsize;
		s->allocCount++;
	}
	return p;
}

/*
 * Owner-only: push object p back (no double-free check: see mspan.c), or
 * push p on a list of freed objects (tcache.c).
 * Returns false when the span became empty or, parked full, has an eighth
 * free now (span_live): the caller tells mcache_span_freed.
 */
static ALWAYS_INLINE bool span_free_local(struct mspan *s, void *p)
{
	*(void **)p = s->freelist;
	s->freelist = p;
#if defined(__x86_64__) && defined(__GCC_ASM_FLAG_OUTPUTS__)
	bool more;

	/* one decrement of memory, branch on its sign flags */
	__asm__("subl $1, %0" : "+m"(s->allocCount), "=@ccg"(more));
	return likely(more);
#else
	return likely((int32_t)--s->allocCount > 0);
#endif
}

/*
 * A span parked in its owner's full list is worth using again once an
 * eighth of it is free, i.e. when at most this many objects are out.
 */
static ALWAYS_INLINE uint32_t span_park_threshold(const struct mspan *s)
{
	return s->nelems - (s->nelems + 7u) / 8u;
}

/*
 * Objects handed out by s and not freed locally.  While s is parked full
 * (LIST_LFULL) allocCount holds live - span_park_threshold(s), so the
 * owner's push of an object back (span_free_local: one decrement, one
 * sign test) reports exactly when the span empties or a parked span
 * becomes worth using again, and not on the pushes in between.
 */
static ALWAYS_INLINE unsigned span_live(const struct mspan *s)
{
	return s->list == LIST_LFULL ? s->allocCount + span_park_threshold(s) : s->allocCount;
}

/* Move s to list id (the caller links it), keeping allocCount's bias in step. */
static inline void span_set_list(struct mspan *s, enum span_list_id id)
{
	uint32_t live = span_live(s);

	KARENA_ASSERT(live <= s->nelems);
	s->list = (uint8_t)id;
	s->allocCount = id == LIST_LFULL ? live - span_park_threshold(s) : live;
}

/* ---- mcentral.c ---- */
HIDDEN struct mspan *mcentral_cache_span(int spc, struct mcache *c);
HIDDEN void mcentral_uncache_span(struct mspan *s);
HIDDEN void mcentral_notify(struct mspan *s);
HIDDEN bool mcentral_xfer_put(int spc, void *head, uint32_t n);
HIDDEN void *mcentral_xfer_get(int spc, uint32_t *n);
HIDDEN void mcentral_release_span(struct mspan *s);
HIDDEN size_t mcentral_reclaim(void);
HIDDEN void mcentral_lock_all(void);
HIDDEN void mcentral_unlock_all(void);
HIDDEN void mcentral_reinit_locks(void);
HIDDEN void mcentral_xfer_sum(uint64_t *held);
HIDDEN void span_list_push(struct span_list *l, struct mspan *s);
HIDDEN void span_list_remove(struct span_list *l, struct mspan *s);

/* ---- mcache.c ---- */
HIDDEN struct mcache *mcache_get_slow(void);
HIDDEN struct mcache *mcache_for_free(void);
HIDDEN struct mcache *mcache_own(void);
HIDDEN struct mcache *span_owner(const struct mspan *s);
HIDDEN void mcache_retoken_after_fork(void);
HIDDEN void karena_set_debug(int on);
HIDDEN struct mspan *mcache_refill(struct mcache *c, int spc);
HIDDEN void mcache_flush(struct mcache *c);
HIDDEN void mcache_span_freed(struct mcache *c, struct mspan *s);
HIDDEN void mcache_put_aside(struct mcache *c, struct mspan *s);

/*
 * c's malloc counter of span class spc: nmalloc[spc >> 1], addressed as
 * spc * 4 bytes so the fast path indexes with the span class it has.
 */
static ALWAYS_INLINE uint64_t *mcache_nmalloc(struct mcache *c, uintptr_t spc)
{
	return (uint64_t *)((char *)c->nmalloc + spc * (sizeof(uint64_t) / 2));
}

HIDDEN void mcache_release_empty(struct mcache *c);

HIDDEN void mcache_init_key(void);
HIDDEN void mcache_lock_all(void);
HIDDEN void mcache_unlock_all(void);
HIDDEN void mcache_reinit_locks(void);
HIDDEN void mcache_sum(uint64_t *nmalloc, uint64_t *held, uint64_t *nthreads);

/* ---- tcache.c ---- */
extern HIDDEN struct mspan tcache_none;
HIDDEN struct mspan *tcache_get(struct mcache *c, unsigned spc);
HIDDEN uint32_t tcache_count(const struct mspan *l);
HIDDEN void tcache_free_slow(struct mspan *l, void *p);	/* malloc.c */
HIDDEN void tcache_full(struct mcache *c, struct mspan *l);
HIDDEN struct mspan *tcache_refill(struct mcache *c, struct mspan *l);
HIDDEN void tcache_release_all(struct mcache *c);

/*
 * The calling thread frees p, an object of span class spc, onto its list
 * of the class (tcache.c): l = tls_mcache->tcache[spc].  The count comes
 * first: at the list's limit, and always for &tcache_none (every entry of
 * the boot cache, so threads without a cache and every thread under
 * KARENA_DEBUG), the slow path takes p before anything is written to it
 * or to the list.  allocCount = limit - length: one decrement of memory,
 * branch on its sign flags.
 */
static ALWAYS_INLINE void tcache_free(struct mspan *l, void *p)
{
#if defined(__x86_64__) && defined(__GCC_ASM_FLAG_OUTPUTS__)
	bool room;

	__asm__("subl $1, %0" : "+m"(l->allocCount), "=@ccg"(room));
#else
	bool room = (int32_t)--l->allocCount > 0;
#endif
	if (unlikely(!room)) {
		tcache_free_slow(l, p);
		return;
	}
	*(void **)p = l->freelist;
	l->freelist = p;
}

/* ---- mgcscavenge.c ---- */
HIDDEN void scavenger_init(void);
HIDDEN void scavenger_maybe_start(void);
HIDDEN void scavenger_after_fork_child(void);
extern HIDDEN int scavenger_wanted;
extern HIDDEN uint32_t scav_tick;		/* atomic: scavenger ticks so far */
extern HIDDEN int scavenger_enabled;

/* ---- mstats.c ---- */
HIDDEN void transit_begin(void);
HIDDEN void transit_end(void);

/* ---- options.c: the KARENA_* variables ---- */
enum karena_opt {
	OPT_BACKEND, OPT_STATS, OPT_STATS_FILE, OPT_VERBOSE, OPT_DEBUG,
	OPT_SCAVENGER, OPT_SCAVENGE_PERCENT, OPT_SCAVENGE_RATE,
	OPT_SCAVENGE_AGE_MS, OPT_HUGEPAGE, OPT_URING, OPT_LAZY_RELEASE,
	OPT_COUNT
};
enum { BACKEND_AUTO, BACKEND_DEV, BACKEND_MMAP };		/* OPT_BACKEND */
enum { STATS_OFF, STATS_TOTALS, STATS_CLASSES, STATS_JSON };	/* OPT_STATS */

struct stats_out;
HIDDEN void options_init(void);
HIDDEN long karena_option(enum karena_opt id);
HIDDEN const char *karena_option_path(enum karena_opt id);
HIDDEN const char *karena_option_text(int id, long v, char *buf, size_t len);
HIDDEN void options_print(struct stats_out *out, bool json);

/* ---- stats_print.c: text and JSON reports ---- */
struct stats_out {
	karena_write_fn *write;		/* NULL: write(2) to fd */
	void *opaque;
	int fd;
	size_t n;
	char buf[1024];
};
HIDDEN void stats_out_printf(struct stats_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
HIDDEN void stats_out_json_str(struct stats_out *o, const char *s);
HIDDEN void stats_report_prepare(void);
HIDDEN void stats_report_at_exit(void);
HIDDEN void options_report(void);

#endif
