/* SPDX-License-Identifier: GPL-2.0 */
/* karena-faultlat: maps shared by karena-faultlat.bpf.c and karena-faultlat.c. */
#ifndef KARENA_FAULTLAT_H
#define KARENA_FAULTLAT_H

#include "karena.h"	/* kmod/uapi/karena.h: fault kinds */

#define KFL_SLOTS	32

/* Histogram classes: karena faults by enum karena_fault_kind (class ==
 * kind), then faults on anonymous and on file-backed (other) mappings. */
enum kfl_class {
	KFL_ANON	= KARENA_FAULT_NR_KINDS,
	KFL_FILE,
	KFL_NCLASSES,
};

struct kfl_hist {
	__u64 count;
	__u64 sum;		/* in the tool's unit */
	__u32 slots[KFL_SLOTS];
};

struct kfl_start {
	__u64 ts;
	__u32 kind;		/* karena fault kind + 1, 0 = none seen */
	__u32 anon;
};

#endif
