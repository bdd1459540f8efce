// SPDX-License-Identifier: GPL-2.0
/*
 * karena: lazily released pages (KARENA_OP_UNUSED with KARENA_F_LAZY).
 *
 * A lazy Unused moves Ready entries to Prepared but keeps their pages:
 * each page stays in the store with KAR_PG_LAZY set, its PTEs stay, and
 * it stays held and counted (bounds, RssFile, memcg) until it is
 * reclaimed.  So the release only changes store entries: no zap, no TLB
 * flush, no page given back.  A Used of such a page takes it back as it
 * is (no allocation, no zeroing); Fault and Free drop it like any page.
 * A page shared with another space after fork (COW) is released eagerly,
 * so a page with the flag is in exactly one store; fork gives the child
 * the entry Prepared without the page.
 *
 * Reclaim turns lazy entries into plain Prepared ones and drops their
 * pages with release.c's batches (one zap per run of adjacent pages):
 *   - the shrinker (pcp_reclaim.c), under memory pressure.  It is
 *     memcg-aware: a space with lazy pages holds a karena_tag of its mm's
 *     memcg, which sets the memcg's shrinker bit, and reclaim for a
 *     cgroup at its limit takes the lazy pages of spaces tagged with that
 *     memcg or a descendant (global reclaim and drop_caches take all);
 *   - a page charge that a bound of bounds.c refuses (a fault, a
 *     POPULATE): lazy pages go before the refusal stands;
 *   - munmap and close drop them with everything else.
 *
 * Spaces with lazy pages are on karena_lazy_spaces.  Reclaim needs the
 * locks of a transition (mmap_lock for the zaps, kf->lock for the store),
 * so it cannot race a Used of the same pages: the Used either ran first
 * (the page is Ready again) or finds the entry Prepared without a page.
 * The shrinker may run inside a fault or a transition, so it only
 * trylocks: kf->lock, then mmap_lock for read, both under the list's
 * spinlock.  Holding kf->lock keeps the space, its file and its mm alive
 * (the space dies at the last VMA close, which takes kf->lock).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/sched/mm.h>
#include <linux/spinlock.h>

#include "karena_priv.h"
#include "pcp.h"

/* Pages reclaimed per batch: bounds the batch's arrays (12 KiB). */
#define KAR_LAZY_BATCH	512UL

static LIST_HEAD(karena_lazy_spaces);
static unsigned long karena_lazy_nspaces;
static DEFINE_SPINLOCK(karena_lazy_lock);	/* the list, lazy_tag */

/* @page of @sp's store was lazily released; kf->lock and the store lock. */
void karena_lazy_mark(struct karena_space *sp, struct page *page)
{
	lockdep_assert_held(&sp->kf->lock);
	set_bit(KAR_PG_LAZY, &page->flags);
	atomic_long_inc(&sp->nr_lazy);
	karena_count(KAR_C_LAZY, 1);
}

/* @page is Used again, reclaimed or dropped; kf->lock and the store lock. */
void karena_lazy_unmark(struct karena_space *sp, struct page *page)
{
	lockdep_assert_held(&sp->kf->lock);
	clear_bit(KAR_PG_LAZY, &page->flags);
	atomic_long_dec(&sp->nr_lazy);
	karena_count(KAR_C_LAZY, -1);
}

/*
 * Before a lazy Unused changes entries of @sp: put @sp on the list with
 * the tag of its mm's memcg (none in the root cgroup), so that memcg's
 * reclaim finds the pages.  Once per spell of lazy pages, not per range.
 * 0, or -ENOMEM: then the release is done eagerly.  kf->lock held.
 */
int karena_lazy_prepare(struct karena_space *sp)
{
	struct mem_cgroup *memcg;
	struct karena_tag *tag = NULL;

	lockdep_assert_held(&sp->kf->lock);
	if (sp->lazy_on)
		return 0;
	memcg = get_mem_cgroup_from_mm(sp->mm);
	if (memcg && memcg->css.parent) {
		tag = karena_tag_new(memcg);
		if (!tag) {
			mem_cgroup_put(memcg);
			return -ENOMEM;
		}
	}
	mem_cgroup_put(memcg);
	spin_lock(&karena_lazy_lock);
	sp->lazy_tag = tag;
	list_add_tail(&sp->lazy_node, &karena_lazy_spaces);
	karena_lazy_nspaces++;
	spin_unlock(&karena_lazy_lock);
	sp->lazy_on = true;
	return 0;
}

/* Off the list, tag freed, once @sp holds no lazy page; kf->lock held. */
void karena_lazy_update(struct karena_space *sp)
{
	struct karena_tag *put;

	lockdep_assert_held(&sp->kf->lock);
	if (!sp->lazy_on || atomic_long_read(&sp->nr_lazy))
		return;
	spin_lock(&karena_lazy_lock);
	list_del_init(&sp->lazy_node);
	karena_lazy_nspaces--;
	put = sp->lazy_tag;
	sp->lazy_tag = NULL;
	spin_unlock(&karena_lazy_lock);
	sp->lazy_on = false;
	karena_tag_free(put);
}

/*
 * Turn up to @b's room of lazy entries of @sp into plain Prepared ones,
 * their pages and addresses into @b.  Returns the pages taken.
 */
static unsigned long karena_lazy_collect(struct karena_space *sp,
					 struct karena_batch *b)
{
	XA_STATE(xas, &sp->store, 0);
	unsigned long n = 0;
	struct karena_ent e;
	long counted = 0;
	void *entry;

	xas_lock(&xas);
	xas_for_each_marked(&xas, entry, ULONG_MAX, KAR_MARK_PREP) {
		karena_decode(&xas, entry, &e);
		if (!e.lazy)
			continue;
		karena_lazy_unmark(sp, e.page);
		counted += karena_rss_unmark(e.page, false);
		karena_encode(&xas, S_PREPARED, e.huge, NULL, false);
		karena_batch_drop(b, e.page, false);
		karena_batch_zap(b, xas.xa_index << PAGE_SHIFT,
				 (xas.xa_index + 1) << PAGE_SHIFT);
		if (++n == b->cap)
			break;
	}
	xas_unlock(&xas);
	karena_rss_count(sp, -counted);
	return n;
}

/*
 * Reclaim up to @nr lazily released pages of @sp, in batches; @gfp for
 * the batches' arrays.  mmap_lock (read) and kf->lock held.  Returns the
 * pages given back.
 */
unsigned long karena_lazy_reclaim(struct karena_space *sp, unsigned long nr,
				  gfp_t gfp)
{
	unsigned long done = 0;

	mmap_assert_locked(sp->mm);
	lockdep_assert_held(&sp->kf->lock);
	while (done < nr && atomic_long_read(&sp->nr_lazy)) {
		unsigned long n = min3(nr - done, KAR_LAZY_BATCH,
				       (unsigned long)atomic_long_read(&sp->nr_lazy));
		struct karena_batch b;

		karena_batch_init(&b, n, gfp);
		if (karena_batch_reserve(&b, n)) {
			karena_batch_release(sp->kf, &b);
			break;
		}
		n = karena_lazy_collect(sp, &b);
		karena_lazy_update(sp);
		karena_batch_unmap(&b, sp->mm);
		karena_batch_release(sp->kf, &b);
		atomic64_add(n, &sp->ev[KAR_E_LAZY_RECLAIMED]);
		karena_count(KAR_C_LAZY_RECLAIMED, n);
		done += n;
		if (!n)
			break;
	}
	return done;
}

/* Does reclaim for @target (NULL: global) take @sp's pages?  List lock held. */
static bool karena_lazy_in(struct karena_space *sp, struct mem_cgroup *target)
{
	lockdep_assert_held(&karena_lazy_lock);
	return !target || (sp->lazy_tag &&
			   mem_cgroup_is_descendant(sp->lazy_tag->memcg,
						    target));
}

/* Lazily released pages reclaim for @target (NULL: global) could take. */
unsigned long karena_lazy_count(struct mem_cgroup *target)
{
	struct karena_space *sp;
	unsigned long n = 0;

	spin_lock(&karena_lazy_lock);
	list_for_each_entry(sp, &karena_lazy_spaces, lazy_node)
		if (karena_lazy_in(sp, target))
			n += atomic_long_read(&sp->nr_lazy);
	spin_unlock(&karena_lazy_lock);
	return n;
}

/*
 * Lock @sp for reclaim without waiting: kf->lock, then its mm's mmap_lock
 * for read (unless the mm is exiting: its close drops everything).  The
 * list lock is held, so @sp is alive until kf->lock is.
 */
static bool karena_lazy_trylock(struct karena_space *sp)
{
	lockdep_assert_held(&karena_lazy_lock);
	if (!mutex_trylock(&sp->kf->lock))
		return false;
	if (atomic_read(&sp->mm->mm_users) && mmap_read_trylock(sp->mm))
		return true;
	mutex_unlock(&sp->kf->lock);
	return false;
}

/*
 * Reclaim up to @nr lazily released pages of the spaces reclaim for
 * @target (NULL: global) may take, each space once at most, skipping
 * those whose locks are taken.  Returns the pages given back.
 */
unsigned long karena_lazy_shrink(struct mem_cgroup *target, unsigned long nr)
{
	const gfp_t gfp = GFP_NOWAIT | __GFP_NOWARN;
	unsigned long freed = 0, tries;

	spin_lock(&karena_lazy_lock);
	for (tries = karena_lazy_nspaces; tries && freed < nr; tries--) {
		struct karena_space *sp;
		struct karena_file *kf;
		struct mm_struct *mm;

		if (list_empty(&karena_lazy_spaces))
			break;
		sp = list_first_entry(&karena_lazy_spaces, struct karena_space,
				      lazy_node);
		list_move_tail(&sp->lazy_node, &karena_lazy_spaces);
		if (!karena_lazy_in(sp, target) || !karena_lazy_trylock(sp))
			continue;
		spin_unlock(&karena_lazy_lock);
		kf = sp->kf;
		mm = sp->mm;
		freed += karena_lazy_reclaim(sp, nr - freed, gfp);
		mmap_read_unlock(mm);
		mutex_unlock(&kf->lock);	/* @sp may die from here on */
		cond_resched();
		spin_lock(&karena_lazy_lock);
	}
	spin_unlock(&karena_lazy_lock);
	return freed;
}
