// SPDX-License-Identifier: GPL-2.0
/*
 * The fuzzer's operations on mappings and the ioctl interface: random
 * mmap/munmap/mprotect/mremap/madvise/mlock/mincore, transitions and
 * vectors with plausible and garbage arguments, QUERY/STATS/INFO/LIMITS/
 * CONFIG with their output written into karena memory itself, unknown
 * ioctls, touches, and the private-slot integrity check.  The I/O paths
 * (io_uring, vmsplice, process_vm_*, /proc/self/mem, pipes, fork) are in
 * fuzz_io.c.  Design notes: fuzz.h.
 *
 * What counts as a failure here: a karena ioctl failing with an errno the
 * ABI does not document, a vector reporting more progress than it was
 * given, a fresh Ready page that does not read zeros, a private page that
 * lost its contents, or an access that faults outside fz_touch().
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"

const char *const fz_op_names[FZ_NR_OPS] = {
	"open", "close", "mmap", "munmap", "mprotect", "mremap", "madvise",
	"mlock", "mincore", "transition", "transition_bad", "vec", "query",
	"stats", "ctl", "ioctl_bad", "touch", "private", "fork", "uring",
	"uring_exit", "uring_regbuf", "vmsplice", "process_vm", "proc_mem",
	"pipe_io",
};

/* ------------------------------------------------------------------ */
/* randomness, failures, signals */

uint64_t fz_rand(struct fz_thread *t)
{
	uint64_t z = (t->rng += 0x9e3779b97f4a7c15ULL);	/* splitmix64 */

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void fz_fail(struct fz_thread *t, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	atomic_fetch_add(&t->p->sh->failures, 1);
	n = fprintf(stderr, "fuzz: FAIL worker %d life %d thread %d: %s\n",
		    t->p->index, t->p->life, t->index, msg);
	(void)n;
}

static __thread sigjmp_buf fz_env;
static __thread volatile sig_atomic_t fz_armed;

static void fz_on_fault(int sig)
{
	if (fz_armed) {
		fz_armed = 0;
		siglongjmp(fz_env, sig);
	}
	/* Outside fz_touch(): restore the default and die on the retry. */
	signal(sig, SIG_DFL);
}

void fz_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fz_on_fault;
	sa.sa_flags = SA_NODEFER;	/* siglongjmp out without a mask */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/*
 * Access [a, a + n) page by page (FZ_READ, FZ_WRITE) or copy src there
 * (FZ_COPY).  Returns 0, or the signal the access raised.
 */
int fz_touch(uintptr_t a, size_t n, int mode, const void *src)
{
	volatile unsigned char *c = (volatile unsigned char *)a;
	size_t i;
	int sig;

	sig = sigsetjmp(fz_env, 0);
	if (sig)
		return sig;
	fz_armed = 1;
	if (mode == FZ_COPY)
		memcpy((void *)a, src, n);
	else
		for (i = 0; i < n; i += FZ_PS) {
			if (mode == FZ_WRITE)
				c[i] = (unsigned char)(i >> 12);
			else
				(void)c[i];
		}
	fz_armed = 0;
	return 0;
}

/* ------------------------------------------------------------------ */
/* argument pickers */

int fz_fd(struct fz_thread *t)
{
	return atomic_load(&t->p->fds[fz_rnd(t, FZ_FDS)]);
}

/* The file the last picked slot was mapped from; sometimes another one. */
int fz_range_fd(struct fz_thread *t)
{
	return fz_rnd(t, 8) ? t->range_fd : fz_fd(t);
}

/* A slot's address and length (stale or not); false when none is set. */
bool fz_slot(struct fz_thread *t, uintptr_t *a, size_t *len, int *fd)
{
	int i, s;

	for (i = 0; i < 4; i++) {
		s = fz_rnd(t, FZ_SLOTS);
		*a = atomic_load(&t->p->slots[s].addr);
		*len = atomic_load(&t->p->slots[s].len);
		t->range_fd = atomic_load(&t->p->slots[s].fd);
		if (fd)
			*fd = t->range_fd;
		if (*a && *len)
			return true;
	}
	return false;
}

/* A page-aligned piece of a slot: whole, head, tail, middle or beyond. */
bool fz_range(struct fz_thread *t, uintptr_t *a, size_t *len)
{
	size_t n, off, cnt;

	if (!fz_slot(t, a, len, NULL))
		return false;
	n = *len / FZ_PS;
	switch (fz_rnd(t, 6)) {
	case 0:
		return true;
	case 1:		/* past the end: into whatever follows */
		*len += (1 + fz_rnd(t, 8)) * FZ_PS;
		return true;
	default:
		off = fz_rnd(t, n);
		cnt = 1 + fz_rnd(t, n - off);
		*a += off * FZ_PS;
		*len = cnt * FZ_PS;
		return true;
	}
}

/* An address no plausible range uses (never a private slot). */
uintptr_t fz_bad_addr(struct fz_thread *t)
{
	static const uintptr_t bad[] = {
		0, 1, FZ_PS, FZ_REGION_BASE - FZ_PS, FZ_REGION_BASE + 1,
		0x7ffffffff000UL, 0x800000000000UL, 0xffff888000000000UL,
		0xffffffffff600000UL, ~0UL & ~(FZ_PS - 1), ~0UL,
	};
	uintptr_t a;
	size_t len;

	if (fz_rnd(t, 3) == 0 && fz_slot(t, &a, &len, NULL))
		return a + 1 + fz_rnd(t, FZ_PS - 1);	/* unaligned */
	return bad[fz_rnd(t, sizeof(bad) / sizeof(bad[0]))];
}

size_t fz_bad_len(struct fz_thread *t)
{
	static const size_t bad[] = {
		0, 1, FZ_PS - 1, FZ_PS + 1, 1UL << 40, ~0UL & ~(FZ_PS - 1),
		~0UL, 0x8000000000000000UL,
	};

	return bad[fz_rnd(t, sizeof(bad) / sizeof(bad[0]))];
}

/*
 * A place for the kernel to write output: scratch memory, karena memory
 * (any slot: Ready, Prepared, read-only or unmapped by now) or garbage.
 */
uintptr_t fz_out_ptr(struct fz_thread *t, size_t need)
{
	uintptr_t a;
	size_t len;

	switch (fz_rnd(t, 8)) {
	case 0:
		return fz_bad_addr(t);
	case 1: case 2: case 3: case 4:
		if (fz_slot(t, &a, &len, NULL))
			return a + fz_rnd(t, len / FZ_PS) * FZ_PS;
		/* fall through */
	default:
		return need <= FZ_BUF ? (uintptr_t)t->buf : fz_bad_addr(t);
	}
}

/* Karena ioctls fail only with the errnos kmod/uapi/karena.h documents. */
void fz_errno_ok(struct fz_thread *t, const char *what, int err)
{
	switch (err) {
	case 0: case EINVAL: case EFAULT: case ENOMEM: case EPERM:
	case ENOTTY: case EINTR:
	case EBUSY:	/* cutting a huge block someone holds (vmsplice) */
	case EBADF:	/* another thread closed the file */
		return;
	default:
		fz_fail(t, "%s: undocumented errno %d (%s)", what, err,
			strerror(err));
	}
}

static int fz_ioctl(int fd, unsigned long cmd, uintptr_t arg)
{
	return ioctl(fd, cmd, (void *)arg) ? errno : 0;
}

/* ------------------------------------------------------------------ */
/* files and mappings */

static void op_open(struct fz_thread *t)
{
	int i = fz_rnd(t, FZ_FDS), fd, old;

	fd = open(KARENA_DEVICE, (fz_rnd(t, 8) ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return;
	old = atomic_exchange(&t->p->fds[i], fd);
	if (old >= 0 && fz_rnd(t, 2))
		close(old);	/* else leaked until exit, with its mappings */
}

static void op_close(struct fz_thread *t)
{
	int fd = atomic_exchange(&t->p->fds[fz_rnd(t, FZ_FDS)], -1);

	if (fd >= 0)
		close(fd);
}

static const int fz_prots[] = {
	PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE,
	PROT_READ, PROT_NONE, PROT_WRITE, PROT_READ | PROT_WRITE | PROT_EXEC,
};

static int fz_prot(struct fz_thread *t)
{
	return fz_prots[fz_rnd(t, sizeof(fz_prots) / sizeof(fz_prots[0]))];
}

static size_t fz_npages(struct fz_thread *t)
{
	switch (fz_rnd(t, 8)) {
	case 0:
		return 1;
	case 1:
		return 256 + fz_rnd(t, 257);
	default:
		return 1 + fz_rnd(t, 64);
	}
}

#define FZ_HUGE		(2UL << 20)

/* Make the new mapping [p, p + len) Ready with the HUGEPAGE hint. */
static void fz_ready_huge(int fd, void *p, size_t len)
{
	static const unsigned int ops[] = { KARENA_OP_ALLOC,
					    KARENA_OP_HUGEPAGE };
	struct karena_transition tr;
	unsigned int i;

	for (i = 0; i < 2; i++) {
		memset(&tr, 0, sizeof(tr));
		tr.size = sizeof(tr);
		tr.range.start = (uintptr_t)p;
		tr.range.len = len;
		tr.range.op = ops[i];
		if (fz_ioctl(fd, KARENA_IOC_TRANSITION, (uintptr_t)&tr))
			return;
	}
}

static void op_mmap(struct fz_thread *t)
{
	size_t n = fz_npages(t), len = n * FZ_PS;
	uintptr_t a = FZ_REGION_BASE +
		fz_rnd(t, (FZ_REGION_LEN - len) / FZ_PS) * FZ_PS;
	int flags = MAP_SHARED | MAP_FIXED, fd = fz_fd(t), s;
	bool huge = false;
	off_t off = 0;
	void *p;

	switch (fz_rnd(t, 32)) {
	case 6:
	case 7:
		/* 1-2 huge blocks (kmod/huge.c), touched by the other ops. */
		len = (1 + fz_rnd(t, 2)) * FZ_HUGE;
		a = FZ_REGION_BASE +
			fz_rnd(t, FZ_REGION_LEN / FZ_HUGE - 2) * FZ_HUGE;
		huge = true;
		break;
	case 0: flags = MAP_PRIVATE | MAP_FIXED; break;
	case 1: flags |= MAP_POPULATE; break;
	case 2: flags |= MAP_LOCKED; break;
	case 3: off = (off_t)fz_rnd(t, 1024) * FZ_PS; break;
	case 4: off = 1 + fz_rnd(t, FZ_PS - 1); break;
	case 5: flags = MAP_SHARED_VALIDATE | MAP_FIXED | MAP_SYNC; break;
	}
	if (fd < 0)
		return;
	p = mmap((void *)a, len, fz_prot(t), flags, fd, off);
	if (p == MAP_FAILED)
		return;
	if (huge)
		fz_ready_huge(fd, p, len);
	s = fz_rnd(t, FZ_SLOTS);
	atomic_store(&t->p->slots[s].addr, 0);
	atomic_store(&t->p->slots[s].len, len);
	atomic_store(&t->p->slots[s].fd, fd);
	atomic_store(&t->p->slots[s].addr, (uintptr_t)p);
}

static void op_munmap(struct fz_thread *t)
{
	uintptr_t a;
	size_t len;

	if (fz_range(t, &a, &len))
		munmap((void *)a, len);
}

static void op_mprotect(struct fz_thread *t)
{
	uintptr_t a;
	size_t len;

	if (fz_range(t, &a, &len))
		mprotect((void *)a, len, fz_prot(t));
}

static void op_mremap(struct fz_thread *t)
{
	uintptr_t a, to;
	size_t len, nlen;
	void *p;

	if (!fz_slot(t, &a, &len, NULL))
		return;
	to = FZ_REGION_BASE + fz_rnd(t, (FZ_REGION_LEN - 2 * len) / FZ_PS) * FZ_PS;
	switch (fz_rnd(t, 4)) {
	case 0:		/* shrink in place */
		nlen = (1 + fz_rnd(t, len / FZ_PS)) * FZ_PS;
		p = mremap((void *)a, len, nlen, 0);
		break;
	case 1:		/* grow (VM_DONTEXPAND) */
		p = mremap((void *)a, len, len + FZ_PS, MREMAP_MAYMOVE);
		break;
	case 2:		/* move */
		p = mremap((void *)a, len, len, MREMAP_MAYMOVE | MREMAP_FIXED,
			   (void *)to);
		break;
	default:
		p = mremap((void *)a, len, len, MREMAP_MAYMOVE | MREMAP_DONTUNMAP,
			   (void *)to);
		break;
	}
	(void)p;
}

/* Every advice of 6.1 but HWPOISON/SOFT_OFFLINE (they poison RAM), and junk. */
static const int fz_advice[] = {
	MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED,
	MADV_DONTNEED, MADV_FREE, MADV_REMOVE, MADV_DONTFORK, MADV_DOFORK,
	MADV_MERGEABLE, MADV_UNMERGEABLE, MADV_HUGEPAGE, MADV_NOHUGEPAGE,
	MADV_DONTDUMP, MADV_DODUMP, MADV_WIPEONFORK, MADV_KEEPONFORK,
	MADV_COLD, MADV_PAGEOUT, 22 /* POPULATE_READ */,
	23 /* POPULATE_WRITE */, 24 /* DONTNEED_LOCKED */, 25 /* COLLAPSE */,
	MADV_DONTNEED, MADV_DONTNEED, 5, 199, -1,
};

static void op_madvise(struct fz_thread *t)
{
	uintptr_t a;
	size_t len;

	if (fz_range(t, &a, &len))
		madvise((void *)a, len,
			fz_advice[fz_rnd(t, sizeof(fz_advice) / sizeof(fz_advice[0]))]);
}

static void op_mlock(struct fz_thread *t)
{
	uintptr_t a;
	size_t len;

	if (!fz_range(t, &a, &len))
		return;
	switch (fz_rnd(t, 5)) {
	case 0: mlock((void *)a, len); break;
	case 1: munlock((void *)a, len); break;
	case 2: mlock2((void *)a, len, MLOCK_ONFAULT); break;
	case 3: msync((void *)a, len, MS_SYNC | MS_INVALIDATE); break;
	default: msync((void *)a, len, MS_ASYNC); break;
	}
}

static void op_mincore(struct fz_thread *t)
{
	uintptr_t a;
	size_t len;

	if (fz_range(t, &a, &len) && len / FZ_PS <= FZ_BUF)
		mincore((void *)a, len, (unsigned char *)fz_out_ptr(t, len / FZ_PS));
}

/* ------------------------------------------------------------------ */
/* transitions, vectors, query and friends */

static unsigned int fz_top(struct fz_thread *t)
{
	return 1 + fz_rnd(t, KARENA_OP_MAX);
}

static unsigned int fz_flags(struct fz_thread *t)
{
	return fz_rnd(t, 4) ? 0 : KARENA_F_POPULATE;
}

/*
 * An op that is legal for the state of the range's first page (QUERY),
 * so that most transitions do something; any op when that fails.
 */
static unsigned int fz_legal_op(struct fz_thread *t, uintptr_t a)
{
	static const unsigned char legal[KARENA_NR_STATES][5] = {
		[KARENA_STATE_NONE] = { KARENA_OP_RESERVE, KARENA_OP_ALLOC,
			KARENA_OP_ALLOC, KARENA_OP_FREE, KARENA_OP_RESERVE },
		[KARENA_STATE_RESERVED] = { KARENA_OP_MAP, KARENA_OP_ALLOC,
			KARENA_OP_FAULT, KARENA_OP_FREE, KARENA_OP_HUGEPAGE },
		[KARENA_STATE_PREPARED] = { KARENA_OP_USED, KARENA_OP_USED,
			KARENA_OP_FAULT, KARENA_OP_FREE, KARENA_OP_NOHUGEPAGE },
		[KARENA_STATE_READY] = { KARENA_OP_UNUSED, KARENA_OP_FAULT,
			KARENA_OP_FREE, KARENA_OP_UNUSED, KARENA_OP_HUGEPAGE },
	};
	struct karena_query q;
	unsigned char st;

	memset(&q, 0, sizeof(q));
	q.size = sizeof(q);
	q.start = a;
	q.len = FZ_PS;
	q.vec = (uintptr_t)&st;
	if (ioctl(t->range_fd, KARENA_IOC_QUERY, &q))
		return fz_top(t);
	return legal[st & KARENA_STATE_MASK][fz_rnd(t, 5)];
}

/* A plausible range, or (one in 'bad') a garbage one. */
void fz_krange(struct fz_thread *t, struct karena_range *r, unsigned int bad)
{
	uintptr_t a;
	size_t len;

	memset(r, 0, sizeof(*r));
	r->op = fz_top(t);
	r->flags = fz_flags(t);
	if (fz_range(t, &a, &len)) {
		r->start = a;
		r->len = len;
		if (fz_rnd(t, 4))
			r->op = fz_legal_op(t, a);
	}
	/* Lazy release: half the Unuses; now and then on another op (EINVAL). */
	if (r->op == KARENA_OP_UNUSED ? fz_rnd(t, 2) : !fz_rnd(t, 16))
		r->flags |= KARENA_F_LAZY;
	if (bad && fz_rnd(t, bad) == 0) {
		switch (fz_rnd(t, 6)) {
		case 0: r->start = fz_bad_addr(t); break;
		case 1: r->len = fz_bad_len(t); break;
		case 2: r->op = fz_rnd(t, 2) ? 0 : (unsigned int)fz_rand(t); break;
		case 3: r->flags = (unsigned int)fz_rand(t); break;
		case 4: r->reserved = fz_rand(t) | 1; break;
		default: r->start = ~0UL - FZ_PS + 1; r->len = 2 * FZ_PS; break;
		}
	}
}

static void op_trans(struct fz_thread *t)
{
	struct karena_transition tr;
	int fd, err;

	memset(&tr, 0, sizeof(tr));
	tr.size = sizeof(tr);
	fz_krange(t, &tr.range, 0);
	fd = fz_range_fd(t);
	err = fz_ioctl(fd, KARENA_IOC_TRANSITION, (uintptr_t)&tr);
	fz_errno_ok(t, "TRANSITION", err);
	if (!err && tr.pages * FZ_PS > tr.range.len)
		fz_fail(t, "TRANSITION: %llu pages from %llu bytes",
			(unsigned long long)tr.pages, (unsigned long long)tr.range.len);
}

/* The ioctl struct itself in karena memory, or a bad pointer to it. */
static uintptr_t fz_place(struct fz_thread *t, const void *s, size_t n)
{
	uintptr_t p = fz_out_ptr(t, n);

	if (p == (uintptr_t)t->buf)
		memcpy(t->buf, s, n);
	else if (p >= FZ_REGION_BASE && p < FZ_REGION_BASE + FZ_REGION_LEN &&
		 p + n <= FZ_REGION_BASE + FZ_REGION_LEN)
		fz_touch(p, n, FZ_COPY, s);
	return p;
}

static void op_trans_bad(struct fz_thread *t)
{
	struct karena_transition tr;
	uintptr_t arg = (uintptr_t)&tr;
	int fd;

	memset(&tr, 0, sizeof(tr));
	tr.size = sizeof(tr);
	fz_krange(t, &tr.range, 1);
	fd = fz_range_fd(t);
	switch (fz_rnd(t, 5)) {
	case 0: tr.size = (unsigned int)fz_rand(t) % 128; break;
	case 1: tr.reserved0 = 1; break;
	case 2: tr.reserved[fz_rnd(t, 2)] = fz_rand(t) | 1; break;
	case 3: arg = fz_place(t, &tr, sizeof(tr)); break;
	}
	fz_errno_ok(t, "TRANSITION(bad)",
		    fz_ioctl(fd, KARENA_IOC_TRANSITION, arg));
}

static void op_vec(struct fz_thread *t)
{
	unsigned int n = 1 + fz_rnd(t, 16), i;
	struct karena_range *r = (struct karena_range *)t->buf;
	struct karena_vec v;
	int fd, err;

	for (i = 0; i < n; i++)
		fz_krange(t, &r[i], 8);
	fd = fz_range_fd(t);
	memset(&v, 0, sizeof(v));
	v.size = sizeof(v);
	v.range_size = sizeof(*r);
	v.ranges = (uintptr_t)r;
	v.count = n;
	switch (fz_rnd(t, 10)) {
	case 0: v.ranges = fz_place(t, r, n * sizeof(*r)); break;
	case 1: v.count = fz_rnd(t, 2) ? 0 : KARENA_VEC_MAX + 1; break;
	case 2: v.range_size = (unsigned int)fz_rand(t) % 64; break;
	case 3: v.reserved0 = 1; break;
	}
	err = fz_ioctl(fd, KARENA_IOC_VEC, (uintptr_t)&v);
	fz_errno_ok(t, "VEC", err);
	if (v.done > v.count)
		fz_fail(t, "VEC: done %u of %u ranges", v.done, v.count);
	if (!err && v.count <= KARENA_VEC_MAX && v.done != v.count)
		fz_fail(t, "VEC: success after %u of %u ranges", v.done, v.count);
}

static void op_query(struct fz_thread *t)
{
	struct karena_query q;
	uintptr_t a;
	size_t len;
	int fd;

	if (!fz_range(t, &a, &len) || len / FZ_PS > FZ_BUF)
		return;
	fd = fz_range_fd(t);
	memset(&q, 0, sizeof(q));
	q.size = sizeof(q);
	q.start = a;
	q.len = len;
	q.vec = fz_out_ptr(t, len / FZ_PS);
	if (fz_rnd(t, 16) == 0)
		q.vec = a;	/* the states of the range, written over it */
	fz_errno_ok(t, "QUERY", fz_ioctl(fd, KARENA_IOC_QUERY, (uintptr_t)&q));
}

static void op_stats(struct fz_thread *t)
{
	struct karena_stats st;
	int fd = fz_fd(t);

	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	fz_errno_ok(t, "STATS", fz_ioctl(fd, KARENA_IOC_STATS,
					 fz_place(t, &st, sizeof(st))));
}

static void op_ctl(struct fz_thread *t)
{
	union {
		struct karena_info i;
		struct karena_limits l;
		struct karena_config c;
	} u;
	int fd = fz_fd(t);

	memset(&u, 0, sizeof(u));
	switch (fz_rnd(t, 3)) {
	case 0:
		u.i.size = sizeof(u.i);
		fz_errno_ok(t, "INFO", fz_ioctl(fd, KARENA_IOC_INFO,
						fz_place(t, &u.i, sizeof(u.i))));
		break;
	case 1:
		u.l.size = sizeof(u.l);
		u.l.flags = fz_rnd(t, 5);	/* 4: unknown flag */
		u.l.max_reserved = fz_rnd(t, 2) ? fz_rand(t) : (1 + fz_rnd(t, 64)) << 20;
		u.l.max_ready = fz_rnd(t, 2) ? fz_rand(t) : (1 + fz_rnd(t, 64)) << 20;
		fz_errno_ok(t, "LIMITS", fz_ioctl(fd, KARENA_IOC_LIMITS,
						  (uintptr_t)&u.l));
		break;
	default:
		u.c.size = sizeof(u.c);
		u.c.flags = fz_rnd(t, 8) ? fz_rnd(t, 2) : (unsigned int)fz_rand(t);
		fz_errno_ok(t, "CONFIG", fz_ioctl(fd, KARENA_IOC_CONFIG,
						  (uintptr_t)&u.c));
		break;
	}
}

static void op_ioctl_bad(struct fz_thread *t)
{
	unsigned long cmd = _IOC(fz_rnd(t, 4), KARENA_IOC_MAGIC,
				 fz_rnd(t, 16), fz_rnd(t, 256));
	uintptr_t arg = fz_rnd(t, 2) ? fz_out_ptr(t, 256) : (uintptr_t)t->buf;

	if (fz_rnd(t, 4) == 0)
		cmd = (unsigned long)fz_rand(t);
	memset(t->buf, (int)fz_rnd(t, 256), 256);
	/* Any errno may come back for a random command number: no check. */
	fz_ioctl(fz_fd(t), cmd, arg);
}

static void op_touch(struct fz_thread *t)
{
	uintptr_t a;
	size_t len;

	if (fz_range(t, &a, &len))
		fz_touch(a, len, fz_rnd(t, 2) ? FZ_WRITE : FZ_READ, NULL);
}

/* ------------------------------------------------------------------ */
/* the private slot: contents checked */

static uintptr_t fz_priv_addr(struct fz_thread *t)
{
	return FZ_PRIV_BASE + t->index * FZ_PRIV_PAGES * FZ_PS;
}

static int fz_priv_trans(struct fz_thread *t, unsigned int op, unsigned int flags)
{
	struct karena_transition tr;
	int err;

	memset(&tr, 0, sizeof(tr));
	tr.size = sizeof(tr);
	tr.range.start = (uintptr_t)t->priv;
	tr.range.len = FZ_PRIV_PAGES * FZ_PS;
	tr.range.op = op;
	tr.range.flags = flags;
	err = fz_ioctl(t->priv_fd, KARENA_IOC_TRANSITION, (uintptr_t)&tr);
	if (err && err != ENOMEM)	/* a memcg or limit may say no */
		fz_fail(t, "private slot: op %u: %s", op, strerror(err));
	return err;
}

/* First byte that differs from the pattern of 'seed' (0: zeros), or -1. */
long fz_priv_check(const struct fz_thread *t, unsigned char seed)
{
	const volatile unsigned char *c = (const unsigned char *)t->priv;
	size_t i;

	for (i = 0; i < FZ_PRIV_PAGES * FZ_PS; i += 64)
		if (c[i] != (seed ? (unsigned char)(seed + (i >> 12)) : 0))
			return (long)i;
	return -1;
}

void fz_priv_fill(struct fz_thread *t, unsigned char seed)
{
	size_t i;

	for (i = 0; i < FZ_PRIV_PAGES * FZ_PS; i += 64)
		t->priv[i] = (char)(seed + (i >> 12));
	t->priv_seed = seed;
}

/* Make the private slot Ready (zeros) from any state; false on ENOMEM. */
static bool fz_priv_reset(struct fz_thread *t)
{
	long bad;

	if (fz_priv_trans(t, KARENA_OP_FREE, 0) ||
	    fz_priv_trans(t, KARENA_OP_ALLOC, fz_flags(t)))
		return false;
	bad = fz_priv_check(t, 0);
	if (bad >= 0)
		fz_fail(t, "private slot: byte %ld not zero after FREE+ALLOC", bad);
	return true;
}

static void op_private(struct fz_thread *t)
{
	long bad;

	if (!t->priv)
		return;
	if (!t->priv_seed)	/* not Ready: an earlier ENOMEM */
		goto reset;
	bad = fz_priv_check(t, t->priv_seed);
	if (bad >= 0)
		fz_fail(t, "private slot: byte %ld lost its contents", bad);
	switch (fz_rnd(t, 4)) {
	case 0:
		if (fz_priv_trans(t, KARENA_OP_UNUSED, 0) ||
		    fz_priv_trans(t, KARENA_OP_USED, fz_flags(t)))
			goto reset;
		bad = fz_priv_check(t, 0);
		if (bad >= 0)
			fz_fail(t, "private slot: byte %ld not zero after UNUSED+USED", bad);
		break;
	case 1:
		if (fz_priv_trans(t, KARENA_OP_FAULT, 0) ||
		    fz_priv_trans(t, KARENA_OP_ALLOC, fz_flags(t)))
			goto reset;
		bad = fz_priv_check(t, 0);
		if (bad >= 0)
			fz_fail(t, "private slot: byte %ld not zero after FAULT+ALLOC", bad);
		break;
	case 2:		/* contents survive MADV_DONTNEED */
		madvise(t->priv, FZ_PRIV_PAGES * FZ_PS, MADV_DONTNEED);
		bad = fz_priv_check(t, t->priv_seed);
		if (bad >= 0)
			fz_fail(t, "private slot: byte %ld lost by MADV_DONTNEED", bad);
		break;
	default:
		break;
	}
	fz_priv_fill(t, (unsigned char)(1 + fz_rnd(t, 255)));
	return;
reset:
	t->priv_seed = 0;
	if (fz_priv_reset(t))
		fz_priv_fill(t, (unsigned char)(1 + fz_rnd(t, 255)));
}

/* ------------------------------------------------------------------ */
/* per-thread setup and the op table */

void fz_thread_init(struct fz_thread *t)
{
	void *p;

	t->buf = malloc(FZ_BUF);
	if (!t->buf || pipe2(t->pipe, O_NONBLOCK | O_CLOEXEC)) {
		perror("fuzz: thread setup");
		_exit(3);
	}
	t->priv = NULL;
	t->priv_fd = open(KARENA_DEVICE, O_RDWR | O_CLOEXEC);
	if (t->priv_fd < 0) {	/* an unprivileged worker may be refused */
		if (errno != EACCES && errno != EPERM)
			fz_fail(t, "open %s: %s", KARENA_DEVICE, strerror(errno));
		return;
	}
	p = mmap((void *)fz_priv_addr(t), FZ_PRIV_PAGES * FZ_PS,
		 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE,
		 t->priv_fd, 0);
	if (p == MAP_FAILED) {	/* ENOMEM: chaos lowered max_reserved */
		if (errno != ENOMEM)
			fz_fail(t, "private slot mmap: %s", strerror(errno));
		return;
	}
	t->priv = p;
	if (fz_priv_reset(t))
		fz_priv_fill(t, (unsigned char)(1 + fz_rnd(t, 255)));
}

static const struct {
	void (*fn)(struct fz_thread *t);
	unsigned int weight;
} fz_ops[FZ_NR_OPS] = {
	[FZ_OPEN] = { op_open, 10 },
	[FZ_CLOSE] = { op_close, 4 },
	[FZ_MMAP] = { op_mmap, 60 },
	[FZ_MUNMAP] = { op_munmap, 20 },
	[FZ_MPROTECT] = { op_mprotect, 20 },
	[FZ_MREMAP] = { op_mremap, 12 },
	[FZ_MADVISE] = { op_madvise, 60 },
	[FZ_MLOCK] = { op_mlock, 12 },
	[FZ_MINCORE] = { op_mincore, 8 },
	[FZ_TRANS] = { op_trans, 200 },
	[FZ_TRANS_BAD] = { op_trans_bad, 40 },
	[FZ_VEC] = { op_vec, 60 },
	[FZ_QUERY] = { op_query, 40 },
	[FZ_STATS] = { op_stats, 15 },
	[FZ_CTL] = { op_ctl, 15 },
	[FZ_IOCTL_BAD] = { op_ioctl_bad, 15 },
	[FZ_TOUCH] = { op_touch, 150 },
	[FZ_PRIVATE] = { op_private, 40 },
	[FZ_FORK] = { fz_op_fork, 2 },
	[FZ_URING] = { fz_op_uring, 100 },
	[FZ_URING_EXIT] = { fz_op_uring_exit, 5 },
	[FZ_URING_REGBUF] = { fz_op_uring_regbuf, 10 },
	[FZ_VMSPLICE] = { fz_op_vmsplice, 20 },
	[FZ_PROCESS_VM] = { fz_op_process_vm, 20 },
	[FZ_PROC_MEM] = { fz_op_proc_mem, 20 },
	[FZ_PIPE_IO] = { fz_op_pipe_io, 20 },
};

void fz_one_op(struct fz_thread *t)
{
	unsigned int r, i, total = 0;

	for (i = 0; i < FZ_NR_OPS; i++)
		total += fz_ops[i].weight;
	r = fz_rnd(t, total);
	for (i = 0; r >= fz_ops[i].weight; i++)
		r -= fz_ops[i].weight;
	if ((t->p->sh->no_uring || t->in_child) &&
	    (i == FZ_URING || i == FZ_URING_REGBUF || i == FZ_URING_EXIT))
		i = FZ_TRANS;
	if (t->in_child && i == FZ_FORK)
		i = FZ_TOUCH;
	fz_ops[i].fn(t);
	atomic_fetch_add(&t->p->sh->by_op[i], 1);
	atomic_fetch_add(&t->p->sh->ops, 1);
	atomic_fetch_add(&t->p->done, 1);
}
