/* SPDX-License-Identifier: GPL-2.0 */
/* BPF-side helpers shared by the karena tools' *.bpf.c files. */
#ifndef KARENA_BPF_H
#define KARENA_BPF_H

/* Filters, set by the loader before load (read-only data). */
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

/* Returns true if the current task passes the -p filter. */
#define KARENA_TRACED(tgid) (!targ_tgid || (tgid) == targ_tgid)

#endif
