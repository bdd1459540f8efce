// SPDX-License-Identifier: GPL-2.0
/*
 * karena: reclaim of the per-CPU page caches (pcp_cache.c): memcg tags,
 * the shrinker and the debugfs table.
 *
 * A cache's pages are charged to one memcg; while the cache holds any it
 * holds a struct karena_tag for that memcg (none for uncharged pages).
 * A tag holds a css reference on its memcg and sits on that memcg's list
 * of karena_tags, a memcg-aware list_lru tied to the shrinker
 * (SHRINKER_MEMCG_AWARE).  The list is only there to set the memcg's
 * shrinker bit (set_shrinker_bit() is not exported; list_lru_add() of an
 * object charged to the memcg sets it), so reclaim against a cgroup's
 * limit calls the shrinker with that memcg, and the shrinker drains the
 * caches tagged with it or a descendant (their pages count in its usage).
 * A tag is allocated in its memcg's scope (charged there); when the memcg
 * goes offline, list_lru moves it to the parent's list and the parent's
 * reclaim finds it.  Global reclaim and drop_caches drain every cache.
 *
 * The shrinker drains the local cache itself and the other CPUs' caches
 * by work items on those CPUs, and waits for them: reclaim must see the
 * pages free before it OOM-kills.  The work only frees, never allocates,
 * and runs on a workqueue with a rescuer, so waiting for it from reclaim
 * cannot deadlock.
 *
 * Tags are freed after an RCU grace period: the shrinker and debugfs
 * read other CPUs' tags under rcu_read_lock().  They are allocated with
 * no lock held (the caches' paths allocate one before taking the local
 * lock when the cache looks empty); a path that would have to tag an
 * empty cache without one at hand frees its pages instead.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/list_lru.h>
#include <linux/memcontrol.h>
#include <linux/sched/mm.h>
#include <linux/seq_file.h>
#include <linux/shrinker.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "karena_priv.h"
#include "pcp.h"

static struct kmem_cache *karena_tag_cache;
static struct list_lru karena_tags;
static struct shrinker *karena_shrinker;

/* Drains for the shrinker, which waits for them: a rescuer is needed. */
static struct workqueue_struct *karena_drain_wq;

/* A tag for pages charged to @memcg, or NULL (offline, no memory). */
struct karena_tag *karena_tag_new(struct mem_cgroup *memcg)
{
	const gfp_t gfp = GFP_KERNEL_ACCOUNT | __GFP_NOWARN | __GFP_NORETRY;
	struct karena_tag *tag;
	struct mem_cgroup *old;

	might_sleep();
	if (!css_tryget_online(&memcg->css))
		return NULL;
	old = set_active_memcg(memcg);
	tag = kmem_cache_alloc_lru(karena_tag_cache, &karena_tags, gfp);
	set_active_memcg(old);
	if (!tag) {
		css_put(&memcg->css);
		return NULL;
	}
	INIT_LIST_HEAD(&tag->lru);
	tag->memcg = memcg;
	karena_lru_add(&karena_tags, &tag->lru);	/* sets the memcg's bit */
	return tag;
}

static void karena_tag_rcu_free(struct rcu_head *rcu)
{
	kmem_cache_free(karena_tag_cache,
			container_of(rcu, struct karena_tag, rcu));
}

void karena_tag_free(struct karena_tag *tag)
{
	if (!tag)
		return;
	karena_lru_del(&karena_tags, &tag->lru);
	css_put(&tag->memcg->css);
	call_rcu(&tag->rcu, karena_tag_rcu_free);	/* unload: rcu_barrier() */
}

/*
 * A tag for @key when this CPU's cache looks empty (it would take one),
 * else NULL; a guess without the lock, karena_pcp_adopt() decides.
 */
struct karena_tag *karena_tag_if_empty(struct mem_cgroup *key)
{
	struct karena_pcp *pcp = raw_cpu_ptr(&karena_pcp);

	if (!key || READ_ONCE(pcp->count) || READ_ONCE(pcp->ndirty))
		return NULL;
	return karena_tag_new(key);
}

void karena_drain_workfn(struct work_struct *work)
{
	struct karena_pcp *pcp = container_of(work, struct karena_pcp,
					      drain_work);
	unsigned int n;

	/* After CPU offline the work may run elsewhere: the dead callback drains. */
	if (pcp != raw_cpu_ptr(&karena_pcp))
		return;
	n = karena_drain_local(NULL, UINT_MAX, KARENA_DRAIN_SHRINKER);
	karena_count(KAR_C_SHRINK_FREED, n);
}

/* What reclaim of @sc is about: NULL for global (or root) reclaim. */
static struct mem_cgroup *karena_shrink_target(struct shrink_control *sc)
{
	return sc->memcg && sc->memcg->css.parent ? sc->memcg : NULL;
}

static unsigned long karena_shrink_count(struct shrinker *s,
					 struct shrink_control *sc)
{
	struct mem_cgroup *target = karena_shrink_target(sc);
	unsigned long n = 0;
	int cpu;

	rcu_read_lock();
	for_each_possible_cpu(cpu) {
		struct karena_pcp *pcp = per_cpu_ptr(&karena_pcp, cpu);

		if (karena_pcp_in(pcp, target))
			n += READ_ONCE(pcp->count) + READ_ONCE(pcp->ndirty);
	}
	rcu_read_unlock();
	n += karena_lazy_count(target);
	return n ? n : SHRINK_EMPTY;
}

/*
 * Drain the caches reclaim of @sc may take back: global reclaim all of
 * them, memcg reclaim (a cgroup at its limit) those tagged with that
 * memcg or a descendant.  The local cache here, the others by work on
 * their own CPU, waited for: reclaim must see the pages free before it
 * decides to OOM-kill (the work only frees, it never allocates, and its
 * workqueue has a rescuer).
 */
static unsigned long karena_shrink_scan(struct shrinker *s,
					struct shrink_control *sc)
{
	struct mem_cgroup *target = karena_shrink_target(sc);
	unsigned long freed, before = karena_counter_read(KAR_C_SHRINK_FREED);
	unsigned long lazy;
	int cpu, me;

	/* Lazily released pages first (lazy.c): into the caches, drained next. */
	lazy = karena_lazy_shrink(target, sc->nr_to_scan);
	freed = karena_drain_local(target, sc->nr_to_scan, KARENA_DRAIN_SHRINKER);
	karena_count(KAR_C_SHRINK_FREED, freed);
	me = raw_smp_processor_id();
	rcu_read_lock();
	for_each_online_cpu(cpu) {
		struct karena_pcp *pcp = per_cpu_ptr(&karena_pcp, cpu);

		if (cpu != me && karena_pcp_in(pcp, target) &&
		    (READ_ONCE(pcp->count) || READ_ONCE(pcp->ndirty)))
			queue_work_on(cpu, karena_drain_wq, &pcp->drain_work);
	}
	rcu_read_unlock();
	/* Idle work items (not queued here) return at once. */
	for_each_online_cpu(cpu)
		if (cpu != me)
			flush_work(&per_cpu_ptr(&karena_pcp, cpu)->drain_work);
	freed = karena_counter_read(KAR_C_SHRINK_FREED) - before;
	freed = max(freed, lazy);
	return freed ? freed : SHRINK_STOP;
}

/* The id of the memcg @pcp's pages are charged to (0: uncharged). */
static unsigned short karena_pcp_memcg_id(struct karena_pcp *pcp)
{
	unsigned short id = 0;
	struct karena_tag *tag;

	rcu_read_lock();
	tag = READ_ONCE(pcp->tag);
	/* The tag and its memcg are RCU-freed; read the id under a ref. */
	if (tag && css_tryget(&tag->memcg->css)) {
		id = mem_cgroup_id(tag->memcg);
		css_put(&tag->memcg->css);
	}
	rcu_read_unlock();
	return id;
}

int karena_debugfs_cpus_show(struct seq_file *m, void *v)
{
	int cpu;

	seq_puts(m, "cpu online count memcg_id hits misses bypass refills bg_refills drained dirty zeroed\n");
	for_each_possible_cpu(cpu) {
		struct karena_pcp *pcp = per_cpu_ptr(&karena_pcp, cpu);

		seq_printf(m, "%d %d %u %u %lu %lu %lu %lu %lu %lu %u %lu\n",
			   cpu,
			   cpu_online(cpu), READ_ONCE(pcp->count),
			   karena_pcp_memcg_id(pcp),
			   READ_ONCE(pcp->hits), READ_ONCE(pcp->misses),
			   READ_ONCE(pcp->bypass), READ_ONCE(pcp->refills),
			   READ_ONCE(pcp->bg_refills),
			   READ_ONCE(pcp->drained), READ_ONCE(pcp->ndirty),
			   READ_ONCE(pcp->zeroed));
	}
	return 0;
}

int karena_reclaim_init(void)
{
	karena_tag_cache = KMEM_CACHE(karena_tag, 0);
	if (!karena_tag_cache)
		return -ENOMEM;
	karena_drain_wq = alloc_workqueue("karena_drain", WQ_MEM_RECLAIM, 0);
	if (!karena_drain_wq)
		goto err_cache;
	karena_shrinker = karena_shrinker_start(karena_shrink_count,
						karena_shrink_scan,
						&karena_tags);
	if (!karena_shrinker)
		goto err_wq;
	return 0;
err_wq:
	destroy_workqueue(karena_drain_wq);
err_cache:
	kmem_cache_destroy(karena_tag_cache);
	return -ENOMEM;
}

/* Unload, first: no more shrinker calls or drain works. */
void karena_reclaim_stop(void)
{
	karena_shrinker_stop(karena_shrinker);
	destroy_workqueue(karena_drain_wq);
}

/* Unload, last: every cache is empty, so every tag is freed. */
void karena_reclaim_exit(void)
{
	list_lru_destroy(&karena_tags);
	rcu_barrier();		/* karena_tag_rcu_free() */
	kmem_cache_destroy(karena_tag_cache);
}
