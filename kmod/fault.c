// SPDX-License-Identifier: GPL-2.0
/*
 * karena: vm_operations of a karena mapping.
 *
 * ->fault serves a Ready page from the per-CPU cache of pre-zeroed pages
 * (or the allocator on a miss), returns it locked (VM_FAULT_LOCKED) and
 * lets the core map it: a shared mapping of driver pages with no
 * address_space, counted in RssFile.  Reserved, None and (strict)
 * Prepared pages raise SIGSEGV; in lenient mode a Prepared page is backed
 * by a fresh zeroed page that the next Used/Fault/Free drops.  A page
 * shared with another process after fork is copied on first touch.
 *
 * ->page_mkwrite exists for two reasons: it makes the mapping write-notify
 * (the core then skips file_update_time() on every write fault of the
 * device inode) and it rechecks, under the page lock, that the page still
 * belongs to the store, like ->fault does.
 *
 * ->open tells a fork (the child's VMA, another mm) from a split or an
 * mremap copy (same mm).  ->mremap refuses moves; VM_DONTEXPAND refuses
 * growth.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/pagemap.h>

#include "karena_priv.h"
#include "karena_trace.h"

static void karena_vm_open(struct vm_area_struct *vma)
{
	struct karena_space *sp = vma->vm_private_data;

	if (vma->vm_mm == sp->mm)
		karena_space_vma_open(sp, vma);
	else
		vma->vm_private_data = karena_space_get_fork(sp, vma);
	karena_count(KAR_C_MAPPINGS, 1);
}

static void karena_vm_close(struct vm_area_struct *vma)
{
	karena_space_vma_close(vma->vm_private_data, vma);
	karena_count(KAR_C_MAPPINGS, -1);
}

static int karena_vm_mremap(struct vm_area_struct *vma)
{
	return -EINVAL;
}

static void karena_fault_account(struct karena_space *sp, unsigned long addr,
				 unsigned int state, unsigned int kind)
{
	switch (kind) {
	case KARENA_FAULT_CACHE_HIT:
	case KARENA_FAULT_CACHE_MISS:
		atomic64_inc(&sp->ev[KAR_E_FAULTS]);
		atomic64_inc(&sp->ev[kind == KARENA_FAULT_CACHE_HIT ?
				     KAR_E_HIT : KAR_E_MISS]);
		karena_count(KAR_C_FAULTS, 1);
		karena_count(kind == KARENA_FAULT_CACHE_HIT ?
			     KAR_C_FAULTS_HIT : KAR_C_FAULTS_MISS, 1);
		break;
	case KARENA_FAULT_SIGSEGV:
		atomic64_inc(&sp->ev[KAR_E_SIGSEGV]);
		karena_count(KAR_C_FAULTS_SIGSEGV, 1);
		break;
	case KARENA_FAULT_ZERO:
		atomic64_inc(&sp->ev[KAR_E_ZERO]);
		karena_count(KAR_C_FAULTS_ZERO, 1);
		break;
	case KARENA_FAULT_COW:
		atomic64_inc(&sp->ev[KAR_E_COW]);
		karena_count(KAR_C_COW_COPIES, 1);
		break;
	}
	trace_karena_fault(addr, state, kind);
}

/* A new locked zeroed page charged to @memcg, or NULL. */
static struct page *karena_fault_page(struct mem_cgroup *memcg, bool *hit)
{
	struct page *page = karena_page_alloc(memcg, hit);

	if (page && WARN_ON_ONCE(!trylock_page(page))) {
		karena_page_free(page, true);
		page = NULL;
	}
	return page;
}

static void karena_fault_page_put(struct page *page, bool dirty)
{
	unlock_page(page);
	karena_page_free(page, !dirty);
}

static vm_fault_t __karena_fault(struct vm_fault *vmf,
				 struct mem_cgroup *memcg)
{
	struct vm_area_struct *vma = vmf->vma;
	struct karena_space *sp = vma->vm_private_data;
	unsigned long addr = vmf->address & PAGE_MASK;
	XA_STATE(xas, &sp->store, addr >> PAGE_SHIFT);
	struct page *page, *newp = NULL;
	bool hit = false, dirty = false;
	struct karena_ent e;
	unsigned int kind;
	void *entry;

retry:
	xas_reset(&xas);
	xas_lock(&xas);
	entry = xas_load(&xas);
	karena_decode(&xas, entry, &e);

	if (e.page) {
		page = e.page;
		if (e.cow) {
			bool shared;

			spin_lock(&karena_cow_lock);
			shared = page_private(page) != 0;
			spin_unlock(&karena_cow_lock);
			if (shared)
				goto cow;
			/* The other sharers are gone: it is ours again. */
			xas_clear_mark(&xas, KAR_MARK_COW);
		}
		get_page(page);
		xas_unlock(&xas);
		lock_page(page);
		if (xa_load(&sp->store, xas.xa_index) != page) {
			unlock_page(page);
			put_page(page);
			goto retry;
		}
		if (newp)
			karena_fault_page_put(newp, dirty);
		/* Mapped again (e.g. after MADV_DONTNEED): no allocation. */
		if (e.state == KARENA_STATE_READY)
			karena_fault_account(sp, addr, e.state,
					     KARENA_FAULT_CACHE_HIT);
		vmf->page = page;
		return VM_FAULT_LOCKED;
	}

	if (e.state == KARENA_STATE_READY)
		kind = KARENA_FAULT_CACHE_HIT;
	else if (e.state == KARENA_STATE_PREPARED &&
		 (READ_ONCE(sp->kf->cfg) & KARENA_CFG_LENIENT))
		kind = KARENA_FAULT_ZERO;
	else
		kind = KARENA_FAULT_SIGSEGV;

	/* Fast path: a page from this CPU's cache, without unlocking. */
	if (kind != KARENA_FAULT_SIGSEGV && !newp) {
		newp = karena_cache_pop(memcg);
		if (newp && WARN_ON_ONCE(!trylock_page(newp))) {
			xas_unlock(&xas);
			karena_page_free(newp, true);
			return VM_FAULT_OOM;
		}
		if (newp) {
			hit = true;
			goto store;
		}
	}
	xas_unlock(&xas);

	if (kind == KARENA_FAULT_SIGSEGV) {
		if (newp)
			karena_fault_page_put(newp, dirty);
		karena_fault_account(sp, addr, e.state, kind);
		return VM_FAULT_SIGSEGV;
	}

	if (!newp) {
		newp = karena_fault_page(memcg, &hit);
		if (!newp)
			return VM_FAULT_OOM;
	} else if (dirty) {
		clear_highpage(newp);
		dirty = false;
	}
	xas_reset(&xas);
	xas_lock(&xas);
	if (xas_load(&xas) != entry) {
		xas_unlock(&xas);
		goto retry;
	}
store:
	karena_encode(&xas, e.state, e.huge, newp, false);
	if (xas_error(&xas)) {
		xas_unlock(&xas);
		karena_fault_page_put(newp, false);
		return VM_FAULT_OOM;
	}
	get_page(newp);		/* the PTE's reference */
	if (e.state == KARENA_STATE_READY)
		atomic_long_inc(&sp->nr_resident);
	xas_unlock(&xas);
	karena_count(KAR_C_PAGES, 1);
	if (kind == KARENA_FAULT_CACHE_HIT && !hit)
		kind = KARENA_FAULT_CACHE_MISS;
	karena_fault_account(sp, addr, e.state, kind);
	vmf->page = newp;
	return VM_FAULT_LOCKED;

cow:
	/* @page is shared with another space: copy it, then swap it in. */
	get_page(page);
	xas_unlock(&xas);
	if (!newp) {
		newp = karena_fault_page(memcg, &hit);
		if (!newp) {
			put_page(page);
			return VM_FAULT_OOM;
		}
	}
	copy_highpage(newp, page);
	dirty = true;
	xas_reset(&xas);
	xas_lock(&xas);
	if (xas_load(&xas) != page || !xas_get_mark(&xas, KAR_MARK_COW)) {
		xas_unlock(&xas);
		put_page(page);
		goto retry;
	}
	karena_encode(&xas, e.state, e.huge, newp, false);
	WARN_ON_ONCE(xas_error(&xas));
	get_page(newp);		/* the PTE's reference */
	xas_unlock(&xas);
	karena_count(KAR_C_PAGES, 1);
	put_page(page);
	karena_page_release(page, true);
	karena_fault_account(sp, addr, e.state, KARENA_FAULT_COW);
	vmf->page = newp;
	return VM_FAULT_LOCKED;
}

/*
 * Pages are charged to the memcg of the faulting mm as it is now, as
 * anonymous memory is: a process moved to another cgroup charges its next
 * pages there, and a forked child's copies go to the child's cgroup.
 */
static vm_fault_t karena_fault(struct vm_fault *vmf)
{
	struct mem_cgroup *memcg = get_mem_cgroup_from_mm(vmf->vma->vm_mm);
	vm_fault_t ret = __karena_fault(vmf, memcg);

	mem_cgroup_put(memcg);
	return ret;
}

static vm_fault_t karena_page_mkwrite(struct vm_fault *vmf)
{
	struct karena_space *sp = vmf->vma->vm_private_data;
	unsigned long idx = vmf->address >> PAGE_SHIFT;
	struct page *page = vmf->page;
	bool cow;

	lock_page(page);
	if (xa_load(&sp->store, idx) != page) {
		unlock_page(page);
		return VM_FAULT_NOPAGE;
	}
	cow = xa_get_mark(&sp->store, idx, KAR_MARK_COW);
	if (cow) {
		/* Never mapped while shared; if it were, fault it again. */
		unlock_page(page);
		karena_zap(vmf->vma, vmf->address & PAGE_MASK, PAGE_SIZE);
		return VM_FAULT_NOPAGE;
	}
	return VM_FAULT_LOCKED;
}

const struct vm_operations_struct karena_vm_ops = {
	.open = karena_vm_open,
	.close = karena_vm_close,
	.mremap = karena_vm_mremap,
	.fault = karena_fault,
	.page_mkwrite = karena_page_mkwrite,
};
