// SPDX-License-Identifier: MIT
/*
 * tcache.c - per-thread, per-class lists of freed objects in front of the
 * spans (TCMalloc's thread cache free lists, Go's ancestor).
 *
 * Every small free() pushes the object on the calling thread's list of
 * its class, c->tcache[spc], whichever thread's span it belongs to (no
 * owner test: in larson most frees are of other threads' objects, and a
 * branch on "mine" mispredicts on every other free), and malloc takes
 * objects from that list, last freed first: an object freed into a cold
 * span (larson's random victims) is handed to the next malloc of its
 * class while its line is hot, where the span's own list would hand out
 * an object freed long ago, and a malloc+free pair of one thread touches
 * no span.  The objects stay counted as out in their spans meanwhile.
 * Entries of classes without a list yet, and every entry of the boot
 * cache (threads without a cache, all threads under KARENA_DEBUG), are
 * &tcache_none, whose count sends every free to the slow path before it
 * writes anything (tcache_free), so free() needs no NULL test.
 *
 * The list is an mspan of state LIST_TCACHE, so the malloc fast path pops
 * it like a span when it is the class's current one (c->alloc[spc]).
 * Its length is bounded by the sign test of the free fast path
 * (tcache_free): nelems (a list is no span, free() never reads it) is
 * the length at which the free takes the slow path, allocCount is nelems
 * minus the length.  Two limits:
 *  - while a span is current (the list ran out and malloc went on with
 *    the spans), the first free makes the list current again (the span
 *    waits on the cache's local partial list): a program that frees and
 *    mallocs one buffer gets the same one back, and touches no new
 *    memory, as it did from the span's list (with a threshold of 16 it
 *    touched up to 16 objects per class: RSS, selftests/devbackend);
 *  - while the list is current, tcache_max(cls) objects (128, or 128 KiB
 *    of them) make the free return half of them (the last freed: they
 *    and their spans are still in the cache): objects of spans this
 *    cache owns go back to them (span_free_local and mcache_span_freed,
 *    as the owner's free did before, no atomic), other threads' objects
 *    go to mcentral's transfer cache as one batch, or back to their spans
 *    (span_free_remote_list) when that is full; when the list's first
 *    object is another thread's (a consumer's frees), the whole list goes
 *    on as one batch, without a look-up per object.
 * When a current list runs out, malloc's refill takes a batch from the
 * transfer cache into it, else goes on with the spans (mcache_refill).
 * Thread exit and karena_release() return every object on the lists to
 * its span.  So a producer and a consumer thread exchange batches without
 * touching spans, and a single thread's frees reach its spans (and their
 * accounting: empty spans, parked spans) in batches, never through a lock.
 *
 * Invariant: an object on c's list whose span c owns keeps that span
 * owned by c (it is counted as out, and c gives spans away only when
 * empty or after returning its lists at exit); other objects' spans may
 * change hands meanwhile, so the return looks at each span's owner then.
 */
#include "internal.h"

/*
 * The list of no class: allocCount 0, so every push takes the slow path
 * (which stores 0 again: threads race on it, and a decrement that
 * overtook the store only leaves it more negative; on x86-64 the
 * decrement is one instruction, elsewhere a plain read-modify-write).
 */
HIDDEN struct mspan tcache_none = { .state = SPAN_INUSE, .list = LIST_TCACHE };

static uint32_t tcache_max(unsigned cls)
{
	uint32_t n = (128u << 10) / karena_class_to_size[cls];

	return n < 4 ? 4 : n > 128 ? 128 : n;
}

/* The limit of a list that is not current: its first object. */
#define TCACHE_SWITCH	1

static inline uint32_t tcache_len(const struct mspan *l)
{
	return (uint32_t)l->nelems - l->allocCount;
}

/* Set the length at which the free's slow path runs (above the length). */
static void tcache_set_limit(struct mspan *l, uint32_t limit)
{
	uint32_t n = tcache_len(l);

	KARENA_ASSERT(n < limit);
	l->nelems = limit;
	l->allocCount = limit - n;
}

/* Objects on the list, read racily by the statistics (mcache_sum). */
HIDDEN uint32_t tcache_count(const struct mspan *l)
{
	return (uint32_t)LOAD(&l->nelems) - LOAD(&l->allocCount);
}

/* c's list of span class spc, set up on first use; NULL without memory. */
HIDDEN struct mspan *tcache_get(struct mcache *c, unsigned spc)
{
	struct mspan *l = c->tcache[spc];

	if (l != &tcache_none)
		return l;
	l = persistent_alloc(sizeof(*l));
	if (!l)
		return NULL;
	l->state = SPAN_INUSE;
	l->list = LIST_TCACHE;
	l->spanclass = (uint8_t)spc;
	l->elemsize = karena_class_to_size[spc >> 1];
	tcache_set_limit(l, TCACHE_SWITCH);
	STORE_REL(&c->tcache[spc], l);	/* mcache_sum reads it */
	return l;
}

/* Hand n objects of class spc on: to the transfer cache if to_xfer and
 * it has room, else back to their spans as remote frees. */
static void tcache_hand_on(unsigned spc, void *head, uint32_t n, bool to_xfer)
{
	transit_begin();	/* other threads' objects move (mstats.c) */
	if (!to_xfer || !mcentral_xfer_put((int)spc, head, n))
		span_free_remote_list(head, n);
	transit_end();
}

/*
 * Return n objects of class spc, a list from head: c's own objects to
 * their spans one by one, the others on as one batch (tcache_hand_on).
 */
static void tcache_return(struct mcache *c, unsigned spc, void *head, uint32_t n,
			  bool to_xfer)
{
	void *others = NULL, **tail = &others;
	uint32_t nothers = 0;
	struct mspan *s = NULL;
	uintptr_t page = 0;
	bool mine = false;

	for (void **p = head; n && p; n--) {
		void **next = *p;

		if (((uintptr_t)p >> PAGE_SHIFT) != page) {	/* else: s's page */
			page = (uintptr_t)p >> PAGE_SHIFT;
			s = span_of((uintptr_t)p);
			mine = LOAD(&s->owner) == c->token;
		}
		if (mine) {
			if (!span_free_local(s, p)) {
				mcache_span_freed(c, s);	/* may free s */
				page = 0;
			}
		} else {
			*tail = p;
			tail = p;
			nothers++;
		}
		p = next;
	}
	if (nothers) {
		*tail = NULL;
		tcache_hand_on(spc, others, nothers, to_xfer);
	}
}

/*
 * Take the first n objects (n <= length) off l: the ones freed last,
 * whose lines (and their spans' first lines) are still hot, so returning
 * them costs no misses (TCMalloc releases from the head too).
 */
static void *tcache_take(struct mspan *l, uint32_t n)
{
	void **head = l->freelist, **p = head;

	if (n == tcache_len(l)) {	/* all of it: no walk */
		l->freelist = NULL;
		l->allocCount += n;
		return n ? head : NULL;
	}
	for (uint32_t i = 1; i < n; i++)
		p = *p;
	l->freelist = n ? *p : head;
	if (n)
		*p = NULL;
	l->allocCount += n;
	return n ? head : NULL;
}

/*
 * The free found l, c's, at its limit and pushed the object: when l is
 * current, return half of it to the spans; else make it current (a
 * span it replaces waits on the local partial list).
 */
HIDDEN void tcache_full(struct mcache *c, struct mspan *l)
{
	unsigned spc = l->spanclass;
	struct mspan *s = c->alloc[spc];
	uint32_t n;

	if (s == l) {
		void *head = l->freelist;

		if (LOAD(&span_of((uintptr_t)head)->owner) != c->token) {
			/* another thread's objects (a consumer's frees): the
			 * whole list goes on as one batch, no look-ups; any
			 * thread may take c's own objects from it too */
			n = tcache_len(l);
			tcache_hand_on(spc, tcache_take(l, n), n, true);
			return;
		}
		n = tcache_len(l) / 2;
		tcache_return(c, spc, tcache_take(l, n), n, true);
		return;
	}
	if (s != &empty_span)
		mcache_put_aside(c, s);
	c->alloc[spc] = l;
	tcache_set_limit(l, tcache_max(spc >> 1));
}

/*
 * malloc's refill of class spc, the current span or list used up: the
 * list if it holds objects, else a batch from the transfer cache into
 * it.  Returns l made current, or NULL (then the spans go on, and l's
 * switch limit applies).
 */
HIDDEN struct mspan *tcache_refill(struct mcache *c, struct mspan *l)
{
	unsigned spc = l->spanclass;

	if (!l->freelist && LOAD(&mcentral_[spc].nxfer)) {
		uint32_t n;
		void *head;

		transit_begin();
		head = mcentral_xfer_get((int)spc, &n);
		if (head) {
			l->freelist = head;
			l->allocCount -= n;
		}
		transit_end();
	}
	if (!l->freelist) {
		tcache_set_limit(l, TCACHE_SWITCH);
		return NULL;
	}
	c->alloc[spc] = l;
	/* a whole list handed on may fill l: the next free returns half */
	tcache_set_limit(l, tcache_max(spc >> 1) > tcache_len(l) ? tcache_max(spc >> 1) :
			 tcache_len(l) + 1);
	return l;
}

/* Return every object on c's lists to its span (thread exit, karena_release). */
HIDDEN void tcache_release_all(struct mcache *c)
{
	transit_begin();
	for (int spc = 0; spc < NUM_SPANCLASS; spc++) {
		struct mspan *l = c->tcache[spc];
		uint32_t n;

		if (l == &tcache_none)
			continue;
		if (c->alloc[spc] == l)
			c->alloc[spc] = &empty_span;
		n = tcache_len(l);
		tcache_return(c, (unsigned)spc, tcache_take(l, n), n, false);
		tcache_set_limit(l, TCACHE_SWITCH);
	}
	transit_end();
}
