/* SPDX-License-Identifier: MIT */
/*
 * MSG_RING: a request of one ring posts a CQE to another ring of the
 * process (IORING_MSG_DATA), or installs one of its fixed files in the
 * other's table and tells it so (IORING_MSG_SEND_FD); and
 * IORING_REGISTER_SEND_MSG_RING, the same data message sent by a call of
 * no ring.
 *
 * The target is found by its descriptor and held with a counted reference
 * for the length of the message, so a target released meanwhile stays
 * whole until the message is done; the hold is dropped with
 * ua_ctx_put_elsewhere(), since the issuer may hold locks a teardown
 * takes. The CQE goes into the target's CQ under the target's
 * completion_lock only (a leaf), and a file into its table under its
 * files.lock, taken after the source's file node was let go: no lock of
 * one ring is held while taking one of the other. As the engine posts
 * every completion from another thread, a DEFER_TASKRUN target sees the
 * message at once, not when its task next waits.
 */
#include <errno.h>
#include <fcntl.h>
#include "engine/cq.h"
#include "engine/filetable.h"
#include "engine/msg_ring.h"
#include "engine/req.h"
#include "engine/ring.h"
#include "engine/ringref.h"
#include "engine/uaccess.h"

#define MSG_RING_FLAGS	(IORING_MSG_RING_CQE_SKIP | IORING_MSG_RING_FLAGS_PASS)

/* The kernel's struct io_msg: the SQE's fields, at their widths. */
struct ua_msg {
	__u64	user_data;	/* off: the target CQE's */
	__u32	len;		/* the target CQE's res (IORING_MSG_DATA) */
	__u32	cmd;		/* addr */
	__u32	src_slot;	/* addr3: the source's fixed file */
	__u32	dst;		/* file_index: the target's slot + 1, or its
				 * CQE's flags with IORING_MSG_RING_FLAGS_PASS */
	__u32	flags;		/* msg_ring_flags */
};

static int msg_prep(struct ua_msg *msg, const struct io_uring_sqe *sqe)
{
	if (sqe->buf_index || sqe->personality)
		return -EINVAL;
	msg->user_data = sqe->off;
	msg->len = sqe->len;
	msg->cmd = (__u32) sqe->addr;
	msg->src_slot = (__u32) sqe->addr3;
	msg->dst = sqe->file_index;
	msg->flags = sqe->msg_ring_flags;
	return msg->flags & ~MSG_RING_FLAGS ? -EINVAL : 0;
}

/* A ring made before fork() is driven by the parent only (fork.c): a
 * child posting into it would race the parent's engine. */
static int target_refused(struct ua_ctx *target)
{
	if (ua_ctx_inherited(target))
		return -EEXIST;
	if (__atomic_load_n(&target->disabled, __ATOMIC_ACQUIRE))
		return -EBADFD;
	return 0;
}

/* The kernel's lookup: -EBADF for no file, -EBADFD for a file that is not
 * a ring. */
static struct ua_ctx *target_get(int fd, int *err)
{
	struct ua_ctx *target = ua_ctx_get_counted(fd, err);

	if (!target && *err == -EOPNOTSUPP)
		*err = -EBADFD;
	return target;
}

/* IORING_MSG_DATA: the target's CQE carries off as user_data, len as res. */
static int send_data(struct ua_ctx *target, const struct ua_msg *msg)
{
	__u32 cflags = 0;
	int ret;

	if (msg->src_slot || (msg->flags & ~IORING_MSG_RING_FLAGS_PASS))
		return -EINVAL;
	if (msg->flags & IORING_MSG_RING_FLAGS_PASS)
		cflags = msg->dst;
	else if (msg->dst)
		return -EINVAL;
	ret = target_refused(target);
	if (ret)
		return ret;
	if (!ua_post_msg_cqe(target, msg->user_data, (__s32) msg->len, cflags))
		return -EOVERFLOW;
	return 0;
}

/* A descriptor of the source's fixed file, for the target to own. */
static int dup_fixed_file(struct ua_ctx *src, unsigned slot)
{
	struct ua_file_node *node = ua_files_get_node(src, slot);
	int fd;

	if (!node)
		return -EBADF;
	fd = fcntl(ua_file_node_fd(node), F_DUPFD_CLOEXEC, 0);
	ua_file_node_put(node);
	return fd < 0 ? -errno : fd;
}

/*
 * IORING_MSG_SEND_FD: the result, and the target CQE's res, is 0 or the
 * slot allocated. A file installed whose CQE could not be queued stays
 * installed, and the sender learns it by -EOVERFLOW, as on the kernel.
 */
static int send_fd(struct ua_ctx *src, struct ua_ctx *target,
		   const struct ua_msg *msg)
{
	int fd, ret;

	if (msg->len || target == src)
		return -EINVAL;
	ret = target_refused(target);
	if (ret)
		return ret;
	fd = dup_fixed_file(src, msg->src_slot);
	if (fd < 0)
		return fd;
	ret = ua_files_install(target, fd, msg->dst);
	if (ret < 0 || (msg->flags & IORING_MSG_RING_CQE_SKIP))
		return ret;
	if (!ua_post_msg_cqe(target, msg->user_data, ret, 0))
		return -EOVERFLOW;
	return ret;
}

int ua_msg_ring_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	return msg_prep(ua_cmd(req, struct ua_msg), sqe);
}

int ua_msg_ring(struct ua_req *req, unsigned issue_flags)
{
	const struct ua_msg *msg = ua_cmd(req, struct ua_msg);
	struct ua_ctx *target = target_get(req->fd, &req->res);

	(void) issue_flags;
	if (target) {
		if (msg->cmd == IORING_MSG_DATA)
			req->res = send_data(target, msg);
		else if (msg->cmd == IORING_MSG_SEND_FD)
			req->res = send_fd(req->ctx, target, msg);
		else
			req->res = -EINVAL;
		ua_ctx_put_elsewhere(target);
	}
	req->failed = req->res < 0;
	return UA_DONE;
}

/*
 * io_uring_register(-1, ...): the registrations that need no ring of the
 * caller's. Of the kernel's, IORING_REGISTER_SEND_MSG_RING is taken: one
 * SQE, a data message with no SQE flags (checked in the kernel's order);
 * any other opcode fails with -EINVAL.
 */
int ua_register_blind(unsigned opcode, const void *arg, unsigned nr_args)
{
	struct io_uring_sqe sqe;
	struct ua_ctx *target;
	struct ua_msg msg;
	int ret;

	if (opcode != IORING_REGISTER_SEND_MSG_RING || !arg || nr_args != 1)
		return -EINVAL;
	if (ua_copy_from_user(&sqe, (__u64) (uintptr_t) arg, sizeof(sqe)))
		return -EFAULT;
	if (sqe.flags || sqe.opcode != IORING_OP_MSG_RING)
		return -EINVAL;
	ret = msg_prep(&msg, &sqe);
	if (ret)
		return ret;
	if (msg.cmd != IORING_MSG_DATA)
		return -EINVAL;
	target = target_get(sqe.fd, &ret);
	if (!target)
		return ret;
	ret = send_data(target, &msg);
	ua_ctx_put_elsewhere(target);
	return ret;
}
