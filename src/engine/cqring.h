/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_CQRING_H
#define UA_ENGINE_CQRING_H

/*
 * Writing CQEs into the CQ ring, under completion_lock: cq.c's posting of
 * single CQEs and complete.c's of a batch of requests' share it, inline,
 * as every NOP's CQE goes through it.
 */
#include "liburing/barrier.h"
#include "engine/cq.h"
#include "engine/lock.h"
#include "engine/ring.h"

static inline bool cq_has_room(struct ua_ctx *ctx)
{
	/* Acquire: the application's reads of a slot happen before our
	 * reuse of it. Unsigned distance: a head the application corrupted
	 * reads as "full", never as room to overrun. */
	unsigned head = io_uring_smp_load_acquire(ctx->cq_head);

	return ctx->cached_cq_tail - head < ctx->cq_entries;
}

static inline void cq_fill(struct ua_ctx *ctx, const struct ua_cqe *src)
{
	unsigned idx = ctx->cached_cq_tail & (ctx->cq_entries - 1);
	unsigned shift = ua_cqe_shift(ctx);
	struct io_uring_cqe *cqe = &ctx->cqes[idx << shift];

	cqe->user_data = src->user_data;
	cqe->res = src->res;
	cqe->flags = src->flags;
	if (__builtin_expect(shift, 0)) {
		cqe->big_cqe[0] = src->big_cqe[0];
		cqe->big_cqe[1] = src->big_cqe[1];
	}
	ctx->cached_cq_tail++;
}

/* Whether a CQE posted now goes into the ring, behind any in overflow. */
static inline bool ring_has_room(struct ua_ctx *ctx)
{
	return !ctx->overflow_head && cq_has_room(ctx);
}

/* False: the CQE is lost (no memory to queue it in overflow). */
static inline bool post_locked(struct ua_ctx *ctx,
			       const struct ua_cqe *cqe, bool reserved)
{
	ua_lock_assert_held(&ctx->completion_lock);
	/* Read by the timer under its own lock: a relaxed atomic, no RMW. */
	__atomic_store_n(&ctx->cq_events, ctx->cq_events + 1, __ATOMIC_RELAXED);
	if (!ring_has_room(ctx))
		return ua_overflow_add(ctx, cqe, reserved);
	cq_fill(ctx, cqe);
	return true;
}

static inline void publish_tail(struct ua_ctx *ctx)
{
	io_uring_smp_store_release(ctx->cq_tail, ctx->cached_cq_tail);
}

#endif
