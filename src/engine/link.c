/* SPDX-License-Identifier: MIT */
/*
 * IOSQE_IO_LINK chains and IOSQE_IO_DRAIN.
 *
 * A chain is built while the SQEs are consumed (submit.c, which also
 * prepares its members and defers drained chains): req->link points at
 * the next member; only the head is issued. When a request completes,
 * ua_link_done() hands back what follows: the next member to issue, or,
 * after a failure (an error or a short transfer) of a request that is not
 * IOSQE_IO_HARDLINK, every remaining member to complete with -ECANCELED.
 * A LINK_TIMEOUT right after a request guards it (timeout.c); the request's
 * completion disarms it with -ECANCELED.
 *
 * A drained chain waits in ctx->defer until every request submitted before
 * it has completed; everything submitted after it queues behind it. The
 * count of completed requests (nr_done) and the list are both under
 * completion_lock, so the poster that completes the last request before a
 * drained one is the one that releases it.
 */
#include <errno.h>
#include "engine/link.h"
#include "engine/list.h"
#include "engine/lock.h"
#include "engine/req.h"
#include "engine/ring.h"
#include "engine/timeout.h"

void ua_link_complete_now(struct ua_req *req, int res, bool failed)
{
	req->res = res;
	req->failed = failed;
	req->state |= UA_REQ_COMPLETE_NOW;
}

/*
 * The members after a failed request, completed without being issued, as
 * the kernel does: -ECANCELED, or the member's own error if it failed its
 * checks at submission. If the failed request asked for CQE_SKIP_SUCCESS,
 * the cancelled members post no CQE either; otherwise each posts one
 * whatever its own flags.
 */
static void fail_links(struct ua_req *req, struct ua_req *link,
		       struct ua_req_list *out)
{
	bool skip = req->sqe_flags & IOSQE_CQE_SKIP_SUCCESS;
	struct ua_req *next;

	for (; link; link = next) {
		next = link->link;
		link->link = NULL;
		ua_link_complete_now(link, link->failed ? link->res : -ECANCELED,
				     !skip);
		if (skip)
			link->sqe_flags |= IOSQE_CQE_SKIP_SUCCESS;
		ua_list_add(out, link);
	}
}

/* Called once req's CQE is out; adds what must follow it to out. */
void ua_link_done(struct ua_req *req, struct ua_req_list *out)
{
	struct ua_req *link, *lt;
	int lt_res;

	lt = ua_link_timeout_disarm(req, &lt_res);

	if (lt) {
		ua_link_complete_now(lt, lt_res, false);
		ua_list_add(out, lt);
	}
	link = req->link;
	req->link = NULL;
	if (!link)
		return;
	if (req->failed && !(req->sqe_flags & IOSQE_IO_HARDLINK))
		fail_links(req, link, out);
	else
		ua_list_add(out, link);
}

/* Drops a reference; true when the caller must free the request. */
bool ua_req_put(struct ua_req *req)
{
	if (!(req->state & UA_REQ_REFCOUNTED))
		return true;
	return __atomic_sub_fetch(&req->refs, 1, __ATOMIC_ACQ_REL) == 0;
}

bool ua_drain_ready(struct ua_ctx *ctx, const struct ua_req *head)
{
	if (!(head->sqe_flags & IOSQE_IO_DRAIN))
		return true;
	return ctx->nr_done == head->drain_seq;
}

/* Called with completion_lock held, after nr_done moved. */
void ua_drain_release_locked(struct ua_ctx *ctx, struct ua_req_list *out)
{
	ua_lock_assert_held(&ctx->completion_lock);
	while (ctx->defer.head && ua_drain_ready(ctx, ctx->defer.head))
		ua_list_add(out, ua_list_pop(&ctx->defer));
}
