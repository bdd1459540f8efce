// SPDX-License-Identifier: MIT
/*
 * os_mmap.c - the embedded OS backend: anonymous mmap, mprotect, madvise.
 *
 *   Reserve  mmap(PROT_NONE, MAP_NORESERVE)
 *   Map      mmap(MAP_FIXED, PROT_READ|PROT_WRITE) over the reservation
 *   Used     nothing (the pages fault in on demand); POPULATE via
 *            MADV_WILLNEED is not needed for anonymous memory
 *   Unused   madvise(MADV_DONTNEED): RSS drops at once and the pages read
 *            zeros when next touched (the heap relies on that for calloc)
 *   Fault    mmap(MAP_FIXED, PROT_NONE) over the range
 *   Free     munmap
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <sys/mman.h>
#include "os.h"

static void *mm_reserve(void *hint, size_t len)
{
	void *p = mmap(hint, len, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void *mm_alloc(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static int mm_map(void *addr, size_t len)
{
	void *p = mmap(addr, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

	return p == MAP_FAILED ? -errno : 0;
}

static int mm_used(void *addr, size_t len)
{
	(void)addr;
	(void)len;
	return 0;
}

static int mm_unused(void *addr, size_t len)
{
	return madvise(addr, len, MADV_DONTNEED) ? -errno : 0;
}

static int mm_fault(void *addr, size_t len)
{
	void *p = mmap(addr, len, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE,
		       -1, 0);

	return p == MAP_FAILED ? -errno : 0;
}

static int mm_free(void *addr, size_t len)
{
	return munmap(addr, len) ? -errno : 0;
}

static int mm_hugepage(void *addr, size_t len)
{
	return madvise(addr, len, MADV_HUGEPAGE) ? -errno : 0;
}

static int mm_nohugepage(void *addr, size_t len)
{
	return madvise(addr, len, MADV_NOHUGEPAGE) ? -errno : 0;
}

static int mm_batch(const struct os_range *r, size_t n, size_t *done)
{
	return os_batch_loop(&os_mmap_backend, r, n, done);
}

const struct os_backend os_mmap_backend = {
	.name = "mmap",
	.reserve = mm_reserve,
	.alloc = mm_alloc,
	.map = mm_map,
	.used = mm_used,
	.unused = mm_unused,
	.fault = mm_fault,
	.free = mm_free,
	.hugepage = mm_hugepage,
	.nohugepage = mm_nohugepage,
	.batch = mm_batch,
};
