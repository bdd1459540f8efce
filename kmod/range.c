// SPDX-License-Identifier: GPL-2.0
/*
 * karena: the ranges of the ioctl, vector, query and io_uring paths.
 *
 * A user range is checked once, when it is copied in (op, flags, page
 * alignment, no overflow, below TASK_SIZE: karena_range_from_user()), and
 * mapped to the space it lies in under mmap_lock: one VMA of the file must
 * hold all of it (karena_range_space()).  Both are inline in karena_priv.h,
 * since a vector does them for each of its ranges; the VMA lookup when the
 * last VMA found does not hold the range is here.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/uaccess.h>

#include "karena_priv.h"

/*
 * Copy @count ranges from user memory into @kr, checking each
 * (karena_range_from_user()) in the same pass: the fields are read one by
 * one, with no bounce copy of the user array.  Returns how many come
 * before the first bad one (@count if none is bad), or -EFAULT; the whole
 * array is read either way, so a bad pointer fails the call before any
 * range is applied.
 */
int karena_ranges_from_user(const struct karena_range __user *ur,
			    unsigned int count, struct karena_krange *kr)
{
	unsigned int i, good = count;

	if (!user_access_begin(ur, array_size(count, sizeof(*ur))))
		return -EFAULT;
	for (i = 0; i < count; i++) {
		struct karena_range r;

		unsafe_get_user(r.start, &ur[i].start, efault);
		unsafe_get_user(r.len, &ur[i].len, efault);
		unsafe_get_user(r.op, &ur[i].op, efault);
		unsafe_get_user(r.flags, &ur[i].flags, efault);
		unsafe_get_user(r.reserved, &ur[i].reserved, efault);
		if (good == count && karena_range_from_user(&r, &kr[i]))
			good = i;
	}
	user_access_end();
	return good;
efault:
	user_access_end();
	return -EFAULT;
}

/*
 * karena_range_space() when @hint does not hold the range: the VMA
 * looked up, kept in @hint if given.
 */
struct karena_space *karena_range_lookup(struct file *file,
					 struct mm_struct *mm,
					 unsigned long start, unsigned long end,
					 struct vm_area_struct **hint)
{
	struct vm_area_struct *vma;

	mmap_assert_locked(mm);
	vma = vma_lookup(mm, start);
	if (!vma || vma->vm_file != file || vma->vm_ops != &karena_vm_ops ||
	    end > vma->vm_end)
		return NULL;
	if (hint)
		*hint = vma;
	return vma->vm_private_data;
}
