/* SPDX-License-Identifier: MIT */
/*
 * Armed timeouts taken out of the timer by others than their expiry: the
 * LINK_TIMEOUT of a request that completed, count timeouts whose count a
 * batch of CQEs reached, and TIMEOUTs a cancellation names. Completing
 * requests and cancelling them do this, so it sits below them; whoever
 * takes a timeout out completes it (timeout.c).
 */
#include <errno.h>
#include "engine/cancel.h"
#include "engine/list.h"
#include "engine/timeout.h"
#include "engine/timeout_cmd.h"

/*
 * req completed: if a LINK_TIMEOUT follows it and has not expired, take it
 * out of the chain and return it, for the caller to complete with
 * -ECANCELED. One that failed its own checks stays, to fail with the chain.
 */
struct ua_req *ua_link_timeout_disarm(struct ua_req *req)
{
	/* Only a guarded request's link can change under it (the timer's
	 * lock). */
	bool armed = req->state & UA_REQ_REFCOUNTED;
	struct ua_req *lt;

	if (armed)
		ua_timer_lock();
	lt = req->link;
	if (lt && lt->opcode == IORING_OP_LINK_TIMEOUT &&
	    !(lt->state & UA_REQ_COMPLETE_NOW)) {
		if (timeout_of(lt)->node.armed)
			disarm_locked(lt);
		timeout_of(lt)->head = NULL;
		req->link = lt->link;
		lt->link = NULL;
	} else {
		lt = NULL;
	}
	if (armed)
		ua_timer_unlock();
	return lt;
}

/* Completion-count timeouts whose count was reached, taken out of the
 * timer onto out, to complete with 0. */
void ua_timeout_flush_seq(struct ua_ctx *ctx, struct ua_req_list *out)
{
	struct ua_timer_node *node, *next;
	struct ua_req *req;
	__u32 seq;

	ua_timer_lock();
	seq = __atomic_load_n(&ctx->cq_events, __ATOMIC_RELAXED) -
	      ctx->timer.cq_timeouts;
	for (node = ctx->timer.armed; node; node = next) {
		next = node->next;
		req = req_of(node);
		if (!has_count(req) ||
		    (__s32) (seq - timeout_of(req)->target_seq) < 0)
			continue;
		disarm_locked(req);
		ctx->timer.cq_timeouts++;
		req->res = 0;
		req->failed = false;
		ua_list_add(out, req);
	}
	ua_timer_unlock();
}

/* Cancellation of armed TIMEOUTs (not link timeouts, not by descriptor). */
int ua_timeout_cancel(struct ua_ctx *ctx, const struct ua_cancel_data *cd,
		      struct ua_req_list *out)
{
	struct ua_timer_node *node, *next;
	struct ua_req *req;
	int nr = 0;

	if (cd->flags & IORING_ASYNC_CANCEL_FD)
		return 0;
	ua_timer_lock();
	for (node = ctx->timer.armed; node; node = next) {
		next = node->next;
		req = req_of(node);
		if (req->opcode != IORING_OP_TIMEOUT || !ua_cancel_match(req, cd))
			continue;
		disarm_locked(req);
		ua_list_add(out, req);
		nr++;
		if (!ua_cancel_all(cd))
			break;
	}
	ua_timer_unlock();
	return nr;
}
