// SPDX-License-Identifier: GPL-2.0
/*
 * karena: the pages a store holds count in its process's RssFile, mapped
 * or not, so the OOM killer (oom_badness() adds up the RSS counters) sees
 * who holds device memory.
 *
 * The core counts a page in RssFile while a PTE maps it.  A store can
 * hold a page that no PTE maps: POPULATE allocates ahead, MADV_DONTNEED
 * unmaps and the store keeps the page, fork shares pages unmapped.  This
 * file counts exactly those, so each held page counts once:
 *
 *   counted(entry) = the entry holds a page, and either it is marked COW
 *                    (never mapped while shared) or the page has
 *                    KAR_PG_UNMAPPED set.
 *
 * KAR_PG_UNMAPPED (the owner's private page flag; these pages are in no
 * page cache) is set when a store gets a page it does not map, cleared
 * (test-and-clear, so one side uncounts) by the fault that maps it and by
 * whoever drops the entry.  A COW entry keeps it clear; taking the page
 * back ("ours again") sets it.  The only unmapping the module does not do
 * itself is the core's zap of a range (MADV_DONTNEED): an mmu_notifier,
 * one per mm, rechecks the held pages of a zapped range afterwards, each
 * under its page lock (a fault holds it from clearing the flag until the
 * PTE is set) and the store's lock (a drop holds it while clearing).
 * munmap and exit need no recheck: vm_ops->close drops the whole range.
 *
 * A space whose mm could not get the notifier (fork with a signal
 * pending, no memory) is "untracked": every page it holds counts, mapped
 * or not, so RssFile counts its mapped pages twice rather than hiding
 * any.  Counts go to the mm directly (compat.h) and to sp->nr_counted,
 * which must be zero when the space dies.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/mmu_notifier.h>
#include <linux/pagemap.h>
#include <linux/slab.h>

#include "karena_priv.h"

/* The mmu_notifier of one mm and the karena spaces in it. */
struct karena_mm {
	struct mmu_notifier mn;
	spinlock_t lock;		/* spaces */
	struct list_head spaces;	/* karena_space.mm_node */
};

void karena_rss_count(struct karena_space *sp, long n)
{
	if (!n)
		return;
	atomic_long_add(n, &sp->nr_counted);
	karena_mm_counter_add(sp->mm, MM_FILEPAGES, n);
}

/* A store got @page and no PTE maps it: 1 if it counts now, not before. */
long karena_rss_mark(struct page *page)
{
	return !test_and_set_bit(KAR_PG_UNMAPPED, &page->flags);
}

/* The entry of @page leaves a store (or turns COW): 1 if it counted. */
long karena_rss_unmark(struct page *page, bool cow)
{
	return test_and_clear_bit(KAR_PG_UNMAPPED, &page->flags) || cow;
}

/*
 * A fault of @sp is about to map @page (page locked, entry checked).
 * @fresh: a page the store just got (not counted yet).
 */
void karena_rss_fault(struct karena_space *sp, struct page *page, bool fresh)
{
	VM_WARN_ON_ONCE_PAGE(!PageLocked(page), page);
	if (!sp->kmm)
		karena_rss_count(sp, karena_rss_mark(page));
	else if (!fresh && test_and_clear_bit(KAR_PG_UNMAPPED, &page->flags))
		karena_rss_count(sp, -1);
}

/*
 * Bring the flag of the held, unshared page at @idx of @sp in line with
 * whether a PTE maps it: the delta of the count.
 */
static long karena_rss_recheck_one(struct karena_space *sp, unsigned long idx,
				   struct page *page)
{
	long d = 0;

	lock_page(page);
	xa_lock(&sp->store);
	if (xa_load(&sp->store, idx) == page &&
	    !xa_get_mark(&sp->store, idx, KAR_MARK_COW)) {
		/* Of a huge block's subpage: its own PTE or the PMD. */
		if (!karena_subpage_mapped(page))
			d = karena_rss_mark(page);
		else
			d = -karena_rss_unmark(page, false);
	}
	xa_unlock(&sp->store);
	unlock_page(page);
	return d;
}

/* After a zap of [first, last] (page numbers) in @sp's mm. */
static void karena_rss_recheck(struct karena_space *sp, unsigned long first,
			       unsigned long last)
{
	unsigned long idx = first;
	long d = 0, n = 0;
	void *entry;

	while (idx <= last) {
		struct page *page = NULL;

		xa_lock(&sp->store);
		entry = xa_find(&sp->store, &idx, last, XA_PRESENT);
		if (entry && !xa_is_value(entry) &&
		    !xa_get_mark(&sp->store, idx, KAR_MARK_COW)) {
			page = entry;
			get_page(page);
		}
		xa_unlock(&sp->store);
		if (!entry)
			break;
		if (page) {
			d += karena_rss_recheck_one(sp, idx, page);
			put_page(page);
		}
		if (!(++n & 255))
			cond_resched();
		if (idx++ == last)
			break;
	}
	karena_rss_count(sp, d);
}

static bool karena_store_has_page(struct karena_space *sp,
				  unsigned long first, unsigned long last)
{
	unsigned long idx = first;
	void *entry;
	bool found = false;

	xa_lock(&sp->store);
	while ((entry = xa_find(&sp->store, &idx, last, XA_PRESENT))) {
		if (!xa_is_value(entry)) {
			found = true;
			break;
		}
		if (idx++ == last)
			break;
	}
	xa_unlock(&sp->store);
	return found;
}

static void karena_mn_range_end(struct mmu_notifier *mn,
				const struct mmu_notifier_range *range)
{
	struct karena_mm *kmm = container_of(mn, struct karena_mm, mn);
	unsigned long first = range->start >> PAGE_SHIFT;
	unsigned long last = (range->end - 1) >> PAGE_SHIFT;
	struct karena_space *sp;
	bool hit = false;

	/* munmap and exit: ->close drops the range anyway. */
	if (range->event != MMU_NOTIFY_CLEAR || range->end <= range->start)
		return;
	/*
	 * Not a zap of our VMA: an rmap walk without mmap_lock (reclaim or
	 * drop_caches splitting an anonymous THP) notifies the whole 2 MiB
	 * around the huge page, which can reach into our VMA next to it
	 * though nothing of ours was unmapped (compat.h).
	 */
	if (!karena_range_in_vma_of(range, &karena_vm_ops))
		return;
	spin_lock(&kmm->lock);
	list_for_each_entry(sp, &kmm->spaces, mm_node) {
		if (karena_store_has_page(sp, first, last)) {
			hit = true;
			break;
		}
	}
	spin_unlock(&kmm->lock);
	/* Only the OOM reaper zaps without blocking, and not shared VMAs. */
	if (!hit || WARN_ON_ONCE(!mmu_notifier_range_blockable(range)))
		return;
	/*
	 * Our VMAs are zapped under mmap_lock (madvise, the module's own
	 * zaps), and spaces come and go under it for write: the list holds.
	 */
	mmap_assert_locked(mn->mm);
	list_for_each_entry(sp, &kmm->spaces, mm_node)
		karena_rss_recheck(sp, first, last);
}

static struct mmu_notifier *karena_mn_alloc(struct mm_struct *mm)
{
	struct karena_mm *kmm = kzalloc(sizeof(*kmm), GFP_KERNEL_ACCOUNT);

	if (!kmm)
		return ERR_PTR(-ENOMEM);
	spin_lock_init(&kmm->lock);
	INIT_LIST_HEAD(&kmm->spaces);
	return &kmm->mn;
}

static void karena_mn_free(struct mmu_notifier *mn)
{
	kfree(container_of(mn, struct karena_mm, mn));
}

static const struct mmu_notifier_ops karena_mn_ops = {
	.invalidate_range_end = karena_mn_range_end,
	.alloc_notifier = karena_mn_alloc,
	.free_notifier = karena_mn_free,
};

/* A new space: watch its mm (mmap_lock held for write), or count all. */
void karena_rss_track(struct karena_space *sp)
{
	struct mmu_notifier *mn;

	mmap_assert_write_locked(sp->mm);
	mn = mmu_notifier_get_locked(&karena_mn_ops, sp->mm);
	if (IS_ERR(mn)) {
		pr_warn_ratelimited("no mmu notifier (%ld): RssFile counts mapped pages twice\n",
				    PTR_ERR(mn));
		return;
	}
	sp->kmm = container_of(mn, struct karena_mm, mn);
	spin_lock(&sp->kmm->lock);
	list_add(&sp->mm_node, &sp->kmm->spaces);
	spin_unlock(&sp->kmm->lock);
}

/* The space dies (its last VMA closed): nothing may still count. */
void karena_rss_untrack(struct karena_space *sp)
{
	WARN_ON_ONCE(atomic_long_read(&sp->nr_counted));
	if (!sp->kmm)
		return;
	spin_lock(&sp->kmm->lock);
	list_del(&sp->mm_node);
	spin_unlock(&sp->kmm->lock);
	mmu_notifier_put(&sp->kmm->mn);
}

/* Module exit: wait for the notifiers mmu_notifier_put() frees later. */
void karena_rss_exit(void)
{
	mmu_notifier_synchronize();
}
