// SPDX-License-Identifier: GPL-2.0
/*
 * karena: huge blocks, a Ready 2 MiB block backed by one PMD-order
 * compound page and mapped by one PMD.
 *
 * A fault on a Ready page whose 2 MiB block (store indexes, aligned to 512)
 * lies inside the VMA, is 2 MiB aligned in the file as well, has all 512
 * entries Ready, unbacked and hinted (KARENA_OP_HUGEPAGE) and whose PMD is
 * still empty, allocates a zeroed order-9 __GFP_COMP page (charged to the
 * faulting mm's memcg, __GFP_NORETRY: at the memcg limit it fails rather
 * than reclaiming hard), charges the 512 pages to the bounds, stores the
 * 512 subpages in the store (one reference each) and returns the faulting
 * subpage locked.  finish_fault() sees a compound page and do_set_pmd()
 * maps the whole block with one PMD, counted 512 in RssFile by the core.
 * When anything is missing, the fault falls back to a 4 KiB page.
 *
 * Invariant: a compound page backs a whole block of one store, never
 * shared with another store, so the 4 KiB code (drops, rss.c, faults)
 * sees 512 ordinary entries.  Its refcount and lock are the folio's.
 *   - A fault of a subpage later (after MADV_DONTNEED, fork's zap, a
 *     read-then-write split of the PMD) returns that subpage, and the core
 *     maps the block by PMD again when the PMD is empty: the whole block
 *     then leaves rss.c's count at once (karena_huge_rss_fault()).
 *   - Fork gives the child 4 KiB copies of a huge block (arena.c treats it
 *     like a held page); the parent keeps the block.
 *   - Releasing a whole block drops the 512 references; the compound page
 *     is freed (and uncharged) by the last one.  A lazy Unused
 *     (KARENA_F_LAZY, lazy.c) releases huge blocks eagerly: lazy reclaim
 *     takes pages one by one and would leave a part of a block behind.
 *   - A transition that drops part of a block, or a split of the VMA
 *     inside a block (munmap, mprotect: ->may_split; no fault runs then),
 *     first "demotes" the
 *     block: the 512 subpages are copied into order-0 pages that replace
 *     them in the store, and the compound page is freed.  So RSS, bounds
 *     and memcg never count a released part as held.  Demoting needs 512
 *     pages and a block nobody else holds (no GUP reference or pin: the
 *     holder would go on writing the old page): else the transition fails
 *     with ENOMEM or EBUSY, and the split goes ahead without it (the block
 *     then lies in two VMAs, where no PMD maps it; a part that munmap
 *     drops stays allocated, uncounted like any released page a holder
 *     keeps, until the block's last subpage goes).  While a
 *     transition that may cut a block runs, faults make no new block in
 *     that space (sp->huge_cuts, counted under the store's lock: a POPULATE
 *     transition drops kf->lock while it allocates).
 *
 * Only on kernels whose finish_fault() maps a driver's compound page with
 * a PMD (compat.h: KARENA_HAVE_HUGE); elsewhere every hint is just a hint.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/pagemap.h>

#include "karena_priv.h"

#if KARENA_HAVE_HUGE

#define KAR_HUGE_GFP	(GFP_HIGHUSER | __GFP_ACCOUNT | __GFP_COMP | \
			 __GFP_ZERO | __GFP_NORETRY | __GFP_NOWARN)

/* First store index of the block holding @idx. */
static inline unsigned long karena_block_first(unsigned long idx)
{
	return idx & ~(unsigned long)(HPAGE_PMD_NR - 1);
}

/* Would finish_fault() map a compound page of this fault with a PMD? */
static bool karena_huge_maps_block(struct vm_fault *vmf)
{
	return pmd_none(READ_ONCE(*vmf->pmd)) &&
	       transhuge_vma_suitable(vmf->vma, vmf->address);
}

bool karena_huge_wanted(struct vm_fault *vmf, const struct karena_ent *e)
{
	return READ_ONCE(karena_param_hugepage) &&
	       e->state == S_READY && e->huge && !e->page &&
	       karena_huge_maps_block(vmf);
}

/* Are the 512 entries at @first all Ready, unbacked and hinted?  Locked. */
static bool karena_block_free(struct xa_state *xas, unsigned long first)
{
	const unsigned long want = KARENA_STATE_READY | KAR_V_HUGE;
	unsigned long i;
	void *entry;

	for (i = 0; i < HPAGE_PMD_NR; i++) {
		xas_set(xas, first + i);
		entry = xas_load(xas);
		if (!xa_is_value(entry) ||
		    (xa_to_value(entry) & (KARENA_STATE_MASK | KAR_V_HUGE)) !=
		    want)
			return false;
	}
	return true;
}

static struct page *karena_huge_alloc(struct mem_cgroup *memcg)
{
	struct mem_cgroup *old = set_active_memcg(memcg);
	struct page *head = alloc_pages(KAR_HUGE_GFP, HPAGE_PMD_ORDER);

	set_active_memcg(old);
	if (head && WARN_ON_ONCE(!trylock_page(head))) {
		put_page(head);
		head = NULL;
	}
	return head;
}

/*
 * Back the block of the faulting address with a new compound page.
 * Returns the faulting subpage locked, with the reference the mapping
 * takes, or NULL: fall back to a 4 KiB page.
 */
struct page *karena_huge_fault(struct karena_space *sp, struct vm_fault *vmf,
			       struct mem_cgroup *memcg)
{
	unsigned long idx = vmf->address >> PAGE_SHIFT;
	unsigned long first = karena_block_first(idx), i;
	XA_STATE(xas, &sp->store, first);
	struct page *head;
	long counted = 0;

	if (karena_held_charge(sp->kf, HPAGE_PMD_NR))
		goto fallback;
	head = karena_huge_alloc(memcg);
	if (!head)
		goto uncharge;
	xas_lock(&xas);
	if (sp->huge_cuts || !karena_block_free(&xas, first)) {
		xas_unlock(&xas);
		unlock_page(head);
		put_page(head);
		goto uncharge;
	}
	for (i = 0; i < HPAGE_PMD_NR; i++) {
		xas_set(&xas, first + i);
		karena_encode(&xas, S_READY, true, head + i, false);
		WARN_ON_ONCE(xas_error(&xas));
		/* An untracked space counts every page it holds (rss.c). */
		if (!sp->kmm)
			counted += karena_rss_mark(head + i);
	}
	/* One per entry; the allocation's goes to the PMD. */
	page_ref_add(head, HPAGE_PMD_NR);
	xas_unlock(&xas);
	atomic_long_add(HPAGE_PMD_NR, &sp->nr_resident);
	karena_rss_count(sp, counted);
	karena_count(KAR_C_FAULTS_HUGE, 1);
	return head + (idx - first);
uncharge:
	karena_held_uncharge(sp->kf, HPAGE_PMD_NR);
fallback:
	karena_count(KAR_C_HUGE_FALLBACKS, 1);
	return NULL;
}

/*
 * A fault is about to map @page, a page of the store (locked, entry
 * checked).  A subpage of a huge block is mapped with its whole block
 * when the PMD is empty: then none of the 512 is unmapped any more.
 */
void karena_huge_rss_fault(struct karena_space *sp, struct vm_fault *vmf,
			   struct page *page)
{
	struct page *head;
	unsigned long i;

	if (!PageTransCompound(page) || !sp->kmm ||
	    !karena_huge_maps_block(vmf)) {
		karena_rss_fault(sp, page, false);
		return;
	}
	head = compound_head(page);
	for (i = 0; i < HPAGE_PMD_NR; i++)
		karena_rss_fault(sp, head + i, false);
}

/*
 * The compound page backing the whole block at @first, referenced, or
 * NULL.  A block that lost part of its entries (a split that could not
 * demote it, then munmap) lies in two VMAs and no PMD maps it: it needs no
 * demotion, its subpages go one by one.
 */
static struct page *karena_block_get(struct karena_space *sp,
				     unsigned long first)
{
	XA_STATE(xas, &sp->store, first);
	struct page *head = NULL;
	unsigned long i;
	void *entry;

	xas_lock(&xas);
	entry = xas_load(&xas);
	if (entry && !xa_is_value(entry) && PageCompound((struct page *)entry))
		head = compound_head((struct page *)entry);
	for (i = 0; head && i < HPAGE_PMD_NR; i++) {
		xas_set(&xas, first + i);
		if (xas_load(&xas) != head + i)
			head = NULL;
	}
	if (head)
		get_page(head);
	xas_unlock(&xas);
	return head;
}

/*
 * Unmap the block and lock its page with no other holder: the references
 * are the store's 512 and the caller's.  A fault in flight holds one for a
 * moment (then maps the block again): retry a few times, then -EBUSY.
 */
static int karena_block_quiesce(struct karena_space *sp, struct page *head,
				unsigned long first)
{
	unsigned long addr = first << PAGE_SHIFT;
	struct vm_area_struct *vma = vma_lookup(sp->mm, addr);
	int tries;

	for (tries = 0; tries < 8; tries++) {
		if (vma)
			karena_zap(vma, addr, HPAGE_PMD_SIZE);
		lock_page(head);
		if (!page_mapped(head) &&
		    page_ref_count(head) == HPAGE_PMD_NR + 1)
			return 0;
		unlock_page(head);
		cond_resched();
	}
	return -EBUSY;
}

/*
 * Copy the block into @pages (512 order-0 pages, in order) and put them
 * in the store in place of the subpages; @head locked and unmapped.
 */
static void karena_block_copy_out(struct karena_space *sp, struct page *head,
				  unsigned long first, struct list_head *pages)
{
	XA_STATE(xas, &sp->store, first);
	struct karena_ent e;
	struct page *np;
	unsigned long i = 0;
	long counted = 0;

	list_for_each_entry(np, pages, lru)
		copy_highpage(np, head + i++);
	xas_lock(&xas);
	for (i = 0; i < HPAGE_PMD_NR; i++) {
		np = list_first_entry(pages, struct page, lru);
		list_del(&np->lru);
		xas_set(&xas, first + i);
		karena_decode(&xas, xas_load(&xas), &e);
		WARN_ON_ONCE(e.page != head + i);
		karena_encode(&xas, e.state, e.huge, np, false);
		counted += karena_rss_mark(np) -
			   karena_rss_unmark(head + i, false);
	}
	xas_unlock(&xas);
	karena_rss_count(sp, counted);
	/* The store's references; the caller still holds one. */
	page_ref_sub(head, HPAGE_PMD_NR);
}

/* Replace a huge block at @first by order-0 copies.  kf->lock held. */
static int karena_block_demote(struct karena_space *sp, unsigned long first)
{
	struct page *head, *np, *tmp;
	struct mem_cgroup *memcg;
	LIST_HEAD(pages);
	int ret;

	lockdep_assert_held(&sp->kf->lock);
	mmap_assert_locked(sp->mm);
	head = karena_block_get(sp, first);
	if (!head)
		return 0;
	memcg = get_mem_cgroup_from_mm(sp->mm);
	ret = karena_pages_alloc_list(memcg, HPAGE_PMD_NR, &pages);
	mem_cgroup_put(memcg);
	if (!ret)
		ret = karena_block_quiesce(sp, head, first);
	if (!ret) {
		karena_block_copy_out(sp, head, first, &pages);
		unlock_page(head);
		karena_count(KAR_C_HUGE_SPLITS, 1);
	}
	put_page(head);
	list_for_each_entry_safe(np, tmp, &pages, lru) {
		list_del(&np->lru);
		karena_page_free(np, true);
	}
	return ret;
}

/*
 * A transition of [@first, @last] that may cut a block, or a lazy one
 * (which drops huge blocks eagerly, and made room for the pages it drops
 * only): until it is applied, faults make no new huge block in @sp (it
 * looked at the entries before they had pages).  Returns whether it was
 * needed; then karena_huge_cut_end() follows.
 */
bool karena_huge_cut_begin(struct karena_space *sp, unsigned long first,
			   unsigned long last, bool lazy)
{
	lockdep_assert_held(&sp->kf->lock);
	if (!lazy && first == karena_block_first(first) &&
	    last + 1 == karena_block_first(last + 1))
		return false;
	xa_lock(&sp->store);
	sp->huge_cuts++;
	xa_unlock(&sp->store);
	return true;
}

void karena_huge_cut_end(struct karena_space *sp)
{
	xa_lock(&sp->store);
	sp->huge_cuts--;
	xa_unlock(&sp->store);
}

/*
 * Before a transition drops [@first, @last] (store indexes): demote the
 * huge blocks it would cut.  kf->lock and mmap_lock held.
 */
int karena_huge_split_edges(struct karena_space *sp, unsigned long first,
			    unsigned long last)
{
	int ret = 0;

	if (first != karena_block_first(first))
		ret = karena_block_demote(sp, karena_block_first(first));
	if (!ret && last + 1 != karena_block_first(last + 1))
		ret = karena_block_demote(sp, karena_block_first(last));
	return ret;
}

/*
 * vm_ops->may_split: a VMA split inside a huge block demotes it first.
 * The split never fails for it: a block that cannot be demoted (no memory,
 * a holder) stays whole in two VMAs, where no PMD can map it any more;
 * what ->close then drops of it is freed with its last subpage.
 */
int karena_huge_may_split(struct vm_area_struct *vma, unsigned long addr)
{
	struct karena_space *sp = vma->vm_private_data;

	mmap_assert_write_locked(vma->vm_mm);
	if (IS_ALIGNED(addr, HPAGE_PMD_SIZE))
		return 0;
	mutex_lock(&sp->kf->lock);
	if (karena_block_demote(sp, karena_block_first(addr >> PAGE_SHIFT)))
		karena_count(KAR_C_HUGE_SPLIT_FAILS, 1);
	mutex_unlock(&sp->kf->lock);
	return 0;
}

#endif /* KARENA_HAVE_HUGE */
