/* SPDX-License-Identifier: MIT */
/*
 * Completing requests: their CQEs are posted in batches under one lock
 * (cqring.h), then the requests are freed.
 *
 * Posting issues nothing: what a completion releases (the next link, a
 * drained request) is collected in the batch's ready list and handed back
 * to the issue layer that owns the batch (submit.c's runs).
 */
#include "engine/cq.h"
#include "engine/cqring.h"
#include "engine/eventfd.h"
#include "engine/link.h"
#include "engine/list.h"
#include "engine/lock.h"
#include "engine/req.h"
#include "engine/ring.h"
#include "engine/timeout.h"
#include "engine/wake.h"

/* Like the kernel, CQE_SKIP_SUCCESS yields to failure only (REQ_F_FAIL). */
static bool wants_cqe(const struct ua_req *req)
{
	return !(req->sqe_flags & IOSQE_CQE_SKIP_SUCCESS) || req->failed;
}

/*
 * A zero-copy send's two CQEs, back to back: its result with F_MORE, then
 * the notification that the buffer may be reused. The data was copied by
 * the time the send returned, so the notification is due at once; its
 * entry was not reserved (the kernel's notification is a request of its
 * own, which reserves nothing either).
 */
static unsigned post_with_notif_locked(struct ua_ctx *ctx,
				       struct ua_cqe *cqe,
				       const struct ua_req *req)
{
	struct ua_cqe notif = {
		.user_data = req->user_data,
		.res = (req->state & UA_REQ_NOTIF_COPIED) ?
		       (__s32) IORING_NOTIF_USAGE_ZC_COPIED : 0,
		.flags = IORING_CQE_F_NOTIF,
	};

	cqe->flags |= IORING_CQE_F_MORE;
	post_locked(ctx, cqe, true);
	post_locked(ctx, &notif, false);
	return 2;
}

/* Returns the CQEs posted (CQE_SKIP_SUCCESS may drop the request's). */
static unsigned post_req_locked(struct ua_ctx *ctx, const struct ua_req *req)
{
	struct ua_cqe cqe = {
		.user_data = req->user_data,
		.res = req->res,
		.flags = req->cflags,
	};

	ua_lock_assert_held(&ctx->completion_lock);
	if (__builtin_expect(req->state & UA_REQ_NOTIF, 0))
		return post_with_notif_locked(ctx, &cqe, req);
	if (!wants_cqe(req))
		return 0;
	/* Read only where posted: a plain ring never touches the words. */
	if (__builtin_expect(ua_cqe_is_big(ctx, req->cflags), 0)) {
		cqe.big_cqe[0] = req->big_cqe[0];
		cqe.big_cqe[1] = req->big_cqe[1];
	}
	post_locked(ctx, &cqe, true);
	return 1;
}

/* Called instead of posting a finished UA_REQ_IOPOLL request. A waiter in
 * ua_iopoll_get_events is told, to reap it. */
static void iopoll_hold(struct ua_ctx *ctx, struct ua_req *req)
{
	pthread_mutex_lock(&ctx->completion_lock);
	ua_list_add(&ctx->iopoll_done, req);
	pthread_mutex_unlock(&ctx->completion_lock);
	ua_cq_wake(ctx);
}

void ua_batch_add(struct ua_ctx *ctx, struct ua_completion_batch *b,
		  struct ua_req *req)
{
	/* IOPOLL: posted when the application reaps it (iopoll.c). */
	if (__builtin_expect(req->state & UA_REQ_IOPOLL, 0)) {
		iopoll_hold(ctx, req);
		return;
	}
	b->reqs[b->nr++] = req;
	if (b->nr == UA_COMPLETION_BATCH)
		ua_batch_flush(ctx, b);
}

static void free_req(struct ua_ctx *ctx, struct ua_completion_batch *b,
		     struct ua_req *req)
{
	if (b->local)
		ua_req_free_local(ctx, req);
	else
		ua_req_free_remote(ctx, req);
}

/* What follows a completed request: the slow path of a completion. */
static void finish_slow(struct ua_ctx *ctx, struct ua_completion_batch *b,
			struct ua_req *req)
{
	/* A guarded request's link is read under timer.lock only. */
	if ((req->state & UA_REQ_REFCOUNTED) || req->link)
		ua_link_done(req, &b->ready);
	if (ua_req_put(req))
		free_req(ctx, b, req);
}

/* Count timeouts met by the CQEs just posted complete in the batch. */
static void complete_count_timeouts(struct ua_ctx *ctx,
				    struct ua_completion_batch *b)
{
	struct ua_req_list met;
	struct ua_req *req;

	ua_list_init(&met);
	ua_timeout_flush_seq(ctx, &met);
	while ((req = ua_list_pop(&met)))
		ua_batch_add(ctx, b, req);
}

/*
 * Posts the batch's CQEs under one lock, then frees the requests, and
 * collects in b->ready what they release. Any thread may flush a batch;
 * only one holding uring_lock (b->local) frees into the submitter's cache
 * directly.
 */
void ua_batch_flush(struct ua_ctx *ctx, struct ua_completion_batch *b)
{
	unsigned i, posted = 0;
	struct ua_ev_fd *ev;

	if (!b->nr)
		return;
	ev = ua_eventfd_begin(ctx);
	pthread_mutex_lock(&ctx->completion_lock);
	for (i = 0; i < b->nr; i++)
		posted += post_req_locked(ctx, b->reqs[i]);
	publish_tail(ctx);
	ctx->nr_done += b->nr;
	if (__builtin_expect(ctx->defer.head != NULL, 0))
		ua_drain_release_locked(ctx, &b->ready);
	pthread_mutex_unlock(&ctx->completion_lock);
	/* The eventfd before the waiters, as the kernel orders them. */
	ua_eventfd_end(ctx, ev, posted, b->local);
	ua_cq_wake(ctx);
	for (i = 0; i < b->nr; i++) {
		struct ua_req *req = b->reqs[i];

		if (__builtin_expect(req->state || req->link, 0))
			finish_slow(ctx, b, req);
		else
			free_req(ctx, b, req);
	}
	b->nr = 0;
	if (__builtin_expect(__atomic_load_n(&ctx->timer.nr_seq,
					     __ATOMIC_RELAXED) != 0, 0))
		complete_count_timeouts(ctx, b);
}
