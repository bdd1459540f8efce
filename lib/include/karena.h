/* SPDX-License-Identifier: MIT */
/*
 * karena.h - public API of libkarena, a Go-runtime-style memory allocator.
 *
 * libkarena serves the whole C malloc API.  Linked normally (or through
 * LD_PRELOAD) it exports the libc names (malloc, free, ...).  Every entry
 * point also exists with a karena_ prefix, declared below; the sanitizer
 * builds (lib/build-$(SAN)/libkarena_prefixed.a) export only the prefixed
 * names.
 *
 * Pointer alignment: every pointer returned by karena_malloc(n) is aligned
 * to at least min(16, n rounded up to a power of two) bytes, and to 16 bytes
 * whenever n >= 16 (objects of 0..8 bytes come from the 8-byte class and
 * are 8-byte aligned).  Objects larger than 32 KiB are 8 KiB (page)
 * aligned.
 *
 * A prefix-only build, libkarena-prefixed (pkg-config karena-prefixed),
 * exports only the karena_ names: for programs that want karena_malloc
 * next to the C library's malloc.
 *
 * Environment variables (KARENA_BACKEND, KARENA_STATS, KARENA_STATS_FILE,
 * KARENA_VERBOSE, KARENA_DEBUG, KARENA_SCAVENGER, KARENA_SCAVENGE_PERCENT,
 * KARENA_SCAVENGE_RATE, KARENA_SCAVENGE_AGE_MS, KARENA_HUGEPAGE,
 * KARENA_URING) are read once, when the library loads or at the first
 * allocation; libkarena(3) documents them, and KARENA_VERBOSE=1 prints
 * their values, defaults, ranges and meaning.
 */
#ifndef KARENA_H
#define KARENA_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>	/* FILE, for karena_malloc_info */
#include <malloc.h>	/* struct mallinfo, mallinfo2, M_* for mallopt */

#ifdef __cplusplus
extern "C" {
#endif

/* KARENA_VERSION_MAJOR/MINOR/PATCH, KARENA_VERSION_NUMBER (MAJOR * 10000 +
 * MINOR * 100 + PATCH) and KARENA_VERSION ("MAJOR.MINOR.PATCH"): the
 * version this header belongs to, generated from the project's VERSION. */
#include "karena_version.h"

/* The version of the library running, as KARENA_VERSION_NUMBER: compare
 * the two to detect an older libkarena.so than the one built against. */
unsigned int karena_version(void);

/* Size classes (Go's table): class 0 means "large" (> 32 KiB, own span). */
#define KARENA_NUM_CLASSES	68
#define KARENA_MAX_SMALL_SIZE	32768
#define KARENA_PAGE_SHIFT	13
#define KARENA_PAGE_SIZE	(1UL << KARENA_PAGE_SHIFT)
#define KARENA_ARENA_SIZE	(64UL << 20)

/* Size class of an allocation request of n bytes (0 for large). */
int karena_size_class(size_t n);
/* Object size of class c (0 for c == 0 or out of range). */
size_t karena_class_size(int c);
/* Span size in pages of class c (0 for c == 0 or out of range). */
size_t karena_class_npages(int c);

/* The generated tables themselves (read only). */
extern const uint32_t karena_class_to_size[KARENA_NUM_CLASSES];
extern const uint8_t karena_class_to_allocnpages[KARENA_NUM_CLASSES];

/* The malloc API, prefixed. */
void *karena_malloc(size_t n);
void karena_free(void *p);
void *karena_calloc(size_t nmemb, size_t size);
void *karena_realloc(void *p, size_t n);
void *karena_reallocarray(void *p, size_t nmemb, size_t size);
int karena_posix_memalign(void **out, size_t align, size_t n);
void *karena_aligned_alloc(size_t align, size_t n);
void *karena_memalign(size_t align, size_t n);
void *karena_valloc(size_t n);
void *karena_pvalloc(size_t n);
size_t karena_malloc_usable_size(void *p);
int karena_malloc_trim(size_t pad);
struct mallinfo2 karena_mallinfo2(void);
/* glibc's int-sized mallinfo (values saturate at INT_MAX) */
struct mallinfo karena_mallinfo(void);
void karena_malloc_stats(void);
/* glibc's M_* parameters: returns 1 when glibc would accept the value (karena
 * has no use for them and ignores them), 0 for bad values and for parameters
 * glibc does not know. */
int karena_mallopt(int param, int value);
/* XML on fp as glibc's malloc_info (options must be 0, else -1/EINVAL). */
int karena_malloc_info(int options, FILE *fp);

/*
 * Return idle free heap pages to the OS at once (what the background
 * scavenger does gradually).  Returns the number of bytes released.
 */
size_t karena_release(void);

/* Per size class counters, like Go's MemStats.BySize. */
struct karena_class_stats {
	uint64_t size;		/* object size of the class (0: large) */
	uint64_t mallocs;	/* objects allocated */
	uint64_t frees;		/* objects freed */
};

/*
 * Heap statistics, like Go's runtime.MemStats.  All sizes in bytes.
 * Extensible: new fields are only ever added at the end, and size says how
 * much of the struct the caller and the library know (see karena_stats).
 */
struct karena_heap_stats {
	uint32_t size;		/* in: sizeof(struct karena_heap_stats);
				 * out: bytes filled by the library */
	uint32_t reserved;	/* out: 0 */
	uint64_t heap_sys;	/* heap memory obtained from the OS (mapped) */
	uint64_t heap_alloc;	/* bytes of allocated (live) objects */
	uint64_t heap_idle;	/* bytes in free (idle) spans */
	uint64_t heap_inuse;	/* bytes in in-use spans */
	uint64_t heap_released;	/* idle bytes returned to the OS */
	uint64_t heap_objects;	/* live objects (mallocs - frees) */
	uint64_t heap_reserved;	/* address space reserved (arenas) */
	uint64_t total_alloc;	/* cumulative bytes allocated */
	uint64_t mallocs;	/* cumulative objects allocated */
	uint64_t frees;		/* cumulative objects freed */
	uint64_t large_mallocs;	/* objects > 32 KiB allocated */
	uint64_t large_frees;	/* objects > 32 KiB freed */
	uint64_t large_inuse;	/* bytes in live large objects */
	uint64_t tiny_allocs;	/* always 0: there is no tiny allocator (lib/README.md) */
	uint64_t spans_inuse;	/* in-use spans */
	uint64_t scavenged_total; /* cumulative bytes returned to the OS */
	uint64_t os_ops;	/* OS layer transitions issued */
	uint64_t nthreads;	/* live per-thread caches */
	struct karena_class_stats by_size[KARENA_NUM_CLASSES]; /* [0]: large */
};

/* The first version of the struct; a library never fills less. */
#define KARENA_HEAP_STATS_SIZE_V1	(8 + 18 * 8 + KARENA_NUM_CLASSES * 24)
#define KARENA_HEAP_STATS_SIZE_MAX	65536

/*
 * Fill *st with a consistent-enough snapshot.  Set st->size to
 * sizeof(*st) first.  The library fills min(st->size, what it knows)
 * bytes, zeroes the rest of the caller's st->size bytes and sets st->size
 * to the number of bytes it filled: a program built against a newer header
 * runs on an older library (and sees which fields it got), and the other
 * way round.  Returns 0, or -1 with errno EINVAL when st is NULL or
 * st->size is below KARENA_HEAP_STATS_SIZE_V1 or above
 * KARENA_HEAP_STATS_SIZE_MAX.
 */
int karena_stats(struct karena_heap_stats *st);

/*
 * Statistics as text or JSON, through write(opaque, text) called with
 * NUL-terminated pieces (to stderr when write is NULL), like jemalloc's
 * malloc_stats_print and mimalloc's mi_stats_print_out.  opts is NULL or a
 * string of letters: 'J' one JSON object (every field, the size classes
 * and the options) instead of text; 'b' no per-size-class lines; 'o' no
 * options table.  KARENA_STATS=1 at exit is opts "bo", 2 is "", json "J".
 */
typedef void karena_write_fn(void *opaque, const char *text);
void karena_stats_print(karena_write_fn *write, void *opaque, const char *opts);
/* Name of the OS backend in use: "mmap" or "dev" (initialises the heap). */
const char *karena_backend(void);

#ifdef __cplusplus
}
#endif
#endif /* KARENA_H */
