/* SPDX-License-Identifier: MIT */
/*
 * The posters' side of the wait handshake (wait.c has the waiters'): a
 * poster publishes the CQ tail, fences, and wakes whoever it sees
 * counted among the waiters, on the futex or in the ring's epoll
 * instance. Any thread that posts a CQE runs it, so it sits with the CQ,
 * below everything that completes requests.
 */
#include <limits.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "liburing/barrier.h"
#include "engine/poll.h"
#include "engine/ring.h"
#include "engine/wake.h"

void ua_wake_epoll_waiters(struct ua_poller *p)
{
	__u64 one = 1;

	/* Only a thread sleeping in the ring's instance is woken here, and
	 * the instance was made, with wake_fd, before it went to sleep. */
	if (write(__atomic_load_n(&p->wake_fd, __ATOMIC_ACQUIRE), &one,
		  sizeof(one)) < 0)
		abort();	/* an eventfd far from overflow takes any write */
}

/* Called by posters after their full fence (ua_cq_wake). */
void ua_poll_wake_cq_waiters(struct ua_ctx *ctx)
{
	if (__atomic_load_n(&ctx->poller.epoll_waiters, __ATOMIC_RELAXED))
		ua_wake_epoll_waiters(&ctx->poller);
}

void ua_cq_wake(struct ua_ctx *ctx)
{
	/* Full fence: the tail store before it, the waiters load after it. */
	io_uring_smp_mb();
	ua_ring_fd_signal(ctx);
	ua_poll_wake_cq_waiters(ctx);
	if (!__atomic_load_n(&ctx->cq_waiters, __ATOMIC_RELAXED))
		return;
	__atomic_fetch_add(&ctx->cq_seq, 1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &ctx->cq_seq, FUTEX_WAKE | FUTEX_PRIVATE_FLAG,
		INT_MAX, NULL, NULL, 0);
}
