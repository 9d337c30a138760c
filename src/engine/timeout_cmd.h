/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_TIMEOUT_CMD_H
#define UA_ENGINE_TIMEOUT_CMD_H

/*
 * The state of a TIMEOUT or LINK_TIMEOUT request, private to the two
 * files of timeouts: timeout.c (the operations, and expiry) and
 * timeout_disarm.c (what completions and cancellations take out of the
 * timer).
 */
#include <stddef.h>
#include "liburing/io_uring.h"
#include "engine/req.h"
#include "engine/ring.h"
#include "engine/timer.h"

/* TIMEOUT and LINK_TIMEOUT, while armed owned by the timer. */
struct ua_timeout {
	struct ua_timer_node	node;
	struct ua_req		*head;		/* LINK_TIMEOUT: the request it guards */
	struct __kernel_timespec ts;
	__u32			flags;		/* IORING_TIMEOUT_* */
	__u32			off;		/* completions to wait for; 0: none */
	__u32			target_seq;
	__u32			repeats;	/* multishot: expiries left, 0: forever */
	__u64			deadline;	/* LINK_TIMEOUT: set as its request is issued */
};
#define timeout_of(req)	ua_cmd(req, struct ua_timeout)

static inline struct ua_req *req_of(struct ua_timer_node *node)
{
	return (struct ua_req *) ((char *) node -
				  offsetof(struct ua_timeout, node) -
				  offsetof(struct ua_req, cmd));
}

static inline bool has_count(const struct ua_req *req)
{
	return req->opcode == IORING_OP_TIMEOUT && timeout_of(req)->off &&
	       !(timeout_of(req)->flags & IORING_TIMEOUT_MULTISHOT);
}

/* An armed count timeout left the timer; its lock is held. */
static inline void count_gone(struct ua_ctx *ctx, const struct ua_req *req)
{
	if (has_count(req))
		__atomic_store_n(&ctx->timer.nr_seq, ctx->timer.nr_seq - 1,
				 __ATOMIC_RELAXED);
}

/* Takes an armed timeout out of the timer; its lock is held. */
static inline void disarm_locked(struct ua_req *req)
{
	ua_timer_assert_held();
	ua_timer_disarm_locked(&timeout_of(req)->node);
	count_gone(req->ctx, req);
}

#endif
