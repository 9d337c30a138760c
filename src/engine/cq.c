/* SPDX-License-Identifier: MIT */
/*
 * Posting completions. Any thread may post: the submitter posts what it
 * finished inline in batches, workers post one at a time. completion_lock
 * orders posters; the tail is published with a store-release while the lock
 * is held, so the tail only ever moves forward over fully written CQEs.
 *
 * When the CQ ring is full, CQEs wait in the overflow list and
 * IORING_SQ_CQ_OVERFLOW tells the application to enter the engine, which
 * moves them into the ring in order as room appears (IORING_FEAT_NODROP).
 * While the list is non-empty every new CQE queues behind it, so the
 * application sees completions in the order they were posted.
 */
#include <stdlib.h>
#include "engine/ctx.h"

static bool cq_has_room(struct ua_ctx *ctx)
{
	/* Acquire: the application's reads of a slot happen before our
	 * reuse of it. Unsigned distance: a head the application corrupted
	 * reads as "full", never as room to overrun. */
	unsigned head = io_uring_smp_load_acquire(ctx->cq_head);

	return ctx->cached_cq_tail - head < ctx->cq_entries;
}

static void cq_fill(struct ua_ctx *ctx, const struct io_uring_cqe *src)
{
	unsigned idx = ctx->cached_cq_tail & (ctx->cq_entries - 1);
	struct io_uring_cqe *cqe = &ctx->cqes[idx];

	cqe->user_data = src->user_data;
	cqe->res = src->res;
	cqe->flags = src->flags;
	ctx->cached_cq_tail++;
}

static void overflow_add(struct ua_ctx *ctx, const struct io_uring_cqe *cqe)
{
	struct ua_overflow_cqe *o = malloc(sizeof(*o));

	if (!o) {
		/* Truly lost: the kernel counts these in cq.overflow too. */
		IO_URING_WRITE_ONCE(*ctx->cq_overflow,
				    IO_URING_READ_ONCE(*ctx->cq_overflow) + 1);
		return;
	}
	o->next = NULL;
	o->cqe = *cqe;
	if (ctx->overflow_tail)
		ctx->overflow_tail->next = o;
	else
		ctx->overflow_head = o;
	ctx->overflow_tail = o;
	__atomic_fetch_or(ctx->sq_flags, IORING_SQ_CQ_OVERFLOW, __ATOMIC_RELAXED);
}

static void post_locked(struct ua_ctx *ctx, const struct io_uring_cqe *cqe)
{
	if (!ctx->overflow_head && cq_has_room(ctx))
		cq_fill(ctx, cqe);
	else
		overflow_add(ctx, cqe);
}

static void publish_tail(struct ua_ctx *ctx)
{
	io_uring_smp_store_release(ctx->cq_tail, ctx->cached_cq_tail);
}

static bool wants_cqe(const struct ua_req *req)
{
	return !(req->sqe_flags & IOSQE_CQE_SKIP_SUCCESS) || req->failed ||
	       req->res < 0;
}

/* Returns whether a CQE was posted (CQE_SKIP_SUCCESS may drop it). */
static bool post_req_locked(struct ua_ctx *ctx, const struct ua_req *req)
{
	struct io_uring_cqe cqe = {
		.user_data = req->user_data,
		.res = req->res,
		.flags = req->cflags,
	};

	if (!wants_cqe(req))
		return false;
	post_locked(ctx, &cqe);
	return true;
}

void ua_batch_add(struct ua_ctx *ctx, struct ua_completion_batch *b,
		  struct ua_req *req)
{
	b->reqs[b->nr++] = req;
	if (b->nr == UA_COMPLETION_BATCH)
		ua_batch_flush(ctx, b);
}

/* Called by the submitter, with uring_lock held. */
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
	pthread_mutex_unlock(&ctx->completion_lock);
	/* The eventfd before the waiters, as the kernel orders them. */
	ua_eventfd_end(ctx, ev, posted, true);
	ua_cq_wake(ctx);
	for (i = 0; i < b->nr; i++)
		ua_req_free_local(ctx, b->reqs[i]);
	b->nr = 0;
}

/* Called by any thread that is not holding uring_lock (workers). */
void ua_complete_remote(struct ua_req *req)
{
	struct ua_ctx *ctx = req->ctx;
	struct ua_ev_fd *ev = ua_eventfd_begin(ctx);
	bool posted;

	pthread_mutex_lock(&ctx->completion_lock);
	posted = post_req_locked(ctx, req);
	publish_tail(ctx);
	pthread_mutex_unlock(&ctx->completion_lock);
	ua_eventfd_end(ctx, ev, posted, false);
	ua_cq_wake(ctx);
	ua_req_free_remote(ctx, req);
}

/* A CQE of no request (a resource tag's), from any thread. */
void ua_post_aux_cqe(struct ua_ctx *ctx, __u64 user_data, __s32 res,
		     __u32 flags)
{
	struct io_uring_cqe cqe = {
		.user_data = user_data,
		.res = res,
		.flags = flags,
	};
	struct ua_ev_fd *ev = ua_eventfd_begin(ctx);

	pthread_mutex_lock(&ctx->completion_lock);
	post_locked(ctx, &cqe);
	publish_tail(ctx);
	pthread_mutex_unlock(&ctx->completion_lock);
	ua_eventfd_end(ctx, ev, true, false);
	ua_cq_wake(ctx);
}

bool ua_overflow_pending(struct ua_ctx *ctx)
{
	return IO_URING_READ_ONCE(*ctx->sq_flags) & IORING_SQ_CQ_OVERFLOW;
}

void ua_overflow_flush(struct ua_ctx *ctx)
{
	struct ua_overflow_cqe *o;

	pthread_mutex_lock(&ctx->completion_lock);
	while ((o = ctx->overflow_head) && cq_has_room(ctx)) {
		cq_fill(ctx, &o->cqe);
		ctx->overflow_head = o->next;
		free(o);
	}
	if (!ctx->overflow_head) {
		ctx->overflow_tail = NULL;
		__atomic_fetch_and(ctx->sq_flags, ~IORING_SQ_CQ_OVERFLOW,
				   __ATOMIC_RELAXED);
	}
	publish_tail(ctx);
	pthread_mutex_unlock(&ctx->completion_lock);
}

void ua_overflow_free(struct ua_ctx *ctx)
{
	struct ua_overflow_cqe *o, *next;

	for (o = ctx->overflow_head; o; o = next) {
		next = o->next;
		free(o);
	}
	ctx->overflow_head = ctx->overflow_tail = NULL;
}
