/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_TIMER_H
#define UA_ENGINE_TIMER_H

#include <stdbool.h>
#include <time.h>
#include "liburing/io_uring.h"

struct ua_ctx;

/* A deadline in the process's timer (timer.c), under its lock. */
struct ua_timer_node {
	struct ua_timer_node	*prev, *next;	/* the ring's armed list */
	struct ua_ctx		*ctx;
	/* Runs on the timer's thread, the lock held; may drop it. */
	void			(*expire)(struct ua_timer_node *node);
	__u64			deadline;	/* CLOCK_MONOTONIC ns, while armed */
	unsigned		heap_idx;
	bool			armed;
};

/*
 * A ring's part of the process's timer (timer.c), under the timer's lock.
 * Nothing of it runs, and nothing is checked on the hot path, until the
 * ring arms a deadline.
 */
struct ua_ring_timer {
	struct ua_timer_node	*armed;		/* every armed node, any order */
	unsigned		nr_seq;		/* armed TIMEOUTs with a count */
	unsigned		cq_timeouts;	/* CQEs of expired timeouts */
	bool			attached;	/* counted among the thread's users */
	bool			stopping;	/* teardown: arm nothing more */
};

/* timer.c: the process's timer, one thread for every ring's deadlines */
void ua_timer_lock(void);
void ua_timer_unlock(void);
/* The timer's lock is the calling thread's (ua_lock_assert_held()). */
#ifdef UA_DEBUG_LOCKS
void ua_timer_assert_held(void);
#else
#define ua_timer_assert_held()	((void) 0)
#endif
__u64 ua_clock_ns(clockid_t clock);
int ua_timer_arm_locked(struct ua_ctx *ctx, struct ua_timer_node *node,
			__u64 deadline);
void ua_timer_disarm_locked(struct ua_timer_node *node);
void ua_timer_stop_locked(struct ua_ctx *ctx);
void ua_timer_atfork_child(void);

#endif
