/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_TIMER_H
#define UA_ENGINE_TIMER_H

#include <stdbool.h>
#include <time.h>
#include "liburing/io_uring.h"

struct ua_ctx;
struct ua_req;
struct ua_req_list;
struct ua_completion_batch;

/* A deadline in the process's timer (timer.c), under its lock. */
struct ua_timer_node {
	struct ua_timer_node	*prev, *next;	/* the ring's armed list */
	struct ua_ctx		*ctx;
	/* Runs on the timer's thread, the lock held; may drop it. */
	void			(*expire)(struct ua_timer_node *node);
	__u64			deadline;	/* CLOCK_MONOTONIC ns, while armed */
	unsigned		heap_idx;
	bool			armed;
	bool			service;	/* a service's, not a request's */
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
int ua_timer_arm_service_locked(struct ua_ctx *ctx, struct ua_timer_node *node,
				__u64 deadline);
void ua_timer_stop_locked(struct ua_ctx *ctx);
void ua_timer_atfork_child(void);

/*
 * The issue layer's entries for the services' threads (the workers, the
 * poller), as io-wq is given do_work and io_uring's task_work its
 * callbacks: submit.c registers them (ua_issue_register, at ring setup)
 * and the services call up only through them, so no service depends on
 * the issue layer it serves. So do the operations that complete requests
 * other than their own (ASYNC_CANCEL, TIMEOUT_REMOVE, and a timeout's
 * expiry or teardown, which the timer runs): what they detach may release
 * a chain, and only the issue layer may issue it.
 */
struct ua_issue_ops {
	void	(*issue_work)(struct ua_req *req);
	int	(*issue_polled)(struct ua_req *req, unsigned issue_flags);
	void	(*run_begin)(struct ua_ctx *ctx, struct ua_completion_batch *b);
	void	(*run_end)(struct ua_ctx *ctx, struct ua_completion_batch *b);
	void	(*complete_remote)(struct ua_req *req);
	void	(*complete_list)(struct ua_ctx *ctx, struct ua_req_list *l,
				 int res);
};

/* timer.c, the services' base: where the issue layer's entries are kept. */
extern const struct ua_issue_ops *ua_issue_up;
void ua_services_register(const struct ua_issue_ops *ops);

#endif
