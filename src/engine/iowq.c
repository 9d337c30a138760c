/* SPDX-License-Identifier: MIT */
/*
 * The worker pool ("io-wq"): threads for work that must block.
 *
 * Two classes, as in the kernel: bounded work (regular files and block
 * devices, where a blocked call always finishes) and unbounded work (pipes,
 * sockets, ttys, which may wait forever). Workers start lazily, up to each
 * class's limit; an idle worker exits after IDLE_SECONDS unless it is the
 * last of its class. Requests with equal hash_key (buffered writes to one
 * file) never run concurrently and keep their order, like io-wq hashing.
 *
 * Workers run with every signal blocked, so the application's signals never
 * land on them; a worker waiting for a stream to become ready waits in
 * poll() together with cancel_fd, which teardown signals to interrupt them
 * all. To interrupt one worker only, a canceller marks it (interrupt) and
 * adds one token to cancel_fd, a semaphore eventfd, both under wq->lock;
 * the marked worker takes the token back, so the eventfd is readable only
 * while some worker has not yet noticed that it was interrupted (the others
 * meanwhile yield and poll again). The descriptor is made at setup: the
 * engine never opens one while requests are in flight.
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
 * worker has left the request.
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

#define IDLE_SECONDS	5
/* Re-sends of the interrupt: the first after about one wakeup's cost. */
#define FIRST_PAUSE_NS	10000L
#define MAX_PAUSE_NS	10000000L
/* How long a cancellation keeps interrupting before it leaves the work to
 * finish on its own (a worker always leaves an interrupted request unless
 * the call is one no signal ends, such as a disk read). */
#define CANCEL_PATIENCE_NS 100000000L

struct ua_worker {
	struct ua_worker	*next;
	struct ua_ctx		*ctx;
	pthread_t		thread;
	unsigned		cls;
	__u64			running_hash;	/* hash of the work in hand */
	struct ua_req		*cur;		/* the work in hand */
	bool			in_wait;	/* in poll(): interruptible */
	bool			interrupt;	/* a token for it is in cancel_fd */
	bool			stop;		/* cur is cancelled: interrupt it */
	bool			exited;		/* ready to be joined */
};

static __thread struct ua_worker *this_worker;

static unsigned nproc_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NPROC, &rl) || rl.rlim_cur > UINT32_MAX)
		return UINT32_MAX;
	return (unsigned) rl.rlim_cur;
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

int ua_iowq_init(struct ua_iowq *wq, unsigned sq_entries)
{
	unsigned bound = ua_nr_cpus() * 4;
	int i;

	/* Made now, never later: a descriptor the engine opened while requests
	 * are in flight could take a number the application just closed and
	 * that a queued request still names. */
	wq->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE);
	if (wq->cancel_fd < 0)
		return -errno;
	pthread_mutex_init(&wq->lock, NULL);
	for (i = 0; i < 2; i++) {
		pthread_condattr_t attr;

		pthread_condattr_init(&attr);
		pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		pthread_cond_init(&wq->cls[i].more_work, &attr);
		pthread_condattr_destroy(&attr);
	}
	wq->cls[IO_WQ_BOUND].max_workers = bound < sq_entries ? bound : sq_entries;
	wq->cls[IO_WQ_UNBOUND].max_workers = nproc_limit();
	return 0;
}

static bool hash_busy(struct ua_iowq *wq, __u64 key)
{
	struct ua_worker *w;

	for (w = wq->workers; w; w = w->next)
		if (!w->exited && w->running_hash == key)
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

static bool idle_wait(struct ua_wq_class *c, pthread_mutex_t *lock)
{
	struct timespec deadline;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += IDLE_SECONDS;
	c->nr_idle++;
	ret = pthread_cond_timedwait(&c->more_work, lock, &deadline);
	c->nr_idle--;
	return ret != ETIMEDOUT;
}

static void *worker_main(void *arg)
{
	struct ua_worker *w = arg;
	struct ua_iowq *wq = &w->ctx->wq;
	struct ua_wq_class *c = &wq->cls[w->cls];
	struct ua_req *req;

	this_worker = w;
	pthread_mutex_lock(&wq->lock);
	for (;;) {
		req = take_work(wq, c);
		if (req) {
			w->running_hash = req->hash_key;
			w->cur = req;
			pthread_mutex_unlock(&wq->lock);
			ua_issue_work(req);
			pthread_mutex_lock(&wq->lock);
			w->running_hash = 0;
			w->cur = NULL;
			w->stop = false;	/* interrupts target cur only */
			continue;
		}
		if (wq->exiting)
			break;
		if (!idle_wait(c, &wq->lock) && c->nr_workers > 1 && !c->head)
			break;
	}
	c->nr_workers--;
	w->exited = true;
	pthread_mutex_unlock(&wq->lock);
	return NULL;
}

/* Joins workers that left on their own; called with wq->lock held. */
static void reap_exited(struct ua_iowq *wq)
{
	struct ua_worker **pp = &wq->workers, *w;

	ua_lock_assert_held(&wq->lock);
	while ((w = *pp)) {
		if (w->exited) {
			*pp = w->next;
			pthread_join(w->thread, NULL);
			free(w);
		} else {
			pp = &w->next;
		}
	}
}

static bool spawn_worker(struct ua_ctx *ctx, unsigned cls)
{
	struct ua_iowq *wq = &ctx->wq;
	struct ua_worker *w = calloc(1, sizeof(*w));
	sigset_t all, saved;
	int ret;

	if (!w)
		return false;
	w->ctx = ctx;
	w->cls = cls;
	pthread_once(&interrupt_sig_chosen, choose_interrupt_sig);
	/* The new thread inherits this mask: signals stay the app's, but for
	 * the engine's own. */
	sigfillset(&all);
	if (interrupt_sig)
		sigdelset(&all, interrupt_sig);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	ret = pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (ret) {
		free(w);
		return false;
	}
	w->next = wq->workers;
	wq->workers = w;
	wq->cls[cls].nr_workers++;
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
	reap_exited(wq);
	if (c->tail)
		c->tail->next = req;
	else
		c->head = req;
	c->tail = req;
	if (c->nr_idle)
		pthread_cond_signal(&c->more_work);
	else if (c->nr_workers < c->max_workers && !wq->exiting)
		spawn_worker(ctx, cls);
	/* No thread can run the queue, now or later: fail it, lose nothing. */
	if (!c->nr_workers)
		take_queued(c, &lost);
	pthread_mutex_unlock(&wq->lock);
	ua_complete_list(ctx, &lost, -ECANCELED);
}

/* Whether this worker's request is cancelled: takes back the token a
 * canceller left for it, or sees the mark of one that signalled it outside
 * poll(); wq->lock held. */
static bool interrupted(struct ua_iowq *wq, struct ua_worker *w)
{
	__u64 token;

	ua_lock_assert_held(&wq->lock);
	if (!w->interrupt)
		return w->stop;
	w->interrupt = false;
	/* Written under wq->lock before interrupt was set: one is there. */
	if (read(wq->cancel_fd, &token, sizeof(token)) < 0)
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
		{ .fd = wq->cancel_fd, .events = POLLIN },
	};
	int ret = 0;

	for (;;) {
		pthread_mutex_lock(&wq->lock);
		if (wq->exiting || interrupted(wq, w)) {
			pthread_mutex_unlock(&wq->lock);
			return -ECANCELED;
		}
		w->in_wait = true;
		pthread_mutex_unlock(&wq->lock);
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			ret = -errno;
		pthread_mutex_lock(&wq->lock);
		w->in_wait = false;
		if (wq->exiting || interrupted(wq, w))
			ret = -ECANCELED;
		pthread_mutex_unlock(&wq->lock);
		if (ret || pfd[0].revents)
			return ret;
		/* Another worker's token: let it run to take it back. */
		sched_yield();
	}
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
 * Signals the marked workers again until each has left its request, in
 * case a signal came just before the call it was to interrupt; gives up
 * after CANCEL_PATIENCE_NS, leaving such a request to finish on its own.
 */
static void stop_marked_workers(struct ua_iowq *wq)
{
	long pause = FIRST_PAUSE_NS, waited = 0;
	bool marked = true;
	struct ua_worker *w;

	while (marked && waited < CANCEL_PATIENCE_NS) {
		struct timespec ts = { .tv_nsec = pause };

		nanosleep(&ts, NULL);
		waited += pause;
		pause = pause_after(pause);
		marked = false;
		pthread_mutex_lock(&wq->lock);
		for (w = wq->workers; w; w = w->next)
			if (w->stop && stop_worker(w))
				marked = true;
		pthread_mutex_unlock(&wq->lock);
	}
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
	__u64 one = 1;
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
			if (write(wq->cancel_fd, &one, sizeof(one)) < 0)
				abort();	/* an eventfd write of 1 */
			w->interrupt = true;
			nr++;
			continue;
		}
		if (!w->interrupt && stop_worker(w))
			stopping = true;
		if (all)
			nr++;
		else
			running = true;
	}
	pthread_mutex_unlock(&wq->lock);
	if (stopping)
		stop_marked_workers(wq);
	return nr || !running ? nr : -EALREADY;
}

/*
 * Joins w, signalling it whenever it runs a request: a worker blocked in a
 * system call that may never return (a write nobody reads) is interrupted,
 * one doing bounded work too, as io-wq's are when their ring goes away. An
 * idle worker may yet take work queued by a completion meanwhile (the next
 * request of a chain), so it is watched until it has exited.
 */
static void join_interrupting(struct ua_iowq *wq, struct ua_worker *w)
{
	long pause = FIRST_PAUSE_NS;
	struct timespec deadline;

	if (!interrupt_sig) {
		pthread_join(w->thread, NULL);
		return;
	}
	for (;;) {
		pthread_mutex_lock(&wq->lock);
		if (w->cur && interrupt_sig_ours())
			pthread_kill(w->thread, interrupt_sig);
		pthread_mutex_unlock(&wq->lock);
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_nsec += pause;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
		if (pthread_timedjoin_np(w->thread, NULL, &deadline) != ETIMEDOUT)
			return;
		pause = pause_after(pause);
	}
}

/* Teardown: cancel what waits, interrupt what polls or blocks, join every
 * thread. */
void ua_iowq_shutdown(struct ua_ctx *ctx)
{
	struct ua_iowq *wq = &ctx->wq;
	struct ua_req_list lost;
	__u64 one = 1;
	int i;

	ua_list_init(&lost);
	pthread_mutex_lock(&wq->lock);
	wq->exiting = true;
	for (i = 0; i < 2; i++) {
		take_queued(&wq->cls[i], &lost);
		pthread_cond_broadcast(&wq->cls[i].more_work);
	}
	/* Every poller wakes and sees exiting; nobody takes this one back. */
	if (write(wq->cancel_fd, &one, sizeof(one)) < 0)
		abort();	/* an eventfd write of 1 cannot fail */
	pthread_mutex_unlock(&wq->lock);
	ua_complete_list(ctx, &lost, -ECANCELED);

	pthread_mutex_lock(&wq->lock);
	while (wq->workers) {
		struct ua_worker *w = wq->workers;

		wq->workers = w->next;
		pthread_mutex_unlock(&wq->lock);
		join_interrupting(wq, w);
		free(w);
		pthread_mutex_lock(&wq->lock);
	}
	pthread_mutex_unlock(&wq->lock);

	close(wq->cancel_fd);
	for (i = 0; i < 2; i++)
		pthread_cond_destroy(&wq->cls[i].more_work);
	pthread_mutex_destroy(&wq->lock);
}

/* IORING_REGISTER_IOWQ_MAX_WORKERS: set the non-zero limits, return the old. */
int ua_iowq_max_workers(struct ua_iowq *wq, unsigned counts[2])
{
	unsigned limit = nproc_limit();
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
