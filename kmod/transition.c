// SPDX-License-Identifier: GPL-2.0
/*
 * karena: transitions between Go's address-space states (the ioctl,
 * vector and io_uring paths all end here).
 *
 * Transitions run under mmap_read_lock and the file's mutex, so states
 * only change here (a fault only attaches a page to a Ready or, in
 * lenient mode, a Prepared entry).  All or nothing: the range is checked,
 * limits are checked, POPULATE pages are allocated and xarray slots are
 * reserved before the first entry changes; storing into existing slots
 * cannot fail.
 *
 * Dropping a page (Unused, Fault, Free): the entry changes here, then
 * release.c waits for faults in flight, zaps and releases the page.  A
 * vector (and a single range, as a vector of one) takes mmap_lock and the
 * file mutex once, collects what its ranges drop, zaps the ranges (merged
 * when adjacent) once they are all applied and releases the pages after
 * unlocking.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/pagemap.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "karena_priv.h"
#include "karena_trace.h"

#define S_KEEP		0xff

/* Legal source states and target state of each op. */
static const u8 karena_legal[KARENA_OP_MAX + 1] = {
	[KARENA_OP_RESERVE]	= BIT(S_NONE),
	[KARENA_OP_MAP]		= BIT(S_RESERVED),
	[KARENA_OP_USED]	= BIT(S_PREPARED),
	[KARENA_OP_UNUSED]	= BIT(S_READY),
	[KARENA_OP_FAULT]	= BIT(S_RESERVED) | BIT(S_PREPARED) | BIT(S_READY),
	[KARENA_OP_FREE]	= S_ANY,
	[KARENA_OP_ALLOC]	= BIT(S_NONE) | BIT(S_RESERVED),
	[KARENA_OP_HUGEPAGE]	= BIT(S_RESERVED) | BIT(S_PREPARED) | BIT(S_READY),
	[KARENA_OP_NOHUGEPAGE]	= BIT(S_RESERVED) | BIT(S_PREPARED) | BIT(S_READY),
};

static const u8 karena_target[KARENA_OP_MAX + 1] = {
	[KARENA_OP_RESERVE]	= S_RESERVED,
	[KARENA_OP_MAP]		= S_PREPARED,
	[KARENA_OP_USED]	= S_READY,
	[KARENA_OP_UNUSED]	= S_PREPARED,
	[KARENA_OP_FAULT]	= S_RESERVED,
	[KARENA_OP_FREE]	= S_NONE,
	[KARENA_OP_ALLOC]	= S_READY,
	[KARENA_OP_HUGEPAGE]	= S_KEEP,
	[KARENA_OP_NOHUGEPAGE]	= S_KEEP,
};

/* ------------------------------------------------------------------ */
/* Transitions */

struct karena_plan {
	unsigned long cnt[KARENA_NR_STATES];	/* pages per source state */
	unsigned long absent;		/* of cnt[S_RESERVED], no slot */
	unsigned long eager;		/* pages a lazy release drops too */
	unsigned long lazy;		/* of cnt[S_PREPARED], lazily released */
	unsigned long huge;		/* pages of huge blocks (huge.c) */
};

/* Count a present entry of the range into @pl. */
static void karena_plan_add(struct karena_plan *pl,
			    const struct karena_ent *e)
{
	bool huge = e->page && PageCompound(e->page);

	pl->cnt[e->state]++;
	/* Shared, or of a huge block: never kept lazily. */
	if (e->cow || huge)
		pl->eager++;
	if (huge)
		pl->huge++;
	if (e->lazy)
		pl->lazy++;
}

/*
 * Count the source states of the range; states are stable (kf->lock).
 * Visits present entries only (a fresh mapping has none) and lets go of
 * the store lock now and then.
 */
static void karena_scan(struct karena_space *sp, unsigned long first,
			unsigned long last, struct karena_plan *pl)
{
	XA_STATE(xas, &sp->store, first);
	unsigned long present = 0, n = 0;
	struct karena_ent e;
	void *entry;

	lockdep_assert_held(&sp->kf->lock);
	memset(pl, 0, sizeof(*pl));
	xas_lock(&xas);
	xas_for_each(&xas, entry, last) {
		karena_decode(&xas, entry, &e);
		karena_plan_add(pl, &e);
		present++;
		if (!(++n & 4095)) {
			xas_pause(&xas);
			xas_unlock(&xas);
			cond_resched();
			xas_lock(&xas);
		}
	}
	xas_unlock(&xas);
	pl->absent = last - first + 1 - present;
	pl->cnt[S_RESERVED] += pl->absent;
}

/*
 * The same for a short range with the store locked, visiting every index
 * from the one @xas is on (holding @entry) up to @last: leaves @xas on
 * @last, decoded in @e.
 */
static void karena_scan_locked(struct xa_state *xas, void *entry,
			       unsigned long last, struct karena_plan *pl,
			       struct karena_ent *e)
{
	memset(pl, 0, sizeof(*pl));
	for (;;) {
		karena_decode(xas, entry, e);
		if (entry) {
			karena_plan_add(pl, e);
		} else {
			pl->absent++;
			pl->cnt[S_RESERVED]++;
		}
		if (xas->xa_index == last)
			break;
		entry = xas_next(xas);
	}
}

/* Reserve a slot for every absent index; on failure undo: -ENOMEM, -EINTR. */
static int karena_reserve_slots(struct karena_space *sp, unsigned long first,
				unsigned long last)
{
	unsigned long idx;
	int ret = 0;

	for (idx = first; idx <= last; idx++) {
		if (!xa_load(&sp->store, idx)) {
			ret = xa_reserve(&sp->store, idx, GFP_KERNEL_ACCOUNT);
			if (ret)
				break;
		}
		if (!((idx - first + 1) & 1023)) {
			cond_resched();
			if (fatal_signal_pending(current)) {
				ret = -EINTR;
				idx++;
				break;
			}
		}
	}
	if (!ret)
		return 0;
	while (idx-- > first)
		xa_release(&sp->store, idx);
	return ret == -EINTR ? ret : -ENOMEM;
}

/* One range being applied: what the steps of karena_apply_one() share. */
struct karena_apply {
	struct karena_file *kf;
	struct karena_space *sp;
	const struct karena_krange *r;
	struct karena_batch *b;
	struct karena_run *run;
	unsigned long first;
	unsigned long last;
	unsigned int target;
	bool hint;			/* HUGEPAGE/NOHUGEPAGE: states kept */
	bool populate;
	bool lazy;			/* KARENA_F_LAZY: keep the pages */
	long d_ready;			/* Ready pages of the file */
	long d_resident;		/* Ready pages backed */
	long d_counted;			/* RssFile (rss.c) */
	unsigned long charged;		/* POPULATE pages charged */
	unsigned long stored;		/* ... and stored */
	struct karena_plan pl;
	struct list_head newpages;	/* POPULATE pages not stored yet */
};

/*
 * Of the scanned range (a->pl): 1. every page in a legal source state;
 * 2. within the file's limits.
 */
static int karena_apply_legal(struct karena_apply *a)
{
	const struct karena_krange *r = a->r;
	int s;

	for (s = 0; s < KARENA_NR_STATES; s++)
		if (a->pl.cnt[s] && !(karena_legal[r->op] & BIT(s)))
			return -EINVAL;
	/*
	 * max_reserved counts mapped pages, None included (a None page
	 * costs an entry), so only Ready is checked here.
	 */
	a->d_ready = 0;
	if (!a->hint) {
		if (a->target == S_READY)
			a->d_ready = r->npages - a->pl.cnt[S_READY];
		else
			a->d_ready = -(long)a->pl.cnt[S_READY];
	}
	if (a->d_ready > 0 && a->kf->ready_pages + a->d_ready >
	    a->kf->max_ready >> PAGE_SHIFT)
		return -ENOMEM;
	return 0;
}

static int karena_apply_check(struct karena_apply *a)
{
	karena_scan(a->sp, a->first, a->last, &a->pl);
	return karena_apply_legal(a);
}

/*
 * POPULATE pages are charged and allocated once the request is known to
 * be legal and within limits, without the file's mutex held (reclaim may
 * take long); the caller then checks everything again.
 */
static int karena_apply_populate(struct karena_apply *a)
{
	unsigned long n = a->r->npages - a->pl.lazy;
	struct karena_file *kf = a->kf;
	struct mem_cgroup *memcg;
	int ret;

	if (!n) {	/* every page is a lazily released one, taken back */
		a->populate = false;
		return 0;
	}
	ret = karena_held_charge(kf, n);
	/* Over a bound: this space's lazily released pages go first. */
	if (ret && karena_lazy_reclaim(a->sp, n, GFP_KERNEL_ACCOUNT))
		ret = karena_held_charge(kf, n);
	if (ret)
		return ret;
	a->charged = n;
	memcg = get_mem_cgroup_from_mm(a->sp->mm);
	mutex_unlock(&kf->lock);
	ret = karena_pages_alloc_list(memcg, n, &a->newpages);
	mem_cgroup_put(memcg);
	mutex_lock(&kf->lock);
	return ret;
}

/* Does the range need slots for its absent entries? */
static bool karena_apply_fills(const struct karena_apply *a)
{
	return a->pl.absent && (a->hint ? a->r->op == KARENA_OP_HUGEPAGE :
				a->target != S_RESERVED);
}

/*
 * 3. Everything that can fail, before the first change.  Pages can only
 * back Ready and Prepared entries, and faults may add some until the
 * entries change: make room for all of them.
 */
static int karena_apply_reserve(struct karena_apply *a)
{
	int ret;

	if (!a->hint) {
		/* A huge block this range cuts goes to 4 KiB pages first. */
		ret = karena_huge_split_edges(a->sp, a->first, a->last);
		if (ret)
			return ret;
	}
	/* No memcg tag for the lazy pages: release them eagerly. */
	if (a->lazy && karena_lazy_prepare(a->sp))
		a->lazy = false;
	/* A lazy release drops shared pages only (a fault adds none). */
	if (!a->hint) {
		ret = karena_batch_reserve(a->b, a->lazy ? a->pl.eager :
					   a->pl.cnt[S_READY] +
					   a->pl.cnt[S_PREPARED]);
		if (ret)
			return ret;
	}
	if (karena_apply_fills(a))
		return karena_reserve_slots(a->sp, a->first, a->last);
	return 0;
}

/* The page a POPULATE stores next, counted as held and resident. */
static struct page *karena_apply_newpage(struct karena_apply *a)
{
	struct page *np;

	np = list_first_entry_or_null(&a->newpages, struct page, lru);
	if (!np)
		return NULL;
	list_del(&np->lru);
	a->stored++;
	a->d_resident++;
	a->d_counted += karena_rss_mark(np);
	return np;
}

/*
 * karena_encode() over the entry @e decoded at @xas: when the same page
 * stays, the slot already holds it and only the marks that differ change.
 */
static bool karena_reencode(struct xa_state *xas, const struct karena_ent *e,
			    unsigned int state, bool huge, struct page *page,
			    bool cow)
{
	bool prep = state == S_PREPARED, was_prep = e->state == S_PREPARED;

	if (!page || page != e->page)
		return karena_encode(xas, state, huge, page, cow);
	if (prep != was_prep)
		karena_xas_mark(xas, KAR_MARK_PREP, prep);
	if (huge != e->huge)
		karena_xas_mark(xas, KAR_MARK_HUGE, huge);
	if (cow != e->cow)
		karena_xas_mark(xas, KAR_MARK_COW, cow);
	return true;
}

/*
 * Move the entry at @xas (decoded: @e) to the target state.  Returns
 * false when the entry was erased (karena_encode()).
 */
static bool karena_apply_entry(struct karena_apply *a, struct xa_state *xas,
			       const struct karena_ent *e)
{
	struct karena_batch *b = a->b;
	unsigned int target = a->target;
	struct page *np = NULL;

	if (a->hint)
		return karena_reencode(xas, e, e->state,
				       a->r->op == KARENA_OP_HUGEPAGE,
				       e->page, e->cow);
	if (e->lazy && target == S_READY) {
		/* Used takes a lazily released page back as it is. */
		karena_lazy_unmark(a->sp, e->page);
		a->d_resident++;
		return karena_reencode(xas, e, S_READY, e->huge, e->page,
				       false);
	}
	if (a->lazy && e->page && !e->cow && !PageCompound(e->page)) {
		/* Lazy Unused keeps the page (and its PTEs). */
		karena_lazy_mark(a->sp, e->page);
		a->d_resident--;
		return karena_reencode(xas, e, S_PREPARED, e->huge, e->page,
				       false);
	}
	if (a->populate)
		np = karena_apply_newpage(a);
	if (e->page) {
		if (e->lazy)
			karena_lazy_unmark(a->sp, e->page);
		karena_batch_drop(b, e->page, e->cow);
		a->d_counted -= karena_rss_unmark(e->page, e->cow);
		if (e->state == S_READY)
			a->d_resident--;
	}
	return karena_encode(xas, target,
			     target != S_NONE && target != S_RESERVED &&
			     e->huge, np, false);
}

/*
 * 4. Apply, from the entry @xas is set to (decoded in @known, or NULL), up
 * to a->last; the store locked (let go every 1024 pages).  Cannot fail.
 * One tree walk, then each next entry is its neighbour in the node,
 * unless one was erased.
 */
static void karena_apply_entries(struct karena_apply *a, struct xa_state *xas,
				 const struct karena_ent *known)
{
	struct karena_ent e;
	unsigned long idx;
	bool kept;

	if (known)
		e = *known;
	else
		karena_decode(xas, xas_load(xas), &e);
	for (idx = a->first; ; idx++) {
		kept = karena_apply_entry(a, xas, &e);
		WARN_ON_ONCE(xas_error(xas));
		if (idx == a->last) {
			if (!kept)	/* the next seek walks from the root */
				xas_set(xas, idx);
			break;
		}
		if (!((idx - a->first + 1) & 1023)) {
			xas_unlock(xas);
			cond_resched();
			xas_lock(xas);
			kept = false;
		}
		if (kept) {
			karena_decode(xas, xas_next(xas), &e);
		} else {
			xas_set(xas, idx + 1);
			karena_decode(xas, xas_load(xas), &e);
		}
	}
}

static void karena_apply_store(struct karena_apply *a)
{
	XA_STATE(xas, &a->sp->store, a->first);

	xas_lock(&xas);
	karena_apply_entries(a, &xas, NULL);
	xas_unlock(&xas);
}

/* Can the range change in place: nothing to allocate, no block to cut? */
static bool karena_apply_in_place(const struct karena_apply *a)
{
	const struct karena_plan *pl = &a->pl;
	unsigned long drops;

	if (pl->huge || karena_apply_fills(a))
		return false;
	if (a->hint)
		return true;
	drops = a->lazy ? pl->eager : pl->cnt[S_READY] + pl->cnt[S_PREPARED];
	return a->b->ndropped + drops <= a->b->cap;
}

/*
 * The common case in one hold of the store lock (the run's), from the
 * scan to the last change: a short range that needs nothing allocated
 * (no POPULATE, no slot to fill, room in the batch, a lazy space already
 * listed) and holds no page of a huge block.  No fault can change its
 * entries in between, so the staged path's room for pages faults may add
 * and its huge_cuts are not needed.  -EAGAIN: take the staged path.
 */
static int karena_apply_direct(struct karena_apply *a)
{
	struct xa_state *xas = &a->run->xas;
	struct karena_ent e;
	void *entry;
	int ret;

	if (a->populate || a->r->npages > KAR_DIRECT_PAGES ||
	    (a->lazy && !a->sp->lazy_on))
		return -EAGAIN;
	entry = karena_run_seek(a->run, a->sp, a->first);
	karena_scan_locked(xas, entry, a->last, &a->pl, &e);
	ret = karena_apply_legal(a);
	if (!ret && !karena_apply_in_place(a))
		ret = -EAGAIN;
	if (!ret) {
		/* One page: @xas is on it, decoded in @e. */
		if (a->first != a->last)
			xas_set(xas, a->first);
		karena_apply_entries(a, xas, a->first == a->last ? &e : NULL);
		a->run->pages += a->r->npages;
	}
	return ret;
}

/* 5. Count the change in the space and the file; queue the zap. */
static void karena_apply_account(struct karena_apply *a, unsigned long before)
{
	const struct karena_krange *r = a->r;
	struct karena_space *sp = a->sp;
	unsigned int s;

	if (!a->hint) {
		for (s = 0; s < KARENA_NR_STATES; s++)
			if (a->pl.cnt[s])
				karena_space_add(sp, s, -(long)a->pl.cnt[s]);
		karena_space_add(sp, a->target, r->npages);
		karena_run_count(a->run, sp, a->d_resident, a->d_counted,
				 a->lazy || a->pl.lazy);
	}
	if (a->b->ndropped != before)
		karena_batch_zap(a->b, r->start,
				 r->start + (r->npages << PAGE_SHIFT));
	sp->transitions[r->op]++;
	karena_count(KAR_C_TRANSITIONS, 1);
}

/* 6. Count a failure, give back POPULATE pages not stored. */
static void karena_apply_finish(struct karena_apply *a, int ret)
{
	struct page *page, *tmp;

	if (ret) {
		a->sp->transition_errors++;
		karena_count(KAR_C_TRANSITION_ERRORS, 1);
	}
	list_for_each_entry_safe(page, tmp, &a->newpages, lru) {
		list_del(&page->lru);
		karena_page_free(page, true);
	}
	if (a->charged > a->stored)
		karena_held_uncharge(a->kf, a->charged - a->stored);
	trace_karena_transition(a->r->start, a->r->npages, a->r->op,
				a->r->flags, ret);
}

/*
 * The general case in stages: check, allocate what the change needs
 * (locks dropped for POPULATE pages), reserve, store.  Faults may attach
 * pages between the stages; a cut of a huge block stops new ones.
 */
static int karena_apply_staged(struct karena_apply *a)
{
	bool cut;
	int ret;

	cut = !a->hint && karena_huge_cut_begin(a->sp, a->first, a->last,
						 a->lazy);
	for (;;) {
		ret = karena_apply_check(a);
		if (ret || !a->populate || a->charged)
			break;
		ret = karena_apply_populate(a);
		if (ret)
			break;
	}
	if (!ret)
		ret = karena_apply_reserve(a);
	if (!ret)
		karena_apply_store(a);
	if (cut)
		karena_huge_cut_end(a->sp);
	return ret;
}

/*
 * Apply one range, all or nothing.  Called with mmap_lock held for read
 * and kf->lock held (dropped and retaken around POPULATE allocation);
 * @sp is the space of the VMA holding the range.
 */
static int karena_apply_one(struct karena_file *kf, struct karena_space *sp,
			    const struct karena_krange *r,
			    struct karena_batch *b, struct karena_run *run)
{
	struct karena_apply a = {
		.kf = kf,
		.sp = sp,
		.r = r,
		.b = b,
		.run = run,
		.first = r->start >> PAGE_SHIFT,
		.last = (r->start >> PAGE_SHIFT) + r->npages - 1,
		.target = karena_target[r->op],
	};
	unsigned long before = b->ndropped;
	int ret;

	mmap_assert_locked(sp->mm);
	lockdep_assert_held(&kf->lock);
	INIT_LIST_HEAD(&a.newpages);
	a.hint = a.target == S_KEEP;
	a.populate = (r->flags & KARENA_F_POPULATE) && a.target == S_READY;
	a.lazy = r->flags & KARENA_F_LAZY;
	ret = karena_apply_direct(&a);
	if (ret == -EAGAIN) {
		karena_run_end(run);
		ret = karena_apply_staged(&a);
	}
	if (!ret)
		karena_apply_account(&a, before);
	karena_apply_finish(&a, ret);
	return ret;
}

/*
 * Apply @count ranges in order, stopping at the first that fails (the
 * ones before it stay applied): the first @good are checked, range @good
 * (if < @count) is bad.  Both locks are taken once for the whole call;
 * the PTEs of dropped pages are zapped once the ranges are done (adjacent
 * ranges merged) and the pages released after unlocking.  @done and
 * @pages report progress.
 */
static int karena_apply_ranges(struct file *file, struct mm_struct *mm,
			       const struct karena_krange *kr,
			       unsigned int count, unsigned int good,
			       unsigned int *done, u64 *pages)
{
	struct karena_file *kf = file->private_data;
	struct karena_run run = { };
	struct karena_batch b;
	struct vm_area_struct *hint = NULL;
	unsigned int i;
	int ret = 0;

	*done = 0;
	*pages = 0;
	karena_batch_init(&b, count, GFP_KERNEL_ACCOUNT);
	if (mmap_read_lock_killable(mm))
		return -EINTR;
	mutex_lock(&kf->lock);
	for (i = 0; i < count; i++) {
		const struct karena_krange *r = &kr[i];
		struct karena_space *sp;

		if (i && fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		if (i == good) {
			ret = -EINVAL;
			break;
		}
		sp = karena_range_space(file, mm, r->start,
					r->start + (r->npages << PAGE_SHIFT),
					&hint);
		if (!sp) {
			karena_count(KAR_C_TRANSITION_ERRORS, 1);
			trace_karena_transition(r->start, r->npages, r->op,
						r->flags, -EINVAL);
			ret = -EINVAL;
			break;
		}
		if (!karena_run_lazy_unused(&run, sp, r))
			ret = karena_apply_one(kf, sp, r, &b, &run);
		if (ret)
			break;
		*done = i + 1;
		*pages += r->npages;
		if (!run.sp)
			cond_resched();
	}
	karena_run_end(&run);
	karena_batch_unmap(&b, mm);
	mutex_unlock(&kf->lock);
	mmap_read_unlock(mm);
	karena_batch_release(kf, &b);
	return ret;
}

/* One range (ioctl TRANSITION, uring TRANSITION): all or nothing. */
int karena_apply_range(struct file *file, struct mm_struct *mm,
		       const struct karena_krange *r, u64 *pages)
{
	unsigned int done;

	return karena_apply_ranges(file, mm, r, 1, 1, &done, pages);
}

/*
 * @count (1..KARENA_VEC_MAX) ranges at user address @uranges, in order
 * (the ioctl and uring VEC paths).  The copy is temporary and charged to
 * the caller's memcg, like everything the call allocates.
 */
int karena_apply_vec(struct file *file, struct mm_struct *mm, u64 uranges,
		     unsigned int count, unsigned int *done, u64 *pages)
{
	struct karena_krange *kr;
	int ret;

	*done = 0;
	*pages = 0;
	kr = kvmalloc_array(count, sizeof(*kr), GFP_KERNEL_ACCOUNT);
	if (!kr)
		return -ENOMEM;
	ret = karena_ranges_from_user(u64_to_user_ptr(uranges), count, kr);
	if (ret >= 0)
		ret = karena_apply_ranges(file, mm, kr, count, ret, done,
					  pages);
	kvfree(kr);
	return ret;
}
