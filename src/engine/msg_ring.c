/* SPDX-License-Identifier: MIT */
/*
 * io_uring_register() on descriptor -1: the registrations that need no ring
 * of the caller's. The kernel takes one there, IORING_REGISTER_SEND_MSG_RING,
 * which posts a MSG_RING data message (an SQE given by address) straight
 * into the target ring, as MSG_RING would from a source ring; every other
 * opcode fails with -EINVAL.
 */
#include <errno.h>
#include <stdint.h>
#include "engine/cq.h"
#include "engine/msg_ring.h"
#include "engine/ring.h"
#include "engine/ringref.h"
#include "engine/uaccess.h"

/* The kernel's checks of a data message, in its order. */
static int msg_data_check(const struct io_uring_sqe *sqe)
{
	if (sqe->flags || sqe->opcode != IORING_OP_MSG_RING)
		return -EINVAL;
	if (sqe->buf_index || sqe->personality)
		return -EINVAL;
	if (sqe->msg_ring_flags & ~(IORING_MSG_RING_CQE_SKIP |
				    IORING_MSG_RING_FLAGS_PASS))
		return -EINVAL;
	/* No source ring to send a descriptor from. */
	if (sqe->addr != IORING_MSG_DATA)
		return -EINVAL;
	return 0;
}

/* What the kernel checks once it has the target ring. */
static int msg_target_check(struct ua_ctx *ctx, const struct io_uring_sqe *sqe)
{
	if (sqe->addr3 || (sqe->msg_ring_flags & ~IORING_MSG_RING_FLAGS_PASS))
		return -EINVAL;
	if (!(sqe->msg_ring_flags & IORING_MSG_RING_FLAGS_PASS) &&
	    sqe->file_index)
		return -EINVAL;
	/* A ring made before fork() is driven by the parent only (fork.c). */
	if (ua_ctx_inherited(ctx))
		return -EEXIST;
	if (__atomic_load_n(&ctx->disabled, __ATOMIC_ACQUIRE))
		return -EBADFD;
	return 0;
}

/* The message for the ring on sqe->fd: its CQE carries the SQE's off as
 * user_data, its len as res, and with FLAGS_PASS its file_index as flags. */
static int post_msg_data(const struct io_uring_sqe *sqe)
{
	struct ua_ctx *ctx;
	int ret = 0;

	ctx = ua_ctx_get_counted(sqe->fd, &ret);
	if (!ctx)
		return ret == -EOPNOTSUPP ? -EBADFD : ret;
	ret = msg_target_check(ctx, sqe);
	if (!ret)
		ua_post_cqe(ctx, sqe->off, (__s32) sqe->len,
			    (sqe->msg_ring_flags & IORING_MSG_RING_FLAGS_PASS) ?
			    sqe->file_index : 0);
	ua_ctx_put_ref(ctx);
	return ret;
}

int ua_register_blind(unsigned opcode, const void *arg, unsigned nr_args)
{
	struct io_uring_sqe sqe;
	int ret;

	if (opcode != IORING_REGISTER_SEND_MSG_RING || !arg || nr_args != 1)
		return -EINVAL;
	if (ua_copy_from_user(&sqe, (__u64) (uintptr_t) arg, sizeof(sqe)))
		return -EFAULT;
	ret = msg_data_check(&sqe);
	return ret ? ret : post_msg_data(&sqe);
}
