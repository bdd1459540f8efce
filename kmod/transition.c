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
 * Dropping a page (Unused, Fault, Free, munmap): the entry changes first;
 * then each dropped page is locked and unlocked, which waits for any
 * fault that found the page before the change (a fault returns its page
 * locked and checks the store again after locking it); then the PTEs are
 * zapped; then the page goes back to the per-CPU cache's dirty list if
 * nobody else holds a reference, else it is just released.  The release
 * path does not zero: pcp_cache.c's worker zeroes dirty pages in the
 * background and only zeroed pages are handed out, so no page reaches
 * another mapping without being zeroed.  A vector (and a single range,
 * as a vector of one) takes mmap_lock and the file mutex once, collects
 * what its ranges drop, zaps the ranges (merged when adjacent) once they
 * are all applied and releases the pages after unlocking.  When none of
 * the dropped pages is mapped (never touched, or already unmapped by
 * MADV_DONTNEED) there is nothing to zap and the zaps are skipped.
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

/*
 * Zap [start, end) in @mm.  *@hint: the VMA of the previous call, reused
 * while it covers the address (no tree walk per range); mmap_lock held.
 */
static void karena_zap_range(struct mm_struct *mm, unsigned long start,
			     unsigned long end, struct vm_area_struct **hint)
{
	unsigned long addr = start;

	mmap_assert_locked(mm);
	while (addr < end) {
		struct vm_area_struct *vma = *hint;
		unsigned long e;

		if (!vma || addr < vma->vm_start || addr >= vma->vm_end)
			vma = vma_lookup(mm, addr);
		if (!vma)
			break;
		*hint = vma;
		e = min(end, vma->vm_end);
		karena_zap(vma, addr, e - addr);
		addr = e;
	}
}

struct karena_plan {
	unsigned long cnt[4];		/* pages per source state */
	unsigned long absent;		/* of cnt[S_RESERVED], no slot */
	unsigned long pages;		/* entries holding a page */
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
		if (e.page)
			pl->pages++;
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

#define KAR_DROP_COW	1UL

/*
 * What the ranges of one call dropped: the pages (to lock, then release)
 * and the address ranges to zap, applied once the ranges are done.
 */
struct karena_batch {
	unsigned long *dropped;		/* struct page * | KAR_DROP_COW */
	unsigned long ndropped;
	unsigned long cap;
	unsigned long (*zap)[2];	/* [start, end), merged when adjacent */
	unsigned int nzap;
	unsigned int zap_cap;
};

/* Room for @more dropped pages; called before any entry changes. */
static int karena_batch_reserve(struct karena_batch *b, unsigned long more)
{
	unsigned long cap = b->cap, *d;

	if (b->ndropped + more <= cap)
		return 0;
	cap = max(b->ndropped + more, 2 * cap);
	d = kvmalloc_array(cap, sizeof(*d), GFP_KERNEL_ACCOUNT);
	if (!d)
		return -ENOMEM;
	if (b->ndropped)
		memcpy(d, b->dropped, b->ndropped * sizeof(*d));
	kvfree(b->dropped);
	b->dropped = d;
	b->cap = cap;
	return 0;
}

static void karena_batch_zap(struct karena_batch *b, unsigned long start,
			     unsigned long end)
{
	if (b->nzap && b->zap[b->nzap - 1][1] == start) {
		b->zap[b->nzap - 1][1] = end;
		return;
	}
	if (WARN_ON_ONCE(b->nzap >= b->zap_cap))
		return;
	b->zap[b->nzap][0] = start;
	b->zap[b->nzap][1] = end;
	b->nzap++;
}

/*
 * With the locks still held: wait for faults that found a dropped page
 * (each returns its page locked and rechecks the store after locking),
 * then unmap the ranges that dropped pages.
 *
 * Once a dropped page has been locked and unlocked it cannot be mapped
 * anew: a fault that locks it later sees the changed entry.  A fault that
 * held the lock mapped the page (page_add_file_rmap()) before unlocking
 * it, which the lock_page() here orders before the page_mapped() check.
 * So when no dropped page is mapped anywhere, there is no PTE to zap and
 * the zaps (a TLB flush each) are skipped: e.g. releasing POPULATEd pages
 * never touched, or pages already unmapped by MADV_DONTNEED.
 */
static void karena_batch_unmap(struct karena_batch *b, struct mm_struct *mm)
{
	struct vm_area_struct *hint = NULL;
	bool mapped = false;
	unsigned long i;

	for (i = 0; i < b->ndropped; i++) {
		struct page *page = (struct page *)(b->dropped[i] &
						    ~KAR_DROP_COW);

		lock_page(page);
		unlock_page(page);
		if (!mapped && page_mapped(page))
			mapped = true;
	}
	if (!mapped)
		return;
	for (i = 0; i < b->nzap; i++)
		karena_zap_range(mm, b->zap[i][0], b->zap[i][1], &hint);
}

/* Without locks: give the pages back (to the per-CPU cache's dirty list). */
static void karena_batch_release(struct karena_file *kf,
				 struct karena_batch *b)
{
	unsigned long i;

	for (i = 0; i < b->ndropped; i++) {
		karena_page_release(kf, (struct page *)(b->dropped[i] &
						    ~KAR_DROP_COW),
				    b->dropped[i] & KAR_DROP_COW);
		if (!(i & 255))
			cond_resched();
	}
	kvfree(b->dropped);
	kvfree(b->zap);
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
	unsigned long first = r->start >> PAGE_SHIFT;
	unsigned long last = first + r->npages - 1;
	unsigned int target = karena_target[r->op];
	bool hint = target == S_KEEP;
	bool populate = (r->flags & KARENA_F_POPULATE) && target == S_READY;
	long d_ready = 0, d_resident = 0, d_counted = 0;
	unsigned long idx, before = b->ndropped, charged = 0, stored = 0;
	struct karena_plan pl;
	LIST_HEAD(newpages);
	int s, ret;

	mmap_assert_locked(sp->mm);
	lockdep_assert_held(&kf->lock);
again:
	/* 1. Every page in a legal source state. */
	karena_scan(sp, first, last, &pl);
	for (s = 0; s < 4; s++) {
		if (pl.cnt[s] && !(karena_legal[r->op] & BIT(s))) {
			ret = -EINVAL;
			goto out;
		}
	}

	/*
	 * 2. Limits.  max_reserved counts mapped pages, None included (a
	 * None page costs an entry), so only Ready is checked here.
	 */
	if (!hint) {
		if (target == S_READY)
			d_ready = r->npages - pl.cnt[S_READY];
		else
			d_ready = -(long)pl.cnt[S_READY];
	}
	if (d_ready > 0 &&
	    kf->ready_pages + d_ready > kf->max_ready >> PAGE_SHIFT) {
		ret = -ENOMEM;
		goto out;
	}

	/*
	 * POPULATE pages are charged and allocated once the request is
	 * known to be legal and within limits, without the file's mutex
	 * held (reclaim may take long); then everything is checked again.
	 */
	if (populate && !charged) {
		struct mem_cgroup *memcg;

		ret = karena_held_charge(kf, r->npages);
		if (ret)
			goto out;
		charged = r->npages;
		memcg = get_mem_cgroup_from_mm(sp->mm);
		mutex_unlock(&kf->lock);
		ret = karena_pages_alloc_list(memcg, r->npages, &newpages);
		mem_cgroup_put(memcg);
		mutex_lock(&kf->lock);
		if (ret)
			goto out;
		goto again;
	}

	/*
	 * 3. Everything that can fail, before the first change.  Pages can
	 * only back Ready and Prepared entries, and faults may add some
	 * until the entries change: make room for all of them.
	 */
	if (!hint) {
		ret = karena_batch_reserve(b, pl.cnt[S_READY] +
					   pl.cnt[S_PREPARED]);
		if (ret)
			goto out;
	}
	if (pl.absent && (hint ? r->op == KARENA_OP_HUGEPAGE :
			  target != S_RESERVED)) {
		ret = karena_reserve_slots(sp, first, last);
		if (ret)
			goto out;
	}

	/* 4. Apply; cannot fail. */
	{
		XA_STATE(xas, &sp->store, first);
		struct karena_ent e;
		void *entry;

		xas_lock(&xas);
		for (idx = first; idx <= last; idx++) {
			struct page *np = NULL;

			xas_set(&xas, idx);
			entry = xas_load(&xas);
			karena_decode(&xas, entry, &e);
			if (hint) {
				karena_encode(&xas, e.state,
					      r->op == KARENA_OP_HUGEPAGE,
					      e.page, e.cow);
			} else {
				if (populate) {
					np = list_first_entry(&newpages,
							      struct page, lru);
					list_del(&np->lru);
					stored++;
					d_resident++;
					d_counted += karena_rss_mark(np);
				}
				if (e.page &&
				    !WARN_ON_ONCE(b->ndropped >= b->cap)) {
					b->dropped[b->ndropped++] =
						(unsigned long)e.page |
						(e.cow ? KAR_DROP_COW : 0);
					d_counted -= karena_rss_unmark(e.page,
								       e.cow);
					if (e.state == S_READY)
						d_resident--;
				}
				karena_encode(&xas, target,
					      target != S_NONE &&
					      target != S_RESERVED && e.huge,
					      np, false);
			}
			WARN_ON_ONCE(xas_error(&xas));
			if (!((idx - first + 1) & 1023)) {
				xas_pause(&xas);
				xas_unlock(&xas);
				cond_resched();
				xas_lock(&xas);
			}
		}
		xas_unlock(&xas);
	}

	if (!hint) {
		sp->nr_none -= pl.cnt[S_NONE];
		sp->nr_prepared -= pl.cnt[S_PREPARED];
		sp->nr_ready -= pl.cnt[S_READY];
		if (target == S_NONE)
			sp->nr_none += r->npages;
		else if (target == S_PREPARED)
			sp->nr_prepared += r->npages;
		else if (target == S_READY)
			sp->nr_ready += r->npages;
		kf->ready_pages += d_ready;
		atomic_long_add(d_resident, &sp->nr_resident);
		karena_rss_count(sp, d_counted);
	}
	if (b->ndropped != before)
		karena_batch_zap(b, r->start,
				 r->start + (r->npages << PAGE_SHIFT));
	sp->transitions[r->op]++;
	karena_count(KAR_C_TRANSITIONS, 1);
	ret = 0;
out:
	if (ret) {
		sp->transition_errors++;
		karena_count(KAR_C_TRANSITION_ERRORS, 1);
	}
	while (!list_empty(&newpages)) {
		struct page *page = list_first_entry(&newpages, struct page,
						     lru);

		list_del(&page->lru);
		karena_page_free(page, true);
	}
	if (charged > stored)
		karena_held_uncharge(kf, charged - stored);
	trace_karena_transition(r->start, r->npages, r->op, r->flags, ret);
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
	struct karena_batch b = { };
	struct vm_area_struct *hint = NULL;
	unsigned int i;
	int ret = 0;

	*done = 0;
	*pages = 0;
	b.zap = kvmalloc_array(count, sizeof(*b.zap), GFP_KERNEL_ACCOUNT);
	if (!b.zap)
		return -ENOMEM;
	b.zap_cap = count;
	if (mmap_read_lock_killable(mm)) {
		kvfree(b.zap);
		return -EINTR;
	}
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
					 (e.huge ? KARENA_PAGE_HUGE : 0);
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
		for (i = 0; i <= KARENA_OP_MAX; i++)
			st->transitions[i] = sp->transitions[i];
		st->transition_errors = sp->transition_errors;
	}
	mutex_unlock(&kf->lock);
}
