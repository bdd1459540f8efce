// SPDX-License-Identifier: GPL-2.0
/*
 * karena-faultlat: latency of handle_mm_fault(), as log2 histograms, with
 * faults on karena mappings (flagged by the karena:karena_fault tracepoint that
 * fires inside the handler) kept apart from anonymous and file faults.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "karena_bpf.h"
#include "karena-faultlat.h"

KARENA_FILTER_DECL
const volatile bool targ_ns = false;	/* nanoseconds instead of microseconds */
const volatile bool targ_ms = false;	/* milliseconds */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct kfl_start);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KFL_NCLASSES);
	__type(key, __u32);
	__type(value, struct kfl_hist);
} hists SEC(".maps");

SEC("kprobe/handle_mm_fault")
int BPF_KPROBE(handle_mm_fault_entry, struct vm_area_struct *vma)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct kfl_start s = {};

	if (!karena_traced(tgid))
		return 0;
	s.ts = bpf_ktime_get_ns();
	s.anon = BPF_CORE_READ(vma, vm_file) == NULL;
	bpf_map_update_elem(&start, &tid, &s, BPF_ANY);
	return 0;
}

SEC("raw_tp/karena_fault")
int BPF_PROG(karena_fault, unsigned long address, unsigned int state, unsigned int kind)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct kfl_start *s = bpf_map_lookup_elem(&start, &tid);

	if (s)
		s->kind = kind + 1;
	return 0;
}

SEC("kretprobe/handle_mm_fault")
int BPF_KRETPROBE(handle_mm_fault_exit)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct kfl_start *s = bpf_map_lookup_elem(&start, &tid);
	struct kfl_hist *h;
	__u64 delta;
	__u32 cls, slot;

	if (!s)
		return 0;
	delta = bpf_ktime_get_ns() - s->ts;
	if (s->kind)
		cls = s->kind - 1 < KARENA_FAULT_NR_KINDS ? s->kind - 1 : KARENA_FAULT_CACHE_HIT;
	else
		cls = s->anon ? KFL_ANON : KFL_FILE;
	bpf_map_delete_elem(&start, &tid);
	if (targ_ms)
		delta /= 1000000;
	else if (!targ_ns)
		delta /= 1000;
	h = bpf_map_lookup_elem(&hists, &cls);
	if (!h)
		return 0;
	slot = karena_log2l(delta);
	if (slot >= KFL_SLOTS)
		slot = KFL_SLOTS - 1;
	__sync_fetch_and_add(&h->count, 1);
	__sync_fetch_and_add(&h->sum, delta);
	__sync_fetch_and_add(&h->slots[slot], 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
