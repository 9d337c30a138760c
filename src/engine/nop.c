/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include "engine/nop.h"
#include "engine/req.h"

/*
 * NOP. IORING_NOP_INJECT_RESULT posts sqe->len as the result; the kernel's
 * other NOP flags (file, buffer, task-work tests) are not implemented and,
 * like any unknown flag, fail with -EINVAL.
 */
int ua_nop_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	__u32 flags = sqe->rw_flags;	/* sqe->nop_flags */

	if (flags & ~IORING_NOP_INJECT_RESULT)
		return -EINVAL;
	req->res = flags & IORING_NOP_INJECT_RESULT ? (__s32) sqe->len : 0;
	return 0;
}

int ua_nop(struct ua_req *req, unsigned issue_flags)
{
	(void) issue_flags;
	req->failed = req->res < 0;
	return UA_DONE;
}
