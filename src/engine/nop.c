/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include "engine/nop.h"
#include "engine/req.h"
#include "engine/ring.h"

/* Whether the NOP posts a 32-byte CQE on a CQE_MIXED ring. */
struct ua_nop {
	bool	mixed_big;
};

/*
 * NOP. IORING_NOP_INJECT_RESULT posts sqe->len as the result;
 * IORING_NOP_CQE32 (a CQE32 or CQE_MIXED ring's only, else -EINVAL) posts
 * sqe->off and sqe->addr as the CQE's big_cqe words, on a CQE_MIXED ring
 * in a CQE flagged IORING_CQE_F_32 once the NOP runs (a cancelled one
 * posts a plain CQE, as the kernel's). The kernel's other NOP flags
 * (file, buffer, task-work tests) are not implemented and, like any
 * unknown flag, fail with -EINVAL.
 */
int ua_nop_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	struct ua_nop *nop = ua_cmd(req, struct ua_nop);
	__u32 flags = sqe->rw_flags;	/* sqe->nop_flags */

	if (flags & ~(IORING_NOP_INJECT_RESULT | IORING_NOP_CQE32))
		return -EINVAL;
	nop->mixed_big = false;
	if (flags & IORING_NOP_CQE32) {
		if (!ua_cqe_shift(req->ctx) && !ua_cq_mixed(req->ctx))
			return -EINVAL;
		nop->mixed_big = ua_cq_mixed(req->ctx);
		req->big_cqe[0] = sqe->off;
		req->big_cqe[1] = sqe->addr;
	}
	req->res = flags & IORING_NOP_INJECT_RESULT ? (__s32) sqe->len : 0;
	return 0;
}

int ua_nop(struct ua_req *req, unsigned issue_flags)
{
	(void) issue_flags;
	if (ua_cmd(req, struct ua_nop)->mixed_big)
		req->cflags |= IORING_CQE_F_32;
	req->failed = req->res < 0;
	return UA_DONE;
}
