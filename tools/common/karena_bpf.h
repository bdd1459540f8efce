/* SPDX-License-Identifier: GPL-2.0 */
/*
 * BPF-side helpers shared by the karena tools' *.bpf.c files (what
 * libbpf-tools keeps in maps.bpf.h and bits.bpf.h, plus the -p/-c filter):
 *
 *   KARENA_FILTER_DECL       the filter's read-only variables, set by the
 *                            loader before load (tool_common.c)
 *   karena_traced(tgid)      the current task passes -p PID and -c COMM
 *   karena_log2l(v)          floor(log2(v)) of a 64-bit value (0 for 0, 1):
 *                            the slot of a log2 histogram
 *   karena_lookup_or_init(map, key, init)
 *                            the map's value for key, inserted as *init
 *                            when absent; NULL only when the map is full
 */
#ifndef KARENA_BPF_H
#define KARENA_BPF_H

#define KARENA_FILTER_DECL				\
	const volatile __u32 targ_tgid = 0;		\
	const volatile char targ_comm[16] = {};		\
	const volatile bool filter_comm = false;

static __always_inline bool karena_comm_eq(const char *a, const volatile char *b)
{
	int i;

#pragma unroll
	for (i = 0; i < 16; i++) {
		if (a[i] != b[i])
			return false;
		if (!a[i])
			return true;
	}
	return true;
}

/* Uses the variables KARENA_FILTER_DECL declares. */
#define karena_traced(tgid)	karena_filter((tgid), targ_tgid, filter_comm, targ_comm)

static __always_inline bool karena_filter(__u32 tgid, __u32 want_tgid,
					  bool by_comm, const volatile char *comm_want)
{
	char comm[16];

	if (want_tgid && tgid != want_tgid)
		return false;
	if (!by_comm)
		return true;
	bpf_get_current_comm(comm, sizeof(comm));
	return karena_comm_eq(comm, comm_want);
}

static __always_inline __u32 karena_log2l(__u64 v)
{
	__u32 r = 0;

#pragma unroll
	for (int i = 5; i >= 0; i--) {
		__u32 shift = 1U << i;

		if (v >= (1ULL << shift)) {
			v >>= shift;
			r += shift;
		}
	}
	return r;
}

/*
 * Another CPU may insert the key between the lookup and the update
 * (BPF_NOEXIST fails then): the second lookup finds its value.
 */
static __always_inline void *karena_lookup_or_init(void *map, const void *key,
						   const void *init)
{
	void *v = bpf_map_lookup_elem(map, key);

	if (v)
		return v;
	bpf_map_update_elem(map, key, init, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, key);
}

#endif
