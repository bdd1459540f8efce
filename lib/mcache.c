// SPDX-License-Identifier: MIT
/*
 * mcache.c - per-thread caches.
 *
 * Each thread owns one struct mcache, reached through an initial-exec TLS
 * pointer (one load on the fast path).  It holds one span per span class;
 * empty slots point at a static empty span whose free list is empty, so the
 * fast path needs no NULL test.  The caches are allocated from persistent
 * metadata, registered in a global list (stats, fork), and recycled.
 *
 * Thread exit: a pthread key destructor flushes the cache: every span
 * goes back to its mcentral (partial, full, or the heap when empty), and
 * the malloc counters are folded into the globals.
 * If the thread allocates again after that (a later TLS destructor), it
 * gets a fresh cache and the key destructor runs again.
 *
 * Frees: every small free() of a thread with a cache goes to the cache's
 * list of freed objects of the class (tcache.c: TCMalloc's thread cache
 * in front of Go's spans), its own objects and other threads' alike;
 * malloc takes them back from there, and the lists return objects to the
 * spans in batches.  Spans stay owned by the cache that took them, so
 * those returns, and malloc from a span, need no atomic.
 *
 * Owner tokens: a span's owner field holds its cache's token, not the
 * cache's address (free() tested "mine" with it before the lists of
 * tcache.c; now their returns do): the token of a thread's cache is its
 * thread pointer, unique among live threads, and the cache is found from
 * it through the owner thread's own TLS slot (span_owner: static TLS sits
 * at the same offset from every thread pointer).  A thread's spans are
 * all given back (token 0) before its cache is destroyed, so a new thread
 * that reuses the pointer owns nothing by mistake; after fork() the
 * child's dead threads' spans get odd tokens (mcache_retoken_after_fork).
 * Odd tokens, the cache's address | 1, never match a thread pointer:
 * KARENA_DEBUG's caches (whose threads free through the checked path), a
 * cache made after the thread's key destructor ran, and caches without
 * a key destructor (their thread pointer could be reused unflushed).
 */
#include <string.h>
#include "internal.h"

HIDDEN struct mspan empty_span = { .state = SPAN_INUSE };
/* What the page maps hold for pages that were never part of a span. */
HIDDEN struct mspan no_span = { .state = SPAN_DEAD };
/* Every thread's cache until its first allocation: all spans empty, so
 * the first malloc of a class takes the slow path (mcache_get_slow); it
 * owns no span and its counters are never written. */
HIDDEN struct mcache boot_mcache = {
	.alloc = { [0 ... NUM_SPANCLASS - 1] = &empty_span },
	.tcache = { [0 ... NUM_SPANCLASS - 1] = &tcache_none },
};
HIDDEN __thread struct mcache *tls_mcache
	__attribute__((tls_model("initial-exec"))) = &boot_mcache;
/*
 * The thread's own cache.  tls_mcache, what the fast paths use, is the
 * same but for KARENA_DEBUG, where it stays &boot_mcache: then no span is
 * ever owned by tls_mcache, so every malloc takes the slow path and every
 * free the checked remote path, and the fast paths need no flag test.
 */
static __thread struct mcache *tls_mcache_own __attribute__((tls_model("initial-exec")));
/* The thread's cache was flushed by the key destructor: frees in later
 * TLS destructors must not set up a cache that may never be flushed. */
static __thread bool tls_mcache_gone __attribute__((tls_model("initial-exec")));

static pthread_mutex_t mcaches_lock = PTHREAD_MUTEX_INITIALIZER;
/* &tls_mcache_own - thread pointer: the same in every thread */
static uintptr_t tls_own_offset;
static struct mcache *mcaches;		/* live */
static struct mcache *mcache_free;	/* recycled */
static uint64_t dead_nmalloc[NUM_CLASSES];
static pthread_key_t mcache_key;
static int key_ok;

static void mcache_destroy(void *arg)
{
	struct mcache *c = arg;

	if (!c)
		return;
	mcache_flush(c);
	tls_mcache = &boot_mcache;
	STORE(&tls_mcache_own, NULL);	/* span_owner of a live token reads it */
	tls_mcache_gone = true;
	pthread_mutex_lock(&mcaches_lock);
	for (int i = 0; i < NUM_CLASSES; i++)
		dead_nmalloc[i] += LOAD(&c->nmalloc[i]);
	if (c->prev)
		c->prev->next = c->next;
	else
		mcaches = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->next = mcache_free;
	mcache_free = c;
	pthread_mutex_unlock(&mcaches_lock);
}

HIDDEN void mcache_init_key(void)
{
	if (!pthread_key_create(&mcache_key, mcache_destroy))
		key_ok = 1;
	tls_own_offset = (uintptr_t)&tls_mcache_own - thread_token();
}

/* The token c's spans get (see "Owner tokens" above). */
static uintptr_t cache_token(struct mcache *c)
{
	if (karena_debug || tls_mcache_gone || !key_ok)
		return (uintptr_t)c | 1;
	return thread_token();
}

/* The cache that owns s, or NULL. */
HIDDEN struct mcache *span_owner(const struct mspan *s)
{
	uintptr_t t = LOAD(&s->owner);

	if (!t)
		return NULL;
	if (t & 1)
		return (struct mcache *)(t & ~(uintptr_t)1);
	return LOAD((struct mcache **)(t + tls_own_offset));
}

/* Every span owned by c gets c's token (c's token just changed). */
static void retoken_spans(struct mcache *c)
{
	for (struct mspan *s = LOAD_ACQ(&allspans); s; s = LOAD(&s->allnext))
		if (span_owner(s) == c)
			STORE(&s->owner, c->token);
}

/*
 * In a fork child only the calling thread lives on; another thread may
 * soon get a dead one's thread pointer, so the dead threads' spans get
 * odd tokens (they stay with their caches, as before the fork).
 */
HIDDEN void mcache_retoken_after_fork(void)
{
	uintptr_t me = thread_token();

	for (struct mspan *s = LOAD_ACQ(&allspans); s; s = LOAD(&s->allnext)) {
		uintptr_t t = LOAD(&s->owner);

		if (t && !(t & 1) && t != me)
			STORE(&s->owner, (uintptr_t)span_owner(s) | 1);
	}
}

HIDDEN struct mcache *mcache_get_slow(void)
{
	struct mcache *c;

	if (!LOAD_ACQ(&karena_inited))
		karena_init_slow();
	if (tls_mcache_own)
		return tls_mcache_own;
	pthread_mutex_lock(&mcaches_lock);
	c = mcache_free;
	if (c) {
		mcache_free = c->next;
	} else if ((c = persistent_alloc(sizeof(*c))) != NULL) {
		for (int i = 0; i < NUM_SPANCLASS; i++)
			c->tcache[i] = &tcache_none;
	} else {
		pthread_mutex_unlock(&mcaches_lock);
		return NULL;
	}
	memset(c, 0, offsetof(struct mcache, tcache));	/* tcache[]: empty, kept */
	for (int i = 0; i < NUM_SPANCLASS; i++)
		c->alloc[i] = &empty_span;
	c->token = cache_token(c);
	c->next = mcaches;
	if (mcaches)
		mcaches->prev = c;
	mcaches = c;
	pthread_mutex_unlock(&mcaches_lock);
	STORE(&tls_mcache_own, c);
	if (!karena_debug)
		tls_mcache = c;
	if (key_ok)
		pthread_setspecific(mcache_key, c);
	return c;
}

/* The calling thread's cache, or NULL. */
HIDDEN struct mcache *mcache_own(void)
{
	return tls_mcache_own;
}

/*
 * KARENA_DEBUG on or off for the calling thread's fast paths (and every
 * thread's cache set up later): the variable is read once at start; the
 * unit tests switch it per process with this.
 */
HIDDEN void karena_set_debug(int on)
{
	struct mcache *c = tls_mcache_own;

	karena_debug = on;
	tls_mcache = on || !c ? &boot_mcache : c;
	if (c) {
		c->token = cache_token(c);
		retoken_spans(c);
	}
}

/*
 * A thread without a cache frees another thread's object: give it a cache
 * (a thread that only frees, a consumer, batches its frees like any
 * other), unless its cache was already flushed at thread exit.
 */
HIDDEN struct mcache *mcache_for_free(void)
{
	if (tls_mcache_gone)
		return NULL;
	return mcache_get_slow();
}

/* Owner: park s (no longer current) in the local full list, arming the
 * remote-free notification; if remote frees raced in, it is partial. */
static void park_full(struct mcache *c, struct mspan *s)
{
	unsigned spc = s->spanclass;

	if (!LOAD_ACQ(&s->queued)) {
		if (!span_arm_notify(s)) {
			span_drain_remote(s);
			span_set_list(s, LIST_LPARTIAL);
			span_list_push(&c->partial[spc], s);
			return;
		}
	}
	span_set_list(s, LIST_LFULL);
	span_list_push(&c->full[spc], s);
}

/* Owner: s, the current span of its class, waits on the local partial
 * list while the class's list of freed objects is current (tcache.c). */
HIDDEN void mcache_put_aside(struct mcache *c, struct mspan *s)
{
	KARENA_ASSERT(s->list == LIST_NONE);
	span_set_list(s, LIST_LPARTIAL);
	span_list_push(&c->partial[s->spanclass], s);
}

/* Owner: spans whose first remote free arrived while parked full. */
static void process_notify(struct mcache *c)
{
	struct mspan *s = __atomic_exchange_n(&c->rnotify, NULL, __ATOMIC_ACQUIRE);

	while (s) {
		struct mspan *next = s->rnext;

		STORE_REL(&s->queued, 0);
		if (LOAD(&s->owner) == c->token && s->list == LIST_LFULL) {
			span_list_remove(&c->full[s->spanclass], s);
			span_set_list(s, LIST_LPARTIAL);
			span_list_push(&c->partial[s->spanclass], s);
		}
		s = next;
	}
}

static void local_remove(struct mcache *c, struct mspan *s)
{
	unsigned spc = s->spanclass;

	if (s->list == LIST_LPARTIAL) {
		span_list_remove(&c->partial[spc], s);
	} else if (s->list == LIST_LFULL) {
		span_list_remove(&c->full[spc], s);
	} else if (s->list == LIST_LEMPTY) {
		span_list_remove(&c->empty[spc], s);
		c->empty_pages[spc] = (uint16_t)(c->empty_pages[spc] - s->npages);
		c->empty_total -= (uint32_t)s->npages;
	}
	span_set_list(s, LIST_NONE);
}

/*
 * Empty spans a thread keeps for reuse instead of giving them back to the
 * heap at once (Go never frees spans on the allocation path either): a
 * program that frees a batch and allocates the next one would otherwise
 * pay mheap_free + mheap_alloc (heap lock, coalescing, page map writes) and
 * span_init_small per span per batch.  Bounded per class (at least one
 * span) and per thread; the rest go back at once, all of them when the
 * thread exits or calls karena_release()/malloc_trim().
 */
#define EMPTY_KEEP_PAGES	8	/* per span class: 64 KiB */
#define EMPTY_KEEP_TOTAL	256	/* per thread: 2 MiB */

static bool keep_empty(const struct mcache *c, const struct mspan *s)
{
	unsigned spc = s->spanclass;

	if (c->empty_total + s->npages > EMPTY_KEEP_TOTAL)
		return false;
	return c->empty_pages[spc] == 0 ||
	       c->empty_pages[spc] + s->npages <= EMPTY_KEEP_PAGES;
}

/*
 * Owner, after a local free into s left it empty or freed a slot in a
 * parked-full span: keep empty spans for reuse (within bounds) or give
 * them back, make parked spans partial again once an eighth is free.
 */
HIDDEN void mcache_span_freed(struct mcache *c, struct mspan *s)
{
	unsigned spc = s->spanclass;

	if (s == c->alloc[spc])
		return;
	if (span_live(s) == 0 && keep_empty(c, s)) {
		local_remove(c, s);
		span_set_list(s, LIST_LEMPTY);
		span_list_push(&c->empty[spc], s);
		c->empty_pages[spc] = (uint16_t)(c->empty_pages[spc] + s->npages);
		c->empty_total += (uint32_t)s->npages;
		return;
	}
	if (span_live(s) == 0 && !LOAD_ACQ(&s->queued)) {
		local_remove(c, s);
		mcentral_release_span(s);
		return;
	}
	if (s->list == LIST_LFULL && (s->nelems - span_live(s)) * 8u >= s->nelems) {
		span_list_remove(&c->full[spc], s);
		span_set_list(s, LIST_LPARTIAL);
		span_list_push(&c->partial[spc], s);
	}
}

static ALWAYS_INLINE bool worth_using(const struct mspan *s)
{
	return (s->nelems - span_live(s)) * 8u >= s->nelems;
}

/*
 * The current span (or list, tcache.c) for spc ran out.  Spans stay owned
 * by this thread (local partial and full lists) so that returning objects
 * to them never needs an atomic; the order of preference is: the current
 * span again if remote frees gave back an eighth of it, the thread's list
 * of freed objects of the class or a batch from the transfer cache
 * (objects already out of their spans), a local partial span, a kept
 * empty span, a span from mcentral.  Returns a span (or list) with a free
 * slot, or NULL when out of memory.
 */
HIDDEN struct mspan *mcache_refill(struct mcache *c, int spc)
{
	struct mspan *s = c->alloc[spc], *l = tcache_get(c, (unsigned)spc);

	if (!l)
		return NULL;
	if (s == l) {
		c->alloc[spc] = &empty_span;	/* used up */
	} else if (s != &empty_span) {
		span_drain_remote(s);
		if (span_live(s) < s->nelems && worth_using(s))
			return s;
		c->alloc[spc] = &empty_span;
		park_full(c, s);
	}
	if ((s = tcache_refill(c, l)) != NULL)
		return s;
	if (LOAD(&c->rnotify))
		process_notify(c);
	while ((s = c->partial[spc].head) != NULL) {
		span_list_remove(&c->partial[spc], s);
		span_set_list(s, LIST_NONE);
		span_drain_remote(s);
		if (span_live(s) < s->nelems) {
			c->alloc[spc] = s;
			return s;
		}
		park_full(c, s);
	}
	if ((s = c->empty[spc].head) != NULL) {
		local_remove(c, s);
		c->alloc[spc] = s;
		return s;
	}
	s = mcentral_cache_span(spc, c);
	if (!s)
		return NULL;
	span_set_list(s, LIST_NONE);
	c->alloc[spc] = s;
	return s;
}

HIDDEN void mcache_flush(struct mcache *c)
{
	struct mspan *s;

	tcache_release_all(c);
	for (int i = 0; i < NUM_SPANCLASS; i++) {
		s = c->alloc[i];
		if (s != &empty_span) {
			c->alloc[i] = &empty_span;
			mcentral_uncache_span(s);
		}
		while ((s = c->partial[i].head) != NULL) {
			local_remove(c, s);
			mcentral_uncache_span(s);
		}
		while ((s = c->full[i].head) != NULL) {
			local_remove(c, s);
			mcentral_uncache_span(s);
		}
		while ((s = c->empty[i].head) != NULL) {
			local_remove(c, s);
			mcentral_uncache_span(s);
		}
	}
	/* every span is unowned now: nobody can queue on us any more */
	STORE(&c->rnotify, NULL);
}

/*
 * Owner: apply the remote frees pending in the spans of c's local lists
 * (they wait for the owner's next refill of the class otherwise; with
 * KARENA_DEBUG every free is one); give back the spans that became empty,
 * make full spans with room partial, re-arm the ones still full.  Spans
 * on the notify stack are left alone (process_notify runs first).
 */
static void drain_owned(struct mcache *c, int spc)
{
	struct mspan *s, *next;

	for (s = c->partial[spc].head; s; s = next) {
		next = s->next;
		if (LOAD_ACQ(&s->queued))
			continue;
		span_drain_remote(s);
		if (span_live(s) == 0) {
			local_remove(c, s);
			mcentral_uncache_span(s);
		}
	}
	for (s = c->full[spc].head; s; s = next) {
		next = s->next;
		if (LOAD_ACQ(&s->queued))
			continue;
		local_remove(c, s);
		span_drain_remote(s);
		if (span_live(s) == 0) {
			mcentral_uncache_span(s);
		} else if (span_live(s) < s->nelems) {
			span_set_list(s, LIST_LPARTIAL);
			span_list_push(&c->partial[spc], s);
		} else {
			park_full(c, s);
		}
	}
}

/* Owner: give every empty span back to the heap (karena_release). */
HIDDEN void mcache_release_empty(struct mcache *c)
{
	struct mspan *s;

	tcache_release_all(c);
	/* a queued span must not be freed while on the notify stack */
	if (LOAD(&c->rnotify))
		process_notify(c);
	for (int i = 0; i < NUM_SPANCLASS; i++) {
		drain_owned(c, i);
		while ((s = c->empty[i].head) != NULL) {
			local_remove(c, s);
			mcentral_uncache_span(s);
		}
	}
}

/*
 * Per class: mallocs of every cache, live or exited, and the objects on
 * the live caches' lists (freed, still out in their spans: tcache.c).
 */
HIDDEN void mcache_sum(uint64_t *nmalloc, uint64_t *held, uint64_t *nthreads)
{
	uint64_t n = 0;

	pthread_mutex_lock(&mcaches_lock);
	for (int i = 0; i < NUM_CLASSES; i++) {
		nmalloc[i] = dead_nmalloc[i];
		held[i] = 0;
	}
	for (struct mcache *c = mcaches; c; c = c->next) {
		for (int i = 0; i < NUM_CLASSES; i++)
			nmalloc[i] += LOAD(&c->nmalloc[i]);
		for (int spc = 0; spc < NUM_SPANCLASS; spc++) {
			struct mspan *l = LOAD_ACQ(&c->tcache[spc]);

			if (l != &tcache_none)
				held[spc >> 1] += tcache_count(l);
		}
		n++;
	}
	pthread_mutex_unlock(&mcaches_lock);
	*nthreads = n;
}

HIDDEN void mcache_lock_all(void)
{
	pthread_mutex_lock(&mcaches_lock);
}

HIDDEN void mcache_unlock_all(void)
{
	pthread_mutex_unlock(&mcaches_lock);
}

HIDDEN void mcache_reinit_locks(void)
{
	pthread_mutex_init(&mcaches_lock, NULL);
}
