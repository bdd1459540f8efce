/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lifo: one thread, mixed small sizes (8 .. 512 B from a fixed table),
 * allocated in bulk and freed in LIFO order, repeated.  Each round
 * allocates 1000 objects and frees them newest first, then runs 1000
 * stack operations (push a new object or pop the newest, at random,
 * depth bounded), as a parser or an interpreter's temporaries do.
 */
#include "common.h"

#define BULK	1000

static const unsigned short sizes[] = {
	8, 16, 24, 32, 40, 48, 64, 80, 96, 128, 160, 192, 256, 320, 384, 512,
};
#define NSIZES	(sizeof(sizes) / sizeof(sizes[0]))

int main(int argc, char **argv)
{
	long rounds = (long)(4000 * bench_scale(argc, argv));
	static unsigned char *stack[BULK];
	unsigned long sum = 0;
	struct rng r;
	double t0;

	rng_seed(&r, 99);
	t0 = now_s();
	for (long rd = 0; rd < rounds; rd++) {
		int top = 0;

		for (int i = 0; i < BULK; i++) {
			size_t sz = sizes[rng_below(&r, NSIZES)];

			stack[i] = xmalloc(sz);
			touch(stack[i], sz);
		}
		for (int i = BULK - 1; i >= 0; i--) {
			sum += stack[i][0];
			free(stack[i]);
		}
		for (int i = 0; i < BULK; i++) {
			if (top > 0 && (top == BULK || rng_below(&r, 2))) {
				sum += stack[--top][0];
				free(stack[top]);
			} else {
				size_t sz = sizes[rng_below(&r, NSIZES)];

				stack[top] = xmalloc(sz);
				touch(stack[top++], sz);
			}
		}
		while (top > 0)
			free(stack[--top]);
	}
	printf("RESULT wl=lifo time_s=%.6f rounds=%ld check=%lu\n", now_s() - t0,
	       rounds, sum);
	return 0;
}
