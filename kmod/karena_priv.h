/* SPDX-License-Identifier: GPL-2.0 */
/*
 * karena: definitions shared by the module's components.
 *
 * Objects:
 *   struct karena_file   one per open of /dev/karena: limits, config and
 *                        the list of the spaces below.  Its mutex
 *                        serialises transitions, mmap, fork and close.
 *   struct karena_space  one per (file, mm): the page-state store of that
 *                        mm's mappings of the file, indexed by user page
 *                        number.  Every VMA of the file in that mm points
 *                        to it (vm_private_data); it dies with the last.
 *
 * Store entries (xarray, index = address >> PAGE_SHIFT):
 *   absent               Reserved (a fresh mapping costs nothing)
 *   xa_mk_value(v)       state v & KARENA_STATE_MASK, KAR_V_HUGE hint
 *   struct page *        a page backs it: Ready, or Prepared when the
 *                        KAR_MARK_PREP mark is set (lenient mode touched a
 *                        Prepared page); KAR_MARK_HUGE is the hint and
 *                        KAR_MARK_COW says the page may be shared with
 *                        another space after fork (page_private() counts
 *                        the other sharers, under karena_cow_lock).
 *                        A Prepared page with KAR_PG_LAZY set on the
 *                        page was lazily released (KARENA_F_LAZY, lazy.c):
 *                        a page with that flag is in one store only.
 *
 * Lock order: mmap_lock -> karena_file.lock -> xa_lock -> karena_cow_lock;
 * a page lock is never taken under xa_lock.
 */
#ifndef _KARENA_PRIV_H
#define _KARENA_PRIV_H

#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/lockdep.h>
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/percpu.h>
#include <linux/percpu_counter.h>
#include <linux/refcount.h>
#include <linux/spinlock.h>
#include <linux/uidgid.h>
#include <linux/xarray.h>

#include "uapi/karena.h"
#include "compat.h"

#define KAR_V_HUGE	0x4UL

#define KAR_MARK_PREP	XA_MARK_0
#define KAR_MARK_COW	XA_MARK_1
#define KAR_MARK_HUGE	XA_MARK_2

/* Page flag of a held page that counts in RssFile unmapped (rss.c). */
#define KAR_PG_UNMAPPED	PG_owner_priv_1
/*
 * Page flag of a lazily released page (lazy.c).  PG_private_2 is only
 * for pages in a page cache; these pages are in none.  Cleared before
 * the page leaves the store (the allocator checks it at free).
 */
#define KAR_PG_LAZY	PG_private_2

/* Short names for the states, as the state machine code uses them. */
#define S_NONE		KARENA_STATE_NONE
#define S_RESERVED	KARENA_STATE_RESERVED
#define S_PREPARED	KARENA_STATE_PREPARED
#define S_READY		KARENA_STATE_READY
#define S_ANY		(BIT(S_NONE) | BIT(S_RESERVED) | BIT(S_PREPARED) | \
			 BIT(S_READY))

/* Global event counters, shown in /sys/kernel/karena/. */
enum karena_counter {
	KAR_C_FILES,
	KAR_C_SPACES,
	KAR_C_MAPPINGS,
	KAR_C_FAULTS,		/* Ready faults served */
	KAR_C_FAULTS_HIT,
	KAR_C_FAULTS_MISS,
	KAR_C_FAULTS_SIGSEGV,
	KAR_C_FAULTS_ZERO,
	KAR_C_COW_COPIES,
	KAR_C_COW_SHARED,	/* pages shared at fork */
	KAR_C_TRANSITIONS,
	KAR_C_TRANSITION_ERRORS,
	KAR_C_SHRINK_FREED,
	KAR_C_HELD_REFUSED,	/* charges refused by a bound */
	KAR_C_LAZY,		/* lazily released pages held now */
	KAR_C_LAZY_RECLAIMED,	/* lazily released pages reclaimed */
	KAR_C_FAULTS_HUGE,	/* blocks backed by a compound page */
	KAR_C_HUGE_FALLBACKS,	/* huge blocks tried, 4 KiB served */
	KAR_C_HUGE_SPLITS,	/* huge blocks copied to 4 KiB pages */
	KAR_C_HUGE_SPLIT_FAILS,	/* VMA splits that could not copy one */
	KAR_C_NR
};

/* Per-CPU, summed when read: faults on many CPUs share no cache line. */
struct karena_counters {
	long c[KAR_C_NR];
};

DECLARE_PER_CPU(struct karena_counters, karena_counters);

static inline void karena_count(enum karena_counter c, long n)
{
	this_cpu_add(karena_counters.c[c], n);
}

long karena_counter_read(enum karena_counter c);

/* Per-space event counters, reported by KARENA_IOC_STATS. */
enum karena_event {
	KAR_E_FAULTS,
	KAR_E_HIT,
	KAR_E_MISS,
	KAR_E_SIGSEGV,
	KAR_E_ZERO,
	KAR_E_COW,
	KAR_E_LAZY_RECLAIMED,
	KAR_E_NR
};

/* One per user with open files: what bounds.c charges. */
struct karena_user {
	struct hlist_node node;		/* in bounds.c's table */
	kuid_t uid;
	refcount_t ref;			/* one per open file */
	struct percpu_counter held;	/* pages held by its files' stores */
	atomic_long_t reserved;		/* pages mapped by its files */
};

struct karena_file {
	struct mutex lock;		/* spaces, limits, counts, states */
	struct list_head spaces;
	u64 max_reserved;		/* bytes, page multiple */
	u64 max_ready;
	unsigned long reserved_pages;	/* mapped (None too), all spaces */
	unsigned long ready_pages;	/* Ready, in all spaces */
	unsigned int cfg;		/* KARENA_CFG_* */
	struct karena_user *user;	/* the opener (euid at open) */
};

struct karena_mm;
struct karena_tag;

struct karena_space {
	struct list_head node;		/* in karena_file.spaces */
	struct karena_file *kf;
	struct mm_struct *mm;		/* identity only */
	struct xarray store;
	unsigned int nr_vmas;		/* under kf->lock */
	unsigned long nr_mapped;	/* pages of this space's VMAs */
	unsigned long nr_none;
	unsigned long nr_prepared;
	unsigned long nr_ready;
	atomic_long_t nr_resident;	/* Ready pages backed now */
	atomic_long_t nr_counted;	/* pages rss.c put in RssFile */
	atomic_long_t nr_lazy;		/* lazily released pages held */
	struct list_head lazy_node;	/* in lazy.c's list while lazy_on */
	struct karena_tag *lazy_tag;	/* memcg of the lazy pages (lazy.c) */
	bool lazy_on;			/* listed, tagged; under kf->lock */
	unsigned int huge_cuts;		/* no new huge block (huge.c) */
	struct karena_mm *kmm;		/* mm's notifier; NULL: untracked */
	struct list_head mm_node;	/* in kmm->spaces */
	atomic64_t ev[KAR_E_NR];
	u64 transitions[KARENA_OP_MAX + 1];
	u64 transition_errors;
};

/*
 * Count @n more (negative: fewer) entries of @sp in @state: the space's
 * per-state counts, and the file's Ready count.  Reserved is what the
 * mapped pages leave over, never counted.  States only change under
 * kf->lock.
 */
static inline void karena_space_add(struct karena_space *sp,
				    unsigned int state, long n)
{
	lockdep_assert_held(&sp->kf->lock);
	switch (state) {
	case KARENA_STATE_NONE:
		sp->nr_none += n;
		break;
	case KARENA_STATE_PREPARED:
		sp->nr_prepared += n;
		break;
	case KARENA_STATE_READY:
		sp->nr_ready += n;
		sp->kf->ready_pages += n;
		break;
	}
}

/* A range in kernel form, as the ioctl, vector and uring paths give it. */
struct karena_krange {
	unsigned long start;
	unsigned long npages;
	unsigned int op;
	unsigned int flags;
};

/* A store entry, decoded.  Needs the xa_state positioned on the entry. */
struct karena_ent {
	struct page *page;
	unsigned int state;
	bool huge;
	bool cow;
	bool lazy;			/* Prepared, lazily released */
};

/*
 * xas_get_mark() inline for an entry of a leaf node: its mark bitmap is
 * read as xas_next() reads its slots (a call per mark would cost more
 * than the rest of a page's decode).
 */
static inline bool karena_xas_get_mark(const struct xa_state *xas,
				       xa_mark_t mark)
{
	struct xa_node *node = xas->xa_node;

	if (xas_not_node(node))
		return xas_get_mark(xas, mark);
	return test_bit(xas->xa_offset,
			node->marks[(__force unsigned int)mark]);
}

static inline void karena_decode(struct xa_state *xas, void *entry,
				 struct karena_ent *e)
{
	e->page = NULL;
	e->huge = false;
	e->cow = false;
	e->lazy = false;
	if (!entry || xa_is_zero(entry)) {
		e->state = KARENA_STATE_RESERVED;
	} else if (xa_is_value(entry)) {
		unsigned long v = xa_to_value(entry);

		e->state = v & KARENA_STATE_MASK;
		e->huge = v & KAR_V_HUGE;
	} else {
		e->page = entry;
		e->state = karena_xas_get_mark(xas, KAR_MARK_PREP) ?
			KARENA_STATE_PREPARED : KARENA_STATE_READY;
		e->huge = karena_xas_get_mark(xas, KAR_MARK_HUGE);
		e->cow = karena_xas_get_mark(xas, KAR_MARK_COW);
		e->lazy = e->state == KARENA_STATE_PREPARED &&
			  test_bit(KAR_PG_LAZY, &e->page->flags);
	}
}

static inline void karena_xas_mark(struct xa_state *xas, xa_mark_t mark,
				   bool on)
{
	if (on)
		xas_set_mark(xas, mark);
	else
		xas_clear_mark(xas, mark);
}

/*
 * Store the encoding of (state, huge, page, cow) at @xas.  Storing into a
 * slot that already exists never allocates, so the caller reserves slots
 * first and this cannot fail.  Returns false when the entry was erased
 * (plain Reserved): its node may be gone, @xas must be set anew.
 */
static inline bool karena_encode(struct xa_state *xas, unsigned int state,
				 bool huge, struct page *page, bool cow)
{
	void *entry;

	lockdep_assert_held(&xas->xa->xa_lock);
	if (page)
		entry = page;
	else if (state == KARENA_STATE_RESERVED && !huge)
		entry = NULL;
	else
		entry = xa_mk_value(state | (huge ? KAR_V_HUGE : 0));
	xas_store(xas, entry);
	if (!entry)
		return false;
	if (!xas_error(xas)) {
		karena_xas_mark(xas, KAR_MARK_PREP,
				page && state == KARENA_STATE_PREPARED);
		karena_xas_mark(xas, KAR_MARK_HUGE, page && huge);
		karena_xas_mark(xas, KAR_MARK_COW, page && cow);
	}
	return true;
}

/* main.c */
extern unsigned long karena_param_max_reserved;
extern unsigned long karena_param_max_ready;
extern unsigned int karena_param_cache_high;
extern unsigned int karena_param_cache_batch;
extern bool karena_param_strict;
extern bool karena_param_hugepage;
extern const struct file_operations karena_fops;

/* bounds.c */
extern const struct kernel_param_ops karena_bound_ops;
extern unsigned long karena_param_max_held;
extern unsigned long karena_param_user_max_held;
extern unsigned long karena_param_user_max_reserved;
struct karena_user *karena_user_get(kuid_t uid);
void karena_user_put(struct karena_user *u);
int karena_held_charge(struct karena_file *kf, unsigned long n);
void karena_held_uncharge(struct karena_file *kf, unsigned long n);
long karena_held_pages(void);
int karena_reserved_add(struct karena_file *kf, long n, bool check);
int karena_debugfs_users_show(struct seq_file *m, void *v);
int karena_bounds_init(void);
void karena_bounds_exit(void);

/* rss.c */
void karena_rss_count(struct karena_space *sp, long n);
long karena_rss_mark(struct page *page);
long karena_rss_unmark(struct page *page, bool cow);
void karena_rss_fault(struct karena_space *sp, struct page *page, bool fresh);
void karena_rss_track(struct karena_space *sp);
void karena_rss_untrack(struct karena_space *sp);
void karena_rss_exit(void);

/* arena.c */
extern spinlock_t karena_cow_lock;
struct karena_file *karena_file_alloc(void);
void karena_file_free(struct karena_file *kf);
int karena_mmap(struct file *file, struct vm_area_struct *vma);
struct karena_space *karena_space_find(struct karena_file *kf,
				       struct mm_struct *mm);
struct karena_space *karena_space_get_fork(struct karena_space *parent,
					   struct vm_area_struct *vma);
void karena_space_vma_open(struct karena_space *sp,
			   struct vm_area_struct *vma);
void karena_space_vma_close(struct karena_space *sp,
			    struct vm_area_struct *vma);
void karena_page_release(struct karena_file *kf, struct page *page,
			 bool maybe_shared);
bool karena_page_held(struct page *page);
bool karena_page_exclusive(struct page *page);

/* release.c */
#define KAR_DROP_COW	1UL

/*
 * Pages dropped under kf->lock (to lock, then release once unlocked)
 * and the address ranges to zap before unlocking.
 */
struct karena_batch {
	unsigned long *dropped;		/* struct page * | KAR_DROP_COW */
	unsigned long ndropped;
	unsigned long cap;
	unsigned long (*zap)[2];	/* [start, end), merged when adjacent */
	unsigned int nzap;
	unsigned int zap_cap;
	gfp_t gfp;
};

void karena_batch_init(struct karena_batch *b, unsigned int nzap, gfp_t gfp);
int karena_batch_reserve(struct karena_batch *b, unsigned long more);
void karena_batch_drop(struct karena_batch *b, struct page *page, bool cow);
void karena_batch_zap(struct karena_batch *b, unsigned long start,
		      unsigned long end);
void karena_batch_unmap(struct karena_batch *b, struct mm_struct *mm);
void karena_batch_release(struct karena_file *kf, struct karena_batch *b);

/* range.c */
int karena_ranges_from_user(const struct karena_range __user *ur,
			    unsigned int count, struct karena_krange *kr);
struct karena_space *karena_range_lookup(struct file *file,
					 struct mm_struct *mm,
					 unsigned long start, unsigned long end,
					 struct vm_area_struct **hint);

/*
 * @ur checked (op, flags, page alignment, no overflow, below TASK_SIZE)
 * into @r: 0 or -EINVAL.
 */
static inline int karena_range_from_user(const struct karena_range *ur,
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
 * range inside it needs no lookup.
 */
static inline struct karena_space *
karena_range_space(struct file *file, struct mm_struct *mm,
		   unsigned long start, unsigned long end,
		   struct vm_area_struct **hint)
{
	struct vm_area_struct *vma = hint ? *hint : NULL;

	mmap_assert_locked(mm);
	if (vma && start >= vma->vm_start && end <= vma->vm_end)
		return vma->vm_private_data;
	return karena_range_lookup(file, mm, start, end, hint);
}

/* run.c */
/*
 * Ranges of one space applied in place one after the other under one
 * hold of its store lock (run.c).
 */
struct karena_run {
	struct karena_space *sp;	/* whose store lock is held, or NULL */
	struct xa_state xas;
	unsigned long pages;		/* applied under this hold */
	long d_resident;		/* counts added when let go */
	long d_counted;
	long d_lazy;			/* pages karena_run_lazy_unused() kept */
	bool lazy_update;		/* karena_lazy_update() when let go */
};

#define KAR_RUN_PAGES		1024UL	/* a run lets go after these */
#define KAR_DIRECT_PAGES	1024	/* longest range applied in place */

void karena_run_count(struct karena_run *run, struct karena_space *sp,
		      long d_resident, long d_counted, bool lazy);
void karena_run_end(struct karena_run *run);
void *karena_run_seek(struct karena_run *run, struct karena_space *sp,
		      unsigned long index);
bool karena_run_lazy_unused(struct karena_run *run, struct karena_space *sp,
			    const struct karena_krange *r);

/* transition.c */
int karena_apply_range(struct file *file, struct mm_struct *mm,
		       const struct karena_krange *r, u64 *pages);
int karena_apply_vec(struct file *file, struct mm_struct *mm, u64 uranges,
		     unsigned int count, unsigned int *done, u64 *pages);

/* query.c */
int karena_query(struct file *file, struct mm_struct *mm, unsigned long start,
		 unsigned long npages, u8 __user *vec);
void karena_get_stats(struct karena_file *kf, struct mm_struct *mm,
		      struct karena_stats *st);

/* lazy.c */
void karena_lazy_mark(struct karena_space *sp, struct page *page);
void karena_lazy_unmark(struct karena_space *sp, struct page *page);
int karena_lazy_prepare(struct karena_space *sp);
void karena_lazy_update(struct karena_space *sp);
unsigned long karena_lazy_reclaim(struct karena_space *sp, unsigned long nr,
				  gfp_t gfp);
unsigned long karena_lazy_count(struct mem_cgroup *target);
unsigned long karena_lazy_shrink(struct mem_cgroup *target, unsigned long nr);

/* fault.c */
extern const struct vm_operations_struct karena_vm_ops;

/* huge.c */
#if KARENA_HAVE_HUGE
bool karena_huge_wanted(struct vm_fault *vmf, const struct karena_ent *e);
struct page *karena_huge_fault(struct karena_space *sp, struct vm_fault *vmf,
			       struct mem_cgroup *memcg);
void karena_huge_rss_fault(struct karena_space *sp, struct vm_fault *vmf,
			   struct page *page);
int karena_huge_split_edges(struct karena_space *sp, unsigned long first,
			    unsigned long last);
bool karena_huge_cut_begin(struct karena_space *sp, unsigned long first,
			   unsigned long last, bool lazy);
void karena_huge_cut_end(struct karena_space *sp);
int karena_huge_may_split(struct vm_area_struct *vma, unsigned long addr);
#else
static inline bool karena_huge_wanted(struct vm_fault *vmf,
				      const struct karena_ent *e)
{
	return false;
}

static inline struct page *karena_huge_fault(struct karena_space *sp,
					     struct vm_fault *vmf,
					     struct mem_cgroup *memcg)
{
	return NULL;
}

static inline void karena_huge_rss_fault(struct karena_space *sp,
					 struct vm_fault *vmf,
					 struct page *page)
{
	karena_rss_fault(sp, page, false);
}

static inline int karena_huge_split_edges(struct karena_space *sp,
					  unsigned long first,
					  unsigned long last)
{
	return 0;
}

static inline bool karena_huge_cut_begin(struct karena_space *sp,
					 unsigned long first,
					 unsigned long last, bool lazy)
{
	return false;
}

static inline void karena_huge_cut_end(struct karena_space *sp)
{
}

#define karena_huge_may_split	NULL
#endif

/* pcp_cache.c */
struct page *karena_cache_pop(struct mem_cgroup *memcg);
struct page *karena_page_alloc(struct mem_cgroup *memcg, bool *hit);
void karena_page_free(struct page *page, bool zeroed);
int karena_pages_alloc_list(struct mem_cgroup *memcg, unsigned long nr,
			    struct list_head *list);
unsigned long karena_cache_pages(bool dirty);
int karena_cache_init(void);
void karena_cache_exit(void);
int karena_debugfs_cpus_show(struct seq_file *m, void *v);

#endif /* _KARENA_PRIV_H */
