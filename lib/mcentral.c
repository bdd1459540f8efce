// SPDX-License-Identifier: MIT
/*
 * mcentral.c - per span class lists of spans not owned by any mcache.
 *
 * Spans normally stay owned by the mcache that first took them (see
 * mcache.c); they come here when a thread exits.
 * partial: spans with free objects (or pending remote frees);
 * full:    spans whose owner gave them back with every object allocated
 *          and no remote frees pending; their notify flag is armed
 *          (under this lock), so the first remote free moves them back
 *          to partial (mcentral_notify).
 * The class lock also orders ownership changes against notifications of
 * spans parked full in an owner's local list.
 * Empty spans go back to the heap when uncached; spans that become empty
 * in the partial list through remote frees are found by mcentral_reclaim
 * (scavenger tick, karena_release, malloc_trim).
 *
 * Transfer cache (TCMalloc's, between the thread caches and the spans):
 * per class up to XFER_SLOTS batches of freed objects that threads
 * freeing other threads' objects handed on (tcache.c),
 * taken whole by the next thread that runs out of that class.  So a
 * producer/consumer pair moves objects in batches, one lock round trip
 * per batch on each side, and the spans are not touched at all.  Bounded
 * to XFER_SLOTS batches and XFER_BYTES per class; a batch that does not fit goes back to its
 * spans (span_free_remote_list), and mcentral_reclaim empties the cache
 * (once a second from the scavenger, and in karena_release), so objects
 * parked here cannot keep spans in use for long.
 */
#include "internal.h"

static pthread_mutex_t central_locks[MCENTRAL_LOCKS] = {
	[0 ... MCENTRAL_LOCKS - 1] = PTHREAD_MUTEX_INITIALIZER,
};
#define L(i)	(&central_locks[(i) % MCENTRAL_LOCKS])
/* spc % 16 */
HIDDEN struct mcentral mcentral_[NUM_SPANCLASS] = {
#define C4(i) { .lock = L(i) }, { .lock = L(i + 1) }, { .lock = L(i + 2) }, { .lock = L(i + 3) }
#define C16(i) C4(i), C4(i + 4), C4(i + 8), C4(i + 12)
	C16(0), C16(16), C16(32), C16(48), C16(64), C16(80), C16(96), C16(112),
	C4(128), C4(132),
#undef C16
#undef C4
};
_Static_assert(NUM_SPANCLASS == 136, "mcentral_ initialiser");

HIDDEN void span_list_push(struct span_list *l, struct mspan *s)
{
	s->prev = NULL;
	s->next = l->head;
	if (l->head)
		l->head->prev = s;
	STORE(&l->head, s);	/* read racily by mcentral_reclaim */
}

HIDDEN void span_list_remove(struct span_list *l, struct mspan *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		STORE(&l->head, s->next);
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
}

static void mcentral_init_all(void)
{
	for (int i = 0; i < MCENTRAL_LOCKS; i++)
		pthread_mutex_init(&central_locks[i], NULL);
}

HIDDEN void mcentral_reinit_locks(void)
{
	mcentral_init_all();
}

HIDDEN void mcentral_lock_all(void)
{
	for (int i = 0; i < MCENTRAL_LOCKS; i++)
		pthread_mutex_lock(&central_locks[i]);
}

HIDDEN void mcentral_unlock_all(void)
{
	for (int i = MCENTRAL_LOCKS - 1; i >= 0; i--)
		pthread_mutex_unlock(&central_locks[i]);
}

/*
 * Pages per span of class cls: Go's class_to_allocnpages, doubled while a
 * span holds fewer than SPAN_MIN_OBJS objects and stays within
 * SPAN_MAX_PAGES.  Go sizes spans for a sweeper that frees whole spans at
 * a time; with per-object free() a class of 1-8 objects per span cycles
 * its spans through refill on every few mallocs (PROFILE.md Finding 1.3;
 * tcmalloc sizes its spans the same way).  Doubling keeps the tail-waste
 * fraction, and the reciprocal division stays exact: offsets stay below
 * 64 KiB <= 2^32 / 32 KiB.  Untouched pages of a bigger span cost
 * address space, not RSS.
 */
#define SPAN_MIN_OBJS	16
#define SPAN_MAX_PAGES	8

static size_t span_pages(unsigned cls)
{
	size_t np = karena_class_to_allocnpages[cls];

	while ((np * PAGE_BYTES) / karena_class_to_size[cls] < SPAN_MIN_OBJS &&
	       np * 2 <= SPAN_MAX_PAGES)
		np *= 2;
	return np;
}

/* Give c a span of class spc with at least one free object. */
HIDDEN struct mspan *mcentral_cache_span(int spc, struct mcache *c)
{
	struct mcentral *mc = &mcentral_[spc];
	struct mspan *s;

	pthread_mutex_lock(mc->lock);
	s = mc->partial.head;
	if (s) {
		span_list_remove(&mc->partial, s);
		span_set_list(s, LIST_NONE);
		STORE(&s->owner, c->token);
		pthread_mutex_unlock(mc->lock);
		span_drain_remote(s);
		return s;
	}
	pthread_mutex_unlock(mc->lock);

	s = mheap_alloc(span_pages((unsigned)spc >> 1), 1, spc);
	if (!s)
		return NULL;
	span_init_small(s, spc);
	pthread_mutex_lock(mc->lock);
	mc->nspans++;
	STORE(&s->owner, c->token);
	pthread_mutex_unlock(mc->lock);
	return s;
}

/* The owner gives s back. */
HIDDEN void mcentral_uncache_span(struct mspan *s)
{
	struct mcentral *mc = &mcentral_[s->spanclass];

	span_drain_remote(s);
	pthread_mutex_lock(mc->lock);
	STORE(&s->owner, 0);
	STORE(&s->queued, 0);	/* the owner's notify stack is discarded */
	if (span_live(s) == 0) {
		mc->nspans--;
		pthread_mutex_unlock(mc->lock);
		STORE(&s->notify, 0);
		mheap_free(s);
		return;
	}
	if (span_live(s) == s->nelems) {
		if (span_arm_notify(s)) {
			span_set_list(s, LIST_FULL);
			span_list_push(&mc->full, s);
			pthread_mutex_unlock(mc->lock);
			return;
		}
	}
	span_set_list(s, LIST_PARTIAL);
	span_list_push(&mc->partial, s);
	pthread_mutex_unlock(mc->lock);
}

/* The owner gives back an empty span. */
HIDDEN void mcentral_release_span(struct mspan *s)
{
	struct mcentral *mc = &mcentral_[s->spanclass];

	pthread_mutex_lock(mc->lock);
	STORE(&s->owner, 0);
	mc->nspans--;
	pthread_mutex_unlock(mc->lock);
	STORE(&s->notify, 0);
	mheap_free(s);
}

/*
 * The first remote free on a span parked full (it took the notify flag):
 * tell the owning mcache through its notify stack, or, for an unowned
 * span, move it from the full to the partial list.  Under the class lock,
 * so ownership cannot change meanwhile (uncaching takes the same lock).
 */
HIDDEN void mcentral_notify(struct mspan *s)
{
	struct mcentral *mc = &mcentral_[s->spanclass];
	struct mcache *c;

	pthread_mutex_lock(mc->lock);
	c = span_owner(s);
	if (c) {
		if (!__atomic_exchange_n(&s->queued, 1, __ATOMIC_ACQ_REL)) {
			struct mspan *old = LOAD(&c->rnotify);

			do {
				s->rnext = old;
			} while (!__atomic_compare_exchange_n(&c->rnotify, &old, s, true,
							      __ATOMIC_RELEASE,
							      __ATOMIC_RELAXED));
		}
	} else if (s->list == LIST_FULL) {
		span_list_remove(&mc->full, s);
		span_set_list(s, LIST_PARTIAL);
		span_list_push(&mc->partial, s);
	}
	pthread_mutex_unlock(mc->lock);
}

#define XFER_BYTES	(512u << 10)

/* Hand on a batch of n freed objects of class spc; false when full. */
HIDDEN bool mcentral_xfer_put(int spc, void *head, uint32_t n)
{
	struct mcentral *mc = &mcentral_[spc];
	uint64_t bytes = (uint64_t)n * karena_class_to_size[spc >> 1];
	bool ok = false;

	pthread_mutex_lock(mc->lock);
	if (mc->nxfer < XFER_SLOTS && (mc->nxfer + 1) * bytes <= XFER_BYTES) {
		mc->xfer[mc->nxfer] = (struct obj_batch){ head, n };
		STORE(&mc->nxfer, mc->nxfer + 1);
		ok = true;
	}
	pthread_mutex_unlock(mc->lock);
	return ok;
}

/* Take a batch of freed objects of class spc (*n of them), or NULL. */
HIDDEN void *mcentral_xfer_get(int spc, uint32_t *n)
{
	struct mcentral *mc = &mcentral_[spc];
	void *head = NULL;

	if (!LOAD(&mc->nxfer))
		return NULL;
	pthread_mutex_lock(mc->lock);
	if (mc->nxfer) {
		STORE(&mc->nxfer, mc->nxfer - 1);
		head = mc->xfer[mc->nxfer].head;
		*n = mc->xfer[mc->nxfer].n;
	}
	pthread_mutex_unlock(mc->lock);
	return head;
}

/* Give every batch in spc's transfer cache back to its spans. */
static void xfer_release(int spc)
{
	struct mcentral *mc = &mcentral_[spc];
	struct obj_batch b[XFER_SLOTS];
	uint32_t n;

	if (!LOAD(&mc->nxfer))
		return;
	transit_begin();
	pthread_mutex_lock(mc->lock);
	n = mc->nxfer;
	for (uint32_t i = 0; i < n; i++)
		b[i] = mc->xfer[i];
	STORE(&mc->nxfer, 0);
	pthread_mutex_unlock(mc->lock);
	for (uint32_t i = 0; i < n; i++)
		span_free_remote_list(b[i].head, b[i].n);
	transit_end();
}

/* Per class, the objects waiting in the transfer caches (held[cls] += ...). */
HIDDEN void mcentral_xfer_sum(uint64_t *held)
{
	for (int spc = 2; spc < NUM_SPANCLASS; spc++) {
		struct mcentral *mc = &mcentral_[spc];

		if (!LOAD(&mc->nxfer))
			continue;
		pthread_mutex_lock(mc->lock);
		for (uint32_t i = 0; i < mc->nxfer; i++)
			held[spc >> 1] += mc->xfer[i].n;
		pthread_mutex_unlock(mc->lock);
	}
}

/*
 * Empty the transfer caches, then return spans that became empty in the
 * partial lists to the heap.
 */
HIDDEN size_t mcentral_reclaim(void)
{
	size_t n = 0;

	for (int spc = 2; spc < NUM_SPANCLASS; spc++) {
		struct mcentral *mc = &mcentral_[spc];
		struct mspan *s, *next, *empty = NULL;

		xfer_release(spc);

		if (!LOAD(&mc->partial.head))
			continue;
		transit_begin();	/* drained objects: neither pending nor free */
		pthread_mutex_lock(mc->lock);
		for (s = mc->partial.head; s; s = next) {
			next = s->next;
			span_drain_remote(s);
			if (span_live(s) == 0) {
				span_list_remove(&mc->partial, s);
				span_set_list(s, LIST_NONE);
				mc->nspans--;
				s->next = empty;
				empty = s;
			}
		}
		pthread_mutex_unlock(mc->lock);
		transit_end();
		while (empty) {
			s = empty;
			empty = s->next;
			mheap_free(s);
			n++;
		}
	}
	return n;
}
