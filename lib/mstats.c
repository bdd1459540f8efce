// SPDX-License-Identifier: MIT
/*
 * mstats.c - statistics like Go's runtime.MemStats.
 *
 * Object counts live in each mcache (bumped by its thread without atomics,
 * read racily here) plus the totals of exited threads and an atomic
 * global for frees by threads without a cache; page counts live in the
 * heap under its lock.  A snapshot is therefore consistent per field, not
 * across fields.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "internal.h"

#define EXPORT __attribute__((visibility("default")))

HIDDEN uint64_t global_nfree[NUM_CLASSES];
static int stats_fd = 2;

/*
 * KARENA_STATS: keep a private duplicate of stderr, taken at init, for the
 * report at exit: programs such as coreutils close fd 2 in an atexit
 * handler, which runs before this library's destructor.
 */
HIDDEN void karena_stats_fd_save(void)
{
	int fd;

	if (stats_fd != 2)
		return;
	fd = fcntl(2, F_DUPFD_CLOEXEC, 1000);
	if (fd < 0)
		fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
	if (fd >= 0)
		stats_fd = fd;
}

EXPORT int karena_stats(struct karena_heap_stats *st)
{
	uint64_t nm[NUM_CLASSES], nf[NUM_CLASSES], tiny, nthreads;
	struct heap_stats_raw h;

	if (!st) {
		errno = EINVAL;
		return -1;
	}
	if (!LOAD_ACQ(&karena_inited))
		karena_init_slow();
	memset(st, 0, sizeof(*st));
	mcache_sum(nm, nf, &tiny, &nthreads);
	pthread_mutex_lock(&mheap_.lock);
	h = mheap_.st;
	pthread_mutex_unlock(&mheap_.lock);

	st->heap_sys = h.sys;
	st->heap_inuse = h.inuse_pages * PAGE_BYTES;
	st->heap_idle = h.idle_pages * PAGE_BYTES;
	st->heap_released = h.released;
	st->heap_reserved = h.reserved;
	st->large_mallocs = h.large_mallocs;
	st->large_frees = h.large_frees;
	st->large_inuse = h.large_inuse;
	st->spans_inuse = h.spans_inuse;
	st->scavenged_total = h.scavenged_total;
	st->tiny_allocs = tiny;
	st->nthreads = nthreads;
	st->os_ops = LOAD(&os_nops);
	st->by_size[0].mallocs = h.large_mallocs;
	st->by_size[0].frees = h.large_frees;
	st->mallocs = h.large_mallocs;
	st->frees = h.large_frees;
	st->heap_alloc = h.large_inuse;
	st->total_alloc = h.large_bytes_total;
	for (int i = 1; i < NUM_CLASSES; i++) {
		uint64_t sz = karena_class_to_size[i];
		uint64_t f = nf[i] > nm[i] ? nm[i] : nf[i];

		st->by_size[i].size = sz;
		st->by_size[i].mallocs = nm[i];
		st->by_size[i].frees = nf[i];
		st->mallocs += nm[i];
		st->frees += nf[i];
		st->heap_alloc += (nm[i] - f) * sz;
		st->total_alloc += nm[i] * sz;
	}
	st->heap_objects = st->mallocs > st->frees ? st->mallocs - st->frees : 0;
	return 0;
}

/* level 1: totals; level 2: also per size class */
HIDDEN void karena_stats_print_level(int level)
{
	struct karena_heap_stats st;
	char buf[512];
	int n;

	if (karena_stats(&st))
		return;
	/* no stdio: it may allocate, and this also runs at exit */
	n = snprintf(buf, sizeof(buf),
		     "karena: backend=%s threads=%llu\n"
		     "karena: mallocs=%llu frees=%llu\n"
		     "karena: heap_sys=%llu heap_alloc=%llu heap_idle=%llu heap_inuse=%llu heap_released=%llu\n"
		     "karena: heap_objects=%llu total_alloc=%llu large=%llu/%llu tiny=%llu os_ops=%llu\n",
		     os_cur->name, (unsigned long long)st.nthreads,
		     (unsigned long long)st.mallocs, (unsigned long long)st.frees,
		     (unsigned long long)st.heap_sys, (unsigned long long)st.heap_alloc,
		     (unsigned long long)st.heap_idle, (unsigned long long)st.heap_inuse,
		     (unsigned long long)st.heap_released,
		     (unsigned long long)st.heap_objects, (unsigned long long)st.total_alloc,
		     (unsigned long long)st.large_mallocs, (unsigned long long)st.large_frees,
		     (unsigned long long)st.tiny_allocs, (unsigned long long)st.os_ops);
	if (n > 0 && write(stats_fd, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1) < 0)
		return;
	for (int i = 1; i < NUM_CLASSES && level > 1; i++) {
		if (!st.by_size[i].mallocs)
			continue;
		n = snprintf(buf, sizeof(buf), "karena: class %2d size %5llu mallocs=%llu frees=%llu\n",
			     i, (unsigned long long)st.by_size[i].size,
			     (unsigned long long)st.by_size[i].mallocs,
			     (unsigned long long)st.by_size[i].frees);
		if (n > 0 && write(stats_fd, buf, (size_t)n) < 0)
			return;
	}
}

EXPORT void karena_stats_print(void)
{
	karena_stats_print_level(2);
}

EXPORT struct mallinfo2 karena_mallinfo2(void)
{
	struct karena_heap_stats st;
	struct mallinfo2 mi;

	memset(&mi, 0, sizeof(mi));
	if (karena_stats(&st))
		return mi;
	/* as glibc: large objects (its mmapped chunks) only in hblks/hblkhd,
	 * so uordblks + hblkhd is the total in use */
	mi.arena = st.heap_sys > st.large_inuse ? st.heap_sys - st.large_inuse : 0;
	mi.ordblks = 0;
	mi.hblks = st.large_mallocs - st.large_frees;
	mi.hblkhd = st.large_inuse;
	mi.uordblks = st.heap_alloc > st.large_inuse ? st.heap_alloc - st.large_inuse : 0;
	mi.fordblks = mi.arena > mi.uordblks ? mi.arena - mi.uordblks : 0;
	mi.keepcost = st.heap_idle - st.heap_released;
	return mi;
}

EXPORT void karena_malloc_stats(void)
{
	karena_stats_print();
}
