// SPDX-License-Identifier: GPL-2.0
/*
 * karena: state queries (KARENA_IOC_QUERY) and per-space stats
 * (KARENA_IOC_STATS).  A query byte has the page's state and its bits:
 * RESIDENT (a page backs it), HUGE_BACKED (that page is part of a huge
 * block), HUGE (the hint) and LAZY.  A query reads the store in chunks under
 * mmap_lock and the store lock and copies each chunk out after unlocking;
 * stats are read under the file's mutex, where states change.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "karena_priv.h"

#define KAR_QUERY_CHUNK	PAGE_SIZE

/*
 * A page's QUERY byte.  Only huge blocks put compound pages in a store
 * (huge.c), so a compound page is a subpage of one: the block is backed
 * by a huge page now, whether or not a PMD maps it at the moment.
 */
static u8 karena_query_byte(const struct karena_ent *e)
{
	return e->state |
	       (e->page ? KARENA_PAGE_RESIDENT : 0) |
	       (e->page && PageCompound(e->page) ?
		KARENA_PAGE_HUGE_BACKED : 0) |
	       (e->huge ? KARENA_PAGE_HUGE : 0) |
	       (e->lazy ? KARENA_PAGE_LAZY : 0);
}

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
				buf[i] = karena_query_byte(&e);
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
