/* SPDX-License-Identifier: GPL-2.0 */
/*
 * karena: the few kernel API differences between Debian 12's 6.1 (the
 * target) and newer kernels.  Everything else is the 6.1 API.
 */
#ifndef _KARENA_COMPAT_H
#define _KARENA_COMPAT_H

#include <linux/mm.h>
#include <linux/shrinker.h>
#include <linux/version.h>

/* Kernel 6.N or later (N < 10); 7.x and later count as later. */
#define KARENA_KERNEL_AT_LEAST_6(n)					\
	(LINUX_VERSION_MAJOR > 6 ||					\
	 (LINUX_VERSION_MAJOR == 6 && LINUX_VERSION_PATCHLEVEL >= (n)))

/* 6.3 made vm_flags read-only and added vm_flags_set(). */
#if KARENA_KERNEL_AT_LEAST_6(3)
#define karena_vm_flags_set(vma, flags)	vm_flags_set(vma, flags)
#else
static inline void karena_vm_flags_set(struct vm_area_struct *vma,
				       unsigned long flags)
{
	vma->vm_flags |= flags;
}
#endif

/*
 * 6.3 dropped the export of zap_page_range(); zap_vma_pages() is not
 * exported either, so newer kernels need another way to drop the PTEs of
 * a shared mapping of driver pages (unmap_mapping_range() on a private
 * address_space is the usual one).  Only 6.1 is supported for now.
 */
#if KARENA_KERNEL_AT_LEAST_6(3)
#error "karena: zap_page_range() is not exported after 6.2; port karena_zap()"
#else
static inline void karena_zap(struct vm_area_struct *vma, unsigned long start,
			      unsigned long size)
{
	zap_page_range(vma, start, size);
}
#endif

/* 6.0 added the name argument of register_shrinker(). */
#if KARENA_KERNEL_AT_LEAST_6(0)
#define karena_register_shrinker(s)	register_shrinker(s, "karena")
#else
#define karena_register_shrinker(s)	register_shrinker(s)
#endif

#endif /* _KARENA_COMPAT_H */
