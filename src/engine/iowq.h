/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_IOWQ_H
#define UA_ENGINE_IOWQ_H

#include <pthread.h>
#include <stdbool.h>

struct ua_ctx;
struct ua_req;

struct ua_worker;

struct ua_wq_class {
	struct ua_req	*head, *tail;
	unsigned	nr_workers;
	unsigned	nr_idle;
	unsigned	max_workers;
	pthread_cond_t	more_work;
};

struct ua_iowq {
	pthread_mutex_t		lock;
	struct ua_wq_class	cls[2];		/* IO_WQ_BOUND, IO_WQ_UNBOUND */
	struct ua_worker	*workers;	/* every thread not yet joined */
	int			cancel_fd;	/* eventfd: wakes workers in poll() */
	bool			exiting;
};

/* iowq.c: the worker pool */
int ua_iowq_init(struct ua_iowq *wq, unsigned sq_entries);
void ua_iowq_enqueue(struct ua_ctx *ctx, struct ua_req *req);
void ua_iowq_shutdown(struct ua_ctx *ctx);
int ua_iowq_max_workers(struct ua_iowq *wq, unsigned counts[2]);
int ua_iowq_wait_ready(struct ua_ctx *ctx, int fd, short events);

#endif
