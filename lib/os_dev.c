// SPDX-License-Identifier: MIT
/*
 * os_dev.c - the /dev/karena OS backend.
 *
 *   probe     open(KARENA_DEVICE, O_RDWR|O_CLOEXEC), moved to a high fd
 *             number (shell redirections such as "exec 3>f" must not
 *             replace it), KARENA_IOC_INFO: ABI version, page size dividing
 *             8 KiB, vector support.  No allocation: it runs inside the
 *             first malloc.
 *   reserve   mmap(MAP_SHARED) of the device: every page starts Reserved
 *             (the module refuses MAP_PRIVATE, see kmod/main.c)
 *   alloc     anonymous mmap: allocator metadata need not live in the arena
 *   map       KARENA_OP_ALLOC for a fresh region (below), else KARENA_OP_MAP
 *   used      nothing for fresh pages, else KARENA_OP_USED
 *   unused    KARENA_OP_UNUSED; a batch range with OS_F_LAZY (the
 *             background scavenger's) gets KARENA_F_LAZY when
 *             KARENA_LAZY_RELEASE=1 (the default) and the module has
 *             KARENA_FEAT_LAZY: the module keeps the pages until memory
 *             pressure or a bound needs them, so releasing costs no zap
 *             and a page Used again before that costs no fault; such a
 *             page holds its old data, which the heap knows
 *             (os_unused_lazy: calloc zeroes it).  With the heap's huge
 *             hint, whole 2 MiB blocks are released eagerly and made
 *             Ready again at once ("Whole blocks" below)
 *   fault, hugepage, nohugepage
 *             KARENA_IOC_TRANSITION with the matching KARENA_OP_*
 *   huge_backed
 *             KARENA_IOC_QUERY of one page: KARENA_PAGE_HUGE_BACKED
 *             (the heap's release does not cut such a block, mgcscavenge.c)
 *   free      munmap
 *   batch     KARENA_IOC_VEC, up to KARENA_VEC_MAX ranges per call, or with
 *             KARENA_URING=1 one KARENA_URING_VEC io_uring command per
 *             vector (os_uring.c); when that client cannot, the ioctl
 *             does the work.
 *
 * Fresh regions.  The heap Maps memory as it grows (4 MiB or more at a
 * time) and then Uses it one span at a time: done plainly, an ioctl per
 * span, each taking mmap_lock and the file's mutex, which the scavenger
 * thread holds while it zaps the pages it releases (bench/README.md, "Why
 * python3 is slower on the device backend", has the cost).  Pages a
 * fresh mapping never handed out hold no memory whether they are Prepared
 * or Ready, so a Map of at least FRESH_MIN bytes becomes one
 * KARENA_OP_ALLOC (Reserved -> Ready) and the region's pages are
 * remembered in a bitmap; the heap's first Used of such a page only clears
 * its bit.  Everything else (pages the scavenger released and the heap
 * Uses again, small Maps, a full table) goes to the module.  A fresh
 * page the heap has not Used yet is Ready, not Prepared: in strict mode a
 * stray write there is not caught (the heap never touches such pages), and
 * it counts against the file's max_ready limit.  Fault and Free forget
 * the pages they cover.
 *
 * Mapping boundaries: os_dev_bounds.c.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
#include "os.h"
#include "os_dev.h"
#include "os_uring.h"
#include "internal.h"
#include "../kmod/uapi/karena.h"

#define DEV_FD_MIN	800	/* preferred lowest fd number for the device */
#define VEC_STACK	128	/* ranges per vector call built on the stack */
#define FRESH_MAX	64	/* fresh regions remembered at a time */
#define FRESH_MIN	(1u << 20)	/* smallest Map made Ready ahead */

static int kdev_fd = -1;
static struct karena_info kdev_info;

/* ---- single transitions ---- */

static int dev_transition(void *addr, size_t len, int op, unsigned int flags)
{
	uintptr_t a = (uintptr_t)addr, end = a + len;

	if (!len)
		return 0;
	while (a < end) {
		uintptr_t b = dev_bounds_next(a, end);
		struct karena_transition t;

		memset(&t, 0, sizeof(t));
		t.size = sizeof(t);
		t.range.start = a;
		t.range.len = b - a;
		t.range.op = (uint32_t)op;
		t.range.flags = flags;
		if (ioctl(kdev_fd, KARENA_IOC_TRANSITION, &t))
			return -errno;
		a = b;
	}
	return 0;
}

/* ---- fresh regions ---- */

struct fresh {
	uintptr_t start, end;	/* end == 0: free slot */
	uint64_t *bits;		/* one per page: Ready, not Used by the heap yet */
	size_t bits_len;	/* bytes mapped for bits */
	size_t left;		/* bits set */
};

static struct fresh fresh[FRESH_MAX];
static int fresh_busy;

static void fresh_lock(void)
{
	dev_spin_lock(&fresh_busy);
}

static void fresh_unlock(void)
{
	dev_spin_unlock(&fresh_busy);
}

static size_t dev_page(void)
{
	return kdev_info.page_size;
}

/*
 * Under fresh_lock: the region holding a, or NULL and in *next the start
 * of the first region above a (or UINTPTR_MAX).
 */
static struct fresh *fresh_find(uintptr_t a, uintptr_t *next)
{
	uintptr_t nx = UINTPTR_MAX;

	for (int i = 0; i < FRESH_MAX; i++) {
		if (!fresh[i].end)
			continue;
		if (a >= fresh[i].start && a < fresh[i].end)
			return &fresh[i];
		if (fresh[i].start > a && fresh[i].start < nx)
			nx = fresh[i].start;
	}
	if (next)
		*next = nx;
	return NULL;
}

/* Under fresh_lock: forget the regions whose pages were all Used. */
static void fresh_retire(void)
{
	for (int i = 0; i < FRESH_MAX; i++) {
		struct fresh *f = &fresh[i];

		if (f->end > 1 && !f->left) {
			munmap(f->bits, f->bits_len);
			memset(f, 0, sizeof(*f));
		}
	}
}

/*
 * Under fresh_lock: starting at a (< end), the length of the run of pages
 * that are all fresh or all not fresh, at most up to end; *is_fresh says
 * which.  With take, the fresh pages of the run stop being fresh.
 */
static uintptr_t fresh_run(uintptr_t a, uintptr_t end, bool take, bool *is_fresh)
{
	size_t psz = dev_page();
	uintptr_t b = a, next;
	struct fresh *f = NULL;
	bool first = true;

	*is_fresh = false;
	while (b < end) {
		bool fr = false;
		size_t i = 0;

		if (!f || b >= f->end) {
			f = fresh_find(b, &next);
			if (!f) {	/* no region up to next: not fresh */
				if (!first && *is_fresh)
					break;
				first = false;
				b = next < end ? next : end;
				continue;
			}
		}
		i = (b - f->start) / psz;
		fr = f->bits[i / 64] >> (i % 64) & 1;
		if (first)
			*is_fresh = fr;
		first = false;
		if (fr != *is_fresh)
			break;
		if (fr && take) {
			f->bits[i / 64] &= ~(1ull << (i % 64));
			f->left--;
		}
		b += psz;
	}
	return b - a;
}

/* Forget the fresh pages in [a, a + len). */
static void fresh_forget(uintptr_t a, size_t len)
{
	uintptr_t end = a + len;
	bool is_fresh;

	fresh_lock();
	while (a < end)
		a += fresh_run(a, end, true, &is_fresh);
	fresh_retire();
	fresh_unlock();
}

/*
 * Make a region Ready (op: KARENA_OP_ALLOC from Reserved, KARENA_OP_USED
 * from Prepared) and remember it as fresh; -errno if not.
 */
static int fresh_add(void *addr, size_t len, int op)
{
	size_t npages = len / dev_page();
	size_t bl = (npages + 63) / 64 * 8;
	struct fresh *slot = NULL;
	uint64_t *bits;
	int err;

	fresh_lock();
	for (int i = 0; i < FRESH_MAX && !slot; i++)
		if (!fresh[i].end)
			slot = &fresh[i];
	if (slot)
		slot->end = 1;		/* taken */
	fresh_unlock();
	if (!slot)
		return -ENOSPC;
	bits = mmap(NULL, bl, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	err = bits == MAP_FAILED ? -ENOMEM : dev_transition(addr, len, op, 0);
	/* a piece of a Map may be Ready: back to Reserved (a Used is one range) */
	if (err && bits != MAP_FAILED && op == KARENA_OP_ALLOC)
		dev_transition(addr, len, KARENA_OP_FAULT, 0);
	if (!err) {
		memset(bits, 0xff, npages / 64 * 8);
		if (npages % 64)
			bits[npages / 64] = (1ull << (npages % 64)) - 1;
	} else if (bits != MAP_FAILED) {
		munmap(bits, bl);
	}
	fresh_lock();
	if (err) {
		slot->end = 0;
	} else {
		slot->start = (uintptr_t)addr;
		slot->bits = bits;
		slot->bits_len = bl;
		slot->left = npages;
		slot->end = (uintptr_t)addr + len;
	}
	fresh_unlock();
	return err;
}

/* Make [a, b) of remembered region f Ready and fresh; f->left counts it. */
static void fresh_refresh_inside(struct fresh *f, uintptr_t a, uintptr_t b)
{
	size_t psz = dev_page(), n = (b - a) / psz, i0, i;
	int err = dev_transition((void *)a, b - a, KARENA_OP_USED, 0);

	fresh_lock();
	if (err) {
		f->left -= n;
		fresh_retire();
	} else {
		i0 = (a - f->start) / psz;
		for (i = i0; i < i0 + n; i++)
			f->bits[i / 64] |= 1ull << (i % 64);
	}
	fresh_unlock();
}

/*
 * Make the Prepared, unbacked pages [a, b) (one mapping) Ready and fresh
 * again, piece by piece: the pieces inside a region still remembered get
 * their bits back, the pieces outside every region become new regions.
 * (A run released whole can reach into a region whose pages the heap
 * has not all Used yet, e.g. the top of the heap's last Map.)  On any
 * failure a piece's pages stay Prepared, which is what the heap assumes.
 */
static void fresh_refresh(uintptr_t a, uintptr_t b)
{
	while (a < b) {
		uintptr_t next, e;
		struct fresh *f;

		fresh_lock();
		f = fresh_find(a, &next);
		e = f ? (f->end < b ? f->end : b) : (next < b ? next : b);
		if (f)
			f->left += (e - a) / dev_page();	/* not retired meanwhile */
		fresh_unlock();
		if (f)
			fresh_refresh_inside(f, a, e);
		else
			fresh_add((void *)a, e - a, KARENA_OP_USED);
		a = e;
	}
}

/*
 * Whole blocks.  The module backs a 2 MiB block (HUGE_BLOCK, aligned) with
 * one huge page mapped by one PMD when its first fault finds all of it
 * Ready and hinted; a block first faulted while partly Prepared gets 4 KiB
 * pages and keeps them in that mapping (kmod/README.md, "Huge blocks").
 * The heap Uses released memory again one span at a time, so every block
 * an eager Unused dropped would come back on 4 KiB faults.  Instead the
 * blocks wholly inside an eager Unused are made Ready again at once (no
 * page: they hold no memory until touched) and remembered as fresh, like
 * a new region (or, inside a region still remembered, given their bits
 * back): the heap's Used of them only clears their bits, and the next
 * fault in such a block maps all of it.  The same trade as fresh
 * regions: no strict-mode fault on a stray touch of such a free page,
 * and they count as Ready against max_ready.  Only with the heap's huge
 * hint on (karena_hugepage): without huge blocks it would save nothing.
 */
#define HUGE_BLOCK	((uintptr_t)2 << 20)

static inline bool whole_blocks(uintptr_t a, uintptr_t b)
{
	return !(a & (HUGE_BLOCK - 1)) && a + HUGE_BLOCK <= b;
}

/*
 * Where the piece of [a, b) that starts at a ends: its whole blocks, or
 * the part before or after them.  The background scavenger's lazy release
 * is cut so: a huge block the module would release eagerly anyway (lazy
 * reclaim takes pages one by one) comes back as a block (refresh_blocks),
 * and a 4 KiB-mapped block's pages leave RSS at once as on the mmap
 * backend; the edges stay lazy, a page Used again there costs no fault.
 */
static uintptr_t block_piece_end(uintptr_t a, uintptr_t b)
{
	uintptr_t first = (a + HUGE_BLOCK - 1) & ~(HUGE_BLOCK - 1);
	uintptr_t last = b & ~(HUGE_BLOCK - 1);

	if (first >= last)
		return b;
	return a < first ? first : last;
}

static void refresh_blocks(uintptr_t a, size_t len);

/*
 * An Unused piece was applied: its pages are Prepared now, fresh no more
 * (a range grown over fresh pages, below); an eager one's whole blocks
 * come back Ready.
 */
static void unused_done(const struct karena_range *kr)
{
	fresh_forget(kr->start, kr->len);
	if (!(kr->flags & KARENA_F_LAZY))
		refresh_blocks(kr->start, kr->len);
}

static void refresh_blocks(uintptr_t a, size_t len)
{
	uintptr_t end = (a + len) & ~(HUGE_BLOCK - 1);

	if (!karena_hugepage)
		return;
	a = (a + HUGE_BLOCK - 1) & ~(HUGE_BLOCK - 1);
	while (a < end) {
		uintptr_t b = dev_bounds_next(a, end);

		if ((b & ~(HUGE_BLOCK - 1)) > a)
			fresh_refresh(a, b & ~(HUGE_BLOCK - 1));
		a = (b + HUGE_BLOCK - 1) & ~(HUGE_BLOCK - 1);
	}
}

/*
 * Is the block holding addr backed by a huge page now?  One page's QUERY
 * byte says (KARENA_PAGE_HUGE_BACKED); a module without
 * KARENA_FEAT_HUGE_BACKED cannot tell, nor can a heap without the hint.
 */
static bool dev_huge_backed(void *addr)
{
	uintptr_t a = (uintptr_t)addr & ~(uintptr_t)(dev_page() - 1);
	struct karena_query q;
	uint8_t b = 0;

	if (!karena_hugepage ||
	    !(kdev_info.features & KARENA_FEAT_HUGE_BACKED))
		return false;
	memset(&q, 0, sizeof(q));
	q.size = sizeof(q);
	q.start = a;
	q.len = dev_page();
	q.vec = (uintptr_t)&b;
	return !ioctl(kdev_fd, KARENA_IOC_QUERY, &q) &&
	       (b & KARENA_PAGE_HUGE_BACKED);
}

static void *dev_reserve(void *hint, size_t len)
{
	void *p = mmap(hint, len, PROT_READ | PROT_WRITE, MAP_SHARED,
		       kdev_fd, 0);

	if (p == MAP_FAILED)
		return NULL;
	dev_bounds_set((uintptr_t)p, len);
	return p;
}

static void *dev_alloc(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static int dev_map(void *addr, size_t len)
{
	if (len >= FRESH_MIN && fresh_add(addr, len, KARENA_OP_ALLOC) == 0)
		return 0;
	return dev_transition(addr, len, KARENA_OP_MAP, 0);
}

/* Fresh pages are Ready already; the others go to the module. */
static int used_range(void *addr, size_t len, unsigned int flags)
{
	uintptr_t a = (uintptr_t)addr, end = a + len;
	int err = 0;

	while (a < end && !err) {
		bool is_fresh;
		uintptr_t n;

		fresh_lock();
		n = fresh_run(a, end, true, &is_fresh);
		if (is_fresh)
			fresh_retire();
		fresh_unlock();
		if (!is_fresh)
			err = dev_transition((void *)a, n, KARENA_OP_USED, flags);
		a += n;
	}
	return err;
}

static int dev_used(void *addr, size_t len)
{
	return used_range(addr, len, 0);
}

static int dev_unused(void *addr, size_t len)
{
	int err = dev_transition(addr, len, KARENA_OP_UNUSED, 0);

	if (!err) {
		fresh_forget((uintptr_t)addr, len);
		refresh_blocks((uintptr_t)addr, len);
	}
	return err;
}

static int dev_fault(void *addr, size_t len)
{
	fresh_forget((uintptr_t)addr, len);
	return dev_transition(addr, len, KARENA_OP_FAULT, 0);
}

static int dev_free(void *addr, size_t len)
{
	uintptr_t a = (uintptr_t)addr;

	if (munmap(addr, len))
		return -errno;
	fresh_forget(a, len);
	/* what is left of a mapping around the hole starts or ends here */
	dev_bounds_set(a, len);
	return 0;
}

static int dev_hugepage(void *addr, size_t len)
{
	return dev_transition(addr, len, KARENA_OP_HUGEPAGE, 0);
}

static int dev_nohugepage(void *addr, size_t len)
{
	return dev_transition(addr, len, KARENA_OP_NOHUGEPAGE, 0);
}

/* ---- batches ---- */

/*
 * Ops a vector call applies.  Map, Used and Fault go one at a time
 * through dev_map/dev_used/dev_fault, which know the fresh regions.
 */
static bool op_in_vector(int op)
{
	return op == OS_UNUSED || op == OS_HUGEPAGE || op == OS_NOHUGEPAGE;
}

/*
 * Expand os ranges r[*i..n) (split at mapping boundaries) into kr, at
 * most cap entries; owner[k] is the index of the os range kr[k] came from.
 * Stops before an op that is not vectored or when full; a range is never cut
 * between two calls (a range with more pieces than cap is an error).
 */
static size_t vec_fill(const struct os_range *r, size_t n, size_t *i,
		       struct karena_range *kr, uint32_t *owner, size_t cap)
{
	size_t k = 0;

	while (*i < n && op_in_vector(r[*i].op)) {
		uintptr_t a = (uintptr_t)r[*i].addr, end = a + r[*i].len;
		size_t k0 = k;

		while (a < end) {
			uintptr_t b = dev_bounds_next(a, end);
			bool lazy = r[*i].op == OS_UNUSED &&
				    (r[*i].flags & OS_F_LAZY) && os_unused_lazy;

			if (lazy && karena_hugepage) {
				b = block_piece_end(a, b);
				lazy = !whole_blocks(a, b);
			}
			if (k == cap) {
				if (k0 == 0)
					return SIZE_MAX;
				return k0;
			}
			memset(&kr[k], 0, sizeof(kr[k]));
			kr[k].start = a;
			kr[k].len = b - a;
			kr[k].op = (uint32_t)r[*i].op;
			if (lazy)
				kr[k].flags = KARENA_F_LAZY;
			owner[k] = (uint32_t)*i;
			k++;
			a = b;
		}
		(*i)++;
	}
	return k;
}

/* Index of the first os range not fully applied when kdone of k were. */
static size_t owners_done(const uint32_t *owner, size_t k, size_t kdone)
{
	return kdone >= k ? owner[k - 1] + 1 : owner[kdone];
}

static const struct os_backend os_dev_backend;

static int ioctl_vec(const struct karena_range *kr, size_t k, size_t *kdone)
{
	struct karena_vec v;

	memset(&v, 0, sizeof(v));
	v.size = sizeof(v);
	v.range_size = sizeof(struct karena_range);
	v.ranges = (uint64_t)(uintptr_t)kr;
	v.count = (uint32_t)k;
	if (ioctl(kdev_fd, KARENA_IOC_VEC, &v) == 0) {
		*kdone = k;
		return 0;
	}
	*kdone = v.done;
	return v.error ? v.error : -errno;
}

static int vec_batch(const struct os_range *r, size_t n, size_t *done)
{
	struct karena_range kr[VEC_STACK];
	uint32_t owner[VEC_STACK];
	size_t i = 0, k, kdone;
	int err = 0;

	while (i < n) {
		if (r[i].op == OS_USED) {
			err = used_range(r[i].addr, r[i].len,
					 r[i].flags & OS_F_POPULATE ?
					 KARENA_F_POPULATE : 0);
			if (err)
				break;
			i++;
			continue;
		}
		if (!op_in_vector(r[i].op)) {
			err = os_batch_loop(&os_dev_backend, &r[i], 1, NULL);
			if (err)
				break;
			i++;
			continue;
		}
		k = vec_fill(r, n, &i, kr, owner, VEC_STACK);
		if (k == SIZE_MAX) {
			/* one range with too many pieces: apply it alone */
			err = os_batch_loop(&os_dev_backend, &r[i], 1, NULL);
			if (err)
				break;
			i++;
			continue;
		}
		kdone = 0;
		err = os_uring_vec(kr, k, &kdone);
		if (err == -ENOSYS)
			err = ioctl_vec(kr, k, &kdone);
		for (size_t j = 0; j < kdone && j < k; j++)
			if (kr[j].op == KARENA_OP_UNUSED)
				unused_done(&kr[j]);
		if (err) {
			i = owners_done(owner, k, kdone);
			break;
		}
	}
	if (done)
		*done = i;
	return err;
}

/*
 * Whole blocks, continued: a block the heap took from a fresh region also
 * holds pages it never handed out, Ready in the module (fresh) and
 * Prepared in the heap's view, so its Unused of the pages it did hand out
 * would cut the block (a huge one is copied to 4 KiB pages first, and a cut
 * block never maps by PMD again).  So each Unused range grows over the
 * fresh pages next to it, up to its blocks' edges and within the free run
 * the heap owns for the call (no other thread Uses those pages
 * meanwhile), and ranges that then touch merge.  The grown parts stop
 * being fresh once applied (unused_done).
 */
static uintptr_t fresh_edge(uintptr_t a, uintptr_t lim, bool down)
{
	size_t psz = dev_page();
	struct fresh *f = NULL;

	fresh_lock();
	while (down ? a > lim : a < lim) {
		uintptr_t pg = down ? a - psz : a;
		size_t i;

		if (!f || pg < f->start || pg >= f->end)
			f = fresh_find(pg, NULL);
		if (!f)
			break;
		i = (pg - f->start) / psz;
		if (!(f->bits[i / 64] >> (i % 64) & 1))
			break;
		a = down ? a - psz : a + psz;
	}
	fresh_unlock();
	return a;
}

static void grow_over_fresh(struct os_range *x)
{
	uintptr_t a = (uintptr_t)x->addr, b = a + x->len;
	uintptr_t lo = a & ~(HUGE_BLOCK - 1);
	uintptr_t hi = (b + HUGE_BLOCK - 1) & ~(HUGE_BLOCK - 1);

	if (lo < x->own_lo)
		lo = x->own_lo;
	if (hi > x->own_hi)
		hi = x->own_hi;
	a = fresh_edge(a, lo, true);
	b = fresh_edge(b, hi, false);
	x->addr = (void *)a;
	x->len = b - a;
}

static int dev_batch(const struct os_range *r, size_t n, size_t *done)
{
	struct os_range x[VEC_STACK];
	size_t upto[VEC_STACK], nx = 0, xdone = 0, i;
	int err;

	if (!karena_hugepage || n > VEC_STACK)
		return vec_batch(r, n, done);
	for (i = 0; i < n; i++)
		if (r[i].op != OS_UNUSED || !r[i].own_hi)
			return vec_batch(r, n, done);
	for (i = 0; i < n; i++) {
		uintptr_t pa, pe, a, e;

		x[nx] = r[i];
		grow_over_fresh(&x[nx]);
		a = (uintptr_t)x[nx].addr;
		e = a + x[nx].len;
		pa = nx ? (uintptr_t)x[nx - 1].addr : 0;
		pe = nx ? pa + x[nx - 1].len : 0;
		if (nx && a <= pe && a >= pa && x[nx - 1].flags == x[nx].flags) {
			/* touching, or both grew over the same fresh pages */
			if (e > pe)
				x[nx - 1].len = e - pa;
		} else {
			if (nx && a < pe && a >= pa) {	/* never twice */
				x[nx].addr = (void *)pe;
				x[nx].len = e - pe;
			}
			nx++;
		}
		upto[nx - 1] = i + 1;
	}
	err = vec_batch(x, nx, &xdone);
	if (done)
		*done = xdone ? upto[xdone - 1] : 0;
	return err;
}

/* ---- probe ---- */

static const struct os_backend os_dev_backend = {
	.name = "dev",
	.reserve = dev_reserve,
	.alloc = dev_alloc,
	.map = dev_map,
	.used = dev_used,
	.unused = dev_unused,
	.fault = dev_fault,
	.free = dev_free,
	.hugepage = dev_hugepage,
	.nohugepage = dev_nohugepage,
	.batch = dev_batch,
	.huge_backed = dev_huge_backed,
};

/* Move fd to a high number, away from the small fds programs manage. */
static int fd_high(int fd)
{
	struct rlimit rl;
	long min = DEV_FD_MIN;
	int nfd;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    (long)rl.rlim_cur <= min)
		min = (long)rl.rlim_cur / 2;
	if (min <= fd)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, (int)min);
	if (nfd < 0)
		return fd;
	close(fd);
	return nfd;
}

const struct os_backend *os_dev_probe(void)
{
	int fd, e;

	if (kdev_fd >= 0)
		return &os_dev_backend;
	fd = open(KARENA_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	memset(&kdev_info, 0, sizeof(kdev_info));
	kdev_info.size = sizeof(kdev_info);
	if (ioctl(fd, KARENA_IOC_INFO, &kdev_info)) {
		e = errno;
		goto fail;
	}
	if (kdev_info.abi_version != KARENA_ABI_VERSION ||
	    !kdev_info.page_size || kdev_info.page_size > 8192 ||
	    8192 % kdev_info.page_size ||
	    !(kdev_info.features & KARENA_FEAT_VEC)) {
		e = EPROTO;
		goto fail;
	}
	kdev_fd = fd_high(fd);
	os_unused_lazy = karena_option(OPT_LAZY_RELEASE) &&
			 (kdev_info.features & KARENA_FEAT_LAZY);
	if (karena_option(OPT_URING) &&
	    (kdev_info.features & KARENA_FEAT_URING_CMD))
		os_uring_enable(kdev_fd);
	return &os_dev_backend;
fail:
	close(fd);
	errno = e;
	return NULL;
}
