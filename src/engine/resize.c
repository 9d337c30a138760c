/* SPDX-License-Identifier: MIT */
/*
 * IORING_REGISTER_RESIZE_RINGS, with the kernel's rules: a DEFER_TASKRUN
 * ring's only (its one task is the only one that waits on it), new sizes
 * by io_uring_setup()'s rules with CQSIZE and CLAMP the only flags taken,
 * the ring's entry-size flags kept. The parameters are written back before
 * the move, which fails with -EOVERFLOW if the SQEs or CQEs not yet
 * consumed do not fit; CQEs in overflow stay there.
 */
#include <errno.h>
#include "engine/register.h"
#include "engine/ring.h"
#include "engine/uaccess.h"
#include "ring_sizes.h"

#define RESIZE_FLAGS	(IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP)
#define KEPT_FLAGS	(IORING_SETUP_NO_SQARRAY | IORING_SETUP_SQE128 | \
			 IORING_SETUP_CQE32 | IORING_SETUP_NO_MMAP | \
			 IORING_SETUP_CQE_MIXED)

static int resize_params(const struct ua_ctx *ctx, __u64 uarg,
			 struct io_uring_params *p, unsigned *sq, unsigned *cq)
{
	int ret;

	if (ua_copy_from_user(p, uarg, sizeof(*p)))
		return -EFAULT;
	if (p->flags & ~RESIZE_FLAGS)
		return -EINVAL;
	p->flags |= ctx->setup_flags & KEPT_FLAGS;
	ret = ua_ring_sizes(p->sq_entries, p, sq, cq);
	if (!ret)
		ret = ua_ring_check_mixed_cq(p, *cq);
	return ret;
}

/* Holding both locks, nobody else reads the SQ or writes the CQ. */
static int move_ring(struct ua_ctx *ctx, struct ua_ring_maps *m,
		     unsigned sq, unsigned cq)
{
	int ret;

	pthread_mutex_lock(&ctx->uring_lock);
	pthread_mutex_lock(&ctx->completion_lock);
	ret = ua_ring_move(ctx, m, sq, cq);
	pthread_mutex_unlock(&ctx->completion_lock);
	pthread_mutex_unlock(&ctx->uring_lock);
	return ret;
}

/*
 * A NO_MMAP ring's new rings would be more of the application's memory;
 * the engine does not move such a ring (-EINVAL, which liburing's
 * io_uring_resize_rings() gives for it anyway).
 */
int ua_resize_rings(struct ua_ctx *ctx, const void *arg, unsigned nr_args)
{
	__u64 uarg = (__u64) (uintptr_t) arg;
	struct io_uring_params p;
	struct ua_ring_maps *m;
	unsigned sq, cq;
	int ret;

	if (!arg || nr_args != 1)
		return -EINVAL;
	if (!(ctx->setup_flags & IORING_SETUP_DEFER_TASKRUN))
		return -EINVAL;
	ret = resize_params(ctx, uarg, &p, &sq, &cq);
	if (ret)
		return ret;
	if (ctx->setup_flags & IORING_SETUP_NO_MMAP)
		return -EINVAL;
	m = ua_ring_map_sizes(ctx, sq, cq, &ret);
	if (!m)
		return ret;
	p.sq_entries = sq;
	p.cq_entries = cq;
	ua_ring_fill_offsets(&p);
	ret = ua_copy_to_user(uarg, &p, sizeof(p));
	if (!ret)
		ret = move_ring(ctx, m, sq, cq);
	if (ret)
		ua_ring_unmap_sizes(m);
	return ret;
}
