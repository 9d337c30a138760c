/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_IOWQ_H
#define UA_ENGINE_IOWQ_H

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include "engine/timer.h"

struct ua_ctx;
struct ua_req;

struct ua_worker;

struct ua_wq_class {
	struct ua_req	*head, *tail;
	unsigned	nr_workers;	/* the process's workers serving it */
	unsigned	max_workers;
};

/* A ring's part of the process's worker pool (iowq.c). */
struct ua_iowq {
	pthread_mutex_t		lock;
	pthread_cond_t		left;		/* a worker left the ring */
	struct ua_wq_class	cls[2];		/* IO_WQ_BOUND, IO_WQ_UNBOUND */
	struct ua_worker	*workers;	/* the workers serving the ring */
	bool			exiting;
	/* Re-sends of the interrupt to cancelled workers, from the timer;
	 * the pauses are under the timer's lock. */
	struct ua_timer_node	resend;
	long			resend_pause, resend_waited;
	/* IORING_REGISTER_IOWQ_AFF: the CPUs of the workers while they
	 * serve the ring; aff_gen 0: none registered. */
	cpu_set_t		aff;
	unsigned		aff_gen;
};

/* iowq.c: the worker pool */
int ua_iowq_init(struct ua_iowq *wq, unsigned sq_entries);
void ua_iowq_enqueue(struct ua_ctx *ctx, struct ua_req *req);
void ua_iowq_shutdown(struct ua_ctx *ctx);
int ua_iowq_max_workers(struct ua_iowq *wq, unsigned counts[2]);
/* IORING_(UN)REGISTER_IOWQ_AFF: mask NULL gives the workers their own. */
void ua_iowq_set_affinity(struct ua_iowq *wq, const cpu_set_t *mask);
int ua_iowq_wait_ready(struct ua_ctx *ctx, int fd, short events);
bool ua_iowq_cancelled_in_hand(const struct ua_req *req);
void ua_iowq_atfork_child(void);

#endif
