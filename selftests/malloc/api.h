/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The allocator API under test, by name.
 *
 * Default build: the standard C names (malloc, free, ...), served by
 * libkarena.so when linked with -lkarena or run under LD_PRELOAD, and by
 * glibc otherwise (which is how the tests are validated).
 *
 * -DKARENA_PREFIXED: the karena_-prefixed API from lib/include/karena.h, as
 * exported by lib/build-$(SAN)/libkarena_prefixed.a for the sanitizer builds.
 */
#ifndef MALLOC_SELFTEST_API_H
#define MALLOC_SELFTEST_API_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* types and the prefixed declarations (only called in the prefixed build) */
#include <karena.h>

#ifdef KARENA_PREFIXED
#define API_NAME		"karena_"
#define t_malloc		karena_malloc
#define t_free			karena_free
#define t_calloc		karena_calloc
#define t_realloc		karena_realloc
#define t_reallocarray		karena_reallocarray
#define t_posix_memalign	karena_posix_memalign
#define t_aligned_alloc		karena_aligned_alloc
#define t_memalign		karena_memalign
#define t_valloc		karena_valloc
#define t_pvalloc		karena_pvalloc
#define t_malloc_usable_size	karena_malloc_usable_size
#define t_malloc_trim		karena_malloc_trim
#define t_mallinfo2		karena_mallinfo2
#define t_malloc_stats		karena_malloc_stats
#define t_mallinfo		karena_mallinfo
#define t_mallopt		karena_mallopt
#define t_malloc_info		karena_malloc_info
#else
#define API_NAME		""
#define t_malloc		malloc
#define t_free			free
#define t_calloc		calloc
#define t_realloc		realloc
#define t_reallocarray		reallocarray
#define t_posix_memalign	posix_memalign
#define t_aligned_alloc		aligned_alloc
#define t_memalign		memalign
#define t_valloc		valloc
#define t_pvalloc		pvalloc
#define t_malloc_usable_size	malloc_usable_size
#define t_malloc_trim		malloc_trim
#define t_mallinfo2		mallinfo2
#define t_malloc_stats		malloc_stats
#define t_mallinfo		mallinfo
#define t_mallopt		mallopt
#define t_malloc_info		malloc_info
#endif

/* Deterministic content: byte i of an object filled with seed. */
static inline uint8_t pat_byte(uint64_t seed, size_t i)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + i;

	return (uint8_t)(x ^ (x >> 8) ^ (x >> 19));
}

static inline void pat_fill(void *p, size_t n, uint64_t seed)
{
	uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		b[i] = pat_byte(seed, i);
}

/* Offset of the first byte that differs from the pattern, or -1. */
static inline long pat_check(const void *p, size_t n, uint64_t seed)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != pat_byte(seed, i))
			return (long)i;
	return -1;
}

/* Index of the first non-zero byte, or -1. */
static inline long first_nonzero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return (long)i;
	return -1;
}

static inline size_t rss_bytes(void)
{
	unsigned long size = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &rss) != 2)
		rss = 0;
	fclose(f);
	return rss * (size_t)sysconf(_SC_PAGESIZE);
}

/* xorshift64*: per-thread random numbers without libc state. */
static inline uint64_t rnd_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

#endif
