/* SPDX-License-Identifier: MIT */
/*
 * The process's timer: one thread for every ring, as the kernel has one
 * timer base and no thread per ring.
 *
 * The thread starts when a ring first arms a deadline, sleeps on a
 * condition variable (CLOCK_MONOTONIC) until the earliest deadline of a
 * min-heap that holds every ring's, and exits when the last ring that used
 * it is torn down, so a process whose rings are gone has no thread of ours
 * left. Arming an earlier deadline than the earliest wakes it. It opens no
 * descriptor, and a process that never arms a deadline never starts it.
 *
 * One lock guards the heap and every ring's list of armed nodes: arming is
 * a heap insertion, and the heap is shared, so a per-ring lock would still
 * meet this one on every arm. Whoever takes a node out under the lock
 * (expiry, removal, cancellation, teardown) owns what it belongs to.
 *
 * A node's expire function runs on the thread with the lock held and may
 * drop it to complete requests. While it runs the timer records the ring it
 * runs for, and a ring's teardown waits until the thread is no longer busy
 * with that ring: that, not joining a thread, is what keeps the thread from
 * touching a ring after its exit. The thread never takes uring_lock, so a
 * teardown holding it may wait.
 *
 * Services keep deadlines of their own for a ring (iowq.c re-sends its
 * interrupts from here rather than make a canceller wait): such a node is
 * on no ring's armed list, its owner takes it out at the ring's teardown,
 * and while armed it keeps the thread as a ring does.
 *
 * After fork() the child has no thread: the lock, the conditions and the
 * heap start afresh, and the nodes of the rings it inherited are forgotten
 * with them (those rings are never driven in the child; see ring.c).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include "engine/lock.h"
#include "engine/ring.h"
#include "engine/timer.h"
#include "engine/thread.h"

#define NSEC_PER_SEC	1000000000ull
#define HEAP_NONE	(~0u)

static struct {
	pthread_mutex_t		lock;
	pthread_cond_t		wake;		/* the earliest deadline changed */
	pthread_cond_t		idle;		/* expiring stopped for busy_ctx */
	struct ua_timer_node	**heap;
	unsigned		nr, cap;
	unsigned		users;		/* rings attached */
	bool			running;	/* a thread serves the heap */
	bool			wake_ready;	/* wake initialised */
	struct ua_ctx		*busy_ctx;	/* whose node is expiring */
} timer = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.idle = PTHREAD_COND_INITIALIZER,
};

const struct ua_issue_ops *ua_issue_up;

/* Set once, before the first ring's services run. */
void ua_services_register(const struct ua_issue_ops *ops)
{
	ua_issue_up = ops;
}

void ua_timer_lock(void)
{
	pthread_mutex_lock(&timer.lock);
}

void ua_timer_unlock(void)
{
	pthread_mutex_unlock(&timer.lock);
}

#ifdef UA_DEBUG_LOCKS
void ua_timer_assert_held(void)
{
	ua_lock_assert_held(&timer.lock);
}
#endif

__u64 ua_clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (__u64) ts.tv_sec * NSEC_PER_SEC + (__u64) ts.tv_nsec;
}

/* The min-heap of armed deadlines. */

static void heap_set(unsigned i, struct ua_timer_node *node)
{
	timer.heap[i] = node;
	node->heap_idx = i;
}

static void sift_up(unsigned i)
{
	struct ua_timer_node *node = timer.heap[i];

	while (i) {
		unsigned parent = (i - 1) / 2;

		if (timer.heap[parent]->deadline <= node->deadline)
			break;
		heap_set(i, timer.heap[parent]);
		i = parent;
	}
	heap_set(i, node);
}

static void sift_down(unsigned i)
{
	struct ua_timer_node *node = timer.heap[i];

	for (;;) {
		unsigned c = 2 * i + 1;

		if (c >= timer.nr)
			break;
		if (c + 1 < timer.nr &&
		    timer.heap[c + 1]->deadline < timer.heap[c]->deadline)
			c++;
		if (node->deadline <= timer.heap[c]->deadline)
			break;
		heap_set(i, timer.heap[c]);
		i = c;
	}
	heap_set(i, node);
}

static int heap_push(struct ua_timer_node *node)
{
	if (timer.nr == timer.cap) {
		unsigned cap = timer.cap ? 2 * timer.cap : 16;
		struct ua_timer_node **heap = realloc(timer.heap,
						      cap * sizeof(*heap));

		if (!heap)
			return -ENOMEM;
		timer.heap = heap;
		timer.cap = cap;
	}
	heap_set(timer.nr++, node);
	sift_up(timer.nr - 1);
	return 0;
}

static void heap_remove(struct ua_timer_node *node)
{
	unsigned i = node->heap_idx;
	struct ua_timer_node *moved;

	node->heap_idx = HEAP_NONE;
	if (--timer.nr == i)
		return;
	/* The last entry fills the hole and moves whichever way it must. */
	moved = timer.heap[timer.nr];
	heap_set(i, moved);
	sift_down(i);
	sift_up(moved->heap_idx);
}

/* A ring's armed list, doubly linked. */

static void armed_add(struct ua_ring_timer *rt, struct ua_timer_node *node)
{
	node->prev = NULL;
	node->next = rt->armed;
	if (rt->armed)
		rt->armed->prev = node;
	rt->armed = node;
	node->armed = true;
}

static void armed_del(struct ua_ring_timer *rt, struct ua_timer_node *node)
{
	if (node->prev)
		node->prev->next = node->next;
	else
		rt->armed = node->next;
	if (node->next)
		node->next->prev = node->prev;
	node->armed = false;
}

static void timespec_of(__u64 ns, struct timespec *ts)
{
	ts->tv_sec = (time_t) (ns / NSEC_PER_SEC);
	ts->tv_nsec = (long) (ns % NSEC_PER_SEC);
}

/* Takes the earliest node out and expires it; the lock is held. */
static void expire_first(void)
{
	struct ua_timer_node *node = timer.heap[0];

	ua_lock_assert_held(&timer.lock);
	ua_timer_disarm_locked(node);
	timer.busy_ctx = node->ctx;
	node->expire(node);
	timer.busy_ctx = NULL;
	pthread_cond_broadcast(&timer.idle);
}

static void *timer_main(void *arg)
{
	struct timespec until;

	(void) arg;
	pthread_setname_np(pthread_self(), "ua-timer");
	/* The default 50 µs slack would eat a quarter of the accuracy goal. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	pthread_mutex_lock(&timer.lock);
	while (timer.users) {
		struct ua_timer_node *first = timer.nr ? timer.heap[0] : NULL;

		if (!first) {
			pthread_cond_wait(&timer.wake, &timer.lock);
		} else if (first->deadline <= ua_clock_ns(CLOCK_MONOTONIC)) {
			expire_first();
		} else {
			timespec_of(first->deadline, &until);
			pthread_cond_timedwait(&timer.wake, &timer.lock, &until);
		}
	}
	/* The last ring is gone; a ring attaching later starts a new thread. */
	timer.running = false;
	pthread_mutex_unlock(&timer.lock);
	return NULL;
}

/* The thread's timed waits are on CLOCK_MONOTONIC, like the deadlines. */
static void init_wake(void)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&timer.wake, &attr);
	pthread_condattr_destroy(&attr);
	timer.wake_ready = true;
}

/* Detached, with every signal blocked: signals stay the application's. */
static int start_thread(void)
{
	if (!timer.wake_ready)
		init_wake();
	return ua_thread_start(timer_main, NULL);
}

static int add_user(void)
{
	int ret;

	if (!timer.running) {
		ret = start_thread();
		if (ret)
			return ret;
		timer.running = true;
	}
	timer.users++;
	return 0;
}

/* The last user gone: wake the thread to exit. */
static void drop_user(void)
{
	if (!--timer.users)
		pthread_cond_signal(&timer.wake);
}

/* The ring's first deadline makes it a user of the thread. */
static int attach(struct ua_ring_timer *rt)
{
	int ret;

	if (rt->attached)
		return 0;
	ret = add_user();
	if (ret)
		return ret;
	rt->attached = true;
	return 0;
}

static void wake_if_earliest(struct ua_timer_node *node)
{
	/* A new earliest deadline: the sleeping thread must wait less. */
	if (timer.heap[0] == node)
		pthread_cond_signal(&timer.wake);
}

int ua_timer_arm_locked(struct ua_ctx *ctx, struct ua_timer_node *node,
			__u64 deadline)
{
	struct ua_ring_timer *rt = &ctx->timer;
	int ret;

	ua_lock_assert_held(&timer.lock);
	if (rt->stopping)
		return -ECANCELED;
	ret = attach(rt);
	if (ret)
		return ret;
	node->ctx = ctx;
	node->deadline = deadline;
	ret = heap_push(node);
	if (ret)
		return ret;
	node->service = false;
	armed_add(rt, node);
	wake_if_earliest(node);
	return 0;
}

/*
 * A deadline a service keeps for a ring (not a request's: it is on no
 * armed list, and its owner takes it out at teardown). While armed it
 * counts among the thread's users, so the thread stays for it.
 */
int ua_timer_arm_service_locked(struct ua_ctx *ctx, struct ua_timer_node *node,
				__u64 deadline)
{
	int ret;

	ua_lock_assert_held(&timer.lock);
	if (ctx->timer.stopping)
		return -ECANCELED;
	ret = add_user();
	if (ret)
		return ret;
	node->ctx = ctx;
	node->deadline = deadline;
	ret = heap_push(node);
	if (ret) {
		drop_user();
		return ret;
	}
	node->service = true;
	node->armed = true;
	wake_if_earliest(node);
	return 0;
}

void ua_timer_disarm_locked(struct ua_timer_node *node)
{
	ua_lock_assert_held(&timer.lock);
	heap_remove(node);
	if (!node->service) {
		armed_del(&node->ctx->timer, node);
		return;
	}
	node->armed = false;
	drop_user();
}

/*
 * Teardown: the ring arms nothing more, the thread is not (and will not
 * be) expiring a node of it, and it no longer counts among the thread's
 * users. Its armed nodes are left for the caller to take out.
 */
void ua_timer_stop_locked(struct ua_ctx *ctx)
{
	struct ua_ring_timer *rt = &ctx->timer;

	ua_lock_assert_held(&timer.lock);
	rt->stopping = true;
	while (timer.busy_ctx == ctx)
		pthread_cond_wait(&timer.idle, &timer.lock);
	if (!rt->attached)
		return;
	rt->attached = false;
	drop_user();
}

/*
 * fork() child: only the forking thread exists, so the lock may be held by
 * a thread that is gone and the conditions may count waiters that are.
 * Starting afresh is the only state that is true.
 */
void ua_timer_atfork_child(void)
{
	pthread_mutex_init(&timer.lock, NULL);
	pthread_cond_init(&timer.idle, NULL);
	timer.wake_ready = false;
	timer.nr = 0;
	timer.users = 0;
	timer.running = false;
	timer.busy_ctx = NULL;
}
