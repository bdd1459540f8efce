/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rounds: a heap that grows, churns and is given back, again and again,
 * the way a batch server handles one request after another.  Each round:
 *
 *   1. allocate about 96 MiB x scale in log-uniform sizes 16 B .. 64 KiB
 *      and write every byte (memset), so every page of the heap is touched
 *   2. free a random half and allocate it again (same sizes), writing it
 *   3. free everything and call malloc_trim(0): the allocator returns its
 *      free pages to the kernel
 *   4. pause 200 ms (BENCH_SETTLE_MS; not part of time_s)
 *
 * Four rounds.  Page faults per round therefore measure how many faults
 * the allocator's memory costs per MiB it hands out: a heap on 4 KiB
 * faults takes one per page, one on transparent huge pages one per 2 MiB.
 * Prints: RESULT wl=rounds time_s=<s> touched_mib=<MiB written> objs=<n>
 */
#include "common.h"
#include <malloc.h>

#define ROUNDS		4
#define MIN_SZ		16
#define MAX_SZ		(64 << 10)

struct obj {
	void *p;
	size_t n;
};

static size_t fill(struct obj *o, size_t i)
{
	o[i].p = xmalloc(o[i].n);
	memset(o[i].p, (int)(i & 0xff) | 1, o[i].n);
	return o[i].n;
}

int main(int argc, char **argv)
{
	double scale = bench_scale(argc, argv);
	size_t target = (size_t)(96.0 * (1 << 20) * scale), nobj = 0, cap = 1024;
	const char *ms = getenv("BENCH_SETTLE_MS");
	long pause_ms = ms ? atol(ms) : 200;
	struct obj *o = xmalloc(cap * sizeof(*o));
	double work = 0, touched = 0;
	struct rng r;

	/* the sizes are fixed up front: every round and allocator does the same */
	rng_seed(&r, 0x726f756e6473ULL);
	for (size_t sum = 0; sum < target; nobj++) {
		if (nobj == cap) {
			cap *= 2;
			o = realloc(o, cap * sizeof(*o));
			if (!o)
				return 2;
		}
		o[nobj].n = rng_size(&r, MIN_SZ, MAX_SZ);
		sum += o[nobj].n;
	}
	for (int round = 0; round < ROUNDS; round++) {
		double t0 = now_s();

		for (size_t i = 0; i < nobj; i++)
			touched += (double)fill(o, i);
		for (size_t i = 0; i < nobj; i++) {
			if (rng_below(&r, 2))
				continue;
			free(o[i].p);
			touched += (double)fill(o, i);
		}
		for (size_t i = 0; i < nobj; i++)
			free(o[i].p);
		malloc_trim(0);
		work += now_s() - t0;
		usleep((useconds_t)pause_ms * 1000);
	}
	printf("RESULT wl=rounds time_s=%.6f touched_mib=%.1f objs=%zu\n", work,
	       touched / (1 << 20), nobj);
	free(o);
	return 0;
}
