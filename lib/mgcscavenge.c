// SPDX-License-Identifier: MIT
/*
 * mgcscavenge.c - the scavenger: returns idle heap pages to the OS.
 *
 * Goal (like Go's): retained memory (heap_sys - heap_released) should not
 * exceed heap_inuse * (100 + KARENA_SCAVENGE_PERCENT) / 100.  A background
 * thread wakes every 20 ms and, when over the goal, Unuses idle pages (the
 * biggest free runs first) up to the rate limit KARENA_SCAVENGE_RATE MiB/s,
 * skipping runs freed in the last KARENA_SCAVENGE_AGE_MS (200 ms): those
 * are what a churning program reuses next, and scavenging them only trades
 * an madvise now for a page fault per page soon after.
 * Once a second it also returns mcentral spans that became empty through
 * remote frees.  It never runs on the allocation path: allocation only
 * starts the thread, once, the first time the heap has grown past 16 MiB
 * (small programs never get an extra thread).  KARENA_SCAVENGER=0
 * disables it; karena_release() / malloc_trim() scavenge everything at once.
 * The background release and karena_release() ask for OS_F_LAZY (os.h):
 * on the device backend the module keeps the pages until memory pressure
 * needs them, so a run reused soon after costs no fault; malloc_trim()
 * asks for memory back now (glibc's meaning) and releases at once.
 *
 * Huge blocks (TCMalloc's hugepage-aware release): on the device backend
 * a 2 MiB block backed by one huge page is released whole or not at all;
 * releasing part of it would copy it to 4 KiB pages, whose every page then
 * faults back one by one.  So the free pages of a huge-backed block that
 * still holds objects stay with it (scav_keep_huge below): for
 * malloc_trim() and karena_release() always; for this thread while
 * retained memory stays within the larger of (a) the goal plus another
 * KARENA_SCAVENGE_PERCENT of the heap in use and (b) the heap's recent
 * peak in use (1-2 s, TCMalloc's skip-subrelease idea: memory the program
 * needed a moment ago it will likely need again) plus that percent.  Past
 * both (memory pressure, as these goals define it) it cuts blocks too,
 * down to that limit, in runs idle for 1 s or more (a program that grows
 * reuses its kept pages sooner: bench large, where cutting younger runs
 * cost 2,000-4,400 4 KiB faults and lowered no peak RSS).  The kept pages
 * count as retained (not released) and in RSS.
 */
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include "internal.h"

#define TICK_NS		(20 * 1000 * 1000)
#define START_SYS	(16u << 20)

HIDDEN int scavenger_wanted;
HIDDEN uint32_t scav_tick;
static uint32_t scav_age_ticks = 10;	/* 200 ms */
HIDDEN int scavenger_enabled = 1;
static int scav_started;
static long scav_percent = 10;
static uint64_t scav_rate = 256ull << 20;

HIDDEN void scavenger_init(void)
{
	scavenger_enabled = karena_option(OPT_SCAVENGER) != 0;
	scav_percent = karena_option(OPT_SCAVENGE_PERCENT);
	scav_rate = (uint64_t)karena_option(OPT_SCAVENGE_RATE) << 20;
	scav_age_ticks = (uint32_t)(karena_option(OPT_SCAVENGE_AGE_MS) /
				    (TICK_NS / 1000000));
}

/*
 * The heap in use at its recent peak: the highest value (mheap.c counts
 * it at every allocation) in the current and the previous PEAK_TICKS
 * ticks (1 to 2 s).  peak: the highest since the last tick.
 */
#define PEAK_TICKS	50
static uint64_t peak_cur, peak_prev;
static unsigned peak_ticks;

static uint64_t recent_peak(uint64_t peak)
{
	if (++peak_ticks >= PEAK_TICKS) {
		peak_ticks = 0;
		peak_prev = peak_cur;
		peak_cur = 0;
	}
	if (peak > peak_cur)
		peak_cur = peak;
	return peak_cur > peak_prev ? peak_cur : peak_prev;
}

/*
 * Runs idle for less than this many ticks are not cut: 1 s, or
 * KARENA_SCAVENGE_AGE_MS when longer (0: no age limit at all).
 */
#define CUT_AGE_TICKS	50
static uint32_t cut_age(void)
{
	if (!scav_age_ticks)
		return 0;
	return scav_age_ticks > CUT_AGE_TICKS ? scav_age_ticks : CUT_AGE_TICKS;
}

static void scavenge_tick(void)
{
	uint64_t sys, released, inuse, retained, goal, keep, peak, want, got;

	pthread_mutex_lock(&mheap_.lock);
	sys = mheap_.st.sys;
	released = mheap_.st.released;
	inuse = mheap_.st.inuse_pages * PAGE_BYTES;
	peak = mheap_.st.peak_pages * PAGE_BYTES;
	mheap_.st.peak_pages = mheap_.st.inuse_pages;
	pthread_mutex_unlock(&mheap_.lock);
	peak = recent_peak(peak);
	retained = sys - released;
	goal = inuse + inuse / 100 * (uint64_t)scav_percent;
	if (retained <= goal)
		return;
	want = retained - goal;
	if (want > scav_rate / (1000000000 / TICK_NS))
		want = scav_rate / (1000000000 / TICK_NS);
	if (want < PAGE_BYTES)
		return;
	got = mheap_scavenge(want, scav_age_ticks, true);
	/* what huge blocks kept whole may hold: the larger of two goals */
	keep = goal + inuse / 100 * (uint64_t)scav_percent;
	peak += peak / 100 * (uint64_t)scav_percent;
	if (keep < peak)
		keep = peak;
	retained -= got;
	if (retained > keep && want - got >= PAGE_BYTES) {
		want -= got;
		if (want > retained - keep)
			want = retained - keep;
		if (want >= PAGE_BYTES)
			mheap_scavenge_cut(want, cut_age(), true);
	}
}

static void *scavenger_main(void *arg)
{
	struct timespec ts = { 0, TICK_NS };
	unsigned n = 0;

	(void)arg;
	for (;;) {
		nanosleep(&ts, NULL);
		__atomic_fetch_add(&scav_tick, 1, __ATOMIC_RELAXED);
		if (++n % 50 == 0)
			mcentral_reclaim();
		scavenge_tick();
	}
	return NULL;
}

/*
 * Huge blocks (the device backend: one huge page backs a 2 MiB block; the
 * mmap backend has no huge_backed op).  Releasing part of a huge-backed
 * block copies it to 4 KiB pages, and it never maps by PMD again in that
 * mapping: every page comes back on a 4 KiB fault.  The blocks a free run
 * lies across are wholly free except the first and the last, and a block
 * with a released page is no longer huge-backed, so only a run's end
 * blocks can be cut.  Unless cut is asked for, the run's pages in a
 * huge-backed end block are left alone: [*lo, *hi) may be released.
 * They are released whole once the run covers the block.
 */
#define HUGE_BYTES	((uintptr_t)2 << 20)

static bool scav_keep_huge(const struct mspan *x, bool cut, uintptr_t *lo,
			   uintptr_t *hi)
{
	uintptr_t s = x->start, e = s + x->npages * PAGE_BYTES;

	*lo = s;
	*hi = e;
	if (cut || !os_cur->huge_backed)
		return false;
	if ((s & (HUGE_BYTES - 1)) && sysHugeBacked((void *)s)) {
		*lo = (s + HUGE_BYTES - 1) & ~(HUGE_BYTES - 1);
		if (*lo > e)
			*lo = e;
	}
	if ((e & (HUGE_BYTES - 1)) && *lo < e &&
	    sysHugeBacked((void *)(e - PAGE_BYTES))) {
		*hi = e & ~(HUGE_BYTES - 1);
		if (*hi < *lo)
			*hi = *lo;
	}
	return *lo != s || *hi != e;
}

/*
 * Scavenge: Unuse up to max_bytes of idle, unscavenged pages.  Runs are
 * taken out of the free lists in batches (state BUSY, so neighbours do not
 * merge with them) and Unused without the heap lock; biggest runs first.
 * Runs freed less than min_age_ticks scavenger ticks ago are skipped: a
 * program churning big blocks reuses them at once, and releasing them
 * only makes it fault every page back in (wl_large: 2.5x the faults).
 * Without cut, huge-backed blocks are released whole or not at all
 * (scav_keep_huge); a run that kept some is not taken again in this call.
 */
#define SCAV_BATCH 16
#define SCAV_KEPT 64
static inline bool scav_young(const struct mspan *x, uint32_t now, uint32_t age)
{
	return age && now - x->freetick < age;
}

struct scav_pick {
	uint32_t now, age;
	struct mspan *kept[SCAV_KEPT];	/* runs that kept huge blocks */
	size_t nkept;
};

static bool scav_candidate(const struct scav_pick *pk, const struct mspan *x)
{
	if (x->nscav >= x->npages || scav_young(x, pk->now, pk->age))
		return false;
	for (size_t i = 0; i < pk->nkept; i++)
		if (pk->kept[i] == x)
			return false;
	return true;
}

/* Up to SCAV_BATCH candidate runs, biggest first, about budget pages. */
static size_t scav_pick_runs(const struct scav_pick *pk, size_t budget,
			     struct mspan **b)
{
	size_t nb = 0, want = 0;

	for (struct mspan *x = mheap_.large.head; x && nb < SCAV_BATCH &&
	     want < budget; x = x->next)
		if (scav_candidate(pk, x)) {
			b[nb++] = x;
			want += x->npages - x->nscav;
		}
	for (size_t n = FREE_BINS - 1; n > 0 && nb < SCAV_BATCH &&
	     want < budget; n--)
		for (struct mspan *x = mheap_.free[n].head; x && nb < SCAV_BATCH &&
		     want < budget; x = x->next)
			if (scav_candidate(pk, x)) {
				b[nb++] = x;
				want += x->npages - x->nscav;
			}
	return nb;
}

static size_t scavenge(size_t max_bytes, uint32_t min_age_ticks, bool lazy,
		       bool cut)
{
	unsigned flags = lazy && os_unused_lazy ? OS_F_LAZY : 0;
	struct scav_pick pk = { .now = LOAD(&scav_tick), .age = min_age_ticks };
	size_t budget = max_bytes >> PAGE_SHIFT, done = 0;

	pthread_mutex_lock(&mheap_.lock);
	/* at most what is idle now: threads freeing while we work must not
	 * keep a full release (karena_release, malloc_trim) going forever */
	if (budget > mheap_.st.idle_pages)
		budget = mheap_.st.idle_pages;
	while (done < budget &&
	       mheap_.st.idle_pages * PAGE_BYTES > mheap_.st.released) {
		struct mspan *b[SCAV_BATCH];
		size_t nb = scav_pick_runs(&pk, budget - done, b);
		uintptr_t lo[SCAV_BATCH], hi[SCAV_BATCH];
		bool kept[SCAV_BATCH], newly_kept = false;

		if (!nb)
			break;
		for (size_t k = 0; k < nb; k++) {
			free_remove(b[k]);
			b[k]->state = SPAN_BUSY;
		}
		pthread_mutex_unlock(&mheap_.lock);

		size_t got[SCAV_BATCH], left_budget = budget - done, round = 0;

		for (size_t k = 0; k < nb; k++) {
			kept[k] = scav_keep_huge(b[k], cut, &lo[k], &hi[k]);
			got[k] = left_budget && lo[k] < hi[k] ?
				scav_runs_apply(lo[k], (hi[k] - lo[k]) / PAGE_BYTES,
						false, OS_UNUSED, flags,
						left_budget) : 0;
			left_budget -= got[k];
			round += got[k];
		}

		pthread_mutex_lock(&mheap_.lock);
		for (size_t k = 0; k < nb; k++) {
			struct mspan *x = b[k];
			size_t left = got[k];

			/* mark what was released: the first got[k] unscavenged
			 * pages from lo[k] */
			for (uintptr_t a = lo[k]; a < hi[k] && left; a += PAGE_BYTES) {
				if (!scav_test(a)) {
					scav_set_range(a, 1, true);
					if (flags)
						dirty_set(a);
					left--;
				}
			}
			x->nscav += got[k];
			mheap_.st.released += got[k] * PAGE_BYTES;
			mheap_.st.scavenged_total += got[k] * PAGE_BYTES;
			done += got[k];
			if (kept[k] && pk.nkept < SCAV_KEPT) {
				pk.kept[pk.nkept++] = x;
				newly_kept = true;
			}
			free_coalesce_insert(x);
		}
		/* nothing could be released (and no run is skipped from now
		 * on): try later */
		if (!round && !newly_kept)
			break;
	}
	pthread_mutex_unlock(&mheap_.lock);
	return done * PAGE_BYTES;
}

/* Release without cutting a huge-backed block (scav_keep_huge). */
HIDDEN size_t mheap_scavenge(size_t max_bytes, uint32_t min_age_ticks,
			     bool lazy)
{
	return scavenge(max_bytes, min_age_ticks, lazy, false);
}

/* The same, cutting huge-backed blocks too (the scavenger under pressure). */
HIDDEN size_t mheap_scavenge_cut(size_t max_bytes, uint32_t min_age_ticks,
				 bool lazy)
{
	return scavenge(max_bytes, min_age_ticks, lazy, true);
}

HIDDEN void scavenger_maybe_start(void)
{
	pthread_t t;
	pthread_attr_t attr;
	sigset_t all, old;
	int zero = 0;

	if (likely(!LOAD(&scavenger_wanted)) || LOAD(&scav_started) || !LOAD(&scavenger_enabled))
		return;
	if (LOAD(&mheap_.st.sys) < START_SYS)
		return;
	if (!__atomic_compare_exchange_n(&scav_started, &zero, 1, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 << 10);
	/* on failure scav_started stays set: no retry on every refill */
	(void)pthread_create(&t, &attr, scavenger_main, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

HIDDEN void scavenger_after_fork_child(void)
{
	scav_started = 0;
}
