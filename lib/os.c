// SPDX-License-Identifier: MIT
/* os.c - OS backend selection and helpers shared by the backends. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "os.h"
#include "internal.h"

const struct os_backend *os_cur = &os_mmap_backend;
unsigned long os_nops;
int os_unused_lazy;

int os_init(void)
{
	long want = karena_option(OPT_BACKEND);
	const struct os_backend *dev;

	if (want == BACKEND_MMAP) {
		os_cur = &os_mmap_backend;
		return 0;
	}
	dev = os_dev_probe();
	if (dev) {
		os_cur = dev;
		return 0;
	}
	if (want == BACKEND_DEV)
		karena_warn("KARENA_BACKEND=dev but /dev/karena is unusable; using mmap");
	else if (karena_debug)
		karena_warn(errno == ENOENT ?
			    "no /dev/karena; using the mmap backend" :
			    "/dev/karena unusable (no module, or ABI mismatch); using the mmap backend");
	os_cur = &os_mmap_backend;
	return 0;
}

int os_batch_loop(const struct os_backend *b, const struct os_range *r,
		  size_t n, size_t *done)
{
	size_t i;
	int err = 0;

	for (i = 0; i < n; i++) {
		switch (r[i].op) {
		case OS_MAP:
			err = b->map(r[i].addr, r[i].len);
			break;
		case OS_USED:
			err = b->used(r[i].addr, r[i].len);
			break;
		case OS_UNUSED:
			err = b->unused(r[i].addr, r[i].len);
			break;
		case OS_FAULT:
			err = b->fault(r[i].addr, r[i].len);
			break;
		case OS_FREE:
			err = b->free(r[i].addr, r[i].len);
			break;
		case OS_HUGEPAGE:
			err = b->hugepage(r[i].addr, r[i].len);
			break;
		case OS_NOHUGEPAGE:
			err = b->nohugepage(r[i].addr, r[i].len);
			break;
		default:
			err = -EINVAL;
		}
		if (err)
			break;
	}
	if (done)
		*done = i;
	return err;
}

void *sysReserveAligned(size_t len, size_t align)
{
	char *p = sysReserve(NULL, len + align);
	uintptr_t a;

	if (!p)
		return NULL;
	a = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
	if (a > (uintptr_t)p)
		sysFree(p, a - (uintptr_t)p);
	if ((uintptr_t)p + len + align > a + len)
		sysFree((void *)(a + len), (uintptr_t)p + align - a);
	return (void *)a;
}
