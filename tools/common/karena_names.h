/* SPDX-License-Identifier: GPL-2.0 */
/* Names for the karena ABI values the tools print (userspace only). */
#ifndef KARENA_NAMES_H
#define KARENA_NAMES_H

#include <linux/types.h>
#include "karena.h"	/* kmod/uapi/karena.h */

/* @names[@v] of a table @nr long, "unknown" for a value it does not name. */
static inline const char *karena_name(const char *const *names, unsigned int nr,
				      unsigned int v)
{
	return v < nr && names[v] ? names[v] : "unknown";
}

static inline const char *karena_op_name(unsigned int op)
{
	static const char *const n[KARENA_OP_MAX + 1] = {
		[KARENA_OP_RESERVE] = "reserve", [KARENA_OP_MAP] = "map",
		[KARENA_OP_USED] = "used", [KARENA_OP_UNUSED] = "unused",
		[KARENA_OP_FAULT] = "fault", [KARENA_OP_FREE] = "free",
		[KARENA_OP_ALLOC] = "alloc", [KARENA_OP_HUGEPAGE] = "hugepage",
		[KARENA_OP_NOHUGEPAGE] = "nohugepage",
	};

	return karena_name(n, KARENA_OP_MAX + 1, op);
}

static inline const char *karena_state_name(unsigned int s)
{
	static const char *const n[KARENA_NR_STATES] = {
		[KARENA_STATE_NONE] = "none", [KARENA_STATE_RESERVED] = "reserved",
		[KARENA_STATE_PREPARED] = "prepared", [KARENA_STATE_READY] = "ready",
	};

	return karena_name(n, KARENA_NR_STATES, s);
}

/* karena:karena_fault's kind (enum karena_fault_kind). */
static inline const char *karena_kind_name(unsigned int k)
{
	static const char *const n[KARENA_FAULT_NR_KINDS] = {
		[KARENA_FAULT_CACHE_HIT] = "cache_hit",
		[KARENA_FAULT_CACHE_MISS] = "cache_miss",
		[KARENA_FAULT_SIGSEGV] = "sigsegv",
		[KARENA_FAULT_ZERO] = "zero",
		[KARENA_FAULT_COW] = "cow",
	};

	return karena_name(n, KARENA_FAULT_NR_KINDS, k);
}

/* karena:karena_cache_drain's reason (enum karena_drain_reason). */
static inline const char *karena_drain_reason(unsigned int r)
{
	static const char *const n[KARENA_DRAIN_NR_REASONS] = {
		[KARENA_DRAIN_HIGH] = "high_watermark",
		[KARENA_DRAIN_SHRINKER] = "shrinker",
		[KARENA_DRAIN_OFFLINE] = "cpu_offline",
		[KARENA_DRAIN_UNLOAD] = "unload",
		[KARENA_DRAIN_MEMCG] = "memcg",
	};

	return karena_name(n, KARENA_DRAIN_NR_REASONS, r);
}

#endif
