/* SPDX-License-Identifier: MIT */
/* sizeclasses.h - the size class tables (sizeclasses.c is generated). */
#ifndef KARENA_SIZECLASSES_H
#define KARENA_SIZECLASSES_H

#include <stdint.h>
#include "include/karena.h"

/*
 * The library builds with -fvisibility=hidden; KARENA_EXPORT marks the
 * symbols it exports (the API, the libc names, the generated tables).
 * Defined here because the generated sizeclasses.c includes only this.
 */
#define KARENA_EXPORT	__attribute__((visibility("default")))

#define SMALL_SIZE_DIV	8
#define SMALL_SIZE_MAX	1024
#define LARGE_SIZE_DIV	128
#define SIZE_TO_CLASS8_LEN	(SMALL_SIZE_MAX / SMALL_SIZE_DIV + 1)
#define SIZE_TO_CLASS128_LEN	((KARENA_MAX_SMALL_SIZE - SMALL_SIZE_MAX) / LARGE_SIZE_DIV + 1)

/* karena_class_to_size and karena_class_to_allocnpages: see karena.h */
extern const uint32_t karena_class_divmul[KARENA_NUM_CLASSES];
/* Go's lookup tables, exactly as Go publishes them. */
extern const uint8_t karena_size_to_class8[SIZE_TO_CLASS8_LEN];
extern const uint8_t karena_size_to_class128[SIZE_TO_CLASS128_LEN];
/* malloc's lookups, giving the span class (class << 1): [n] for
 * n <= 1024, only 16-multiple classes from 16 B up; then by 128 B. */
extern const uint8_t karena_malloc_spc1[SMALL_SIZE_MAX + 1];
extern const uint8_t karena_malloc_spc128[SIZE_TO_CLASS128_LEN];

/* Span class malloc uses for n <= KARENA_MAX_SMALL_SIZE (0 as 1). */
static inline __attribute__((always_inline)) unsigned size_spanclass_of(size_t n)
{
	if (n <= SMALL_SIZE_MAX)
		return karena_malloc_spc1[n];
	return karena_malloc_spc128[(n - SMALL_SIZE_MAX + LARGE_SIZE_DIV - 1) /
				    LARGE_SIZE_DIV];
}

/* Class malloc uses for n <= KARENA_MAX_SMALL_SIZE. */
static inline unsigned size_class_of(size_t n)
{
	return size_spanclass_of(n) >> 1;
}

#endif
