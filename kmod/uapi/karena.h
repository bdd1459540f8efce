/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * karena: arena address space in the Go runtime's states, served by a
 * character device.  This is the whole user/kernel ABI, shared by the
 * module, libkarena, the eBPF tools and the selftests.
 *
 * Model.  Each open of /dev/karena is an arena context.  mmap() of the
 * file reserves address space: every page of the new mapping starts
 * Reserved.  Pages then move between the states of Go's mem.go with
 * madvise-like transitions applied to page-aligned ranges that lie inside
 * this file's own mappings of the calling process:
 *
 *   op                 legal source states          target
 *   KARENA_OP_RESERVE  None                         Reserved
 *   KARENA_OP_MAP      Reserved                     Prepared
 *   KARENA_OP_USED     Prepared                     Ready
 *   KARENA_OP_UNUSED   Ready                        Prepared (contents dropped)
 *   KARENA_OP_FAULT    Reserved, Prepared, Ready    Reserved (contents dropped)
 *   KARENA_OP_FREE     any                          None     (contents dropped)
 *   KARENA_OP_ALLOC    None, Reserved               Ready
 *   KARENA_OP_HUGEPAGE, KARENA_OP_NOHUGEPAGE  hint; any state but None
 *                      (a Ready 2 MiB-aligned hinted block may be backed by
 *                      one huge page: kmod/README.md "Huge blocks")
 *
 * Access to a Ready page is backed on first touch (or at once with
 * KARENA_F_POPULATE) by a zeroed page.  Access to Reserved or None raises
 * SIGSEGV.  Access to Prepared raises SIGSEGV in strict mode (the default:
 * it catches use after release) and reads zeros in lenient mode.
 * A Ready page that went through Unused/Fault/Free reads zeros when it is
 * next made Ready.
 *
 * Lazy release (KARENA_F_LAZY on KARENA_OP_UNUSED only; like MADV_FREE
 * or Go's sysUnused): the pages become Prepared at once, but each page
 * that backs one stays with it, still mapped, held and counted (bounds,
 * RSS, memcg), until the module reclaims it: under memory pressure (also
 * a cgroup's own), when a bound would refuse a new page, or when the
 * range is unmapped.  QUERY shows such a page Prepared with
 * KARENA_PAGE_LAZY (and RESIDENT); STATS counts it in lazy_bytes.  A
 * later USED takes a page that is still there back as it is, so the
 * range reads its old contents (whatever was last written, also after
 * the release) where the page was kept and zeros where it was reclaimed
 * or never backed.  Touching a lazily released page: while a PTE from
 * before the release still maps it, reads and writes reach the old page
 * and nothing is caught, in strict mode too; a touch that faults (no PTE:
 * never touched, reclaimed, zapped by fork or MADV_DONTNEED) raises
 * SIGSEGV in strict mode like any Prepared page, and in lenient mode maps
 * the old page if it is still there, else a zeroed one.  A page shared
 * after fork is released eagerly; a fork child gets lazily released
 * pages Prepared without their contents.  FAULT and FREE drop lazily
 * released pages like any other.  Strict mode's guarantee (a touch of
 * released memory raises SIGSEGV) holds for the eager path only.
 *
 * A single transition is all or nothing: the whole range is checked
 * before any page changes.  A vector applies its ranges in order and stops
 * at the first range that fails, reporting how far it got.
 *
 * Errors (ioctl returns -1 and sets errno):
 *   ENOTTY  unknown ioctl command (this includes a command encoded with a
 *           different struct size)
 *   EINVAL  size field wrong, nonzero reserved field or unknown flag bit
 *           (or KARENA_F_LAZY on an op other than KARENA_OP_UNUSED);
 *           unknown op; start or len not page aligned, len zero, or
 *           start + len overflowing; a range not wholly inside one of this
 *           file's mappings in the calling process; an illegal transition
 *           (a page of the range is not in a legal source state);
 *           a vector count of zero or over KARENA_VEC_MAX
 *   EFAULT  a user pointer (the struct, a vector, a query buffer) is bad
 *   ENOMEM  a limit would be exceeded: the file's max_reserved (mmap;
 *           mapped bytes, None pages included) or max_ready (Used,
 *           Alloc), or a module bound on the pages held by all files
 *           (max_held) or by the opener's files (user_max_held, which
 *           POPULATE checks; mmap checks user_max_reserved); or no
 *           memory for pages or bookkeeping.  A fault that needs a page
 *           past max_held or user_max_held raises SIGBUS.
 *   EPERM   raising a limit above the module default when the file was
 *           opened without CAP_SYS_RESOURCE (a descriptor carries its
 *           opener's rights, whoever uses it)
 *   EINTR   a fatal signal arrived during a long transition (vector
 *           reports progress)
 *   EBUSY   a transition that drops part of a 2 MiB block backed by one
 *           huge page, which someone else holds (a pin or GUP reference:
 *           O_DIRECT, vmsplice): the block cannot be copied to 4 KiB
 *           pages without losing the holder's writes; nothing changed.
 *           (Without memory for that copy: ENOMEM.)
 */
#ifndef _UAPI_KARENA_H
#define _UAPI_KARENA_H

/*
 * BPF programs built on a vmlinux.h (the eBPF tools) have these types from
 * it already, and <linux/types.h> would define them a second time.  They
 * use only the constants and the tracepoint values below.
 */
#ifndef __VMLINUX_H__
#include <linux/ioctl.h>
#include <linux/types.h>
#endif

#define KARENA_DEVICE		"/dev/karena"
#define KARENA_ABI_VERSION	1
#define KARENA_IOC_MAGIC	0xB8	/* unallocated in ioctl-number.rst */

/* Page states, as reported by KARENA_IOC_QUERY (low bits of each byte). */
enum karena_state {
	KARENA_STATE_NONE	= 0,
	KARENA_STATE_RESERVED	= 1,
	KARENA_STATE_PREPARED	= 2,
	KARENA_STATE_READY	= 3,
};
#define KARENA_STATE_MASK	0x03
#define KARENA_NR_STATES	4	/* states 0 .. KARENA_STATE_MASK */
#define KARENA_PAGE_RESIDENT	0x80	/* a physical page backs it now */
#define KARENA_PAGE_HUGE	0x40	/* HUGEPAGE hint set */
#define KARENA_PAGE_LAZY	0x20	/* Prepared, lazily released page kept */
/*
 * Backed now by a subpage of a huge block (one 2 MiB compound page,
 * kmod/README.md "Huge blocks"; KARENA_FEAT_HUGE_BACKED).  A transition
 * that releases part of such a block first copies it to 4 KiB pages.
 */
#define KARENA_PAGE_HUGE_BACKED	0x10

enum karena_op {
	KARENA_OP_RESERVE	= 1,
	KARENA_OP_MAP		= 2,
	KARENA_OP_USED		= 3,
	KARENA_OP_UNUSED	= 4,
	KARENA_OP_FAULT		= 5,
	KARENA_OP_FREE		= 6,
	KARENA_OP_ALLOC		= 7,
	KARENA_OP_HUGEPAGE	= 8,
	KARENA_OP_NOHUGEPAGE	= 9,
	KARENA_OP_MAX		= KARENA_OP_NOHUGEPAGE,
};

/* karena_range.flags */
#define KARENA_F_POPULATE	(1U << 0)	/* USED/ALLOC: back pages now */
#define KARENA_F_LAZY		(1U << 1)	/* UNUSED: release lazily */
#define KARENA_F_ALL		(KARENA_F_POPULATE | KARENA_F_LAZY)

/* KARENA_IOC_INFO: what the module offers. */
#define KARENA_FEAT_VEC		(1ULL << 0)	/* KARENA_IOC_VEC */
#define KARENA_FEAT_QUERY	(1ULL << 1)	/* KARENA_IOC_QUERY */
#define KARENA_FEAT_STATS	(1ULL << 2)	/* KARENA_IOC_STATS */
#define KARENA_FEAT_LIMITS	(1ULL << 3)	/* KARENA_IOC_LIMITS */
#define KARENA_FEAT_URING_CMD	(1ULL << 4)	/* io_uring passthrough */
#define KARENA_FEAT_LENIENT	(1ULL << 5)	/* KARENA_CFG_LENIENT */
#define KARENA_FEAT_FORK_COW	(1ULL << 6)	/* private view after fork */
#define KARENA_FEAT_LAZY	(1ULL << 7)	/* KARENA_F_LAZY */
#define KARENA_FEAT_HUGE_BACKED	(1ULL << 8)	/* QUERY: KARENA_PAGE_HUGE_BACKED */

#define KARENA_VEC_MAX		1024	/* ranges per vector call */

struct karena_info {
	__u32 size;		/* in: sizeof(struct karena_info) */
	__u32 abi_version;	/* out: KARENA_ABI_VERSION */
	__u32 page_size;	/* out: PAGE_SIZE */
	__u32 vec_max;		/* out: KARENA_VEC_MAX */
	__u64 features;		/* out: KARENA_FEAT_* */
	__u64 max_reserved;	/* out: this file's limit, bytes */
	__u64 max_ready;	/* out: this file's limit, bytes */
	__u32 cache_pages;	/* out: per-CPU cache bound, pages */
	__u32 nr_cpus;		/* out: possible CPUs with a cache */
	__u64 reserved[4];	/* must be zero */
};

struct karena_range {
	__u64 start;		/* user address, page aligned */
	__u64 len;		/* bytes, page aligned, nonzero */
	__u32 op;		/* KARENA_OP_* */
	__u32 flags;		/* KARENA_F_* */
	__u64 reserved;		/* must be zero */
};

/* KARENA_IOC_TRANSITION: one range, all or nothing. */
struct karena_transition {
	__u32 size;		/* in: sizeof(struct karena_transition) */
	__u32 reserved0;	/* must be zero */
	struct karena_range range;
	__u64 pages;		/* out: pages transitioned */
	__u64 reserved[2];	/* must be zero */
};

/* KARENA_IOC_VEC: many ranges in order; stops at the first failure. */
struct karena_vec {
	__u32 size;		/* in: sizeof(struct karena_vec) */
	__u32 range_size;	/* in: sizeof(struct karena_range) */
	__u64 ranges;		/* in: user pointer to count ranges */
	__u32 count;		/* in: 1..KARENA_VEC_MAX */
	__u32 done;		/* out: ranges fully applied */
	__u64 pages;		/* out: pages transitioned in those */
	__s32 error;		/* out: 0, or -errno of range 'done' */
	__u32 reserved0;	/* must be zero */
	__u64 reserved[2];	/* must be zero */
};

/* KARENA_IOC_QUERY: one byte per page, like mincore(). */
struct karena_query {
	__u32 size;		/* in: sizeof(struct karena_query) */
	__u32 reserved0;	/* must be zero */
	__u64 start;		/* in: page aligned, inside this file's mappings */
	__u64 len;		/* in: bytes, page aligned, nonzero */
	__u64 vec;		/* in: user pointer to len / page_size bytes */
	__u64 reserved[2];	/* must be zero */
};

/* KARENA_IOC_STATS: this file's counters (in the calling process). */
struct karena_stats {
	__u32 size;		/* in: sizeof(struct karena_stats) */
	__u32 reserved0;	/* must be zero */
	__u64 reserved_bytes;	/* bytes in each state */
	__u64 prepared_bytes;
	__u64 ready_bytes;
	__u64 resident_bytes;	/* Ready bytes backed by a page now */
	__u64 faults;		/* Ready faults served */
	__u64 faults_cache_hit;	/* ... from the per-CPU cache */
	__u64 faults_cache_miss; /* ... from the page allocator */
	__u64 faults_sigsegv;	/* faults on Reserved/Prepared/None */
	__u64 faults_zero;	/* lenient-mode reads of Prepared */
	__u64 cow_copies;	/* pages copied after fork */
	__u64 transitions[KARENA_OP_MAX + 1];	/* calls per op */
	__u64 transition_errors;
	/* Since KARENA_FEAT_LAZY, in what was reserved space (size kept). */
	__u64 lazy_bytes;	/* Prepared bytes whose page is kept */
	__u64 lazy_reclaimed;	/* lazily released pages reclaimed */
	__u64 reserved[6];	/* zero */
};

/* KARENA_IOC_LIMITS: read, and optionally set, this file's limits. */
#define KARENA_LIMIT_SET_RESERVED	(1U << 0)
#define KARENA_LIMIT_SET_READY		(1U << 1)
struct karena_limits {
	__u32 size;		/* in: sizeof(struct karena_limits) */
	__u32 flags;		/* in: KARENA_LIMIT_SET_* */
	__u64 max_reserved;	/* in if SET_RESERVED; out: current */
	__u64 max_ready;	/* in if SET_READY; out: current */
	__u64 reserved[2];	/* must be zero */
};

/* KARENA_IOC_CONFIG: per-file behaviour. */
#define KARENA_CFG_LENIENT	(1U << 0)	/* Prepared reads zeros */
#define KARENA_CFG_ALL		(KARENA_CFG_LENIENT)
struct karena_config {
	__u32 size;		/* in: sizeof(struct karena_config) */
	__u32 flags;		/* in: KARENA_CFG_*; out: previous flags */
	__u64 reserved[2];	/* must be zero */
};

#define KARENA_IOC_INFO		_IOWR(KARENA_IOC_MAGIC, 0x00, struct karena_info)
#define KARENA_IOC_TRANSITION	_IOWR(KARENA_IOC_MAGIC, 0x01, struct karena_transition)
#define KARENA_IOC_VEC		_IOWR(KARENA_IOC_MAGIC, 0x02, struct karena_vec)
#define KARENA_IOC_QUERY	_IOW(KARENA_IOC_MAGIC, 0x03, struct karena_query)
#define KARENA_IOC_STATS	_IOWR(KARENA_IOC_MAGIC, 0x04, struct karena_stats)
#define KARENA_IOC_LIMITS	_IOWR(KARENA_IOC_MAGIC, 0x05, struct karena_limits)
#define KARENA_IOC_CONFIG	_IOWR(KARENA_IOC_MAGIC, 0x06, struct karena_config)

/*
 * io_uring passthrough (IORING_OP_URING_CMD, sqe->cmd_op below).  The
 * 16-byte inline payload (sqe->cmd) holds one of:
 *   KARENA_URING_TRANSITION: struct karena_uring_range (one range)
 *   KARENA_URING_VEC:        struct karena_uring_vec (pointer + count)
 * cqe->res is the number of pages transitioned, or -errno; for a vector
 * that fails part way, -errno and the vector is not rolled back.  On a
 * ring set up with IORING_SETUP_CQE32, cqe->big_cqe[0] carries the full
 * page count (TRANSITION) or the number of ranges applied (VEC), also when
 * a vector fails part way; without it, KARENA_IOC_QUERY shows where it
 * stopped.  An unknown sqe->cmd_op completes with -ENOTTY (like an unknown
 * ioctl); a bad payload with -EINVAL, a bad vector pointer with -EFAULT.
 */
#define KARENA_URING_TRANSITION	0x01
#define KARENA_URING_VEC	0x02

struct karena_uring_range {	/* 16 bytes: fits the SQE */
	__u64 start;		/* page aligned */
	__u32 npages;		/* nonzero */
	__u8 op;		/* KARENA_OP_* */
	__u8 flags;		/* KARENA_F_* */
	__u16 reserved;		/* must be zero */
};

struct karena_uring_vec {	/* 16 bytes: fits the SQE */
	__u64 ranges;		/* user pointer to struct karena_range[] */
	__u32 count;		/* 1..KARENA_VEC_MAX */
	__u32 reserved;		/* must be zero */
};

/*
 * Tracepoints (TRACE_SYSTEM karena; raw tracepoints of the same names).
 * Their TP_PROTOs are stable; the values they report are defined here:
 *
 *   karena_transition   (unsigned long start, unsigned long npages,
 *                        unsigned int op, unsigned int flags, int result)
 *                       op KARENA_OP_*, flags KARENA_F_*, result 0 or -errno
 *   karena_fault        (unsigned long address, unsigned int state,
 *                        unsigned int kind)
 *                       state KARENA_STATE_* before the fault,
 *                       kind enum karena_fault_kind
 *   karena_cache_refill (int cpu, unsigned int npages, unsigned int cached)
 *   karena_cache_drain  (int cpu, unsigned int npages, unsigned int reason)
 *                       reason enum karena_drain_reason
 *
 * New kinds and reasons are added before the _NR_ value, which grows with
 * them: a tool built with an older header reports the ones it does not
 * know as unknown.
 */
enum karena_fault_kind {
	KARENA_FAULT_CACHE_HIT	= 0,	/* Ready, page from per-CPU cache */
	KARENA_FAULT_CACHE_MISS	= 1,	/* Ready, page from the allocator */
	KARENA_FAULT_SIGSEGV	= 2,	/* Reserved/Prepared(strict)/None */
	KARENA_FAULT_ZERO	= 3,	/* Prepared in lenient mode */
	KARENA_FAULT_COW	= 4,	/* write after fork: private copy */
	KARENA_FAULT_NR_KINDS	= 5,	/* how many kinds there are */
};

/* Why a per-CPU cache gave pages back to the page allocator. */
enum karena_drain_reason {
	KARENA_DRAIN_HIGH	= 0,	/* a free carried it past cache_high */
	KARENA_DRAIN_SHRINKER	= 1,	/* memory pressure (global or memcg) */
	KARENA_DRAIN_OFFLINE	= 2,	/* its CPU went offline */
	KARENA_DRAIN_UNLOAD	= 3,	/* module unload */
	KARENA_DRAIN_MEMCG	= 4,	/* handed over to another memcg */
	KARENA_DRAIN_NR_REASONS	= 5,	/* how many reasons there are */
};

#endif /* _UAPI_KARENA_H */
