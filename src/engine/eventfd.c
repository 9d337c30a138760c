/* SPDX-License-Identifier: MIT */
/*
 * eventfd registration without quiescing the ring (RCU-published).
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
 *
 * Unregister parks the object instead of freeing it. A registration of the
 * same open eventfd (kcmp says so, in one cheap call) takes it back and
 * skips the dup, the check and the deferred close: register/unregister churn
 * costs two system calls less per round. Readers that still hold
 * the parked object signal the same eventfd, which is harmless. A parked
 * object is freed through RCU when another eventfd is registered, and at
 * teardown. Where kcmp is refused (Docker's profile), no registration is
 * taken for the parked one: each pays the dup and the check, which is
 * always correct. fstat cannot stand in: all eventfds share one inode.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "liburing/barrier.h"
#include "engine/eventfd.h"
#include "engine/ring.h"
#include "engine/uaccess.h"
#include "engine/rcu.h"
#include "engine/sys.h"

struct ua_ev_fd {
	struct ua_rcu_head	rcu;
	int			fd;
	bool			async;	/* only completions not posted inline */
};

/* Whether fd names the very file (open file description) ev holds. */
static bool same_file(const struct ua_ev_fd *ev, int fd)
{
	return ua_sys_same_file(ev->fd, fd);
}

/*
 * The kernel accepts only an eventfd (-EINVAL for another file). /proc names
 * it exactly; without /proc, insist at least on an anonymous inode (no file
 * type), which rules out pipes, sockets, devices and regular files, though
 * not a timerfd or signalfd.
 */
static int check_eventfd(int fd)
{
	char link[64], target[64];
	struct stat st;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n >= 0) {
		target[n] = '\0';
		return strcmp(target, "anon_inode:[eventfd]") ? -EINVAL : 0;
	}
	if (fstat(fd, &st) < 0)
		return -errno;
	return (st.st_mode & S_IFMT) ? -EINVAL : 0;
}

static void ev_fd_free(struct ua_rcu_head *head)
{
	struct ua_ev_fd *ev = (struct ua_ev_fd *) head;

	close(ev->fd);
	free(ev);
}

/* Closed and freed once no reader can hold it; teardown waits for it. */
static void defer_free(struct ua_ctx *ctx, struct ua_ev_fd *ev)
{
	__atomic_store_n(&ctx->ev_deferred, true, __ATOMIC_RELAXED);
	ua_rcu_call(&ev->rcu, ev_fd_free);
}

int ua_eventfd_register(struct ua_ctx *ctx, const void *arg, unsigned nr,
			bool async)
{
	struct ua_ev_fd *ev, *parked;
	int fd, ret;

	if (nr != 1)
		return -EINVAL;
	ret = ua_copy_from_user(&fd, (__u64) (uintptr_t) arg, sizeof(fd));
	pthread_mutex_lock(&ctx->ev_fd_lock);
	if (ctx->ev_fd || ret) {
		/* The kernel says -EBUSY before it looks at the new fd. */
		if (ctx->ev_fd)
			ret = -EBUSY;
		pthread_mutex_unlock(&ctx->ev_fd_lock);
		return ret;
	}
	ev = ctx->ev_parked;
	if (ev && same_file(ev, fd)) {
		ctx->ev_parked = NULL;
		__atomic_store_n(&ev->async, async, __ATOMIC_RELAXED);
		__atomic_store_n(&ctx->ev_fd, ev, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&ctx->ev_fd_lock);
		return 0;
	}
	pthread_mutex_unlock(&ctx->ev_fd_lock);
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
	parked = ctx->ev_parked;
	ctx->ev_parked = NULL;
	pthread_mutex_unlock(&ctx->ev_fd_lock);
	if (parked)
		defer_free(ctx, parked);
	return 0;
}

int ua_eventfd_unregister(struct ua_ctx *ctx)
{
	struct ua_ev_fd *ev, *parked = NULL;

	pthread_mutex_lock(&ctx->ev_fd_lock);
	ev = ctx->ev_fd;
	if (ev) {
		__atomic_store_n(&ctx->ev_fd, NULL, __ATOMIC_RELAXED);
		parked = ctx->ev_parked;
		ctx->ev_parked = ev;
	}
	pthread_mutex_unlock(&ctx->ev_fd_lock);
	if (!ev)
		return -ENXIO;
	if (parked)
		defer_free(ctx, parked);
	return 0;
}

/*
 * Signalling brackets the posting of a batch of CQEs. ua_eventfd_begin(),
 * before the CQ tail is published, picks the registration inside an RCU
 * read-side section; ua_eventfd_end(), after, signals it and leaves the
 * section. Picking before publishing matters: a spinning application may
 * see the CQEs the moment the tail moves, reap them and unregister, and a
 * CQE posted while an eventfd was registered must still signal that one.
 * Signalling after publishing matters too: an epoll loop woken by the
 * eventfd must find the CQEs. Returns NULL, outside any section, when no
 * eventfd is registered: one plain load for most rings.
 */
struct ua_ev_fd *ua_eventfd_begin(struct ua_ctx *ctx)
{
	struct ua_ev_fd *ev;

	/* Racing a registration is inherent: I/O in flight while an eventfd
	 * is registered may or may not signal it, as with the kernel. */
	if (!__atomic_load_n(&ctx->ev_fd, __ATOMIC_RELAXED))
		return NULL;
	ua_rcu_read_lock();
	ev = __atomic_load_n(&ctx->ev_fd, __ATOMIC_ACQUIRE);
	if (!ev)
		ua_rcu_read_unlock();
	return ev;
}

/* `inline_post`: the submitter's own completions, which an async
 * registration does not signal. At most one write per batch. */
void ua_eventfd_end(struct ua_ctx *ctx, struct ua_ev_fd *ev, bool posted,
		    bool inline_post)
{
	if (!ev)
		return;
	if (posted &&
	    !(IO_URING_READ_ONCE(*ctx->cq_flags) & IORING_CQ_EVENTFD_DISABLED) &&
	    !(__atomic_load_n(&ev->async, __ATOMIC_RELAXED) && inline_post) &&
	    ua_sys_eventfd_signal(ev->fd) < 0) {
		/* A counter at its maximum: the reader has plenty to see. */
	}
	ua_rcu_read_unlock();
}

/* Teardown, with no thread of the ring left: nothing can read ev_fd. The
 * barrier runs what earlier unregisters queued, so nothing outlives the
 * ring; a ring that queued nothing skips it, as it would otherwise wait
 * for every other ring's deferred frees and their gathering window. */
void ua_eventfd_free(struct ua_ctx *ctx)
{
	if (ctx->ev_fd)
		ev_fd_free(&ctx->ev_fd->rcu);
	if (ctx->ev_parked)
		ev_fd_free(&ctx->ev_parked->rcu);
	ctx->ev_fd = ctx->ev_parked = NULL;
	if (__atomic_load_n(&ctx->ev_deferred, __ATOMIC_RELAXED))
		ua_rcu_barrier();
	pthread_mutex_destroy(&ctx->ev_fd_lock);
}
