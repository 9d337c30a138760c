/* SPDX-License-Identifier: MIT */
/*
 * SPLICE and TEE. The kernel always runs them in io-wq, and so do we: a
 * worker calls splice()/tee() with SPLICE_F_NONBLOCK and, while that says
 * -EAGAIN, waits in poll() for both ends to be ready, where cancellation and
 * teardown can interrupt it. The result is one call's count, as the kernel's.
 * As the kernel's splice, it never waits for an end whose file is
 * O_NONBLOCK: that end's -EAGAIN is the result.
 *
 * An -EAGAIN with both ends ready has nothing poll() can wait for (a TCP
 * socket whose next byte is urgent data reports data it will not splice),
 * so trying again would spin: the worker then makes the kernel's own call,
 * without SPLICE_F_NONBLOCK, which gives an O_NONBLOCK end's -EAGAIN or
 * blocks where the kernel's would, interruptibly (iowq.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include "engine/filetable.h"
#include "engine/iowq.h"
#include "engine/req.h"
#include "engine/ring.h"
#include "engine/splice.h"

/* SPLICE and TEE. */
struct ua_splice {
	int			fd_in;
	__s64			off_in, off_out;	/* -1: none */
	__u32			len;
	__u32			flags;
};
#define splice_of(req)	ua_cmd(req, struct ua_splice)

int ua_splice_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	struct ua_splice *sp = splice_of(req);

	sp->len = sqe->len;
	sp->flags = sqe->splice_flags;
	sp->fd_in = sqe->splice_fd_in;
	if (sp->flags & ~(SPLICE_F_FD_IN_FIXED | SPLICE_F_MOVE |
			  SPLICE_F_NONBLOCK | SPLICE_F_MORE | SPLICE_F_GIFT))
		return -EINVAL;
	if (req->opcode == IORING_OP_TEE) {
		sp->off_in = sp->off_out = -1;
	} else {
		sp->off_in = (__s64) sqe->splice_off_in;
		sp->off_out = (__s64) sqe->off;
	}
	return 0;
}

static ssize_t splice_once(struct ua_req *req, unsigned nonblock)
{
	struct ua_splice *sp = splice_of(req);
	loff_t off_in = sp->off_in, off_out = sp->off_out;
	unsigned flags = (sp->flags & ~SPLICE_F_FD_IN_FIXED) | nonblock;
	ssize_t n;

	if (req->opcode == IORING_OP_TEE)
		n = tee(sp->fd_in, req->fd, sp->len, flags);
	else
		n = splice(sp->fd_in, sp->off_in == -1 ? NULL : &off_in, req->fd,
			   sp->off_out == -1 ? NULL : &off_out, sp->len, flags);
	return n < 0 ? -errno : n;
}

/* Waits until one end is ready, unless it is O_NONBLOCK (-EAGAIN).
 * Returns 1 if it was ready already, 0 once it became ready. */
static int wait_end(struct ua_req *req, int fd, short events)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int fl;

	if (poll(&pfd, 1, 0) > 0)
		return 1;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -errno;
	if (fl & O_NONBLOCK)
		return -EAGAIN;
	return ua_iowq_wait_ready(req->ctx, fd, events);
}

/* Waits for both ends: 1 if both were ready already, 0 once they have
 * been, or -errno. */
static int wait_ends(struct ua_req *req)
{
	int in = wait_end(req, splice_of(req)->fd_in, POLLIN), out;

	if (in < 0)
		return in;
	out = wait_end(req, req->fd, POLLOUT);
	if (out < 0)
		return out;
	return in && out;
}

static ssize_t splice_ends(struct ua_req *req)
{
	struct ua_splice *sp = splice_of(req);
	ssize_t n = 0;
	int ret;

	if (!sp->len)
		return 0;
	for (;;) {
		n = splice_once(req, SPLICE_F_NONBLOCK);
		if (n != -EAGAIN || (sp->flags & SPLICE_F_NONBLOCK))
			return n;
		ret = wait_ends(req);
		if (ret < 0)
			return ret;
		if (ret)
			return splice_once(req, 0);
	}
}

int ua_splice(struct ua_req *req, unsigned issue_flags)
{
	struct ua_splice *sp = splice_of(req);
	struct ua_file_node *in_node = NULL;
	ssize_t n;

	if (issue_flags & UA_ISSUE_NONBLOCK)
		return UA_PUNT;
	/* A fixed input is looked up when the splice runs, as the kernel
	 * looks it up, and held until it ends. */
	if (sp->flags & SPLICE_F_FD_IN_FIXED) {
		in_node = sp->fd_in < 0 ? NULL :
			  ua_files_get_node(req->ctx, (unsigned) sp->fd_in);
		if (in_node)
			sp->fd_in = ua_file_node_fd(in_node);
	}
	if ((sp->flags & SPLICE_F_FD_IN_FIXED) && !in_node)
		n = -EBADF;
	else if (!in_node && ua_is_ring_fd(sp->fd_in))
		n = -EINVAL;	/* the kernel's io_uring file has no splice */
	else
		n = splice_ends(req);
	if (in_node)
		ua_file_node_put(in_node);
	req->res = (__s32) n;
	req->failed = n != (ssize_t) sp->len;
	return UA_DONE;
}
