/* SPDX-License-Identifier: MIT */
/*
 * The engine's three entry points, with the kernel system calls' arguments
 * and -errno results: io_uring_setup(), io_uring_enter() and
 * io_uring_register(). Nothing else of the engine is visible to the user side.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "engine/cq.h"
#include "engine/eventfd.h"
#include "engine/filetable.h"
#include "engine/fork.h"
#include "engine/iowq.h"
#include "engine/kbuf.h"
#include "engine/link.h"
#include "engine/list.h"
#include "engine/msg_ring.h"
#include "engine/poll.h"
#include "engine/query.h"
#include "engine/region.h"
#include "engine/register.h"
#include "engine/req.h"
#include "engine/ring.h"
#include "engine/ringfd.h"
#include "engine/ringpoll.h"
#include "engine/rsrc.h"
#include "engine/sqpoll.h"
#include "engine/submit.h"
#include "engine/timeout.h"
#include "engine/wait.h"
#include "ring_sizes.h"
#include "engine/ringref.h"
#include "engine/uaccess.h"
#include "ua_private.h"

#define SETUP_FLAGS	(IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP | \
			 IORING_SETUP_R_DISABLED | IORING_SETUP_SUBMIT_ALL | \
			 IORING_SETUP_NO_SQARRAY | IORING_SETUP_COOP_TASKRUN | \
			 IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_SINGLE_ISSUER | \
			 IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SQPOLL | \
			 IORING_SETUP_SQ_AFF | IORING_SETUP_ATTACH_WQ | \
			 IORING_SETUP_IOPOLL | IORING_SETUP_SQE128 | \
			 IORING_SETUP_CQE32 | IORING_SETUP_CQE_MIXED | \
			 IORING_SETUP_NO_MMAP | \
			 IORING_SETUP_REGISTERED_FD_ONLY)
#define ENTER_FLAGS	(IORING_ENTER_GETEVENTS | IORING_ENTER_SQ_WAKEUP | \
			 IORING_ENTER_SQ_WAIT | IORING_ENTER_EXT_ARG | \
			 IORING_ENTER_ABS_TIMER | IORING_ENTER_REGISTERED_RING | \
			 IORING_ENTER_NO_IOWAIT | IORING_ENTER_EXT_ARG_REG)
#define FEATURES	(IORING_FEAT_NODROP | IORING_FEAT_SUBMIT_STABLE | \
			 IORING_FEAT_RW_CUR_POS | IORING_FEAT_EXT_ARG | \
			 IORING_FEAT_CQE_SKIP | IORING_FEAT_FAST_POLL | \
			 IORING_FEAT_SQPOLL_NONFIXED | IORING_FEAT_NATIVE_WORKERS | \
			 IORING_FEAT_REG_REG_RING | IORING_FEAT_NO_IOWAIT | \
			 IORING_FEAT_RSRC_TAGS | IORING_FEAT_MIN_TIMEOUT | \
			 IORING_FEAT_RECVSEND_BUNDLE | IORING_FEAT_CUR_PERSONALITY)
#define SIGSET_SIZE	(_NSIG / 8)

static int check_params(const struct io_uring_params *p)
{
	unsigned i;

	for (i = 0; i < sizeof(p->resv) / sizeof(p->resv[0]); i++)
		if (p->resv[i])
			return -EINVAL;
	if (p->flags & ~SETUP_FLAGS)
		return -EINVAL;
	/* The kernel's rules: the flag reports task work nobody interrupts
	 * for, and deferring it needs a single task to run it. */
	if ((p->flags & IORING_SETUP_TASKRUN_FLAG) &&
	    !(p->flags & (IORING_SETUP_COOP_TASKRUN | IORING_SETUP_DEFER_TASKRUN)))
		return -EINVAL;
	if ((p->flags & IORING_SETUP_DEFER_TASKRUN) &&
	    !(p->flags & IORING_SETUP_SINGLE_ISSUER))
		return -EINVAL;
	/* The submission thread is nobody's task to interrupt, and its CPU
	 * is asked for only with it. */
	if ((p->flags & IORING_SETUP_SQPOLL) &&
	    (p->flags & (IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG |
			 IORING_SETUP_DEFER_TASKRUN)))
		return -EINVAL;
	if ((p->flags & IORING_SETUP_SQ_AFF) &&
	    !(p->flags & IORING_SETUP_SQPOLL))
		return -EINVAL;
	/* Without a descriptor the rings could not be mapped. */
	if ((p->flags & IORING_SETUP_REGISTERED_FD_ONLY) &&
	    !(p->flags & IORING_SETUP_NO_MMAP))
		return -EINVAL;
	/* A CQE32 ring has no 16-byte CQEs to mix with. */
	if ((p->flags & IORING_SETUP_CQE32) &&
	    (p->flags & IORING_SETUP_CQE_MIXED))
		return -EINVAL;
	return 0;
}

static struct ua_ctx *ctx_alloc(unsigned flags, unsigned sq, unsigned cq)
{
	struct ua_ctx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx)
		return NULL;
	ua_uaccess_get();
	ctx->setup_flags = flags;
	ctx->sq_entries = sq;
	ctx->cq_entries = cq;
	ctx->disabled = flags & IORING_SETUP_R_DISABLED;
	ctx->features = FEATURES;
	ctx->mem_fd = ctx->cq_efd = -1;
	/* SINGLE_ISSUER: the creator submits, or whoever enables the ring. */
	if (!ctx->disabled) {
		ctx->submitter = pthread_self();
		ctx->has_submitter = true;
	}
	pthread_mutex_init(&ctx->uring_lock, NULL);
	pthread_mutex_init(&ctx->completion_lock, NULL);
	pthread_mutex_init(&ctx->buf_lock, NULL);
	pthread_mutex_init(&ctx->ev_fd_lock, NULL);
	ua_files_init(ctx);
	ua_bufs_init(ctx);
	ua_list_init(&ctx->defer);
	ua_list_init(&ctx->iopoll_done);
	return ctx;
}

/* A ring still filed under this number lost its descriptor to close()
 * without a release: nobody can reach it any more. Most numbers hold no
 * ring, or a torn-down ring's mark: two loads tell, where a failed get
 * would ask the kernel why (a statx per ring setup). */
static void release_stale_ring(int fd)
{
	struct ua_ctx *stale;
	bool owner;
	int err;

	if (!ua_ctx_lookup(fd))
		return;
	stale = ua_ctx_get(fd, &err, &owner);
	if (stale) {
		ua_ctx_release(stale, owner);
		ua_ctx_put(stale, owner);
	}
}

/*
 * IORING_SETUP_ATTACH_WQ names a ring by descriptor: checked before the
 * new ring takes a descriptor of its own, which could reuse a closed
 * wq_fd's number. Alone it only checks, as every ring shares the
 * process's workers; SQPOLL joins the ring's submission thread later.
 */
static int check_attach_wq(const struct io_uring_params *p)
{
	if (!(p->flags & IORING_SETUP_ATTACH_WQ))
		return 0;
	return ua_attach_wq_check(p);
}

/* The submission thread of an SQPOLL ring. */
static int attach_sq(struct ua_ctx *ctx, const struct io_uring_params *p)
{
	if (p->flags & IORING_SETUP_SQPOLL)
		return ua_sqpoll_attach(ctx, p);
	return 0;
}

/*
 * IORING_SETUP_REGISTERED_FD_ONLY: the ring is known only by its index
 * among the calling thread's registered rings, which setup returns; its
 * descriptor is closed, as the kernel makes none. With the table full,
 * the ring goes again (-EBUSY), as the kernel's does.
 */
static int register_only(struct ua_ctx *ctx)
{
	int fd = ctx->fd, idx = ua_ringfd_add(fd);

	if (idx < 0)
		release_stale_ring(fd);
	else
		ua_ctx_detach_fd(ctx);
	close(fd);
	return idx;
}

/* The parameters are read into a copy and written back whole once the
 * ring exists, as the kernel does: -EFAULT, and no ring, if either fails. */
UA_PUBLIC int io_uring_setup(unsigned int entries, struct io_uring_params *up)
{
	struct io_uring_params params, *p = &params;
	struct ua_ctx *ctx;
	unsigned sq, cq;
	bool poll_fd;
	int ret;

	if (ua_copy_from_user(p, (__u64) (uintptr_t) up, sizeof(*p)))
		return -EFAULT;
	poll_fd = p->resv[2] == UA_SETUP_RESV_POLL_FD;
	if (poll_fd) {
		p->resv[2] = 0;
		/* A ring known only by its index has no descriptor to
		 * poll, as the kernel's. */
		poll_fd = ua_ring_fronts_reached() &&
			  !(p->flags & IORING_SETUP_REGISTERED_FD_ONLY);
	}
	ua_issue_register();
	ua_ring_set_teardown(ua_ctx_destroy);
	ret = ua_fork_watch();
	if (!ret)
		ret = ua_ringfd_task_init();
	if (!ret)
		ret = check_params(p);
	if (!ret)
		ret = check_attach_wq(p);
	if (!ret)
		ret = ua_ring_sizes(entries, p, &sq, &cq);
	if (!ret)
		ret = ua_ring_check_mixed_cq(p, cq);
	if (ret)
		return ret;
	ctx = ctx_alloc(p->flags, sq, cq);
	if (!ctx)
		return -ENOMEM;
	ret = ua_ring_create(ctx, p);
	if (ret)
		goto free_ctx;
	if (poll_fd) {
		ret = ua_ring_make_pollable(ctx);
		if (ret)
			goto close_ring;
	}
	ret = ua_iowq_init(&ctx->wq, sq);
	if (ret)
		goto close_ring;
	ret = ua_poller_init(ctx);
	if (ret)
		goto stop_workers;
	ret = attach_sq(ctx, p);
	if (ret)
		goto shut_down;
	p->sq_entries = sq;
	p->cq_entries = cq;
	p->features = ctx->features;
	ret = ua_copy_to_user((__u64) (uintptr_t) up, p, sizeof(*p));
	if (ret)
		goto shut_down;
	release_stale_ring(ctx->fd);
	ret = ua_ctx_install(ctx);
	if (ret)
		goto shut_down;
	if (p->flags & IORING_SETUP_REGISTERED_FD_ONLY)
		return register_only(ctx);
	return ctx->fd;

	/* Each step undoes what succeeded before it; ctx_shutdown() also
	 * stops the workers. */
shut_down:
	ua_sqpoll_detach(ctx);
	ua_ctx_shutdown(ctx);
	goto close_ring;
stop_workers:
	ua_iowq_shutdown(ctx);
close_ring:
	close(ctx->fd);
free_ctx:
	ua_ctx_free(ctx);
	return ret;
}

/* ts, a valid timespec, as a MONOTONIC deadline. */
static void deadline_from(const struct ua_ctx *ctx,
			  const struct __kernel_timespec *ts, bool absolute,
			  struct timespec *deadline)
{
	if (absolute) {
		deadline->tv_sec = ts->tv_sec;
		deadline->tv_nsec = ts->tv_nsec;
		ua_wait_deadline_to_monotonic(ctx, deadline);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, deadline);
	deadline->tv_sec += ts->tv_sec;
	deadline->tv_nsec += ts->tv_nsec;
	if (deadline->tv_nsec >= 1000000000) {
		deadline->tv_sec++;
		deadline->tv_nsec -= 1000000000;
	}
}

static int timespec_arg(const struct ua_ctx *ctx, __u64 uts, bool absolute,
			struct timespec *deadline)
{
	struct __kernel_timespec ts;

	if (ua_copy_from_user(&ts, uts, sizeof(ts)))
		return -EFAULT;
	if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
		return -EINVAL;
	deadline_from(ctx, &ts, absolute, deadline);
	return 0;
}

/* A registered wait argument's timespec is not checked, as the kernel's
 * is not: one before the epoch is already past, and nanoseconds carry. */
static void reg_timespec_arg(const struct ua_ctx *ctx,
			     struct __kernel_timespec ts, bool absolute,
			     struct timespec *deadline)
{
	if (ts.tv_sec < 0 || ts.tv_nsec < 0) {
		ts.tv_sec = 0;
		ts.tv_nsec = 0;
	}
	ts.tv_sec += ts.tv_nsec / 1000000000;
	ts.tv_nsec %= 1000000000;
	deadline_from(ctx, &ts, absolute, deadline);
}

/* What the decoded wait arguments point at. */
struct wait_copy {
	struct timespec	deadline, min_deadline;
	sigset_t	mask;
	int		mask_err;	/* the mask could not be taken */
};

/* The kernel reads the signal mask only when it is about to sleep: its
 * errors count only for a wait that needs completions (get_events). */
static void sigmask_arg(__u64 umask, size_t size, struct ua_wait_args *w,
			struct wait_copy *c)
{
	if (!umask)
		return;
	c->mask_err = -EINVAL;
	if (size != SIGSET_SIZE)
		return;
	sigemptyset(&c->mask);
	c->mask_err = ua_copy_from_user(&c->mask, umask, SIGSET_SIZE);
	if (!c->mask_err)
		w->sigmask = &c->mask;
}

/* min_wait_usec, from now, whatever the deadline's clock or kind. */
static void min_wait_arg(__u32 usec, struct ua_wait_args *w,
			 struct wait_copy *c)
{
	if (!usec)
		return;
	clock_gettime(CLOCK_MONOTONIC, &c->min_deadline);
	c->min_deadline.tv_sec += usec / 1000000;
	c->min_deadline.tv_nsec += (long) (usec % 1000000) * 1000;
	if (c->min_deadline.tv_nsec >= 1000000000) {
		c->min_deadline.tv_sec++;
		c->min_deadline.tv_nsec -= 1000000000;
	}
	w->min_deadline = &c->min_deadline;
}

/* IORING_ENTER_EXT_ARG_REG: argp is the offset of the arguments in the
 * ring's wait region (region.c). */
static int reg_wait_args(struct ua_ctx *ctx, unsigned flags,
			 const void *argp, size_t argsz,
			 struct ua_wait_args *w, struct wait_copy *c)
{
	struct io_uring_reg_wait rw;
	int ret = ua_region_wait_arg(ctx, (__u64) (uintptr_t) argp, argsz,
				     &rw);

	if (ret)
		return ret;
	min_wait_arg(rw.min_wait_usec, w, c);
	sigmask_arg(rw.sigmask, rw.sigmask_sz, w, c);
	if (rw.flags & IORING_REG_WAIT_TS) {
		reg_timespec_arg(ctx, rw.ts, flags & IORING_ENTER_ABS_TIMER,
				 &c->deadline);
		w->deadline = &c->deadline;
	}
	return 0;
}

/* Decodes the wait arguments: a sigset, or io_uring_getevents_arg. */
static int wait_args(struct ua_ctx *ctx, unsigned flags,
		     const void *argp, size_t argsz, struct ua_wait_args *w,
		     struct wait_copy *c)
{
	struct io_uring_getevents_arg arg;

	w->deadline = NULL;
	w->min_deadline = NULL;
	w->sigmask = NULL;
	c->mask_err = 0;
	if (!(flags & IORING_ENTER_EXT_ARG)) {
		if (flags & IORING_ENTER_ABS_TIMER)
			return -EINVAL;
		sigmask_arg((__u64) (uintptr_t) argp, argsz, w, c);
		return 0;
	}
	if (flags & IORING_ENTER_EXT_ARG_REG)
		return reg_wait_args(ctx, flags, argp, argsz, w, c);
	if (argsz != sizeof(arg))
		return -EINVAL;
	if (ua_copy_from_user(&arg, (__u64) (uintptr_t) argp, sizeof(arg)))
		return -EFAULT;
	min_wait_arg(arg.min_wait_usec, w, c);
	sigmask_arg(arg.sigmask, arg.sigmask_sz, w, c);
	if (arg.ts) {
		int ret = timespec_arg(ctx, arg.ts,
				       flags & IORING_ENTER_ABS_TIMER,
				       &c->deadline);
		if (ret)
			return ret;
		w->deadline = &c->deadline;
	}
	return 0;
}

static int get_events(struct ua_ctx *ctx, unsigned min_complete,
		      struct ua_wait_args *w, int mask_err)
{
	if (min_complete > ctx->cq_entries)
		min_complete = ctx->cq_entries;
	if (mask_err && min_complete)
		return mask_err;
	if (ctx->setup_flags & IORING_SETUP_IOPOLL)
		return ua_iopoll_get_events(ctx, min_complete, w->deadline);
	w->min_complete = min_complete;
	return ua_cq_wait(ctx, w);
}

/* SINGLE_ISSUER: only the submitter task may submit or register, and with
 * DEFER_TASKRUN only it may wait, as the kernel enforces (-EEXIST). */
static bool foreign_thread(const struct ua_ctx *ctx)
{
	return (ctx->setup_flags & IORING_SETUP_SINGLE_ISSUER) &&
	       __atomic_load_n(&ctx->has_submitter, __ATOMIC_ACQUIRE) &&
	       !pthread_equal(ctx->submitter, pthread_self());
}

static int enter_ring(struct ua_ctx *ctx, unsigned to_submit,
		      unsigned min_complete, unsigned flags, const void *argp,
		      size_t argsz)
{
	struct wait_copy copy;
	struct ua_wait_args w;
	int submitted = 0, ret = 0;

	/* A ring made before fork() is driven by the parent only (fork.c). */
	if (ua_ctx_inherited(ctx))
		return -EEXIST;
	if (flags & ~ENTER_FLAGS)
		return -EINVAL;
	if (__atomic_load_n(&ctx->disabled, __ATOMIC_ACQUIRE))
		return -EBADFD;
	if (((to_submit && !ctx->sqd) ||
	     ((flags & IORING_ENTER_GETEVENTS) && ua_ctx_polls_inline(ctx))) &&
	    foreign_thread(ctx))
		return -EEXIST;
	if (flags & IORING_ENTER_GETEVENTS) {
		ret = wait_args(ctx, flags, argp, argsz, &w, &copy);
		if (ret)
			return ret;
	}
	if (ctx->sqd) {
		/* The thread submits: to_submit is only echoed back. */
		if (flags & IORING_ENTER_SQ_WAKEUP)
			ua_sqpoll_wake(ctx);
		if (flags & IORING_ENTER_SQ_WAIT)
			ua_sqpoll_wait_space(ctx);
		submitted = (int) to_submit;
	} else if (to_submit) {
		pthread_mutex_lock(&ctx->uring_lock);
		submitted = ua_submit_sqes(ctx, to_submit);
		pthread_mutex_unlock(&ctx->uring_lock);
		if (submitted < 0)
			return submitted;
		/* Like the kernel: a short submission does not wait. */
		if ((unsigned) submitted != to_submit)
			return submitted;
	}
	if (flags & IORING_ENTER_GETEVENTS)
		ret = get_events(ctx, min_complete, &w, copy.mask_err);
	return submitted ? submitted : ret;
}

/* A call of the application's: its copies may use the fault guard. */
static int enter_guarded(struct ua_ctx *ctx, unsigned to_submit,
			 unsigned min_complete, unsigned flags,
			 const void *argp, size_t argsz)
{
	int ret;

	ua_uaccess_begin();
	ret = enter_ring(ctx, to_submit, min_complete, flags, argp, argsz);
	ua_uaccess_end();
	return ret;
}

/*
 * Through the calling thread's registered ring idx: the table's reference
 * holds the ring for the call, since only this thread could drop it. A
 * released ring fails as its descriptor would.
 */
static int enter_registered(unsigned idx, unsigned to_submit,
			    unsigned min_complete, unsigned flags,
			    const void *argp, size_t argsz)
{
	int ret;
	struct ua_ctx *ctx = ua_ringfd_lookup(idx, &ret);

	if (!ctx)
		return ret;
	if (ua_ctx_dead(ctx))
		return -EBADF;
	return enter_guarded(ctx, to_submit, min_complete, flags, argp, argsz);
}

/* The call holds the ring: a teardown racing it waits for its return. */
static int enter(unsigned fd, unsigned to_submit, unsigned min_complete,
		 unsigned flags, const void *argp, size_t argsz)
{
	bool owner;
	int ret;
	struct ua_ctx *ctx;

	if (flags & IORING_ENTER_REGISTERED_RING)
		return enter_registered(fd, to_submit, min_complete, flags,
					argp, argsz);
	ctx = ua_ctx_get((int) fd, &ret, &owner);
	if (!ctx)
		return ret;
	ret = enter_guarded(ctx, to_submit, min_complete, flags, argp, argsz);
	ua_ctx_put(ctx, owner);
	return ret;
}

UA_PUBLIC int io_uring_enter2(unsigned int fd, unsigned int to_submit,
			      unsigned int min_complete, unsigned int flags,
			      void *arg, size_t sz)
{
	return enter(fd, to_submit, min_complete, flags, arg, sz);
}

UA_PUBLIC int io_uring_enter(unsigned int fd, unsigned int to_submit,
			     unsigned int min_complete, unsigned int flags,
			     sigset_t *sig)
{
	return enter(fd, to_submit, min_complete, flags, sig, SIGSET_SIZE);
}

/* The registered-ring opcodes work on the calling thread's table, not on
 * the ring named: like the kernel's, they need it only to be a ring. */
static bool ringfd_opcode(unsigned int opcode)
{
	return opcode == IORING_REGISTER_RING_FDS ||
	       opcode == IORING_UNREGISTER_RING_FDS;
}

static int ringfd_op(unsigned int opcode, const void *arg,
		     unsigned int nr_args)
{
	if (opcode == IORING_REGISTER_RING_FDS)
		return ua_ringfd_register(arg, nr_args);
	return ua_ringfd_unregister(arg, nr_args);
}

/* IORING_REGISTER_QUERY answers with what setup and enter accept. */
static int query(const void *arg, unsigned int nr_args)
{
	static const struct ua_query_answers answers = {
		.features = FEATURES,
		.setup_flags = SETUP_FLAGS,
		.enter_flags = ENTER_FLAGS,
		.sqe_flags = UA_SQE_FLAGS,
	};

	return ua_query(arg, nr_args, &answers);
}

static int register_ring(struct ua_ctx *ctx, bool owner, unsigned int opcode,
			 const void *arg, unsigned int nr_args)
{
	if (opcode == UA_REGISTER_RELEASE_RING) {
		ua_ctx_release(ctx, owner);
		return 0;
	}
	if (opcode == UA_REGISTER_DETACH_FD) {
		ua_ctx_detach_fd(ctx);
		return 0;
	}
	if (opcode == UA_REGISTER_MAP_FD)
		return ua_ring_map_fd(ctx);
	/* A ring made before fork() is driven by the parent only (fork.c). */
	if (ua_ctx_inherited(ctx) || foreign_thread(ctx))
		return -EEXIST;
	if (ua_register_refused(ctx, opcode))
		return -EACCES;
	if (ringfd_opcode(opcode))
		return ringfd_op(opcode, arg, nr_args);
	if (opcode == IORING_REGISTER_QUERY)
		return query(arg, nr_args);
	return ua_register(ctx, opcode, arg, nr_args);
}

static int register_guarded(struct ua_ctx *ctx, bool owner,
			    unsigned int opcode, const void *arg,
			    unsigned int nr_args)
{
	int ret;

	/* Part of the setup: its copy, like io_uring_setup's, takes no
	 * guard, which the thread would otherwise trust from now on, before
	 * the application sets its signals up (uaccess.c). */
	if (opcode == UA_REGISTER_RING_MAPS)
		return ua_ring_user_maps(ctx, (void *) arg);
	ua_uaccess_begin();
	ret = register_ring(ctx, owner, opcode, arg, nr_args);
	ua_uaccess_end();
	return ret;
}

/*
 * Through the calling thread's registered ring idx. The call counts its
 * own reference: it may unregister that very entry. The table's opcodes
 * also work on a released ring, so that io_uring_queue_exit can free the
 * entry of a ring whose descriptor is closed.
 */
static int register_registered(unsigned idx, unsigned int opcode,
			       const void *arg, unsigned int nr_args)
{
	int ret;
	struct ua_ctx *ctx = ua_ringfd_lookup(idx, &ret);

	if (!ctx)
		return ret;
	if (!ua_ctx_tryget(ctx)) {
		if (!ringfd_opcode(opcode))
			return -EBADF;
		ua_uaccess_begin();
		ret = ringfd_op(opcode, arg, nr_args);
		ua_uaccess_end();
		return ret;
	}
	ret = register_guarded(ctx, false, opcode, arg, nr_args);
	ua_ctx_put_ref(ctx);
	return ret;
}

/* The kernel's IORING_REGISTER_LAST (6.18): an opcode past it is refused
 * before the descriptor is looked at. */
#define UA_REGISTER_LAST	36u

/* The user side's own opcodes (ua_private.h), past any of the kernel's. */
static bool library_opcode(unsigned int opcode)
{
	return opcode == UA_REGISTER_RELEASE_RING ||
	       opcode == UA_REGISTER_DETACH_FD ||
	       opcode == UA_REGISTER_MAP_FD ||
	       opcode == UA_REGISTER_RING_MAPS;
}

/*
 * Holds the ring for the call; a release tears it down at the last put.
 * Descriptor -1 is for the opcodes that need no ring (msg_ring.c), as on
 * the kernel whether or not the registered-ring flag is set.
 */
UA_PUBLIC int io_uring_register(unsigned int fd, unsigned int opcode,
				const void *arg, unsigned int nr_args)
{
	unsigned int op = opcode & ~IORING_REGISTER_USE_REGISTERED_RING;
	bool owner;
	int ret;
	struct ua_ctx *ctx;

	if (op >= UA_REGISTER_LAST && !library_opcode(op))
		return -EINVAL;
	if ((int) fd == -1) {
		ua_uaccess_begin();
		if (op == IORING_REGISTER_QUERY)
			ret = query(arg, nr_args);
		else
			ret = ua_register_blind(op, arg, nr_args);
		ua_uaccess_end();
		return ret;
	}
	if (opcode & IORING_REGISTER_USE_REGISTERED_RING)
		return register_registered(fd, op, arg, nr_args);
	ctx = ua_ctx_get((int) fd, &ret, &owner);
	if (!ctx)
		return ret;
	ret = register_guarded(ctx, owner, opcode, arg, nr_args);
	ua_ctx_put(ctx, owner);
	return ret;
}
