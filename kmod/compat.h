/* SPDX-License-Identifier: GPL-2.0 */
/*
 * karena: the few kernel API differences between Debian 12's 6.1 (the
 * target) and newer kernels.  Everything else is the 6.1 API.
 *
 * `make check` builds and tests it on 6.1 and on bookworm-backports' 6.12
 * (scripts/kcompat.sh).  The version boundaries in between are where the
 * upstream change landed; kernels between 6.1 and 6.12 are not built here.
 */
#ifndef _KARENA_COMPAT_H
#define _KARENA_COMPAT_H

#include <linux/list_lru.h>
#include <linux/mm.h>
#include <linux/memcontrol.h>
#include <linux/mmu_notifier.h>
#include <linux/shrinker.h>
#include <linux/slab.h>
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
 * Drop the PTEs of [start, start + size) in @vma.  6.3 removed
 * zap_page_range() and exported zap_page_range_single() in its place
 * (same effect on one VMA, as karena always calls it).
 */
#if KARENA_KERNEL_AT_LEAST_6(3)
static inline void karena_zap(struct vm_area_struct *vma, unsigned long start,
			      unsigned long size)
{
	zap_page_range_single(vma, start, size, NULL);
}
#else
static inline void karena_zap(struct vm_area_struct *vma, unsigned long start,
			      unsigned long size)
{
	zap_page_range(vma, start, size);
}
#endif

/*
 * How many PTEs map @page (order 0).  6.1 has folio_mapcount() only out of
 * line and unexported; it became inline with 6.10's mapcount rework, and
 * page_mapcount() is gone by 6.12.
 */
#if KARENA_KERNEL_AT_LEAST_6(10)
#define karena_page_mapcount(page)	folio_mapcount(page_folio(page))
#else
#define karena_page_mapcount(page)	page_mapcount(page)
#endif

/*
 * Huge blocks (huge.c) rely on 6.1's finish_fault() mapping a compound
 * page that ->fault returns with one PMD (do_set_pmd(), mm/memory.c:4473)
 * and on page_mapcount() of a subpage.  6.10 reworked mapcounts
 * (page_mapcount() is gone by 6.12), and 6.12.95's finish_fault()
 * (mm/memory.c:5106-5119) refuses a PMD past the file's i_size, which is
 * 0 for a character device: there the HUGEPAGE hint stays a hint.
 */
#if defined(CONFIG_TRANSPARENT_HUGEPAGE) && !KARENA_KERNEL_AT_LEAST_6(10)
#define KARENA_HAVE_HUGE	1
#define karena_subpage_mapped(page)	(page_mapcount(page) > 0)
#else
#define KARENA_HAVE_HUGE	0
#define karena_subpage_mapped(page)	page_mapped(page)
#endif

/*
 * Add @n to an RSS counter of @mm.  add_mm_counter() is not for modules
 * (its tracepoint is not exported): 6.1 keeps the counters in atomics,
 * 6.2 made them percpu_counters.
 */
#if KARENA_KERNEL_AT_LEAST_6(2)
static inline void karena_mm_counter_add(struct mm_struct *mm, int member,
					 long n)
{
	percpu_counter_add(&mm->rss_stat[member], n);
}
#else
static inline void karena_mm_counter_add(struct mm_struct *mm, int member,
					 long n)
{
	atomic_long_add(n, &mm->rss_stat.count[member]);
}
#endif

/* 6.4 renamed memcg_kmem_enabled() to memcg_kmem_online(). */
#if KARENA_KERNEL_AT_LEAST_6(4)
#define karena_memcg_kmem_on()	memcg_kmem_online()
#else
#define karena_memcg_kmem_on()	memcg_kmem_enabled()
#endif

/*
 * list_lru_add()/list_lru_del() took the memcg from the object's charge
 * until 6.8 renamed that form list_lru_add_obj()/list_lru_del_obj().
 */
#if KARENA_KERNEL_AT_LEAST_6(8)
#define karena_lru_add(lru, item)	list_lru_add_obj(lru, item)
#define karena_lru_del(lru, item)	list_lru_del_obj(lru, item)
#else
#define karena_lru_add(lru, item)	list_lru_add(lru, item)
#define karena_lru_del(lru, item)	list_lru_del(lru, item)
#endif

typedef unsigned long (*karena_shrink_fn)(struct shrinker *,
					  struct shrink_control *);

/*
 * A registered memcg-aware shrinker named "karena" with @lru initialised
 * as its memcg-aware list_lru, or NULL (no memory).  6.7 made shrinkers
 * allocated by shrinker_alloc() (the id for memcg awareness comes with
 * it); before, the caller owned the struct and register_shrinker() (which
 * took a name from 6.0) assigned the id and could fail.  The caller
 * destroys @lru after karena_shrinker_stop().
 */
#if KARENA_KERNEL_AT_LEAST_6(7)
static inline struct shrinker *karena_shrinker_start(karena_shrink_fn count,
						     karena_shrink_fn scan,
						     struct list_lru *lru)
{
	struct shrinker *s = shrinker_alloc(SHRINKER_MEMCG_AWARE, "karena");

	if (!s)
		return NULL;
	if (list_lru_init_memcg(lru, s)) {
		shrinker_free(s);
		return NULL;
	}
	s->count_objects = count;
	s->scan_objects = scan;
	s->seeks = DEFAULT_SEEKS;
	shrinker_register(s);
	return s;
}

static inline void karena_shrinker_stop(struct shrinker *s)
{
	shrinker_free(s);
}
#else
static inline struct shrinker *karena_shrinker_start(karena_shrink_fn count,
						     karena_shrink_fn scan,
						     struct list_lru *lru)
{
	struct shrinker *s = kzalloc(sizeof(*s), GFP_KERNEL);

	if (!s)
		return NULL;
	s->count_objects = count;
	s->scan_objects = scan;
	s->seeks = DEFAULT_SEEKS;
	s->flags = SHRINKER_MEMCG_AWARE;
	if (register_shrinker(s, "karena")) {
		kfree(s);
		return NULL;
	}
	if (list_lru_init_memcg(lru, s)) {
		unregister_shrinker(s);
		kfree(s);
		return NULL;
	}
	return s;
}

static inline void karena_shrinker_stop(struct shrinker *s)
{
	unregister_shrinker(s);
	kfree(s);
}
#endif

/*
 * Does @range lie in a VMA whose vm_ops are @ops?  A zap notifies a range
 * of one VMA; an rmap walk may notify more (mm/huge_memory.c splits a
 * PMD's whole 2 MiB).  6.1's struct mmu_notifier_range names its VMA.
 * 6.3 took that out: there the VMA holding the range's start is looked up
 * under RCU, which per-VMA locking makes safe (VMAs are freed after a
 * grace period), and the range must lie wholly in it.  A kernel with
 * neither answers yes (the caller then relies on mmap_lock as before).
 */
#if !KARENA_KERNEL_AT_LEAST_6(3)
static inline bool karena_range_in_vma_of(const struct mmu_notifier_range *range,
					  const struct vm_operations_struct *ops)
{
	return !range->vma || range->vma->vm_ops == ops;
}
#elif defined(CONFIG_PER_VMA_LOCK)
static inline bool karena_range_in_vma_of(const struct mmu_notifier_range *range,
					  const struct vm_operations_struct *ops)
{
	unsigned long index = range->start;
	struct vm_area_struct *vma;
	bool in;

	rcu_read_lock();
	vma = mt_find(&range->mm->mm_mt, &index, range->start);
	in = vma && READ_ONCE(vma->vm_ops) == ops &&
	     READ_ONCE(vma->vm_start) <= range->start &&
	     range->end <= READ_ONCE(vma->vm_end);
	rcu_read_unlock();
	return in;
}
#else
static inline bool karena_range_in_vma_of(const struct mmu_notifier_range *range,
					  const struct vm_operations_struct *ops)
{
	return true;
}
#endif

/*
 * Under CONFIG_DEBUG_VM, mmap_assert_locked() and mmap_assert_write_locked()
 * call dump_mm(), which 6.1 does not export (mm/debug.c), so a module that
 * uses them does not link against a DEBUG_VM kernel (`make check-debug`).
 * The same checks, warning instead of dumping the mm and crashing:
 */
#ifdef CONFIG_DEBUG_VM
static inline void karena_mmap_assert_locked(struct mm_struct *mm)
{
	lockdep_assert_held(&mm->mmap_lock);
	VM_WARN_ON_ONCE(!rwsem_is_locked(&mm->mmap_lock));
}

static inline void karena_mmap_assert_write_locked(struct mm_struct *mm)
{
	lockdep_assert_held_write(&mm->mmap_lock);
	VM_WARN_ON_ONCE(!rwsem_is_locked(&mm->mmap_lock));
}

#define mmap_assert_locked(mm)		karena_mmap_assert_locked(mm)
#define mmap_assert_write_locked(mm)	karena_mmap_assert_write_locked(mm)
#endif

#endif /* _KARENA_COMPAT_H */
