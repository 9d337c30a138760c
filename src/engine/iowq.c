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
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "engine/ctx.h"

#define IDLE_SECONDS	5

struct ua_worker {
	struct ua_worker	*next;
	struct ua_ctx		*ctx;
	pthread_t		thread;
	unsigned		cls;
	__u64			running_hash;	/* hash of the work in hand */
	struct ua_req		*cur;		/* the work in hand */
	bool			in_wait;	/* in poll(): interruptible */
	bool			interrupt;	/* a token for it is in cancel_fd */
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

int ua_iowq_init(struct ua_iowq *wq, unsigned sq_entries)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned bound = (unsigned) (cpus > 0 ? cpus : 1) * 4;
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
	/* The new thread inherits this mask: signals stay the app's. */
	sigfillset(&all);
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

/* Takes back the token a canceller left for this worker; wq->lock held. */
static bool interrupted(struct ua_iowq *wq, struct ua_worker *w)
{
	__u64 token;

	if (!w->interrupt)
		return false;
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

/*
 * Cancellation of worker requests: queued ones are detached; a running one
 * waiting in poll() is interrupted; one in a blocking system call runs on
 * (-EALREADY, or counted with ALL).
 */
int ua_iowq_cancel(struct ua_ctx *ctx, const struct ua_cancel_data *cd,
		   struct ua_req_list *out)
{
	struct ua_iowq *wq = &ctx->wq;
	bool all = ua_cancel_all(cd), running = false;
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
		} else if (all) {
			nr++;
		} else {
			running = true;
		}
	}
	pthread_mutex_unlock(&wq->lock);
	return nr || !running ? nr : -EALREADY;
}

/* Teardown: cancel what waits, interrupt what polls, join every thread. */
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
		pthread_join(w->thread, NULL);
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
