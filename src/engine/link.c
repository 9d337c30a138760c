/* SPDX-License-Identifier: MIT */
/*
 * IOSQE_IO_LINK chains and IOSQE_IO_DRAIN.
 *
 * A chain is built while the SQEs are consumed (submit.c): req->link points
 * at the next member; only the head is issued. When a request completes,
 * ua_link_done() hands back what follows: the next member to issue, or,
 * after a failure (an error or a short transfer) of a request that is not
 * IOSQE_IO_HARDLINK, every remaining member to complete with -ECANCELED.
 * A LINK_TIMEOUT right after a request guards it (timeout.c); the request's
 * completion disarms it with -ECANCELED (-ENOENT if it had expired).
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
#include "engine/submit.h"
#include "engine/timeout.h"
#include "engine/opdef.h"

static void complete_now(struct ua_req *req, int res, bool failed)
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
		complete_now(link, link->failed ? link->res : -ECANCELED, !skip);
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
		complete_now(lt, lt_res, false);
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

static bool drain_ready(struct ua_ctx *ctx, const struct ua_req *head)
{
	if (!(head->sqe_flags & IOSQE_IO_DRAIN))
		return true;
	return ctx->nr_done == head->drain_seq;
}

/* The members of a chain copy what the application may reuse, as a punted
 * request does: they are issued after io_uring_enter returns. A member
 * whose copy fails completes with its error as if its SQE had been
 * refused; nonzero tells the caller to fail the chain. */
int ua_link_prepare(struct ua_req *first)
{
	struct ua_req *req;
	int ret;

	for (req = first; req; req = req->link) {
		const struct ua_opdef *def = ua_opdef(req->opcode);

		if ((req->state & UA_REQ_COMPLETE_NOW) || !def->prepare_async)
			continue;
		ret = def->prepare_async(req);
		if (ret) {
			complete_now(req, ret, true);
			return ret;
		}
	}
	return 0;
}

/*
 * A chain of nr requests that failed at submission completes at once,
 * ahead of any drained chain still waiting, as the kernel's does. It takes
 * no place in the drain's count: neither among the requests submitted (a
 * later drain does not wait for it; it is the last submitted) nor among
 * those done (its completions do not count for one submitted before a
 * waiting drain). nr_done is moved back before its CQEs move it on, so the
 * count never passes a drain's mark. Only while chains may wait: otherwise
 * no mark can be passed, and the chain counts on both sides.
 */
void ua_drain_uncount(struct ua_ctx *ctx, struct ua_req *head)
{
	unsigned nr = 0;

	if (!ctx->drain_active)
		return;
	for (; head; head = head->link)
		nr++;
	ctx->nr_submitted -= nr;
	pthread_mutex_lock(&ctx->completion_lock);
	ctx->nr_done -= nr;
	pthread_mutex_unlock(&ctx->completion_lock);
}

/* Under completion_lock: whether head must wait in defer. Nothing waits:
 * the next chain need not come here unless drained. */
static bool must_wait_locked(struct ua_ctx *ctx, const struct ua_req *head)
{
	bool wait;

	ua_lock_assert_held(&ctx->completion_lock);
	wait = ctx->defer.head || !drain_ready(ctx, head);
	ctx->drain_active = wait;
	return wait;
}

/*
 * Submitter, for a chain that is drained or that arrives while others wait:
 * true when it was deferred, false when it may be issued now.
 */
bool ua_drain_defer(struct ua_ctx *ctx, struct ua_req *head)
{
	bool wait;

	pthread_mutex_lock(&ctx->completion_lock);
	wait = must_wait_locked(ctx, head);
	pthread_mutex_unlock(&ctx->completion_lock);
	if (!wait)
		return false;
	if (ua_link_prepare(head)) {
		if (!(head->state & UA_REQ_COMPLETE_NOW))
			complete_now(head, -ECANCELED, true);
		head->sqe_flags &= (__u8) ~IOSQE_IO_HARDLINK;
		ua_drain_uncount(ctx, head);
		return false;
	}
	/* The last request before head may have completed while it was
	 * prepared, finding nothing in defer to release: asked again, with
	 * the list, under the lock every completion takes. */
	pthread_mutex_lock(&ctx->completion_lock);
	wait = must_wait_locked(ctx, head);
	if (wait)
		ua_list_add(&ctx->defer, head);
	pthread_mutex_unlock(&ctx->completion_lock);
	return wait;
}

/* Called with completion_lock held, after nr_done moved. */
void ua_drain_release_locked(struct ua_ctx *ctx, struct ua_req_list *out)
{
	ua_lock_assert_held(&ctx->completion_lock);
	while (ctx->defer.head && drain_ready(ctx, ctx->defer.head))
		ua_list_add(out, ua_list_pop(&ctx->defer));
}

/* Teardown, once no other thread runs: what still waits is cancelled. */
void ua_drain_cancel(struct ua_ctx *ctx)
{
	struct ua_req_list l;

	pthread_mutex_lock(&ctx->completion_lock);
	l = ctx->defer;
	if (!l.head)
		l.tail = &l.head;
	ua_list_init(&ctx->defer);
	pthread_mutex_unlock(&ctx->completion_lock);
	ua_complete_list(ctx, &l, -ECANCELED);
}
