// SPDX-License-Identifier: GPL-2.0
/* karena-trace: transitions and per-CPU cache refills/drains, via ring buffer. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "karena_bpf.h"
#include "karena-trace.h"

KARENA_FILTER_DECL

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Per-type event counts, including those not delivered (index 0 = lost). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KT_NTYPES);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counts, &idx);

	if (v)
		(*v)++;
}

static __always_inline struct ktrace_event *reserve(__u32 type)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct ktrace_event *e;
	__u32 tgid = id >> 32;

	if (!karena_traced(tgid))
		return NULL;
	count(type);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(KT_LOST);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->pid = tgid;
	e->tid = (__u32)id;
	e->cpu = bpf_get_smp_processor_id();
	e->type = type;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	return e;
}

SEC("raw_tp/karena_transition")
int BPF_PROG(karena_transition, unsigned long start, unsigned long npages,
	     unsigned int op, unsigned int flags, int result)
{
	struct ktrace_event *e = reserve(KT_TRANSITION);

	if (!e)
		return 0;
	e->start = start;
	e->npages = npages;
	e->op = op;
	e->flags = flags;
	e->result = result;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("raw_tp/karena_cache_refill")
int BPF_PROG(karena_cache_refill, int cpu, unsigned int npages, unsigned int cached)
{
	struct ktrace_event *e = reserve(KT_REFILL);

	if (!e)
		return 0;
	e->cache_cpu = cpu;
	e->npages = npages;
	e->aux = cached;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("raw_tp/karena_cache_drain")
int BPF_PROG(karena_cache_drain, int cpu, unsigned int npages, unsigned int reason)
{
	struct ktrace_event *e = reserve(KT_DRAIN);

	if (!e)
		return 0;
	e->cache_cpu = cpu;
	e->npages = npages;
	e->aux = reason;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
