/* SPDX-License-Identifier: MIT */
/*
 * The worker pool ("io-wq"): threads for work that must block.
 *
 * Two classes, as in the kernel: bounded work (regular files and block
 * devices, where a blocked call always finishes) and unbounded work (pipes,
 * sockets, ttys, which may wait forever). Requests with equal hash_key
 * (buffered writes to one file) never run concurrently and keep their
 * order, like io-wq hashing.
 *
 * The threads are the process's, as the kernel's io-wq is a task's and not
 * a ring's; queues, limits and the accounting against them are the ring's.
 * A ring with queued work and fewer workers of the class than its limit
 * takes an idle worker from the process's pool, or starts one; the worker
 * serves that ring's queue of that class while it has work, then goes back
 * to the pool (so a ring's workers are those running or about to run its
 * work, and its teardown waits for those only). A worker idle in the pool
 * for IDLE_SECONDS exits unless it is the last, which stays while any ring
 * exists; with the last ring, all exit.
 *
 * Workers run with every signal blocked, so the application's signals never
 * land on them; a worker waiting for a stream to become ready waits in
 * poll() together with the process's cancel_fd. To interrupt a worker, a
 * canceller (or teardown, for each worker of its ring) marks it
 * (interrupt) and adds one token to cancel_fd, a semaphore eventfd, both
 * under the ring's wq->lock; the marked worker takes the token back, so
 * the eventfd is readable only while some worker has not yet noticed that
 * it was interrupted (the others meanwhile yield and poll again). The
 * descriptor is made at the first ring's setup and kept: the engine never
 * opens one while requests are in flight.
 *
 * A worker inside any other system call (a write to a full pipe or socket,
 * the open of a FIFO without a peer) is interrupted as io-wq interrupts
 * its workers with a notify signal: by a signal reserved for the engine
 * (interrupt_sig), the only one workers leave unblocked, whose handler does
 * nothing and is installed without SA_RESTART, so the call fails with
 * EINTR (or returns what it moved) and the request completes. A canceller
 * marks the worker (stop) under wq->lock, so a worker that has moved on to
 * other work is never marked; the signal may land just before the worker
 * enters its call, so it is sent again, with a growing pause, until the
 * worker has left the request: by the process's timer, so the canceller
 * returns at once and waits for no worker (a LINK_TIMEOUT cancels on the
 * timer's thread, which serves every ring).
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "engine/cancel.h"
#include "engine/iowq.h"
#include "engine/list.h"
#include "engine/lock.h"
#include "engine/req.h"
#include "engine/ring.h"
#include "engine/submit.h"
#include "engine/percpu_ref.h"
#include "engine/personality.h"

#define IDLE_SECONDS	5
/* Re-sends of the interrupt: the first after about one wakeup's cost. */
#define FIRST_PAUSE_NS	10000L
#define MAX_PAUSE_NS	10000000L
/* How long a cancellation keeps interrupting before it leaves the work to
 * finish on its own (a worker always leaves an interrupted request unless
 * the call is one no signal ends, such as a disk read). */
#define CANCEL_PATIENCE_NS 100000000L

/* The ring's fields are under its wq->lock while ctx is set; pool_next and
 * the wake-up under pool.lock. */
struct ua_worker {
	struct ua_worker	*next;		/* the ring's workers */
	struct ua_worker	*pool_next;	/* the idle ones */
	struct ua_ctx		*ctx;		/* the ring served; NULL: idle */
	pthread_t		thread;
	pthread_cond_t		wake;		/* given a ring, or the end */
	unsigned		cls;
	__u64			running_hash;	/* hash of the work in hand */
	struct ua_req		*cur;		/* the work in hand */
	bool			in_wait;	/* in poll(): interruptible */
	bool			interrupt;	/* a token for it is in cancel_fd */
	bool			stop;		/* cur is cancelled: interrupt it */
	bool			cancelled;	/* cur is cancelled: never park it */
	/* The CPU mask it runs with: aff_gen of the ring's that it follows,
	 * or 0 for its own (own, saved before the first change). */
	unsigned		aff_gen;
	bool			own_saved;
	cpu_set_t		own;
};

/* The process's idle workers, under pool.lock. */
static struct {
	pthread_mutex_t		lock;
	struct ua_worker	*idle;
	unsigned		nr_idle;
	unsigned		rings;		/* rings set up */
	int			cancel_fd;	/* eventfd: wakes workers in poll() */
} pool = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cancel_fd = -1,
};

static __thread struct ua_worker *this_worker;

/* RLIMIT_NPROC, read at the first ring's setup (a ring's setup should not
 * pay a prlimit) and again by IORING_REGISTER_IOWQ_MAX_WORKERS, which
 * follows a changed limit. -1: not read yet. */
static long long process_nproc = -1;

static unsigned nproc_limit(bool reread)
{
	long long limit = __atomic_load_n(&process_nproc, __ATOMIC_RELAXED);
	struct rlimit rl;

	if (limit >= 0 && !reread)
		return (unsigned) limit;
	if (getrlimit(RLIMIT_NPROC, &rl) || rl.rlim_cur > UINT32_MAX)
		limit = UINT32_MAX;
	else
		limit = (long long) rl.rlim_cur;
	__atomic_store_n(&process_nproc, limit, __ATOMIC_RELAXED);
	return (unsigned) limit;
}

/* The signal that interrupts a worker's system call; 0: none. */
static int interrupt_sig;
static pthread_once_t interrupt_sig_chosen = PTHREAD_ONCE_INIT;
static bool interrupt_sig_lost;

static void on_interrupt(int sig)
{
	(void) sig;	/* the interrupted call fails with EINTR: that is all */
}

static bool install_interrupt(int sig)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt;	/* no SA_RESTART: the call must end */
	sigfillset(&sa.sa_mask);
	return !sigaction(sig, &sa, NULL);
}

/*
 * The first realtime signal from SIGRTMAX down that nobody handles (glibc
 * keeps its own below SIGRTMIN; programs tend to count up from SIGRTMIN),
 * or the one URING_ALIKE_SIGNAL names; anything there that is not a
 * realtime signal number (0, say) asks for none.
 */
static void choose_interrupt_sig(void)
{
	const char *env = secure_getenv("URING_ALIKE_SIGNAL");
	struct sigaction old;
	char *end;
	long n;
	int sig;

	if (env) {
		n = strtol(env, &end, 10);
		if (*env && !*end && n >= SIGRTMIN && n <= SIGRTMAX &&
		    install_interrupt((int) n))
			interrupt_sig = (int) n;
		return;
	}
	for (sig = SIGRTMAX; sig >= SIGRTMIN; sig--) {
		if (sigaction(sig, NULL, &old) || old.sa_handler != SIG_DFL ||
		    (old.sa_flags & SA_SIGINFO))
			continue;
		if (install_interrupt(sig)) {
			interrupt_sig = sig;
			return;
		}
	}
}

/*
 * Whether the signal is still the engine's. A program that installed its
 * own handler on it since would see that handler run on workers: the
 * signal is no longer sent, such work runs to its end again, and the
 * program is told once.
 */
static bool interrupt_sig_ours(void)
{
	struct sigaction cur;

	if (!interrupt_sig || sigaction(interrupt_sig, NULL, &cur))
		return false;
	if (cur.sa_handler == on_interrupt)
		return true;
	if (!__atomic_exchange_n(&interrupt_sig_lost, true, __ATOMIC_RELAXED))
		fprintf(stderr, "uring-alike: the program handles signal %d, "
			"which interrupts blocked work; such work now runs "
			"to its end (see uring-alike(7))\n", interrupt_sig);
	return false;
}

static long pause_after(long pause_ns)
{
	return pause_ns < MAX_PAUSE_NS / 2 ? pause_ns * 2 : MAX_PAUSE_NS;
}

static void init_monotonic_cond(pthread_cond_t *cond)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
}

int ua_iowq_init(struct ua_iowq *wq, unsigned sq_entries)
{
	unsigned bound = ua_nr_cpus() * 4;

	pthread_mutex_lock(&pool.lock);
	/* Made with the first ring, never later: a descriptor the engine
	 * opened while requests are in flight could take a number the
	 * application just closed and that a queued request still names. */
	if (pool.cancel_fd < 0)
		pool.cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK |
					    EFD_SEMAPHORE);
	if (pool.cancel_fd < 0) {
		pthread_mutex_unlock(&pool.lock);
		return -errno;
	}
	pool.rings++;
	pthread_mutex_unlock(&pool.lock);
	pthread_mutex_init(&wq->lock, NULL);
	init_monotonic_cond(&wq->left);
	wq->cls[IO_WQ_BOUND].max_workers = bound < sq_entries ? bound : sq_entries;
	wq->cls[IO_WQ_UNBOUND].max_workers = nproc_limit(false);
	return 0;
}

static bool hash_busy(struct ua_iowq *wq, __u64 key)
{
	struct ua_worker *w;

	for (w = wq->workers; w; w = w->next)
		if (w->running_hash == key)
			return true;
	return false;
}

/* First queued request whose file is not being written by another worker. */
static struct ua_req *take_work(struct ua_iowq *wq, struct ua_wq_class *c)
{
	struct ua_req *prev = NULL, *req;

	for (req = c->head; req; prev = req, req = req->next) {
		if (req->hash_key && hash_busy(wq, req->hash_key))
			continue;
		if (prev)
			prev->next = req->next;
		else
			c->head = req->next;
		if (c->tail == req)
			c->tail = prev;
		return req;
	}
	return NULL;
}

/* Runs the ring's queue of the worker's class while it has work, then
 * leaves the ring, which it touches no more. */
static void serve_ring(struct ua_worker *w)
{
	struct ua_iowq *wq = &w->ctx->wq;
	struct ua_wq_class *c = &wq->cls[w->cls];
	struct ua_worker **pp;
	struct ua_req *req;

	ua_cred_recheck();
	pthread_mutex_lock(&wq->lock);
	while ((req = take_work(wq, c))) {
		w->running_hash = req->hash_key;
		w->cur = req;
		pthread_mutex_unlock(&wq->lock);
		ua_issue_up->issue_work(req);
		pthread_mutex_lock(&wq->lock);
		w->running_hash = 0;
		w->cur = NULL;
		w->stop = false;	/* interrupts target cur only */
		w->cancelled = false;
	}
	for (pp = &wq->workers; *pp != w; pp = &(*pp)->next)
		;
	*pp = w->next;
	c->nr_workers--;
	pthread_cond_broadcast(&wq->left);
	pthread_mutex_unlock(&wq->lock);
}

static void pool_remove_idle(struct ua_worker *w)
{
	struct ua_worker **pp;

	for (pp = &pool.idle; *pp != w; pp = &(*pp)->pool_next)
		;
	*pp = w->pool_next;
	pool.nr_idle--;
}

/*
 * In the pool until a ring gives the worker work; false: it exits (idle
 * for IDLE_SECONDS and not the last, or no ring left).
 */
static bool wait_for_ring(struct ua_worker *w)
{
	struct timespec deadline;
	bool served;

	pthread_mutex_lock(&pool.lock);
	w->ctx = NULL;
	w->pool_next = pool.idle;
	pool.idle = w;
	pool.nr_idle++;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += IDLE_SECONDS;
	while (!w->ctx && pool.rings) {
		if (pthread_cond_timedwait(&w->wake, &pool.lock, &deadline) !=
		    ETIMEDOUT || w->ctx)
			continue;
		if (pool.nr_idle > 1)
			break;
		deadline.tv_sec += IDLE_SECONDS;
	}
	served = w->ctx;
	if (!served)
		pool_remove_idle(w);
	pthread_mutex_unlock(&pool.lock);
	return served;
}

static void *worker_main(void *arg)
{
	struct ua_worker *w = arg;

	this_worker = w;
	do
		serve_ring(w);
	while (wait_for_ring(w));
	pthread_cond_destroy(&w->wake);
	free(w);
	return NULL;
}

/* Each registered mask has its own number: a worker that follows one
 * needs no new one when it serves the same ring again. */
static unsigned aff_generation;

/*
 * Gives w the CPUs of the ring it serves, or its own when the ring has
 * none; a change costs a system call, the common case (no mask, or the
 * one it has) nothing. A mask no CPU of the process is in is refused by
 * the system: w keeps the CPUs it had. wq->lock held.
 */
static void follow_ring_affinity(struct ua_iowq *wq, struct ua_worker *w)
{
	ua_lock_assert_held(&wq->lock);
	if (w->aff_gen == wq->aff_gen)
		return;
	if (!w->own_saved)
		w->own_saved = !pthread_getaffinity_np(w->thread,
						       sizeof(w->own), &w->own);
	if (!w->own_saved)
		return;
	pthread_setaffinity_np(w->thread, sizeof(w->own),
			       wq->aff_gen ? &wq->aff : &w->own);
	w->aff_gen = wq->aff_gen;
}

/* Like the kernel's, which gives the mask to the workers it starts from
 * then on, the workers already serving the ring keep their CPUs. */
void ua_iowq_set_affinity(struct ua_iowq *wq, const cpu_set_t *mask)
{
	pthread_mutex_lock(&wq->lock);
	if (mask) {
		wq->aff = *mask;
		wq->aff_gen = __atomic_add_fetch(&aff_generation, 1,
						 __ATOMIC_RELAXED);
	} else {
		wq->aff_gen = 0;
	}
	pthread_mutex_unlock(&wq->lock);
}

/* w now serves ctx's queue of class cls, on the ring's CPUs; wq->lock
 * held. */
static void join_ring(struct ua_ctx *ctx, unsigned cls, struct ua_worker *w)
{
	ua_lock_assert_held(&ctx->wq.lock);
	follow_ring_affinity(&ctx->wq, w);
	w->next = ctx->wq.workers;
	ctx->wq.workers = w;
	ctx->wq.cls[cls].nr_workers++;
}

/* Gives the ring an idle worker of the pool; wq->lock held. */
static bool take_idle_worker(struct ua_ctx *ctx, unsigned cls)
{
	struct ua_worker *w;

	ua_lock_assert_held(&ctx->wq.lock);
	pthread_mutex_lock(&pool.lock);
	w = pool.idle;
	if (w) {
		pool_remove_idle(w);
		w->ctx = ctx;
		w->cls = cls;
		pthread_cond_signal(&w->wake);
	}
	pthread_mutex_unlock(&pool.lock);
	if (w)
		join_ring(ctx, cls, w);
	return w;
}

/* A new worker, for ctx's queue of class cls; wq->lock held. */
static bool spawn_worker(struct ua_ctx *ctx, unsigned cls)
{
	struct ua_worker *w = calloc(1, sizeof(*w));
	pthread_attr_t attr;
	sigset_t all, saved;
	int ret;

	ua_lock_assert_held(&ctx->wq.lock);
	if (!w)
		return false;
	w->ctx = ctx;
	w->cls = cls;
	init_monotonic_cond(&w->wake);
	pthread_once(&interrupt_sig_chosen, choose_interrupt_sig);
	ret = pthread_attr_init(&attr);
	if (!ret) {
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		/* The new thread inherits this mask: signals stay the app's,
		 * but for the engine's own. */
		sigfillset(&all);
		if (interrupt_sig)
			sigdelset(&all, interrupt_sig);
		pthread_sigmask(SIG_SETMASK, &all, &saved);
		ret = pthread_create(&w->thread, &attr, worker_main, w);
		pthread_sigmask(SIG_SETMASK, &saved, NULL);
		pthread_attr_destroy(&attr);
	}
	if (ret) {
		pthread_cond_destroy(&w->wake);
		free(w);
		return false;
	}
	join_ring(ctx, cls, w);
	return true;
}

static unsigned class_of(const struct ua_req *req)
{
	return req->file_kind == UA_FILE_STREAM ? IO_WQ_UNBOUND : IO_WQ_BOUND;
}

/* Moves a class's whole queue to out; wq->lock held. */
static void take_queued(struct ua_wq_class *c, struct ua_req_list *out)
{
	struct ua_req *req, *next;

	for (req = c->head; req; req = next) {
		next = req->next;
		ua_list_add(out, req);
	}
	c->head = c->tail = NULL;
}

void ua_iowq_enqueue(struct ua_ctx *ctx, struct ua_req *req)
{
	struct ua_iowq *wq = &ctx->wq;
	unsigned cls = class_of(req);
	struct ua_wq_class *c = &wq->cls[cls];
	struct ua_req_list lost;

	ua_list_init(&lost);
	req->next = NULL;
	pthread_mutex_lock(&wq->lock);
	if (c->tail)
		c->tail->next = req;
	else
		c->head = req;
	c->tail = req;
	if (c->nr_workers < c->max_workers && !wq->exiting &&
	    !take_idle_worker(ctx, cls))
		spawn_worker(ctx, cls);
	/* No thread can run the queue, now or later: fail it, lose nothing. */
	if (!c->nr_workers)
		take_queued(c, &lost);
	pthread_mutex_unlock(&wq->lock);
	ua_issue_up->complete_list(ctx, &lost, -ECANCELED);
}

/* Whether this worker's request is cancelled: takes back the token a
 * canceller left for it, or sees the mark of one that signalled it outside
 * poll(); wq->lock held. */
static bool interrupted(struct ua_worker *w)
{
	__u64 token;

	ua_lock_assert_held(&w->ctx->wq.lock);
	if (!w->interrupt)
		return w->stop;
	w->interrupt = false;
	/* Written under wq->lock before interrupt was set: one is there. */
	if (read(pool.cancel_fd, &token, sizeof(token)) < 0)
		abort();
	return true;
}

/*
 * Waits for fd readiness, for a cancellation of this worker's request or
 * for teardown. Returns 0, or -ECANCELED.
 */
int ua_iowq_wait_ready(struct ua_ctx *ctx, int fd, short events)
{
	struct ua_iowq *wq = &ctx->wq;
	struct ua_worker *w = this_worker;
	struct pollfd pfd[2] = {
		{ .fd = fd, .events = events },
		{ .fd = pool.cancel_fd, .events = POLLIN },
	};
	int ret = 0;

	for (;;) {
		pthread_mutex_lock(&wq->lock);
		if (interrupted(w) || wq->exiting) {
			pthread_mutex_unlock(&wq->lock);
			return -ECANCELED;
		}
		w->in_wait = true;
		pthread_mutex_unlock(&wq->lock);
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			ret = -errno;
		pthread_mutex_lock(&wq->lock);
		w->in_wait = false;
		/* A token left for it is taken back, teardown or not. */
		if (interrupted(w) || wq->exiting)
			ret = -ECANCELED;
		pthread_mutex_unlock(&wq->lock);
		if (ret || pfd[0].revents)
			return ret;
		/* Another worker's token: let it run to take it back. */
		sched_yield();
	}
}

/*
 * Whether req is this worker's request and a cancellation met it in hand,
 * outside poll(): called by the parking path once req is linked where
 * cancellations look, so a cancellation that looked here first (reporting
 * -EALREADY) and missed it among parked requests is honoured by the
 * parker, and one that comes later finds it parked.
 */
bool ua_iowq_cancelled_in_hand(const struct ua_req *req)
{
	struct ua_worker *w = this_worker;
	bool cancelled;

	/* cur is written by this thread only. */
	if (!w || w->cur != req)
		return false;
	pthread_mutex_lock(&req->ctx->wq.lock);
	cancelled = w->cancelled;
	pthread_mutex_unlock(&req->ctx->wq.lock);
	return cancelled;
}

/* Marks w's request cancelled and signals w, unless w is the caller (its
 * own request runs on); wq->lock held, so w is not joined meanwhile. */
static bool stop_worker(struct ua_worker *w)
{
	ua_lock_assert_held(&w->ctx->wq.lock);
	if (w == this_worker || !interrupt_sig_ours())
		return false;
	w->stop = true;
	pthread_kill(w->thread, interrupt_sig);
	return true;
}

/*
 * The timer's re-send: signals the marked workers again, in case a signal
 * came just before the call it was to interrupt, until each has left its
 * request or CANCEL_PATIENCE_NS has passed (such a request then finishes
 * on its own). Runs on the timer's thread, its lock held: nobody waits
 * for the worker, neither the canceller nor the timer.
 */
static void resend_interrupts(struct ua_timer_node *node)
{
	struct ua_iowq *wq = &node->ctx->wq;
	bool marked = false;
	struct ua_worker *w;

	ua_timer_assert_held();
	pthread_mutex_lock(&wq->lock);
	for (w = wq->workers; w; w = w->next)
		if (w->stop && stop_worker(w))
			marked = true;
	pthread_mutex_unlock(&wq->lock);
	wq->resend_waited += wq->resend_pause;
	wq->resend_pause = pause_after(wq->resend_pause);
	if (marked && wq->resend_waited < CANCEL_PATIENCE_NS)
		ua_timer_arm_service_locked(node->ctx, node,
				ua_clock_ns(CLOCK_MONOTONIC) + (__u64) wq->resend_pause);
}

/* A cancellation signalled workers: the timer signals them again, from
 * the first pause on, and a new cancellation is patient anew. */
static void schedule_resend(struct ua_ctx *ctx)
{
	struct ua_iowq *wq = &ctx->wq;

	ua_timer_lock();
	wq->resend_waited = 0;
	if (!wq->resend.armed) {
		wq->resend_pause = FIRST_PAUSE_NS;
		wq->resend.expire = resend_interrupts;
		ua_timer_arm_service_locked(ctx, &wq->resend,
				ua_clock_ns(CLOCK_MONOTONIC) + FIRST_PAUSE_NS);
	}
	ua_timer_unlock();
}

/* Teardown: the timer re-sends nothing more (it cannot arm for the ring
 * once stopped), and is not doing so now. */
static void stop_resends(struct ua_ctx *ctx)
{
	ua_timer_lock();
	ua_timer_stop_locked(ctx);
	if (ctx->wq.resend.armed)
		ua_timer_disarm_locked(&ctx->wq.resend);
	ua_timer_unlock();
}

/* Leaves w a token in cancel_fd: its poll() returns; wq->lock held. */
static void wake_in_poll(struct ua_worker *w)
{
	__u64 one = 1;

	ua_lock_assert_held(&w->ctx->wq.lock);
	if (write(pool.cancel_fd, &one, sizeof(one)) < 0)
		abort();	/* an eventfd write of 1 */
	w->interrupt = true;
}

/*
 * Cancellation of worker requests: queued ones are detached; a running one
 * waiting in poll() is interrupted; one in another system call is
 * signalled, and reported -EALREADY (or counted with ALL) as io-wq reports
 * the work it signals: its completion carries what the call returned.
 */
int ua_iowq_cancel(struct ua_ctx *ctx, const struct ua_cancel_data *cd,
		   struct ua_req_list *out)
{
	struct ua_iowq *wq = &ctx->wq;
	bool all = ua_cancel_all(cd), running = false, stopping = false;
	struct ua_worker *w;
	int nr = 0, i;

	pthread_mutex_lock(&wq->lock);
	for (i = 0; i < 2 && (all || !nr); i++) {
		struct ua_wq_class *c = &wq->cls[i];
		struct ua_req *req = c->head, *prev = NULL, *next;

		for (; req && (all || !nr); req = next) {
			next = req->next;
			if (!ua_cancel_match(req, cd)) {
				prev = req;
				continue;
			}
			if (prev)
				prev->next = next;
			else
				c->head = next;
			if (c->tail == req)
				c->tail = prev;
			ua_list_add(out, req);
			nr++;
		}
	}
	for (w = wq->workers; w && (all || !nr); w = w->next) {
		if (!w->cur || !ua_cancel_match(w->cur, cd))
			continue;
		if (w->in_wait && !w->interrupt) {
			wake_in_poll(w);
			nr++;
			continue;
		}
		w->cancelled = true;
		if (!w->interrupt && stop_worker(w))
			stopping = true;
		if (all)
			nr++;
		else
			running = true;
	}
	pthread_mutex_unlock(&wq->lock);
	if (stopping)
		schedule_resend(ctx);
	return nr || !running ? nr : -EALREADY;
}

/*
 * Waits until every worker has left the ring, signalling those that run a
 * request: a worker blocked in a system call that may never return (a
 * write nobody reads) is interrupted, one doing bounded work too, as
 * io-wq's are when their ring goes away. A worker may yet take work queued
 * by a completion meanwhile (the next request of a chain), so the ring is
 * watched until none is left. wq->lock held.
 */
static void wait_workers_left(struct ua_iowq *wq)
{
	long pause = FIRST_PAUSE_NS;
	struct timespec deadline;
	struct ua_worker *w;

	ua_lock_assert_held(&wq->lock);
	while (wq->workers) {
		if (!interrupt_sig) {
			pthread_cond_wait(&wq->left, &wq->lock);
			continue;
		}
		for (w = wq->workers; w; w = w->next)
			if (w->cur && interrupt_sig_ours())
				pthread_kill(w->thread, interrupt_sig);
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_nsec += pause;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&wq->left, &wq->lock, &deadline);
		pause = pause_after(pause);
	}
}

/* The last ring is gone: every idle worker exits. */
static void release_ring_from_pool(void)
{
	struct ua_worker *w;

	pthread_mutex_lock(&pool.lock);
	if (!--pool.rings)
		for (w = pool.idle; w; w = w->pool_next)
			pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&pool.lock);
}

/* Teardown: cancel what waits, interrupt what polls or blocks, and wait
 * until no worker serves the ring. */
void ua_iowq_shutdown(struct ua_ctx *ctx)
{
	struct ua_iowq *wq = &ctx->wq;
	struct ua_req_list lost;
	struct ua_worker *w;
	int i;

	stop_resends(ctx);
	ua_list_init(&lost);
	pthread_mutex_lock(&wq->lock);
	wq->exiting = true;
	for (i = 0; i < 2; i++)
		take_queued(&wq->cls[i], &lost);
	/* The ring's workers in poll() wake; the others see exiting first. */
	for (w = wq->workers; w; w = w->next)
		if (w->in_wait && !w->interrupt)
			wake_in_poll(w);
	pthread_mutex_unlock(&wq->lock);
	ua_issue_up->complete_list(ctx, &lost, -ECANCELED);

	pthread_mutex_lock(&wq->lock);
	wait_workers_left(wq);
	pthread_mutex_unlock(&wq->lock);

	pthread_cond_destroy(&wq->left);
	pthread_mutex_destroy(&wq->lock);
	release_ring_from_pool();
}

/* IORING_REGISTER_IOWQ_MAX_WORKERS: set the non-zero limits, return the old. */
int ua_iowq_max_workers(struct ua_iowq *wq, unsigned counts[2])
{
	unsigned limit = nproc_limit(true);
	int i;

	pthread_mutex_lock(&wq->lock);
	for (i = 0; i < 2; i++) {
		unsigned old = wq->cls[i].max_workers;

		if (counts[i])
			wq->cls[i].max_workers = counts[i] < limit ? counts[i] : limit;
		counts[i] = old;
	}
	pthread_mutex_unlock(&wq->lock);
	return 0;
}

/* fork() child: the pool's threads are the parent's; it starts empty. */
void ua_iowq_atfork_child(void)
{
	pthread_mutex_init(&pool.lock, NULL);
	pool.idle = NULL;
	pool.nr_idle = 0;
	pool.rings = 0;
	/* The parent's eventfd (a copy names the same one): the child's
	 * first ring makes its own; the copy stays open (close-on-exec), as
	 * the child may have reused its number. */
	pool.cancel_fd = -1;
}
