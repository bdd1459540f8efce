/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The karena fuzzer: shared definitions of fuzz.c (the runner: worker
 * processes, op budget, hang watchdog, summary) and fuzz_ops.c (the random
 * operations one worker thread performs).
 *
 * Memory layout of a worker process.  Every karena mapping lives inside one
 * PROT_NONE anonymous reservation at a fixed low address (FZ_REGION_BASE),
 * far below where mmap(NULL) places anything, so an access to a stale
 * address (a slot another thread just unmapped) lands on karena memory or on
 * PROT_NONE, never on the fuzzer's own memory.  Holes left by munmap are
 * re-reserved at once.  An access that faults is caught (SIGSEGV/SIGBUS,
 * per-thread sigjmp_buf) only inside fz_touch_*(); a signal anywhere else is
 * a failure.
 *
 * Slots are (address, length, file) records of mappings made by either
 * thread; they go stale freely (munmap, MAP_FIXED over them, close), which
 * is the point.  Each thread also owns one private slot that only it
 * touches: its contents are checked (zero after ALLOC, pattern kept), so a
 * page leaking between contexts or processes is seen.
 *
 * Reproducibility: the seed (printed) fixes every thread's sequence of
 * operations (seed, worker index, life number, thread index); the
 * interleaving of threads and the chaos driver is not reproducible.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <setjmp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <liburing.h>

#include "karena.h"

#define FZ_PS		4096UL
#define FZ_REGION_BASE	0x200000000000UL	/* per process, fixed */
#define FZ_REGION_LEN	(64UL << 20)
#define FZ_PRIV_BASE	(FZ_REGION_BASE + FZ_REGION_LEN + (1UL << 20))	/* gap: */
			/* a range past a slot's end never reaches it */
#define FZ_SLOTS	24
#define FZ_FDS		4
#define FZ_THREADS_MAX	4
#define FZ_PRIV_PAGES	16
#define FZ_BUF		(64UL << 10)	/* per-thread scratch buffer */

enum fz_op {
	FZ_OPEN, FZ_CLOSE, FZ_MMAP, FZ_MUNMAP, FZ_MPROTECT, FZ_MREMAP,
	FZ_MADVISE, FZ_MLOCK, FZ_MINCORE, FZ_TRANS, FZ_TRANS_BAD, FZ_VEC,
	FZ_QUERY, FZ_STATS, FZ_CTL, FZ_IOCTL_BAD, FZ_TOUCH, FZ_PRIVATE,
	FZ_FORK, FZ_URING, FZ_URING_EXIT, FZ_URING_REGBUF, FZ_VMSPLICE,
	FZ_PROCESS_VM, FZ_PROC_MEM, FZ_PIPE_IO,
	FZ_NR_OPS
};

extern const char *const fz_op_names[FZ_NR_OPS];

/* Shared by the runner and every worker (MAP_SHARED anonymous). */
struct fz_shared {
	atomic_ulong ops;			/* operations done, all workers */
	atomic_ulong by_op[FZ_NR_OPS];
	atomic_ulong failures;
	atomic_ulong uring_inflight_exits;	/* rings torn down busy */
	unsigned long budget;			/* stop at this many ops */
	bool no_uring;
};

struct fz_slot {
	_Atomic uintptr_t addr;			/* 0: empty */
	_Atomic size_t len;
	atomic_int fd;
};

/* One worker process. */
struct fz_proc {
	struct fz_shared *sh;
	unsigned long seed;
	int index, life;
	atomic_int fds[FZ_FDS];			/* -1: none */
	struct fz_slot slots[FZ_SLOTS];
	int proc_mem;				/* /proc/self/mem */
	unsigned long life_ops;			/* exit after this many */
	atomic_ulong done;
};

struct fz_thread {
	struct fz_proc *p;
	int index;
	uint64_t rng;
	int pipe[2];				/* non-blocking */
	struct io_uring ring;
	bool ring_up;
	bool in_child;				/* forked: no fork, no uring */
	int range_fd;				/* file of the last fz_slot() */
	unsigned int inflight;
	int priv_fd;
	char *priv;				/* FZ_PRIV_PAGES, Ready */
	unsigned char priv_seed;
	unsigned char *buf;			/* FZ_BUF scratch, not karena */
};

/* fuzz_ops.c: the op table and the helpers fuzz_io.c shares */
uint64_t fz_rand(struct fz_thread *t);
static inline unsigned int fz_rnd(struct fz_thread *t, unsigned long n)
{
	return n ? (unsigned int)(fz_rand(t) % n) : 0;
}
void fz_thread_init(struct fz_thread *t);
void fz_one_op(struct fz_thread *t);
void fz_fail(struct fz_thread *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void fz_catch_signals(void);

enum { FZ_READ, FZ_WRITE, FZ_COPY };
int fz_touch(uintptr_t a, size_t n, int mode, const void *src);
int fz_fd(struct fz_thread *t);
int fz_range_fd(struct fz_thread *t);
bool fz_slot(struct fz_thread *t, uintptr_t *a, size_t *len, int *fd);
bool fz_range(struct fz_thread *t, uintptr_t *a, size_t *len);
uintptr_t fz_bad_addr(struct fz_thread *t);
size_t fz_bad_len(struct fz_thread *t);
uintptr_t fz_out_ptr(struct fz_thread *t, size_t need);
void fz_errno_ok(struct fz_thread *t, const char *what, int err);
void fz_krange(struct fz_thread *t, struct karena_range *r, unsigned int bad);
long fz_priv_check(const struct fz_thread *t, unsigned char seed);
void fz_priv_fill(struct fz_thread *t, unsigned char seed);

/* fuzz_io.c */
void fz_op_fork(struct fz_thread *t);
void fz_op_uring(struct fz_thread *t);
void fz_op_uring_exit(struct fz_thread *t);
void fz_op_uring_regbuf(struct fz_thread *t);
void fz_op_vmsplice(struct fz_thread *t);
void fz_op_process_vm(struct fz_thread *t);
void fz_op_proc_mem(struct fz_thread *t);
void fz_op_pipe_io(struct fz_thread *t);

#endif
