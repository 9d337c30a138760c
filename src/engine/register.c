/* SPDX-License-Identifier: MIT */
/* io_uring_register(): the registration opcodes this engine implements. */
#include <errno.h>
#include <string.h>
#include "engine/ctx.h"
#include "engine/opdef.h"

static int register_probe(struct io_uring_probe *p, unsigned nr)
{
	size_t size;
	unsigned i;

	if (!p)
		return -EFAULT;
	if (nr > IORING_OP_LAST)
		nr = IORING_OP_LAST;
	size = sizeof(*p) + nr * sizeof(p->ops[0]);
	/* The kernel wants a zeroed buffer, for forward compatibility. */
	for (i = 0; i < size; i++)
		if (((const unsigned char *) p)[i])
			return -EINVAL;
	p->last_op = IORING_OP_LAST - 1;
	for (i = 0; i < nr; i++) {
		p->ops[i].op = (__u8) i;
		if (ua_opdef(i)->prep)
			p->ops[i].flags = IO_URING_OP_SUPPORTED;
	}
	p->ops_len = (__u8) nr;
	return 0;
}

static int register_max_workers(struct ua_ctx *ctx, void *arg, unsigned nr)
{
	unsigned counts[2];
	int ret;

	if (!arg || nr != 2)
		return -EINVAL;
	memcpy(counts, arg, sizeof(counts));
	ret = ua_iowq_max_workers(&ctx->wq, counts);
	memcpy(arg, counts, sizeof(counts));
	return ret;
}

static int enable_rings(struct ua_ctx *ctx)
{
	if (!ctx->disabled)
		return -EBADFD;
	if (!ctx->has_submitter) {
		ctx->submitter = pthread_self();
		__atomic_store_n(&ctx->has_submitter, true, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&ctx->disabled, false, __ATOMIC_RELEASE);
	return 0;
}

int ua_register(struct ua_ctx *ctx, unsigned opcode, const void *arg,
		unsigned nr_args)
{
	int ret;

	switch (opcode) {
	case IORING_REGISTER_BUFFERS:
		pthread_mutex_lock(&ctx->uring_lock);
		ret = ua_register_buffers(ctx, arg, nr_args);
		pthread_mutex_unlock(&ctx->uring_lock);
		return ret;
	case IORING_UNREGISTER_BUFFERS:
		if (arg || nr_args)
			return -EINVAL;
		pthread_mutex_lock(&ctx->uring_lock);
		ret = ua_unregister_buffers(ctx);
		pthread_mutex_unlock(&ctx->uring_lock);
		return ret;
	case IORING_REGISTER_EVENTFD:
	case IORING_REGISTER_EVENTFD_ASYNC:
		return ua_eventfd_register(ctx, arg, nr_args,
					   opcode == IORING_REGISTER_EVENTFD_ASYNC);
	case IORING_UNREGISTER_EVENTFD:
		if (arg || nr_args)
			return -EINVAL;
		return ua_eventfd_unregister(ctx);
	case IORING_REGISTER_PBUF_RING:
		return ua_register_pbuf_ring(ctx, arg, nr_args);
	case IORING_UNREGISTER_PBUF_RING:
		return ua_unregister_pbuf_ring(ctx, arg, nr_args);
	case IORING_REGISTER_PROBE:
		return register_probe((struct io_uring_probe *) arg, nr_args);
	case IORING_REGISTER_IOWQ_MAX_WORKERS:
		return register_max_workers(ctx, (void *) arg, nr_args);
	case IORING_REGISTER_SYNC_CANCEL:
		return ua_sync_cancel(ctx, arg, nr_args);
	case IORING_REGISTER_ENABLE_RINGS:
		if (arg || nr_args)
			return -EINVAL;
		return enable_rings(ctx);
	default:
		return -EINVAL;
	}
}
