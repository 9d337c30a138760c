/* SPDX-License-Identifier: MIT */
/*
 * eventfd registration without quiescing the ring (seed 000).
 *
 * The completion path checks ctx->ev_fd without any lock or barrier first:
 * most rings have none, and they pay one load. Otherwise it reads the
 * pointer again inside an RCU read-side section and signals through it.
 * Unregister unpublishes the pointer and hands the object to ua_rcu_call(),
 * which closes and frees it after every section that might still use it
 * has ended; so unregister never waits for completions in flight, and a new
 * eventfd may be registered while the old one is still being freed.
 *
 * The registration holds its own duplicate of the descriptor: the number
 * the application passed may be closed and reused, and the engine must
 * never write to whatever file takes it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "engine/ctx.h"
#include "engine/rcu.h"

struct ua_ev_fd {
	struct ua_rcu_head	rcu;
	int			fd;
	bool			async;	/* only completions not posted inline */
};

/* The kernel accepts only an eventfd (-EINVAL for another file). */
static int check_eventfd(int fd)
{
	char link[64], target[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return 0;	/* no /proc: trust the caller */
	target[n] = '\0';
	return strcmp(target, "anon_inode:[eventfd]") ? -EINVAL : 0;
}

static void ev_fd_free(struct ua_rcu_head *head)
{
	struct ua_ev_fd *ev = (struct ua_ev_fd *) head;

	close(ev->fd);
	free(ev);
}

int ua_eventfd_register(struct ua_ctx *ctx, const void *arg, unsigned nr,
			bool async)
{
	struct ua_ev_fd *ev;
	int fd, ret;

	if (nr != 1)
		return -EINVAL;
	if (!arg)
		return -EFAULT;
	memcpy(&fd, arg, sizeof(fd));
	ev = malloc(sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	ev->async = async;
	/* The duplicate first: it fails with -EBADF for a closed fd, and the
	 * check then looks at the very file we keep. */
	ev->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	ret = ev->fd < 0 ? -errno : check_eventfd(ev->fd);
	if (ret) {
		if (ev->fd >= 0)
			close(ev->fd);
		free(ev);
		return ret;
	}
	pthread_mutex_lock(&ctx->ev_fd_lock);
	if (ctx->ev_fd) {
		pthread_mutex_unlock(&ctx->ev_fd_lock);
		close(ev->fd);
		free(ev);
		return -EBUSY;
	}
	/* Release: the object's fields are written before it is visible. */
	__atomic_store_n(&ctx->ev_fd, ev, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&ctx->ev_fd_lock);
	return 0;
}

int ua_eventfd_unregister(struct ua_ctx *ctx)
{
	struct ua_ev_fd *ev;

	pthread_mutex_lock(&ctx->ev_fd_lock);
	ev = ctx->ev_fd;
	if (ev)
		__atomic_store_n(&ctx->ev_fd, NULL, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&ctx->ev_fd_lock);
	if (!ev)
		return -ENXIO;
	ua_rcu_call(&ev->rcu, ev_fd_free);
	return 0;
}

/*
 * Called once per batch of posted CQEs, by whichever thread posted them.
 * `inline_post` is true for the submitter's own completions, which an
 * async registration does not signal.
 */
void ua_eventfd_signal(struct ua_ctx *ctx, bool inline_post)
{
	static const __u64 one = 1;
	struct ua_ev_fd *ev;

	/* Racing a registration is inherent: I/O in flight while an eventfd
	 * is registered may or may not signal it, as with the kernel. */
	if (!__atomic_load_n(&ctx->ev_fd, __ATOMIC_RELAXED))
		return;
	if (IO_URING_READ_ONCE(*ctx->cq_flags) & IORING_CQ_EVENTFD_DISABLED)
		return;
	ua_rcu_read_lock();
	ev = __atomic_load_n(&ctx->ev_fd, __ATOMIC_ACQUIRE);
	if (ev && !(ev->async && inline_post) &&
	    write(ev->fd, &one, sizeof(one)) < 0) {
		/* A counter at its maximum: the reader has plenty to see. */
	}
	ua_rcu_read_unlock();
}

/* Teardown, with no thread of the ring left: nothing can read ev_fd. The
 * barrier runs what earlier unregisters queued, so nothing outlives the
 * ring (it costs one uncontended lock when nothing is queued). */
void ua_eventfd_free(struct ua_ctx *ctx)
{
	if (ctx->ev_fd)
		ev_fd_free(&ctx->ev_fd->rcu);
	ctx->ev_fd = NULL;
	ua_rcu_barrier();
	pthread_mutex_destroy(&ctx->ev_fd_lock);
}
