// SPDX-License-Identifier: GPL-2.0
/*
 * karena: runs, the ranges of a vector applied in place one after the
 * other under one hold of their space's store lock.
 *
 * The direct path of transition.c (karena_apply_direct()) and the lazy
 * Unused of plain Ready pages here (karena_run_lazy_unused()) apply a
 * short range in one pass under the store lock.  Consecutive such ranges
 * of one space share the hold: the lock is taken once, the next range is
 * reached from the previous one by stepping through the xarray leaf node
 * rather than walking the tree again, and the changes of the counters
 * that live outside the store (resident, RssFile, lazy pages) are added
 * once, when the run lets go (lazy.c's list lock is never taken under the
 * store lock).  A run lets go after KAR_RUN_PAGES pages, before a range
 * that takes the staged path, and at the end of the call.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/xarray.h>

#include "karena_priv.h"
#include "karena_trace.h"

/*
 * Count the changes of @sp's resident and RssFile pages, at once or when
 * the run lets go of @sp's store lock (lazy.c's list lock is not taken
 * under it).
 */
void karena_run_count(struct karena_run *run, struct karena_space *sp,
		      long d_resident, long d_counted, bool lazy)
{
	if (run->sp == sp) {
		run->d_resident += d_resident;
		run->d_counted += d_counted;
		run->lazy_update |= lazy;
		return;
	}
	atomic_long_add(d_resident, &sp->nr_resident);
	karena_rss_count(sp, d_counted);
	if (lazy)
		karena_lazy_update(sp);
}

/* Let go of the store lock, if held, and count what the run changed. */
void karena_run_end(struct karena_run *run)
{
	struct karena_space *sp = run->sp;

	if (!sp)
		return;
	xas_unlock(&run->xas);
	run->sp = NULL;
	if (run->d_lazy) {
		atomic_long_add(run->d_lazy, &sp->nr_lazy);
		karena_count(KAR_C_LAZY, run->d_lazy);
	}
	karena_run_count(run, sp, run->d_resident, run->d_counted,
			 run->lazy_update);
	run->d_resident = 0;
	run->d_counted = 0;
	run->d_lazy = 0;
	run->lazy_update = false;
}

/*
 * karena_run_seek() by a walk from the root, taking @sp's store lock
 * first if the run does not hold it (or held it long enough).
 */
static void *karena_run_walk(struct karena_run *run, struct karena_space *sp,
			     unsigned long index)
{
	struct xa_state *xas = &run->xas;

	if (run->sp != sp || run->pages >= KAR_RUN_PAGES) {
		karena_run_end(run);
		cond_resched();
		*xas = (struct xa_state)__XA_STATE(&sp->store, index, 0, 0);
		xas_lock(xas);
		run->sp = sp;
		run->pages = 0;
	} else {
		xas_set(xas, index);
	}
	return xas_load(xas);
}

/*
 * Hold @sp's store lock, set the run's xa_state to @index and return the
 * entry there: a step through the leaf node when @index follows the last
 * index there, else a walk from the root.
 */
void *karena_run_seek(struct karena_run *run, struct karena_space *sp,
		      unsigned long index)
{
	struct xa_state *xas = &run->xas;
	void *entry;

	if (run->sp != sp || run->pages >= KAR_RUN_PAGES ||
	    !xas_valid(xas) || !xas->xa_node || xas->xa_node->shift ||
	    index <= xas->xa_index ||
	    index >> XA_CHUNK_SHIFT != xas->xa_index >> XA_CHUNK_SHIFT)
		return karena_run_walk(run, sp, index);
	do {
		entry = xas_next(xas);
	} while (xas->xa_index < index);
	return entry;
}

/*
 * The page of a plain Ready entry at @xas (not shared after fork, not of
 * a huge block), which a lazy Unused keeps as it is; else NULL.
 */
static struct page *karena_lazy_keepable(struct xa_state *xas, void *entry)
{
	struct page *page = entry;

	if (!entry || xa_is_value(entry) || xa_is_internal(entry))
		return NULL;
	if (karena_xas_get_mark(xas, KAR_MARK_PREP) ||
	    karena_xas_get_mark(xas, KAR_MARK_COW) || PageCompound(page))
		return NULL;
	return page;
}

/* Keep the page at @xas lazily released: Prepared, still backing it. */
static void karena_lazy_keep(struct xa_state *xas, struct page *page)
{
	set_bit(KAR_PG_LAZY, &page->flags);
	xas_set_mark(xas, KAR_MARK_PREP);
}

/*
 * A lazy Unused (the space already on the lazy list) of a short range of
 * plain Ready pages, in the run's hold of the store lock: each page only
 * gets KAR_PG_LAZY and the PREP mark; one pass for one page, else a check
 * pass, then a change pass.  The run counts the pages.  false: nothing
 * changed, the general path takes the range (and reports it if illegal).
 */
bool karena_run_lazy_unused(struct karena_run *run, struct karena_space *sp,
			    const struct karena_krange *r)
{
	unsigned long first = r->start >> PAGE_SHIFT, idx;
	unsigned long last = first + r->npages - 1;
	struct xa_state *xas = &run->xas;
	struct page *page;
	void *entry;

	lockdep_assert_held(&sp->kf->lock);
	if (r->op != KARENA_OP_UNUSED || r->flags != KARENA_F_LAZY ||
	    !sp->lazy_on || r->npages > KAR_DIRECT_PAGES)
		return false;
	entry = karena_run_seek(run, sp, first);
	lockdep_assert_held(&sp->store.xa_lock);
	for (idx = first; ; idx++) {
		page = karena_lazy_keepable(xas, entry);
		if (!page)
			return false;
		if (idx == last)
			break;
		entry = xas_next(xas);
	}
	if (first == last) {
		karena_lazy_keep(xas, page);
	} else {
		xas_set(xas, first);
		entry = xas_load(xas);
		for (idx = first; ; idx++) {
			karena_lazy_keep(xas, entry);
			if (idx == last)
				break;
			entry = xas_next(xas);
		}
	}
	run->pages += r->npages;
	run->d_resident -= r->npages;
	run->d_lazy += r->npages;
	karena_space_add(sp, S_READY, -(long)r->npages);
	karena_space_add(sp, S_PREPARED, r->npages);
	sp->transitions[r->op]++;
	karena_count(KAR_C_TRANSITIONS, 1);
	trace_karena_transition(r->start, r->npages, r->op, r->flags, 0);
	return true;
}
