/* SPDX-License-Identifier: MIT */
/*
 * os_dev.h - what the /dev/karena backend's files share: the table of
 * mapping boundaries (os_dev_bounds.c) and the spin flag that guards it
 * and the fresh regions (os_dev.c).  Both are short critical sections
 * taken inside the heap's own lock, and the backend may run inside the
 * first malloc, before pthread mutexes are safe to use there.
 */
#ifndef KARENA_OS_DEV_H
#define KARENA_OS_DEV_H

#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include "internal.h"

static inline void dev_spin_lock(int *busy)
{
	while (__atomic_exchange_n(busy, 1, __ATOMIC_ACQUIRE))
		sched_yield();
}

static inline void dev_spin_unlock(int *busy)
{
	__atomic_store_n(busy, 0, __ATOMIC_RELEASE);
}

/* [a, a + len) was mapped or unmapped: the boundaries inside it are
 * gone, and a mapping starts or ends at a and at a + len. */
HIDDEN void dev_bounds_set(uintptr_t a, size_t len);
/* The first boundary in (a, b), or b.  Lock-free. */
HIDDEN uintptr_t dev_bounds_next(uintptr_t a, uintptr_t b);

#endif
