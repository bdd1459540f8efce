/* SPDX-License-Identifier: GPL-2.0 */
/* karena-faultlat: maps shared by karena-faultlat.bpf.c and karena-faultlat.c. */
#ifndef KARENA_FAULTLAT_H
#define KARENA_FAULTLAT_H

#define KFL_SLOTS	32

/* Histogram classes: karena faults by enum karena_fault_kind (0..4),
 * then faults on anonymous and on file-backed (other) mappings. */
enum kfl_class {
	KFL_KARENA_HIT	= 0,
	KFL_KARENA_MISS	= 1,
	KFL_KARENA_SEGV	= 2,
	KFL_KARENA_ZERO	= 3,
	KFL_KARENA_COW	= 4,
	KFL_ANON	= 5,
	KFL_FILE	= 6,
	KFL_NCLASSES	= 7,
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
