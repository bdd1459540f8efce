// SPDX-License-Identifier: GPL-2.0
/*
 * karena: dropping held pages in batches (transitions and lazy reclaim).
 *
 * Dropping a page: the store entry changes first (the caller does that
 * under kf->lock and the store lock, and records the page and its address
 * range here); then each dropped page is locked and unlocked, which waits
 * for any fault that found the page before the change (a fault returns
 * its page locked and checks the store again after locking it); then the
 * PTEs are zapped, one zap (one TLB flush) per run of adjacent ranges;
 * then, without locks, the page goes back to the per-CPU cache's dirty
 * list if nobody else holds a reference, else it is just released.  The
 * release path does not zero: pcp_cache.c's worker zeroes dirty pages in
 * the background and only zeroed pages are handed out, so no page reaches
 * another mapping without being zeroed.
 *
 * Once a dropped page has been locked and unlocked it cannot be mapped
 * anew: a fault that locks it later sees the changed entry.  A fault that
 * held the lock mapped the page (page_add_file_rmap()) before unlocking
 * it, which the lock_page() here orders before the page_mapped() check.
 * So when no dropped page is mapped anywhere, there is no PTE to zap and
 * the zaps are skipped: e.g. releasing POPULATEd pages never touched, or
 * pages already unmapped by MADV_DONTNEED.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/pagemap.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "karena_priv.h"

/*
 * An empty batch for up to @nzap address ranges (the ranges of a vector,
 * or the runs of a reclaim), allocated with @gfp when something is
 * dropped: a vector of lazy releases allocates nothing.
 */
void karena_batch_init(struct karena_batch *b, unsigned int nzap, gfp_t gfp)
{
	memset(b, 0, sizeof(*b));
	b->gfp = gfp;
	b->zap_cap = nzap;
}

/* Room for @more dropped pages; called before any entry changes. */
int karena_batch_reserve(struct karena_batch *b, unsigned long more)
{
	unsigned long cap = b->cap, *d;

	if (b->ndropped + more <= cap)
		return 0;
	if (!b->zap) {
		b->zap = kvmalloc_array(b->zap_cap, sizeof(*b->zap), b->gfp);
		if (!b->zap)
			return -ENOMEM;
	}
	cap = max(b->ndropped + more, 2 * cap);
	d = kvmalloc_array(cap, sizeof(*d), b->gfp);
	if (!d)
		return -ENOMEM;
	if (b->ndropped)
		memcpy(d, b->dropped, b->ndropped * sizeof(*d));
	kvfree(b->dropped);
	b->dropped = d;
	b->cap = cap;
	return 0;
}

/* Record a dropped page; room was reserved. */
void karena_batch_drop(struct karena_batch *b, struct page *page, bool cow)
{
	if (WARN_ON_ONCE(b->ndropped >= b->cap))
		return;
	b->dropped[b->ndropped++] = (unsigned long)page |
				    (cow ? KAR_DROP_COW : 0);
}

/* Record [start, end) to zap, merged with the previous range if adjacent. */
void karena_batch_zap(struct karena_batch *b, unsigned long start,
		      unsigned long end)
{
	if (b->nzap && b->zap[b->nzap - 1][1] == start) {
		b->zap[b->nzap - 1][1] = end;
		return;
	}
	if (WARN_ON_ONCE(b->nzap >= b->zap_cap))
		return;
	b->zap[b->nzap][0] = start;
	b->zap[b->nzap][1] = end;
	b->nzap++;
}

static struct page *karena_batch_page(const struct karena_batch *b,
				      unsigned long i)
{
	return (struct page *)(b->dropped[i] & ~KAR_DROP_COW);
}

/*
 * Zap [start, end) in @mm.  *@hint: the VMA of the previous call, reused
 * while it covers the address (no tree walk per range); mmap_lock held.
 */
static void karena_zap_range(struct mm_struct *mm, unsigned long start,
			     unsigned long end, struct vm_area_struct **hint)
{
	unsigned long addr = start;

	mmap_assert_locked(mm);
	while (addr < end) {
		struct vm_area_struct *vma = *hint;
		unsigned long e;

		if (!vma || addr < vma->vm_start || addr >= vma->vm_end)
			vma = vma_lookup(mm, addr);
		if (!vma)
			break;
		*hint = vma;
		e = min(end, vma->vm_end);
		karena_zap(vma, addr, e - addr);
		addr = e;
	}
}

/*
 * With mmap_lock and the file's mutex still held: wait for faults that
 * found a dropped page, then unmap the ranges that dropped pages (none
 * when no dropped page is mapped).
 */
void karena_batch_unmap(struct karena_batch *b, struct mm_struct *mm)
{
	struct vm_area_struct *hint = NULL;
	bool mapped = false;
	unsigned long i;

	mmap_assert_locked(mm);
	for (i = 0; i < b->ndropped; i++) {
		struct page *page = karena_batch_page(b, i);

		lock_page(page);
		unlock_page(page);
		if (!mapped && page_mapped(page))
			mapped = true;
	}
	if (!mapped)
		return;
	for (i = 0; i < b->nzap; i++)
		karena_zap_range(mm, b->zap[i][0], b->zap[i][1], &hint);
}

/* Without locks: give the pages back (to the per-CPU cache's dirty list). */
void karena_batch_release(struct karena_file *kf, struct karena_batch *b)
{
	unsigned long i;

	for (i = 0; i < b->ndropped; i++) {
		karena_page_release(kf, karena_batch_page(b, i),
				    b->dropped[i] & KAR_DROP_COW);
		if (!(i & 255))
			cond_resched();
	}
	kvfree(b->dropped);
	kvfree(b->zap);
	b->dropped = NULL;
	b->zap = NULL;
}
