/* SPDX-License-Identifier: GPL-2.0 */
/*
 * karena_uring.h: the /dev/karena io_uring commands (KARENA_URING_* of
 * kmod/uapi/karena.h) through liburing, shared by the selftests and
 * bench/kbench.c.  liburing 2.3 has no io_uring_prep_cmd, so SQEs are
 * built with io_uring_prep_rw() and the 16-byte payload is copied into
 * sqe->cmd.  Rings are set up with IORING_SETUP_CQE32 so the module's
 * extra word (big_cqe[0]: the ranges a failed vector applied) is visible.
 * The command helpers return the CQE's res (0 or -errno, as the module
 * completed the command); a failure of liburing itself is told apart by
 * values below -100000.
 */
#ifndef KARENA_URING_H
#define KARENA_URING_H

#include <liburing.h>
#include <stdint.h>
#include <string.h>

#include "karena.h"

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

#endif
