// SPDX-License-Identifier: MIT
/*
 * mheap.c - the page heap.
 *
 * Address space comes from the OS layer in 64 MiB arenas (sysReserve,
 * aligned), which are Mapped (Reserved -> Prepared) piecewise, at least
 * 4 MiB at a time, as the heap grows.  Each arena has a struct heap_arena
 * with the page -> span map and a "scavenged" bitmap (1 = the page is
 * Prepared, i.e. not backed, and must be Used before it is touched).
 *
 * Arena index: one flat table of heap_arena pointers indexed by
 * addr >> 26, 4 Mi entries for the 48-bit address space (Go's layout on
 * amd64, arenaL1Bits = 0).  It is 32 MiB of zero-initialised address
 * space in .bss; only the 4 KiB pages holding entries of arenas in use
 * are ever touched.  So span_of(p) is two dependent loads (the entry,
 * then the arena's page -> span map) and free(p) finds its span in O(1).
 * Entries are published with release stores and never removed.
 *
 * Page allocator: free runs are mspans in state FREE, kept in exact-size
 * bins for 1..127 pages (with a bitmask of non-empty bins) and one
 * address-ordered list of bigger runs.  A request takes the head of the
 * smallest non-empty bin that fits (the run freed last: its pages are
 * likely still backed); failing that, a big run by placement
 * (free_find_big below).  Only the first
 * and last page of a free run are kept in the page map; freeing a span
 * coalesces it at once with free neighbours found through those entries.
 * Splitting a run and allocating from it Uses exactly the scavenged pages
 * in the allocated part (in one batch call) and reports whether the span
 * may contain old data (needzero), so calloc skips zeroing fresh pages.
 * A scavenged page comes back zeroed unless the backend released it
 * lazily (the background scavenger asks for OS_F_LAZY, os_unused_lazy
 * says the backend honours it): those pages are marked in the arena's
 * "dirty" bitmap when scavenged, and a span with one of them needs
 * zeroing.
 *
 * Large objects (> 32 KiB) get their own span; aligned allocations larger
 * than a page over-allocate and give the ends back.
 *
 * Locking: one mutex (mheap_.lock) for the free lists, the maps' writes
 * and the stats.  The scavenger (mgcscavenge.c) takes runs out (state
 * BUSY) and Unuses them without the lock.
 */
#include <errno.h>
#include <string.h>
#include "internal.h"

HIDDEN struct mheap mheap_ = { .lock = PTHREAD_MUTEX_INITIALIZER };
HIDDEN struct heap_arena *arena_index[1 << ARENA_INDEX_BITS];

/* ---- persistent metadata ---- */

static pthread_mutex_t persist_lock = PTHREAD_MUTEX_INITIALIZER;
static char *persist_cur, *persist_end;
static struct mspan *span_freelist;	/* under mheap_.lock */

HIDDEN void *persistent_alloc(size_t n)
{
	void *p;

	n = (n + 63) & ~(size_t)63;
	if (n >= (64 << 10))
		return sysAlloc((n + PAGE_BYTES - 1) & ~(PAGE_BYTES - 1));
	pthread_mutex_lock(&persist_lock);
	if ((size_t)(persist_end - persist_cur) < n) {
		char *c = sysAlloc(256 << 10);

		if (!c) {
			pthread_mutex_unlock(&persist_lock);
			return NULL;
		}
		persist_cur = c;
		persist_end = c + (256 << 10);
	}
	p = persist_cur;
	persist_cur += n;
	pthread_mutex_unlock(&persist_lock);
	return p;
}

/* mheap_.lock held */
/*
 * Every span struct ever made, linked through allnext (Go's allspans):
 * structs are never unmapped, so a reader may walk the list without a
 * lock (mstats.c counts live objects this way).
 */
HIDDEN struct mspan *allspans;

HIDDEN struct mspan *span_struct_alloc(void)
{
	struct mspan *s = span_freelist;
	size_t link = offsetof(struct mspan, allnext), rest = link + sizeof(s->allnext);

	KARENA_ASSERT_LOCKED(&mheap_.lock);
	if (s) {
		span_freelist = s->next;
		/* readers may be walking through s: keep its link */
		memset(s, 0, link);
		memset((char *)s + rest, 0, sizeof(*s) - rest);
		return s;
	}
	s = persistent_alloc(sizeof(*s));
	if (!s)
		return NULL;
	memset(s, 0, sizeof(*s));
	s->allnext = allspans;
	STORE_REL(&allspans, s);	/* published initialised */
	return s;
}

/* mheap_.lock held */
static void span_struct_free(struct mspan *s)
{
	KARENA_ASSERT_LOCKED(&mheap_.lock);
	s->state = SPAN_DEAD;
	s->next = span_freelist;
	span_freelist = s;
}

/* ---- arena index ---- */

HIDDEN int arena_register(uintptr_t base, size_t len)
{
	for (uintptr_t a = base; a < base + len; a += ARENA_BYTES) {
		uintptr_t i = a >> ARENA_SHIFT;
		struct heap_arena *ha;

		if (i >> ARENA_INDEX_BITS)
			return -ENOMEM;
		if (arena_index[i])
			continue;
		ha = persistent_alloc(sizeof(*ha));
		if (!ha)
			return -ENOMEM;
		for (size_t k = 0; k < ARENA_PAGES; k++)
			ha->spans[k] = &no_span;
		STORE_REL(&arena_index[i], ha);
	}
	return 0;
}

static void map_set(uintptr_t page_addr, struct mspan *s)
{
	struct heap_arena *ha = arena_of(page_addr);

	STORE(&ha->spans[(page_addr >> PAGE_SHIFT) & (ARENA_PAGES - 1)], s);
}

static void map_set_range(struct mspan *s)
{
	for (size_t i = 0; i < s->npages; i++)
		map_set(s->start + i * PAGE_BYTES, s);
}

static void map_set_ends(struct mspan *s)
{
	map_set(s->start, s);
	map_set(s->start + (s->npages - 1) * PAGE_BYTES, s);
}

/* ---- scavenged bitmap ---- */

HIDDEN void scav_set_range(uintptr_t start, size_t npages, bool on)
{
	while (npages) {
		struct heap_arena *ha = arena_of(start);
		size_t pg = (start >> PAGE_SHIFT) & (ARENA_PAGES - 1);
		size_t n = ARENA_PAGES - pg;

		if (n > npages)
			n = npages;
		for (size_t i = pg; i < pg + n;) {
			uint64_t *w = &ha->scav[i >> 6];

			if ((i & 63) == 0 && i + 64 <= pg + n) {
				STORE(w, on ? ~0ull : 0);
				i += 64;
				continue;
			}
			/* writers hold the heap lock: load + store is enough */
			if (on)
				STORE(w, LOAD(w) | 1ull << (i & 63));
			else
				STORE(w, LOAD(w) & ~(1ull << (i & 63)));
			i++;
		}
		start += n * PAGE_BYTES;
		npages -= n;
	}
}

/* A lazily released page: it may come back with its old data. */
HIDDEN void dirty_set(uintptr_t a)
{
	struct heap_arena *ha = arena_of(a);
	size_t pg = (a >> PAGE_SHIFT) & (ARENA_PAGES - 1);

	ha->dirty[pg >> 6] |= 1ull << (pg & 63);
}

/* Did [start, start+npages) hold a dirty page?  Clears their bits. */
static bool dirty_take(uintptr_t start, size_t npages)
{
	bool any = false;

	for (size_t i = 0; i < npages; i++) {
		uintptr_t a = start + i * PAGE_BYTES;
		struct heap_arena *ha = arena_of(a);
		size_t pg = (a >> PAGE_SHIFT) & (ARENA_PAGES - 1);
		uint64_t bit = 1ull << (pg & 63);

		if (ha->dirty[pg >> 6] & bit) {
			ha->dirty[pg >> 6] &= ~bit;
			any = true;
		}
	}
	return any;
}

HIDDEN size_t scav_count(uintptr_t start, size_t npages)
{
	size_t total = 0;

	while (npages) {
		struct heap_arena *ha = arena_of(start);
		size_t pg = (start >> PAGE_SHIFT) & (ARENA_PAGES - 1);
		size_t n = ARENA_PAGES - pg;

		if (n > npages)
			n = npages;
		for (size_t i = pg; i < pg + n;) {
			if ((i & 63) == 0 && i + 64 <= pg + n) {
				total += (size_t)__builtin_popcountll(LOAD(&ha->scav[i >> 6]));
				i += 64;
				continue;
			}
			total += LOAD(&ha->scav[i >> 6]) >> (i & 63) & 1;
			i++;
		}
		start += n * PAGE_BYTES;
		npages -= n;
	}
	return total;
}

/*
 * Apply r[0..nr).  Only Unused may fail (the device refuses to cut a huge
 * block it cannot copy to 4 KiB pages: ENOMEM, EBUSY): the ranges from
 * the failed one on stay backed and leave *pages; returns false then.
 */
static bool scav_batch(const struct os_range *r, size_t nr, size_t *pages)
{
	size_t done = 0;

	if (!os_batch(r, nr, &done))
		return true;
	if (r[0].op != OS_UNUSED)
		karena_fatal("OS layer transition failed");
	for (size_t k = done; k < nr; k++)
		*pages -= r[k].len / PAGE_BYTES;
	return false;
}

/*
 * Apply op to every maximal run of pages in [start, start+npages) whose
 * scavenged bit equals want, in batches.  Returns pages affected: those
 * of the runs in order up to the first that failed (Unused only).
 */
HIDDEN size_t scav_runs_apply(uintptr_t start, size_t npages, bool want,
			      int op, unsigned flags, size_t budget_pages)
{
	struct os_range r[64];
	size_t nr = 0, done_pages = 0, i = 0;

	while (i < npages && done_pages < budget_pages) {
		if (scav_test(start + i * PAGE_BYTES) != want) {
			i++;
			continue;
		}
		size_t j = i;

		while (j < npages && j - i < budget_pages - done_pages &&
		       scav_test(start + j * PAGE_BYTES) == want)
			j++;
		r[nr].addr = (void *)(start + i * PAGE_BYTES);
		r[nr].len = (j - i) * PAGE_BYTES;
		r[nr].op = op;
		r[nr].flags = flags;
		r[nr].own_lo = start;
		r[nr].own_hi = start + npages * PAGE_BYTES;
		nr++;
		done_pages += j - i;
		if (nr == 64) {
			if (!scav_batch(r, nr, &done_pages))
				return done_pages;
			nr = 0;
		}
		i = j;
	}
	if (nr)
		scav_batch(r, nr, &done_pages);
	return done_pages;
}

/* ---- free lists ---- */

static void free_insert(struct mspan *s)
{
	KARENA_ASSERT_LOCKED(&mheap_.lock);
	KARENA_ASSERT(s->npages > 0);
	s->state = SPAN_FREE;
	s->list = LIST_NONE;
	if (s->npages < FREE_BINS) {
		span_list_push(&mheap_.free[s->npages], s);
		mheap_.binmask[s->npages >> 6] |= 1ull << (s->npages & 63);
		return;
	}
	/* address ordered */
	struct mspan **pp = &mheap_.large.head, *prev = NULL;

	while (*pp && (*pp)->start < s->start) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	s->next = *pp;
	s->prev = prev;
	if (*pp)
		(*pp)->prev = s;
	*pp = s;
}

HIDDEN void free_remove(struct mspan *s)
{
	KARENA_ASSERT_LOCKED(&mheap_.lock);
	KARENA_ASSERT(s->state == SPAN_FREE);
	if (s->npages < FREE_BINS) {
		struct span_list *l = &mheap_.free[s->npages];

		span_list_remove(l, s);
		if (!l->head)
			mheap_.binmask[s->npages >> 6] &= ~(1ull << (s->npages & 63));
		return;
	}
	span_list_remove(&mheap_.large, s);
}

/*
 * Placement of a request no bin serves: the lowest-addressed big run that
 * fits and has no released page, else the lowest-addressed that fits.
 * Address order (first fit, Go's page allocator) packs the heap low and
 * leaves its top free, so the memory in use at the peak lies in fewer
 * 2 MiB blocks: where one huge page backs a block, the blocks touched are
 * the footprint.  Backed runs first (TCMalloc's filler prefers the pages
 * it already backs): reusing a run still backed costs no fault, and the
 * run a program freed a moment ago does not stay resident beside a
 * released one the program faults back in.  (Best fit peaks higher on
 * bench large: 192 MiB against 178 on the mmap backend.)
 */
static struct mspan *free_find_big(size_t npages)
{
	struct mspan *first = NULL;

	for (struct mspan *s = mheap_.large.head; s; s = s->next) {
		if (s->npages < npages)
			continue;
		if (!s->nscav)
			return s;
		if (!first)
			first = s;
	}
	return first;
}

static struct mspan *free_find(size_t npages)
{
	if (npages < FREE_BINS) {
		for (size_t w = npages >> 6; w < FREE_BINS / 64; w++) {
			uint64_t m = mheap_.binmask[w];

			if (w == npages >> 6)
				m &= ~0ull << (npages & 63);
			if (m)
				return mheap_.free[w * 64 + (size_t)__builtin_ctzll(m)].head;
		}
	}
	return free_find_big(npages);
}

static inline uint32_t newer_tick(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0 ? a : b;
}

/*
 * Insert free (or formerly BUSY) span s, coalescing with free neighbours.
 * s->nscav must be right.
 */
HIDDEN void free_coalesce_insert(struct mspan *s)
{
	struct mspan *l = NULL, *r;
	uintptr_t end = s->start + s->npages * PAGE_BYTES;

	if (arena_of(s->start - PAGE_BYTES))
		l = span_of(s->start - PAGE_BYTES);
	if (l && l != s && l->state == SPAN_FREE &&
	    l->start + l->npages * PAGE_BYTES == s->start) {
		free_remove(l);
		l->npages += s->npages;
		l->nscav += s->nscav;
		l->freetick = newer_tick(l->freetick, s->freetick);
		span_struct_free(s);
		s = l;
	}
	r = arena_of(end) ? span_of(end) : NULL;
	if (r && r != s && r->state == SPAN_FREE && r->start == end) {
		free_remove(r);
		s->npages += r->npages;
		s->nscav += r->nscav;
		s->freetick = newer_tick(s->freetick, r->freetick);
		span_struct_free(r);
	}
	map_set_ends(s);
	free_insert(s);
}

/* ---- growth ---- */

/* Add [base, base+len) (Reserved) to the heap as scavenged free pages. */
static int heap_add_region(uintptr_t base, size_t len)
{
	struct mspan *s;

	if (sysMap((void *)base, len))
		return -ENOMEM;
	if (karena_hugepage)
		sysHugePage((void *)base, len);
	s = span_struct_alloc();
	if (!s)
		return -ENOMEM;
	s->start = base;
	s->npages = len >> PAGE_SHIFT;
	s->nscav = s->npages;
	scav_set_range(base, s->npages, true);
	STORE(&mheap_.st.sys, mheap_.st.sys + len);	/* read racily */
	mheap_.st.released += len;
	mheap_.st.idle_pages += s->npages;
	free_coalesce_insert(s);
	return 0;
}

static int heap_grow(size_t npages)
{
	size_t need = (npages + GROW_PAGES - 1) & ~(size_t)(GROW_PAGES - 1);
	size_t len = need * PAGE_BYTES;

	if (mheap_.curend - mheap_.cur < len) {
		size_t asz = (len + ARENA_BYTES - 1) & ~(ARENA_BYTES - 1);
		uintptr_t p = 0;

		if (mheap_.hint) {
			void *h = sysReserve((void *)mheap_.hint, asz);

			if (h && (uintptr_t)h != mheap_.hint) {
				sysFree(h, asz);
				h = NULL;
			}
			p = (uintptr_t)h;
		}
		if (!p)
			p = (uintptr_t)sysReserveAligned(asz, ARENA_BYTES);
		if (!p)
			return -ENOMEM;
		if (arena_register(p, asz)) {
			sysFree((void *)p, asz);
			return -ENOMEM;
		}
		mheap_.st.reserved += asz;
		mheap_.hint = p + asz;
		if (p == mheap_.curend) {
			mheap_.curend += asz;
		} else {
			if (mheap_.curend > mheap_.cur &&
			    heap_add_region(mheap_.cur, mheap_.curend - mheap_.cur))
				return -ENOMEM;
			mheap_.cur = p;
			mheap_.curend = p + asz;
		}
	}
	if (heap_add_region(mheap_.cur, len))
		return -ENOMEM;
	mheap_.cur += len;
	STORE(&scavenger_wanted, 1);
	return 0;
}

/* The heap in use grows by n pages (its peak for the scavenger).  Locked. */
static void inuse_add(size_t n)
{
	mheap_.st.inuse_pages += n;
	if (mheap_.st.inuse_pages > mheap_.st.peak_pages)
		mheap_.st.peak_pages = mheap_.st.inuse_pages;
}

/* Split the first npages off free span s (removed from the lists). */
static struct mspan *span_split_head(struct mspan *s, size_t npages)
{
	struct mspan *t;

	if (s->npages == npages)
		return NULL;
	t = span_struct_alloc();
	if (!t)
		return (struct mspan *)-1;
	t->start = s->start + npages * PAGE_BYTES;
	t->npages = s->npages - npages;
	t->nscav = s->nscav ? scav_count(t->start, t->npages) : 0;
	t->freetick = s->freetick;
	s->nscav -= t->nscav;
	s->npages = npages;
	return t;
}

/*
 * Allocate an in-use span of npages whose start is aligned to align_pages
 * pages (1 for any).  spanclass is recorded; small spans are initialised
 * by the caller.  Returns NULL (ENOMEM) on failure.
 */
HIDDEN struct mspan *mheap_alloc(size_t npages, size_t align_pages, int spanclass)
{
	struct mspan *s, *t;
	size_t want = npages + (align_pages > 1 ? align_pages - 1 : 0);

	if (npages == 0 || want < npages || want > ((size_t)1 << (ADDR_BITS - PAGE_SHIFT)))
		return NULL;
	pthread_mutex_lock(&mheap_.lock);
	s = free_find(want);
	if (!s) {
		if (heap_grow(want))
			goto fail;
		s = free_find(want);
		if (!s)
			goto fail;
	}
	free_remove(s);
	if (align_pages > 1) {
		uintptr_t a = (s->start + align_pages * PAGE_BYTES - 1) &
			      ~(align_pages * PAGE_BYTES - 1);
		size_t head = (a - s->start) >> PAGE_SHIFT;

		if (head) {
			t = span_split_head(s, head);
			if (t == (struct mspan *)-1)
				goto fail_put;
			/* s is the head piece; give it back, continue with t */
			map_set_ends(t);
			free_coalesce_insert(s);
			s = t;
		}
	}
	t = span_split_head(s, npages);
	if (t == (struct mspan *)-1)
		goto fail_put;
	if (t) {
		map_set_ends(t);
		free_insert(t);
	}
	s->needzero = s->nscav < s->npages ||
		      (s->nscav && dirty_take(s->start, s->npages));
	if (s->nscav) {
		scav_runs_apply(s->start, s->npages, true, OS_USED, 0, s->npages);
		scav_set_range(s->start, s->npages, false);
		mheap_.st.released -= s->nscav * PAGE_BYTES;
		s->nscav = 0;
	}
	s->state = SPAN_INUSE;
	s->spanclass = (uint8_t)spanclass;
	s->nelems = 0;		/* small spans: span_init_small */
	s->owner = 0;
	STORE(&s->notify, 0);	/* a late remote freer may still load it */
	s->list = LIST_NONE;
	s->next = s->prev = NULL;
	map_set_range(s);
	mheap_.st.idle_pages -= s->npages;
	inuse_add(s->npages);
	mheap_.st.spans_inuse++;
	if (spanclass == 0) {
		mheap_.st.large_mallocs++;
		mheap_.st.large_inuse += s->npages * PAGE_BYTES;
		mheap_.st.large_bytes_total += s->npages * PAGE_BYTES;
	}
	pthread_mutex_unlock(&mheap_.lock);
	return s;
fail_put:
	free_coalesce_insert(s);
fail:
	pthread_mutex_unlock(&mheap_.lock);
	return NULL;
}

/*
 * Grow in-use large span s in place to npages if the run right after it is
 * free and big enough (realloc).  Returns true on success.
 */
HIDDEN bool mheap_grow_inplace(struct mspan *s, size_t npages)
{
	uintptr_t end = s->start + s->npages * PAGE_BYTES;
	size_t extra = npages - s->npages;
	struct mspan *r, *t;
	bool ok = false;

	if (npages <= s->npages)
		return npages == s->npages;
	pthread_mutex_lock(&mheap_.lock);
	r = arena_of(end) ? span_of(end) : NULL;
	if (!r || r->state != SPAN_FREE || r->start != end || r->npages < extra)
		goto out;
	free_remove(r);
	t = span_split_head(r, extra);
	if (t == (struct mspan *)-1) {
		free_insert(r);
		goto out;
	}
	if (t) {
		map_set_ends(t);
		free_insert(t);
	}
	if (r->nscav) {
		dirty_take(r->start, r->npages);
		scav_runs_apply(r->start, r->npages, true, OS_USED, 0, r->npages);
		scav_set_range(r->start, r->npages, false);
		mheap_.st.released -= r->nscav * PAGE_BYTES;
	}
	mheap_.st.idle_pages -= extra;
	inuse_add(extra);
	mheap_.st.large_inuse += extra * PAGE_BYTES;
	mheap_.st.large_bytes_total += extra * PAGE_BYTES;
	s->npages = npages;
	for (size_t k = 0; k < extra; k++)
		map_set(end + k * PAGE_BYTES, s);
	span_struct_free(r);
	ok = true;
out:
	pthread_mutex_unlock(&mheap_.lock);
	return ok;
}

/* Return in-use span s to the heap. */
HIDDEN void mheap_free(struct mspan *s)
{
	KARENA_ASSERT(s->state == SPAN_INUSE);
	pthread_mutex_lock(&mheap_.lock);
	KARENA_ASSERT(mheap_.st.spans_inuse > 0 && mheap_.st.inuse_pages >= s->npages);
	if (s->spanclass == 0) {
		mheap_.st.large_frees++;
		mheap_.st.large_inuse -= s->npages * PAGE_BYTES;
	}
	mheap_.st.inuse_pages -= s->npages;
	mheap_.st.idle_pages += s->npages;
	mheap_.st.spans_inuse--;
	s->nscav = 0;
	s->freetick = LOAD(&scav_tick);
	s->owner = 0;
	s->spanclass = 0;
	s->nelems = 0;
	/* interior pages keep pointing at s: free()'s check fails on nelems 0 */
	free_coalesce_insert(s);
	pthread_mutex_unlock(&mheap_.lock);
}

HIDDEN void heap_lock_all(void)
{
	pthread_mutex_lock(&mheap_.lock);
	pthread_mutex_lock(&persist_lock);
}

HIDDEN void heap_unlock_all(void)
{
	pthread_mutex_unlock(&persist_lock);
	pthread_mutex_unlock(&mheap_.lock);
}

HIDDEN void heap_reinit_locks(void)
{
	pthread_mutex_init(&persist_lock, NULL);
	pthread_mutex_init(&mheap_.lock, NULL);
}

/* Test/debug helper: the free span containing a (walks the free lists). */
HIDDEN struct mspan *mheap_free_span_containing(uintptr_t a)
{
	struct mspan *found = NULL;

	pthread_mutex_lock(&mheap_.lock);
	for (size_t n = 0; n <= FREE_BINS && !found; n++) {
		struct mspan *x = n < FREE_BINS ? mheap_.free[n].head : mheap_.large.head;

		for (; x; x = x->next)
			if (a >= x->start && a < x->start + x->npages * PAGE_BYTES) {
				found = x;
				break;
			}
	}
	pthread_mutex_unlock(&mheap_.lock);
	return found;
}
