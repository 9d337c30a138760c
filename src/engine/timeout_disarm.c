/* SPDX-License-Identifier: MIT */
/*
 * Armed timeouts taken out of the timer by others than their expiry: the
 * LINK_TIMEOUT of a request that completed, count timeouts whose count a
 * batch of CQEs reached, and TIMEOUTs a cancellation names. Completing
 * requests and cancelling them do this, so it sits below them; whoever
 * takes a timeout out completes it (timeout.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include "engine/cancel.h"
#include "engine/list.h"
#include "engine/opdef.h"
#include "engine/timeout.h"
#include "engine/timeout_cmd.h"

/*
 * The kernel looks a request's descriptor up before it arms the timeout;
 * here the system call finds it closed. Only asked of a request that failed
 * with -EBADF, so a guarded request pays nothing for it.
 */
static bool file_was_missing(const struct ua_req *req)
{
	return req->res == -EBADF && ua_opdef(req->opcode)->needs_file &&
	       !(req->sqe_flags & IOSQE_FIXED_FILE) &&
	       fcntl(req->fd, F_GETFD) < 0;
}

/*
 * Whether lt's deadline passed before its request req completed: on the
 * kernel its timer, armed before the issue, has then fired in interrupt
 * context and found the request already completing.
 */
static bool expired_before(const struct ua_req *req, const struct ua_req *lt)
{
	return timeout_of(lt)->deadline <= ua_clock_ns(CLOCK_MONOTONIC) &&
	       !file_was_missing(req);
}

/*
 * req completed: if a LINK_TIMEOUT follows it, take it out of the chain and
 * return it, with its result in *res for the caller to complete it with:
 * -ECANCELED, or -ENOENT when it expired first but its expiry has not run
 * (the kernel's finds nothing left to cancel). One that failed its own
 * checks stays, to fail with the chain.
 */
struct ua_req *ua_link_timeout_disarm(struct ua_req *req, int *res)
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
		*res = expired_before(req, lt) ? -ENOENT : -ECANCELED;
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
