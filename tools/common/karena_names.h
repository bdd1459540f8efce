/* SPDX-License-Identifier: GPL-2.0 */
/* Names for the karena ABI values the tools print (userspace only). */
#ifndef KARENA_NAMES_H
#define KARENA_NAMES_H

#include <linux/types.h>
#include "karena.h"	/* kmod/uapi/karena.h */

static inline const char *karena_op_name(unsigned int op)
{
	static const char *const n[] = {
		[KARENA_OP_RESERVE] = "reserve", [KARENA_OP_MAP] = "map",
		[KARENA_OP_USED] = "used", [KARENA_OP_UNUSED] = "unused",
		[KARENA_OP_FAULT] = "fault", [KARENA_OP_FREE] = "free",
		[KARENA_OP_ALLOC] = "alloc", [KARENA_OP_HUGEPAGE] = "hugepage",
		[KARENA_OP_NOHUGEPAGE] = "nohugepage",
	};

	return op <= KARENA_OP_MAX && n[op] ? n[op] : "unknown";
}

static inline const char *karena_state_name(unsigned int s)
{
	static const char *const n[] = { "none", "reserved", "prepared", "ready" };

	return s < 4 ? n[s] : "unknown";
}

#define KARENA_NKINDS 5
static inline const char *karena_kind_name(unsigned int k)
{
	static const char *const n[] = {
		[KARENA_FAULT_CACHE_HIT] = "cache_hit",
		[KARENA_FAULT_CACHE_MISS] = "cache_miss",
		[KARENA_FAULT_SIGSEGV] = "sigsegv",
		[KARENA_FAULT_ZERO] = "zero",
		[KARENA_FAULT_COW] = "cow",
	};

	return k < KARENA_NKINDS ? n[k] : "unknown";
}

static inline const char *karena_drain_reason(unsigned int r)
{
	/* kmod/pcp_cache.c's KAR_DRAIN_*, as the tracepoint reports them. */
	static const char *const n[] = { "high_watermark", "shrinker", "cpu_offline",
					 "unload", "memcg" };

	return r < sizeof(n) / sizeof(n[0]) ? n[r] : "unknown";
}

#endif
