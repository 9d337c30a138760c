/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_CQ_H
#define UA_ENGINE_CQ_H

#include <stdbool.h>
#include "liburing/io_uring.h"
#include "engine/list.h"

struct ua_ctx;

#define UA_COMPLETION_BATCH	32

/* A CQE as posted: big_cqe reaches the ring only on an IORING_SETUP_CQE32
 * ring, whose CQEs carry it (zero unless the op filled it). */
struct ua_cqe {
	__u64	user_data;
	__s32	res;
	__u32	flags;
	__u64	big_cqe[2];
};

/* A CQE waiting in the overflow list for room in the CQ ring. */
struct ua_overflow_cqe {
	struct ua_overflow_cqe	*next;
	struct ua_cqe		cqe;
};

/*
 * Completions collected by one thread, posted under one lock. What follows
 * a completed request (the next link, released drained requests) collects
 * in ready; posting (cq.c) never issues it. The issue layer (submit.c)
 * owns the batch as a thread's run: it issues what collects in ready once
 * the CQEs before it are out, so CQEs keep the kernel's order: a link's
 * head before what it links to, a canceller before what it cancelled.
 */
struct ua_completion_batch {
	unsigned	nr;
	bool		local;		/* the owner holds uring_lock */
	struct ua_ctx	*ctx;
	struct ua_req_list ready;
	/* The run's thread's credentials, read at the first request it
	 * hands to a worker (issue.c): a run never changes them. */
	bool		creds_read;
	struct ua_cred	*creds;		/* NULL: the usual ones */
	struct ua_req	*reqs[UA_COMPLETION_BATCH];
};

/* complete.c: requests' CQEs, posted in batches */
void ua_batch_add(struct ua_ctx *ctx, struct ua_completion_batch *b,
		  struct ua_req *req);
void ua_batch_flush(struct ua_ctx *ctx, struct ua_completion_batch *b);
/* cq.c: the CQ ring and its overflow list */
void ua_post_cqe(struct ua_ctx *ctx, __u64 user_data, __s32 res, __u32 flags);
bool ua_post_msg_cqe(struct ua_ctx *ctx, __u64 user_data, __s32 res,
		     __u32 flags);
void ua_post_req_cqe(struct ua_req *req, __s32 res, __u32 flags);
unsigned ua_overflow_reserve(struct ua_ctx *ctx, unsigned nr);
bool ua_post_cqe_more(struct ua_ctx *ctx, __u64 user_data, __s32 res,
		      __u32 flags);
bool ua_cq_room_now(struct ua_ctx *ctx);
void ua_post_cqe32_more(struct ua_ctx *ctx, const struct ua_cqe *cqe);
bool ua_overflow_add(struct ua_ctx *ctx, const struct ua_cqe *cqe,
		     bool reserved);
void ua_overflow_flush(struct ua_ctx *ctx);
void ua_overflow_free(struct ua_ctx *ctx);
bool ua_overflow_pending(struct ua_ctx *ctx);

#endif
