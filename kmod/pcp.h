/* SPDX-License-Identifier: GPL-2.0 */
/*
 * karena: the per-CPU page caches' state, shared by pcp_cache.c (the
 * caches: allocation, release, zeroing and refill workers, hotplug) and
 * pcp_reclaim.c (memcg tags, the shrinker, debugfs).  Locking: a CPU's
 * cache is used under its local_lock on that CPU only; another CPU's is
 * read locklessly (counts, and the tag under rcu_read_lock()).
 */
#ifndef _KARENA_PCP_H
#define _KARENA_PCP_H

#include <linux/list_lru.h>
#include <linux/local_lock.h>
#include <linux/lockdep.h>
#include <linux/memcontrol.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/workqueue.h>

#include "uapi/karena.h"

struct karena_pcp {
	local_lock_t lock;
	struct list_head pages;		/* zeroed, linked by page->lru */
	unsigned int count;
	struct list_head dirty;		/* released, not zeroed yet */
	unsigned int ndirty;
	struct karena_tag *tag;		/* while count + ndirty, if charged */
	unsigned long hits;
	unsigned long misses;
	unsigned long bypass;
	unsigned long refills;
	unsigned long drained;
	unsigned int mismatch;		/* misses in a row on another memcg */
	unsigned long bg_refills;
	unsigned long zeroed;		/* dirty pages zeroed by the worker */
	struct work_struct drain_work;
	struct work_struct refill_work;	/* faults: zero dirty, then refill */
	struct delayed_work zero_work;	/* releases: zero dirty, later */
};

DECLARE_PER_CPU(struct karena_pcp, karena_pcp);

/* The memcg a cache's pages are charged to (pcp_reclaim.c). */
struct karena_tag {
	struct list_head lru;		/* in karena_tags: the memcg's list */
	struct mem_cgroup *memcg;	/* css reference held */
	struct rcu_head rcu;
};

/* Pages held, clean and dirty: what the tag and cache_high are about. */
static inline unsigned int karena_pcp_total(struct karena_pcp *pcp)
{
	return pcp->count + pcp->ndirty;
}

/* The memcg @pcp's pages are charged to; local lock held. */
static inline struct mem_cgroup *karena_pcp_memcg(struct karena_pcp *pcp)
{
	lockdep_assert_held(this_cpu_ptr(&karena_pcp.lock));
	return pcp->tag ? pcp->tag->memcg : NULL;
}

/*
 * Is @pcp's cache one that reclaim of @target (NULL: global) may drain:
 * tagged with @target or a descendant (charged there, so counted in
 * @target's usage)?  Reads another CPU's tag: rcu_read_lock() held.
 */
static inline bool karena_pcp_in(struct karena_pcp *pcp,
				 struct mem_cgroup *target)
{
	struct karena_tag *tag;

	RCU_LOCKDEP_WARN(!rcu_read_lock_held(), "karena_pcp_in() without RCU");
	if (!target)
		return true;
	tag = READ_ONCE(pcp->tag);
	return tag && mem_cgroup_is_descendant(tag->memcg, target);
}

/* pcp_cache.c */
void karena_free_list(struct list_head *list);
struct karena_tag *karena_pcp_take(struct karena_pcp *pcp, unsigned int nr,
				   struct list_head *out, unsigned int *taken);
unsigned int karena_drain_cpu_unlocked(int cpu,
				       enum karena_drain_reason reason);
unsigned int karena_drain_local(struct mem_cgroup *target, unsigned int nr,
				enum karena_drain_reason reason);

/* pcp_reclaim.c */
struct karena_tag *karena_tag_new(struct mem_cgroup *memcg);
struct karena_tag *karena_tag_if_empty(struct mem_cgroup *key);
void karena_tag_free(struct karena_tag *tag);
void karena_drain_workfn(struct work_struct *work);
int karena_reclaim_init(void);
void karena_reclaim_stop(void);
void karena_reclaim_exit(void);

#endif /* _KARENA_PCP_H */
