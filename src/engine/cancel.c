/* SPDX-License-Identifier: MIT */
/*
 * ASYNC_CANCEL, and the cancellation IORING_REGISTER_SYNC_CANCEL also
 * makes (sync_cancel.c); the matching rules are cancel_match.c's.
 *
 * A cancellation visits each kind of waiting request in turn (cancel_kinds):
 * work queued for or running in a worker, parked requests, futex waits,
 * then armed timeouts. Each kind
 * detaches what matches under its own lock; the detached requests complete
 * with -ECANCELED once every lock is dropped, through the issue layer
 * (ua_issue_up), since they may release chains. A worker blocked in
 * poll() for a stream is interrupted (its request completes with
 * -ECANCELED, as a request parked on poll does in the kernel); one
 * blocked in another system call is signalled, and reported -EALREADY, as the kernel reports the
 * io-wq request it signals. Requests waiting in a chain or behind a drain are not
 * cancellable, as in the kernel: cancel their head instead.
 */
#include <errno.h>
#include <fcntl.h>
#include "engine/cancel.h"
#include "engine/filetable.h"
#include "engine/futex.h"
#include "engine/list.h"
#include "engine/req.h"
#include "engine/ring.h"
#include "engine/timer.h"
#include "engine/opdef.h"

/* ASYNC_CANCEL. */
struct ua_cancel {
	__u64			addr;
	__u32			flags;
	int			fd;
	__u8			opcode;
};
#define cancel_of(req)	ua_cmd(req, struct ua_cancel)

/* Where requests wait, in the order the kernel looks. Workers first: a
 * worker's request may park on readiness meanwhile, and is then found
 * parked, or honours the mark the worker's look left (-EALREADY). */
static const ua_cancel_fn cancel_kinds[] = {
	ua_iowq_cancel,
	ua_poll_cancel,
	ua_futex_cancel,
	ua_timeout_cancel,
};

/*
 * Returns like the kernel: with ALL or ANY the number cancelled (0 if none),
 * counting those that run on, otherwise 0, -ENOENT, or -EALREADY for a
 * match that runs on.
 */
int ua_cancel(struct ua_ctx *ctx, const struct ua_cancel_data *cd)
{
	bool all = ua_cancel_all(cd);
	bool running = false;
	int nr = 0, one = 0;
	struct ua_req_list out;
	unsigned i;

	ua_list_init(&out);
	for (i = 0; i < sizeof(cancel_kinds) / sizeof(cancel_kinds[0]); i++) {
		int ret = cancel_kinds[i](ctx, cd, &out);

		if (ret == -EALREADY)
			running = true;	/* a parked copy may yet match */
		else
			nr += ret;
		if (nr && !all) {
			/* The kernel reports a futex wait it cancelled by
			 * the count its futex list returns. */
			one = cancel_kinds[i] == ua_futex_cancel ? nr : 0;
			break;
		}
	}
	ua_issue_up->complete_list(ctx, &out, -ECANCELED);
	if (all)
		return nr;
	if (nr)
		return one;
	return running ? -EALREADY : -ENOENT;
}

/* The file a cancellation names must exist: an open descriptor, or a slot
 * with a file, whose node is held until ua_cancel_put_file(). */
int ua_cancel_get_file(struct ua_ctx *ctx, struct ua_cancel_data *cd,
		       bool fixed)
{
	if (!(cd->flags & IORING_ASYNC_CANCEL_FD))
		return 0;
	if (fixed || (cd->flags & IORING_ASYNC_CANCEL_FD_FIXED)) {
		cd->file_node = ua_files_get_node(ctx, (unsigned) cd->fd);
		return cd->file_node ? 0 : -EBADF;
	}
	return fcntl(cd->fd, F_GETFD) < 0 ? -EBADF : 0;
}

void ua_cancel_put_file(struct ua_cancel_data *cd)
{
	if (cd->file_node)
		ua_file_node_put(cd->file_node);
}

int ua_async_cancel_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	struct ua_cancel *c = cancel_of(req);

	c->addr = sqe->addr;
	c->flags = sqe->cancel_flags;
	if (c->flags & ~UA_CANCEL_FLAGS)
		return -EINVAL;
	if (c->flags & IORING_ASYNC_CANCEL_FD) {
		if (c->flags & IORING_ASYNC_CANCEL_ANY)
			return -EINVAL;
		c->fd = sqe->fd;
	}
	if (c->flags & IORING_ASYNC_CANCEL_OP) {
		if (c->flags & IORING_ASYNC_CANCEL_ANY)
			return -EINVAL;
		c->opcode = (__u8) sqe->len;
	}
	return 0;
}

int ua_async_cancel(struct ua_req *req, unsigned issue_flags)
{
	const struct ua_cancel *c = cancel_of(req);
	struct ua_cancel_data cd = {
		.data = c->addr, .flags = c->flags, .fd = c->fd,
		.opcode = c->opcode,
	};
	int ret;

	(void) issue_flags;
	ret = ua_cancel_get_file(req->ctx, &cd,
				 req->sqe_flags & IOSQE_FIXED_FILE);
	if (!ret)
		ret = ua_cancel(req->ctx, &cd);
	ua_cancel_put_file(&cd);
	req->res = ret;
	req->failed = ret < 0;
	return UA_DONE;
}
