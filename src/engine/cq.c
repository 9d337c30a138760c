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
 *
 * Posting issues nothing: what a completion releases (the next link, a
 * drained request) is collected in the batch's ready list and handed back
 * to the issue layer that owns the batch (submit.c's runs).
 *
 * A CQE of a request never needs memory when it is posted: the entries its
 * CQEs may need in overflow are reserved before the request is accepted
 * (ua_overflow_reserve), and go back to the spare list once flushed into
 * the ring. So no CQE of an accepted request is ever dropped.
 */
#include <errno.h>
#include <stdlib.h>
#include "liburing/barrier.h"
#include "engine/cq.h"
#include "engine/eventfd.h"
#include "engine/iopoll.h"
#include "engine/link.h"
#include "engine/lock.h"
#include "engine/req.h"
#include "engine/ring.h"
#include "engine/timeout.h"
#include "engine/wait.h"

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

/*
 * Spare entries per request in flight (submitted, not yet done): its last
 * CQE's, and one for a multishot CQE that must be posted with it (a held
 * receive's, net.c). Others of a multishot request go into room only.
 */
#define OVERFLOW_PER_REQ	2
/* Requests' worth of entries allocated at least at a time. */
#define OVERFLOW_GROW		32

/* Requests that may still be accepted with their entries reserved. Only
 * the submitter lowers it (by accepting requests): completions and
 * flushes only raise it, so a count taken here holds until used. */
static unsigned reservable_locked(const struct ua_ctx *ctx)
{
	unsigned in_flight = ctx->nr_submitted - ctx->nr_done;
	unsigned need = in_flight * OVERFLOW_PER_REQ;

	ua_lock_assert_held(&ctx->completion_lock);
	if (ctx->nr_overflow_spare <= need)
		return 0;
	return (ctx->nr_overflow_spare - need) / OVERFLOW_PER_REQ;
}

static void spare_put_locked(struct ua_ctx *ctx, struct ua_overflow_cqe *o)
{
	ua_lock_assert_held(&ctx->completion_lock);
	o->next = ctx->overflow_spare;
	ctx->overflow_spare = o;
	ctx->nr_overflow_spare++;
}

static unsigned recount_credit(struct ua_ctx *ctx, struct ua_overflow_cqe *add)
{
	struct ua_overflow_cqe *next;
	unsigned credit;

	pthread_mutex_lock(&ctx->completion_lock);
	for (; add; add = next) {
		next = add->next;
		spare_put_locked(ctx, add);
	}
	credit = reservable_locked(ctx);
	pthread_mutex_unlock(&ctx->completion_lock);
	return credit;
}

/*
 * Submitter, under uring_lock, before it accepts up to nr requests, when
 * its credit is short: returns how many it may accept (fewer only when
 * memory ran out), each with the overflow entries its CQEs may need set
 * aside, and renews the credit.
 */
unsigned ua_overflow_reserve(struct ua_ctx *ctx, unsigned nr)
{
	struct ua_overflow_cqe *add = NULL, *o;
	unsigned want, i;

	ua_lock_assert_held(&ctx->uring_lock);
	ctx->overflow_credit = recount_credit(ctx, NULL);
	if (ctx->overflow_credit < nr) {
		/* Room for two such submissions: the next one need not
		 * take the lock again. */
		want = 2 * nr - ctx->overflow_credit;
		if (want < OVERFLOW_GROW)
			want = OVERFLOW_GROW;
		for (i = 0; i < want * OVERFLOW_PER_REQ; i++) {
			o = malloc(sizeof(*o));
			if (!o)
				break;
			o->next = add;
			add = o;
		}
		ctx->overflow_credit = recount_credit(ctx, add);
	}
	return ctx->overflow_credit < nr ? ctx->overflow_credit : nr;
}

/* reserved: a request's CQE, whose entry is waiting among the spares. */
static void overflow_add(struct ua_ctx *ctx, const struct io_uring_cqe *cqe,
			 bool reserved)
{
	struct ua_overflow_cqe *o = ctx->overflow_spare;

	if (reserved && o) {
		ctx->overflow_spare = o->next;
		ctx->nr_overflow_spare--;
	} else {
		o = malloc(sizeof(*o));
	}
	if (!o) {
		/* A CQE of no request (a resource tag), truly lost: the
		 * kernel counts these in cq.overflow too. */
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

/* Whether a CQE posted now goes into the ring, behind any in overflow. */
static bool ring_has_room(struct ua_ctx *ctx)
{
	return !ctx->overflow_head && cq_has_room(ctx);
}

static void post_locked(struct ua_ctx *ctx, const struct io_uring_cqe *cqe,
			bool reserved)
{
	ua_lock_assert_held(&ctx->completion_lock);
	/* Read by the timer under its own lock: a relaxed atomic, no RMW. */
	__atomic_store_n(&ctx->cq_events, ctx->cq_events + 1, __ATOMIC_RELAXED);
	if (ring_has_room(ctx))
		cq_fill(ctx, cqe);
	else
		overflow_add(ctx, cqe, reserved);
}

static void publish_tail(struct ua_ctx *ctx)
{
	io_uring_smp_store_release(ctx->cq_tail, ctx->cached_cq_tail);
}

/* Like the kernel, CQE_SKIP_SUCCESS yields to failure only (REQ_F_FAIL). */
static bool wants_cqe(const struct ua_req *req)
{
	return !(req->sqe_flags & IOSQE_CQE_SKIP_SUCCESS) || req->failed;
}

/* Returns whether a CQE was posted (CQE_SKIP_SUCCESS may drop it). */
static bool post_req_locked(struct ua_ctx *ctx, const struct ua_req *req)
{
	struct io_uring_cqe cqe = {
		.user_data = req->user_data,
		.res = req->res,
		.flags = req->cflags,
	};

	ua_lock_assert_held(&ctx->completion_lock);
	if (!wants_cqe(req))
		return false;
	post_locked(ctx, &cqe, true);
	return true;
}

void ua_batch_add(struct ua_ctx *ctx, struct ua_completion_batch *b,
		  struct ua_req *req)
{
	/* IOPOLL: posted when the application reaps it (iopoll.c). */
	if (__builtin_expect(req->state & UA_REQ_IOPOLL, 0)) {
		ua_iopoll_hold(ctx, req);
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
		ua_timeout_flush_seq(ctx, b);
}

/* One CQE of no batch; into_room_only: not into overflow; reserved: a
 * request's, with its overflow entry set aside. */
static bool post_one(struct ua_ctx *ctx, const struct io_uring_cqe *cqe,
		     bool into_room_only, bool reserved)
{
	struct ua_ev_fd *ev = ua_eventfd_begin(ctx);
	bool posted;

	pthread_mutex_lock(&ctx->completion_lock);
	posted = !into_room_only || ring_has_room(ctx);
	if (posted) {
		post_locked(ctx, cqe, reserved);
		publish_tail(ctx);
	}
	pthread_mutex_unlock(&ctx->completion_lock);
	ua_eventfd_end(ctx, ev, posted, false);
	if (posted)
		ua_cq_wake(ctx);
	return posted;
}

/* A CQE of no request (a resource tag): posted, into overflow if need be. */
void ua_post_cqe(struct ua_ctx *ctx, __u64 user_data, __s32 res, __u32 flags)
{
	struct io_uring_cqe cqe = {
		.user_data = user_data, .res = res, .flags = flags,
	};

	post_one(ctx, &cqe, false, false);
}

/* A CQE of a request before its last one, into overflow if need be (a
 * held multishot CQE that must go before what came after it). */
void ua_post_req_cqe(struct ua_req *req, __s32 res, __u32 flags)
{
	struct io_uring_cqe cqe = {
		.user_data = req->user_data, .res = res, .flags = flags,
	};

	post_one(req->ctx, &cqe, false, true);
}

/* Whether a CQE posted now would go into the ring, not into overflow. */
bool ua_cq_room_now(struct ua_ctx *ctx)
{
	bool room;

	pthread_mutex_lock(&ctx->completion_lock);
	room = ring_has_room(ctx);
	pthread_mutex_unlock(&ctx->completion_lock);
	return room;
}

/*
 * A CQE of a multishot request that stays armed (IORING_CQE_F_MORE is
 * added here). As on the kernel it only goes into free room: with the CQ
 * full (or CQEs already waiting in overflow), nothing is posted and false
 * returned, and the caller ends the request with this result as its last
 * CQE, which may overflow. A full CQ thus stops a stream of CQEs instead
 * of growing the overflow list without bound.
 */
bool ua_post_cqe_more(struct ua_ctx *ctx, __u64 user_data, __s32 res,
		      __u32 flags)
{
	struct io_uring_cqe cqe = {
		.user_data = user_data, .res = res,
		.flags = flags | IORING_CQE_F_MORE,
	};

	return post_one(ctx, &cqe, true, false);
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
		spare_put_locked(ctx, o);
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
	for (o = ctx->overflow_spare; o; o = next) {
		next = o->next;
		free(o);
	}
	ctx->overflow_spare = NULL;
	ctx->nr_overflow_spare = 0;
}
