/* SPDX-License-Identifier: GPL-2.0 */
/*
 * karena_ioctl.h: the /dev/karena ioctls of kmod/uapi/karena.h as
 * functions, shared by the selftests and bench/kbench.c.  Each returns 0
 * or an errno value (positive, never -1), fills the size field with the
 * size of the struct this header was compiled against, and zeroes the
 * reserved fields; tests that want a wrong size or a reserved bit set
 * call ioctl() themselves.  The io_uring commands are in karena_uring.h.
 */
#ifndef KARENA_IOCTL_H
#define KARENA_IOCTL_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>

#include "karena.h"

static inline int kt_open(void)
{
	return open(KARENA_DEVICE, O_RDWR | O_CLOEXEC);
}

static inline int kt_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? errno : 0;
}

static inline int kt_info(int fd, struct karena_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return kt_ioctl(fd, KARENA_IOC_INFO, info);
}

static inline int kt_trans_pages(int fd, const void *start, size_t len,
				 unsigned int op, unsigned int flags,
				 uint64_t *pages)
{
	struct karena_transition t;
	int ret;

	memset(&t, 0, sizeof(t));
	t.size = sizeof(t);
	t.range.start = (uintptr_t)start;
	t.range.len = len;
	t.range.op = op;
	t.range.flags = flags;
	ret = kt_ioctl(fd, KARENA_IOC_TRANSITION, &t);
	if (pages)
		*pages = t.pages;
	return ret;
}

static inline int kt_trans(int fd, const void *start, size_t len,
			   unsigned int op)
{
	return kt_trans_pages(fd, start, len, op, 0, NULL);
}

static inline int kt_trans_f(int fd, const void *start, size_t len,
			     unsigned int op, unsigned int flags)
{
	return kt_trans_pages(fd, start, len, op, flags, NULL);
}

static inline void kt_range(struct karena_range *r, const void *start,
			    size_t len, unsigned int op, unsigned int flags)
{
	memset(r, 0, sizeof(*r));
	r->start = (uintptr_t)start;
	r->len = len;
	r->op = op;
	r->flags = flags;
}

static inline int kt_vec(int fd, struct karena_range *r, unsigned int count,
			 struct karena_vec *out)
{
	struct karena_vec v;
	int ret;

	memset(&v, 0, sizeof(v));
	v.size = sizeof(v);
	v.range_size = sizeof(*r);
	v.ranges = (uintptr_t)r;
	v.count = count;
	ret = kt_ioctl(fd, KARENA_IOC_VEC, &v);
	if (out)
		*out = v;
	return ret;
}

static inline int kt_query(int fd, const void *start, size_t len,
			   unsigned char *vec)
{
	struct karena_query q;

	memset(&q, 0, sizeof(q));
	q.size = sizeof(q);
	q.start = (uintptr_t)start;
	q.len = len;
	q.vec = (uintptr_t)vec;
	return kt_ioctl(fd, KARENA_IOC_QUERY, &q);
}

static inline int kt_stats(int fd, struct karena_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	return kt_ioctl(fd, KARENA_IOC_STATS, st);
}

static inline int kt_limits(int fd, unsigned int flags, uint64_t max_reserved,
			    uint64_t max_ready, struct karena_limits *out)
{
	struct karena_limits l;
	int ret;

	memset(&l, 0, sizeof(l));
	l.size = sizeof(l);
	l.flags = flags;
	l.max_reserved = max_reserved;
	l.max_ready = max_ready;
	ret = kt_ioctl(fd, KARENA_IOC_LIMITS, &l);
	if (out)
		*out = l;
	return ret;
}

static inline int kt_config(int fd, unsigned int flags, unsigned int *prev)
{
	struct karena_config c;
	int ret;

	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	c.flags = flags;
	ret = kt_ioctl(fd, KARENA_IOC_CONFIG, &c);
	if (prev)
		*prev = c.flags;
	return ret;
}

#endif
