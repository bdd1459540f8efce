// SPDX-License-Identifier: GPL-2.0
/*
 * karena: the ranges of the ioctl, vector, query and io_uring paths.
 *
 * A user range is checked once, when it is copied in (op, flags, page
 * alignment, no overflow, below TASK_SIZE), and mapped to the space it
 * lies in under mmap_lock: one VMA of the file must hold all of it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/overflow.h>

#include "karena_priv.h"

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
struct karena_space *karena_range_space(struct file *file,
					struct mm_struct *mm,
					unsigned long start, unsigned long end,
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
