/* SPDX-License-Identifier: MIT */
/*
 * IORING_SETUP_SQPOLL: a thread that consumes the submission rings, so the
 * application submits by storing the SQ tail, with no io_uring_enter().
 *
 * As the kernel's: one thread per group of rings. A ring set up with
 * IORING_SETUP_ATTACH_WQ joins the group of the ring wq_fd names; any
 * other starts a group, and a thread, of its own (pinned to sq_thread_cpu
 * with IORING_SETUP_SQ_AFF). The thread serves its rings in turn, under
 * the group's lock, each under its uring_lock through the one submission
 * path (ua_submit_sqes), as io_uring_enter() would.
 *
 * Idling: after the last SQE it found, the thread spins SPIN_NS, then
 * looks at the rings every POLL_SLEEP_NS until sq_thread_idle has passed
 * (the kernel spins all of it: uring-alike(7)). Then it sets
 * IORING_SQ_NEED_WAKEUP in every ring of the group and sleeps until
 * io_uring_enter(IORING_ENTER_SQ_WAKEUP). The handshake is the one of
 * <liburing/barrier.h>: the thread sets the flag, fences, and looks at
 * the tails once more; the application stores the tail, fences, and reads
 * the flag. Either the thread sees the SQE or the application sees the
 * flag and wakes it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include "liburing/barrier.h"
#include "engine/lock.h"
#include "engine/ring.h"
#include "engine/ringref.h"
#include "engine/sqpoll.h"
#include "engine/submit.h"

#define DEFAULT_IDLE_MS	1000	/* the kernel's: HZ */
#define SPIN_NS		100000	/* then look every POLL_SLEEP_NS */
#define POLL_SLEEP_NS	50000
#define SHARED_BATCH	8	/* SQEs per ring and turn in a shared group */

struct ua_sq_data {
	pthread_mutex_t	lock;		/* the rings, the state below */
	pthread_cond_t	wake;		/* wake_seq moved, or stop */
	pthread_cond_t	space;		/* the thread consumed SQEs */
	struct ua_ctx	*rings;		/* linked by sq_next */
	unsigned	idle_ms;	/* the longest of the rings' */
	unsigned	wake_seq;
	unsigned	space_waiters;
	bool		stop;
	pthread_t	thread;
};

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static bool ring_enabled(struct ua_ctx *ctx)
{
	return !__atomic_load_n(&ctx->disabled, __ATOMIC_ACQUIRE);
}

/* SQEs the application published that the thread has not consumed. */
static unsigned sq_pending(struct ua_ctx *ctx)
{
	return io_uring_smp_load_acquire(ctx->sq_tail) - ctx->cached_sq_head;
}

static bool any_pending(struct ua_sq_data *sqd)
{
	struct ua_ctx *ctx;

	for (ctx = sqd->rings; ctx; ctx = ctx->sq_next)
		if (ring_enabled(ctx) && sq_pending(ctx))
			return true;
	return false;
}

/* One turn over the rings: whether any SQE was consumed. */
static bool submit_pass(struct ua_sq_data *sqd)
{
	bool shared = sqd->rings && sqd->rings->sq_next;
	struct ua_ctx *ctx;
	bool progress = false;
	unsigned nr;

	ua_lock_assert_held(&sqd->lock);
	for (ctx = sqd->rings; ctx; ctx = ctx->sq_next) {
		if (!ring_enabled(ctx))
			continue;
		nr = sq_pending(ctx);
		if (!nr)
			continue;
		if (shared && nr > SHARED_BATCH)
			nr = SHARED_BATCH;
		pthread_mutex_lock(&ctx->uring_lock);
		if (ua_submit_sqes(ctx, nr) > 0)
			progress = true;
		pthread_mutex_unlock(&ctx->uring_lock);
	}
	if (progress && sqd->space_waiters)
		pthread_cond_broadcast(&sqd->space);
	return progress;
}

static void set_need_wakeup(struct ua_sq_data *sqd, bool on)
{
	struct ua_ctx *ctx;

	for (ctx = sqd->rings; ctx; ctx = ctx->sq_next) {
		if (on && ring_enabled(ctx))
			__atomic_fetch_or(ctx->sq_flags, IORING_SQ_NEED_WAKEUP,
					  __ATOMIC_SEQ_CST);
		else if (!on)
			__atomic_fetch_and(ctx->sq_flags, ~IORING_SQ_NEED_WAKEUP,
					   __ATOMIC_RELAXED);
	}
}

/* Idle past sq_thread_idle: asleep until an SQ_WAKEUP enter, an attach
 * or an enable moves wake_seq, or the group ends. */
static void sleep_until_woken(struct ua_sq_data *sqd)
{
	unsigned seq = sqd->wake_seq;

	set_need_wakeup(sqd, true);
	/* Full fence: the flag before the tails, against the application's
	 * tail before the flag. */
	io_uring_smp_mb();
	if (!any_pending(sqd))
		while (seq == sqd->wake_seq && !sqd->stop)
			pthread_cond_wait(&sqd->wake, &sqd->lock);
	set_need_wakeup(sqd, false);
}

/* A spin of a few microseconds, or a short sleep without the lock; then
 * the lock is dropped a moment, for a waker or a ring joining or leaving. */
static void idle_pause(struct ua_sq_data *sqd, long long idle_for)
{
	struct timespec ts = { 0, POLL_SLEEP_NS };
	int i;

	if (idle_for < SPIN_NS)
		for (i = 0; i < 64 && !any_pending(sqd); i++)
			cpu_relax();
	pthread_mutex_unlock(&sqd->lock);
	if (idle_for >= SPIN_NS)
		nanosleep(&ts, NULL);
	pthread_mutex_lock(&sqd->lock);
}

/* The thread starts asleep, with NEED_WAKEUP set, as the kernel's does. */
static void *sq_thread_main(void *arg)
{
	struct ua_sq_data *sqd = arg;
	long long last = LLONG_MIN / 2, idle_for;

	pthread_mutex_lock(&sqd->lock);
	while (!sqd->stop) {
		if (submit_pass(sqd)) {
			last = now_ns();
			continue;
		}
		idle_for = now_ns() - last;
		if (idle_for < (long long) sqd->idle_ms * 1000000) {
			idle_pause(sqd, idle_for);
			continue;
		}
		sleep_until_woken(sqd);
		last = now_ns();
	}
	pthread_mutex_unlock(&sqd->lock);
	return NULL;
}

/* With every signal blocked (signals stay the application's), pinned to
 * cpu when it is not -1. */
static int start_thread(struct ua_sq_data *sqd, int cpu)
{
	pthread_attr_t attr;
	sigset_t all, saved;
	cpu_set_t set;
	int ret;

	ret = pthread_attr_init(&attr);
	if (ret)
		return -ret;
	if (cpu >= 0) {
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	ret = pthread_create(&sqd->thread, &attr, sq_thread_main, sqd);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	pthread_attr_destroy(&attr);
	return -ret;
}

/* The kernel's check of sq_thread_cpu: a CPU the caller may run on. */
static int check_cpu(unsigned cpu)
{
	cpu_set_t allowed;

	if (cpu >= CPU_SETSIZE ||
	    sched_getaffinity(0, sizeof(allowed), &allowed) ||
	    !CPU_ISSET(cpu, &allowed))
		return -EINVAL;
	return 0;
}

static struct ua_sq_data *sqd_alloc(void)
{
	struct ua_sq_data *sqd = calloc(1, sizeof(*sqd));

	if (!sqd)
		return NULL;
	pthread_mutex_init(&sqd->lock, NULL);
	pthread_cond_init(&sqd->wake, NULL);
	pthread_cond_init(&sqd->space, NULL);
	return sqd;
}

static void sqd_free(struct ua_sq_data *sqd)
{
	pthread_cond_destroy(&sqd->space);
	pthread_cond_destroy(&sqd->wake);
	pthread_mutex_destroy(&sqd->lock);
	free(sqd);
}

/*
 * The ring wq_fd names, held, or NULL with the kernel's error: -ENXIO for
 * a descriptor that is not open, -EINVAL for one that is not a ring.
 */
static struct ua_ctx *wq_ring_get(int fd, bool *owner, int *err)
{
	struct ua_ctx *ctx = ua_ctx_get(fd, err, owner);

	if (ctx)
		return ctx;
	*err = (fd < 0 || fcntl(fd, F_GETFD) < 0) ? -ENXIO : -EINVAL;
	return NULL;
}

/* IORING_SETUP_ATTACH_WQ without SQPOLL: only the descriptor is checked,
 * since every ring of the process already shares the worker pool. */
int ua_attach_wq_check(const struct io_uring_params *p)
{
	struct ua_ctx *wq;
	bool owner;
	int err;

	wq = wq_ring_get((int) p->wq_fd, &owner, &err);
	if (!wq)
		return err;
	ua_ctx_put(wq, owner);
	return 0;
}

/*
 * The group of the ring wq_fd names, in *sqd (NULL: start one), with that
 * ring held in *wq until the new ring has joined: the group lives as long
 * as any of its rings. As the kernel: a ring without a submission thread
 * is -EINVAL, and a ring of the parent process (fork.c) cannot share its
 * thread, so the new ring starts a group.
 */
static int attach_target(const struct io_uring_params *p,
			 struct ua_sq_data **sqd, struct ua_ctx **wq,
			 bool *owner)
{
	int err;

	*sqd = NULL;
	*wq = NULL;
	if (!(p->flags & IORING_SETUP_ATTACH_WQ))
		return 0;
	*wq = wq_ring_get((int) p->wq_fd, owner, &err);
	if (!*wq)
		return err;
	if (!(*wq)->sqd) {
		ua_ctx_put(*wq, *owner);
		*wq = NULL;
		return -EINVAL;
	}
	if (!ua_ctx_inherited(*wq))
		*sqd = (*wq)->sqd;
	return 0;
}

static void join_group(struct ua_sq_data *sqd, struct ua_ctx *ctx,
		       unsigned idle)
{
	pthread_mutex_lock(&sqd->lock);
	ctx->sq_idle_ms = idle;
	if (idle > sqd->idle_ms)
		sqd->idle_ms = idle;
	ctx->sq_next = sqd->rings;
	sqd->rings = ctx;
	ctx->sqd = sqd;
	/* A sleeping thread would not see the new ring's SQEs. */
	sqd->wake_seq++;
	pthread_cond_signal(&sqd->wake);
	pthread_mutex_unlock(&sqd->lock);
}

/* A group of its own for ctx, its thread started once ctx is in it. */
static int start_group(struct ua_ctx *ctx, const struct io_uring_params *p,
		       unsigned idle)
{
	struct ua_sq_data *sqd;
	int cpu = -1, err;

	if (p->flags & IORING_SETUP_SQ_AFF) {
		err = check_cpu(p->sq_thread_cpu);
		if (err)
			return err;
		cpu = (int) p->sq_thread_cpu;
	}
	sqd = sqd_alloc();
	if (!sqd)
		return -ENOMEM;
	join_group(sqd, ctx, idle);
	err = start_thread(sqd, cpu);
	if (err) {
		ctx->sqd = NULL;
		sqd_free(sqd);
	}
	return err;
}

/* Setup of an SQPOLL ring: into a group, before the ring is installed. */
int ua_sqpoll_attach(struct ua_ctx *ctx, const struct io_uring_params *p)
{
	unsigned idle = p->sq_thread_idle ? p->sq_thread_idle : DEFAULT_IDLE_MS;
	struct ua_sq_data *sqd;
	struct ua_ctx *wq;
	bool owner;
	int err = attach_target(p, &sqd, &wq, &owner);

	if (err)
		return err;
	if (sqd)
		join_group(sqd, ctx, idle);
	else
		err = start_group(ctx, p, idle);
	/* After the join: this put may tear wq down, and detach it. */
	if (wq)
		ua_ctx_put(wq, owner);
	return err;
}

static void unlink_ring(struct ua_sq_data *sqd, struct ua_ctx *ctx)
{
	struct ua_ctx **pp, *r;

	ua_lock_assert_held(&sqd->lock);
	for (pp = &sqd->rings; *pp != ctx; pp = &(*pp)->sq_next)
		;
	*pp = ctx->sq_next;
	sqd->idle_ms = 0;
	for (r = sqd->rings; r; r = r->sq_next)
		if (r->sq_idle_ms > sqd->idle_ms)
			sqd->idle_ms = r->sq_idle_ms;
}

/*
 * Teardown, before anything else of the ring: once the thread's turn is
 * over, it never sees the ring again. The last ring stops the thread.
 * Called without the ring's uring_lock, which the thread takes under the
 * group's lock.
 */
void ua_sqpoll_detach(struct ua_ctx *ctx)
{
	struct ua_sq_data *sqd = ctx->sqd;
	bool last;

	if (!sqd)
		return;
	pthread_mutex_lock(&sqd->lock);
	unlink_ring(sqd, ctx);
	last = !sqd->rings;
	if (last) {
		sqd->stop = true;
		pthread_cond_signal(&sqd->wake);
	}
	pthread_cond_broadcast(&sqd->space);
	pthread_mutex_unlock(&sqd->lock);
	ctx->sqd = NULL;
	if (last) {
		pthread_join(sqd->thread, NULL);
		sqd_free(sqd);
	}
}

/* IORING_ENTER_SQ_WAKEUP, and a ring enabled or attached. */
void ua_sqpoll_wake(struct ua_ctx *ctx)
{
	struct ua_sq_data *sqd = ctx->sqd;

	pthread_mutex_lock(&sqd->lock);
	sqd->wake_seq++;
	pthread_cond_signal(&sqd->wake);
	pthread_mutex_unlock(&sqd->lock);
}

static bool sq_full(struct ua_ctx *ctx)
{
	unsigned head = io_uring_smp_load_acquire(ctx->sq_head);

	return io_uring_smp_load_acquire(ctx->sq_tail) - head >=
	       ctx->sq_entries;
}

/*
 * IORING_ENTER_SQ_WAIT: until the thread has made room in the SQ. As on
 * the kernel, a sleeping thread makes none: the application wakes it
 * first (IORING_ENTER_SQ_WAKEUP in the same call does).
 */
void ua_sqpoll_wait_space(struct ua_ctx *ctx)
{
	struct ua_sq_data *sqd = ctx->sqd;

	pthread_mutex_lock(&sqd->lock);
	sqd->space_waiters++;
	while (sq_full(ctx))
		pthread_cond_wait(&sqd->space, &sqd->lock);
	sqd->space_waiters--;
	pthread_mutex_unlock(&sqd->lock);
}
