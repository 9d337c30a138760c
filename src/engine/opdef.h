/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_OPDEF_H
#define UA_ENGINE_OPDEF_H

#include "engine/req.h"

/*
 * One entry per opcode. An op without a prep function is not implemented:
 * the probe says so and a request for it fails with -EOPNOTSUPP.
 */
/* SQE fields, for the ones an op requires to be zero: zero_fields has bit
 * 1 << UA_SQE_x for each. */
enum ua_sqe_field {
	UA_SQE_IOPRIO,
	UA_SQE_OFF,		/* off, addr2 */
	UA_SQE_ADDR,		/* addr, splice_off_in */
	UA_SQE_LEN,
	UA_SQE_OP_FLAGS,	/* rw_flags and its union */
	UA_SQE_BUF_INDEX,
	UA_SQE_FILE_INDEX,	/* splice_fd_in, file_index */
	UA_SQE_ADDR3,
	UA_SQE_PAD2,
};

struct ua_opdef {
	const char	*name;
	int		(*prep)(struct ua_req *req, const struct io_uring_sqe *sqe);
	/* Returns an enum ua_issue_result (UA_DONE: req->res is set), which
	 * ua_issue_result() acts on whoever issued the request. */
	int		(*issue)(struct ua_req *req, unsigned issue_flags);
	/* Called before the request leaves the submitter: copy what the
	 * application may reuse once io_uring_enter returns (SUBMIT_STABLE). */
	int		(*prepare_async)(struct ua_req *req);
	/* Releases what prepare_async allocated. */
	void		(*cleanup)(struct ua_req *req);
	unsigned	needs_file : 1;
	unsigned	hash_reg_file : 1;	/* serialise per file in io-wq */
	/* Fails at once on a stream (fsync, sync_file_range): its worker is
	 * bounded whatever the file, so a punt need not ask what it is. */
	unsigned	never_waits_on_stream : 1;
	unsigned	aio_batch : 1;		/* may go in an io_submit batch */
	unsigned	buffer_select : 1;	/* takes IOSQE_BUFFER_SELECT */
	short		poll_events;		/* readiness a stream fd waits for */
	/* What the kernel's io_uring file answers this op (-errno): our
	 * ring descriptors are memfds, which would take the transfer. */
	short		ring_fd_res;
	/* The fields (1 << UA_SQE_*) the kernel fails with -EINVAL when set
	 * (its prep checks, and ioprio on an op that takes none). */
	unsigned short	zero_fields;
};

extern const struct ua_opdef ua_opdefs[IORING_OP_LAST];

/* The reference kernel's (6.18) IORING_OP_LAST: it knows no opcode from
 * NOP128 on, so those fail with -EINVAL, are left out of the probe and
 * refused as restrictions, as there. */
#define UA_OP_LAST	IORING_OP_NOP128

static inline const struct ua_opdef *ua_opdef(unsigned opcode)
{
	return &ua_opdefs[opcode];
}

#endif
