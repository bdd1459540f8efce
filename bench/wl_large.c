/* SPDX-License-Identifier: GPL-2.0 */
/*
 * large: large allocations and realloc growth.
 *  1. large churn: a window of 64 live blocks of 32 KiB .. 4 MiB
 *     (fixed-seed), each written once per page, one replaced per step;
 *     this is mmap/munmap or page-heap territory for every allocator.
 *  2. realloc growth: 16 buffers grown interleaved by 1.25x + 64 B steps
 *     from 16 B to 8 MiB, appending data each step (string-builder and
 *     vector growth), then freed; in-place growth pays off here.
 */
#include "common.h"

#define WINDOW	64
#define NBUF	16

static void touch_pages(unsigned char *p, size_t n)
{
	for (size_t off = 0; off < n; off += 4096)
		p[off] = (unsigned char)off;
	p[n - 1] = 1;
}

int main(int argc, char **argv)
{
	double scale = bench_scale(argc, argv);
	long steps = (long)(2000 * scale);
	int growth_rounds = (int)(1 * scale) < 1 ? 1 : (int)(1 * scale);
	unsigned char *win[WINDOW] = { 0 };
	struct rng r;
	unsigned long check = 0;

	rng_seed(&r, 99);
	double t0 = now_s();

	for (long i = 0; i < steps; i++) {
		unsigned k = (unsigned)rng_below(&r, WINDOW);
		size_t sz = rng_size(&r, 32768, 4 << 20);

		free(win[k]);
		win[k] = xmalloc(sz);
		touch_pages(win[k], sz);
		check += win[k][0];
	}
	for (int k = 0; k < WINDOW; k++)
		free(win[k]);
	double t1 = now_s();

	for (int rd = 0; rd < growth_rounds; rd++) {
		unsigned char *buf[NBUF] = { 0 };
		size_t len[NBUF] = { 0 };
		int live = NBUF;

		while (live > 0) {
			live = 0;
			for (int b = 0; b < NBUF; b++) {
				size_t nl = len[b] + len[b] / 4 + 64;

				if (len[b] >= (8u << 20))
					continue;
				live++;
				buf[b] = realloc(buf[b], nl);
				if (!buf[b])
					return 2;
				memset(buf[b] + len[b], b + rd, nl - len[b]);
				len[b] = nl;
			}
		}
		for (int b = 0; b < NBUF; b++) {
			check += buf[b][len[b] / 2];
			free(buf[b]);
		}
	}
	double t2 = now_s();

	printf("RESULT wl=large time_s=%.6f churn_s=%.6f realloc_s=%.6f check=%lu\n",
	       t2 - t0, t1 - t0, t2 - t1, check);
	return 0;
}
