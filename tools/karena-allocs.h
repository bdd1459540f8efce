/* SPDX-License-Identifier: GPL-2.0 */
/* karena-allocs: maps shared by karena-allocs.bpf.c and karena-allocs.c. */
#ifndef KARENA_ALLOCS_H
#define KARENA_ALLOCS_H

#define KA_NUM_CLASSES	68		/* Go's table; class 0 = large */
#define KA_NROWS	KA_NUM_CLASSES
#define KA_SMALL_MAX	1024
#define KA_MAX_SMALL	32768
#define KA_C8_LEN	(KA_SMALL_MAX / 8 + 1)
#define KA_C128_LEN	((KA_MAX_SMALL - KA_SMALL_MAX) / 128 + 1)
#define KA_MAX_STACK	127
#define KA_SIZE_SLOTS	48

struct ka_alloc {
	__u64 size;
	__s64 stack_id;		/* -1 if none */
	__u32 tgid;
	__u32 cls;		/* row in class_stats */
};

struct ka_class {
	__u64 allocs;
	__u64 alloc_bytes;
	__u64 frees;
	__u64 free_bytes;
};

enum ka_total {
	KA_T_ALLOCS,
	KA_T_ALLOC_BYTES,
	KA_T_FREES,
	KA_T_FREE_BYTES,
	KA_T_FAILED,		/* allocation calls that returned NULL */
	KA_T_UNTRACKED_FREES,	/* free() of a pointer allocated before tracing */
	KA_T_DROPPED,		/* allocs map full */
	KA_NTOTALS,
};

/* What the pending per-thread call is. */
enum ka_call {
	KA_CALL_ALLOC = 1,
	KA_CALL_POSIX_MEMALIGN = 2,
	KA_CALL_FREE = 3,
};

struct ka_pending {
	__u64 size;
	__u64 memptr;		/* posix_memalign's out pointer */
	__u32 depth;		/* nested allocator calls of this thread */
	__u32 call;
};

#endif
