// SPDX-License-Identifier: GPL-2.0
/*
 * karena: arena contexts, per-mm page-state stores and transitions.
 *
 * An open file is a struct karena_file; each mm that maps it gets its own
 * struct karena_space (page states, pages, stats), found through the VMA
 * (vm_private_data) or the file's list.  After fork, parent and child
 * share the file but not the space: the child's VMAs get a space of their
 * own, so a transition issued by one process never touches the other's
 * pages.
 *
 * Fork: copy on first touch.  vm_ops->open runs for the child's copy of
 * each VMA with the parent's mmap_lock held for write, before the core
 * would copy page tables (it copies none here: the VMA is shared, without
 * VM_PFNMAP/VM_MIXEDMAP and without an anon_vma).  The child's space gets
 * the parent's states and the same pages, each marked COW in both stores
 * with page_private() counting the extra sharers; the parent's PTEs of
 * those pages are zapped.  The next access in either process faults and
 * copies the page (or, for the last sharer, just takes it back).  Reads
 * copy too, so no page is ever mapped while shared.  vm_ops->open cannot
 * fail, so its bookkeeping allocations use __GFP_NOFAIL (small objects).
 *
 * Transitions are in transition.c.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cred.h>
#include <linux/highmem.h>
#include <linux/mm.h>
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
	kf->uid = current_euid();
	return kf;
}

void karena_file_free(struct karena_file *kf)
{
	/* Every VMA holds the file, so every space is gone by now. */
	WARN_ON_ONCE(!list_empty(&kf->spaces));
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
	struct karena_space *sp = kzalloc(sizeof(*sp), gfp);

	if (!sp)
		return NULL;
	sp->kf = kf;
	sp->mm = mm;
	xa_init_flags(&sp->store, XA_FLAGS_ACCOUNT);
	list_add(&sp->node, &kf->spaces);
	karena_count(KAR_C_SPACES, 1);
	return sp;
}

static void karena_space_free(struct karena_space *sp)
{
	list_del(&sp->node);
	WARN_ON_ONCE(!xa_empty(&sp->store));
	xa_destroy(&sp->store);
	kfree(sp);
	karena_count(KAR_C_SPACES, -1);
}

/*
 * Release a store's reference on @page.  @maybe_shared: the entry was
 * marked COW, so another store may still hold the page.
 */
void karena_page_release(struct page *page, bool maybe_shared)
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
	karena_count(KAR_C_PAGES, -1);
	if (page_ref_count(page) == 1 && !page_mapped(page))
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
	if (kf->reserved_pages + npages > kf->max_reserved >> PAGE_SHIFT) {
		ret = -ENOMEM;
		goto out;
	}
	sp = karena_space_find(kf, vma->vm_mm);
	if (!sp) {
		sp = karena_space_new(kf, vma->vm_mm, GFP_KERNEL_ACCOUNT);
		if (!sp) {
			ret = -ENOMEM;
			goto out;
		}
	}
	sp->nr_vmas++;
	sp->nr_mapped += npages;
	kf->reserved_pages += npages;
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
	struct vm_area_struct *other = vma_lookup(vma->vm_mm, vma->vm_start);

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
		kf->reserved_pages += vma_pages(vma);
	}
	mutex_unlock(&kf->lock);
}

/*
 * vm_ops->close: the PTEs are gone; drop the states and pages of the
 * range.  A close of a VMA still covered by another (a failed split) only
 * drops the reference.
 */
void karena_space_vma_close(struct karena_space *sp, struct vm_area_struct *vma)
{
	unsigned long first = vma->vm_start >> PAGE_SHIFT;
	unsigned long last = (vma->vm_end >> PAGE_SHIFT) - 1;
	struct karena_file *kf = sp->kf;
	XA_STATE(xas, &sp->store, first);
	unsigned long nones = 0, n = 0, idx = first;
	struct karena_ent e;
	void *entry;

	mutex_lock(&kf->lock);
	if (karena_vma_covered(sp, vma))
		goto put;

	/* Look each entry up afresh: erasing can reshape the tree. */
	while (idx <= last &&
	       xa_find(&sp->store, &idx, last, XA_PRESENT)) {
		xas_set(&xas, idx);
		xas_lock(&xas);
		entry = xas_load(&xas);
		karena_decode(&xas, entry, &e);
		if (entry && !xa_is_zero(entry)) {
			switch (e.state) {
			case S_NONE:
				sp->nr_none--;
				nones++;
				break;
			case S_PREPARED:
				sp->nr_prepared--;
				break;
			case S_READY:
				sp->nr_ready--;
				kf->ready_pages--;
				if (e.page)
					atomic_long_dec(&sp->nr_resident);
				break;
			}
		}
		xas_store(&xas, NULL);
		xas_unlock(&xas);
		if (e.page)
			karena_page_release(e.page, e.cow);
		if (!(++n & 1023))
			cond_resched();
		if (idx++ == last)
			break;
	}
	sp->nr_mapped -= vma_pages(vma);
	kf->reserved_pages -= vma_pages(vma) - nones;
put:
	if (!--sp->nr_vmas)
		karena_space_free(sp);
	mutex_unlock(&kf->lock);
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
	const gfp_t gfp = GFP_KERNEL_ACCOUNT | __GFP_NOFAIL;
	struct karena_file *kf = parent->kf;
	unsigned long idx, nones = 0, shared = 0;
	struct mem_cgroup *memcg = NULL;
	struct karena_space *child;
	struct vm_area_struct *pvma;
	bool hit;
	void *entry;

	mutex_lock(&kf->lock);
	child = karena_space_find(kf, vma->vm_mm);
	if (!child)
		child = karena_space_new(kf, vma->vm_mm, gfp);
	child->nr_vmas++;
	child->nr_mapped += vma_pages(vma);

	xa_for_each_range(&parent->store, idx, entry, first, last) {
		struct karena_ent e;
		XA_STATE(pxas, &parent->store, idx);
		struct page *copy = NULL;

		/*
		 * A page pinned for DMA stays the parent's: the device may
		 * still write it.  The child gets a copy now, as anonymous
		 * memory does (if no page can be had, it is shared instead).
		 */
		if (xa_is_value(entry) || !entry || xa_is_zero(entry) ||
		    !folio_maybe_dma_pinned(page_folio((struct page *)entry)))
			goto share;
		/* The child is not in its cgroup yet: charge the parent's. */
		if (!memcg)
			memcg = get_mem_cgroup_from_mm(parent->mm);
		copy = karena_page_alloc(memcg, &hit);
		if (copy)
			copy_highpage(copy, entry);
share:
		xa_lock(&parent->store);
		entry = xas_load(&pxas);
		karena_decode(&pxas, entry, &e);
		if (copy && e.page) {
			entry = copy;
			e.page = copy;
			karena_count(KAR_C_PAGES, 1);
			karena_count(KAR_C_COW_COPIES, 1);
		} else if (e.page) {
			xas_set_mark(&pxas, KAR_MARK_COW);
			get_page(e.page);
			spin_lock(&karena_cow_lock);
			set_page_private(e.page, page_private(e.page) + 1);
			spin_unlock(&karena_cow_lock);
			shared++;
		}
		xa_unlock(&parent->store);
		if (copy && entry != copy)
			karena_page_free(copy, false);
		if (!entry || xa_is_zero(entry))
			continue;

		/* NOFAIL: allocation failure here cannot be reported. */
		xa_store(&child->store, idx, entry, gfp);
		if (e.page) {
			if (!copy)
				xa_set_mark(&child->store, idx, KAR_MARK_COW);
			if (e.state == S_PREPARED)
				xa_set_mark(&child->store, idx, KAR_MARK_PREP);
			if (e.huge)
				xa_set_mark(&child->store, idx, KAR_MARK_HUGE);
		}
		switch (e.state) {
		case S_NONE:
			child->nr_none++;
			nones++;
			break;
		case S_PREPARED:
			child->nr_prepared++;
			break;
		case S_READY:
			child->nr_ready++;
			kf->ready_pages++;
			if (e.page)
				atomic_long_inc(&child->nr_resident);
			break;
		}
		cond_resched();
	}
	kf->reserved_pages += vma_pages(vma) - nones;

	/* The parent's next access faults and copies (or takes it back). */
	if (shared) {
		pvma = vma_lookup(parent->mm, vma->vm_start);
		if (pvma && pvma->vm_private_data == parent)
			karena_zap(pvma, vma->vm_start,
				   vma->vm_end - vma->vm_start);
		karena_count(KAR_C_COW_SHARED, shared);
	}
	mutex_unlock(&kf->lock);
	mem_cgroup_put(memcg);
	return child;
}
