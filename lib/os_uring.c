// SPDX-License-Identifier: MIT
/*
 * os_uring.c - the device backend's io_uring client (KARENA_URING=1).
 *
 * A batch of ranges goes to the module as one IORING_OP_URING_CMD with
 * cmd_op KARENA_URING_VEC instead of a KARENA_IOC_VEC ioctl.  Raw
 * syscalls, no liburing: a malloc that is LD_PRELOADed into every program
 * should not pull in another shared library.  One ring of RING_ENTRIES
 * with 32-byte CQEs (the module reports a failed vector's progress in the
 * extra word), set up at the first batch, and again in a fork child: the
 * parent's ring is shared memory.  One submission at a time: a thread
 * that finds the ring busy, a kernel without io_uring, or a module that
 * refuses the command gets -ENOSYS and the caller uses the ioctl.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "os_uring.h"
#include "internal.h"
#include "../kmod/uapi/karena.h"

struct kring {
	int fd;
	pid_t pid;			/* the process that set it up */
	unsigned int entries;
	void *sq_map, *sqe_map;
	size_t sq_len, sqe_len;
	unsigned int *sq_head, *sq_tail, *sq_mask, *sq_array;
	unsigned int *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;	/* 32-byte CQEs (CQE32) */
};

static int dev_fd = -1;		/* set by os_uring_enable: KARENA_URING=1 */
static int uring_state;		/* 0 not tried, 1 usable, -1 not usable */
static int uring_busy;
static struct kring ring;

#define RING_ENTRIES	8

static int kring_setup(struct kring *rg)
{
	struct io_uring_params p;
	size_t sq_sz, cq_sz;
	void *sq, *cq, *sqes;
	int fd;

	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_CQE32;
	fd = (int)syscall(__NR_io_uring_setup, RING_ENTRIES, &p);
	if (fd < 0)
		return -errno;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ||
	    !(p.features & IORING_FEAT_SINGLE_MMAP)) {
		close(fd);
		return -ENOSYS;
	}
	sq_sz = p.sq_off.array + p.sq_entries * sizeof(unsigned int);
	cq_sz = p.cq_off.cqes + p.cq_entries * 2 * sizeof(struct io_uring_cqe);
	if (cq_sz > sq_sz)
		sq_sz = cq_sz;
	sq = mmap(NULL, sq_sz, PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
	if (sq == MAP_FAILED) {
		close(fd);
		return -ENOSYS;
	}
	cq = sq;
	sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe),
		    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
		    IORING_OFF_SQES);
	if (sqes == MAP_FAILED) {
		munmap(sq, sq_sz);
		close(fd);
		return -ENOSYS;
	}
	rg->fd = fd;
	rg->pid = getpid();
	rg->sq_map = sq;
	rg->sq_len = sq_sz;
	rg->sqe_map = sqes;
	rg->sqe_len = p.sq_entries * sizeof(struct io_uring_sqe);
	rg->entries = p.sq_entries;
	rg->sq_head = (unsigned int *)((char *)sq + p.sq_off.head);
	rg->sq_tail = (unsigned int *)((char *)sq + p.sq_off.tail);
	rg->sq_mask = (unsigned int *)((char *)sq + p.sq_off.ring_mask);
	rg->sq_array = (unsigned int *)((char *)sq + p.sq_off.array);
	rg->cq_head = (unsigned int *)((char *)cq + p.cq_off.head);
	rg->cq_tail = (unsigned int *)((char *)cq + p.cq_off.tail);
	rg->cq_mask = (unsigned int *)((char *)cq + p.cq_off.ring_mask);
	rg->cqes = (struct io_uring_cqe *)((char *)cq + p.cq_off.cqes);
	rg->sqes = sqes;
	return 0;
}

void os_uring_enable(int fd)
{
	dev_fd = fd;
}

/*
 * The ranges as one KARENA_URING_VEC command (one SQE).  The module
 * reports in the CQE's extra word (CQE32) how many ranges of a failed
 * vector it applied.  Returns -ENOSYS when the caller should use the
 * ioctl instead (nothing was applied then).
 */
int os_uring_vec(const struct karena_range *kr, size_t k, size_t *kdone)
{
	struct karena_uring_vec pv;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *c;
	unsigned int tail, head, idx;
	int err, zero = 0;
	long r;

	if (dev_fd < 0 || __atomic_load_n(&uring_state, __ATOMIC_ACQUIRE) < 0)
		return -ENOSYS;
	if (!__atomic_compare_exchange_n(&uring_busy, &zero, 1, false,
					 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return -ENOSYS;		/* another thread, or a fork copy */
	if (uring_state > 0 && ring.pid != getpid()) {
		/* a fork child: the parent's ring is shared memory; get our own */
		munmap(ring.sq_map, ring.sq_len);
		munmap(ring.sqe_map, ring.sqe_len);
		close(ring.fd);
		uring_state = 0;
	}
	if (uring_state == 0) {
		int e = kring_setup(&ring);

		__atomic_store_n(&uring_state, e ? -1 : 1, __ATOMIC_RELEASE);
		if (e && karena_debug)
			karena_warn("dev backend: io_uring unusable; using the vector ioctl");
	}
	if (uring_state < 0 || k > KARENA_VEC_MAX) {
		err = -ENOSYS;
		goto out;
	}
	tail = *ring.sq_tail;
	idx = tail & *ring.sq_mask;
	sqe = &ring.sqes[idx];
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = dev_fd;
	sqe->cmd_op = KARENA_URING_VEC;
	memset(&pv, 0, sizeof(pv));
	pv.ranges = (uint64_t)(uintptr_t)kr;
	pv.count = (uint32_t)k;
	memcpy(sqe->cmd, &pv, sizeof(pv));
	ring.sq_array[idx] = idx;
	__atomic_store_n(ring.sq_tail, tail + 1, __ATOMIC_RELEASE);
	do
		r = syscall(__NR_io_uring_enter, ring.fd, 1, 1,
			    IORING_ENTER_GETEVENTS, NULL, 0);
	while (r < 0 && errno == EINTR);
	if (r < 1) {
		/* not submitted: the SQE stays queued, so give the ring up */
		__atomic_store_n(&uring_state, -1, __ATOMIC_RELEASE);
		err = -ENOSYS;
		goto out;
	}
	head = *ring.cq_head;
	while (__atomic_load_n(ring.cq_tail, __ATOMIC_ACQUIRE) == head)
		syscall(__NR_io_uring_enter, ring.fd, 0, 1,
			IORING_ENTER_GETEVENTS, NULL, 0);
	/* CQE32: each entry is two struct io_uring_cqe */
	c = &ring.cqes[(head & *ring.cq_mask) * 2];
	err = c->res < 0 ? c->res : 0;
	*kdone = err ? (size_t)c->big_cqe[0] : k;
	__atomic_store_n(ring.cq_head, head + 1, __ATOMIC_RELEASE);
	if (err == -EOPNOTSUPP || err == -ENOTTY) {
		/* refused up front: nothing was applied */
		__atomic_store_n(&uring_state, -1, __ATOMIC_RELEASE);
		err = -ENOSYS;
	}
out:
	__atomic_store_n(&uring_busy, 0, __ATOMIC_RELEASE);
	return err;
}
