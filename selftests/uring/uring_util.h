/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the io_uring passthrough tests: liburing 2.3 has no
 * io_uring_prep_cmd, so SQEs are built with io_uring_prep_rw() and the
 * 16-byte payload is copied into sqe->cmd.  Rings are set up with
 * IORING_SETUP_CQE32 so the module's extra word (big_cqe[0]) is visible.
 */
#ifndef URING_UTIL_H
#define URING_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "karena.h"

#define PS	4096UL

static inline int ku_open(void)
{
	return open(KARENA_DEVICE, O_RDWR | O_CLOEXEC);
}

static inline void *ku_reserve(int fd, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* 0 or errno */
static inline int ku_ioc(int fd, void *start, size_t len, unsigned int op,
			 unsigned int flags, uint64_t *pages)
{
	struct karena_transition t;

	memset(&t, 0, sizeof(t));
	t.size = sizeof(t);
	t.range.start = (uintptr_t)start;
	t.range.len = len;
	t.range.op = op;
	t.range.flags = flags;
	if (ioctl(fd, KARENA_IOC_TRANSITION, &t))
		return errno;
	if (pages)
		*pages = t.pages;
	return 0;
}

static inline int ku_query(int fd, void *start, size_t len, uint8_t *vec)
{
	struct karena_query q;

	memset(&q, 0, sizeof(q));
	q.size = sizeof(q);
	q.start = (uintptr_t)start;
	q.len = len;
	q.vec = (uintptr_t)vec;
	return ioctl(fd, KARENA_IOC_QUERY, &q) ? errno : 0;
}

static inline int ku_stats(int fd, struct karena_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	return ioctl(fd, KARENA_IOC_STATS, st) ? errno : 0;
}

/* Write @val to the file @path (sysfs, procfs): 0 or -1. */
static inline int ku_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok ? 0 : -1;
}

/*
 * CPU hotplug and new io_uring tasks, on Debian's 6.1.  io_wq_create()
 * (io_uring/io-wq.c, 6.1.192 lines 1252-1300) adds the new io-wq to the
 * CPU hotplug instance list (cpuhp_state_add_instance_nocalls(), line
 * 1255) before it allocates and initialises its per-node io_wqe (lines
 * 1269-1300).  A CPU coming online in between runs __io_wq_cpu_online()
 * on it: wq->wqes[node] is still NULL (oops reading 0x78, the offset of
 * io_wqe.all_list) or its all_list still zeroed (list entry NULL, worker
 * ffffffffffffffe8).  A task's io-wq is created when it sets up its first
 * ring (io_uring_install_fd() -> __io_uring_add_tctx_node()) or first
 * submits to one.  Upstream fixed it in October 2023 (0f8baa3c9802,
 * "io-wq: fully initialize wqe before calling
 * cpuhp_state_add_instance_nocalls()"; 6.12 has it), 6.1.y never got it.
 * Nothing a driver does can close that window, so tests
 * that hotplug CPUs while io_uring tasks come and go serialise the two:
 * ring setup under ku_cpuhp_lock(false), each offline/online write under
 * ku_cpuhp_lock(true) (iowq_hotplug.c shows the oops without it).
 */
#define KU_CPUHP_LOCK	"/tmp/karena-cpuhp.lock"

/* An fd holding the lock (shared or exclusive), or -1: close() releases. */
static inline int ku_cpuhp_lock(int exclusive)
{
	int fd = open(KU_CPUHP_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd >= 0 && flock(fd, exclusive ? LOCK_EX : LOCK_SH)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static inline int ku_ring(struct io_uring *ring, unsigned int entries)
{
	struct io_uring_params p;

	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_CQE32;
	return io_uring_queue_init_params(entries, ring, &p);
}

/* Queue one command; payload is 16 bytes. */
static inline struct io_uring_sqe *ku_prep(struct io_uring *ring, int fd,
					   uint32_t cmd_op, const void *pdu,
					   uint64_t user_data)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe)
		return NULL;
	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd, NULL, 0, 0);
	sqe->cmd_op = cmd_op;
	memcpy(sqe->cmd, pdu, 16);
	sqe->user_data = user_data;
	return sqe;
}

static inline void ku_range_pdu(struct karena_uring_range *u, void *start,
				unsigned int npages, unsigned int op,
				unsigned int flags)
{
	memset(u, 0, sizeof(*u));
	u->start = (uintptr_t)start;
	u->npages = npages;
	u->op = (uint8_t)op;
	u->flags = (uint8_t)flags;
}

/* Wait for one CQE: returns res, stores extra word and user_data. */
static inline int ku_reap(struct io_uring *ring, uint64_t *extra,
			  uint64_t *user_data)
{
	struct io_uring_cqe *cqe;
	int ret = io_uring_wait_cqe(ring, &cqe);

	if (ret)
		return ret - 100000;	/* distinguishable from a res */
	ret = cqe->res;
	if (extra)
		*extra = cqe->big_cqe[0];
	if (user_data)
		*user_data = cqe->user_data;
	io_uring_cqe_seen(ring, cqe);
	return ret;
}

/* One command, submitted and reaped: cqe->res. */
static inline int ku_cmd(struct io_uring *ring, int fd, uint32_t cmd_op,
			 const void *pdu, uint64_t *extra)
{
	if (!ku_prep(ring, fd, cmd_op, pdu, 7))
		return -100001;
	if (io_uring_submit(ring) != 1)
		return -100002;
	return ku_reap(ring, extra, NULL);
}

static inline int ku_uring_range(struct io_uring *ring, int fd, void *start,
				 unsigned int npages, unsigned int op,
				 unsigned int flags)
{
	struct karena_uring_range u;

	ku_range_pdu(&u, start, npages, op, flags);
	return ku_cmd(ring, fd, KARENA_URING_TRANSITION, &u, NULL);
}

static inline int ku_uring_vec(struct io_uring *ring, int fd,
			       const struct karena_range *r, unsigned int count,
			       uint64_t *done)
{
	struct karena_uring_vec v;

	memset(&v, 0, sizeof(v));
	v.ranges = (uintptr_t)r;
	v.count = count;
	return ku_cmd(ring, fd, KARENA_URING_VEC, &v, done);
}

static inline void ku_krange(struct karena_range *r, void *start, size_t len,
			     unsigned int op, unsigned int flags)
{
	memset(r, 0, sizeof(*r));
	r->start = (uintptr_t)start;
	r->len = len;
	r->op = op;
	r->flags = flags;
}

/* /sys/module/karena/parameters/uring_inline: -1 if absent */
static inline int ku_get_inline(void)
{
	char c = 0;
	int fd = open("/sys/module/karena/parameters/uring_inline", O_RDONLY);

	if (fd < 0)
		return -1;
	if (read(fd, &c, 1) != 1)
		c = 0;
	close(fd);
	return c == 'Y' || c == '1';
}

static inline int ku_set_inline(int on)
{
	int fd = open("/sys/module/karena/parameters/uring_inline", O_WRONLY);
	int ok;

	if (fd < 0)
		return -1;
	ok = write(fd, on ? "1" : "0", 1) == 1;
	close(fd);
	return ok ? 0 : -1;
}

static inline long ku_sysfs(const char *name)
{
	char path[128], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/kernel/karena/%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return strtol(buf, NULL, 10);
}

#endif
