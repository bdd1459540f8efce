/* SPDX-License-Identifier: GPL-2.0 */
/*
 * frag: fragmentation and memory given back.  Allocates a fixed-seed mix
 * (mostly 16 B .. 8 KiB, 2% 64 KiB .. 1 MiB) of about 256 MiB, frees a
 * random 90% of it, and measures RSS (/proc/self/statm):
 *
 *   rss_peak_kb   after the allocation phase
 *   rss_freed_kb  after the frees and a settle sleep of BENCH_SETTLE_MS
 *                 (default 1000 ms) with no explicit call: what a
 *                 background scavenger / decay (karena, jemalloc) or the
 *                 free path itself (glibc top trim) gave back by then
 *   rss_trim_kb   after an explicit release: malloc_trim(0) always (glibc,
 *                 karena's malloc_trim), plus the allocator's own call when
 *                 it is present in the process (looked up with dlsym:
 *                 jemalloc mallctl("arena.4096.purge"), tcmalloc
 *                 MallocExtension_ReleaseFreeMemory, mimalloc mi_collect(1),
 *                 karena_release), then 100 ms more
 *
 * time_s is the allocation + free work only, not the sleeps.
 */
#include "common.h"
#include <dlfcn.h>
#include <malloc.h>

static void release_all(void)
{
	int (*mallctl)(const char *, void *, size_t *, void *, size_t);
	void (*tc_release)(void);
	void (*mi_collect)(int);
	void (*kr)(void);

	malloc_trim(0);
	mallctl = (int (*)(const char *, void *, size_t *, void *, size_t))
		dlsym(RTLD_DEFAULT, "mallctl");
	if (mallctl)
		mallctl("arena.4096.purge", NULL, NULL, NULL, 0);
	tc_release = (void (*)(void))dlsym(RTLD_DEFAULT, "MallocExtension_ReleaseFreeMemory");
	if (tc_release)
		tc_release();
	mi_collect = (void (*)(int))dlsym(RTLD_DEFAULT, "mi_collect");
	if (mi_collect)
		mi_collect(1);
	kr = (void (*)(void))dlsym(RTLD_DEFAULT, "karena_release");
	if (kr)
		kr();
}

int main(int argc, char **argv)
{
	double scale = bench_scale(argc, argv);
	size_t target = (size_t)(256.0 * 1024 * 1024 * scale), total = 0;
	const char *s = getenv("BENCH_SETTLE_MS");
	long settle_ms = s ? atol(s) : 1000;
	size_t cap = 1 << 20, n = 0, kept = 0;
	void **objs;
	struct rng r;
	long rss0 = rss_kb(), peak, freed, trimmed;

	rng_seed(&r, 2024);
	objs = xmalloc(cap * sizeof(void *));
	double t0 = now_s();

	while (total < target) {
		size_t sz = rng_below(&r, 50) == 0 ? rng_size(&r, 65536, 1 << 20)
						   : rng_size(&r, 16, 8192);
		if (n == cap) {
			cap *= 2;
			objs = realloc(objs, cap * sizeof(void *));
			if (!objs)
				return 2;
		}
		objs[n] = xmalloc(sz);
		memset(objs[n], (int)n, sz);
		total += sz;
		n++;
	}
	double t1 = now_s();

	peak = rss_kb();
	double t2 = now_s();

	for (size_t i = 0; i < n; i++) {
		if (rng_below(&r, 10) == 0) {
			objs[kept++] = objs[i];	/* survivor, stays live */
			continue;
		}
		free(objs[i]);
	}
	double dt = (t1 - t0) + (now_s() - t2);

	usleep(settle_ms * 1000);
	freed = rss_kb();
	release_all();
	usleep(100 * 1000);
	trimmed = rss_kb();

	unsigned long check = 0;

	for (size_t i = 0; i < kept; i++) {
		check += *(unsigned char *)objs[i];
		free(objs[i]);
	}
	free(objs);
	printf("RESULT wl=frag time_s=%.6f objs=%zu bytes=%zu rss_start_kb=%ld "
	       "rss_peak_kb=%ld rss_freed_kb=%ld rss_trim_kb=%ld settle_ms=%ld check=%lu\n",
	       dt, n, total, rss0, peak, freed, trimmed, settle_ms, check);
	return 0;
}
