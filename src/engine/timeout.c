/* SPDX-License-Identifier: MIT */
/*
 * TIMEOUT, TIMEOUT_REMOVE (with its update forms) and LINK_TIMEOUT, on the
 * process's timer (timer.c), which keeps their deadlines and expires them.
 *
 * Every deadline is kept in CLOCK_MONOTONIC nanoseconds. A relative timeout
 * on any clock runs from now; an absolute BOOTTIME or REALTIME one is
 * converted when armed, so a later jump of that clock is not followed.
 *
 * A TIMEOUT with a count (sqe->off) also completes, with 0, once that many
 * CQEs were posted after it was armed, not counting expired timeouts' own
 * CQEs (the kernel's cached_cq_tail - cq_timeouts): every poster checks
 * after a batch while such a timeout is armed. The hot path pays one
 * relaxed load (timer.nr_seq) per batch for it.
 *
 * Ownership: an armed timeout is in the timer, under the timer's lock;
 * whoever takes it out under the lock (expiry, count, removal,
 * cancellation, teardown) completes it, after dropping the lock.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include "engine/cancel.h"
#include "engine/cq.h"
#include "engine/link.h"
#include "engine/list.h"
#include "engine/req.h"
#include "engine/ring.h"
#include "engine/timeout.h"
#include "engine/timeout_cmd.h"
#include "engine/timer.h"
#include "engine/uaccess.h"
#include "engine/opdef.h"

/* TIMEOUT_REMOVE, and its update forms. */
struct ua_timeout_rem {
	__u64			addr;
	struct __kernel_timespec ts;
	__u32			flags;
};
#define timeout_rem_of(req)	ua_cmd(req, struct ua_timeout_rem)

#define NSEC_PER_SEC	1000000000ull
#define HEAP_NONE	(~0u)

static __u64 ts_ns(const struct __kernel_timespec *ts)
{
	return (__u64) ts->tv_sec * NSEC_PER_SEC + (__u64) ts->tv_nsec;
}

static clockid_t timeout_clock(__u32 flags)
{
	if (flags & IORING_TIMEOUT_BOOTTIME)
		return CLOCK_BOOTTIME;
	if (flags & IORING_TIMEOUT_REALTIME)
		return CLOCK_REALTIME;
	return CLOCK_MONOTONIC;
}

/* The CLOCK_MONOTONIC deadline of ts, read with the timeout's flags. */
static __u64 deadline_of(const struct __kernel_timespec *ts, __u32 flags,
			 bool abs)
{
	__u64 now = ua_clock_ns(CLOCK_MONOTONIC), t = ts_ns(ts), then;
	clockid_t clock = timeout_clock(flags);

	if (!abs)
		return now + t;
	if (clock == CLOCK_MONOTONIC)
		return t;
	then = ua_clock_ns(clock);
	return t > then ? now + (t - then) : now;
}

static void expire(struct ua_timer_node *node);

/* Gives req to the timer with deadline; its lock is held. */
static int arm_locked(struct ua_req *req, __u64 deadline)
{
	struct ua_ctx *ctx = req->ctx;
	int ret;

	ua_timer_assert_held();
	timeout_of(req)->node.expire = expire;
	ret = ua_timer_arm_locked(ctx, &timeout_of(req)->node, deadline);
	if (ret)
		return ret;
	if (has_count(req))
		__atomic_store_n(&ctx->timer.nr_seq, ctx->timer.nr_seq + 1,
				 __ATOMIC_RELAXED);
	return 0;
}

static bool multishot_goes_on(struct ua_req *req)
{
	struct ua_timeout *to = timeout_of(req);

	if (!(to->flags & IORING_TIMEOUT_MULTISHOT))
		return false;
	return !to->off || (to->repeats && --to->repeats);
}

/*
 * A LINK_TIMEOUT expired: detach it from the request it guards (the chain
 * goes on from that request without it) and cancel that request, as the
 * kernel does, reporting -ETIME, or why the cancellation failed.
 */
static void link_timeout_fire(struct ua_ctx *ctx, struct ua_req *lt)
{
	struct ua_req *req = timeout_of(lt)->head;
	struct ua_cancel_data cd = { .req = req };
	struct ua_completion_batch run;
	int ret = -ETIME;

	timeout_of(lt)->head = NULL;
	if (req) {
		req->link = lt->link;
		lt->link = NULL;
		__atomic_add_fetch(&req->refs, 1, __ATOMIC_RELAXED);
	}
	ua_timer_unlock();
	/* One run: the timeout's CQE comes before the cancelled request's. */
	ua_issue_up->run_begin(ctx, &run);
	if (req) {
		ret = ua_cancel(ctx, &cd);
		if (!ret)
			ret = -ETIME;
		if (ua_req_put(req))
			ua_req_free_remote(ctx, req);
	}
	lt->res = ret;
	lt->failed = false;
	ua_issue_up->complete_remote(lt);
	ua_issue_up->run_end(ctx, &run);
	ua_timer_lock();
}

/* The timer took an expired timeout out; its lock is held (and dropped
 * and retaken to complete the request). */
static void expire(struct ua_timer_node *node)
{
	struct ua_req *req = req_of(node);
	struct ua_ctx *ctx = req->ctx;

	ua_timer_assert_held();
	count_gone(ctx, req);
	if (req->opcode == IORING_OP_LINK_TIMEOUT) {
		link_timeout_fire(ctx, req);
		return;
	}
	/* An expired timeout's CQE does not count for count timeouts. */
	ctx->timer.cq_timeouts++;
	/* Posted under the timer's lock, so a removal racing with it can only
	 * post its final CQE after this one; a full CQ makes this one the last. */
	if (multishot_goes_on(req) &&
	    ua_post_cqe_more(ctx, req->user_data, -ETIME, 0)) {
		arm_locked(req, ua_clock_ns(CLOCK_MONOTONIC) +
				ts_ns(&timeout_of(req)->ts));
		return;
	}
	req->res = -ETIME;
	req->failed = !(timeout_of(req)->flags & IORING_TIMEOUT_ETIME_SUCCESS);
	ua_timer_unlock();
	ua_issue_up->complete_remote(req);
	ua_timer_lock();
}

/*
 * Teardown: no timeout can be armed any more, the timer is done with the
 * ring, and those armed are cancelled, so the timer touches nothing of the
 * ring afterwards.
 */
void ua_timeout_stop(struct ua_ctx *ctx)
{
	struct ua_timer_node *node;
	struct ua_req_list l;
	struct ua_req *req;

	ua_list_init(&l);
	ua_timer_lock();
	ua_timer_stop_locked(ctx);
	while ((node = ctx->timer.armed)) {
		req = req_of(node);
		disarm_locked(req);
		if (req->opcode == IORING_OP_LINK_TIMEOUT) {
			/* Its request completes on its own and cancels it. */
			timeout_of(req)->head->link = req->link;
			req->link = NULL;
			timeout_of(req)->head = NULL;
		}
		ua_list_add(&l, req);
	}
	ua_timer_unlock();
	ua_issue_up->complete_list(ctx, &l, -ECANCELED);
}

/* TIMEOUT and LINK_TIMEOUT */

static int timeout_prep(struct ua_req *req, const struct io_uring_sqe *sqe,
			bool link)
{
	struct ua_timeout *to = timeout_of(req);
	__u32 flags = sqe->timeout_flags;
	__u32 off = (__u32) sqe->off;

	if (sqe->len != 1)
		return -EINVAL;
	if (flags & ~(IORING_TIMEOUT_ABS | IORING_TIMEOUT_CLOCK_MASK |
		      IORING_TIMEOUT_ETIME_SUCCESS | IORING_TIMEOUT_MULTISHOT))
		return -EINVAL;
	if ((flags & IORING_TIMEOUT_CLOCK_MASK) == IORING_TIMEOUT_CLOCK_MASK)
		return -EINVAL;		/* one clock at most */
	/* A multishot timeout repeats a relative interval only. */
	if ((flags & IORING_TIMEOUT_MULTISHOT) && (flags & IORING_TIMEOUT_ABS))
		return -EINVAL;
	if (ua_copy_from_user(&to->ts, sqe->addr, sizeof(to->ts)))
		return -EFAULT;
	if (to->ts.tv_sec < 0 || to->ts.tv_nsec < 0)
		return -EINVAL;
	to->flags = flags;
	to->off = off;
	to->repeats = (flags & IORING_TIMEOUT_MULTISHOT) ? off : 0;
	to->node.heap_idx = HEAP_NONE;
	to->node.armed = false;
	to->head = NULL;
	to->deadline = UINT64_MAX;	/* until its request is issued */
	if (link) {
		struct ua_ctx *ctx = req->ctx;

		/* It guards the request before it in a chain. */
		if (!ctx->link_head ||
		    ctx->link_last->opcode == IORING_OP_LINK_TIMEOUT)
			return -EINVAL;
		to->head = ctx->link_last;
	}
	return 0;
}

int ua_timeout_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	return timeout_prep(req, sqe, false);
}

int ua_link_timeout_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	return timeout_prep(req, sqe, true);
}

int ua_timeout(struct ua_req *req, unsigned issue_flags)
{
	struct ua_ctx *ctx = req->ctx;
	struct ua_timeout *to = timeout_of(req);
	int ret;

	(void) issue_flags;
	ua_timer_lock();
	if (has_count(req))
		to->target_seq = __atomic_load_n(&ctx->cq_events, __ATOMIC_RELAXED) -
				 ctx->timer.cq_timeouts + to->off;
	ret = arm_locked(req, deadline_of(&to->ts, to->flags,
					  to->flags & IORING_TIMEOUT_ABS));
	ua_timer_unlock();
	if (!ret)
		return UA_PARKED;
	req->res = ret;
	req->failed = true;
	return UA_DONE;
}

/*
 * A LINK_TIMEOUT is never issued on its own: its request arms it, or
 * completes it with -ECANCELED. Reaching here means the request it guarded
 * is gone.
 */
int ua_link_timeout(struct ua_req *req, unsigned issue_flags)
{
	(void) issue_flags;
	req->res = -ECANCELED;
	req->failed = true;
	return UA_DONE;
}

/*
 * req, guarded by lt, is about to be issued: lt's deadline runs from now, as
 * the kernel arms a linked timeout before it issues the request.
 */
void ua_link_timeout_start(struct ua_req *lt)
{
	struct ua_timeout *to = timeout_of(lt);

	to->deadline = deadline_of(&to->ts, to->flags,
				   to->flags & IORING_TIMEOUT_ABS);
}

/*
 * Arms lt for req, which has just left the issuing thread: unless req
 * completed meanwhile (lt is then no longer its link). The caller holds a
 * reference on req, so req is still there to look at.
 */
void ua_link_timeout_arm(struct ua_req *req, struct ua_req *lt)
{
	/* Not armed (teardown, no memory): the request completes unguarded,
	 * and its completion cancels lt. One that failed its own checks
	 * (UA_REQ_COMPLETE_NOW) only waits to fail with the chain: armed, it
	 * would post a second CQE when it fired. */
	ua_timer_lock();
	if (req->link == lt && !(lt->state & UA_REQ_COMPLETE_NOW))
		arm_locked(lt, timeout_of(lt)->deadline);
	ua_timer_unlock();
}

/* TIMEOUT_REMOVE */

int ua_timeout_remove_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	struct ua_timeout_rem *tr = timeout_rem_of(req);

	if (req->sqe_flags & IOSQE_FIXED_FILE)
		return -EINVAL;
	tr->addr = sqe->addr;
	tr->flags = sqe->timeout_flags;
	if (!(tr->flags & IORING_TIMEOUT_UPDATE_MASK))
		return tr->flags ? -EINVAL : 0;
	if ((tr->flags & IORING_TIMEOUT_CLOCK_MASK) == IORING_TIMEOUT_CLOCK_MASK)
		return -EINVAL;
	if (tr->flags & ~(IORING_TIMEOUT_UPDATE_MASK | IORING_TIMEOUT_ABS))
		return -EINVAL;
	if (ua_copy_from_user(&tr->ts, sqe->addr2, sizeof(tr->ts)))
		return -EFAULT;
	if (tr->ts.tv_sec < 0 || tr->ts.tv_nsec < 0)
		return -EINVAL;
	return 0;
}

static struct ua_req *find_armed(struct ua_ctx *ctx, __u8 opcode, __u64 data)
{
	struct ua_timer_node *node;

	for (node = ctx->timer.armed; node; node = node->next) {
		struct ua_req *req = req_of(node);

		if (req->opcode == opcode && req->user_data == data)
			return req;
	}
	return NULL;
}

/* New expiry for an armed timeout; an updated TIMEOUT loses its count. */
static int timeout_update(struct ua_ctx *ctx, const struct ua_timeout_rem *tr)
{
	__u8 opcode = (tr->flags & IORING_LINK_TIMEOUT_UPDATE) ?
		      IORING_OP_LINK_TIMEOUT : IORING_OP_TIMEOUT;
	struct ua_req *req;
	int ret;

	ua_timer_lock();
	req = find_armed(ctx, opcode, tr->addr);
	if (!req) {
		ua_timer_unlock();
		return -ENOENT;
	}
	disarm_locked(req);
	timeout_of(req)->ts = tr->ts;
	if (opcode == IORING_OP_TIMEOUT)
		timeout_of(req)->off = 0;
	/* The timeout keeps its clock; ABS comes with the update. */
	ret = arm_locked(req, deadline_of(&tr->ts, timeout_of(req)->flags,
					  tr->flags & IORING_TIMEOUT_ABS));
	ua_timer_unlock();
	return ret;
}

int ua_timeout_remove(struct ua_req *req, unsigned issue_flags)
{
	struct ua_timeout_rem *tr = timeout_rem_of(req);
	struct ua_ctx *ctx = req->ctx;
	int ret;

	(void) issue_flags;
	if (tr->flags & IORING_TIMEOUT_UPDATE) {
		ret = timeout_update(ctx, tr);
	} else {
		struct ua_cancel_data cd = { .data = tr->addr };
		struct ua_req_list l;

		ua_list_init(&l);
		ret = ua_timeout_cancel(ctx, &cd, &l) ? 0 : -ENOENT;
		ua_issue_up->complete_list(ctx, &l, -ECANCELED);
	}
	req->res = ret;
	req->failed = ret < 0;
	return UA_DONE;
}
