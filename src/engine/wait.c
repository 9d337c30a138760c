/* SPDX-License-Identifier: MIT */
/*
 * Waiting for completions: one loop for every wait, with the kernel's
 * rules (io_cqring_wait). Overflowed CQEs are flushed first; the wait spins
 * briefly, then announces itself, fences, re-checks the CQ and sleeps on
 * whichever primitive the ring needs:
 *   - the futex on cq_seq, by default;
 *   - epoll_wait on the ring's epoll instance while requests are parked
 *     (always with DEFER_TASKRUN): the waiter runs the readiness events
 *     itself (poll.c), and completions posted by others reach it through
 *     the poller's wake_fd.
 * A wait that the deadline or a signal ends still succeeds when any CQE is
 * there to be reaped: -ETIME and -EINTR only with an empty CQ.
 *
 * The announce is the handshake of <liburing/barrier.h>: a waiter counts
 * itself in (cq_waiters or epoll_waiters, full fence) and re-checks the CQ
 * before sleeping; a poster publishes the tail, fences, and wakes only if
 * it sees a waiter (ua_cq_wake). Either the waiter sees the tail or the
 * poster sees the waiter, so no wakeup is lost, and a ring nobody sleeps on
 * never pays for a wakeup.
 */
#include <errno.h>
#include <sched.h>
#include <linux/futex.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "liburing/barrier.h"
#include "engine/aio.h"
#include "engine/cq.h"
#include "engine/poll.h"
#include "engine/lock.h"
#include "engine/ring.h"
#include "engine/submit.h"
#include "engine/sys.h"
#include "engine/uaccess.h"
#include "engine/wait.h"

/* About 10-20 µs on these machines: less than one cross-CPU wakeup. */
#define SPIN_ITERATIONS	2000
#define WAIT_EVENTS	64	/* readiness events taken per epoll_wait */

static unsigned cq_ready(struct ua_ctx *ctx)
{
	return io_uring_smp_load_acquire(ctx->cq_tail) -
	       io_uring_smp_load_acquire(ctx->cq_head);
}

static bool enough(struct ua_ctx *ctx, unsigned min_complete)
{
	return cq_ready(ctx) >= min_complete;
}

/*
 * The completions of an SQPOLL ring come from its submission thread,
 * which the scheduler often puts on the waiter's CPU: spinning there only
 * keeps it from running, so the spin looks now and then whether it is
 * there, and then yields to it instead (yield_for). Yielding to whatever
 * else runs on this CPU would hand that the CPU for a time slice.
 */
#define SQPOLL_YIELD_EVERY	256

/*
 * A spin that finds nothing, or finds it only late, has taken its CPU
 * from the threads that were to post (with two CPUs, the very workers
 * running the fsyncs a waiter waits for) for longer than a sleep and a
 * wakeup cost: once a thread's spins have missed SPINS_MISSED_MAX times in
 * a row, its waits sleep at once, but one in SPIN_RETRY_EVERY, which spins
 * to see whether completions arrive that fast again.
 */
#define SPINS_MISSED_MAX	4
#define SPIN_RETRY_EVERY	16
#define SPIN_PAYS		(SPIN_ITERATIONS / 4)

static __thread unsigned spins_missed;

static void note_spin_missed(void)
{
	if (spins_missed < SPINS_MISSED_MAX)
		spins_missed++;
}

/*
 * An SQPOLL ring whose thread runs on this CPU (sqpoll.c publishes where,
 * -1 while it sleeps): its CQEs come only while this thread leaves it the
 * CPU, so each look yields, and the thread, seeing the waiter counted
 * beside it, yields back after its turn.
 */
static bool beside_sq_thread(struct ua_ctx *ctx)
{
	int cpu = __atomic_load_n(&ctx->sq_cpu, __ATOMIC_RELAXED);

	return cpu >= 0 && cpu == sched_getcpu();
}

static bool yield_for(struct ua_ctx *ctx, unsigned min_complete)
{
	bool got = false;
	unsigned i;

	__atomic_fetch_add(&ctx->sq_beside, 1, __ATOMIC_RELAXED);
	for (i = 0; i < SPIN_ITERATIONS / SQPOLL_YIELD_EVERY; i++) {
		got = enough(ctx, min_complete);
		if (got)
			break;
		sched_yield();
	}
	__atomic_fetch_sub(&ctx->sq_beside, 1, __ATOMIC_RELAXED);
	return got;
}

static bool spin_for(struct ua_ctx *ctx, unsigned min_complete)
{
	bool sqpoll = ctx->setup_flags & IORING_SETUP_SQPOLL;
	unsigned i;

	/* An SQPOLL ring's thread posts at once when it runs, and the spin
	 * yields to it: that spin always pays. */
	if (!sqpoll && spins_missed >= SPINS_MISSED_MAX &&
	    spins_missed++ % SPIN_RETRY_EVERY)
		return false;
	if (sqpoll && beside_sq_thread(ctx))
		return yield_for(ctx, min_complete);
	for (i = 0; i < SPIN_ITERATIONS; i++) {
		if (enough(ctx, min_complete)) {
			if (i < SPIN_PAYS || sqpoll)
				spins_missed = 0;
			else
				note_spin_missed();
			return true;
		}
		if (sqpoll && i % SQPOLL_YIELD_EVERY == SQPOLL_YIELD_EVERY - 1 &&
		    beside_sq_thread(ctx))
			return yield_for(ctx, min_complete);
		ua_cpu_relax();
	}
	if (!sqpoll)
		note_spin_missed();
	return false;
}

/* Sleeps until cq_seq moves from seq, the deadline passes or a signal. */
static int futex_sleep(unsigned *word, unsigned seq,
		       const struct timespec *deadline)
{
	long ret = syscall(SYS_futex, word,
			   FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, seq,
			   deadline, NULL, FUTEX_BITSET_MATCH_ANY);

	if (ret == 0 || errno == EAGAIN)
		return 0;
	if (errno == ETIMEDOUT)
		return -ETIME;
	return -errno;
}

/* True when a signal already pending is one the wait's mask unblocks: its
 * handler runs as soon as the mask is installed, so the wait is -EINTR. */
static bool mask_unblocks_pending(const sigset_t *mask)
{
	sigset_t pending;
	int sig;

	if (sigpending(&pending))
		return false;
	for (sig = 1; sig < _NSIG; sig++)
		if (sigismember(&pending, sig) == 1 && !sigismember(mask, sig))
			return true;
	return false;
}

/*
 * With a signal mask, the wait runs under that mask like the kernel's
 * (a signal it lets through ends the wait with -EINTR). Installing the
 * mask and sleeping are two calls, so a signal landing in between is
 * noticed only when the next completion or the deadline ends the sleep.
 */
static int sleep_masked(unsigned *word, unsigned seq,
			const struct ua_wait_args *args)
{
	bool interrupted = mask_unblocks_pending(args->sigmask);
	sigset_t saved;
	int ret = -EINTR;

	pthread_sigmask(SIG_SETMASK, args->sigmask, &saved);
	if (!interrupted)
		ret = futex_sleep(word, seq, args->deadline);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	return ret;
}

/* The time left until deadline, or -ETIME when it has passed. */
static int time_left(const struct timespec *deadline, struct timespec *left)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	left->tv_sec = deadline->tv_sec - now.tv_sec;
	left->tv_nsec = deadline->tv_nsec - now.tv_nsec;
	if (left->tv_nsec < 0) {
		left->tv_sec--;
		left->tv_nsec += 1000000000;
	}
	return left->tv_sec < 0 ? -ETIME : 0;
}

/*
 * Sleeps in epoll_wait until a readiness event, a wake from a poster, the
 * deadline or a signal the mask lets through; then runs the events, once
 * no longer counted among the waiters (its own CQEs need not wake it).
 */
static int sleep_in_poller(struct ua_ctx *ctx, const struct ua_wait_args *args)
{
	struct ua_poller *p = &ctx->poller;
	struct epoll_event ev[WAIT_EVENTS];
	struct timespec left;
	int n = 0;

	if (args->deadline && time_left(args->deadline, &left))
		return -ETIME;
	__atomic_fetch_add(&p->epoll_waiters, 1, __ATOMIC_SEQ_CST);
	if (!enough(ctx, args->min_complete) && !ua_overflow_pending(ctx))
		n = ua_sys_epoll_pwait2(ua_poller_epfd(ctx), ev, WAIT_EVENTS,
					args->deadline ? &left : NULL,
					args->sigmask);
	__atomic_fetch_sub(&p->epoll_waiters, 1, __ATOMIC_RELAXED);
	if (n < 0)
		return errno == EINTR ? -EINTR : -errno;
	if (n > 0)
		ua_poll_dispatch(ctx, ev, n);
	return 0;
}

static int sleep_on_futex(struct ua_ctx *ctx, const struct ua_wait_args *args)
{
	unsigned seq;
	int ret = 0;

	__atomic_fetch_add(&ctx->cq_waiters, 1, __ATOMIC_SEQ_CST);
	seq = __atomic_load_n(&ctx->cq_seq, __ATOMIC_SEQ_CST);
	if (!enough(ctx, args->min_complete) && !ua_overflow_pending(ctx)) {
		if (args->sigmask)
			ret = sleep_masked(&ctx->cq_seq, seq, args);
		else
			ret = futex_sleep(&ctx->cq_seq, seq, args->deadline);
	}
	__atomic_fetch_sub(&ctx->cq_waiters, 1, __ATOMIC_RELAXED);
	return ret;
}

/*
 * Spinning only pays where other threads post: a waiter that runs the
 * readiness events itself would only delay them, so it sleeps in epoll at
 * once (epoll_wait returns at once for what is ready).
 */
static int wait_loop(struct ua_ctx *ctx, const struct ua_wait_args *args,
		     bool in_poller)
{
	bool spun = in_poller;
	int ret;

	for (;;) {
		if (ua_overflow_pending(ctx))
			ua_overflow_flush(ctx);
		if (enough(ctx, args->min_complete))
			return 0;
		if (!spun) {
			spun = true;
			if (spin_for(ctx, args->min_complete))
				return 0;
			continue;
		}
		ua_aio_reap_ready(ctx);
		if (enough(ctx, args->min_complete))
			return 0;
		/* The ring's transfers at the device: their events wake this
		 * thread, with no reaper in between (a mask is the futex's). */
		if (!in_poller && !args->sigmask) {
			ret = ua_aio_wait_events(ctx, args->deadline);
			if (ret < 0)
				return cq_ready(ctx) ? 0 : ret;
			if (ret)
				continue;
		}
		/* A ring that never parked a request has no instance yet:
		 * nothing to run, and posters wake the futex. */
		ret = in_poller && ua_poller_epfd(ctx) >= 0 ?
			sleep_in_poller(ctx, args) : sleep_on_futex(ctx, args);
		/* Like the kernel: a wait cut short by the deadline or a
		 * signal still succeeds if any CQE is there to be reaped. */
		if (ret)
			return cq_ready(ctx) ? 0 : ret;
	}
}

/*
 * The wait sleeps on CLOCK_MONOTONIC: a BOOTTIME deadline is moved by the
 * clocks' difference when the wait starts, so time the machine spends
 * suspended during the wait does not count toward it.
 */
void ua_wait_deadline_to_monotonic(const struct ua_ctx *ctx,
				   struct timespec *deadline)
{
	struct timespec mono, boot;

	if (!__atomic_load_n(&ctx->wait_boottime, __ATOMIC_RELAXED))
		return;
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_BOOTTIME, &boot);
	deadline->tv_sec -= boot.tv_sec - mono.tv_sec;
	deadline->tv_nsec -= boot.tv_nsec - mono.tv_nsec;
	if (deadline->tv_nsec < 0) {
		deadline->tv_sec--;
		deadline->tv_nsec += 1000000000;
	} else if (deadline->tv_nsec >= 1000000000) {
		deadline->tv_sec++;
		deadline->tv_nsec -= 1000000000;
	}
}

/* The kernel's checks: a zeroed reserve, and one of the two clocks. */
int ua_wait_set_clock(struct ua_ctx *ctx, const void *arg)
{
	struct io_uring_clock_register reg;

	if (ua_copy_from_user(&reg, (__u64) (uintptr_t) arg, sizeof(reg)))
		return -EFAULT;
	if (reg.__resv[0] || reg.__resv[1] || reg.__resv[2])
		return -EINVAL;
	if (reg.clockid != CLOCK_MONOTONIC && reg.clockid != CLOCK_BOOTTIME)
		return -EINVAL;
	__atomic_store_n(&ctx->wait_boottime, reg.clockid == CLOCK_BOOTTIME,
			 __ATOMIC_RELAXED);
	return 0;
}

static bool earlier(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/*
 * A wait with a minimum (getevents_arg.min_wait_usec), by the kernel's
 * rule: min_complete CQEs or the minimum, whichever comes first, even
 * past the deadline; then, unless a CQE came meanwhile or the deadline is
 * no later, a single CQE or the deadline.
 */
static int wait_for(struct ua_ctx *ctx, const struct ua_wait_args *args,
		    bool in_poller)
{
	struct ua_wait_args part = *args;
	unsigned tail;
	int ret;

	if (!args->min_deadline)
		return wait_loop(ctx, args, in_poller);
	tail = io_uring_smp_load_acquire(ctx->cq_tail);
	part.deadline = args->min_deadline;
	ret = wait_loop(ctx, &part, in_poller);
	if (ret != -ETIME || !args->deadline ||
	    !earlier(args->min_deadline, args->deadline) ||
	    tail != io_uring_smp_load_acquire(ctx->cq_tail))
		return ret;
	part.deadline = args->deadline;
	part.min_complete = 1;
	return wait_loop(ctx, &part, in_poller);
}

/* io_uring_enter's GETEVENTS; min_complete 0 only runs what is ready. */
int ua_cq_wait(struct ua_ctx *ctx, const struct ua_wait_args *args)
{
	bool in_poller = ua_poll_waits_here(ctx);
	int ret;

	if (!args->min_complete) {
		if (in_poller)
			ua_poll_run_ready(ctx);
		if (ua_overflow_pending(ctx))
			ua_overflow_flush(ctx);
		return 0;
	}
	if (!in_poller)
		return wait_for(ctx, args, false);
	ua_poll_wait_begin(ctx);
	ret = wait_for(ctx, args, true);
	ua_poll_wait_end(ctx);
	return ret;
}

/*
 * Waits for the next completion of the ring, but at most a millisecond (a
 * completion whose CQE is skipped wakes nobody), or until deadline passes:
 * then -ETIME. For callers that retry something after each completion.
 */
int ua_cq_wait_change(struct ua_ctx *ctx, const struct timespec *deadline)
{
	struct timespec now, until;
	unsigned seq;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (deadline && (now.tv_sec > deadline->tv_sec ||
			 (now.tv_sec == deadline->tv_sec &&
			  now.tv_nsec >= deadline->tv_nsec)))
		return -ETIME;
	until = now;
	until.tv_nsec += 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	if (deadline && (deadline->tv_sec < until.tv_sec ||
			 (deadline->tv_sec == until.tv_sec &&
			  deadline->tv_nsec < until.tv_nsec)))
		until = *deadline;
	__atomic_fetch_add(&ctx->cq_waiters, 1, __ATOMIC_SEQ_CST);
	seq = __atomic_load_n(&ctx->cq_seq, __ATOMIC_SEQ_CST);
	ret = futex_sleep(&ctx->cq_seq, seq, &until);
	__atomic_fetch_sub(&ctx->cq_waiters, 1, __ATOMIC_RELAXED);
	return ret == -ETIME ? 0 : ret;
}

/* Posts what is held, in the order it finished, as one run: what the
 * requests release (the next links) is issued after their CQEs. */
void ua_iopoll_reap(struct ua_ctx *ctx)
{
	struct ua_completion_batch run;
	struct ua_req_list done;
	struct ua_req *req;

	pthread_mutex_lock(&ctx->completion_lock);
	done = ctx->iopoll_done;
	if (!done.head)
		done.tail = &done.head;
	ua_list_init(&ctx->iopoll_done);
	pthread_mutex_unlock(&ctx->completion_lock);
	if (!done.head)
		return;
	ua_run_begin(ctx, &run);
	while ((req = ua_list_pop(&done))) {
		req->state &= (__u8) ~UA_REQ_IOPOLL;
		ua_batch_add(ctx, &run, req);
	}
	ua_run_end(ctx, &run);
}

static unsigned iopoll_cq_ready(struct ua_ctx *ctx)
{
	return io_uring_smp_load_acquire(ctx->cq_tail) -
	       io_uring_smp_load_acquire(ctx->cq_head);
}

/*
 * GETEVENTS on an IOPOLL ring: reaps, and until min_complete CQEs are in
 * the ring (or the deadline passes: -ETIME with none), waits for the next
 * completion and reaps again, as the kernel polls until it has enough.
 */
int ua_iopoll_get_events(struct ua_ctx *ctx, unsigned min_complete,
			 const struct timespec *deadline)
{
	int ret;

	for (;;) {
		ua_iopoll_reap(ctx);
		if (ua_overflow_pending(ctx))
			ua_overflow_flush(ctx);
		if (iopoll_cq_ready(ctx) >= min_complete)
			return 0;
		ret = ua_cq_wait_change(ctx, deadline);
		if (ret)
			return iopoll_cq_ready(ctx) ? 0 : ret;
	}
}
