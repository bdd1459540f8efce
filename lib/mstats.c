// SPDX-License-Identifier: MIT
/*
 * mstats.c - statistics like Go's runtime.MemStats: karena_stats() and the
 * C library's views of them (mallinfo2, mallinfo, malloc_info).
 *
 * Mallocs are counted in each mcache (bumped by its thread without
 * atomics, read racily here) plus the totals of exited threads.  Frees
 * are not counted at all: as Go counts its frees in bulk when it sweeps,
 * they are derived here, per class, as mallocs minus the objects still out,
 * which the spans know (allocCount, minus the objects freed by other
 * threads and not yet drained), minus the objects on the threads' lists
 * of freed objects and in the transfer caches (freed, still out in their
 * spans: tcache.c).
 * So free() costs no counter.  Code that moves objects between those
 * places outside their owner's thread (a batch going to the transfer
 * cache or back to its spans, the scavenger's drains) brackets the move
 * with transit_begin/transit_end, and the reader retries when a move
 * overlapped it: the counts are exact whenever the threads that own spans
 * are not inside malloc or free.  Page counts live in the heap under its
 * lock.  A snapshot is therefore consistent per field, not across fields.
 *
 * struct karena_heap_stats grows at its end only; its size field tells
 * the library how much the caller knows, and the library answers with how
 * much it filled (karena.h).
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include "internal.h"

_Static_assert(sizeof(struct karena_heap_stats) == KARENA_HEAP_STATS_SIZE_V1,
	       "a new field needs KARENA_HEAP_STATS_SIZE_V2, not a new V1");

/* moves in progress, and moves completed (a sequence count) */
static uint64_t transit_busy, transit_gen;

HIDDEN void transit_begin(void)
{
	__atomic_fetch_add(&transit_busy, 1, __ATOMIC_SEQ_CST);
}

HIDDEN void transit_end(void)
{
	__atomic_fetch_add(&transit_gen, 1, __ATOMIC_SEQ_CST);
	__atomic_fetch_sub(&transit_busy, 1, __ATOMIC_SEQ_CST);
}

#define TRANSIT_TRIES	1000

/* Per class: mallocs, frees (derived, see above), and the thread count. */
static void object_counts(uint64_t *nm, uint64_t *nf, uint64_t *nthreads)
{
	uint64_t out[NUM_CLASSES], held[NUM_CLASSES];

	for (int tries = 0;; tries++) {
		uint64_t gen;

		while (LOAD_ACQ(&transit_busy) && tries < TRANSIT_TRIES) {
			sched_yield();
			tries++;
		}
		gen = LOAD_ACQ(&transit_gen);
		memset(out, 0, sizeof(out));
		mcache_sum(nm, held, nthreads);
		mcentral_xfer_sum(held);
		span_inuse_sum(out);
		/* read-modify-writes: the loads above cannot pass them
		 * (a fence would do, but TSan does not take fences) */
		if ((!__atomic_fetch_add(&transit_busy, 0, __ATOMIC_ACQ_REL) &&
		     __atomic_fetch_add(&transit_gen, 0, __ATOMIC_ACQ_REL) == gen) ||
		    tries >= TRANSIT_TRIES)
			break;
	}
	for (int i = 0; i < NUM_CLASSES; i++) {
		uint64_t live = out[i] > held[i] ? out[i] - held[i] : 0;

		nf[i] = nm[i] > live ? nm[i] - live : 0;
	}
}

static void stats_fill(struct karena_heap_stats *st)
{
	uint64_t nm[NUM_CLASSES], nf[NUM_CLASSES], nthreads;
	struct heap_stats_raw h;

	object_counts(nm, nf, &nthreads);
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
	st->tiny_allocs = 0;	/* no tiny allocator (malloc.c) */
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
}

KARENA_EXPORT int karena_stats(struct karena_heap_stats *st)
{
	struct karena_heap_stats full;
	uint32_t size;

	if (!st || st->size < KARENA_HEAP_STATS_SIZE_V1 ||
	    st->size > KARENA_HEAP_STATS_SIZE_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (!LOAD_ACQ(&karena_inited))
		karena_init_slow();
	size = st->size < sizeof(full) ? st->size : (uint32_t)sizeof(full);
	memset(&full, 0, sizeof(full));
	stats_fill(&full);
	full.size = size;
	memset((char *)st + size, 0, st->size - size);
	memcpy(st, &full, size);
	return 0;
}

KARENA_EXPORT struct mallinfo2 karena_mallinfo2(void)
{
	struct karena_heap_stats st = { .size = sizeof(st) };
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

static int saturate(size_t v)
{
	return v > INT_MAX ? INT_MAX : (int)v;
}

KARENA_EXPORT struct mallinfo karena_mallinfo(void)
{
	struct mallinfo2 m2 = karena_mallinfo2();
	struct mallinfo mi = {
		.arena = saturate(m2.arena), .ordblks = saturate(m2.ordblks),
		.smblks = saturate(m2.smblks), .hblks = saturate(m2.hblks),
		.hblkhd = saturate(m2.hblkhd), .usmblks = saturate(m2.usmblks),
		.fsmblks = saturate(m2.fsmblks), .uordblks = saturate(m2.uordblks),
		.fordblks = saturate(m2.fordblks), .keepcost = saturate(m2.keepcost),
	};

	return mi;
}

#define ULL(x)	((unsigned long long)(x))

/* The totals glibc prints for a heap and again for the whole process. */
static void info_totals(FILE *fp, const struct karena_heap_stats *st, bool process)
{
	fprintf(fp, "<total type=\"fast\" count=\"0\" size=\"0\"/>\n"
		"<total type=\"rest\" count=\"%llu\" size=\"%llu\"/>\n",
		ULL(st->spans_inuse), ULL(st->heap_idle - st->heap_released));
	if (process)
		fprintf(fp, "<total type=\"mmap\" count=\"%llu\" size=\"%llu\"/>\n",
			ULL(st->large_mallocs - st->large_frees), ULL(st->large_inuse));
	fprintf(fp, "<system type=\"current\" size=\"%llu\"/>\n"
		"<system type=\"max\" size=\"%llu\"/>\n"
		"<aspace type=\"total\" size=\"%llu\"/>\n"
		"<aspace type=\"mprotect\" size=\"%llu\"/>\n",
		ULL(st->heap_sys - st->heap_released), ULL(st->heap_sys),
		ULL(st->heap_reserved), ULL(st->heap_sys));
}

/*
 * glibc's layout: one <heap> (karena has one heap), its <sizes> (glibc
 * lists free chunks by bin; karena lists live objects by size class, the
 * large objects last), totals, system memory and address space; then the
 * totals of the process.
 */
KARENA_EXPORT int karena_malloc_info(int options, FILE *fp)
{
	struct karena_heap_stats st = { .size = sizeof(st) };
	const char *size_fmt = "<size from=\"%llu\" to=\"%llu\" total=\"%llu\" count=\"%llu\"/>\n";
	uint64_t prev = 0;

	if (options != 0 || !fp) {
		errno = EINVAL;
		return -1;
	}
	if (karena_stats(&st))
		return -1;
	fprintf(fp, "<malloc version=\"1\">\n<heap nr=\"0\">\n<sizes>\n");
	for (int i = 1; i < NUM_CLASSES; i++) {
		const struct karena_class_stats *c = &st.by_size[i];

		if (c->mallocs > c->frees)
			fprintf(fp, size_fmt, ULL(prev + 1), ULL(c->size),
				ULL((c->mallocs - c->frees) * c->size), ULL(c->mallocs - c->frees));
		prev = st.by_size[i].size;
	}
	if (st.large_mallocs > st.large_frees)
		fprintf(fp, size_fmt, ULL(prev + 1), ULL(SIZE_MAX), ULL(st.large_inuse),
			ULL(st.large_mallocs - st.large_frees));
	fprintf(fp, "</sizes>\n");
	info_totals(fp, &st, false);
	fprintf(fp, "</heap>\n");
	info_totals(fp, &st, true);
	fprintf(fp, "</malloc>\n");
	return 0;
}

#ifndef KARENA_PREFIX_ONLY
KARENA_EXPORT struct mallinfo mallinfo(void) { return karena_mallinfo(); }
KARENA_EXPORT int malloc_info(int options, FILE *fp) { return karena_malloc_info(options, fp); }
#endif
