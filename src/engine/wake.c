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
#include "engine/sys.h"
#include "engine/wake.h"

void ua_wake_epoll_waiters(struct ua_poller *p)
{
	/* Only a thread sleeping in the ring's instance is woken here, and
	 * the instance was made, with wake_fd, before it went to sleep. */
	if (ua_sys_eventfd_signal(__atomic_load_n(&p->wake_fd,
						  __ATOMIC_ACQUIRE)) < 0)
		abort();	/* an eventfd far from overflow takes any write */
}

/* Called by posters after their full fence (ua_cq_wake). */
void ua_poll_wake_cq_waiters(struct ua_ctx *ctx)
{
	if (__atomic_load_n(&ctx->poller.epoll_waiters, __ATOMIC_RELAXED))
		ua_wake_epoll_waiters(&ctx->poller);
}

/*
 * A thread that runs many completions in one stretch (the readiness
 * events of one epoll_wait) wakes the CQ's waiters once, at its end, as
 * the kernel wakes them once per batch of task work it ran: a multishot
 * receive's CQEs then cost no fence each. Only for the ring it runs: a
 * CQE it posts to another ring wakes that one's waiters at once.
 */
static __thread struct ua_ctx *wakes_held
	__attribute__((tls_model("initial-exec")));
static __thread bool wake_owed __attribute__((tls_model("initial-exec")));

bool ua_cq_hold_wakes(struct ua_ctx *ctx)
{
	if (wakes_held)
		return false;
	wakes_held = ctx;
	return true;
}

void ua_cq_release_wakes(struct ua_ctx *ctx)
{
	wakes_held = NULL;
	if (wake_owed) {
		wake_owed = false;
		ua_cq_wake(ctx);
	}
}

void ua_cq_wake(struct ua_ctx *ctx)
{
	if (wakes_held == ctx) {
		wake_owed = true;
		return;
	}
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
