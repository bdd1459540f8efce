// SPDX-License-Identifier: MIT
/*
 * os_dev_bounds.c - where the device backend's mappings start and end.
 *
 * The module applies a range only when one mapping (VMA) of the file
 * holds all of it, and device VMAs never merge.  The heap does treat
 * adjacent reservations as one region, so the backend remembers where its
 * reservations start and end and splits every range at those addresses
 * (dev_bounds_next()).  The table is read without a lock (slots are
 * written atomically; a range in use never loses its own boundaries) and
 * written under a spin flag by reserve and free, which the heap calls
 * under its own lock.
 */
#include "os_dev.h"

#define BND_MAX		4096	/* remembered mapping boundaries */

static uintptr_t bnd[BND_MAX];	/* 0: free slot */
static unsigned int bnd_hi;	/* slots [0, bnd_hi) may be in use */
static int bnd_busy;
static int bnd_full_warned;

/* Under bnd_busy. */
static void bnd_add(uintptr_t a)
{
	unsigned int i, free_slot = BND_MAX;

	for (i = 0; i < bnd_hi; i++) {
		uintptr_t v = bnd[i];

		if (v == a)
			return;
		if (!v && free_slot == BND_MAX)
			free_slot = i;
	}
	if (free_slot == BND_MAX) {
		if (bnd_hi == BND_MAX) {
			if (karena_debug && !bnd_full_warned++)
				karena_warn("dev backend: mapping boundary table full");
			return;
		}
		free_slot = bnd_hi;
		__atomic_store_n(&bnd_hi, bnd_hi + 1, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&bnd[free_slot], a, __ATOMIC_RELEASE);
}

/* Under bnd_busy: forget boundaries in [a, b), that address space is gone. */
static void bnd_del_range(uintptr_t a, uintptr_t b)
{
	unsigned int i;

	for (i = 0; i < bnd_hi; i++) {
		uintptr_t v = bnd[i];

		if (v && v >= a && v < b)
			__atomic_store_n(&bnd[i], 0, __ATOMIC_RELAXED);
	}
}

void dev_bounds_set(uintptr_t a, size_t len)
{
	dev_spin_lock(&bnd_busy);
	bnd_del_range(a, a + len);
	bnd_add(a);
	bnd_add(a + len);
	dev_spin_unlock(&bnd_busy);
}

uintptr_t dev_bounds_next(uintptr_t a, uintptr_t b)
{
	unsigned int i, n = __atomic_load_n(&bnd_hi, __ATOMIC_ACQUIRE);
	uintptr_t best = b;

	for (i = 0; i < n; i++) {
		uintptr_t v = __atomic_load_n(&bnd[i], __ATOMIC_RELAXED);

		if (v > a && v < best)
			best = v;
	}
	return best;
}
