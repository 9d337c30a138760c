/* SPDX-License-Identifier: MIT */
/*
 * The readiness engine: requests that wait for a descriptor to become ready
 * hold no thread. One epoll instance per ring (made at setup, never while
 * requests are in flight) watches every descriptor some request waits on.
 *
 * epoll takes one registration per descriptor while the kernel lets any
 * number of requests poll one file, so each descriptor number has a
 * struct ua_pollfd with the list of requests parked on it, registered
 * edge-triggered for the union of their events. Edge-triggered epoll reports
 * every wakeup of the file, like the kernel's poll wait queues, so a request
 * re-issued after an event either finishes or meets -EAGAIN again, and any
 * later data brings another event: nothing is polled twice and nothing is
 * missed. A registration outlives its waiters: the next request to wait
 * re-registers with one epoll_ctl, which also re-checks that the number
 * still names the file epoll watches (the kernel drops closed files); one
 * joining waiters checks that with one epoll_ctl too. When the number
 * names a new file, the requests parked before wait for the old one
 * (detach_waiters). Only threads with requests in flight on a descriptor
 * ever touch it.
 *
 * Ownership (the kernel's poll rework): req->poll.refs counts wakeups. The
 * thread that moves the count from 0 owns the request and alone touches it;
 * a wakeup that finds it owned only bumps the count, and the owner, before
 * letting go, subtracts what it has seen and loops if more came. Arming
 * starts owned, so events during arming are run by the armer; cancellation
 * sets UA_POLL_CANCEL and then tries to take ownership, and whoever owns
 * the request when the flag is seen completes it with -ECANCELED.
 *
 * An operation may stop while its file is still ready, to let others run
 * (UA_REQUEUE: a multishot receive at the kernel's retry cap). No new edge
 * would come for what is already there, so it is never simply let go:
 * epoll is asked to report the file again (EPOLL_CTL_MOD) before it is, and
 * it runs again after the next epoll_wait, behind what that reports and
 * after a waiting thread has looked at its wait's condition.
 *
 * Who runs the events. A thread of the application that waits for
 * completions in io_uring_enter while requests are parked waits in
 * epoll_wait instead of on the futex (wait.c) and runs the events itself: the data
 * it waits for is received in its own thread, with no handoff. With
 * IORING_SETUP_DEFER_TASKRUN that is the only way (the ring is never
 * served by the poller thread). wake_fd brings a thread blocked in
 * epoll_wait the completions posted by others.
 *
 * By default the process's poller thread, one for every ring as the kernel
 * has no thread per ring, runs the events while no application thread
 * waits. It sleeps in an epoll instance of its own (the hub) in which each
 * ring's instance is registered one-shot from the ring's first parked
 * request on: a report means "this ring has events"; the thread runs them
 * and re-arms the ring. When the ring's application waits (app_waiting),
 * or has waited since the thread last looked, the thread leaves the ring
 * unarmed and a timer node (timer.c) looks again after a nap of 1 ms,
 * growing to 8 ms while the application keeps coming back: a busy event
 * loop is out of the engine only briefly, and each look would cost a
 * context switch on its CPU. The thread starts with the first ring it
 * serves and exits with the last; the hub and its wake eventfd are made
 * at the first ring's setup, never while requests are in flight, and kept.
 * A ring's teardown waits only until the thread is not running its events.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include "engine/cancel.h"
#include "engine/cq.h"
#include "engine/list.h"
#include "engine/lock.h"
#include "engine/poll.h"
#include "engine/req.h"
#include "engine/ring.h"
#include "engine/submit.h"
#include "engine/wake.h"
#include "engine/thread.h"

#define UA_POLL_CANCEL		(1u << 31)
#define UA_POLL_REF_MASK	((1u << 30) - 1)
/* Reported whether asked for or not, as the kernel's IO_POLL_UNMASK. */
#define UA_POLL_ALWAYS		(EPOLLERR | EPOLLHUP | EPOLLRDHUP)
#define UA_MAX_EVENTS		64
/* How long the poller stays aside after the application last waited: at
 * first 1 ms, growing to 8 ms while the application keeps coming back. */
#define STANDBY_MIN_NS		1000000
#define STANDBY_MAX_NS		8000000

struct ua_pollfd {
	int		fd;
	bool		known;		/* added to epoll at least once */
	/* Registered since epoll last reported it: the file's readiness
	 * since then is still to be reported, to every waiter linked
	 * before the report is dispatched. */
	bool		report_due;
	__u32		armed;		/* events registered */
	struct ua_req	*waiters;
};

/* A ring served by the poller thread: its slot, which a stale hub event
 * (reported before the ring left) finds with another generation. */
struct hub_slot {
	struct ua_ctx	*ctx;
	unsigned	gen;
	unsigned	next_free;
};

#define HUB_WAKE_KEY	(~0ull)
#define SLOT_NONE	(~0u)

/* The process's poller thread and its hub, under svc.lock. */
static struct {
	pthread_mutex_t		lock;
	pthread_cond_t		idle;		/* busy_ctx changed */
	int			hub;		/* epoll of the rings' instances */
	int			wake_fd;	/* eventfd in the hub: exit */
	struct hub_slot		*slots;
	unsigned		nr_slots, free_slot;
	unsigned		users;		/* rings served */
	bool			running;	/* a thread serves the hub */
	struct ua_ctx		*busy_ctx;	/* whose events run */
} svc = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.idle = PTHREAD_COND_INITIALIZER,
	.hub = -1,
	.wake_fd = -1,
	.free_slot = SLOT_NONE,
};

/* The hub, made with the first ring: never while requests are in flight. */
static int hub_init_locked(void)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET,
				  .data.u64 = HUB_WAKE_KEY };
	int err;

	ua_lock_assert_held(&svc.lock);
	if (svc.hub >= 0)
		return 0;
	svc.hub = epoll_create1(EPOLL_CLOEXEC);
	if (svc.hub < 0)
		return -errno;
	svc.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (svc.wake_fd < 0 ||
	    epoll_ctl(svc.hub, EPOLL_CTL_ADD, svc.wake_fd, &ev)) {
		err = -errno;
		if (svc.wake_fd >= 0)
			close(svc.wake_fd);
		close(svc.hub);
		svc.hub = svc.wake_fd = -1;
		return err;
	}
	return 0;
}

static bool is_wake_event(struct ua_poller *p, const struct epoll_event *ev)
{
	return ev->data.ptr == &p->wake_fd;
}

/*
 * The ring's epoll instance and its wake eventfd: made on first need, as
 * most rings never park a request (a ring set up, used for I/O that
 * completes inline and exited pays three system calls and two closes
 * less). Under p->lock; published with release for the readers that run
 * without it (waiters, ua_poll_run_ready).
 */
static int instance_create_locked(struct ua_poller *p)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET,
				  .data.ptr = &p->wake_fd };
	int epfd, wake_fd, err;

	if (p->epfd >= 0)
		return 0;
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		return -errno;
	wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (wake_fd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, wake_fd, &ev)) {
		err = -errno;
		if (wake_fd >= 0)
			close(wake_fd);
		close(epfd);
		return err;
	}
	__atomic_store_n(&p->wake_fd, wake_fd, __ATOMIC_RELEASE);
	__atomic_store_n(&p->epfd, epfd, __ATOMIC_RELEASE);
	return 0;
}

/* The ring's epoll instance, or -1 while nothing has needed it. */
int ua_poller_epfd(struct ua_ctx *ctx)
{
	return __atomic_load_n(&ctx->poller.epfd, __ATOMIC_ACQUIRE);
}

/* A DEFER_TASKRUN ring always waits in its instance: made with it. */
int ua_poller_init(struct ua_ctx *ctx)
{
	struct ua_poller *p = &ctx->poller;
	int err;

	pthread_mutex_lock(&svc.lock);
	err = hub_init_locked();
	pthread_mutex_unlock(&svc.lock);
	if (err)
		return err;
	p->epfd = p->wake_fd = -1;
	if (ua_ctx_polls_inline(ctx)) {
		err = instance_create_locked(p);
		if (err)
			return err;
	}
	pthread_mutex_init(&p->lock, NULL);
	p->ready = true;
	return 0;
}

bool ua_ctx_polls_inline(const struct ua_ctx *ctx)
{
	return ctx->setup_flags & IORING_SETUP_DEFER_TASKRUN;
}

/* ---- ownership ---- */

static bool poll_get_ownership(struct ua_req *req)
{
	return !(__atomic_fetch_add(&req->poll.refs, 1, __ATOMIC_ACQ_REL) &
		 UA_POLL_REF_MASK);
}

/* ---- descriptor table, under p->lock ---- */

/*
 * The table grows to the descriptor's number: only for a descriptor that
 * is open, so that a bad number (negative, or far beyond any open one)
 * fails here instead of sizing the table by it.
 */
static struct ua_pollfd *pollfd_get(struct ua_poller *p, int fd)
{
	struct ua_pollfd *pfd;

	if ((unsigned) fd >= p->nr_by_fd) {
		unsigned nr = p->nr_by_fd ? p->nr_by_fd : 64;
		struct ua_pollfd **t;

		if (fcntl(fd, F_GETFD) < 0)
			return NULL;
		while (nr <= (unsigned) fd)
			nr *= 2;
		t = realloc(p->by_fd, nr * sizeof(*t));
		if (!t)
			return NULL;
		memset(t + p->nr_by_fd, 0, (nr - p->nr_by_fd) * sizeof(*t));
		p->by_fd = t;
		p->nr_by_fd = nr;
	}
	pfd = p->by_fd[fd];
	if (!pfd) {
		pfd = calloc(1, sizeof(*pfd));
		if (!pfd)
			return NULL;
		pfd->fd = fd;
		p->by_fd[fd] = pfd;
	}
	return pfd;
}

static __u32 waiters_events(const struct ua_pollfd *pfd)
{
	const struct ua_req *req;
	__u32 events = 0;

	for (req = pfd->waiters; req; req = req->poll.fd_next)
		events |= req->poll.events;
	return events;
}

/*
 * The waiters of a file that is gone (its number names another file now):
 * the kernel keeps them parked on the file their requests hold, which no
 * event of ours can reach. Each is left on a list of its own, still found
 * by cancellation and teardown, never run for the new file's events.
 */
static void detach_waiters(struct ua_pollfd *pfd)
{
	struct ua_req *req;

	while ((req = pfd->waiters)) {
		pfd->waiters = req->poll.fd_next;
		req->poll.pfd = NULL;
		req->poll.fd_next = NULL;
		req->poll.fd_pprev = &req->poll.fd_next;
	}
}

/*
 * (Re)registers the descriptor. Also the check that the registration is
 * still the descriptor's: a number closed and reused since was dropped from
 * epoll by the kernel, and MOD then fails with ENOENT; the waiters parked
 * before were waiting for the old file.
 */
static int pollfd_register(struct ua_poller *p, struct ua_pollfd *pfd,
			   __u32 events)
{
	struct epoll_event ev = { .events = events | EPOLLET, .data.ptr = pfd };
	int op = pfd->known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;

	if (epoll_ctl(p->epfd, op, pfd->fd, &ev)) {
		if (errno != (op == EPOLL_CTL_MOD ? ENOENT : EEXIST))
			return -errno;
		op = op == EPOLL_CTL_MOD ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
		if (epoll_ctl(p->epfd, op, pfd->fd, &ev))
			return -errno;
		if (op == EPOLL_CTL_ADD)
			detach_waiters(pfd);
	}
	pfd->known = true;
	pfd->armed = events;
	pfd->report_due = true;
	return 0;
}

/*
 * For a request joining waiters whose registration covers its events: the
 * check that the number still names their file. ADD fails with EEXIST for
 * the same file and changes nothing (a MOD would report a ready file again
 * to every waiter); it succeeds for a new file, which it registers (*added).
 */
static int pollfd_watch_if_new(struct ua_poller *p, struct ua_pollfd *pfd,
			       __u32 events, bool *added)
{
	struct epoll_event ev = { .events = events | EPOLLET, .data.ptr = pfd };

	*added = !epoll_ctl(p->epfd, EPOLL_CTL_ADD, pfd->fd, &ev);
	if (!*added)
		return errno == EEXIST ? 0 : -errno;
	detach_waiters(pfd);
	pfd->armed = events;
	pfd->report_due = true;
	return 0;
}

static unsigned hash_of(__u64 user_data)
{
	return (unsigned) ((user_data * 0x9E3779B97F4A7C15ull) >> 56);
}

static void set_taskrun(struct ua_ctx *ctx, bool on)
{
	/* Only the submitter runs DEFER_TASKRUN readiness; with TASKRUN_FLAG
	 * the kernel says so in the SQ flags, and liburing then enters. */
	if (!ua_ctx_polls_inline(ctx) ||
	    !(ctx->setup_flags & IORING_SETUP_TASKRUN_FLAG))
		return;
	if (on)
		__atomic_fetch_or(ctx->sq_flags, IORING_SQ_TASKRUN,
				  __ATOMIC_RELAXED);
	else
		__atomic_fetch_and(ctx->sq_flags, ~IORING_SQ_TASKRUN,
				   __ATOMIC_RELAXED);
}

static void link_req(struct ua_poller *p, struct ua_pollfd *pfd,
		     struct ua_req *req)
{
	struct ua_req **head = &p->hash[hash_of(req->user_data)];

	req->poll.pfd = pfd;
	req->poll.fd_next = pfd->waiters;
	if (pfd->waiters)
		pfd->waiters->poll.fd_pprev = &req->poll.fd_next;
	req->poll.fd_pprev = &pfd->waiters;
	pfd->waiters = req;

	req->poll.hash_next = *head;
	if (*head)
		(*head)->poll.hash_pprev = &req->poll.hash_next;
	req->poll.hash_pprev = head;
	*head = req;
	/* Changed under p->lock, read without it by waiters. */
	if (!__atomic_fetch_add(&p->nr_parked, 1, __ATOMIC_RELAXED))
		set_taskrun(req->ctx, true);
}

static void unlink_req(struct ua_poller *p, struct ua_req *req)
{
	*req->poll.fd_pprev = req->poll.fd_next;
	if (req->poll.fd_next)
		req->poll.fd_next->poll.fd_pprev = req->poll.fd_pprev;
	*req->poll.hash_pprev = req->poll.hash_next;
	if (req->poll.hash_next)
		req->poll.hash_next->poll.hash_pprev = req->poll.hash_pprev;
	if (!__atomic_sub_fetch(&p->nr_parked, 1, __ATOMIC_RELAXED))
		set_taskrun(req->ctx, false);
}

/* ---- running events: only the owner of a request gets here ---- */

void ua_poll_unlink(struct ua_req *req)
{
	struct ua_poller *p = &req->ctx->poller;

	pthread_mutex_lock(&p->lock);
	unlink_req(p, req);
	pthread_mutex_unlock(&p->lock);
}

/* Whether a cancellation marked the request while its owner ran it. */
bool ua_poll_cancel_requested(const struct ua_req *req)
{
	return __atomic_load_n(&req->poll.refs, __ATOMIC_ACQUIRE) &
	       UA_POLL_CANCEL;
}

/* The file's readiness now, for events; -EBADF in *err for no file. */
__u32 ua_poll_events_now(int fd, __u32 events, int *err)
{
	struct pollfd pfd = { .fd = fd, .events = (short) events };

	*err = 0;
	/* The library's poll(): a ring descriptor whose CQ the application
	 * has emptied is made quiet first, as its readiness says. */
	if (poll(&pfd, 1, 0) < 0) {
		*err = -errno;
		return 0;
	}
	if (pfd.revents & POLLNVAL) {
		*err = -EBADF;
		return 0;
	}
	return (__u16) pfd.revents;
}

void ua_poll_complete_owned(struct ua_req *req, int res)
{
	req->res = res;
	req->failed = res < 0;
	ua_issue_up->complete_remote(req);
}

enum poll_outcome {
	POLL_WAITING,	/* parked still: the next wakeup runs it */
	POLL_FINISHED,	/* result set, no longer parked */
	POLL_REQUEUE,	/* ready still: run it again after the others */
};

/* The issue flags for a run: the event's mask, when known, says whether
 * the peer had hung up (net.c then need not ask the socket). */
static unsigned issue_flags_for(__u32 mask)
{
	if (mask && !(mask & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
		return UA_ISSUE_PEER_OPEN;
	return 0;
}

/*
 * One look at the request. A POLL_ADD reports the mask (mask 0: the events
 * are unknown, ask the file); an armed operation is issued again, without
 * blocking.
 */
static enum poll_outcome poll_action(struct ua_req *req, __u32 mask)
{
	int err = 0;

	if (!req->poll.is_poll_op) {
		switch (ua_issue_up->issue_polled(req, issue_flags_for(mask))) {
		case UA_AGAIN:
			return POLL_WAITING;
		case UA_REQUEUE:
			return POLL_REQUEUE;
		default:
			return POLL_FINISHED;
		}
	}
	if (!mask)
		mask = ua_poll_events_now(req->fd, req->poll.events, &err);
	mask &= req->poll.events;
	if (err || (mask && !req->poll.multishot)) {
		ua_poll_unlink(req);
		ua_poll_complete_owned(req, err ? err : (int) mask);
		return POLL_FINISHED;
	}
	if (mask &&
	    !ua_post_cqe_more(req->ctx, req->user_data, (__s32) mask, 0)) {
		ua_poll_unlink(req);	/* the CQ is full: this CQE is the last */
		ua_poll_complete_owned(req, (int) mask);
		return POLL_FINISHED;
	}
	return POLL_WAITING;
}

/*
 * The owner's loop: runs until every wakeup counted in refs is seen.
 * Returns true when the request asked to run again later: it stays owned
 * (refs is left as it is, so wakeups meanwhile only add to it), and the
 * caller must run it again.
 */
static bool poll_task(struct ua_req *req, __u32 mask)
{
	unsigned v;

	do {
		v = __atomic_load_n(&req->poll.refs, __ATOMIC_ACQUIRE);
		if (v & UA_POLL_CANCEL) {
			ua_poll_unlink(req);
			ua_poll_complete_owned(req, -ECANCELED);
			return false;
		}
		/* Several wakeups were merged: only the file knows the mask. */
		if ((v & UA_POLL_REF_MASK) != 1)
			mask = 0;
		switch (poll_action(req, mask)) {
		case POLL_FINISHED:
			return false;
		case POLL_REQUEUE:
			return true;
		case POLL_WAITING:
			break;
		}
		mask = 0;
	} while (__atomic_sub_fetch(&req->poll.refs, v & UA_POLL_REF_MASK,
				    __ATOMIC_ACQ_REL) & UA_POLL_REF_MASK);
	return false;
}

/*
 * A request that asked to run later: epoll is asked to report its file
 * again (a MOD re-reports what is ready), then it is let go, so that the
 * thread running events gets back to epoll_wait (other files' events) and
 * to its wait's condition before it runs again. False when wakeups or a
 * cancellation came meanwhile: the caller still owns it and runs it again.
 */
static bool requeue_by_epoll(struct ua_req *req)
{
	struct ua_poller *p = &req->ctx->poller;
	unsigned v = __atomic_load_n(&req->poll.refs, __ATOMIC_ACQUIRE);
	int err;

	if (v & UA_POLL_CANCEL)
		return false;	/* poll_task completes it */
	/* Seen before the MOD: a wakeup after it is not subtracted below. */
	v &= UA_POLL_REF_MASK;
	pthread_mutex_lock(&p->lock);
	/* Its file is gone: it waits, as detach_waiters says, until cancelled. */
	err = req->poll.pfd ? pollfd_register(p, req->poll.pfd,
					      req->poll.pfd->armed) : 0;
	pthread_mutex_unlock(&p->lock);
	if (err)
		return false;	/* run it now rather than lose it */
	return !(__atomic_sub_fetch(&req->poll.refs, v, __ATOMIC_ACQ_REL) &
		 UA_POLL_REF_MASK);
}

/* Runs a request its caller owns until it is let go. */
static void poll_task_yielding(struct ua_req *req, __u32 mask)
{
	while (poll_task(req, mask) && !requeue_by_epoll(req))
		mask = 0;
}

static bool app_waits(struct ua_poller *p)
{
	return __atomic_load_n(&p->app_waiting, __ATOMIC_ACQUIRE);
}

static unsigned wait_gen(struct ua_poller *p)
{
	return __atomic_load_n(&p->app_wait_gen, __ATOMIC_ACQUIRE);
}

static void *poller_main(void *arg);

/* Detached, with every signal blocked: signals stay the application's. */
static bool start_poller_thread(void)
{
	return !ua_thread_start(poller_main, NULL);
}

/* A slot for ctx, under svc.lock; the key names it and its generation. */
static bool slot_alloc(struct ua_ctx *ctx, __u64 *key)
{
	struct hub_slot *slot;
	unsigned i = svc.free_slot;

	ua_lock_assert_held(&svc.lock);
	if (i == SLOT_NONE) {
		unsigned nr = svc.nr_slots ? 2 * svc.nr_slots : 16;
		struct hub_slot *t = realloc(svc.slots, nr * sizeof(*t));

		if (!t)
			return false;
		memset(t + svc.nr_slots, 0, (nr - svc.nr_slots) * sizeof(*t));
		for (i = nr; i-- > svc.nr_slots; ) {
			t[i].next_free = svc.free_slot;
			svc.free_slot = i;
		}
		svc.slots = t;
		svc.nr_slots = nr;
		i = svc.free_slot;
	}
	slot = &svc.slots[i];
	svc.free_slot = slot->next_free;
	slot->ctx = ctx;
	*key = (__u64) slot->gen << 32 | i;
	return true;
}

static void slot_free(__u64 key)
{
	struct hub_slot *slot = &svc.slots[(unsigned) key];

	ua_lock_assert_held(&svc.lock);
	slot->ctx = NULL;
	slot->gen++;
	slot->next_free = svc.free_slot;
	svc.free_slot = (unsigned) key;
}

/* The ring a hub event names, or NULL: the wake, or a ring gone since. */
static struct ua_ctx *slot_ctx(__u64 key)
{
	unsigned i = (unsigned) key;

	if (key == HUB_WAKE_KEY || i >= svc.nr_slots ||
	    svc.slots[i].gen != (unsigned) (key >> 32))
		return NULL;
	return svc.slots[i].ctx;
}

/* One report of the ring's events to the poller thread. */
static void arm_in_hub(struct ua_poller *p, int op)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT,
				  .data.u64 = p->hub_key };

	epoll_ctl(svc.hub, op, p->epfd, &ev);
}

/*
 * The ring's first parked request makes the poller thread serve it, until
 * teardown; called with p->lock held, which orders it with
 * ua_poller_shutdown(). A ring that runs its readiness itself never is.
 */
static void attach_to_poller(struct ua_ctx *ctx)
{
	struct ua_poller *p = &ctx->poller;
	__u64 key;

	ua_lock_assert_held(&p->lock);
	if (p->attached || ua_ctx_polls_inline(ctx) ||
	    __atomic_load_n(&p->exiting, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&svc.lock);
	if (!slot_alloc(ctx, &key)) {
		pthread_mutex_unlock(&svc.lock);
		return;		/* the next request to park tries again */
	}
	if (!svc.running)
		svc.running = start_poller_thread();
	svc.users++;
	pthread_mutex_unlock(&svc.lock);
	p->hub_key = key;
	__atomic_store_n(&p->seen_gen, wait_gen(p), __ATOMIC_RELAXED);
	p->attached = true;
	arm_in_hub(p, EPOLL_CTL_ADD);
}

/*
 * A multishot POLL_ADD about to join waiters that epoll owes no report of
 * their registration: epoll may still hold a report of a change of the
 * file from before, which would reach the joiner too, after its own look
 * at arming had reported that readiness already. The kernel's poll queues
 * such a wakeup for the waiters of the time only, so the reports epoll
 * holds are run now, before the joiner is linked. Only for a multishot
 * poll's first look: an operation re-issued by a report only meets -EAGAIN
 * again, and a one-shot poll that looked and found the file ready never
 * parks.
 */
static bool joins_reported_waiters(const struct ua_req *req,
				     const struct ua_pollfd *pfd)
{
	return req->poll.is_poll_op && req->poll.multishot &&
	       !pfd->report_due;
}

static void run_reports_held(struct ua_ctx *ctx)
{
	struct ua_poller *p = &ctx->poller;
	struct epoll_event ev[UA_MAX_EVENTS];
	int n;

	do {
		n = epoll_wait(ua_poller_epfd(ctx), ev, UA_MAX_EVENTS, 0);
		/* A wake taken from a thread sleeping in the instance: its. */
		if (n > 0 && ua_poll_dispatch(ctx, ev, n) &&
		    __atomic_load_n(&p->epoll_waiters, __ATOMIC_RELAXED))
			ua_wake_epoll_waiters(p);
	} while (n == UA_MAX_EVENTS);
}

/*
 * Parks a request whose issue met -EAGAIN (or a POLL_ADD) until its file
 * reports one of events. The caller owns the request and gives it up here.
 * Returns false, the request untouched, when the file cannot be watched
 * with epoll (the caller sends it to a worker instead).
 */
bool ua_poll_arm(struct ua_req *req, __u32 events, unsigned flags)
{
	struct ua_poller *p = &req->ctx->poller;
	struct ua_pollfd *pfd;
	bool registered = true, ran_held = false;
	unsigned one = 1;
	int err;

	req->poll.events = events | UA_POLL_ALWAYS;
	req->poll.is_poll_op = flags & UA_POLL_OP;
	req->poll.multishot = flags & UA_POLL_MULTI;
	__atomic_store_n(&req->poll.refs, 1, __ATOMIC_RELAXED);

again:
	pthread_mutex_lock(&p->lock);
	pfd = instance_create_locked(p) ? NULL : pollfd_get(p, req->fd);
	if (!pfd)
		goto fail;
	/* A first waiter re-registers (the number may have been reused), so
	 * does a waiter for new events; epoll then reports what is already
	 * ready. Otherwise the number may name a new file since the others
	 * parked (checked), and the file may have become ready before we
	 * linked: look once more, below, as the owner, unless the others'
	 * registration is still to be reported: that report reaches this
	 * request too, and a look would report the readiness twice. */
	if (!pfd->waiters || (req->poll.events & ~pfd->armed) ||
	    (flags & UA_POLL_READY)) {
		err = pollfd_register(p, pfd,
				      waiters_events(pfd) | req->poll.events);
	} else if (!ran_held && joins_reported_waiters(req, pfd)) {
		/* The waiters may change meanwhile: decide again after. */
		pthread_mutex_unlock(&p->lock);
		run_reports_held(req->ctx);
		ran_held = true;
		goto again;
	} else {
		err = pollfd_watch_if_new(p, pfd, req->poll.events, &registered);
	}
	if (err)
		goto fail;
	registered |= pfd->report_due;
	link_req(p, pfd, req);
	attach_to_poller(req->ctx);
	pthread_mutex_unlock(&p->lock);

	/* Linked, still owned: a worker's request cancelled before it could
	 * be found here completes with -ECANCELED (poll_task). */
	if (ua_iowq_cancelled_in_hand(req))
		__atomic_fetch_or(&req->poll.refs, UA_POLL_CANCEL,
				  __ATOMIC_RELAXED);
	if (!registered ||
	    !__atomic_compare_exchange_n(&req->poll.refs, &one, 0, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		poll_task_yielding(req, 0);
	return true;
fail:
	pthread_mutex_unlock(&p->lock);
	return false;
}

/* Hands the events of one epoll_wait to the owners of the requests;
 * returns whether wake_fd was among them. */
bool ua_poll_dispatch(struct ua_ctx *ctx, const struct epoll_event *ev, int n)
{
	struct ua_poller *p = &ctx->poller;
	struct ua_req *run = NULL, **tail = &run, *req, *next;
	struct ua_completion_batch done;
	bool woken = false, held;
	int i;

	pthread_mutex_lock(&p->lock);
	for (i = 0; i < n; i++) {
		struct ua_pollfd *pfd = ev[i].data.ptr;
		__u32 revents = ev[i].events;

		if (is_wake_event(p, &ev[i])) {
			woken = true;
			continue;
		}
		pfd->report_due = false;
		for (req = pfd->waiters; req; req = req->poll.fd_next) {
			if (!(req->poll.events & revents))
				continue;
			if (!poll_get_ownership(req))
				continue;	/* the owner will loop */
			req->poll.mask = revents;
			req->next = NULL;
			*tail = req;
			tail = &req->next;
		}
	}
	pthread_mutex_unlock(&p->lock);
	/* The owned requests cannot go away under us: run them unlocked, their
	 * CQEs posted together (a multishot's as it goes, the waiters woken
	 * once), what they release issued after them. */
	held = ua_cq_hold_wakes(ctx);
	ua_issue_up->run_begin(ctx, &done);
	for (req = run; req; req = next) {
		next = req->next;
		poll_task_yielding(req, req->poll.mask);
	}
	ua_issue_up->run_end(ctx, &done);
	if (held)
		ua_cq_release_wakes(ctx);
	return woken;
}

/*
 * The standby's look, on the timer's thread (its lock held): while the
 * application waits, or has waited during the nap, nap longer; once it has
 * been away for a nap, arm the ring in the hub, which reports it at once
 * if it has events.
 */
static void standby_expire(struct ua_timer_node *node)
{
	struct ua_ctx *ctx = node->ctx;
	struct ua_poller *p = &ctx->poller;
	unsigned gen = wait_gen(p);
	long nap = __atomic_load_n(&p->standby_nap, __ATOMIC_RELAXED);

	ua_timer_assert_held();
	if (app_waits(p) || gen != __atomic_load_n(&p->seen_gen, __ATOMIC_RELAXED)) {
		__atomic_store_n(&p->seen_gen, gen, __ATOMIC_RELAXED);
		if (nap < STANDBY_MAX_NS)
			nap *= 2;
		__atomic_store_n(&p->standby_nap, nap, __ATOMIC_RELAXED);
		if (!ua_timer_arm_service_locked(ctx, node,
				ua_clock_ns(CLOCK_MONOTONIC) + (__u64) nap))
			return;
	}
	arm_in_hub(p, EPOLL_CTL_MOD);
}

/* The application runs the ring's events: stand aside for a nap. */
static bool go_standby(struct ua_ctx *ctx)
{
	struct ua_poller *p = &ctx->poller;
	int ret = 0;

	__atomic_store_n(&p->seen_gen, wait_gen(p), __ATOMIC_RELAXED);
	__atomic_store_n(&p->standby_nap, STANDBY_MIN_NS, __ATOMIC_RELAXED);
	ua_timer_lock();
	if (!p->standby.armed) {
		p->standby.expire = standby_expire;
		ret = ua_timer_arm_service_locked(ctx, &p->standby,
				ua_clock_ns(CLOCK_MONOTONIC) + STANDBY_MIN_NS);
	}
	ua_timer_unlock();
	return !ret;
}

/*
 * The hub reported the ring. Any wait its application began since the last
 * look sends the thread aside: an event loop that waits often gets its
 * readiness in its own thread, never through here.
 */
static void serve_ring(struct ua_ctx *ctx)
{
	struct ua_poller *p = &ctx->poller;
	struct epoll_event ev[UA_MAX_EVENTS];
	int n;

	if ((app_waits(p) ||
	     wait_gen(p) != __atomic_load_n(&p->seen_gen, __ATOMIC_RELAXED)) &&
	    go_standby(ctx))
		return;
	n = epoll_wait(p->epfd, ev, UA_MAX_EVENTS, 0);
	/* A wake meant for an application thread that now waits too: hand
	 * it on. */
	if (n > 0 && ua_poll_dispatch(ctx, ev, n) && app_waits(p))
		ua_wake_epoll_waiters(p);
	arm_in_hub(p, EPOLL_CTL_MOD);
}

static void *poller_main(void *arg)
{
	struct epoll_event ev[UA_MAX_EVENTS];
	struct ua_ctx *ctx;
	int n, i;

	(void) arg;
	pthread_setname_np(pthread_self(), "ua-poller");
	/* Its waits are on descriptors it watches edge-triggered: no ring
	 * descriptor readable with nothing to read wakes it twice. */
	ua_ring_fds_left_loud = true;
	pthread_mutex_lock(&svc.lock);
	while (svc.users) {
		pthread_mutex_unlock(&svc.lock);
		n = epoll_wait(svc.hub, ev, UA_MAX_EVENTS, -1);
		pthread_mutex_lock(&svc.lock);
		for (i = 0; i < n; i++) {
			ctx = slot_ctx(ev[i].data.u64);
			if (!ctx)
				continue;
			svc.busy_ctx = ctx;
			pthread_mutex_unlock(&svc.lock);
			serve_ring(ctx);
			pthread_mutex_lock(&svc.lock);
			svc.busy_ctx = NULL;
			pthread_cond_broadcast(&svc.idle);
		}
	}
	/* The last ring is gone; a ring parking later starts a new thread. */
	svc.running = false;
	pthread_mutex_unlock(&svc.lock);
	return NULL;
}

/* Runs what is ready now, without waiting (DEFER_TASKRUN). */
int ua_poll_run_ready(struct ua_ctx *ctx)
{
	struct epoll_event ev[UA_MAX_EVENTS];
	int n;

	if (!__atomic_load_n(&ctx->poller.nr_parked, __ATOMIC_RELAXED) ||
	    ua_poller_epfd(ctx) < 0)
		return 0;
	n = epoll_wait(ua_poller_epfd(ctx), ev, UA_MAX_EVENTS, 0);
	if (n > 0)
		ua_poll_dispatch(ctx, ev, n);
	return n;
}

/*
 * An application thread begins to wait for completions while requests are
 * parked: it runs the readiness events itself (wait.c sleeps in epoll_wait
 * for it), so the poller thread steps aside when it next looks.
 */
void ua_poll_wait_begin(struct ua_ctx *ctx)
{
	struct ua_poller *p = &ctx->poller;

	__atomic_fetch_add(&p->app_wait_gen, 1, __ATOMIC_RELEASE);
	__atomic_fetch_add(&p->app_waiting, 1, __ATOMIC_RELEASE);
}

void ua_poll_wait_end(struct ua_ctx *ctx)
{
	__atomic_fetch_sub(&ctx->poller.app_waiting, 1, __ATOMIC_RELEASE);
}

/* Where a wait for completions goes: to epoll_wait while requests are
 * parked (or always, with DEFER_TASKRUN), to the futex otherwise. */
bool ua_poll_waits_here(struct ua_ctx *ctx)
{
	return ua_ctx_polls_inline(ctx) ||
	       __atomic_load_n(&ctx->poller.nr_parked, __ATOMIC_RELAXED);
}

/* ---- cancellation ---- */

/* The buckets a cancellation must look in: one when it names user_data. */
static void cancel_range(const struct ua_cancel_data *cd, unsigned *lo,
			 unsigned *hi)
{
	if (cd->req || !(cd->flags & (IORING_ASYNC_CANCEL_ANY |
				      IORING_ASYNC_CANCEL_FD |
				      IORING_ASYNC_CANCEL_OP))) {
		*lo = hash_of(cd->req ? cd->req->user_data : cd->data);
		*hi = *lo + 1;
	} else {
		*lo = 0;
		*hi = UA_POLL_HASH;
	}
}

/*
 * ASYNC_CANCEL's look at parked requests (cancel.c's table), and teardown's.
 * Each match is marked cancelled; one nobody owns is taken out onto out for
 * the caller to complete with -ECANCELED, one owned right now is completed
 * so by its owner, which sees the mark before it lets go.
 */
int ua_poll_cancel(struct ua_ctx *ctx, const struct ua_cancel_data *cd,
		   struct ua_req_list *out)
{
	struct ua_poller *p = &ctx->poller;
	bool all = ua_cancel_all(cd);
	struct ua_req *req, *next;
	unsigned i, hi;
	int found = 0, running = 0;

	pthread_mutex_lock(&p->lock);
	for (cancel_range(cd, &i, &hi); i < hi; i++) {
		for (req = p->hash[i]; req; req = next) {
			next = req->poll.hash_next;
			if ((__atomic_load_n(&req->poll.refs, __ATOMIC_RELAXED) &
			     UA_POLL_CANCEL) || !ua_cancel_match(req, cd))
				continue;
			__atomic_fetch_or(&req->poll.refs, UA_POLL_CANCEL,
					  __ATOMIC_RELEASE);
			if (poll_get_ownership(req)) {
				unlink_req(p, req);
				ua_list_add(out, req);
				found++;
			} else {
				/* Being run right now: its owner sees the mark
				 * if it goes on waiting, but may as well
				 * finish. The kernel runs both under one lock;
				 * here it is a running request (-EALREADY). */
				running++;
			}
			if (!all)
				goto out;
		}
	}
out:
	pthread_mutex_unlock(&p->lock);
	if (all || found)
		return found + running;
	return running ? -EALREADY : 0;
}

/*
 * POLL_REMOVE: takes a POLL_ADD request by user_data out of its list, for
 * the caller to complete or re-arm. -ENOENT: no such poll; -EALREADY: it is
 * being completed right now by its owner.
 */
int ua_poll_disarm(struct ua_ctx *ctx, __u64 user_data, struct ua_req **out)
{
	struct ua_poller *p = &ctx->poller;
	struct ua_req *req;
	int ret = -ENOENT;

	pthread_mutex_lock(&p->lock);
	for (req = p->hash[hash_of(user_data)]; req; req = req->poll.hash_next) {
		if (req->user_data != user_data || !req->poll.is_poll_op)
			continue;
		ret = -EALREADY;
		if (poll_get_ownership(req)) {
			unlink_req(p, req);
			*out = req;
			ret = 0;
		}
		break;
	}
	pthread_mutex_unlock(&p->lock);
	return ret;
}

/* ---- teardown ---- */

/* The poller thread is not running the ring's events, and will not. */
static void detach_from_poller(struct ua_ctx *ctx)
{
	struct ua_poller *p = &ctx->poller;

	pthread_mutex_lock(&svc.lock);
	slot_free(p->hub_key);
	while (svc.busy_ctx == ctx)
		pthread_cond_wait(&svc.idle, &svc.lock);
	/* The last ring: the thread exits. */
	if (!--svc.users && write(svc.wake_fd, &(__u64){ 1 }, sizeof(__u64)) < 0)
		abort();	/* an eventfd far from overflow takes any write */
	pthread_mutex_unlock(&svc.lock);
	epoll_ctl(svc.hub, EPOLL_CTL_DEL, p->epfd, NULL);
}

/* The poller thread serves the ring no more (workers may still park
 * requests: ua_poller_cancel_all settles them once the workers are gone). */
void ua_poller_shutdown(struct ua_ctx *ctx)
{
	struct ua_poller *p = &ctx->poller;
	bool attached;

	pthread_mutex_lock(&p->lock);
	__atomic_store_n(&p->exiting, true, __ATOMIC_RELEASE);
	attached = p->attached;
	pthread_mutex_unlock(&p->lock);
	/* The standby arms the ring in the hub: stopped first. */
	ua_timer_lock();
	ua_timer_stop_locked(ctx);
	if (p->standby.armed)
		ua_timer_disarm_locked(&p->standby);
	ua_timer_unlock();
	if (attached)
		detach_from_poller(ctx);
}

/* After the poller and the workers stopped: nobody else owns anything. */
void ua_poller_cancel_all(struct ua_ctx *ctx)
{
	struct ua_cancel_data any = { .flags = IORING_ASYNC_CANCEL_ANY };
	struct ua_req_list out;

	ua_list_init(&out);
	ua_poll_cancel(ctx, &any, &out);
	ua_issue_up->complete_list(ctx, &out, -ECANCELED);
}

/*
 * The last step, from ctx_free: the descriptors go only after everything
 * that may still post a CQE, and so wake epoll waiters through wake_fd, has
 * finished (the file table's tag CQEs come from the RCU callback thread).
 */
void ua_poller_free(struct ua_ctx *ctx)
{
	struct ua_poller *p = &ctx->poller;
	unsigned i;

	if (!p->ready)
		return;		/* setup failed before the poller existed */
	for (i = 0; i < p->nr_by_fd; i++)
		free(p->by_fd[i]);
	free(p->by_fd);
	p->by_fd = NULL;
	p->nr_by_fd = 0;
	if (p->epfd >= 0) {
		close(p->wake_fd);
		close(p->epfd);
	}
	pthread_mutex_destroy(&p->lock);
}

/*
 * fork() child: no poller thread, and the hub is the parent's epoll
 * instance (a copied descriptor names the same one): the child's first
 * ring makes its own. The inherited descriptors stay open (close-on-exec):
 * the child may have reused their numbers.
 */
void ua_poller_atfork_child(void)
{
	pthread_mutex_init(&svc.lock, NULL);
	pthread_cond_init(&svc.idle, NULL);
	svc.hub = svc.wake_fd = -1;
	svc.slots = NULL;
	svc.nr_slots = 0;
	svc.free_slot = SLOT_NONE;
	svc.users = 0;
	svc.running = false;
	svc.busy_ctx = NULL;
}
