/* SPDX-License-Identifier: MIT */
/*
 * os.h - libkarena's OS layer: the only place that talks to the kernel
 * about heap memory.  The operations are Go's (runtime/mem.go), applied to
 * page-aligned ranges that move between four states:
 *
 *   None --Reserve--> Reserved --Map--> Prepared --Used--> Ready
 *   Ready --Unused--> Prepared;  any --Fault--> Reserved;  any --Free--> None
 *   Alloc: None -> Ready in one call (metadata, never heap arenas).
 *
 * The heap (mheap.c) obeys the state machine: it reserves whole arenas,
 * Maps them piecewise as it grows (Prepared), Uses pages before it hands
 * them out and Unuses free pages when scavenging.  It never reads or
 * writes Prepared memory: which pages are Prepared is tracked by the
 * per-arena scavenged bitmap.
 *
 * Two backends implement struct os_backend: os_mmap.c (mmap/mprotect/
 * madvise, always available) and os_dev.c (/dev/karena, ioctl and vector
 * ioctl, or io_uring through os_uring.c).  os.c selects one at init from
 * KARENA_BACKEND=auto|dev|mmap.
 * Every operation returns 0 or -errno; batch applies ranges in order and
 * stops at the first failure, reporting how many it applied in *done.
 */
#ifndef KARENA_OS_H
#define KARENA_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum os_op {			/* same numbers as KARENA_OP_* in the UAPI */
	OS_RESERVE	= 1,
	OS_MAP		= 2,
	OS_USED		= 3,
	OS_UNUSED	= 4,
	OS_FAULT	= 5,
	OS_FREE		= 6,
	OS_ALLOC	= 7,
	OS_HUGEPAGE	= 8,
	OS_NOHUGEPAGE	= 9,
};

struct os_range {
	void *addr;
	size_t len;
	int op;			/* enum os_op, except OS_RESERVE/OS_ALLOC */
	unsigned flags;		/* OS_F_POPULATE for OS_USED, OS_F_LAZY for OS_UNUSED */
	/*
	 * The free run holding the range, which no other thread Uses during
	 * the call (own_hi 0: unknown).  The device backend may release the
	 * pages of it that the heap never handed out along with an Unused.
	 */
	uintptr_t own_lo, own_hi;
};
#define OS_F_POPULATE	1u
#define OS_F_LAZY	2u	/* the backend may keep the pages (os_unused_lazy) */

struct os_backend {
	const char *name;
	/* None -> Reserved: len bytes anywhere (hint may be NULL). */
	void *(*reserve)(void *hint, size_t len);
	/* None -> Ready, for allocator metadata. */
	void *(*alloc)(size_t len);
	int (*map)(void *addr, size_t len);	/* Reserved -> Prepared */
	int (*used)(void *addr, size_t len);	/* Prepared -> Ready */
	int (*unused)(void *addr, size_t len);	/* Ready -> Prepared */
	int (*fault)(void *addr, size_t len);	/* any -> Reserved */
	int (*free)(void *addr, size_t len);	/* any -> None */
	int (*hugepage)(void *addr, size_t len);
	int (*nohugepage)(void *addr, size_t len);
	/* Apply n ranges in order; *done = ranges applied. */
	int (*batch)(const struct os_range *r, size_t n, size_t *done);
	/*
	 * Is the 2 MiB block holding addr (a page of the heap) backed by one
	 * huge page now, so that releasing part of it would cut it?  false
	 * when not, or when the backend cannot tell.  NULL: the heap never
	 * asks (the backend has no huge blocks).
	 */
	bool (*huge_backed)(void *addr);
};

extern const struct os_backend os_mmap_backend;
/* The device backend: returns NULL (and errno) if /dev/karena is unusable. */
const struct os_backend *os_dev_probe(void);

/* Select the backend from KARENA_BACKEND; never allocates.  Returns 0. */
int os_init(void);
extern const struct os_backend *os_cur;
extern unsigned long os_nops;	/* transitions issued (stats, approximate) */
/*
 * An OS_UNUSED range with OS_F_LAZY keeps the pages' contents (the device
 * backend's lazy release): a page Used again may hold old data, not zeros.
 * Set by the backend when it honours OS_F_LAZY.
 */
extern int os_unused_lazy;

static inline void os_count(unsigned long n)
{
	__atomic_fetch_add(&os_nops, n, __ATOMIC_RELAXED);
}

/* Reserve len bytes aligned to align (a power of two >= page size). */
void *sysReserveAligned(size_t len, size_t align);

/*
 * The calls the heap makes.  Used and Unused go through os_batch (the
 * heap applies them run by run over the scavenged bitmap); Fault and
 * NoHugePage are backend operations the heap does not use.
 */
static inline void *sysReserve(void *hint, size_t len) { os_count(1); return os_cur->reserve(hint, len); }
static inline void *sysAlloc(size_t len) { os_count(1); return os_cur->alloc(len); }
static inline int sysMap(void *p, size_t len) { os_count(1); return os_cur->map(p, len); }
static inline int sysFree(void *p, size_t len) { os_count(1); return os_cur->free(p, len); }
static inline int sysHugePage(void *p, size_t len) { os_count(1); return os_cur->hugepage(p, len); }
static inline bool sysHugeBacked(void *p)
{
	return os_cur->huge_backed && os_cur->huge_backed(p);
}
static inline int os_batch(const struct os_range *r, size_t n, size_t *done)
{
	os_count(n);
	return os_cur->batch(r, n, done);
}

/* Generic batch for backends without a vector call: one op at a time. */
int os_batch_loop(const struct os_backend *b, const struct os_range *r,
		  size_t n, size_t *done);

#endif
