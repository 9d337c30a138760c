/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_OPDEF_H
#define UA_ENGINE_OPDEF_H

#include "engine/ctx.h"

/*
 * One entry per opcode. An op without a prep function is not implemented:
 * the probe says so and a request for it fails with -EOPNOTSUPP.
 */
struct ua_opdef {
	const char	*name;
	int		(*prep)(struct ua_req *req, const struct io_uring_sqe *sqe);
	/* Returns UA_DONE with req->res set, or UA_PUNT to go to a worker. */
	int		(*issue)(struct ua_req *req, unsigned issue_flags);
	/* Called before the request leaves the submitter: copy what the
	 * application may reuse once io_uring_enter returns (SUBMIT_STABLE). */
	int		(*prepare_async)(struct ua_req *req);
	/* Releases what prepare_async allocated. */
	void		(*cleanup)(struct ua_req *req);
	unsigned	needs_file : 1;
	unsigned	hash_reg_file : 1;	/* serialise per file in io-wq */
	unsigned	aio_batch : 1;		/* may go in an io_submit batch */
	unsigned	buffer_select : 1;	/* takes IOSQE_BUFFER_SELECT */
	short		poll_events;		/* readiness a stream fd waits for */
	/* What the kernel's io_uring file answers this op (-errno): our
	 * ring descriptors are memfds, which would take the transfer. */
	short		ring_fd_res;
};

extern const struct ua_opdef ua_opdefs[IORING_OP_LAST];

static inline const struct ua_opdef *ua_opdef(unsigned opcode)
{
	return &ua_opdefs[opcode];
}

#endif
