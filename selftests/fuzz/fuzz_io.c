// SPDX-License-Identifier: GPL-2.0
/*
 * The fuzzer's I/O paths into karena memory: io_uring commands (left in
 * flight, punted to io-wq with IOSQE_ASYNC, rings torn down busy), io_uring
 * buffer registration (long-term pins) with fixed-buffer writes, vmsplice,
 * process_vm_readv/writev, /proc/self/mem and plain pipe I/O, and fork
 * with a check that parent and child keep separate private pages.
 * Every pipe is non-blocking and drained after use, so no operation can
 * wait on the fuzzer itself; a command that never completes is reported
 * after FZ_URING_WAIT seconds.  Design notes: fuzz.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"

#define FZ_IO_MAX	(16 * FZ_PS)	/* bytes per I/O operation */
#define FZ_URING_WAIT	60		/* seconds a command may take */
#define FZ_UD_KARENA	1		/* user_data: a karena command */
#define FZ_UD_OTHER	2

static size_t fz_io_len(size_t len)
{
	return len > FZ_IO_MAX ? FZ_IO_MAX : len;
}

/* Empty the thread's pipe into dst (then into scratch if dst faults). */
static void fz_drain(struct fz_thread *t, uintptr_t dst)
{
	while (read(t->pipe[0], (void *)dst, FZ_IO_MAX) > 0)
		;
	while (read(t->pipe[0], t->buf, FZ_BUF) > 0)
		;
}

/* ------------------------------------------------------------------ */
/* io_uring */

static bool fz_ring(struct fz_thread *t)
{
	struct io_uring_params p;

	if (t->ring_up)
		return true;
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_CQE32;
	if (io_uring_queue_init_params(32, &t->ring, &p))
		return false;
	t->ring_up = true;
	t->inflight = 0;
	return true;
}

static void fz_cqe_ok(struct fz_thread *t, const struct io_uring_cqe *cqe)
{
	if (cqe->user_data != FZ_UD_KARENA || cqe->res >= 0)
		return;
	switch (-cqe->res) {
	case ECANCELED:		/* ring torn down */
	case EOPNOTSUPP:	/* the fd was closed and reused by a non-karena file */
		return;
	default:
		fz_errno_ok(t, "URING_CMD", -cqe->res);
	}
}

/* Reap completions: all of them (waiting) or those already there. */
static void fz_reap(struct fz_thread *t, bool wait)
{
	struct __kernel_timespec ts = { .tv_sec = FZ_URING_WAIT };
	struct io_uring_cqe *cqe;
	int r;

	while (t->inflight) {
		r = wait ? io_uring_wait_cqe_timeout(&t->ring, &cqe, &ts)
			 : io_uring_peek_cqe(&t->ring, &cqe);
		if (r == -ETIME) {
			fz_fail(t, "uring: %u commands not complete after %d s",
				t->inflight, FZ_URING_WAIT);
			return;
		}
		if (r)
			return;
		fz_cqe_ok(t, cqe);
		io_uring_cqe_seen(&t->ring, cqe);
		t->inflight--;
	}
}

/* One URING_CMD: a TRANSITION or VEC payload, plausible or garbage. */
static void fz_prep_cmd(struct fz_thread *t, struct io_uring_sqe *sqe, int i)
{
	struct karena_range r, *vec = (struct karena_range *)(t->buf + i * 1024);
	struct karena_uring_range ur;
	struct karena_uring_vec uv;
	unsigned int n, k;

	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, -1, NULL, 0, 0);
	sqe->user_data = FZ_UD_KARENA;
	if (fz_rnd(t, 2))
		sqe->flags |= IOSQE_ASYNC;	/* through io-wq */
	if (fz_rnd(t, 2)) {
		fz_krange(t, &r, 8);
		memset(&ur, 0, sizeof(ur));
		ur.start = r.start;
		ur.npages = (unsigned int)(r.len / FZ_PS);
		ur.op = (unsigned char)r.op;
		ur.flags = (unsigned char)r.flags;
		if (fz_rnd(t, 16) == 0)
			ur.reserved = 1;
		sqe->cmd_op = KARENA_URING_TRANSITION;
		memcpy(sqe->cmd, &ur, sizeof(ur));
	} else {
		n = 1 + fz_rnd(t, 8);
		for (k = 0; k < n; k++)
			fz_krange(t, &vec[k], 8);
		memset(&uv, 0, sizeof(uv));
		uv.ranges = (uintptr_t)vec;
		uv.count = n;
		switch (fz_rnd(t, 8)) {
		case 0: uv.ranges = fz_out_ptr(t, n * sizeof(r)); break;
		case 1: uv.count = fz_rnd(t, 2) ? 0 : KARENA_VEC_MAX + 1; break;
		case 2: uv.reserved = 1; break;
		}
		sqe->cmd_op = KARENA_URING_VEC;
		memcpy(sqe->cmd, &uv, sizeof(uv));
	}
	sqe->fd = fz_range_fd(t);
	if (fz_rnd(t, 12) == 0)
		sqe->cmd_op = (unsigned int)fz_rand(t);
}

void fz_op_uring(struct fz_thread *t)
{
	unsigned int n = 1 + fz_rnd(t, 6), i;
	struct io_uring_sqe *sqe;
	int r;

	if (!fz_ring(t))
		return;
	if (t->inflight > 16)
		fz_reap(t, true);
	for (i = 0; i < n; i++) {
		sqe = io_uring_get_sqe(&t->ring);
		if (!sqe)
			break;
		fz_prep_cmd(t, sqe, i);
	}
	r = io_uring_submit(&t->ring);
	if (r > 0)
		t->inflight += r;
	switch (fz_rnd(t, 3)) {
	case 0: fz_reap(t, true); break;
	case 1: fz_reap(t, false); break;
	default: break;		/* left in flight */
	}
}

/* Tear the ring down, commands in flight or not. */
void fz_op_uring_exit(struct fz_thread *t)
{
	if (!t->ring_up)
		return;
	if (t->inflight)
		atomic_fetch_add(&t->p->sh->uring_inflight_exits, 1);
	io_uring_queue_exit(&t->ring);
	t->ring_up = false;
	t->inflight = 0;
}

/* Register karena memory as a fixed buffer (FOLL_LONGTERM) and use it. */
void fz_op_uring_regbuf(struct fz_thread *t)
{
	struct io_uring_sqe *sqe;
	struct iovec iov;
	uintptr_t a;
	size_t len;

	if (!fz_ring(t) || !fz_range(t, &a, &len))
		return;
	iov.iov_base = (void *)a;
	iov.iov_len = fz_io_len(len);
	if (io_uring_register_buffers(&t->ring, &iov, 1))
		return;
	fz_drain(t, (uintptr_t)t->buf);
	sqe = io_uring_get_sqe(&t->ring);
	if (sqe && fz_rnd(t, 2)) {
		io_uring_prep_write_fixed(sqe, t->pipe[1], iov.iov_base,
					  iov.iov_len > FZ_PS ? FZ_PS : iov.iov_len, 0, 0);
		sqe->user_data = FZ_UD_OTHER;
		if (io_uring_submit(&t->ring) == 1)
			t->inflight++;
	}
	fz_reap(t, true);
	fz_drain(t, fz_out_ptr(t, FZ_IO_MAX));
	if (fz_rnd(t, 4))	/* else kept pinned until the ring goes */
		io_uring_unregister_buffers(&t->ring);
}

/* ------------------------------------------------------------------ */
/* pipes, vmsplice, process_vm_*, /proc/self/mem */

void fz_op_vmsplice(struct fz_thread *t)
{
	struct iovec iov;
	uintptr_t a;
	size_t len;

	if (!fz_range(t, &a, &len))
		return;
	iov.iov_base = (void *)a;
	iov.iov_len = fz_io_len(len);
	vmsplice(t->pipe[1], &iov, 1,
		 SPLICE_F_NONBLOCK | (fz_rnd(t, 2) ? SPLICE_F_GIFT : 0));
	if (fz_rnd(t, 4))	/* else the pipe keeps its page references */
		fz_drain(t, fz_out_ptr(t, FZ_IO_MAX));
}

void fz_op_pipe_io(struct fz_thread *t)
{
	uintptr_t a, b;
	size_t len, blen;

	if (!fz_range(t, &a, &len))
		return;
	fz_drain(t, (uintptr_t)t->buf);
	if (write(t->pipe[1], (void *)a, fz_io_len(len)) > 0 && fz_range(t, &b, &blen))
		while (read(t->pipe[0], (void *)b, fz_io_len(blen)) > 0)
			;
	fz_drain(t, (uintptr_t)t->buf);
}

void fz_op_process_vm(struct fz_thread *t)
{
	struct iovec local, remote;
	uintptr_t a, b;
	size_t len, blen;

	if (!fz_range(t, &a, &len))
		return;
	remote.iov_base = (void *)a;
	remote.iov_len = fz_io_len(len);
	local.iov_base = t->buf;
	local.iov_len = remote.iov_len;
	if (fz_rnd(t, 3) == 0 && fz_range(t, &b, &blen)) {
		local.iov_base = (void *)b;	/* karena to karena */
		local.iov_len = fz_io_len(blen);
	}
	if (fz_rnd(t, 2))
		process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	else
		process_vm_writev(getpid(), &local, 1, &remote, 1, 0);
}

void fz_op_proc_mem(struct fz_thread *t)
{
	uintptr_t a;
	size_t len;

	if (t->p->proc_mem < 0 || !fz_range(t, &a, &len))
		return;
	if (fz_rnd(t, 2))
		pread(t->p->proc_mem, t->buf, fz_io_len(len), (off_t)a);
	else
		pwrite(t->p->proc_mem, t->buf, fz_io_len(len), (off_t)a);
}

/* ------------------------------------------------------------------ */
/* fork */

/* In the child: ops that need no other thread and no shared ring. */
static void fz_child(struct fz_thread *t, unsigned char parent_seed)
{
	long bad;
	int i;

	if (t->priv && parent_seed) {
		bad = fz_priv_check(t, parent_seed);
		if (bad >= 0)
			fz_fail(t, "fork: child's private byte %ld differs from the parent's", bad);
	}
	t->ring_up = false;	/* the parent's ring: not ours to use */
	t->in_child = true;
	for (i = 0; i < 16; i++)
		fz_one_op(t);
	if (t->priv && t->priv_seed)
		fz_priv_fill(t, (unsigned char)(t->priv_seed + 1));
	_exit(0);
}

void fz_op_fork(struct fz_thread *t)
{
	unsigned char seed = t->priv_seed;
	int st;
	pid_t pid;
	long bad;

	pid = fork();
	if (pid < 0)
		return;
	if (pid == 0)
		fz_child(t, seed);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(st) && WTERMSIG(st) != SIGKILL)
		fz_fail(t, "fork: child killed by signal %d", WTERMSIG(st));
	if (t->priv && seed && seed == t->priv_seed) {
		bad = fz_priv_check(t, seed);
		if (bad >= 0)
			fz_fail(t, "fork: parent's private byte %ld changed (child's write?)", bad);
	}
}
