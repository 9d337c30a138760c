/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_POLL_H
#define UA_ENGINE_POLL_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include "liburing/io_uring.h"
#include "engine/timer.h"

struct ua_ctx;
struct ua_req;
struct ua_pollfd;

#define UA_POLL_HASH	256

/*
 * The readiness engine of a ring (poll.c): one epoll instance and, per
 * descriptor number, the list of requests waiting on it (epoll takes one
 * registration per descriptor, the kernel any number of poll requests).
 */
struct ua_poller {
	pthread_mutex_t		lock;
	int			epfd;
	int			wake_fd;	/* eventfd: wakes epoll waiters */
	struct ua_pollfd	**by_fd;
	unsigned		nr_by_fd;
	struct ua_req		*hash[UA_POLL_HASH];
	unsigned		nr_parked;	/* atomic */
	unsigned		epoll_waiters;	/* atomic: CQ waiters in epoll */
	unsigned		app_waiting;	/* atomic: app threads waiting */
	unsigned		app_wait_gen;	/* atomic: waits begun */
	/* The process's poller thread (poll.c) serving this ring. */
	__u64			hub_key;	/* its entry in the poller's epoll */
	bool			attached;	/* under lock: served by it */
	unsigned		seen_gen;	/* atomic: app_wait_gen it saw */
	long			standby_nap;	/* atomic */
	struct ua_timer_node	standby;	/* when to look again */
	bool			exiting;	/* atomic */
	bool			ready;		/* ua_poller_init succeeded */
};

/* poll.c: the readiness engine */
int ua_poller_init(struct ua_ctx *ctx);
int ua_poller_epfd(struct ua_ctx *ctx);
void ua_poller_shutdown(struct ua_ctx *ctx);
void ua_poller_free(struct ua_ctx *ctx);
void ua_poller_atfork_child(void);
void ua_poller_cancel_all(struct ua_ctx *ctx);
#define UA_POLL_OP	(1u << 0)	/* a POLL_ADD: report, do not issue */
#define UA_POLL_MULTI	(1u << 1)	/* POLL_ADD_MULTI */
#define UA_POLL_READY	(1u << 2)	/* ready now: have epoll report it */
bool ua_poll_arm(struct ua_req *req, __u32 events, unsigned flags);
void ua_poll_unlink(struct ua_req *req);
void ua_poll_wait_begin(struct ua_ctx *ctx);
void ua_poll_wait_end(struct ua_ctx *ctx);
bool ua_poll_dispatch(struct ua_ctx *ctx, const struct epoll_event *ev, int n);
bool ua_poll_waits_here(struct ua_ctx *ctx);
int ua_poll_run_ready(struct ua_ctx *ctx);
bool ua_ctx_polls_inline(const struct ua_ctx *ctx);
int ua_poll_disarm(struct ua_ctx *ctx, __u64 user_data, struct ua_req **out);
bool ua_poll_cancel_requested(const struct ua_req *req);
void ua_poll_complete_owned(struct ua_req *req, int res);
__u32 ua_poll_events_now(int fd, __u32 events, int *err);

#endif
