/* SPDX-License-Identifier: GPL-2.0 */
/* karena: io_uring passthrough (IORING_OP_URING_CMD), see uring.c. */
#ifndef _KARENA_URING_H
#define _KARENA_URING_H

struct io_uring_cmd;

int karena_uring_cmd(struct io_uring_cmd *ioucmd, unsigned int issue_flags);

#endif /* _KARENA_URING_H */
