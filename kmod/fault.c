// SPDX-License-Identifier: GPL-2.0
/*
 * karena: vm_operations of a karena mapping.
 *
 * ->fault serves a Ready page from the per-CPU cache of pre-zeroed pages
 * (or the allocator on a miss), returns it locked (VM_FAULT_LOCKED) and
 * lets the core map it: a shared mapping of driver pages with no
 * address_space, counted in RssFile.  Reserved, None and (strict)
 * Prepared pages raise SIGSEGV; in lenient mode a Prepared page is backed
 * by a fresh zeroed page that the next Used/Fault/Free drops, or, when it
 * was lazily released (lazy.c), by the page it kept.  A new page that a
 * bound refuses first makes lazily released pages go.  A page
 * shared with another process after fork is copied on first touch, and so
 * is one marked shared that someone else (GUP, a pin) still holds.  A new
 * page that would pass a bound of bounds.c raises SIGBUS (as a full tmpfs
 * does); a failed allocation returns VM_FAULT_OOM, for the memcg OOM
 * killer when the memcg is at its limit.  A Ready 2 MiB block with the
 * HUGEPAGE hint may be backed by one huge page mapped by one PMD
 * (huge.c).
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

/*
 * One fault: the store at the faulting address (@xas) and a spare page that
 * a look at the store that had to be repeated left over (@newp, @dirty when
 * it holds a copy rather than zeros).
 */
struct karena_fault_ctx {
	struct vm_fault *vmf;
	struct karena_space *sp;
	struct mem_cgroup *memcg;
	struct xa_state *xas;
	unsigned long addr;
	struct page *newp;
	bool hit;
	bool dirty;
	bool no_huge;	/* a huge block was tried: 4 KiB from now on */
};

/* The store changed under the fault: look again (never a vm_fault_t). */
#define KARENA_FAULT_AGAIN	((vm_fault_t)0)

/* Lazily released pages a fault refused by a bound reclaims at once. */
#define KAR_FAULT_LAZY_RECLAIM	32

static void karena_fault_drop_spare(struct karena_fault_ctx *f)
{
	if (f->newp)
		karena_fault_page_put(f->newp, f->dirty);
	f->newp = NULL;
}

/*
 * @e->page is shared with another space or held by someone else: copy it,
 * then swap the copy in.  Called with the store locked; returns unlocked.
 */
static vm_fault_t karena_fault_cow(struct karena_fault_ctx *f,
				   const struct karena_ent *e)
{
	struct page *page = e->page;

	lockdep_assert_held(&f->xas->xa->xa_lock);
	get_page(page);
	xas_unlock(f->xas);
	if (!f->newp) {
		f->newp = karena_fault_page(f->memcg, &f->hit);
		if (!f->newp) {
			put_page(page);
			return VM_FAULT_OOM;
		}
	}
	copy_highpage(f->newp, page);
	f->dirty = true;
	xas_reset(f->xas);
	xas_lock(f->xas);
	if (xas_load(f->xas) != page || !xas_get_mark(f->xas, KAR_MARK_COW)) {
		xas_unlock(f->xas);
		put_page(page);
		return KARENA_FAULT_AGAIN;
	}
	if (karena_held_charge(f->sp->kf, 1)) {
		xas_unlock(f->xas);
		put_page(page);
		karena_fault_drop_spare(f);
		return VM_FAULT_SIGBUS;
	}
	karena_encode(f->xas, e->state, e->huge, f->newp, false);
	WARN_ON_ONCE(xas_error(f->xas));
	get_page(f->newp);	/* the PTE's reference */
	karena_rss_count(f->sp, -1);	/* @page counted as COW here */
	karena_rss_fault(f->sp, f->newp, true);
	xas_unlock(f->xas);
	put_page(page);
	karena_page_release(f->sp->kf, page, true);
	karena_fault_account(f->sp, f->addr, e->state, KARENA_FAULT_COW);
	f->vmf->page = f->newp;
	return VM_FAULT_LOCKED;
}

/*
 * @e->page backs the address: map it.  A page marked COW is taken back
 * only when no other space shares it and nobody else holds a reference
 * (a holder may still read or write it: it is not ours alone); otherwise
 * it is copied.  Called with the store locked; returns unlocked.
 */
static vm_fault_t karena_fault_backed(struct karena_fault_ctx *f,
				      const struct karena_ent *e)
{
	struct page *page = e->page;

	lockdep_assert_held(&f->xas->xa->xa_lock);
	if (e->lazy && !(READ_ONCE(f->sp->kf->cfg) & KARENA_CFG_LENIENT)) {
		/* Strict: a lazily released page is Prepared (uapi). */
		xas_unlock(f->xas);
		karena_fault_drop_spare(f);
		karena_fault_account(f->sp, f->addr, e->state,
				     KARENA_FAULT_SIGSEGV);
		return VM_FAULT_SIGSEGV;
	}
	if (e->cow) {
		if (!karena_page_exclusive(page))
			return karena_fault_cow(f, e);
		/*
		 * The other sharers are gone: it is ours again, and counts
		 * in RssFile by its flag now, not as COW.
		 */
		xas_clear_mark(f->xas, KAR_MARK_COW);
		karena_rss_count(f->sp, karena_rss_mark(page) - 1);
	}
	get_page(page);
	xas_unlock(f->xas);
	lock_page(page);
	if (xa_load(&f->sp->store, f->xas->xa_index) != page) {
		unlock_page(page);
		put_page(page);
		return KARENA_FAULT_AGAIN;
	}
	karena_fault_drop_spare(f);
	karena_huge_rss_fault(f->sp, f->vmf, page);
	/* Mapped again (e.g. after MADV_DONTNEED): no allocation. */
	if (e->state == KARENA_STATE_READY)
		karena_fault_account(f->sp, f->addr, e->state,
				     KARENA_FAULT_CACHE_HIT);
	f->vmf->page = page;
	return VM_FAULT_LOCKED;
}

/* Put the spare page into the store (locked) and map it; returns unlocked. */
static vm_fault_t karena_fault_store(struct karena_fault_ctx *f,
				     const struct karena_ent *e,
				     unsigned int kind)
{
	struct page *newp = f->newp;

	lockdep_assert_held(&f->xas->xa->xa_lock);
	if (karena_held_charge(f->sp->kf, 1)) {
		xas_unlock(f->xas);
		/* Lazily released pages go before a bound refuses (lazy.c). */
		if (karena_lazy_shrink(NULL, KAR_FAULT_LAZY_RECLAIM))
			return KARENA_FAULT_AGAIN;
		karena_fault_drop_spare(f);
		return VM_FAULT_SIGBUS;
	}
	karena_encode(f->xas, e->state, e->huge, newp, false);
	if (xas_error(f->xas)) {
		xas_unlock(f->xas);
		karena_held_uncharge(f->sp->kf, 1);
		f->newp = NULL;
		karena_fault_page_put(newp, false);
		return VM_FAULT_OOM;
	}
	get_page(newp);		/* the PTE's reference */
	if (e->state == KARENA_STATE_READY)
		atomic_long_inc(&f->sp->nr_resident);
	karena_rss_fault(f->sp, newp, true);
	xas_unlock(f->xas);
	if (kind == KARENA_FAULT_CACHE_HIT && !f->hit)
		kind = KARENA_FAULT_CACHE_MISS;
	karena_fault_account(f->sp, f->addr, e->state, kind);
	f->vmf->page = newp;
	return VM_FAULT_LOCKED;
}

/*
 * No page backs the address (@entry as loaded): a fresh zeroed page for a
 * Ready page (or, lenient, a Prepared one), SIGSEGV for the rest.  Called
 * with the store locked; returns unlocked.
 */
static vm_fault_t karena_fault_unbacked(struct karena_fault_ctx *f,
					const struct karena_ent *e,
					void *entry)
{
	unsigned int kind;

	lockdep_assert_held(&f->xas->xa->xa_lock);
	if (e->state == KARENA_STATE_READY)
		kind = KARENA_FAULT_CACHE_HIT;
	else if (e->state == KARENA_STATE_PREPARED &&
		 (READ_ONCE(f->sp->kf->cfg) & KARENA_CFG_LENIENT))
		kind = KARENA_FAULT_ZERO;
	else
		kind = KARENA_FAULT_SIGSEGV;

	if (kind == KARENA_FAULT_SIGSEGV) {
		xas_unlock(f->xas);
		karena_fault_drop_spare(f);
		karena_fault_account(f->sp, f->addr, e->state, kind);
		return VM_FAULT_SIGSEGV;
	}
	/* Fast path: a page from this CPU's cache, without unlocking. */
	if (!f->newp) {
		f->newp = karena_cache_pop(f->memcg);
		if (f->newp && WARN_ON_ONCE(!trylock_page(f->newp))) {
			xas_unlock(f->xas);
			karena_page_free(f->newp, true);
			return VM_FAULT_OOM;
		}
		if (f->newp) {
			f->hit = true;
			return karena_fault_store(f, e, kind);
		}
	}
	xas_unlock(f->xas);

	if (!f->newp) {
		f->newp = karena_fault_page(f->memcg, &f->hit);
		if (!f->newp)
			return VM_FAULT_OOM;
	} else if (f->dirty) {
		clear_highpage(f->newp);
		f->dirty = false;
	}
	xas_reset(f->xas);
	xas_lock(f->xas);
	if (xas_load(f->xas) != entry) {
		xas_unlock(f->xas);
		return KARENA_FAULT_AGAIN;
	}
	return karena_fault_store(f, e, kind);
}

/*
 * A Ready hinted block that may be mapped by one PMD (huge.c): back it
 * with a compound page.  Called with the store locked; returns unlocked.
 */
static vm_fault_t karena_fault_huge(struct karena_fault_ctx *f)
{
	struct page *page;

	xas_unlock(f->xas);
	page = karena_huge_fault(f->sp, f->vmf, f->memcg);
	f->no_huge = true;
	if (!page)
		return KARENA_FAULT_AGAIN;
	karena_fault_drop_spare(f);
	karena_fault_account(f->sp, f->addr, S_READY, KARENA_FAULT_CACHE_MISS);
	f->vmf->page = page;
	return VM_FAULT_LOCKED;
}

static vm_fault_t __karena_fault(struct vm_fault *vmf,
				 struct mem_cgroup *memcg)
{
	struct karena_space *sp = vmf->vma->vm_private_data;
	XA_STATE(xas, &sp->store, vmf->address >> PAGE_SHIFT);
	struct karena_fault_ctx f = {
		.vmf = vmf,
		.sp = sp,
		.memcg = memcg,
		.xas = &xas,
		.addr = vmf->address & PAGE_MASK,
	};
	struct karena_ent e;
	vm_fault_t ret;
	void *entry;

	do {
		xas_reset(&xas);
		xas_lock(&xas);
		entry = xas_load(&xas);
		karena_decode(&xas, entry, &e);
		if (e.page)
			ret = karena_fault_backed(&f, &e);
		else if (!f.no_huge && karena_huge_wanted(vmf, &e))
			ret = karena_fault_huge(&f);
		else
			ret = karena_fault_unbacked(&f, &e, entry);
	} while (ret == KARENA_FAULT_AGAIN);
	return ret;
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
		/*
		 * Not this store's page (any more): drop the PTE, so the
		 * retried fault maps the store's page instead of looping here.
		 */
		unlock_page(page);
		karena_zap(vmf->vma, vmf->address & PAGE_MASK, PAGE_SIZE);
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
	.may_split = karena_huge_may_split,
	.mremap = karena_vm_mremap,
	.fault = karena_fault,
	.page_mkwrite = karena_page_mkwrite,
};
