/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sizeclass: malloc/free fast path, one thread, one size at a time.
 * For each size (spread over Go's small size classes, 8 B .. 32 KiB) it
 * runs batches of mallocs followed by as many frees in a shuffled order,
 * so the allocator's per-thread cache and free path are both exercised.
 * A batch is 256 objects but at most 64 KiB, so that no allocator is
 * pushed into returning memory to the OS (glibc trims the heap top past
 * 128 KiB): this measures the fast path, not page faults.
 * Prints ns per malloc+free pair per size and the total.
 */
#include "common.h"

#define BATCH 256

static const size_t sizes[] = {
	8, 16, 24, 32, 48, 64, 96, 128, 176, 256, 384, 512, 768, 1024,
	1536, 2048, 3072, 4096, 6144, 8192, 12288, 16384, 24576, 32768,
};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

int main(int argc, char **argv)
{
	double scale = bench_scale(argc, argv);
	long pairs = (long)(1000000 * scale);	/* malloc+free pairs per size */
	static void *slot[BATCH];
	static unsigned perm[BATCH];
	struct rng r;
	double total = 0, ns[NSIZES];
	uintptr_t sink = 0;

	rng_seed(&r, 42);
	for (unsigned i = 0; i < BATCH; i++)
		perm[i] = i;
	for (unsigned i = BATCH - 1; i > 0; i--) {
		unsigned j = (unsigned)rng_below(&r, i + 1), t = perm[i];

		perm[i] = perm[j];
		perm[j] = t;
	}
	for (size_t k = 0; k < NSIZES; k++) {
		size_t sz = sizes[k];
		unsigned batch = 65536 / sz < BATCH ? 65536 / sz : BATCH;
		long rounds = pairs / batch;
		double t0 = now_s();

		for (long rd = 0; rd < rounds; rd++) {
			for (unsigned i = 0; i < batch; i++) {
				slot[i] = xmalloc(sz);
				*(volatile char *)slot[i] = (char)i;
			}
			for (unsigned i = 0; i < BATCH; i++)
				if (perm[i] < batch)
					free(slot[perm[i]]);
			sink += (uintptr_t)slot[0] & 1;
		}
		double dt = now_s() - t0;

		ns[k] = dt * 1e9 / (double)(rounds * batch);
		total += dt;
	}
	printf("RESULT wl=sizeclass time_s=%.6f", total);
	for (size_t k = 0; k < NSIZES; k++)
		printf(" ns_%zu=%.2f", sizes[k], ns[k]);
	printf(" sink=%lu\n", (unsigned long)sink);
	return 0;
}
