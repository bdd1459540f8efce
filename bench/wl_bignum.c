/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bignum: one thread, arbitrary-precision style arithmetic with short-lived
 * 8 .. 64 B allocations.  Numbers are a 4-byte length and 1 .. 15 32-bit
 * limbs (8 .. 64 B, kept below 2^480); every operation allocates its result, and operands
 * that are no longer needed are freed at once, as a bignum library
 * without in-place operations does.  A pool of 64 live numbers is updated
 * with x = a * b + c (two results, one temporary freed at once) and the
 * replaced number freed: about 6 million allocations per unit of scale.
 */
#include "common.h"

#define MAXLIMBS	15		/* 4 + 4 * 15 = 64 bytes */
#define POOL		64

struct num {
	uint32_t n;		/* limbs in use, 1 .. MAXLIMBS */
	uint32_t limb[];	/* 32-bit limbs, least significant first */
};

static struct num *num_new(uint32_t n)
{
	struct num *x = xmalloc(sizeof(*x) + 4 * (size_t)n);	/* 8 .. 64 B */

	x->n = n;
	return x;
}

static void num_trim(struct num *x)
{
	while (x->n > 1 && !x->limb[x->n - 1])
		x->n--;
}

/* a * b, truncated to MAXLIMBS limbs */
static struct num *num_mul(const struct num *a, const struct num *b)
{
	uint32_t n = a->n + b->n > MAXLIMBS ? MAXLIMBS : a->n + b->n;
	struct num *r = num_new(n);

	memset(r->limb, 0, 4 * (size_t)n);
	for (uint32_t i = 0; i < a->n && i < n; i++) {
		uint64_t carry = 0;

		for (uint32_t j = 0; j < b->n && i + j < n; j++) {
			carry += (uint64_t)a->limb[i] * b->limb[j] + r->limb[i + j];
			r->limb[i + j] = (uint32_t)carry;
			carry >>= 32;
		}
		if (i + b->n < n)
			r->limb[i + b->n] = (uint32_t)carry;
	}
	num_trim(r);
	return r;
}

/* a + b, truncated to MAXLIMBS limbs */
static struct num *num_add(const struct num *a, const struct num *b)
{
	uint32_t n = (a->n > b->n ? a->n : b->n) + 1;
	uint64_t carry = 0;
	struct num *r;

	if (n > MAXLIMBS)
		n = MAXLIMBS;
	r = num_new(n);
	for (uint32_t i = 0; i < n; i++) {
		carry += (uint64_t)(i < a->n ? a->limb[i] : 0) + (i < b->n ? b->limb[i] : 0);
		r->limb[i] = (uint32_t)carry;
		carry >>= 32;
	}
	num_trim(r);
	return r;
}

static struct num *num_small(struct rng *r)
{
	uint32_t n = 1 + (uint32_t)rng_below(r, 4);
	struct num *x = num_new(n);

	for (uint32_t i = 0; i < n; i++)
		x->limb[i] = (uint32_t)rng_next(r) | 1;
	return x;
}

int main(int argc, char **argv)
{
	long ops = (long)(3000000 * bench_scale(argc, argv));
	struct num *pool[POOL];
	unsigned long sum = 0;
	struct rng r;
	double t0;

	rng_seed(&r, 2718);
	for (int i = 0; i < POOL; i++)
		pool[i] = num_small(&r);
	t0 = now_s();
	for (long k = 0; k < ops; k++) {
		unsigned i = (unsigned)rng_below(&r, POOL);
		struct num *a = pool[rng_below(&r, POOL)], *b = pool[rng_below(&r, POOL)];
		struct num *t = num_mul(a, b), *x;

		if (t->n >= MAXLIMBS - 3) {
			/* keep the numbers small: start this slot over */
			free(t);
			x = num_small(&r);
		} else {
			x = num_add(t, pool[rng_below(&r, POOL)]);
			free(t);
		}
		sum += x->limb[0] + x->n;
		free(pool[i]);
		pool[i] = x;
	}
	double dt = now_s() - t0;

	for (int i = 0; i < POOL; i++)
		free(pool[i]);
	printf("RESULT wl=bignum time_s=%.6f ops=%ld check=%lu\n", dt, ops, sum);
	return 0;
}
