// SPDX-License-Identifier: GPL-2.0
/*
 * karena: per-CPU caches of pre-zeroed free pages.
 *
 * Each possible CPU has two lists of order-0 pages: clean (zeroed) and
 * dirty (released, not zeroed yet).  A Ready fault, a POPULATE and a fork
 * copy take a page from the local clean list with only a local_lock
 * (preemption off on !RT): no shared lock, no atomic, no zeroing, and
 * never a dirty page.  When a hit leaves fewer than cache_batch clean
 * pages, a work item on that CPU zeroes the dirty pages into the clean
 * list, then tops it up to 2 * cache_batch from the allocator, so faults
 * normally never zero a page; only a miss with no clean page allocates
 * (zeroed by the allocator) in the fault: a batch for the cache, or just
 * the one page when dirty pages are on hand (the worker is kicked).
 *
 * Pages dropped by Unused/Fault/Free/munmap are NOT zeroed on the release
 * path: they go onto the dirty list as they are.  Once a batch is there a
 * delayed work item (system_wq, KAR_ZERO_DELAY jiffies later, so a burst
 * of releases is not interrupted to zero what it just dropped) zeroes
 * them, a batch at a time with the lock dropped, and moves them to the
 * clean list.  So the zeroing anonymous memory pays at the next fault is
 * paid here in the background, by neither the release nor the fault.
 * Invariant: no page reaches another file or process without being
 * zeroed, because only the worker moves a page from dirty to clean, and
 * only after clear_highpage().
 *
 * cache_high bounds clean + dirty pages per CPU: a page released into a
 * full cache is freed, and above it a batch (dirty pages first) goes back
 * to the allocator.  A shrinker (pcp_reclaim.c) empties both lists under
 * memory pressure, also a cgroup's own (it is memcg-aware),
 * a CPU hotplug "dead" callback empties the cache of a CPU that went
 * away, and module unload (after cancelling the workers) empties them all.
 * sysfs cache_pages counts both lists, cache_dirty the dirty ones.
 *
 * memcg.  Pages are allocated with __GFP_ACCOUNT in the memcg scope of
 * the mm that will use them (set_active_memcg() with the memcg of the
 * mapping's mm), so they are charged to that cgroup and stay charged
 * while they sit in a cache.  __memcg_kmem_charge_page() is not exported,
 * so a page cannot be re-charged to another cgroup.  Hence a cache
 * belongs to one memcg at a time: while it is not empty (clean or dirty:
 * a dirty page stays charged) it holds a struct karena_tag for the memcg
 * its pages are charged to (none when they are uncharged: root cgroup, or
 * memcg kmem accounting off).  A fault whose memcg differs bypasses the
 * cache and allocates one page charged to its own memcg; after
 * cache_batch such misses in a row, or at once when the tag's memcg is
 * offline, the foreign pages are freed (uncharging their memcg) and the
 * cache changes hands.  A page freed by a space of another memcg is freed
 * to the allocator instead of being cached.  An empty cache takes the tag
 * of whoever refills it.  So a process never escapes its memory.max:
 * every page it maps was charged to it, and the most another cgroup can
 * hold in karena caches is cache_high pages per CPU of its own memory.
 * Tags and how reclaim finds a cgroup's cached pages: pcp_reclaim.c.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpuhotplug.h>
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/local_lock.h>
#include <linux/memcontrol.h>
#include <linux/percpu.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "karena_priv.h"
#include "karena_trace.h"
#include "pcp.h"

DEFINE_PER_CPU(struct karena_pcp, karena_pcp) = {
	.lock = INIT_LOCAL_LOCK(lock),
};

static enum cpuhp_state karena_cpuhp_state;
static bool karena_cache_ready;

#define KAR_GFP		(GFP_HIGHUSER | __GFP_ACCOUNT | __GFP_ZERO)

/* Delay before released pages are zeroed in the background. */
#define KAR_ZERO_DELAY	1

/* The memcg a page allocated in @memcg's scope is charged to. */
static struct mem_cgroup *karena_charge_key(struct mem_cgroup *memcg)
{
	if (!memcg || !memcg->css.parent || !karena_memcg_kmem_on())
		return NULL;
	return memcg;
}

/*
 * Move the @n pages of @list, charged to @key, onto @pcp: its dirty list
 * if @dirty, else its clean list.  Only if the cache stays within @high
 * and holds @key's pages; an empty cache takes the tag *@tag for them
 * (then *@tag is NULL), without a matching one it cannot hold charged
 * pages.  False, with the pages left on @list, when it cannot take them.
 */
static bool karena_pcp_adopt(struct karena_pcp *pcp, struct mem_cgroup *key,
			     struct list_head *list, unsigned int n,
			     unsigned int high, struct karena_tag **tag,
			     bool dirty)
{
	lockdep_assert_held(this_cpu_ptr(&karena_pcp.lock));
	if (karena_pcp_total(pcp) + n > high)
		return false;
	if (karena_pcp_total(pcp)) {
		if (karena_pcp_memcg(pcp) != key)
			return false;
	} else if (key) {
		if (!*tag || (*tag)->memcg != key)
			return false;
		pcp->tag = *tag;
		*tag = NULL;
	}
	if (dirty) {
		list_splice_init(list, &pcp->dirty);
		pcp->ndirty += n;
	} else {
		list_splice_init(list, &pcp->pages);
		pcp->count += n;
	}
	return true;
}

/* Take the first clean page of @pcp: a hit. */
static struct page *karena_pcp_pop(struct karena_pcp *pcp)
{
	struct page *page;

	lockdep_assert_held(this_cpu_ptr(&karena_pcp.lock));
	page = list_first_entry(&pcp->pages, struct page, lru);
	list_del(&page->lru);
	pcp->count--;
	pcp->hits++;
	pcp->mismatch = 0;
	return page;
}

/* An empty cache holds no tag: the one to free, with no lock held, or NULL. */
static struct karena_tag *karena_pcp_untag_if_empty(struct karena_pcp *pcp)
{
	struct karena_tag *put = NULL;

	if (!karena_pcp_total(pcp)) {
		put = pcp->tag;
		pcp->tag = NULL;
	}
	return put;
}

/*
 * The memcg @pcp's pages are charged to, with a css reference for the
 * caller (the tag holds one, so it cannot fail), or NULL.
 */
static struct mem_cgroup *karena_pcp_memcg_get(struct karena_pcp *pcp)
{
	struct mem_cgroup *key = karena_pcp_memcg(pcp);

	if (key)
		css_get(&key->css);
	return key;
}

/* Its memcg went offline: the cache should not keep it pinned. */
static inline bool karena_pcp_stale(struct karena_pcp *pcp)
{
	lockdep_assert_held(this_cpu_ptr(&karena_pcp.lock));
	return pcp->tag && !mem_cgroup_online(pcp->tag->memcg);
}

void karena_free_list(struct list_head *list)
{
	struct page *page, *tmp;

	list_for_each_entry_safe(page, tmp, list, lru) {
		list_del(&page->lru);
		__free_page(page);
	}
}

/* Move up to @max pages from the head of @from (*@count long) to @out. */
static unsigned int karena_list_move(struct list_head *from,
				     unsigned int *count, unsigned int max,
				     struct list_head *out)
{
	unsigned int n = 0;

	while (n < max && *count) {
		list_move(from->next, out);
		(*count)--;
		n++;
	}
	return n;
}

/*
 * Move up to @nr pages of @pcp to @out; drops the tag when it empties.
 * Caller excludes other users of @pcp.  Returns the tag the caller must
 * free (karena_tag_free(), no lock held), if any.
 */
struct karena_tag *karena_pcp_take(struct karena_pcp *pcp, unsigned int nr,
				   struct list_head *out, unsigned int *taken)
{
	struct karena_tag *put;
	unsigned int n;

	/* Dirty pages first: they would cost a clear_page to use. */
	n = karena_list_move(&pcp->dirty, &pcp->ndirty, nr, out);
	n += karena_list_move(&pcp->pages, &pcp->count, nr - n, out);
	put = karena_pcp_untag_if_empty(pcp);
	pcp->drained += n;
	*taken = n;
	return put;
}

/*
 * After a drain of @cpu's cache, with no lock held: free the tag it
 * dropped (@put) and the @n pages it took (@list).
 */
static void karena_drain_finish(int cpu, struct karena_tag *put,
				struct list_head *list, unsigned int n,
				enum karena_drain_reason reason)
{
	karena_tag_free(put);
	if (n) {
		trace_karena_cache_drain(cpu, n, reason);
		karena_free_list(list);
	}
}

/* Allocate up to @nr zeroed pages charged to @memcg onto @list: how many. */
static unsigned long karena_alloc_batch(struct mem_cgroup *memcg,
					unsigned long nr,
					struct list_head *list, bool nowarn)
{
	struct mem_cgroup *old;
	unsigned long got = 0;
	gfp_t gfp = KAR_GFP | (nowarn ? __GFP_NOWARN | __GFP_NORETRY : 0);

	if (!karena_charge_key(memcg))
		/* Uncharged: the bulk allocator serves it in one call. */
		return alloc_pages_bulk_list(gfp & ~__GFP_ACCOUNT, nr, list);

	/* The bulk allocator does not charge memcgs: one by one. */
	old = set_active_memcg(memcg);
	while (got < nr) {
		struct page *page = alloc_page(gfp);

		if (!page)
			break;
		list_add(&page->lru, list);
		got++;
	}
	set_active_memcg(old);
	return got;
}

int karena_pages_alloc_list(struct mem_cgroup *memcg, unsigned long nr,
			    struct list_head *list)
{
	unsigned long i;

	for (i = 0; i < nr; i++) {
		bool hit;
		struct page *page = karena_page_alloc(memcg, &hit);

		if (!page)
			return -ENOMEM;
		list_add(&page->lru, list);
		if (!(i & 255)) {
			cond_resched();
			if (fatal_signal_pending(current))
				return -EINTR;
		}
	}
	return 0;
}

/* Running low: zero the dirty pages and refill in the background. */
static void karena_pcp_kick_refill(struct karena_pcp *pcp)
{
	lockdep_assert_held(this_cpu_ptr(&karena_pcp.lock));
	if (READ_ONCE(karena_cache_ready))
		queue_work_on(smp_processor_id(), system_highpri_wq,
			      &pcp->refill_work);
}

/*
 * A zeroed page charged to @memcg from this CPU's cache, or NULL.  Never
 * sleeps: the fault calls it under the store's spinlock.
 */
struct page *karena_cache_pop(struct mem_cgroup *memcg)
{
	struct mem_cgroup *key = karena_charge_key(memcg);
	unsigned int batch = READ_ONCE(karena_param_cache_batch);
	struct karena_pcp *pcp;
	struct page *page = NULL;

	local_lock(&karena_pcp.lock);
	pcp = this_cpu_ptr(&karena_pcp);
	/*
	 * Only a clean page, and never the last page held: emptying the
	 * cache drops the tag, which is freed with no lock held.
	 */
	if (pcp->count && karena_pcp_total(pcp) > 1 &&
	    karena_pcp_memcg(pcp) == key) {
		page = karena_pcp_pop(pcp);
		if (pcp->count < batch)
			karena_pcp_kick_refill(pcp);
	}
	local_unlock(&karena_pcp.lock);
	return page;
}

/*
 * Keep @got zeroed pages (@list, charged to @key) in this CPU's cache if
 * it can hold them, else free them: the rest of a miss's batch, or (@bg)
 * the refill worker's top-up, which only tops up a cache that is not
 * empty (so it never takes a tag).
 */
static void karena_cache_refill(struct mem_cgroup *key, struct list_head *list,
				unsigned int got, bool bg)
{
	unsigned int high = READ_ONCE(karena_param_cache_high), cached = 0;
	struct karena_tag *tag = bg ? NULL : karena_tag_if_empty(key);
	struct karena_pcp *pcp;
	int cpu;

	local_lock(&karena_pcp.lock);
	pcp = this_cpu_ptr(&karena_pcp);
	cpu = smp_processor_id();
	if ((!bg || karena_pcp_total(pcp)) &&
	    karena_pcp_adopt(pcp, key, list, got, high, &tag, false)) {
		pcp->refills++;
		if (bg)
			pcp->bg_refills++;
		cached = pcp->count;
	} else if (!bg) {
		pcp->bypass++;
	}
	local_unlock(&karena_pcp.lock);
	karena_tag_free(tag);
	if (cached)
		trace_karena_cache_refill(cpu, got, cached);
	karena_free_list(list);
}

/*
 * A miss on @pcp, which holds another memcg's pages than @key's: bypass
 * it, but once a batch of faults in a row missed that way, the other
 * memcg is not the one running here: true, to give its pages back (which
 * uncharges them) and let this one refill the cache.  At once when that
 * memcg is offline: nothing would use them.
 */
static bool karena_pcp_hand_over(struct karena_pcp *pcp, struct mem_cgroup *key,
				 unsigned int batch)
{
	if (karena_pcp_memcg(pcp) == key || !karena_pcp_total(pcp))
		return false;
	if (++pcp->mismatch < batch && !karena_pcp_stale(pcp))
		return false;
	pcp->mismatch = 0;
	return true;
}

/*
 * The cache's half of karena_page_alloc(): a clean page charged to @key
 * from this CPU's cache, or NULL (a miss).  *@busy: the cache holds pages
 * a miss cannot use (dirty ones, or another memcg's), so it should not
 * allocate a batch for the cache.
 */
static struct page *karena_cache_get(struct mem_cgroup *key,
				     unsigned int batch, bool *busy)
{
	struct karena_tag *put = NULL;
	struct karena_pcp *pcp;
	struct page *page = NULL;
	unsigned int drained = 0;
	LIST_HEAD(list);
	int cpu;

	local_lock(&karena_pcp.lock);
	pcp = this_cpu_ptr(&karena_pcp);
	cpu = smp_processor_id();
	if (pcp->count && karena_pcp_memcg(pcp) == key) {
		page = karena_pcp_pop(pcp);
		put = karena_pcp_untag_if_empty(pcp);
	} else {
		pcp->misses++;
		if (karena_pcp_hand_over(pcp, key, batch))
			put = karena_pcp_take(pcp, UINT_MAX, &list, &drained);
	}
	/*
	 * Running low: refill off the fault path.  A miss with dirty pages
	 * of this memcg on hand takes one fresh page: the worker makes the
	 * dirty ones clean.
	 */
	if (pcp->count < batch && karena_pcp_total(pcp) &&
	    (page || (pcp->ndirty && karena_pcp_memcg(pcp) == key)))
		karena_pcp_kick_refill(pcp);
	*busy = karena_pcp_total(pcp);
	local_unlock(&karena_pcp.lock);
	karena_drain_finish(cpu, put, &list, drained, KARENA_DRAIN_MEMCG);
	return page;
}

/*
 * A miss: @nr zeroed pages charged to @memcg from the page allocator (or
 * at least one), the first for the caller and the rest for this CPU's
 * cache; NULL when not even one could be had.
 */
static struct page *karena_page_alloc_miss(struct mem_cgroup *memcg,
					   struct mem_cgroup *key,
					   unsigned int nr)
{
	struct page *page;
	unsigned long got;
	LIST_HEAD(list);

	got = karena_alloc_batch(memcg, nr, &list, nr > 1);
	if (!got) {
		got = karena_alloc_batch(memcg, 1, &list, false);
		if (!got)
			return NULL;
	}
	page = list_first_entry(&list, struct page, lru);
	list_del(&page->lru);
	if (got > 1)
		karena_cache_refill(key, &list, got - 1, false);
	return page;
}

/*
 * A zeroed page charged to @memcg (the faulting mm's memcg now), from
 * this CPU's cache when its tag matches, else from the page allocator:
 * one page for the caller plus a batch for the cache, unless the cache
 * holds dirty pages or another memcg's (then just one; a guess, since the
 * task may be on another CPU by then).
 */
struct page *karena_page_alloc(struct mem_cgroup *memcg, bool *hit)
{
	struct mem_cgroup *key = karena_charge_key(memcg);
	unsigned int batch;
	struct page *page;
	bool busy;

	batch = max(1U, min(READ_ONCE(karena_param_cache_batch),
			    READ_ONCE(karena_param_cache_high)));
	page = karena_cache_get(key, batch, &busy);
	*hit = page;
	if (page)
		return page;
	return karena_page_alloc_miss(memcg, key, busy ? 1 : batch);
}

/*
 * Cache @page (refcount 1, charged to @key, a reference on @key held by
 * the caller) on this CPU: on the clean list if @zeroed, else on the
 * dirty list.  False when the cache belongs to another memcg, or is empty
 * and no tag for @key could be had.
 */
static bool karena_cache_put(struct page *page, struct mem_cgroup *key,
			     bool zeroed)
{
	unsigned int high = READ_ONCE(karena_param_cache_high);
	unsigned int batch = READ_ONCE(karena_param_cache_batch);
	struct karena_tag *tag = karena_tag_if_empty(key), *put = NULL;
	struct karena_pcp *pcp;
	unsigned int drained = 0;
	LIST_HEAD(one);
	LIST_HEAD(list);
	bool cached;
	int cpu;

	list_add(&page->lru, &one);
	local_lock(&karena_pcp.lock);
	pcp = this_cpu_ptr(&karena_pcp);
	cpu = smp_processor_id();
	cached = karena_pcp_adopt(pcp, key, &one, 1, UINT_MAX, &tag, !zeroed);
	if (cached) {
		/*
		 * A batch of dirty pages to zero: later, so that a burst of
		 * releases is not interrupted to zero what it just dropped.
		 * Once per batch: queueing is an atomic op even when the work
		 * is pending already.
		 */
		if (!zeroed && !(pcp->ndirty % max(1U, batch)))
			queue_delayed_work_on(cpu, system_wq, &pcp->zero_work,
					      KAR_ZERO_DELAY);
		if (karena_pcp_total(pcp) > high)
			put = karena_pcp_take(pcp, max(1U, min(batch, high)),
					      &list, &drained);
	} else {
		list_del(&page->lru);
	}
	local_unlock(&karena_pcp.lock);
	karena_tag_free(tag);
	karena_drain_finish(cpu, put, &list, drained, KARENA_DRAIN_HIGH);
	return cached;
}

/*
 * Give back a page nobody else references (refcount 1).  It is cached on
 * this CPU when the cache's memcg tag matches the page's charge, else
 * freed: on the clean list if @zeroed, else on the dirty list, which
 * only the worker (karena_zero_dirty()) takes pages from, to zero them.
 * Never zeroes: that is the release path's largest cost otherwise.
 * May sleep (a tag for an empty cache is allocated).
 */
void karena_page_free(struct page *page, bool zeroed)
{
	unsigned int high = READ_ONCE(karena_param_cache_high);
	struct mem_cgroup *key;
	bool cached;

	might_sleep();
	if (!karena_cache_ready || !high ||
	    READ_ONCE(raw_cpu_ptr(&karena_pcp)->count) +
	    READ_ONCE(raw_cpu_ptr(&karena_pcp)->ndirty) >= high) {
		__free_page(page);
		return;
	}
	/* Folio calls: 6.12 has no page_memcg() or ClearPageReferenced(). */
	folio_clear_dirty(page_folio(page));
	folio_clear_referenced(page_folio(page));
	folio_clear_workingset(page_folio(page));
	set_page_private(page, 0);

	/*
	 * The page's memcg is only stable under RCU (and after the memcg
	 * went offline it is the parent it was reparented to): pin it with
	 * css_tryget(), which fails for a memcg on its way out.  Pages
	 * charged to the root (reparented there) are not cached: the
	 * caches hold uncharged pages for the root cgroup.
	 */
	rcu_read_lock();
	key = folio_memcg(page_folio(page));
	if (key && (!key->css.parent || !css_tryget(&key->css))) {
		rcu_read_unlock();
		__free_page(page);
		return;
	}
	rcu_read_unlock();
	cached = karena_cache_put(page, key, zeroed);
	if (key)
		css_put(&key->css);
	if (!cached)
		__free_page(page);
}

/* Pages in all per-CPU caches, clean and dirty (@dirty: dirty only). */
unsigned long karena_cache_pages(bool dirty)
{
	unsigned long n = 0;
	int cpu;

	for_each_possible_cpu(cpu) {
		struct karena_pcp *pcp = per_cpu_ptr(&karena_pcp, cpu);

		n += READ_ONCE(pcp->ndirty);
		if (!dirty)
			n += READ_ONCE(pcp->count);
	}
	return n;
}

/* Empty @cpu's cache; the caller excludes every other user of it. */
unsigned int karena_drain_cpu_unlocked(int cpu,
				       enum karena_drain_reason reason)
{
	struct karena_pcp *pcp = per_cpu_ptr(&karena_pcp, cpu);
	struct karena_tag *put;
	unsigned int n;
	LIST_HEAD(list);

	put = karena_pcp_take(pcp, UINT_MAX, &list, &n);
	karena_drain_finish(cpu, put, &list, n, reason);
	return n;
}

/* Drain up to @nr pages of the local CPU's cache if it is @target's. */
unsigned int karena_drain_local(struct mem_cgroup *target, unsigned int nr,
				enum karena_drain_reason reason)
{
	struct karena_tag *put = NULL;
	struct karena_pcp *pcp;
	unsigned int n = 0;
	LIST_HEAD(list);
	int cpu;

	rcu_read_lock();
	local_lock(&karena_pcp.lock);
	pcp = this_cpu_ptr(&karena_pcp);
	cpu = smp_processor_id();
	if (karena_pcp_in(pcp, target))
		put = karena_pcp_take(pcp, nr, &list, &n);
	local_unlock(&karena_pcp.lock);
	rcu_read_unlock();
	karena_drain_finish(cpu, put, &list, n, reason);
	return n;
}

/*
 * Take up to @max dirty pages of the local cache onto @list for zeroing.
 * The batch keeps them charged to *@key with a css reference of its own,
 * or, when it took the cache's last pages, with the cache's tag (*@tag).
 */
static unsigned int karena_dirty_take(unsigned int max, struct list_head *list,
				      struct mem_cgroup **key,
				      struct karena_tag **tag)
{
	struct karena_pcp *pcp;
	unsigned int n;

	*key = NULL;
	*tag = NULL;
	local_lock(&karena_pcp.lock);
	pcp = this_cpu_ptr(&karena_pcp);
	n = karena_list_move(&pcp->dirty, &pcp->ndirty, max, list);
	if (n) {
		*tag = karena_pcp_untag_if_empty(pcp);
		*key = *tag ? (*tag)->memcg : karena_pcp_memcg_get(pcp);
	}
	local_unlock(&karena_pcp.lock);
	return n;
}

/*
 * Zero the local cache's dirty pages, a batch at a time with the lock
 * dropped, and move them to the clean list.  While it is zeroed a batch
 * is on no list (the shrinker, the CPU-dead callback and unload do not
 * see it) and keeps its memcg referenced (karena_dirty_take()); it goes
 * back only if the cache still (or again) belongs to that memcg and has
 * room, else it is freed.  Runs in the workers, never in a fault.
 */
static void karena_zero_dirty(void)
{
	unsigned int batch = max(1U, READ_ONCE(karena_param_cache_batch));
	unsigned int n, rounds = 0, max_rounds;
	struct karena_tag *tag;
	struct mem_cgroup *key;
	struct karena_pcp *pcp;
	struct page *page;
	LIST_HEAD(list);
	bool ref;

	max_rounds = READ_ONCE(karena_param_cache_high) / batch + 1;
	while (rounds++ < max_rounds) {
		n = karena_dirty_take(batch, &list, &key, &tag);
		if (!n)
			break;
		ref = key && !tag;

		list_for_each_entry(page, &list, lru)
			clear_highpage(page);

		local_lock(&karena_pcp.lock);
		pcp = this_cpu_ptr(&karena_pcp);
		if (karena_pcp_adopt(pcp, key, &list, n,
				     READ_ONCE(karena_param_cache_high), &tag,
				     false))
			pcp->zeroed += n;
		local_unlock(&karena_pcp.lock);
		karena_free_list(&list);	/* what the cache did not take */
		karena_tag_free(tag);
		if (ref)
			css_put(&key->css);
		cond_resched();
	}
}

/* A cache whose memcg went offline is emptied, not kept up. */
static bool karena_drain_if_stale(void)
{
	bool stale;

	local_lock(&karena_pcp.lock);
	stale = karena_pcp_stale(this_cpu_ptr(&karena_pcp));
	local_unlock(&karena_pcp.lock);
	if (stale)
		karena_drain_local(NULL, UINT_MAX, KARENA_DRAIN_MEMCG);
	return stale;
}

static void karena_zero_workfn(struct work_struct *work)
{
	struct karena_pcp *pcp = container_of(to_delayed_work(work),
					      struct karena_pcp, zero_work);

	/* After CPU offline the work may run elsewhere: the dead callback drains. */
	if (pcp != raw_cpu_ptr(&karena_pcp) || karena_drain_if_stale())
		return;
	karena_zero_dirty();
}

/*
 * Zero the local cache's dirty pages, then top it up to 2 * cache_batch
 * pages for the memcg it belongs to, so that faults keep finding zeroed
 * pages without zeroing any.
 */
static void karena_refill_workfn(struct work_struct *work)
{
	struct karena_pcp *pcp = container_of(work, struct karena_pcp,
					      refill_work);
	unsigned int batch = READ_ONCE(karena_param_cache_batch);
	unsigned int high = READ_ONCE(karena_param_cache_high);
	unsigned int want = 0, target;
	struct mem_cgroup *key;
	unsigned long got;
	LIST_HEAD(list);

	if (pcp != raw_cpu_ptr(&karena_pcp) || karena_drain_if_stale())
		return;
	karena_zero_dirty();
	target = min(2 * batch, high);
	local_lock(&karena_pcp.lock);
	pcp = this_cpu_ptr(&karena_pcp);
	if (karena_pcp_total(pcp) && pcp->count < batch &&
	    karena_pcp_total(pcp) < target)
		want = target - karena_pcp_total(pcp);
	key = want ? karena_pcp_memcg_get(pcp) : NULL;
	local_unlock(&karena_pcp.lock);
	if (!want)
		return;

	got = karena_alloc_batch(key, want, &list, true);
	if (got)
		karena_cache_refill(key, &list, got, true);
	if (key)
		css_put(&key->css);
}

/* Runs on a control CPU after @cpu is dead: nothing else can use its cache. */
static int karena_cpu_dead(unsigned int cpu)
{
	karena_drain_cpu_unlocked(cpu, KARENA_DRAIN_OFFLINE);
	return 0;
}

int karena_cache_init(void)
{
	int cpu, ret;

	for_each_possible_cpu(cpu) {
		struct karena_pcp *pcp = per_cpu_ptr(&karena_pcp, cpu);

		INIT_LIST_HEAD(&pcp->pages);
		INIT_LIST_HEAD(&pcp->dirty);
		INIT_WORK(&pcp->drain_work, karena_drain_workfn);
		INIT_WORK(&pcp->refill_work, karena_refill_workfn);
		INIT_DELAYED_WORK(&pcp->zero_work, karena_zero_workfn);
	}
	ret = karena_reclaim_init();
	if (ret)
		return ret;
	ret = cpuhp_setup_state_nocalls(CPUHP_BP_PREPARE_DYN, "karena:dead",
					NULL, karena_cpu_dead);
	if (ret < 0) {
		karena_reclaim_stop();
		karena_reclaim_exit();
		return ret;
	}
	karena_cpuhp_state = ret;
	karena_cache_ready = true;
	return 0;
}

/* Module unload: no file, mapping or fault is left. */
void karena_cache_exit(void)
{
	int cpu;

	karena_cache_ready = false;
	karena_reclaim_stop();
	cpuhp_remove_state_nocalls(karena_cpuhp_state);
	for_each_possible_cpu(cpu) {
		cancel_work_sync(&per_cpu_ptr(&karena_pcp, cpu)->refill_work);
		cancel_delayed_work_sync(&per_cpu_ptr(&karena_pcp,
						      cpu)->zero_work);
	}
	for_each_possible_cpu(cpu)
		karena_drain_cpu_unlocked(cpu, KARENA_DRAIN_UNLOAD);
	karena_reclaim_exit();
}
