/* SPDX-License-Identifier: MIT */
/*
 * IORING_REGISTER_SYNC_CANCEL: an ASYNC_CANCEL made by io_uring_register,
 * which then waits, as the system call does, for what it could not stop.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include "engine/cancel.h"
#include "engine/uaccess.h"
#include "engine/wait.h"

static bool forever(const struct __kernel_timespec *ts)
{
	return ts->tv_sec == -1 && ts->tv_nsec == -1;
}

/* Cancels, then waits for what runs on, trying again after each change. */
static int sync_cancel_wait(struct ua_ctx *ctx, const struct ua_cancel_data *cd,
			    const struct __kernel_timespec *timeout)
{
	struct timespec deadline;
	int ret = ua_cancel(ctx, cd);

	if (ret != -EALREADY)
		return ret;
	if (!forever(timeout)) {
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += timeout->tv_sec + (deadline.tv_nsec +
				   timeout->tv_nsec) / 1000000000;
		deadline.tv_nsec = (deadline.tv_nsec + timeout->tv_nsec) %
				   1000000000;
	}
	do {
		ret = ua_cq_wait_change(ctx, forever(timeout) ? NULL
							      : &deadline);
		if (ret)
			return ret;
		ret = ua_cancel(ctx, cd);
	} while (ret == -EALREADY);
	return ret == -ENOENT || ret > 0 ? 0 : ret;
}

/*
 * IORING_REGISTER_SYNC_CANCEL: cancel, and wait for what runs on to finish,
 * up to the timeout ({-1, -1}: no limit). Every completion of the ring ends
 * a wait, and the cancellation is tried again until nothing matches.
 */
int ua_sync_cancel(struct ua_ctx *ctx, const void *arg, unsigned nr_args)
{
	struct io_uring_sync_cancel_reg sc;
	struct ua_cancel_data cd;
	unsigned i;
	int ret;

	if (!arg || nr_args != 1)
		return -EINVAL;
	if (ua_copy_from_user(&sc, (__u64) (uintptr_t) arg, sizeof(sc)))
		return -EFAULT;
	if (sc.flags & ~UA_CANCEL_FLAGS)
		return -EINVAL;
	for (i = 0; i < sizeof(sc.pad); i++)
		if (sc.pad[i])
			return -EINVAL;
	for (i = 0; i < sizeof(sc.pad2) / sizeof(sc.pad2[0]); i++)
		if (sc.pad2[i])
			return -EINVAL;
	memset(&cd, 0, sizeof(cd));
	cd.data = sc.addr;
	cd.flags = sc.flags;
	cd.fd = sc.fd;
	cd.opcode = sc.opcode;
	ret = ua_cancel_get_file(ctx, &cd, false);
	if (!ret)
		ret = sync_cancel_wait(ctx, &cd, &sc.timeout);
	ua_cancel_put_file(&cd);
	return ret;
}
