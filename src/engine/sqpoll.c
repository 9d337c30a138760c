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
 * Idling: after the last SQE it found, the thread spins, looking at the
 * rings, until sq_thread_idle has passed, as the kernel's. Then it sets
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
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "liburing/barrier.h"
#include "engine/lock.h"
#include "engine/ring.h"
#include "engine/ringref.h"
#include "engine/sqpoll.h"
#include "engine/submit.h"
#include "engine/thread.h"
#include "engine/timer.h"
#include "engine/wait.h"

#define DEFAULT_IDLE_MS	1000	/* the kernel's: HZ */
#define SHARED_BATCH	8	/* SQEs per ring and turn in a shared group */
#define IDLE_SPIN	64	/* looks at the tails per spin between turns */

/*
 * The application never waits for the group's lock, which the thread
 * holds for its turns and while it spins between them: waking the thread
 * and waiting for SQ room are futexes, each a counter moved by whoever
 * has news for the sleeper. A ring joining or leaving asks for the lock
 * (lock_wanted), and the thread hands it over.
 */
struct ua_sq_data {
	pthread_mutex_t	lock;		/* the rings, idle_ms, stop */
	unsigned	lock_wanted;	/* atomic: others waiting for lock */
	struct ua_ctx	*rings;		/* linked by sq_next */
	unsigned	idle_ms;	/* the longest of the rings' */
	bool		stop;
	int		cpu;		/* the thread's last, as in sq_cpu */
	pthread_t	thread;
	unsigned	wake_seq;	/* futex: wake, attach, enable, stop */
	unsigned	space_seq;	/* futex: the thread consumed SQEs */
	unsigned	space_waiters;
};

/* Taken by any thread but the group's own, which holds it most of the
 * time: it lets go when it sees lock_wanted (hand_over_lock). */
static void group_lock(struct ua_sq_data *sqd)
{
	__atomic_fetch_add(&sqd->lock_wanted, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_lock(&sqd->lock);
	__atomic_fetch_sub(&sqd->lock_wanted, 1, __ATOMIC_SEQ_CST);
}

static bool lock_wanted(struct ua_sq_data *sqd)
{
	return __atomic_load_n(&sqd->lock_wanted, __ATOMIC_SEQ_CST);
}

/* The group's thread: until every thread that asked for the lock has had
 * it (relocking at once would find it free again before they wake). */
static void hand_over_lock(struct ua_sq_data *sqd)
{
	pthread_mutex_unlock(&sqd->lock);
	while (lock_wanted(sqd))
		sched_yield();
	pthread_mutex_lock(&sqd->lock);
}

static void futex_wait(unsigned *word, unsigned val)
{
	syscall(SYS_futex, word, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, val, NULL,
		NULL, 0);
}

static void futex_wake_all(unsigned *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, INT_MAX,
		NULL, NULL, 0);
}

/* Whoever has news for a sleeping thread: a wake, a new ring, a ring
 * enabled, the end of the group. */
static void wake_thread(struct ua_sq_data *sqd)
{
	__atomic_fetch_add(&sqd->wake_seq, 1, __ATOMIC_SEQ_CST);
	futex_wake_all(&sqd->wake_seq);
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

/* IOPOLL rings: the thread reaps their transfers, as the kernel's polls. */
static void reap_polled(struct ua_sq_data *sqd)
{
	struct ua_ctx *ctx;

	for (ctx = sqd->rings; ctx; ctx = ctx->sq_next)
		if (ctx->setup_flags & IORING_SETUP_IOPOLL)
			ua_iopoll_reap(ctx);
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
	reap_polled(sqd);
	/* Full fence: the SQ heads before the waiters' count, against a
	 * waiter's count before its look at the head (wait_space). */
	if (progress) {
		__atomic_fetch_add(&sqd->space_seq, 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&sqd->space_waiters, __ATOMIC_SEQ_CST))
			futex_wake_all(&sqd->space_seq);
	}
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

/*
 * Where the thread runs (-1: asleep), for the rings' waiters: one that
 * shares its CPU yields to the thread rather than spin, since its CQEs
 * come only once it leaves the CPU to this thread (wait.c).
 */
static void publish_cpu(struct ua_sq_data *sqd, int cpu)
{
	struct ua_ctx *ctx;

	ua_lock_assert_held(&sqd->lock);
	if (cpu == sqd->cpu)
		return;
	sqd->cpu = cpu;
	for (ctx = sqd->rings; ctx; ctx = ctx->sq_next)
		__atomic_store_n(&ctx->sq_cpu, cpu, __ATOMIC_RELAXED);
}

/* Idle past sq_thread_idle: asleep, without the lock, until wake_seq
 * moves. */
static void sleep_until_woken(struct ua_sq_data *sqd)
{
	unsigned seq = __atomic_load_n(&sqd->wake_seq, __ATOMIC_SEQ_CST);
	bool pending;

	/* Before the flag: whoever sees it asleep sees it on no CPU. */
	publish_cpu(sqd, -1);
	set_need_wakeup(sqd, true);
	/* Full fence: the flag before the tails, against the application's
	 * tail before the flag. */
	io_uring_smp_mb();
	pending = any_pending(sqd);
	if (!pending && !sqd->stop) {
		pthread_mutex_unlock(&sqd->lock);
		futex_wait(&sqd->wake_seq, seq);
		pthread_mutex_lock(&sqd->lock);
	}
	set_need_wakeup(sqd, false);
}

/* A waiter that yields to the thread on its CPU (wait.c). */
static bool any_beside(struct ua_sq_data *sqd)
{
	struct ua_ctx *ctx;

	for (ctx = sqd->rings; ctx; ctx = ctx->sq_next)
		if (__atomic_load_n(&ctx->sq_beside, __ATOMIC_RELAXED))
			return true;
	return false;
}

/* A waiter asleep on a ring, which this turn's CQEs may have woken. */
static bool any_sleeper(struct ua_sq_data *sqd)
{
	struct ua_ctx *ctx;

	for (ctx = sqd->rings; ctx; ctx = ctx->sq_next)
		if (__atomic_load_n(&ctx->cq_waiters, __ATOMIC_RELAXED) ||
		    __atomic_load_n(&ctx->poller.epoll_waiters,
				    __ATOMIC_RELAXED))
			return true;
	return false;
}

/*
 * After a turn that posted completions, while a waiter sleeps or yields
 * beside the thread: that waiter, if it shares this CPU, runs now rather
 * than when the spin's time slice ends (the kernel's thread calls
 * cond_resched() for the same reason). Measured: without it, a
 * submit-and-wait loop on a loaded 2-CPU machine fell to a few thousand
 * round trips a second whenever both threads shared a CPU. A waiter that
 * spins runs on another CPU (see publish_cpu): yielding after every turn
 * would only delay its next SQE by a system call.
 */
static void yield_to_waiters(struct ua_sq_data *sqd)
{
	if (!any_beside(sqd) && !any_sleeper(sqd))
		return;
	pthread_mutex_unlock(&sqd->lock);
	sched_yield();
	pthread_mutex_lock(&sqd->lock);
}

/*
 * Between turns: a spin, looking at the tails, of a microsecond or two,
 * so that an SQE is taken as soon as it is published (the CQE of one
 * round trip and the SQE of the next come within a few hundred
 * nanoseconds). Sleeping or yielding here instead was measured: on a
 * loaded machine each SQE then waits for the timer or for other threads'
 * time slices, and a stream of them never lets the thread catch up; the
 * kernel's thread spins too. Spinning with the lock released, blind to
 * the tails, made a single submit-and-wait loop three times slower.
 */
static void idle_pause(struct ua_sq_data *sqd)
{
	int i;

	for (i = 0; i < IDLE_SPIN; i++) {
		if (lock_wanted(sqd) || any_pending(sqd))
			return;
		/* Nothing to submit: the CPU is the waiter's. */
		if (any_beside(sqd)) {
			yield_to_waiters(sqd);
			return;
		}
		ua_cpu_relax();
	}
}

/* The thread starts asleep, with NEED_WAKEUP set, as the kernel's does. */
static void *sq_thread_main(void *arg)
{
	struct ua_sq_data *sqd = arg;
	__u64 last = 0, idle_for;	/* 0: idle since long ago */

	pthread_mutex_lock(&sqd->lock);
	while (!sqd->stop) {
		if (lock_wanted(sqd))
			hand_over_lock(sqd);
		publish_cpu(sqd, sched_getcpu());
		if (submit_pass(sqd)) {
			last = ua_clock_ns(CLOCK_MONOTONIC);
			yield_to_waiters(sqd);
			continue;
		}
		idle_for = ua_clock_ns(CLOCK_MONOTONIC) - last;
		if (idle_for < (__u64) sqd->idle_ms * 1000000) {
			idle_pause(sqd);
			continue;
		}
		sleep_until_woken(sqd);
		last = ua_clock_ns(CLOCK_MONOTONIC);
	}
	pthread_mutex_unlock(&sqd->lock);
	return NULL;
}

/* With every signal blocked (signals stay the application's), pinned to
 * cpu when it is not -1. */
static int start_thread(struct ua_sq_data *sqd, int cpu)
{
	pthread_attr_t attr;
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
	ret = ua_thread_create(&sqd->thread, &attr, sq_thread_main, sqd);
	pthread_attr_destroy(&attr);
	return ret;
}

/*
 * The kernel's first check of sq_thread_cpu: a CPU that exists and is
 * online, whatever the caller's own affinity. One outside the process's
 * cpuset, its second, fails where the thread is created (-EINVAL).
 */
static int check_cpu(unsigned cpu)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN);

	if (cpu >= CPU_SETSIZE || online < 0 || cpu >= (unsigned long) online)
		return -EINVAL;
	return 0;
}

static struct ua_sq_data *sqd_alloc(void)
{
	struct ua_sq_data *sqd = calloc(1, sizeof(*sqd));

	if (!sqd)
		return NULL;
	pthread_mutex_init(&sqd->lock, NULL);
	sqd->cpu = -1;
	return sqd;
}

static void sqd_free(struct ua_sq_data *sqd)
{
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
	group_lock(sqd);
	ctx->sq_idle_ms = idle;
	if (idle > sqd->idle_ms)
		sqd->idle_ms = idle;
	ctx->sq_cpu = sqd->cpu;
	ctx->sq_next = sqd->rings;
	sqd->rings = ctx;
	ctx->sqd = sqd;
	pthread_mutex_unlock(&sqd->lock);
	/* A sleeping thread would not see the new ring's SQEs. */
	wake_thread(sqd);
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
	group_lock(sqd);
	unlink_ring(sqd, ctx);
	last = !sqd->rings;
	sqd->stop = last;
	pthread_mutex_unlock(&sqd->lock);
	ctx->sqd = NULL;
	if (last) {
		wake_thread(sqd);
		pthread_join(sqd->thread, NULL);
		sqd_free(sqd);
	}
}

/* IORING_ENTER_SQ_WAKEUP, and a ring enabled. */
void ua_sqpoll_wake(struct ua_ctx *ctx)
{
	wake_thread(ctx->sqd);
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
	unsigned seq;

	__atomic_fetch_add(&sqd->space_waiters, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		seq = __atomic_load_n(&sqd->space_seq, __ATOMIC_SEQ_CST);
		if (!sq_full(ctx))
			break;
		futex_wait(&sqd->space_seq, seq);
	}
	__atomic_fetch_sub(&sqd->space_waiters, 1, __ATOMIC_RELAXED);
}
