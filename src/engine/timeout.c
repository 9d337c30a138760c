/* SPDX-License-Identifier: MIT */
/*
 * The ring's timer, and TIMEOUT, TIMEOUT_REMOVE (with its update forms) and
 * LINK_TIMEOUT.
 *
 * One thread per ring, started by the first armed timeout, sleeps on a
 * condition variable (CLOCK_MONOTONIC) until the earliest deadline of a
 * min-heap; arming an earlier deadline wakes it. It opens no descriptor, and
 * a ring that never arms a timeout never starts it: the hot path pays one
 * relaxed load (timer.nr_seq, for completion-count timeouts) per batch.
 *
 * Every deadline is kept in CLOCK_MONOTONIC nanoseconds. A relative timeout
 * on any clock runs from now; an absolute BOOTTIME or REALTIME one is
 * converted when armed, so a later jump of that clock is not followed.
 *
 * A TIMEOUT with a count (sqe->off) also completes, with 0, once that many
 * CQEs were posted after it was armed, not counting expired timeouts' own
 * CQEs (the kernel's cached_cq_tail - cq_timeouts): every poster checks
 * after a batch while such a timeout is armed.
 *
 * Ownership: an armed timeout is in the heap and in timer.armed, both under
 * timer.lock; whoever takes it out under the lock (expiry, count, removal,
 * cancellation, teardown) completes it, after dropping the lock.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include "engine/ctx.h"
#include "engine/uaccess.h"
#include "engine/opdef.h"

#define NSEC_PER_SEC	1000000000ull
#define HEAP_NONE	(~0u)

static __u64 clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (__u64) ts.tv_sec * NSEC_PER_SEC + (__u64) ts.tv_nsec;
}

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
	__u64 now = clock_ns(CLOCK_MONOTONIC), t = ts_ns(ts), then;
	clockid_t clock = timeout_clock(flags);

	if (!abs)
		return now + t;
	if (clock == CLOCK_MONOTONIC)
		return t;
	then = clock_ns(clock);
	return t > then ? now + (t - then) : now;
}

/* The min-heap of armed deadlines. Called with timer.lock held. */

static void heap_set(struct ua_timer *t, unsigned i, struct ua_req *req)
{
	t->heap[i] = req;
	req->timeout.heap_idx = i;
}

static void sift_up(struct ua_timer *t, unsigned i)
{
	struct ua_req *req = t->heap[i];

	while (i) {
		unsigned parent = (i - 1) / 2;

		if (t->heap[parent]->timeout.deadline <= req->timeout.deadline)
			break;
		heap_set(t, i, t->heap[parent]);
		i = parent;
	}
	heap_set(t, i, req);
}

static void sift_down(struct ua_timer *t, unsigned i)
{
	struct ua_req *req = t->heap[i];

	for (;;) {
		unsigned c = 2 * i + 1;

		if (c >= t->nr)
			break;
		if (c + 1 < t->nr &&
		    t->heap[c + 1]->timeout.deadline < t->heap[c]->timeout.deadline)
			c++;
		if (req->timeout.deadline <= t->heap[c]->timeout.deadline)
			break;
		heap_set(t, i, t->heap[c]);
		i = c;
	}
	heap_set(t, i, req);
}

static int heap_push(struct ua_timer *t, struct ua_req *req)
{
	if (t->nr == t->cap) {
		unsigned cap = t->cap ? 2 * t->cap : 16;
		struct ua_req **heap = realloc(t->heap, cap * sizeof(*heap));

		if (!heap)
			return -ENOMEM;
		t->heap = heap;
		t->cap = cap;
	}
	heap_set(t, t->nr++, req);
	sift_up(t, t->nr - 1);
	return 0;
}

static void heap_remove(struct ua_timer *t, struct ua_req *req)
{
	unsigned i = req->timeout.heap_idx;
	struct ua_req *moved;

	req->timeout.heap_idx = HEAP_NONE;
	if (--t->nr == i)
		return;
	/* The last entry fills the hole and moves whichever way it must. */
	moved = t->heap[t->nr];
	heap_set(t, i, moved);
	sift_down(t, i);
	sift_up(t, moved->timeout.heap_idx);
}

/* timer.armed, a doubly linked list. */

static void armed_add(struct ua_timer *t, struct ua_req *req)
{
	req->timeout.prev = NULL;
	req->timeout.next = t->armed;
	if (t->armed)
		t->armed->timeout.prev = req;
	t->armed = req;
	req->timeout.armed = true;
}

static void armed_del(struct ua_timer *t, struct ua_req *req)
{
	if (req->timeout.prev)
		req->timeout.prev->timeout.next = req->timeout.next;
	else
		t->armed = req->timeout.next;
	if (req->timeout.next)
		req->timeout.next->timeout.prev = req->timeout.prev;
	req->timeout.armed = false;
}

static bool has_count(const struct ua_req *req)
{
	return req->opcode == IORING_OP_TIMEOUT && req->timeout.off &&
	       !(req->timeout.flags & IORING_TIMEOUT_MULTISHOT);
}

/* Takes an armed timeout out of the heap and the list; timer.lock held. */
static void disarm_locked(struct ua_timer *t, struct ua_req *req)
{
	heap_remove(t, req);
	armed_del(t, req);
	if (has_count(req))
		__atomic_store_n(&t->nr_seq, t->nr_seq - 1, __ATOMIC_RELAXED);
}

static void *timer_main(void *arg);

/* Starts the thread on first use; timer.lock held. */
static int timer_start(struct ua_ctx *ctx)
{
	sigset_t all, saved;
	int ret;

	if (ctx->timer.started)
		return 0;
	/* The thread inherits this mask: signals stay the application's. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	ret = pthread_create(&ctx->timer.thread, NULL, timer_main, ctx);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (ret)
		return -ret;
	ctx->timer.started = true;
	return 0;
}

/* Puts req in the heap with deadline; timer.lock held. */
static int arm_locked(struct ua_ctx *ctx, struct ua_req *req, __u64 deadline)
{
	struct ua_timer *t = &ctx->timer;
	int ret;

	if (t->stopping)
		return -ECANCELED;
	req->timeout.deadline = deadline;
	ret = timer_start(ctx);
	if (!ret)
		ret = heap_push(t, req);
	if (ret)
		return ret;
	armed_add(t, req);
	if (has_count(req))
		__atomic_store_n(&t->nr_seq, t->nr_seq + 1, __ATOMIC_RELAXED);
	/* A new earliest deadline: the sleeping thread must wait less. */
	if (t->heap[0] == req)
		pthread_cond_signal(&t->cond);
	return 0;
}

static bool multishot_goes_on(struct ua_req *req)
{
	struct ua_timeout *to = &req->timeout;

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
	struct ua_req *req = lt->timeout.head;
	struct ua_cancel_data cd = { .req = req };
	int ret = -ETIME;

	lt->timeout.head = NULL;
	if (req) {
		req->link = lt->link;
		lt->link = NULL;
		__atomic_add_fetch(&req->refs, 1, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&ctx->timer.lock);
	if (req) {
		ret = ua_cancel(ctx, &cd);
		if (!ret)
			ret = -ETIME;
		if (ua_req_put(req))
			ua_req_free_remote(ctx, req);
	}
	lt->res = ret;
	lt->failed = false;
	ua_complete_remote(lt);
	pthread_mutex_lock(&ctx->timer.lock);
}

/* The earliest timeout expired; timer.lock held (dropped and retaken). */
static void fire(struct ua_ctx *ctx, struct ua_req *req)
{
	struct ua_timer *t = &ctx->timer;

	disarm_locked(t, req);
	if (req->opcode == IORING_OP_LINK_TIMEOUT) {
		link_timeout_fire(ctx, req);
		return;
	}
	/* An expired timeout's CQE does not count for count timeouts. */
	t->cq_timeouts++;
	/* Posted under timer.lock, so a removal racing with it can only post
	 * its final CQE after this one; a full CQ makes this one the last. */
	if (multishot_goes_on(req) &&
	    ua_post_cqe_more(ctx, req->user_data, -ETIME, 0)) {
		arm_locked(ctx, req, clock_ns(CLOCK_MONOTONIC) +
				     ts_ns(&req->timeout.ts));
		return;
	}
	req->res = -ETIME;
	req->failed = !(req->timeout.flags & IORING_TIMEOUT_ETIME_SUCCESS);
	pthread_mutex_unlock(&t->lock);
	ua_complete_remote(req);
	pthread_mutex_lock(&t->lock);
}

static void timespec_of(__u64 ns, struct timespec *ts)
{
	ts->tv_sec = (time_t) (ns / NSEC_PER_SEC);
	ts->tv_nsec = (long) (ns % NSEC_PER_SEC);
}

static void *timer_main(void *arg)
{
	struct ua_ctx *ctx = arg;
	struct ua_timer *t = &ctx->timer;
	struct timespec until;

	/* The default 50 µs slack would eat a quarter of the accuracy goal. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	pthread_mutex_lock(&t->lock);
	while (!t->stopping) {
		struct ua_req *first = t->nr ? t->heap[0] : NULL;

		if (!first) {
			pthread_cond_wait(&t->cond, &t->lock);
		} else if (first->timeout.deadline <= clock_ns(CLOCK_MONOTONIC)) {
			fire(ctx, first);
		} else {
			timespec_of(first->timeout.deadline, &until);
			pthread_cond_timedwait(&t->cond, &t->lock, &until);
		}
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

void ua_timer_init(struct ua_timer *t)
{
	pthread_condattr_t attr;

	pthread_mutex_init(&t->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cond, &attr);
	pthread_condattr_destroy(&attr);
}

/*
 * Teardown: no timeout can be armed any more; those armed are cancelled
 * and the thread is joined, so it touches nothing of the ring afterwards.
 */
void ua_timer_stop(struct ua_ctx *ctx)
{
	struct ua_timer *t = &ctx->timer;
	struct ua_req_list l;
	struct ua_req *req;

	ua_list_init(&l);
	pthread_mutex_lock(&t->lock);
	t->stopping = true;
	pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&t->lock);
	if (t->started)
		pthread_join(t->thread, NULL);
	pthread_mutex_lock(&t->lock);
	while ((req = t->armed)) {
		disarm_locked(t, req);
		if (req->opcode == IORING_OP_LINK_TIMEOUT) {
			/* Its request completes on its own and cancels it. */
			req->timeout.head->link = req->link;
			req->link = NULL;
			req->timeout.head = NULL;
		}
		ua_list_add(&l, req);
	}
	pthread_mutex_unlock(&t->lock);
	ua_complete_list(ctx, &l, -ECANCELED);
}

void ua_timer_destroy(struct ua_timer *t)
{
	free(t->heap);
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->lock);
}

/* TIMEOUT and LINK_TIMEOUT */

static int timeout_prep(struct ua_req *req, const struct io_uring_sqe *sqe,
			bool link)
{
	struct ua_timeout *to = &req->timeout;
	__u32 flags = sqe->timeout_flags;
	__u32 off = (__u32) sqe->off;

	if (sqe->buf_index || sqe->len != 1 || sqe->splice_fd_in)
		return -EINVAL;
	if (off && link)
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
	to->heap_idx = HEAP_NONE;
	to->armed = false;
	to->head = NULL;
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
	struct ua_timeout *to = &req->timeout;
	struct ua_timer *t = &ctx->timer;
	int ret;

	(void) issue_flags;
	pthread_mutex_lock(&t->lock);
	if (has_count(req))
		to->target_seq = __atomic_load_n(&ctx->cq_events, __ATOMIC_RELAXED) -
				 t->cq_timeouts + to->off;
	ret = arm_locked(ctx, req, deadline_of(&to->ts, to->flags,
					       to->flags & IORING_TIMEOUT_ABS));
	pthread_mutex_unlock(&t->lock);
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
 * Arms lt for req, which has just left the issuing thread: unless req
 * completed meanwhile (lt is then no longer its link). The caller holds a
 * reference on req, so req is still there to look at.
 */
void ua_link_timeout_arm(struct ua_req *req, struct ua_req *lt)
{
	struct ua_ctx *ctx = req->ctx;
	const struct ua_timeout *to = &lt->timeout;

	/* Not armed (teardown, no memory): the request completes unguarded,
	 * and its completion cancels lt. */
	pthread_mutex_lock(&ctx->timer.lock);
	if (req->link == lt)
		arm_locked(ctx, lt, deadline_of(&to->ts, to->flags,
						to->flags & IORING_TIMEOUT_ABS));
	pthread_mutex_unlock(&ctx->timer.lock);
}

/*
 * req completed: if a LINK_TIMEOUT follows it and has not expired, take it
 * out of the chain and return it, for the caller to complete with
 * -ECANCELED. One that failed its own checks stays, to fail with the chain.
 */
struct ua_req *ua_link_timeout_disarm(struct ua_req *req)
{
	struct ua_ctx *ctx = req->ctx;
	/* Only a guarded request's link can change under it (timer.lock). */
	bool armed = req->state & UA_REQ_REFCOUNTED;
	struct ua_req *lt;

	if (armed)
		pthread_mutex_lock(&ctx->timer.lock);
	lt = req->link;
	if (lt && lt->opcode == IORING_OP_LINK_TIMEOUT &&
	    !(lt->state & UA_REQ_COMPLETE_NOW)) {
		if (lt->timeout.armed)
			disarm_locked(&ctx->timer, lt);
		lt->timeout.head = NULL;
		req->link = lt->link;
		lt->link = NULL;
	} else {
		lt = NULL;
	}
	if (armed)
		pthread_mutex_unlock(&ctx->timer.lock);
	return lt;
}

/* Completion-count timeouts whose count was reached complete with 0. */
void ua_timeout_flush_seq(struct ua_ctx *ctx, struct ua_completion_batch *b)
{
	struct ua_timer *t = &ctx->timer;
	struct ua_req *req, *next;
	struct ua_req_list l;
	__u32 seq;

	ua_list_init(&l);
	pthread_mutex_lock(&t->lock);
	seq = __atomic_load_n(&ctx->cq_events, __ATOMIC_RELAXED) - t->cq_timeouts;
	for (req = t->armed; req; req = next) {
		next = req->timeout.next;
		if (!has_count(req) || (__s32) (seq - req->timeout.target_seq) < 0)
			continue;
		disarm_locked(t, req);
		t->cq_timeouts++;
		ua_list_add(&l, req);
	}
	pthread_mutex_unlock(&t->lock);
	while ((req = ua_list_pop(&l))) {
		req->res = 0;
		req->failed = false;
		ua_batch_add(ctx, b, req);
	}
}

/* Cancellation of armed TIMEOUTs (not link timeouts, not by descriptor). */
int ua_timeout_cancel(struct ua_ctx *ctx, const struct ua_cancel_data *cd,
		      struct ua_req_list *out)
{
	struct ua_timer *t = &ctx->timer;
	struct ua_req *req, *next;
	int nr = 0;

	if (cd->flags & IORING_ASYNC_CANCEL_FD)
		return 0;
	pthread_mutex_lock(&t->lock);
	for (req = t->armed; req; req = next) {
		next = req->timeout.next;
		if (req->opcode != IORING_OP_TIMEOUT || !ua_cancel_match(req, cd))
			continue;
		disarm_locked(t, req);
		ua_list_add(out, req);
		nr++;
		if (!ua_cancel_all(cd))
			break;
	}
	pthread_mutex_unlock(&t->lock);
	return nr;
}

/* TIMEOUT_REMOVE */

int ua_timeout_remove_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	struct ua_timeout_rem *tr = &req->timeout_rem;

	if (req->sqe_flags & IOSQE_FIXED_FILE)
		return -EINVAL;
	if (sqe->buf_index || sqe->len || sqe->splice_fd_in)
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

static struct ua_req *find_armed(struct ua_timer *t, __u8 opcode, __u64 data)
{
	struct ua_req *req;

	for (req = t->armed; req; req = req->timeout.next)
		if (req->opcode == opcode && req->user_data == data)
			return req;
	return NULL;
}

/* New expiry for an armed timeout; an updated TIMEOUT loses its count. */
static int timeout_update(struct ua_ctx *ctx, const struct ua_timeout_rem *tr)
{
	__u8 opcode = (tr->flags & IORING_LINK_TIMEOUT_UPDATE) ?
		      IORING_OP_LINK_TIMEOUT : IORING_OP_TIMEOUT;
	struct ua_timer *t = &ctx->timer;
	struct ua_req *req;
	int ret;

	pthread_mutex_lock(&t->lock);
	req = find_armed(t, opcode, tr->addr);
	if (!req) {
		pthread_mutex_unlock(&t->lock);
		return -ENOENT;
	}
	disarm_locked(t, req);
	req->timeout.ts = tr->ts;
	if (opcode == IORING_OP_TIMEOUT)
		req->timeout.off = 0;
	/* The timeout keeps its clock; ABS comes with the update. */
	ret = arm_locked(ctx, req, deadline_of(&tr->ts, req->timeout.flags,
					       tr->flags & IORING_TIMEOUT_ABS));
	pthread_mutex_unlock(&t->lock);
	return ret;
}

int ua_timeout_remove(struct ua_req *req, unsigned issue_flags)
{
	struct ua_timeout_rem *tr = &req->timeout_rem;
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
		ua_complete_list(ctx, &l, -ECANCELED);
	}
	req->res = ret;
	req->failed = ret < 0;
	return UA_DONE;
}
