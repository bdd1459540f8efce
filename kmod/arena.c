// SPDX-License-Identifier: GPL-2.0
/*
 * karena: open files, their per-mm spaces (page-state stores), mmap,
 * VMA open/close, and fork.
 *
 * An open file is a struct karena_file; each mm that maps it gets its own
 * struct karena_space (page states, pages, stats), found through the VMA
 * (vm_private_data) or the file's list.  After fork, parent and child
 * share the file but not the space: the child's VMAs get a space of their
 * own, so a transition issued by one process never touches the other's
 * pages.
 *
 * Fork: copy on first touch.  vm_ops->open runs for the child's copy of
 * each VMA with both mms' mmap_lock held for write, before the core copies
 * page tables (none for this VMA: it is shared, without VM_PFNMAP/
 * VM_MIXEDMAP and without an anon_vma; but userfaultfd-wp registered with
 * EVENT_FORK makes the core copy them).  It first zaps the parent's PTEs of
 * the range, so no new GUP reference can be taken and the core finds no
 * PTE to copy; then the child's space gets the parent's states and the
 * same pages, each marked COW in both stores with page_private() counting
 * the extra sharers.  A page someone else holds (pinned, or referenced by
 * GUP: more references than the stores and mappings explain) stays the
 * parent's, and the child gets a copy.  The next access in either process
 * faults and copies a shared page; the last sharer takes it back unless it
 * is held.  Reads copy too, so no page is ever mapped while shared.
 * vm_ops->open cannot fail: when memory for the child's copy of a store
 * runs out, the copy is given up and the child gets the range Reserved.
 *
 * What moves pages between states (transitions) is transition.c; what
 * backs them on access, fault.c.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cred.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>

#include "karena_priv.h"

DEFINE_SPINLOCK(karena_cow_lock);

/* ------------------------------------------------------------------ */
/* Files and spaces */

struct karena_file *karena_file_alloc(void)
{
	struct karena_file *kf = kzalloc(sizeof(*kf), GFP_KERNEL_ACCOUNT);

	if (!kf)
		return NULL;
	mutex_init(&kf->lock);
	INIT_LIST_HEAD(&kf->spaces);
	kf->max_reserved = READ_ONCE(karena_param_max_reserved) & PAGE_MASK;
	kf->max_ready = READ_ONCE(karena_param_max_ready) & PAGE_MASK;
	kf->cfg = READ_ONCE(karena_param_strict) ? 0 : KARENA_CFG_LENIENT;
	kf->user = karena_user_get(current_euid());
	if (!kf->user) {
		kfree(kf);
		return NULL;
	}
	return kf;
}

void karena_file_free(struct karena_file *kf)
{
	/* Every VMA holds the file, so every space is gone by now. */
	WARN_ON_ONCE(!list_empty(&kf->spaces));
	karena_user_put(kf->user);
	mutex_destroy(&kf->lock);
	kfree(kf);
}

/* The space of @kf in @mm, or NULL; kf->lock held. */
struct karena_space *karena_space_find(struct karena_file *kf,
				       struct mm_struct *mm)
{
	struct karena_space *sp;

	lockdep_assert_held(&kf->lock);
	list_for_each_entry(sp, &kf->spaces, node)
		if (sp->mm == mm)
			return sp;
	return NULL;
}

static struct karena_space *karena_space_new(struct karena_file *kf,
					     struct mm_struct *mm,
					     gfp_t gfp)
{
	struct karena_space *sp;

	lockdep_assert_held(&kf->lock);
	sp = kzalloc(sizeof(*sp), gfp);
	if (!sp)
		return NULL;
	sp->kf = kf;
	sp->mm = mm;
	xa_init_flags(&sp->store, XA_FLAGS_ACCOUNT);
	INIT_LIST_HEAD(&sp->lazy_node);
	karena_rss_track(sp);
	list_add(&sp->node, &kf->spaces);
	karena_count(KAR_C_SPACES, 1);
	return sp;
}

/*
 * Has @store no entry left?  Not xa_empty(): a store that failed for want
 * of memory (fork's NORETRY copy) leaves the nodes it had already linked
 * in, empty; xa_destroy() frees them.
 */
static bool karena_store_empty(struct xarray *store)
{
	unsigned long idx = 0;

	return !xa_find(store, &idx, ULONG_MAX, XA_PRESENT);
}

static void karena_space_free(struct karena_space *sp)
{
	lockdep_assert_held(&sp->kf->lock);
	list_del(&sp->node);
	/* Every lazy page went with the store; off the list, tag freed. */
	if (WARN_ON_ONCE(atomic_long_read(&sp->nr_lazy)))
		atomic_long_set(&sp->nr_lazy, 0);
	karena_lazy_update(sp);
	karena_rss_untrack(sp);
	WARN_ON_ONCE(!karena_store_empty(&sp->store));
	xa_destroy(&sp->store);
	kfree(sp);
	karena_count(KAR_C_SPACES, -1);
}

/*
 * Release a store's reference on @page, a store of @kf.  @maybe_shared:
 * the entry was marked COW, so another store may still hold the page.
 * The last store to let it go uncharges it.
 */
void karena_page_release(struct karena_file *kf, struct page *page,
			 bool maybe_shared)
{
	if (maybe_shared) {
		bool shared = false;

		spin_lock(&karena_cow_lock);
		if (page_private(page)) {
			set_page_private(page, page_private(page) - 1);
			shared = true;
		}
		spin_unlock(&karena_cow_lock);
		if (shared) {
			put_page(page);
			return;
		}
	}
	karena_held_uncharge(kf, 1);
	/* rss.c cleared it when the entry went: a cached page has none. */
	WARN_ON_ONCE(test_bit(KAR_PG_UNMAPPED, &page->flags));
	/* A huge block's subpage: its last reference frees the block. */
	if (!PageCompound(page) && page_ref_count(page) == 1 &&
	    !page_mapped(page))
		karena_page_free(page, false);
	else
		put_page(page);
}

/* ------------------------------------------------------------------ */
/* mmap, VMA open/close, fork */

int karena_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct karena_file *kf = file->private_data;
	unsigned long npages = vma_pages(vma);
	struct karena_space *sp;
	int ret = 0;

	/* Driver-owned pages in a shared mapping; see main.c. */
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;

	mutex_lock(&kf->lock);
	ret = karena_reserved_add(kf, npages, true);
	if (ret)
		goto out;
	sp = karena_space_find(kf, vma->vm_mm);
	if (!sp) {
		sp = karena_space_new(kf, vma->vm_mm, GFP_KERNEL_ACCOUNT);
		if (!sp) {
			karena_reserved_add(kf, -(long)npages, false);
			ret = -ENOMEM;
			goto out;
		}
	}
	sp->nr_vmas++;
	sp->nr_mapped += npages;
	vma->vm_private_data = sp;
	vma->vm_ops = &karena_vm_ops;
	karena_vm_flags_set(vma, VM_DONTEXPAND);
	karena_count(KAR_C_MAPPINGS, 1);
out:
	mutex_unlock(&kf->lock);
	return ret;
}

/* Another VMA of this mm's space that covers all of @vma, if any. */
static bool karena_vma_covered(struct karena_space *sp,
			       struct vm_area_struct *vma)
{
	struct vm_area_struct *other;

	mmap_assert_locked(vma->vm_mm);
	other = vma_lookup(vma->vm_mm, vma->vm_start);
	return other && other != vma && other->vm_private_data == sp &&
	       other->vm_end >= vma->vm_end;
}

/*
 * vm_ops->open in the same mm: a split (the new VMA is a part of one that
 * is still whole in the tree) or mremap's copy_vma (new address range).
 */
void karena_space_vma_open(struct karena_space *sp, struct vm_area_struct *vma)
{
	struct karena_file *kf = sp->kf;

	mutex_lock(&kf->lock);
	sp->nr_vmas++;
	if (!karena_vma_covered(sp, vma)) {
		sp->nr_mapped += vma_pages(vma);
		karena_reserved_add(kf, vma_pages(vma), false);
	}
	mutex_unlock(&kf->lock);
}

/*
 * Drop the states and pages of [@first, @last] from @sp's store, counting
 * them out of the space, the file and RssFile.
 */
static void karena_space_drop(struct karena_space *sp, unsigned long first,
			      unsigned long last)
{
	XA_STATE(xas, &sp->store, first);
	unsigned long n = 0, idx = first;
	long counted = 0;
	struct karena_file *kf = sp->kf;
	struct karena_ent e;
	void *entry;

	lockdep_assert_held(&kf->lock);
	/* Look each entry up afresh: erasing can reshape the tree. */
	while (idx <= last &&
	       xa_find(&sp->store, &idx, last, XA_PRESENT)) {
		xas_set(&xas, idx);
		xas_lock(&xas);
		entry = xas_load(&xas);
		karena_decode(&xas, entry, &e);
		karena_space_add(sp, e.state, -1);
		if (e.page && e.state == S_READY)
			atomic_long_dec(&sp->nr_resident);
		if (e.lazy)
			karena_lazy_unmark(sp, e.page);
		if (e.page)
			counted += karena_rss_unmark(e.page, e.cow);
		xas_store(&xas, NULL);
		xas_unlock(&xas);
		if (e.page)
			karena_page_release(kf, e.page, e.cow);
		if (!(++n & 1023))
			cond_resched();
		if (idx++ == last)
			break;
	}
	karena_rss_count(sp, -counted);
}

/*
 * vm_ops->close: the PTEs are gone; drop the states and pages of the
 * range.  A close of a VMA still covered by another (a failed split) only
 * drops the reference.
 */
void karena_space_vma_close(struct karena_space *sp, struct vm_area_struct *vma)
{
	struct karena_file *kf = sp->kf;

	mutex_lock(&kf->lock);
	if (karena_vma_covered(sp, vma))
		goto put;
	karena_space_drop(sp, vma->vm_start >> PAGE_SHIFT,
			  (vma->vm_end >> PAGE_SHIFT) - 1);
	sp->nr_mapped -= vma_pages(vma);
	karena_reserved_add(kf, -(long)vma_pages(vma), false);
put:
	if (!--sp->nr_vmas)
		karena_space_free(sp);
	mutex_unlock(&kf->lock);
}

/*
 * Fork copies the parent's store into the child's without __GFP_NOFAIL:
 * vm_ops->open cannot fail, so when anything cannot be allocated (an
 * xarray node, a copy of a held page) the child's copy of the VMA is given
 * up as a whole and the memory given back: the child gets the range all
 * Reserved (SIGSEGV on access), and the processes are left with the room
 * they had.  NORETRY: a fork near memory.max gets ENOMEM here, never the
 * memcg OOM killer.  Charged to the forking task's cgroup, which is the
 * child's too at this point.
 */
#define KARENA_FORK_GFP	(GFP_KERNEL_ACCOUNT | __GFP_NORETRY | __GFP_NOWARN)

/* One fork of one VMA: the two spaces and what was done so far. */
struct karena_fork {
	struct karena_space *parent;
	struct karena_space *child;
	long parent_counted;		/* RssFile changes (rss.c) */
	long child_counted;
	unsigned long shared;		/* pages now shared with the child */
	bool failed;			/* out of memory: give it all up */
};

/*
 * References to @page beyond its stores and mappings, with the number of
 * other stores sharing it in *@sharers.  Called under the store lock of
 * one of the stores holding it.
 */
static int karena_page_others(struct page *page, unsigned long *sharers)
{
	int refs = page_ref_count(page);

	/*
	 * A sharer leaving drops page_private() and then its reference:
	 * read the reference count first, so a count without that
	 * reference is never compared with a sharer count that has it.
	 */
	smp_rmb();
	spin_lock(&karena_cow_lock);
	*sharers = page_private(page);
	spin_unlock(&karena_cow_lock);
	return refs - (1 + *sharers + karena_page_mapcount(page));
}

/*
 * Does anyone besides the stores sharing @page and its mappings hold it:
 * a pin, a GUP reference (O_DIRECT, vmsplice, 9p), a fault in flight?
 * Such a page must not change hands: the holder may still write it, or
 * read it later expecting its owner's data.
 */
bool karena_page_held(struct page *page)
{
	unsigned long sharers;

	return karena_page_others(page, &sharers) > 0;
}

/* May the store that finds @page marked COW take it back? */
bool karena_page_exclusive(struct page *page)
{
	unsigned long sharers;

	return karena_page_others(page, &sharers) <= 0 && !sharers;
}

/*
 * Zap the parent's PTEs of the range before looking at any page: with no
 * PTE left, GUP-fast cannot take a new reference (the parent's mmap_lock is
 * held for write, so neither can GUP), and one taken before the zap shows
 * in the reference count (GUP-fast rechecks the PTE after taking it).  It
 * also leaves the core nothing to copy into the child when it copies PTEs
 * of this VMA after ->open (userfaultfd-wp registered with EVENT_FORK).
 */
static void karena_fork_zap_parent(struct karena_space *parent,
				   struct vm_area_struct *vma)
{
	struct vm_area_struct *pvma = vma_lookup(parent->mm, vma->vm_start);

	mmap_assert_write_locked(parent->mm);
	if (pvma && pvma->vm_private_data == parent)
		karena_zap(pvma, vma->vm_start, vma->vm_end - vma->vm_start);
}

/* Store @e at @idx of the child's store; 0 or -ENOMEM. */
static int karena_fork_store(struct karena_space *child, unsigned long idx,
			     const struct karena_ent *e)
{
	XA_STATE(xas, &child->store, idx);

	do {
		xas_lock(&xas);
		karena_encode(&xas, e->state, e->huge, e->page, e->cow);
		xas_unlock(&xas);
	} while (xas_nomem(&xas, KARENA_FORK_GFP));
	return xas_error(&xas);
}

/* A copy of a held page for the child (charged to @kf's bounds), or NULL. */
static struct page *karena_fork_copy(struct karena_file *kf, struct page *src)
{
	struct page *copy;

	if (karena_held_charge(kf, 1))
		return NULL;
	copy = alloc_page(GFP_HIGHUSER | KARENA_FORK_GFP);
	if (!copy) {
		karena_held_uncharge(kf, 1);
		return NULL;
	}
	copy_highpage(copy, src);
	return copy;
}

/*
 * Give the child the parent's entry at @idx: the same state, and a page
 * shared copy-on-write, or a copy when someone holds the page.  Returns
 * false when memory ran out.
 */
static bool karena_fork_entry(struct karena_fork *f, unsigned long idx)
{
	XA_STATE(pxas, &f->parent->store, idx);
	struct page *copy = NULL;
	struct karena_ent e;
	bool was_cow;

	xas_lock(&pxas);
	karena_decode(&pxas, xas_load(&pxas), &e);
	if (e.lazy)	/* stays the parent's: the child's is Prepared */
		e.page = NULL;
	was_cow = e.cow;
	/* A huge block (huge.c) is never shared: the child gets copies. */
	if (e.page && (PageCompound(e.page) || karena_page_held(e.page))) {
		xas_unlock(&pxas);
		copy = karena_fork_copy(f->child->kf, e.page);
		if (!copy)
			return false;
		e.page = copy;
		e.cow = false;
	} else {
		e.cow = !!e.page;
		xas_unlock(&pxas);
	}
	if (karena_fork_store(f->child, idx, &e)) {
		if (copy)
			karena_page_release(f->child->kf, copy, false);
		return false;
	}
	if (e.cow) {
		/* Unmapped from now on, counted as COW in both (rss.c). */
		if (!was_cow)
			f->parent_counted += !karena_rss_unmark(e.page, false);
		f->child_counted++;
		/* The store is stable: kf->lock and the parent's mmap_lock. */
		get_page(e.page);
		spin_lock(&karena_cow_lock);
		set_page_private(e.page, page_private(e.page) + 1);
		spin_unlock(&karena_cow_lock);
		xa_set_mark(&f->parent->store, idx, KAR_MARK_COW);
		f->shared++;
	} else if (copy) {
		f->child_counted += karena_rss_mark(copy);
		karena_count(KAR_C_COW_COPIES, 1);
	}
	karena_space_add(f->child, e.state, 1);
	if (e.page && e.state == S_READY)
		atomic_long_inc(&f->child->nr_resident);
	return true;
}

/*
 * Copy the parent's entries of [@first, @last] into the child's store, all
 * of them or (out of memory) none.
 */
static void karena_fork_copy_store(struct karena_fork *f, unsigned long first,
				   unsigned long last)
{
	unsigned long idx;
	void *entry;

	/* The parent's store cannot change: its mmap_lock and kf->lock. */
	mmap_assert_write_locked(f->parent->mm);
	lockdep_assert_held(&f->parent->kf->lock);
	xa_for_each_range(&f->parent->store, idx, entry, first, last) {
		if (xa_is_zero(entry))
			continue;
		if (!karena_fork_entry(f, idx)) {
			f->failed = true;
			break;
		}
		cond_resched();
	}
	karena_rss_count(f->parent, f->parent_counted);
	karena_rss_count(f->child, f->child_counted);
	if (f->failed) {
		karena_space_drop(f->child, first, last);
		f->shared = 0;
	}
}

/*
 * vm_ops->open for the child's copy of a VMA at fork.  Called with both
 * mms locked for write; the parent's store cannot change meanwhile.
 */
struct karena_space *karena_space_get_fork(struct karena_space *parent,
					   struct vm_area_struct *vma)
{
	unsigned long first = vma->vm_start >> PAGE_SHIFT;
	unsigned long last = (vma->vm_end >> PAGE_SHIFT) - 1;
	struct karena_file *kf = parent->kf;
	struct karena_fork f = { .parent = parent };

	mmap_assert_write_locked(vma->vm_mm);
	mutex_lock(&kf->lock);
	f.child = karena_space_find(kf, vma->vm_mm);
	if (!f.child)	/* one small object per space: cannot be left out */
		f.child = karena_space_new(kf, vma->vm_mm,
					   GFP_KERNEL_ACCOUNT | __GFP_NOFAIL);
	f.child->nr_vmas++;
	f.child->nr_mapped += vma_pages(vma);

	karena_fork_zap_parent(parent, vma);
	karena_fork_copy_store(&f, first, last);
	karena_reserved_add(kf, vma_pages(vma), false);
	if (f.shared)
		karena_count(KAR_C_COW_SHARED, f.shared);
	mutex_unlock(&kf->lock);
	if (f.failed) {
		/*
		 * The dropped xarray nodes are freed, and uncharged, after an
		 * RCU grace period: wait for that, so the room is back before
		 * both processes take their first COW faults of anonymous
		 * memory (at memory.max those would wake the OOM killer).
		 */
		rcu_barrier();
		pr_warn_ratelimited("fork of pid %d: out of memory for the child's copy of a %lu-page mapping; it is Reserved in the child\n",
				    task_pid_nr(current), vma_pages(vma));
	}
	return f.child;
}
