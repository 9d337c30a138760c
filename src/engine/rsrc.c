/* SPDX-License-Identifier: MIT */
/*
 * Registered buffers (IORING_REGISTER_BUFFERS). The table lives under
 * uring_lock: the submitter checks a READ_FIXED/WRITE_FIXED range against it
 * at issue. Unlike the kernel, the pages are not pinned; see uring-alike(7).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "engine/ctx.h"

#define MAX_REG_BUFFERS	(1u << 14)
#define MAX_BUFFER_LEN	(1ul << 30)

/* The kernel's checks: a NULL base is a sparse slot only with length 0. */
static int validate(const struct iovec *iov)
{
	uintptr_t base = (uintptr_t) iov->iov_base;

	if (!base)
		return iov->iov_len ? -EFAULT : 0;
	if (base + iov->iov_len < base)
		return -EOVERFLOW;
	if (!iov->iov_len || iov->iov_len > MAX_BUFFER_LEN)
		return -EFAULT;
	return 0;
}

int ua_register_buffers(struct ua_ctx *ctx, const struct iovec *iovs,
			unsigned nr)
{
	struct iovec *copy;
	unsigned i;
	int ret;

	if (ctx->bufs)
		return -EBUSY;
	if (!nr || nr > MAX_REG_BUFFERS)
		return -EINVAL;
	if (!iovs)
		return -EFAULT;
	copy = malloc(nr * sizeof(*copy));
	if (!copy)
		return -ENOMEM;
	memcpy(copy, iovs, nr * sizeof(*copy));
	for (i = 0; i < nr; i++) {
		ret = validate(&copy[i]);
		if (ret) {
			free(copy);
			return ret;
		}
	}
	ctx->bufs = copy;
	ctx->nr_bufs = nr;
	return 0;
}

int ua_unregister_buffers(struct ua_ctx *ctx)
{
	if (!ctx->bufs)
		return -ENXIO;
	free(ctx->bufs);
	ctx->bufs = NULL;
	ctx->nr_bufs = 0;
	return 0;
}
