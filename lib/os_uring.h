/* SPDX-License-Identifier: MIT */
/*
 * os_uring.h - the device backend's io_uring client (os_uring.c): a batch
 * of ranges as one KARENA_URING_VEC command instead of a KARENA_IOC_VEC
 * ioctl.  Used by os_dev.c only.
 */
#ifndef KARENA_OS_URING_H
#define KARENA_OS_URING_H

#include <stddef.h>

struct karena_range;

/*
 * Submit batches on dev_fd through io_uring from now on (the probe saw
 * KARENA_URING=1 and KARENA_FEAT_URING_CMD).  The ring is set up lazily.
 */
void os_uring_enable(int dev_fd);

/*
 * Apply kr[0..k) (k <= KARENA_VEC_MAX) as one command: 0, or -errno with
 * *kdone = ranges applied.  -ENOSYS: not enabled, not usable or busy;
 * nothing was applied and the caller uses the ioctl.
 */
int os_uring_vec(const struct karena_range *kr, size_t k, size_t *kdone);

#endif
