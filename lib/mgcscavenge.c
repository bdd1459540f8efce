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

static void scavenge_tick(void)
{
	uint64_t sys, released, inuse, retained, goal, want;

	pthread_mutex_lock(&mheap_.lock);
	sys = mheap_.st.sys;
	released = mheap_.st.released;
	inuse = mheap_.st.inuse_pages * PAGE_BYTES;
	pthread_mutex_unlock(&mheap_.lock);
	retained = sys - released;
	goal = inuse + inuse / 100 * (uint64_t)scav_percent;
	if (retained <= goal)
		return;
	want = retained - goal;
	if (want > scav_rate / (1000000000 / TICK_NS))
		want = scav_rate / (1000000000 / TICK_NS);
	if (want >= PAGE_BYTES)
		mheap_scavenge(want, scav_age_ticks, true);
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
