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

/* Whether src takes two slots: a big CQE of a CQE_MIXED ring. */
static inline bool cqe_takes_two(const struct ua_ctx *ctx,
				 const struct ua_cqe *src)
{
	return ua_cq_mixed(ctx) && (src->flags & IORING_CQE_F_32);
}

/*
 * A big CQE of a CQE_MIXED ring never straddles the ring's end. As the
 * kernel does, the last slot then gets a padding CQE (IORING_CQE_F_SKIP,
 * user_data and res zero) if it is free, whether or not the big CQE fits
 * after it; the big CQE needs two free slots from the start of the ring.
 */
static inline bool cq_has_room_for_two(struct ua_ctx *ctx)
{
	unsigned mask = ctx->cq_entries - 1;
	struct io_uring_cqe *pad;

	if (!cq_has_room(ctx))
		return false;
	if ((ctx->cached_cq_tail & mask) == mask) {
		pad = &ctx->cqes[mask];
		pad->user_data = 0;
		pad->res = 0;
		pad->flags = IORING_CQE_F_SKIP;
		ctx->cached_cq_tail++;
		/* Count timeouts count it, as the kernel's count slots. */
		__atomic_store_n(&ctx->cq_events, ctx->cq_events + 1,
				 __ATOMIC_RELAXED);
	}
	return ctx->cached_cq_tail + 1 -
	       io_uring_smp_load_acquire(ctx->cq_head) < ctx->cq_entries;
}

/* Whether src goes into the ring now: the caller fills it next. */
static inline bool cq_has_room_for(struct ua_ctx *ctx,
				   const struct ua_cqe *src)
{
	if (__builtin_expect(cqe_takes_two(ctx, src), 0))
		return cq_has_room_for_two(ctx);
	return cq_has_room(ctx);
}

static inline void cq_fill(struct ua_ctx *ctx, const struct ua_cqe *src)
{
	unsigned idx = ctx->cached_cq_tail & (ctx->cq_entries - 1);
	unsigned shift = ua_cqe_shift(ctx);
	struct io_uring_cqe *cqe = &ctx->cqes[idx << shift];

	cqe->user_data = src->user_data;
	cqe->res = src->res;
	cqe->flags = src->flags;
	ctx->cached_cq_tail++;
	if (__builtin_expect(shift, 0)) {
		cqe->big_cqe[0] = src->big_cqe[0];
		cqe->big_cqe[1] = src->big_cqe[1];
	} else if (__builtin_expect(cqe_takes_two(ctx, src), 0)) {
		cqe->big_cqe[0] = src->big_cqe[0];
		cqe->big_cqe[1] = src->big_cqe[1];
		ctx->cached_cq_tail++;
	}
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
	/* Read by the timer under its own lock: a relaxed atomic, no RMW.
	 * Slots, as the kernel counts for count timeouts. */
	__atomic_store_n(&ctx->cq_events,
			 ctx->cq_events + 1 + cqe_takes_two(ctx, cqe),
			 __ATOMIC_RELAXED);
	if (ctx->overflow_head || !cq_has_room_for(ctx, cqe))
		return ua_overflow_add(ctx, cqe, reserved);
	cq_fill(ctx, cqe);
	return true;
}

static inline void publish_tail(struct ua_ctx *ctx)
{
	io_uring_smp_store_release(ctx->cq_tail, ctx->cached_cq_tail);
}

#endif
