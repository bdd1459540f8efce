/* SPDX-License-Identifier: GPL-2.0 */
/* karena-trace: events shared by karena-trace.bpf.c and karena-trace.c. */
#ifndef KARENA_TRACE_H
#define KARENA_TRACE_H

#define KT_COMM_LEN 16

enum ktrace_type {
	KT_TRANSITION	= 1,
	KT_REFILL	= 2,
	KT_DRAIN	= 3,
	KT_NTYPES	= 4,
};

struct ktrace_event {
	__u64 ts_ns;		/* bpf_ktime_get_ns() */
	__u64 start;		/* transition: range start */
	__u64 npages;		/* pages of the range / refill / drain */
	__u32 pid;		/* tgid */
	__u32 tid;
	__u32 cpu;		/* CPU the event fired on */
	__u32 type;		/* enum ktrace_type */
	__u32 op;		/* transition: KARENA_OP_* */
	__u32 flags;		/* transition: KARENA_F_* */
	__s32 result;		/* transition: 0 or -errno */
	__s32 cache_cpu;	/* refill/drain: cache's CPU */
	__u32 aux;		/* refill: pages cached after; drain: reason */
	char comm[KT_COMM_LEN];
};

/* Counters kept in BPF (index: enum ktrace_type; 0 = lost events). */
#define KT_LOST 0

#endif
