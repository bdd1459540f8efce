// SPDX-License-Identifier: GPL-2.0
/*
 * karena: io_uring passthrough.  IORING_OP_URING_CMD on /dev/karena runs
 * the transitions of the ioctls (karena_apply_range(), karena_apply_vec())
 * against the submitter's mm:
 *
 *   KARENA_URING_TRANSITION  struct karena_uring_range in sqe->cmd
 *   KARENA_URING_VEC         struct karena_uring_vec in sqe->cmd
 *
 * cqe->res is the number of pages transitioned (capped at INT_MAX) or
 * -errno.  On a ring set up with IORING_SETUP_CQE32 the first extra word
 * of the CQE (big_cqe[0]) carries the full page count for a TRANSITION
 * and, for a VEC, the number of ranges applied, also when one failed.
 *
 * Context.  In 6.1 a command is issued either inline by the submitting
 * task (io_uring_enter, issue_flags has IO_URING_F_NONBLOCK) or by an
 * io-wq worker or the SQPOLL thread, all of which share the mm of the
 * ring's task; the ranges are checked against current->mm's mappings of
 * this file exactly as for the ioctls, so a command can never reach
 * another process's pages.
 *
 * Non-blocking issue.  A transition may sleep: the file mutex, mmap_lock
 * for read, page allocation, a page lock held by a fault.  Inline issue
 * (IO_URING_F_NONBLOCK) runs the command at once when the file mutex is
 * free and the command does not populate many pages: the sleeps left are
 * the short ones every syscall path takes, and punting costs a context
 * switch per command (under QEMU TCG, 1024 single-page releases took
 * 2.0 s through io-wq and 16 ms inline).  When another transition holds
 * the mutex, or for KARENA_F_POPULATE of more than
 * KARENA_URING_INLINE_POPULATE pages, it returns -EAGAIN: io_uring copies
 * the payload and issues the command again from io-wq, where it may block
 * (the trylock pattern of io_uring's own msg_ring).  With the uring_inline
 * module parameter set to N every command is punted.
 *
 * Completion is synchronous: the handler completes the request with
 * io_uring_cmd_done() before it returns -EIOCBQUEUED.  Returning the page
 * count directly is not an option in 6.1: io_uring_cmd() hands a positive
 * value back to io_issue_sqe(), which inline treats it as a failure
 * (breaking links) and from io-wq never posts a CQE at all.  Because no
 * command outlives the call, nothing is left to cancel when the file is
 * closed: a request holds its own reference to the file until it
 * completes, so ->release() only runs after the last command finished.
 */
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include <linux/string.h>

/*
 * The one API difference kept out of compat.h, which every file includes:
 * 6.5 passes the whole SQE (ioucmd->sqe, payload through
 * io_uring_sqe_cmd()) and 6.7 moved the declarations to
 * <linux/io_uring/cmd.h>.  The header test picks 6.1's form or 6.7's (the
 * 6.12 build uses it); 6.5 and 6.6, with the SQE form in the old header,
 * are among the kernels between 6.1 and 6.12 that are not built here.
 */
#if __has_include("linux/io_uring/cmd.h")
#include <linux/io_uring/cmd.h>
#define karena_uring_pdu(ioucmd)	io_uring_sqe_cmd((ioucmd)->sqe)
#else
#include <linux/io_uring.h>
#define karena_uring_pdu(ioucmd)	((ioucmd)->cmd)
#endif

#include "karena_priv.h"
#include "uring.h"

#define KARENA_URING_INLINE_POPULATE	64	/* pages */

static bool karena_uring_inline = true;
module_param_named(uring_inline, karena_uring_inline, bool, 0644);
MODULE_PARM_DESC(uring_inline,
		 "Run uncontended io_uring commands inline instead of in io-wq (default Y)");

/* Checked payloads, copied once out of the (user-writable) SQE. */
struct karena_uring_req {
	union {
		struct karena_krange range;		/* TRANSITION */
		struct {
			u64 ranges;
			unsigned int count;
		} vec;					/* VEC */
	};
};

static int karena_uring_check(struct io_uring_cmd *ioucmd,
			      struct karena_uring_req *req)
{
	const void *pdu = karena_uring_pdu(ioucmd);

	BUILD_BUG_ON(sizeof(struct karena_uring_range) != 16);
	BUILD_BUG_ON(sizeof(struct karena_uring_vec) != 16);

	if (ioucmd->flags)
		return -EINVAL;		/* IORING_URING_CMD_FIXED: no buffers */

	switch (ioucmd->cmd_op) {
	case KARENA_URING_TRANSITION: {
		struct karena_uring_range ur;
		struct karena_range kr = {};

		memcpy(&ur, pdu, sizeof(ur));
		if (ur.reserved || !ur.npages)
			return -EINVAL;
		kr.start = ur.start;
		kr.len = (u64)ur.npages << PAGE_SHIFT;
		kr.op = ur.op;
		kr.flags = ur.flags;
		return karena_range_from_user(&kr, &req->range);
	}
	case KARENA_URING_VEC: {
		struct karena_uring_vec uv;

		memcpy(&uv, pdu, sizeof(uv));
		if (uv.reserved || !uv.count || uv.count > KARENA_VEC_MAX)
			return -EINVAL;
		req->vec.ranges = uv.ranges;
		req->vec.count = uv.count;
		return 0;
	}
	default:
		return -ENOTTY;
	}
}

/* Would a non-blocking issue wait long?  Then io-wq runs the command. */
static bool karena_uring_must_punt(struct io_uring_cmd *ioucmd,
				   const struct karena_uring_req *req)
{
	struct karena_file *kf = ioucmd->file->private_data;

	if (!READ_ONCE(karena_uring_inline) || mutex_is_locked(&kf->lock))
		return true;
	return ioucmd->cmd_op == KARENA_URING_TRANSITION &&
	       (req->range.flags & KARENA_F_POPULATE) &&
	       req->range.npages > KARENA_URING_INLINE_POPULATE;
}

int karena_uring_cmd(struct io_uring_cmd *ioucmd, unsigned int issue_flags)
{
	struct karena_uring_req req;
	unsigned int done = 0;
	u64 pages = 0, extra;
	ssize_t res;
	int ret;

	ret = karena_uring_check(ioucmd, &req);
	if (!ret && !current->mm)
		ret = -EINVAL;
	if (ret)
		goto out;
	if ((issue_flags & IO_URING_F_NONBLOCK) &&
	    karena_uring_must_punt(ioucmd, &req))
		return -EAGAIN;

	if (ioucmd->cmd_op == KARENA_URING_TRANSITION)
		ret = karena_apply_range(ioucmd->file, current->mm, &req.range,
					 &pages);
	else
		ret = karena_apply_vec(ioucmd->file, current->mm,
				       req.vec.ranges, req.vec.count, &done,
				       &pages);
out:
	/* a restart code must not reach user space in a CQE */
	if (ret == -ERESTARTSYS || ret == -ERESTARTNOINTR)
		ret = -EINTR;
	res = ret ? ret : (ssize_t)min_t(u64, pages, INT_MAX);
	extra = ioucmd->cmd_op == KARENA_URING_VEC ? done : pages;
	io_uring_cmd_done(ioucmd, res, extra, issue_flags);
	return -EIOCBQUEUED;
}
