/* SPDX-License-Identifier: MIT */
/*
 * POLL_ADD and POLL_REMOVE (which also updates a poll's events and
 * user_data). The waiting itself is poll.c's; the checks and results here
 * are the kernel's: a one-shot poll that is ready completes at once with
 * the mask, a multishot poll posts one CQE with IORING_CQE_F_MORE per
 * wakeup, and the mask always includes POLLERR, POLLHUP and POLLRDHUP when
 * they hold, asked for or not.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include "engine/poll.h"
#include "engine/poll_op.h"
#include "engine/req.h"
#include "engine/uaccess.h"

/* POLL_REMOVE, with or without an update of the poll it finds. */
struct ua_poll_update {
	__u64	old_user_data;
	__u64	new_user_data;
	__u32	events;
	bool	update_events;
	bool	update_user_data;
};
#define poll_update_of(req)	ua_cmd(req, struct ua_poll_update)

/* EPOLL_CTL: the event is copied at submission, as the kernel does. */
struct ua_epoll_ctl {
	int			epfd, op, fd;
	struct epoll_event	ev;
};
#define epoll_ctl_of(req)	ua_cmd(req, struct ua_epoll_ctl)

int ua_poll_add_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	__u32 flags = sqe->len;

	/* IORING_POLL_ADD_LEVEL included: the kernel refuses it here. */
	if (flags & ~IORING_POLL_ADD_MULTI)
		return -EINVAL;
	if ((flags & IORING_POLL_ADD_MULTI) &&
	    (req->sqe_flags & IOSQE_CQE_SKIP_SUCCESS))
		return -EINVAL;
	req->poll.events = sqe->poll32_events & 0xffff;
	req->poll.multishot = flags & IORING_POLL_ADD_MULTI;
	return 0;
}

int ua_poll_add(struct ua_req *req, unsigned issue_flags)
{
	unsigned flags = UA_POLL_OP | (req->poll.multishot ? UA_POLL_MULTI : 0);
	__u32 events = req->poll.events, mask;
	int err;

	(void) issue_flags;
	/* A multishot poll learns the first readiness from the arming, so
	 * that it is reported once. */
	if (!req->poll.multishot) {
		mask = ua_poll_events_now(req->fd, events | POLLRDHUP, &err);
		if (err || mask) {
			req->res = err ? err : (__s32) mask;
			req->failed = err;
			return UA_DONE;
		}
	}
	if (ua_poll_arm(req, events, flags))
		return UA_PARKED;
	/* epoll cannot watch this file: poll() found it ready (the default
	 * mask) or it never will be, as the kernel finds it. */
	mask = ua_poll_events_now(req->fd, events | POLLRDHUP, &err);
	req->res = err ? err : mask ? (__s32) mask : -EINVAL;
	req->failed = req->res < 0;
	return UA_DONE;
}

int ua_poll_remove_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	struct ua_poll_update *upd = poll_update_of(req);
	__u32 flags = sqe->len;

	if (flags & ~(IORING_POLL_UPDATE_EVENTS | IORING_POLL_UPDATE_USER_DATA |
		      IORING_POLL_ADD_MULTI))
		return -EINVAL;
	if (flags == IORING_POLL_ADD_MULTI)
		return -EINVAL;		/* meaningless without an update */
	upd->old_user_data = sqe->addr;
	upd->update_events = flags & IORING_POLL_UPDATE_EVENTS;
	upd->update_user_data = flags & IORING_POLL_UPDATE_USER_DATA;
	upd->new_user_data = sqe->off;
	if (!upd->update_user_data && upd->new_user_data)
		return -EINVAL;
	if (upd->update_events)
		upd->events = sqe->poll32_events & 0xffff;
	else if (sqe->poll32_events)
		return -EINVAL;
	return 0;
}

int ua_poll_remove(struct ua_req *req, unsigned issue_flags)
{
	struct ua_poll_update *upd = poll_update_of(req);
	struct ua_req *preq;
	int ret;

	(void) issue_flags;
	ret = ua_poll_disarm(req->ctx, upd->old_user_data, &preq);
	if (!ret && (upd->update_events || upd->update_user_data)) {
		unsigned flags = UA_POLL_OP |
				 (preq->poll.multishot ? UA_POLL_MULTI : 0);
		__u32 events = preq->poll.events;

		if (upd->update_events)
			events = upd->events;
		if (upd->update_user_data)
			preq->user_data = upd->new_user_data;
		if (!ua_poll_arm(preq, events, flags))
			ua_poll_complete_owned(preq, -ECANCELED);
	} else if (!ret) {
		ua_poll_complete_owned(preq, -ECANCELED);
	}
	req->res = ret;
	req->failed = ret < 0;
	return UA_DONE;
}

/* EPOLL_CTL on an epoll instance of the application's. */
int ua_epoll_ctl_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	struct ua_epoll_ctl *e = epoll_ctl_of(req);

	e->epfd = sqe->fd;
	e->op = (int) sqe->len;
	e->fd = (int) sqe->off;
	if (e->op != EPOLL_CTL_DEL &&
	    ua_copy_from_user(&e->ev, sqe->addr, sizeof(e->ev)))
		return -EFAULT;
	return 0;
}

int ua_epoll_ctl(struct ua_req *req, unsigned issue_flags)
{
	struct ua_epoll_ctl *e = epoll_ctl_of(req);
	int ret = epoll_ctl(e->epfd, e->op, e->fd, &e->ev);

	(void) issue_flags;
	req->res = ret < 0 ? -errno : 0;
	req->failed = ret < 0;
	return UA_DONE;
}
