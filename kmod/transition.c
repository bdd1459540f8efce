// SPDX-License-Identifier: GPL-2.0
/*
 * karena: transitions between Go's address-space states, state queries
 * and per-space stats (the ioctl, vector and io_uring paths all end here).
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

int karena_range_from_user(const struct karena_range *ur,
			   struct karena_krange *r)
{
	u64 end;

	if (ur->reserved || ur->op < KARENA_OP_RESERVE ||
	    ur->op > KARENA_OP_MAX || (ur->flags & ~KARENA_F_ALL))
		return -EINVAL;
	if ((ur->flags & KARENA_F_LAZY) && ur->op != KARENA_OP_UNUSED)
		return -EINVAL;
	if (!ur->len || !PAGE_ALIGNED(ur->start) || !PAGE_ALIGNED(ur->len))
		return -EINVAL;
	if (check_add_overflow(ur->start, ur->len, &end) || end > TASK_SIZE)
		return -EINVAL;
	r->start = ur->start;
	r->npages = ur->len >> PAGE_SHIFT;
	r->op = ur->op;
	r->flags = ur->flags;
	return 0;
}

/*
 * The space of @file in @mm when one VMA of it holds all of [start, end),
 * or NULL.  A range across two mappings, even adjacent ones, is refused
 * like a range that leaves the file's mappings.  mmap_lock held (VMAs
 * cannot change), so @hint, if given, keeps the last VMA found: the next
 * range inside it needs no tree walk.
 */
static struct karena_space *karena_range_space(struct file *file,
					       struct mm_struct *mm,
					       unsigned long start,
					       unsigned long end,
					       struct vm_area_struct **hint)
{
	struct vm_area_struct *vma = hint ? *hint : NULL;

	mmap_assert_locked(mm);
	if (vma && start >= vma->vm_start && end <= vma->vm_end)
		return vma->vm_private_data;
	vma = vma_lookup(mm, start);
	if (!vma || vma->vm_file != file || vma->vm_ops != &karena_vm_ops ||
	    end > vma->vm_end)
		return NULL;
	if (hint)
		*hint = vma;
	return vma->vm_private_data;
}

struct karena_plan {
	unsigned long cnt[KARENA_NR_STATES];	/* pages per source state */
	unsigned long absent;		/* of cnt[S_RESERVED], no slot */
	unsigned long eager;		/* pages a lazy release drops too */
	unsigned long lazy;		/* of cnt[S_PREPARED], lazily released */
};

/* Count the source states of the range; states are stable (kf->lock). */
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
		pl->cnt[e.state]++;
		/* Shared, or of a huge block (huge.c): never kept lazily. */
		if (e.cow || (e.page && PageCompound(e.page)))
			pl->eager++;
		if (e.lazy)
			pl->lazy++;
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

/* 1. Every page in a legal source state; 2. within the file's limits. */
static int karena_apply_check(struct karena_apply *a)
{
	const struct karena_krange *r = a->r;
	int s;

	karena_scan(a->sp, a->first, a->last, &a->pl);
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
	if (a->pl.absent && (a->hint ? a->r->op == KARENA_OP_HUGEPAGE :
			     a->target != S_RESERVED))
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

/* Move the entry at @xas (decoded: @e) to the target state. */
static void karena_apply_entry(struct karena_apply *a, struct xa_state *xas,
			       const struct karena_ent *e)
{
	struct karena_batch *b = a->b;
	unsigned int target = a->target;
	struct page *np = NULL;

	if (a->hint) {
		karena_encode(xas, e->state, a->r->op == KARENA_OP_HUGEPAGE,
			      e->page, e->cow);
		return;
	}
	if (e->lazy && target == S_READY) {
		/* Used takes a lazily released page back as it is. */
		karena_lazy_unmark(a->sp, e->page);
		karena_encode(xas, S_READY, e->huge, e->page, false);
		a->d_resident++;
		return;
	}
	if (a->lazy && e->page && !e->cow && !PageCompound(e->page)) {
		/* Lazy Unused keeps the page (and its PTEs). */
		karena_lazy_mark(a->sp, e->page);
		karena_encode(xas, S_PREPARED, e->huge, e->page, false);
		a->d_resident--;
		return;
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
	karena_encode(xas, target,
		      target != S_NONE && target != S_RESERVED && e->huge,
		      np, false);
}

/* 4. Apply; cannot fail. */
static void karena_apply_store(struct karena_apply *a)
{
	XA_STATE(xas, &a->sp->store, a->first);
	struct karena_ent e;
	unsigned long idx;

	xas_lock(&xas);
	for (idx = a->first; idx <= a->last; idx++) {
		xas_set(&xas, idx);
		karena_decode(&xas, xas_load(&xas), &e);
		karena_apply_entry(a, &xas, &e);
		WARN_ON_ONCE(xas_error(&xas));
		if (!((idx - a->first + 1) & 1023)) {
			xas_pause(&xas);
			xas_unlock(&xas);
			cond_resched();
			xas_lock(&xas);
		}
	}
	xas_unlock(&xas);
}

/* 5. Count the change in the space and the file; queue the zap. */
static void karena_apply_account(struct karena_apply *a, unsigned long before)
{
	const struct karena_krange *r = a->r;
	struct karena_space *sp = a->sp;
	unsigned int s;

	if (!a->hint) {
		for (s = 0; s < KARENA_NR_STATES; s++)
			karena_space_add(sp, s, -(long)a->pl.cnt[s]);
		karena_space_add(sp, a->target, r->npages);
		atomic_long_add(a->d_resident, &sp->nr_resident);
		karena_rss_count(sp, a->d_counted);
		if (a->lazy || a->pl.lazy)
			karena_lazy_update(sp);
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
 * Apply one range, all or nothing.  Called with mmap_lock held for read
 * and kf->lock held (dropped and retaken around POPULATE allocation);
 * @sp is the space of the VMA holding the range.
 */
static int karena_apply_one(struct karena_file *kf, struct karena_space *sp,
			    const struct karena_krange *r,
			    struct karena_batch *b)
{
	struct karena_apply a = {
		.kf = kf,
		.sp = sp,
		.r = r,
		.b = b,
		.first = r->start >> PAGE_SHIFT,
		.last = (r->start >> PAGE_SHIFT) + r->npages - 1,
		.target = karena_target[r->op],
	};
	unsigned long before = b->ndropped;
	bool cut;
	int ret;

	mmap_assert_locked(sp->mm);
	lockdep_assert_held(&kf->lock);
	INIT_LIST_HEAD(&a.newpages);
	a.hint = a.target == S_KEEP;
	a.populate = (r->flags & KARENA_F_POPULATE) && a.target == S_READY;
	a.lazy = r->flags & KARENA_F_LAZY;
	cut = !a.hint && karena_huge_cut_begin(sp, a.first, a.last, a.lazy);
	for (;;) {
		ret = karena_apply_check(&a);
		if (ret || !a.populate || a.charged)
			break;
		ret = karena_apply_populate(&a);
		if (ret)
			break;
	}
	if (!ret)
		ret = karena_apply_reserve(&a);
	if (!ret) {
		karena_apply_store(&a);
		karena_apply_account(&a, before);
	}
	if (cut)
		karena_huge_cut_end(sp);
	karena_apply_finish(&a, ret);
	return ret;
}

/*
 * Apply @count ranges in order, stopping at the first that fails (the
 * ones before it stay applied).  Both locks are taken once for the whole
 * call; the PTEs of dropped pages are zapped once the ranges are done
 * (adjacent ranges merged) and the pages released after unlocking.
 * @ranges are validated here; @done and @pages report progress.
 */
static int karena_apply_ranges(struct file *file, struct mm_struct *mm,
			       const struct karena_krange *kr,
			       const struct karena_range *ur,
			       unsigned int count, unsigned int *done,
			       u64 *pages)
{
	struct karena_file *kf = file->private_data;
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
		struct karena_krange r;
		struct karena_space *sp;

		if (i && fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		if (kr)
			r = kr[i];
		else
			ret = karena_range_from_user(&ur[i], &r);
		if (ret)
			break;
		sp = karena_range_space(file, mm, r.start,
					r.start + (r.npages << PAGE_SHIFT),
					&hint);
		if (!sp) {
			karena_count(KAR_C_TRANSITION_ERRORS, 1);
			trace_karena_transition(r.start, r.npages, r.op,
						r.flags, -EINVAL);
			ret = -EINVAL;
			break;
		}
		ret = karena_apply_one(kf, sp, &r, &b);
		if (ret)
			break;
		*done = i + 1;
		*pages += r.npages;
		cond_resched();
	}
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

	return karena_apply_ranges(file, mm, r, NULL, 1, &done, pages);
}

/*
 * @count (1..KARENA_VEC_MAX) ranges at user address @uranges, in order
 * (the ioctl and uring VEC paths).  The copy is temporary and charged to
 * the caller's memcg, like everything the call allocates.
 */
int karena_apply_vec(struct file *file, struct mm_struct *mm, u64 uranges,
		     unsigned int count, unsigned int *done, u64 *pages)
{
	size_t size = array_size(count, sizeof(struct karena_range));
	struct karena_range *ranges;
	int ret;

	*done = 0;
	*pages = 0;
	ranges = kvmalloc(size, GFP_KERNEL_ACCOUNT);
	if (!ranges)
		return -ENOMEM;
	if (copy_from_user(ranges, u64_to_user_ptr(uranges), size))
		ret = -EFAULT;
	else
		ret = karena_apply_ranges(file, mm, NULL, ranges, count, done,
					  pages);
	kvfree(ranges);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Query and stats */

#define KAR_QUERY_CHUNK	PAGE_SIZE

int karena_query(struct file *file, struct mm_struct *mm, unsigned long start,
		 unsigned long npages, u8 __user *vec)
{
	unsigned long end = start + (npages << PAGE_SHIFT);
	unsigned long done = 0;
	u8 *buf;
	int ret = 0;

	buf = kmalloc(KAR_QUERY_CHUNK, GFP_KERNEL_ACCOUNT);
	if (!buf)
		return -ENOMEM;
	while (done < npages) {
		unsigned long n = min(npages - done, KAR_QUERY_CHUNK);
		unsigned long first = (start >> PAGE_SHIFT) + done, i;
		struct karena_space *sp;

		if (mmap_read_lock_killable(mm)) {
			ret = -EINTR;
			break;
		}
		sp = karena_range_space(file, mm, start, end, NULL);
		if (!sp) {
			mmap_read_unlock(mm);
			ret = -EINVAL;
			break;
		}
		{
			XA_STATE(xas, &sp->store, first);
			struct karena_ent e;
			void *entry;

			xas_lock(&xas);
			for (i = 0; i < n; i++) {
				xas_set(&xas, first + i);
				entry = xas_load(&xas);
				karena_decode(&xas, entry, &e);
				buf[i] = e.state |
					 (e.page ? KARENA_PAGE_RESIDENT : 0) |
					 (e.huge ? KARENA_PAGE_HUGE : 0) |
					 (e.lazy ? KARENA_PAGE_LAZY : 0);
			}
			xas_unlock(&xas);
		}
		mmap_read_unlock(mm);
		/* Never copy to user memory with mmap_lock held. */
		if (copy_to_user(vec + done, buf, n)) {
			ret = -EFAULT;
			break;
		}
		done += n;
		cond_resched();
	}
	kfree(buf);
	return ret;
}

void karena_get_stats(struct karena_file *kf, struct mm_struct *mm,
		      struct karena_stats *st)
{
	struct karena_space *sp;
	int i;

	mutex_lock(&kf->lock);
	sp = karena_space_find(kf, mm);
	if (sp) {
		unsigned long reserved = sp->nr_mapped - sp->nr_none -
					 sp->nr_prepared - sp->nr_ready;

		st->reserved_bytes = (u64)reserved << PAGE_SHIFT;
		st->prepared_bytes = (u64)sp->nr_prepared << PAGE_SHIFT;
		st->ready_bytes = (u64)sp->nr_ready << PAGE_SHIFT;
		st->resident_bytes =
			(u64)atomic_long_read(&sp->nr_resident) << PAGE_SHIFT;
		st->faults = atomic64_read(&sp->ev[KAR_E_FAULTS]);
		st->faults_cache_hit = atomic64_read(&sp->ev[KAR_E_HIT]);
		st->faults_cache_miss = atomic64_read(&sp->ev[KAR_E_MISS]);
		st->faults_sigsegv = atomic64_read(&sp->ev[KAR_E_SIGSEGV]);
		st->faults_zero = atomic64_read(&sp->ev[KAR_E_ZERO]);
		st->cow_copies = atomic64_read(&sp->ev[KAR_E_COW]);
		st->lazy_bytes =
			(u64)atomic_long_read(&sp->nr_lazy) << PAGE_SHIFT;
		st->lazy_reclaimed =
			atomic64_read(&sp->ev[KAR_E_LAZY_RECLAIMED]);
		for (i = 0; i <= KARENA_OP_MAX; i++)
			st->transitions[i] = sp->transitions[i];
		st->transition_errors = sp->transition_errors;
	}
	mutex_unlock(&kf->lock);
}
