/* SPDX-License-Identifier: MIT */
/*
 * The CQ ring and its overflow list. Any thread may post: requests' CQEs
 * come in batches (complete.c), a multishot request's and a resource
 * tag's one at a time (below). completion_lock orders posters; the tail
 * is published with a store-release while the lock is held, so the tail
 * only ever moves forward over fully written CQEs.
 *
 * When the CQ ring is full, CQEs wait in the overflow list and
 * IORING_SQ_CQ_OVERFLOW tells the application to enter the engine, which
 * moves them into the ring in order as room appears (IORING_FEAT_NODROP).
 * While the list is non-empty every new CQE queues behind it, so the
 * application sees completions in the order they were posted.
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
#include "engine/cqring.h"
#include "engine/eventfd.h"
#include "engine/lock.h"
#include "engine/ring.h"
#include "engine/wake.h"

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

/* reserved: a request's CQE, whose entry is waiting among the spares.
 * False: no memory for it, the CQE is lost. */
bool ua_overflow_add(struct ua_ctx *ctx, const struct ua_cqe *cqe,
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
		return false;
	}
	o->next = NULL;
	o->cqe = *cqe;
	if (ctx->overflow_tail)
		ctx->overflow_tail->next = o;
	else
		ctx->overflow_head = o;
	ctx->overflow_tail = o;
	__atomic_fetch_or(ctx->sq_flags, IORING_SQ_CQ_OVERFLOW, __ATOMIC_RELAXED);
	return true;
}

/* One CQE of no batch; into_room_only: not into overflow; reserved: a
 * request's, with its overflow entry set aside. */
static bool post_one(struct ua_ctx *ctx, const struct ua_cqe *cqe,
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
	struct ua_cqe cqe = {
		.user_data = user_data, .res = res, .flags = flags,
	};

	post_one(ctx, &cqe, false, false);
}

/*
 * A CQE another ring's request sends (MSG_RING), into overflow if need be,
 * as the kernel queues it behind an overflowed CQ. False when there was no
 * memory to queue it: the kernel's sender then fails with -EOVERFLOW.
 */
bool ua_post_msg_cqe(struct ua_ctx *ctx, __u64 user_data, __s32 res,
		     __u32 flags)
{
	struct ua_cqe cqe = {
		.user_data = user_data, .res = res, .flags = flags,
	};
	struct ua_ev_fd *ev = ua_eventfd_begin(ctx);
	bool queued;

	pthread_mutex_lock(&ctx->completion_lock);
	queued = post_locked(ctx, &cqe, false);
	publish_tail(ctx);
	pthread_mutex_unlock(&ctx->completion_lock);
	ua_eventfd_end(ctx, ev, queued, false);
	if (queued)
		ua_cq_wake(ctx);
	return queued;
}

/* A CQE of a request before its last one, into overflow if need be (a
 * held multishot CQE that must go before what came after it). */
void ua_post_req_cqe(struct ua_req *req, __s32 res, __u32 flags)
{
	struct ua_cqe cqe = {
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
	struct ua_cqe cqe = {
		.user_data = user_data, .res = res,
		.flags = flags | IORING_CQE_F_MORE,
	};

	return post_one(ctx, &cqe, true, false);
}

/*
 * A multishot request's CQE with its big_cqe words (a CQE32 ring's), for
 * what its issue already took from where it was (a socket's error queue)
 * once it saw room (ua_cq_room_now): a CQ filled meanwhile takes it into
 * overflow rather than lose it.
 */
void ua_post_cqe32_more(struct ua_ctx *ctx, const struct ua_cqe *cqe)
{
	struct ua_cqe c = *cqe;

	c.flags |= IORING_CQE_F_MORE;
	post_one(ctx, &c, false, false);
}

bool ua_overflow_pending(struct ua_ctx *ctx)
{
	return IO_URING_READ_ONCE(*ctx->sq_flags) & IORING_SQ_CQ_OVERFLOW;
}

void ua_overflow_flush(struct ua_ctx *ctx)
{
	struct ua_overflow_cqe *o;

	pthread_mutex_lock(&ctx->completion_lock);
	while ((o = ctx->overflow_head) && cq_has_room_for(ctx, &o->cqe)) {
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
