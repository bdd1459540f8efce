// SPDX-License-Identifier: MIT
/*
 * mspan.c - a span: a run of pages cut into objects of one size class.
 *
 * allocBits has one bit per object (1 = allocated); bits past nelems are
 * set so they never look free.  freeindex is the next object index the
 * allocator will consider, and allocCache is the complement of allocBits
 * shifted so that bit 0 is object freeindex, up to the end of that 64-bit
 * word.  Allocation is count-trailing-zeros on allocCache (inline in
 * internal.h); when the window is exhausted the slow path loads the next
 * word; when freeindex reaches nelems the owner drains remote frees and,
 * if anything is free, rescans from 0.
 *
 * Frees by the owning thread clear the bit directly (no atomics) and, if
 * the object lies in the loaded window, set its allocCache bit.  Spans stay
 * owned by their mcache until its thread exits (mcache.c), so this covers
 * every free of a thread's own objects.  A free by any other thread sets
 * the object's bit in the span's remote-free bitmap (rfreeBits, one
 * atomic fetch-or, never retried; the old value shows a repeated free).
 * Only the owner, or whoever takes an unowned span out of mcentral,
 * drains it: per word with bits, one exchange with 0, then allocBits &= ~w
 * and allocCount -= popcount(w).  This is Go's sweeper swapping in
 * gcmarkBits, applied to explicit frees.
 *
 * Why a bitmap and not a stack threaded through the freed objects (the
 * previous design): the freeing thread does not write the object (a cold
 * line, often last written by another core), the drain walks nelems / 64
 * words in the span struct instead of chasing one pointer per object, and
 * the words live on their own cache lines (internal.h), away from what
 * the owner writes on every malloc.
 *
 * Why per span and not per mcache: a per-span bitmap needs nothing from
 * the freeing thread (which may be exiting or have no cache), spreads
 * producer/consumer traffic (larson, xmalloc-test) over as many cache
 * lines as there are spans instead of one hot word per owner, and lets
 * the owner apply frees span by span exactly when it needs room in that
 * span.  Its cost, finding spans with pending frees, is solved by the
 * notify flag: a span parked full (in its owner's local full list or in
 * mcentral's full list) is armed, and the first remote free takes the flag
 * (exchange) and reports the span (mcentral_notify): to the owner's notify
 * stack, or from mcentral's full to partial list.  Arming and freeing are
 * a store-load pair on each side (seq_cst): either the arming thread sees
 * the freed bit, or the freeing thread sees the flag (span_arm_notify).
 */
#include <string.h>
#include "internal.h"

HIDDEN void span_init_small(struct mspan *s, int spanclass)
{
	unsigned cls = (unsigned)spanclass >> 1;
	size_t bytes = s->npages * PAGE_BYTES;

	s->spanclass = (uint8_t)spanclass;
	s->elemsize = karena_class_to_size[cls];
	s->divmul = karena_class_divmul[cls];
	s->nelems = (uint16_t)(bytes / s->elemsize);
	s->freeindex = 0;
	s->allocCache = 0;
	s->allocCount = 0;
	/* bits past nelems are set, word by word (at most 16 stores) */
	unsigned w = s->nelems >> 6;

	memset(s->rfreeBits, 0, sizeof(s->rfreeBits));
	memset(s->allocBits, 0, w * sizeof(uint64_t));
	if (w < ALLOCBITS_WORDS) {
		s->allocBits[w] = (s->nelems & 63) ? ~0ull << (s->nelems & 63) : ~0ull;
		for (unsigned i = w + 1; i < ALLOCBITS_WORDS; i++)
			s->allocBits[i] = ~0ull;
	}
}

/*
 * Owner-only slow path: find the next free slot at or after freeindex,
 * loading allocCache words as needed.  Returns -1 when freeindex reaches
 * nelems.  With allocCache == 0, a 64-aligned freeindex means "that word
 * is not loaded yet"; an unaligned one means "the rest of the word is
 * allocated".
 */
HIDDEN int span_nextfree_slow(struct mspan *s)
{
	for (;;) {
		int idx = span_nextfree_fast(s);

		if (idx >= 0)
			return idx;
		unsigned p = (s->freeindex + 63u) & ~63u;

		if (p >= s->nelems) {
			s->freeindex = s->nelems;
			return -1;
		}
		s->allocCache = ~s->allocBits[p >> 6];
		if (s->allocCache) {
			s->freeindex = (uint16_t)p;
			continue;
		}
		/* full word: next one (freeindex stays <= nelems) */
		s->freeindex = (uint16_t)(p + 64 < s->nelems ? p + 64 : s->nelems);
		if (s->freeindex == s->nelems)
			return -1;
	}
}

HIDDEN void span_double_free(struct mspan *s, void *p)
{
	(void)s;
	karena_bad_pointer("double free of pointer", p);
}

/* Owner (or mcentral under its lock, span unowned): apply remote frees. */
HIDDEN void span_drain_remote(struct mspan *s)
{
	unsigned nw = (s->nelems + 63u) >> 6;
	unsigned fi = s->freeindex;

	/* in use again: a parked span's notification is no longer wanted
	 * (a freer that already took the flag just reports it, harmlessly) */
	if (unlikely(LOAD(&s->notify)))
		STORE(&s->notify, 0);
	for (unsigned i = 0; i < nw; i++) {
		uint64_t w, bad;

		if (!LOAD(&s->rfreeBits[i]))
			continue;
		w = __atomic_exchange_n(&s->rfreeBits[i], 0, __ATOMIC_ACQUIRE);
		bad = w & ~s->allocBits[i];
		if (unlikely(bad)) {
			/* freed here and by another thread */
			span_double_free(s, (void *)(s->start + (uintptr_t)(i * 64 +
					 (unsigned)__builtin_ctzll(bad)) * s->elemsize));
			w &= ~bad;
		}
		s->allocBits[i] &= ~w;
		s->allocCount = (uint16_t)(s->allocCount - __builtin_popcountll(w));
		/* keep the loaded window truthful (as span_free_local does) */
		if (i == fi >> 6 && ((fi & 63) || s->allocCache))
			s->allocCache |= w >> (fi & 63);
	}
}

/* Any thread but the owner: mark object idx (at p) of s freed. */
HIDDEN void span_free_remote(struct mspan *s, unsigned idx, void *p)
{
	uint64_t bit = 1ull << (idx & 63);
	uint64_t old = __atomic_fetch_or(&s->rfreeBits[idx >> 6], bit, __ATOMIC_SEQ_CST);

	if (unlikely(old & bit)) {
		span_double_free(s, p);
		return;
	}
	/* pairs with span_arm_notify: fetch-or, then load the flag */
	if (unlikely(__atomic_load_n(&s->notify, __ATOMIC_SEQ_CST)) &&
	    __atomic_exchange_n(&s->notify, 0, __ATOMIC_ACQ_REL))
		mcentral_notify(s);
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
		if (LOAD(&s->rfreeBits[i]))
			return false;
	__atomic_store_n(&s->notify, 1, __ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < nw && !pending; i++)
		pending = __atomic_load_n(&s->rfreeBits[i], __ATOMIC_SEQ_CST) != 0;
	if (!pending)
		return true;
	return !__atomic_exchange_n(&s->notify, 0, __ATOMIC_ACQ_REL);
}
