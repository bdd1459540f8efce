// SPDX-License-Identifier: GPL-2.0
/*
 * karena-faults: page faults per process, on karena mappings (split by the
 * page state before the fault and by how it was served) and on all other
 * mappings.  exceptions:page_fault_user counts every user fault; the
 * module's karena:karena_fault tracepoint fires inside the ones that hit a karena
 * mapping.  A per-thread slot remembers the address of the user fault in
 * flight so that karena faults raised from kernel context (get_user_pages,
 * copy_to_user) are not subtracted from the user total.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "karena_bpf.h"
#include "karena-faults.h"

KARENA_FILTER_DECL

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KF_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct kf_proc);
} proc_faults SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KF_MAX_PROCS * 4);
	__type(key, struct kf_key);
	__type(value, __u64);
} karena_faults SEC(".maps");

/* tid -> page address of the user fault being handled */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} inflight SEC(".maps");

static __always_inline struct kf_proc *proc_get(__u32 tgid)
{
	struct kf_proc zero = {};

	bpf_get_current_comm(zero.comm, sizeof(zero.comm));
	return karena_lookup_or_init(&proc_faults, &tgid, &zero);
}

/*
 * The exceptions:page_fault_user record, declared here as a CO-RE flavour
 * (libbpf drops the ___karena suffix and relocates the field against the
 * running kernel's trace_event_raw_x86_exceptions): a vmlinux.h made from
 * a kernel without that tracepoint's BTF still compiles.
 */
struct trace_event_raw_x86_exceptions___karena {
	struct trace_entry ent;
	unsigned long address;
} __attribute__((preserve_access_index));

SEC("tp/exceptions/page_fault_user")
int page_fault_user(struct trace_event_raw_x86_exceptions___karena *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	__u64 page = ctx->address & ~0xfffULL;
	struct kf_proc *p;

	if (!karena_traced(tgid))
		return 0;
	p = proc_get(tgid);
	if (p) {
		/* a process without karena faults: its comm after an exec */
		bpf_get_current_comm(p->comm, sizeof(p->comm));
		__sync_fetch_and_add(&p->user_faults, 1);
	}
	bpf_map_update_elem(&inflight, &tid, &page, BPF_ANY);
	return 0;
}

SEC("raw_tp/karena_fault")
int BPF_PROG(karena_fault, unsigned long address, unsigned int state, unsigned int kind)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct kf_key key = {};
	struct kf_proc *p;
	__u64 *v, zero = 0, *pend;

	if (!karena_traced(tgid))
		return 0;
	key.tgid = tgid;
	key.state = state;
	key.kind = kind;
	v = karena_lookup_or_init(&karena_faults, &key, &zero);
	if (v)
		__sync_fetch_and_add(v, 1);

	p = proc_get(tgid);
	if (!p)
		return 0;
	/* the entry may predate an exec: keep the comm current */
	bpf_get_current_comm(p->comm, sizeof(p->comm));
	__sync_fetch_and_add(&p->karena_all, 1);
	pend = bpf_map_lookup_elem(&inflight, &tid);
	if (pend && *pend == (address & ~0xfffULL)) {
		__sync_fetch_and_add(&p->karena_user, 1);
		bpf_map_delete_elem(&inflight, &tid);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
