// SPDX-License-Identifier: GPL-2.0
/*
 * karena-allocs: uprobes on libkarena's malloc API.  Counts allocations
 * by size class, frees, and keeps outstanding allocations with the user
 * stack that made them (like memleak).  Only the outermost allocator call
 * of a thread counts: realloc calling free, malloc calling karena_malloc,
 * and so on are folded into the call the program made.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "karena_bpf.h"
#include "karena-allocs.h"

KARENA_FILTER_DECL
const volatile bool targ_stacks = true;
/* size -> class row, filled by the loader from libkarena's own table */
/* (padded to 256 so a masked index always stays inside) */
const volatile __u8 class8[256] = {};
const volatile __u8 class128[256] = {};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct ka_pending);
} pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 20);
	__type(key, __u64);
	__type(value, struct ka_alloc);
} allocs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, KA_MAX_STACK * sizeof(__u64));
} stacks SEC(".maps");

/* processes that allocated, so the loader can read their memory maps
 * (for stack symbols) while they are alive */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} seen_pids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KA_NROWS);
	__type(key, __u32);
	__type(value, struct ka_class);
} class_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KA_NTOTALS);
	__type(key, __u32);
	__type(value, __u64);
} totals SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KA_SIZE_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} size_hist SEC(".maps");

static __always_inline void total_add(__u32 idx, __u64 v)
{
	__u64 *p = bpf_map_lookup_elem(&totals, &idx);

	if (p)
		__sync_fetch_and_add(p, v);
}

static __always_inline __u32 size_row(__u64 n)
{
	if (n <= KA_SMALL_MAX) {
		__u32 i = (n + 7) / 8;

		return i < KA_C8_LEN ? class8[i & 0xff] : 0;
	}
	if (n <= KA_MAX_SMALL) {
		__u32 i = (n - KA_SMALL_MAX + 127) / 128;

		return i < KA_C128_LEN ? class128[i & 0xff] : 0;
	}
	return 0;
}

/* Entry of any allocator call.  Returns true if this is the outermost one. */
static __always_inline bool enter(__u32 call, __u64 size, __u64 memptr)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct ka_pending *p, np = {};

	if (!karena_traced(id >> 32))
		return false;
	p = bpf_map_lookup_elem(&pending, &tid);
	if (p) {
		p->depth++;
		return false;
	}
	np.size = size;
	np.memptr = memptr;
	np.depth = 1;
	np.call = call;
	bpf_map_update_elem(&pending, &tid, &np, BPF_ANY);
	return true;
}

static __always_inline void record_free(__u64 ptr)
{
	struct ka_alloc *a;
	struct ka_class *c;
	__u32 row;
	__u64 size;

	if (!ptr)
		return;
	a = bpf_map_lookup_elem(&allocs, &ptr);
	if (!a) {
		total_add(KA_T_UNTRACKED_FREES, 1);
		return;
	}
	row = a->cls;
	size = a->size;
	bpf_map_delete_elem(&allocs, &ptr);
	total_add(KA_T_FREES, 1);
	total_add(KA_T_FREE_BYTES, size);
	c = bpf_map_lookup_elem(&class_stats, &row);
	if (c) {
		__sync_fetch_and_add(&c->frees, 1);
		__sync_fetch_and_add(&c->free_bytes, size);
	}
}

SEC("uprobe")
int BPF_KPROBE(malloc_enter, size_t size)
{
	enter(KA_CALL_ALLOC, size, 0);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(calloc_enter, size_t nmemb, size_t size)
{
	enter(KA_CALL_ALLOC, (__u64)nmemb * size, 0);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(realloc_enter, void *ptr, size_t size)
{
	if (enter(KA_CALL_ALLOC, size, 0))
		record_free((__u64)ptr);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(reallocarray_enter, void *ptr, size_t nmemb, size_t size)
{
	if (enter(KA_CALL_ALLOC, (__u64)nmemb * size, 0))
		record_free((__u64)ptr);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(memalign_enter, size_t align, size_t size)
{
	enter(KA_CALL_ALLOC, size, 0);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(posix_memalign_enter, void **memptr, size_t align, size_t size)
{
	enter(KA_CALL_POSIX_MEMALIGN, size, (__u64)memptr);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(free_enter, void *ptr)
{
	if (enter(KA_CALL_FREE, 0, 0))
		record_free((__u64)ptr);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(alloc_exit, long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct ka_pending *p = bpf_map_lookup_elem(&pending, &tid);
	struct ka_alloc a = {};
	struct ka_class *c;
	__u64 addr = 0, size, *h;
	__u32 call, slot;
	__u8 one = 1;

	if (!p)
		return 0;
	if (p->depth > 1) {
		p->depth--;
		return 0;
	}
	size = p->size;
	call = p->call;
	if (call == KA_CALL_POSIX_MEMALIGN) {
		if (ret == 0)
			bpf_probe_read_user(&addr, sizeof(addr), (void *)p->memptr);
	} else {
		addr = (__u64)ret;
	}
	bpf_map_delete_elem(&pending, &tid);
	if (call == KA_CALL_FREE)
		return 0;
	if (!addr) {
		if (size)
			total_add(KA_T_FAILED, 1);
		return 0;
	}
	a.size = size;
	a.tgid = id >> 32;
	karena_lookup_or_init(&seen_pids, &a.tgid, &one);
	a.cls = size_row(size);
	a.stack_id = targ_stacks ? bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK) : -1;
	if (bpf_map_update_elem(&allocs, &addr, &a, BPF_ANY))
		total_add(KA_T_DROPPED, 1);
	total_add(KA_T_ALLOCS, 1);
	total_add(KA_T_ALLOC_BYTES, size);
	c = bpf_map_lookup_elem(&class_stats, &a.cls);
	if (c) {
		__sync_fetch_and_add(&c->allocs, 1);
		__sync_fetch_and_add(&c->alloc_bytes, size);
	}
	slot = karena_log2l(size);
	if (slot >= KA_SIZE_SLOTS)
		slot = KA_SIZE_SLOTS - 1;
	h = bpf_map_lookup_elem(&size_hist, &slot);
	if (h)
		__sync_fetch_and_add(h, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
