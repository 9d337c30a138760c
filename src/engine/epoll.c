/* SPDX-License-Identifier: MIT */
/*
 * EPOLL_WAIT: the ready events of an application's epoll instance, as many
 * as maxevents. An epoll descriptor polls like any other, so a wait that
 * finds nothing is parked on its readiness (POLLIN), on no thread, and run
 * again when an event arrives: the kernel's io_uring arms its poll the
 * same way. The events are written by the call, as the kernel writes them.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/epoll.h>
#include "engine/epoll.h"
#include "engine/req.h"

struct ua_epoll_wait {
	__u64	events;		/* the application's struct epoll_event[] */
	int	maxevents;
};
#define epoll_wait_of(req)	ua_cmd(req, struct ua_epoll_wait)

int ua_epoll_wait_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	epoll_wait_of(req)->events = sqe->addr;
	epoll_wait_of(req)->maxevents = (int) sqe->len;
	return 0;
}

/* Never blocks: a timeout of 0, whoever issues it. */
int ua_epoll_wait(struct ua_req *req, unsigned issue_flags)
{
	struct ua_epoll_wait *w = epoll_wait_of(req);
	int n = epoll_wait(req->fd, (struct epoll_event *) (uintptr_t) w->events,
			   w->maxevents, 0);

	(void) issue_flags;
	if (!n) {
		req->file_kind = UA_FILE_STREAM;
		return UA_AGAIN;
	}
	req->res = n < 0 ? -errno : n;
	req->failed = n < 0;
	return UA_DONE;
}
