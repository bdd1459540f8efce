// SPDX-License-Identifier: MIT
/*
 * mspan.c - a span: a run of pages cut into objects of one size class.
 *
 * Free objects of a span are kept on a singly linked list threaded
 * through their first word (freelist), as in TCMalloc, Go's ancestor:
 * malloc pops the head, the owning thread pushes objects back when its
 * list of freed objects of the class returns them (tcache.c; both inline
 * in internal.h, no atomics).  allocCount counts objects handed out and
 * not given back, so an empty span is seen when the last one comes back.  Objects never handed out are not on the list: when it
 * is empty, malloc takes the next one at the bump pointer (same inline
 * path), so the allocator writes no object before the program does and a
 * span's pages are touched only as the program uses them (objects
 * allocated and never written cost no RSS, as with the bitmap before).
 *
 * Go keeps allocBits and a count-trailing-zeros window instead, because
 * its sweeper frees whole spans by swapping in the GC's mark bits; with
 * explicit free() a bitmap costs a read-modify-write of a bitmap word on
 * both malloc and free, plus the window upkeep, where a list costs two
 * stores (bench/PROFILE.md: instructions per pair).
 *
 * Objects freed by other threads come back to the span in batches (the
 * freeing thread's list of the class and mcentral's transfer cache hold
 * them first, tcache.c) or one by one (KARENA_DEBUG, a thread whose
 * cache is gone): each sets the object's bit in the span's remote-free
 * bitmap (rfree_bits, one atomic fetch-or per span word for a run of
 * objects, never retried; the old value shows a repeated free), without
 * writing the object.  Only the owner, or
 * whoever takes an unowned span out of mcentral, drains it: per word with
 * bits, one exchange with 0, then each object is pushed on the free list
 * and allocCount drops by popcount(w).  The words live on their own cache
 * lines (internal.h), away from what the owner writes on every malloc.
 *
 * Why a bitmap per span: it needs nothing from the returning thread
 * (which may be exiting or have no cache), spreads the traffic over as
 * many cache lines as there are spans, and lets the owner apply frees
 * span by span exactly when it needs room in that span.  Its cost, finding spans with pending frees, is solved by the
 * notify flag: a span parked full (in its owner's local full list or in
 * mcentral's full list) is armed, and the first remote free takes the flag
 * (exchange) and reports the span (mcentral_notify): to the owner's notify
 * stack, or from mcentral's full to partial list.  Arming and freeing are
 * a store-load pair on each side (seq_cst): either the arming thread sees
 * the freed bit, or the freeing thread sees the flag (span_arm_notify).
 *
 * Double frees: a list has no per-object state to test cheaply, so the
 * owner's fast path does not look for them (as mimalloc and TCMalloc do
 * not).  With KARENA_DEBUG=1 every free takes this bitmap directly, whose
 * fetch-or reports a second free before the drain, and the drain checks
 * each object against the list (span_object_is_free, a walk) and aborts
 * on one that is already free.
 */
#include <string.h>
#include "internal.h"

HIDDEN void span_init_small(struct mspan *s, int spanclass)
{
	unsigned cls = (unsigned)spanclass >> 1;
	size_t bytes = s->npages * PAGE_BYTES;

	uint32_t q;

	s->spanclass = (uint8_t)spanclass;
	s->elemsize = karena_class_to_size[cls];
	s->divmul = karena_class_divmul[cls];
	s->shift = (uint8_t)__builtin_ctz(s->elemsize);
	q = s->elemsize >> s->shift;
	/* Newton's iteration: q * q == 1 mod 8, each step doubles the bits */
	s->inv = q;
	for (int i = 0; i < 5; i++)
		s->inv *= 2 - (uint64_t)q * s->inv;
	s->nelems = bytes / s->elemsize;
	s->freelist = NULL;
	s->bump = s->start;
	s->bumpend = s->start + (uintptr_t)s->nelems * s->elemsize;
	s->allocCount = 0;
	memset(s->rfree_bits, 0, sizeof(s->rfree_bits));
}

/*
 * Owner-only slow path, the free list and the never-used objects being
 * exhausted: apply remote frees.  Returns an object, or NULL when the
 * span is full.
 */
HIDDEN void *span_alloc_slow(struct mspan *s)
{
	void *p = span_alloc_fast(s);

	if (p)
		return p;
	span_drain_remote(s);
	return span_alloc_fast(s);
}

/* Is object idx of s free (never used, on the list, or freed remotely)?
 * A walk of the list: for KARENA_DEBUG checks and tests only. */
HIDDEN bool span_object_is_free(const struct mspan *s, unsigned idx)
{
	uintptr_t obj = s->start + (uintptr_t)idx * s->elemsize;

	if (obj >= s->bump)
		return true;
	if (LOAD(&s->rfree_bits[idx >> 6]) >> (idx & 63) & 1)
		return true;
	for (void **p = s->freelist; p; p = *p)
		if ((uintptr_t)p == obj)
			return true;
	return false;
}

/*
 * Objects out per class (inuse[cls] += ...), read racily from every span:
 * handed out and not freed back (span_live) minus those freed by other
 * threads and not yet drained.  Exact when the owners are not running
 * (mstats.c).
 */
HIDDEN void span_inuse_sum(uint64_t *inuse)
{
	for (struct mspan *s = LOAD_ACQ(&allspans); s; s = LOAD(&s->allnext)) {
		unsigned spc = LOAD(&s->spanclass), nw;
		uint32_t out;

		if (spc < 2 || LOAD(&s->state) != SPAN_INUSE || !LOAD(&s->nelems))
			continue;
		out = LOAD(&s->allocCount);
		if (LOAD(&s->list) == LIST_LFULL)
			out += span_park_threshold(s);
		nw = (LOAD(&s->nelems) + 63u) >> 6;
		for (unsigned i = 0; i < nw && i < RFREE_WORDS; i++)
			out -= (uint32_t)__builtin_popcountll(LOAD(&s->rfree_bits[i]));
		inuse[spc >> 1] += out;
	}
}

/* Owner (or mcentral under its lock, span unowned): apply remote frees. */
HIDDEN void span_drain_remote(struct mspan *s)
{
	unsigned nw = (s->nelems + 63u) >> 6;

	/* in use again: a parked span's notification is no longer wanted
	 * (a freer that already took the flag just reports it, harmlessly) */
	if (unlikely(LOAD(&s->notify)))
		STORE(&s->notify, 0);
	for (unsigned i = 0; i < nw; i++) {
		uint64_t w;

		if (!LOAD(&s->rfree_bits[i]))
			continue;
		w = __atomic_exchange_n(&s->rfree_bits[i], 0, __ATOMIC_ACQUIRE);
		while (w) {
			unsigned idx = i * 64 + (unsigned)__builtin_ctzll(w);
			void *obj = (void *)(s->start + (uintptr_t)idx * s->elemsize);

			w &= w - 1;
			if (unlikely(karena_debug) && span_object_is_free(s, idx)) {
				/* freed here and by another thread */
				karena_bad_pointer("double free of pointer", obj);
				continue;
			}
			span_free_local(s, obj);
		}
	}
}

/*
 * Any thread but the owner: mark the objects of bits in word w of s
 * freed, one fetch-or; returns the bits that were set already (repeated
 * frees: ignored, the caller reports them with KARENA_DEBUG).
 */
static uint64_t span_free_remote_bits(struct mspan *s, unsigned w, uint64_t bits)
{
	uint64_t old = __atomic_fetch_or(&s->rfree_bits[w], bits, __ATOMIC_SEQ_CST);

	if (unlikely(!(bits & ~old)))
		return old & bits;
	/* pairs with span_arm_notify: fetch-or, then load the flag */
	if (unlikely(__atomic_load_n(&s->notify, __ATOMIC_SEQ_CST)) &&
	    __atomic_exchange_n(&s->notify, 0, __ATOMIC_ACQ_REL))
		mcentral_notify(s);
	return old & bits;
}

/* Any thread but the owner: mark object idx (at p) of s freed. */
HIDDEN void span_free_remote(struct mspan *s, unsigned idx, void *p)
{
	if (unlikely(span_free_remote_bits(s, idx >> 6, 1ull << (idx & 63))))
		karena_bad_pointer("double free of pointer", p);
}

/*
 * Any thread: give n objects, a list linked through their first word
 * (a batch of other threads' objects, tcache.c), back to their spans as remote
 * frees.  Objects of a batch were mostly allocated together, so
 * consecutive ones share a span word: one fetch-or per run of them.
 */
HIDDEN void span_free_remote_list(void *head, uint32_t n)
{
	struct mspan *s = NULL;
	unsigned w = 0;
	uint64_t bits = 0;

	for (; head && n; n--) {
		void *next = *(void **)head;
		struct mspan *t = span_of((uintptr_t)head);
		unsigned idx = span_index(t, (uintptr_t)head);

		if (t != s || idx >> 6 != w) {
			if (bits)
				(void)span_free_remote_bits(s, w, bits);
			s = t;
			w = idx >> 6;
			bits = 0;
		}
		bits |= 1ull << (idx & 63);
		head = next;
	}
	if (bits)
		(void)span_free_remote_bits(s, w, bits);
}

/*
 * Owner (or mcentral under its lock) parking s full: arm the notification.
 * Returns false when remote frees are already pending and the flag could
 * be taken back: then s is not full, drain it instead.  Returns true when
 * armed, or when a freeing thread took the flag meanwhile (it reports s,
 * which moves it to partial).
 */
HIDDEN bool span_arm_notify(struct mspan *s)
{
	unsigned nw = (s->nelems + 63u) >> 6;
	bool pending = false;

	for (unsigned i = 0; i < nw; i++)	/* cheap check first */
		if (LOAD(&s->rfree_bits[i]))
			return false;
	__atomic_store_n(&s->notify, 1, __ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < nw && !pending; i++)
		pending = __atomic_load_n(&s->rfree_bits[i], __ATOMIC_SEQ_CST) != 0;
	if (!pending)
		return true;
	return !__atomic_exchange_n(&s->notify, 0, __ATOMIC_ACQ_REL);
}
