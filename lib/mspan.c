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
 * every free of a thread's own objects.  Frees by any other thread push
 * the object on the span's remote-free stack (rfree: a Treiber stack
 * threaded through the objects, one CAS per free).  Only the owner, or
 * whoever takes an unowned span out of mcentral, pops the whole stack with
 * one exchange and applies it to allocBits.
 *
 * Why per span and not per mcache: a per-span stack needs nothing from the
 * freeing thread (which may be exiting or have no cache), spreads
 * producer/consumer traffic (larson, xmalloc-test) over as many cache
 * lines as there are spans instead of one hot word per owner, and lets
 * the owner apply frees span by span exactly when it needs room in that
 * span.  Its cost, finding spans with pending frees, is solved by
 * RF_NOTIFY (bit 0 of rfree): a span parked full (in its owner's local
 * full list or in mcentral's full list) has it set, and the first remote
 * free clears it in the same CAS and reports the span (mcentral_notify):
 * to the owner's notify stack, or from mcentral's full to partial list.
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
	uintptr_t head;

	if (!LOAD(&s->rfree))
		return;
	head = __atomic_exchange_n(&s->rfree, 0, __ATOMIC_ACQUIRE) & ~RF_NOTIFY;
	while (head) {
		uintptr_t next = *(uintptr_t *)head;

		if (!span_free_local(s, span_index(s, head)))
			span_double_free(s, (void *)head);
		head = next;
	}
}

/* Any thread but the owner: push p on s's remote-free stack. */
HIDDEN void span_free_remote(struct mspan *s, void *p)
{
	uintptr_t old = LOAD(&s->rfree);

	do {
		*(uintptr_t *)p = old & ~RF_NOTIFY;
	} while (!__atomic_compare_exchange_n(&s->rfree, &old, (uintptr_t)p, true,
					      __ATOMIC_RELEASE, __ATOMIC_RELAXED));
	if (unlikely(old & RF_NOTIFY))
		mcentral_notify(s);
}
