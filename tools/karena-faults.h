/* SPDX-License-Identifier: GPL-2.0 */
/* karena-faults: maps shared by karena-faults.bpf.c and karena-faults.c. */
#ifndef KARENA_FAULTS_H
#define KARENA_FAULTS_H

#include "karena.h"	/* kmod/uapi/karena.h: states, fault kinds */

#define KF_COMM_LEN	16
#define KF_MAX_PROCS	10240

/* proc_faults: per process (tgid). */
struct kf_proc {
	__u64 user_faults;	/* all user-mode page faults (exceptions:page_fault_user) */
	__u64 karena_user;	/* karena faults that came from those user faults */
	__u64 karena_all;	/* all karena faults in this process (also from the kernel, e.g. GUP) */
	char comm[KF_COMM_LEN];
};

/* karena_faults: per (tgid, state, kind). */
struct kf_key {
	__u32 tgid;
	__u16 state;		/* KARENA_STATE_* before the fault */
	__u16 kind;		/* enum karena_fault_kind */
};

#endif
