/* SPDX-License-Identifier: MIT */
/*
 * MADVISE: advice on the application's own memory, which is the engine's
 * process too. It runs in a worker, as the kernel runs it in io-wq: some
 * advice (MADV_WILLNEED, MADV_POPULATE_*) reads from the disk. The length
 * is sqe->off when set (io_uring_prep_madvise64), else sqe->len.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include "engine/advise.h"
#include "engine/req.h"

struct ua_madvise {
	__u64	addr;
	__u64	len;
	int	advice;
};
#define madvise_of(req)	ua_cmd(req, struct ua_madvise)

int ua_madvise_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	struct ua_madvise *ma = madvise_of(req);

	ma->addr = sqe->addr;
	ma->len = sqe->off ? sqe->off : sqe->len;
	ma->advice = (int) sqe->fadvise_advice;
	return 0;
}

int ua_madvise(struct ua_req *req, unsigned issue_flags)
{
	struct ua_madvise *ma = madvise_of(req);
	int ret;

	if (issue_flags & UA_ISSUE_NONBLOCK)
		return UA_PUNT;
	ret = madvise((void *) (uintptr_t) ma->addr, (size_t) ma->len,
		      ma->advice);
	req->res = ret < 0 ? -errno : 0;
	req->failed = ret < 0;
	return UA_DONE;
}
