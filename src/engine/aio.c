/* SPDX-License-Identifier: MIT */
/*
 * Batching positional reads and writes into one io_submit().
 *
 * A syscall costs about 1 µs on the machines we measure on, as much as a
 * cached 4 KiB read itself, so one preadv2 per request loses to the
 * kernel's io_uring, which pays one syscall per batch. Linux AIO performs
 * buffered transfers synchronously inside io_submit(), honours RWF_NOWAIT
 * per iocb, and is allowed where io_uring is not (Docker's default seccomp
 * profile, for one); so the submitter collects the positional transfers of
 * one io_uring_enter() and moves them with a single io_submit(), then takes
 * their results with io_getevents() without sleeping.
 *
 * Each result is then treated exactly like the submitter's own RWF_NOWAIT
 * preadv2/pwritev2 result (ua_rw_batched_done): a short transfer continues,
 * -EAGAIN punts to a worker, an error completes the request. An iocb that
 * io_submit() refuses takes the ordinary path, which gives the error the
 * kernel would. Where io_setup() is refused (seccomp, no AIO in the
 * kernel), nothing is batched; where it fails for want of room (aio-max-nr,
 * memory), that batch is not. A transfer that does not complete inside
 * io_submit() (O_DIRECT) is waited for once, and its descriptor is not
 * batched again.
 *
 * The AIO contexts belong to the process, not to the rings. A flush submits
 * and reaps every iocb it makes before it returns, so a context holds no
 * work between flushes: a flush borrows an idle one and gives it back, and
 * no ring has anything to wait for, or to destroy, when it exits. That
 * matters because io_destroy() waits for an RCU grace period of the kernel,
 * about 33 ms: a ring that destroyed its own context made every exit cost
 * that. Sharing one context between flushes running at once would make each
 * reap find the others' events; lending each flush its own keeps the
 * context's events the flush's, and the number of contexts at the number of
 * flushes that ever ran at once. After fork() the child has none of them
 * (the kernel does not copy AIO contexts): it forgets them and makes its own.
 *
 * A syscall is not dear everywhere, though, and AIO's own cost per iocb
 * (an allocation, a file reference, an event written and read) is not
 * small: where a system call is cheap, one preadv2 per transfer can beat
 * one io_submit() per batch, and a seccomp filter or the CPU's mitigations
 * turn that around. So which way a batch goes is measured, not assumed:
 * once its descriptors have shown that their transfers complete inside
 * io_submit() (buffered files), a batch is made either way, each way's
 * cost per transfer is kept for the process and each size of batch, and
 * the cheaper one is taken, the other tried again now and then in case
 * the machine changed. Either way each result is handled by the same
 * code, so the choice changes the speed, never a result.
 *
 * Transfers on a descriptor that went async (O_DIRECT) wait for the device:
 * made one at a time by the submitter, queue depth 32 became queue depth 1.
 * They are sent instead to the device context, one for the process, with
 * one io_submit() per flush, and left in flight: the process's reaper
 * thread ("ua-aio") waits for their events in io_getevents() and finishes
 * each request there, as a worker would, so the device sees the whole queue
 * depth and no thread waits per request. The reaper starts with the first
 * transfer in flight and exits when none is left. A ring's teardown waits
 * for its transfers still in flight (the device cannot be stopped; the
 * kernel's io_uring waits for them too).
 */
#include <errno.h>
#include <linux/aio_abi.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "liburing/barrier.h"
#include "engine/aio.h"
#include "engine/cq.h"
#include "engine/lock.h"
#include "engine/req.h"
#include "engine/ring.h"
#include "engine/rw.h"
#include "engine/submit.h"
#include "engine/opdef.h"
#include "engine/sys.h"
#include "engine/timer.h"
#include "engine/thread.h"
#include "engine/uaccess.h"

#define FD_WORD_BITS	(8 * sizeof(long))

static bool fd_went_async(const struct ua_aio_batch *a, int fd)
{
	if ((unsigned) fd >= UA_AIO_FD_BITS)
		return a->high_fds_async;
	return a->async_fds[fd / FD_WORD_BITS] & (1ul << (fd % FD_WORD_BITS));
}

static void mark_fd_async(struct ua_aio_batch *a, int fd)
{
	if ((unsigned) fd >= UA_AIO_FD_BITS)
		a->high_fds_async = true;
	else
		a->async_fds[fd / FD_WORD_BITS] |= 1ul << (fd % FD_WORD_BITS);
}

static bool fd_buffered(const struct ua_aio_batch *a, int fd)
{
	return (unsigned) fd < UA_AIO_FD_BITS &&
	       (a->buffered_fds[fd / FD_WORD_BITS] & (1ul << (fd % FD_WORD_BITS)));
}

static void mark_fd_buffered(struct ua_aio_batch *a, int fd)
{
	if ((unsigned) fd < UA_AIO_FD_BITS)
		a->buffered_fds[fd / FD_WORD_BITS] |= 1ul << (fd % FD_WORD_BITS);
}

/* ---- which way a batch of buffered transfers goes ---- */

/* Batches of 1, 2-3, 4-7, 8-15, 16-31 and 32 transfers: what one system
 * call saves is spread over more transfers in a bigger batch. */
#define SIZE_CLASSES	6
/* Samples of each way before the cheaper is trusted. */
#define WARM_SAMPLES	8
/* Once warm, one batch in this many goes a dearer way, to see whether
 * it still is, and one in TIME_EVERY of the others is timed. */
#define RETRY_EVERY	128
#define TIME_EVERY	4

struct way_cost {
	unsigned	ns;		/* per transfer, a moving average */
	unsigned	samples;	/* saturates at WARM_SAMPLES */
};

/* The process's, as the machine's syscall cost and its seccomp filter
 * are: rings and threads all add to it. Every field is accessed with
 * relaxed atomics; a lost update only delays the choice. */
static struct {
	struct way_cost	way[UA_AIO_NR_WAYS];
	unsigned	batches;
} costs[SIZE_CLASSES];
static unsigned forced_way = UA_AIO_MEASURED;	/* atomic */

static unsigned size_class(unsigned nr)
{
	unsigned c = (unsigned) (31 - __builtin_clz(nr));	/* nr >= 1 */

	return c < SIZE_CLASSES ? c : SIZE_CLASSES - 1;
}

/* Test hook: every batch goes one way where it can (the others, one
 * preadv2/pwritev2 each), or by measurement again. */
void ua_aio_force_way(unsigned way)
{
	__atomic_store_n(&forced_way, way, __ATOMIC_RELAXED);
}

void ua_aio_forget_costs(void)
{
	memset(costs, 0, sizeof(costs));
}

static unsigned load_relaxed(const unsigned *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* The k-th retry of a dearer way: each of the open ways but the cheapest
 * in turn. */
static enum ua_aio_way retry_way(unsigned ways, enum ua_aio_way cheapest,
				 unsigned k)
{
	unsigned others = ways & ~(1u << cheapest), way = cheapest;

	k %= (unsigned) __builtin_popcount(others);
	do {
		do
			way = (way + 1) % UA_AIO_NR_WAYS;
		while (!(others & (1u << way)));
	} while (k--);
	return (enum ua_aio_way) way;
}

/* The way the next batch of nr transfers goes among the open ways (a
 * mask of 1 << enum ua_aio_way; UA_AIO_ALONE is always open), and whether
 * its cost is to be taken (ua_aio_note_cost). */
enum ua_aio_way ua_aio_pick_way(unsigned nr, unsigned ways, bool *timed)
{
	struct way_cost *w = costs[size_class(nr)].way;
	unsigned forced = load_relaxed(&forced_way), n, way;
	enum ua_aio_way cheapest = UA_AIO_ALONE, least_tried = UA_AIO_ALONE;

	*timed = false;
	if (forced != UA_AIO_MEASURED)
		return ways & (1u << forced) ? (enum ua_aio_way) forced
					     : UA_AIO_ALONE;
	if (!(ways & ~(1u << UA_AIO_ALONE)))
		return UA_AIO_ALONE;
	n = __atomic_fetch_add(&costs[size_class(nr)].batches, 1,
			       __ATOMIC_RELAXED);
	/* Ties go to the first way: io_submit() first, as it finds out
	 * which descriptors are O_DIRECT. */
	for (way = UA_AIO_NR_WAYS; way-- > 0;) {
		if (!(ways & (1u << way)))
			continue;
		if (load_relaxed(&w[way].samples) <=
		    load_relaxed(&w[least_tried].samples))
			least_tried = (enum ua_aio_way) way;
		if (load_relaxed(&w[way].ns) <= load_relaxed(&w[cheapest].ns))
			cheapest = (enum ua_aio_way) way;
	}
	if (load_relaxed(&w[least_tried].samples) < WARM_SAMPLES) {
		*timed = true;
		return least_tried;
	}
	if (n % RETRY_EVERY == RETRY_EVERY - 1) {
		*timed = true;	/* a retry untimed would tell nothing */
		return retry_way(ways, cheapest, n / RETRY_EVERY);
	}
	*timed = n % TIME_EVERY == 0;
	return cheapest;
}

/* A batch of nr transfers went way and took ns. A sample is counted for
 * at most twice the average, so that a preemption in the middle of one
 * batch does not decide; a real change still wins in a few batches. */
void ua_aio_note_cost(unsigned nr, enum ua_aio_way way, __u64 ns)
{
	struct way_cost *w = &costs[size_class(nr)].way[way];
	unsigned avg = load_relaxed(&w->ns), samples = load_relaxed(&w->samples);
	__u64 per = ns / nr;

	if (samples && per > 2ull * avg)
		per = 2ull * avg;
	if (per > UINT32_MAX / 2)
		per = UINT32_MAX / 2;
	if (samples)
		per = avg + ((long long) per - (long long) avg) / 8;
	__atomic_store_n(&w->ns, (unsigned) per, __ATOMIC_RELAXED);
	if (samples < WARM_SAMPLES)
		__atomic_store_n(&w->samples, samples + 1, __ATOMIC_RELAXED);
}

/* Idle contexts, each lent to one flush at a time. */
#define IDLE_CONTEXTS	64

static aio_context_t idle_contexts[IDLE_CONTEXTS];	/* atomic; 0: empty */
static bool aio_refused;	/* atomic: io_setup() is not allowed here */
static unsigned nr_contexts;	/* atomic: made by io_setup() so far */

/* Room for the events of every transfer in flight; io_submit() says EAGAIN
 * beyond, and those take the ordinary path. */
#define DEVICE_EVENTS	1024

static struct {
	pthread_mutex_t		lock;
	pthread_cond_t		settled;	/* a ring's count reached 0 */
	aio_context_t		actx;		/* 0 until first needed */
	unsigned		inflight;	/* the process's, under lock */
	bool			reaping;	/* the reaper thread runs */
	__u64			waiter_came;	/* atomic: ua_clock_ns() */
	unsigned		sent;		/* atomic: batches submitted */
} device = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.settled = PTHREAD_COND_INITIALIZER,
};

/* io_setup() creates no file descriptor, so doing it mid-flight is safe. */
static aio_context_t new_context(void)
{
	aio_context_t actx = 0;

	if (ua_sys_io_setup(2 * UA_AIO_BATCH, &actx) < 0) {
		/* Out of room is for now; refused or missing is for good. */
		if (errno != EAGAIN && errno != ENOMEM)
			__atomic_store_n(&aio_refused, true, __ATOMIC_RELAXED);
		return 0;
	}
	__atomic_add_fetch(&nr_contexts, 1, __ATOMIC_RELAXED);
	return actx;
}

/* Acquire: what the last borrower did to the context happens before. */
static aio_context_t borrow_context(void)
{
	aio_context_t actx;
	unsigned i;

	for (i = 0; i < IDLE_CONTEXTS; i++) {
		if (!__atomic_load_n(&idle_contexts[i], __ATOMIC_RELAXED))
			continue;
		actx = __atomic_exchange_n(&idle_contexts[i], 0, __ATOMIC_ACQUIRE);
		if (actx)
			return actx;
	}
	return new_context();
}

static void give_back_context(aio_context_t actx)
{
	unsigned i;

	for (i = 0; i < IDLE_CONTEXTS; i++) {
		aio_context_t empty = 0;

		if (__atomic_compare_exchange_n(&idle_contexts[i], &empty, actx,
						false, __ATOMIC_RELEASE,
						__ATOMIC_RELAXED))
			return;
	}
	/* More flushes ran at once than contexts are kept. */
	syscall(SYS_io_destroy, actx);
}

/* Test hook: behave as if io_setup() were refused, or no longer. */
static bool aio_allowed(void)
{
	return !__atomic_load_n(&aio_refused, __ATOMIC_RELAXED);
}

void ua_aio_set_refused(bool refused)
{
	__atomic_store_n(&aio_refused, refused, __ATOMIC_RELAXED);
}

unsigned ua_aio_nr_contexts(void)
{
	return __atomic_load_n(&nr_contexts, __ATOMIC_RELAXED);
}

/* fork() child: the kernel gave it none of the parent's contexts. */
void ua_aio_forget_contexts(void)
{
	memset(idle_contexts, 0, sizeof(idle_contexts));
	nr_contexts = 0;
	pthread_mutex_init(&device.lock, NULL);
	pthread_cond_init(&device.settled, NULL);
	device.actx = 0;
	device.inflight = 0;
	device.reaping = false;
	device.waiter_came = 0;
}

/* Takes the request into the batch, or returns false: issue it now. */
bool ua_aio_add(struct ua_ctx *ctx, struct ua_req *req,
		struct ua_completion_batch *batch)
{
	struct ua_aio_batch *a = &ctx->aio;

	ua_lock_assert_held(&ctx->uring_lock);
	/* Without AIO too: a batch's reads may be copied out of maps. */
	if (!ua_rw_batchable(req))
		return false;
	if (fd_went_async(a, req->fd)) {
		a->device_reqs[a->nr_device++] = req;
		if (a->nr_device == UA_AIO_BATCH)
			ua_aio_flush(ctx, batch);
		return true;
	}
	a->reqs[a->nr++] = req;
	if (a->nr == UA_AIO_BATCH)
		ua_aio_flush(ctx, batch);
	return true;
}

static void settle(struct ua_ctx *ctx, struct ua_req *req, long res,
		   struct ua_completion_batch *batch)
{
	ua_issue_result(ctx, req, ua_rw_batched_done(req, res),
			UA_ISSUE_NONBLOCK, batch);
}

/* The path a request takes when it is not batched. */
static void issue_alone(struct ua_ctx *ctx, struct ua_req *req,
			struct ua_completion_batch *batch)
{
	ua_issue_result(ctx, req,
			ua_opdef(req->opcode)->issue(req, UA_ISSUE_NONBLOCK),
			UA_ISSUE_NONBLOCK, batch);
}

/*
 * The completion ring the kernel maps at the aio_context_t address: events
 * are written at tail, then tail is published (smp_wmb in aio_complete);
 * whoever reaps moves head. Reading it here saves the io_getevents()
 * syscall for results that are already there, which after io_submit() of
 * buffered I/O is all of them. The kernel supports this: it refills its
 * per-context request count from the head userspace wrote.
 */
struct aio_user_ring {
	unsigned	id;
	unsigned	nr;
	unsigned	head;
	unsigned	tail;
	unsigned	magic;
	unsigned	compat_features;
	unsigned	incompat_features;
	unsigned	header_length;
	struct io_event	events[];
};

#define AIO_RING_MAGIC	0xa10a10a1

/* Takes up to max ready events, or returns -1: use io_getevents(). */
static long reap_user_ring(aio_context_t aio_ctx, struct io_event *ev,
			   unsigned max)
{
	struct aio_user_ring *ring = (struct aio_user_ring *) aio_ctx;
	unsigned head, tail;
	long n = 0;

	if (ring->magic != AIO_RING_MAGIC || ring->incompat_features ||
	    ring->header_length != sizeof(*ring))
		return -1;
	head = IO_URING_READ_ONCE(ring->head);
	/* Acquire: the events below tail are fully written. */
	tail = io_uring_smp_load_acquire(&ring->tail);
	while (head != tail && (unsigned) n < max) {
		ev[n++] = ring->events[head];
		head = (head + 1) % ring->nr;
	}
	/* Release: our reads of the slots happen before the kernel reuses them. */
	io_uring_smp_store_release(&ring->head, head);
	return n;
}

/*
 * Collects the results of `nr` submitted iocbs of cbs, marking each in
 * settled. Buffered I/O has completed inside io_submit(); anything else is
 * waited for, once per descriptor. Returns false when io_getevents() fails
 * for another reason than a signal: the context can then tell no more.
 */
static bool reap(struct ua_ctx *ctx, aio_context_t actx, const struct iocb *cbs,
		 unsigned nr, bool *settled, struct ua_completion_batch *batch)
{
	static const struct timespec no_wait = { 0, 0 };
	struct ua_aio_batch *a = &ctx->aio;
	struct io_event ev[UA_AIO_BATCH];
	const struct timespec *timeout = &no_wait;
	long got, i;

	while (nr) {
		got = timeout ? reap_user_ring(actx, ev, nr) : -1;
		if (got <= 0)
			got = syscall(SYS_io_getevents, actx, 1, nr, ev,
				      timeout);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return false;
		if (!got) {
			/* Still in flight: O_DIRECT or similar. Wait for it,
			 * and keep the descriptors involved out of batches. */
			for (i = 0; i < (long) a->nr; i++)
				mark_fd_async(a, a->reqs[i]->fd);
			timeout = NULL;
			continue;
		}
		for (i = 0; i < got; i++) {
			const struct iocb *cb = (const void *) (uintptr_t) ev[i].obj;

			settled[cb - cbs] = true;
			settle(ctx, (struct ua_req *) (uintptr_t) ev[i].data,
			       (long) ev[i].res, batch);
		}
		nr -= (unsigned) got;
	}
	return true;
}

/*
 * A context whose results cannot be taken is destroyed, which waits for
 * the transfers still in flight, and each request it did not settle takes
 * the ordinary path: a batched transfer is positional, so made again it
 * moves the same bytes to the same place, and its result is the one the
 * kernel's io_uring gives. (Only a write to an O_APPEND file, which goes
 * to the end whatever its offset, may then be made twice.)
 */
static void abandon_context(struct ua_ctx *ctx, aio_context_t actx,
			    const bool *settled, struct ua_completion_batch *batch)
{
	struct ua_aio_batch *a = &ctx->aio;
	unsigned i;

	syscall(SYS_io_destroy, actx);
	for (i = 0; i < a->nr; i++)
		if (!settled[i])
			issue_alone(ctx, a->reqs[i], batch);
	a->nr = 0;
}

/* Without a context: each request on its own. */
static void flush_alone(struct ua_ctx *ctx, struct ua_completion_batch *batch)
{
	struct ua_aio_batch *a = &ctx->aio;
	unsigned i;

	for (i = 0; i < a->nr; i++)
		issue_alone(ctx, a->reqs[i], batch);
	a->nr = 0;
}

/* Submits the batch on actx and takes every result: actx is left idle.
 * Returns false when actx is abandoned instead. */
static bool submit_and_reap(struct ua_ctx *ctx, aio_context_t actx,
			    struct ua_completion_batch *batch)
{
	struct ua_aio_batch *a = &ctx->aio;
	struct iocb cbs[UA_AIO_BATCH], *cbp[UA_AIO_BATCH];
	bool settled[UA_AIO_BATCH] = { false };
	unsigned i, done = 0, submitted = 0;
	long ret;

	for (i = 0; i < a->nr; i++) {
		ua_rw_fill_iocb(a->reqs[i], &cbs[i]);
		cbp[i] = &cbs[i];
	}
	while (done < a->nr) {
		ret = syscall(SYS_io_submit, actx, (long) (a->nr - done),
			      &cbp[done]);
		if (ret > 0) {
			done += (unsigned) ret;
			submitted += (unsigned) ret;
			continue;
		}
		if (ret < 0 && errno == EAGAIN && submitted) {
			/* The context is full: take results, then go on. */
			if (!reap(ctx, actx, cbs, submitted, settled, batch))
				goto abandon;
			submitted = 0;
			continue;
		}
		/* io_submit refused the first iocb left: the ordinary path
		 * reports the error the kernel's io_uring would. */
		settled[done] = true;
		issue_alone(ctx, a->reqs[done++], batch);
	}
	if (!reap(ctx, actx, cbs, submitted, settled, batch))
		goto abandon;
	/* What did not go async completed inside io_submit(): buffered. */
	for (i = 0; i < a->nr; i++)
		if (!fd_went_async(a, (int) cbs[i].aio_fildes))
			mark_fd_buffered(a, (int) cbs[i].aio_fildes);
	a->nr = 0;
	return true;
abandon:
	abandon_context(ctx, actx, settled, batch);
	return false;
}

/* ---- device transfers ---- */

/* Finishes one transfer exactly as the batch path would, then lets the
 * ring's teardown go on if it was the ring's last one in flight. */
static void settle_device(struct ua_req *req, long res)
{
	struct ua_ctx *ctx;
	struct ua_completion_batch run;

	/* The request was written before the io_submit() that sent it and
	 * is read after the io_getevents() that returned it. The kernel
	 * orders the two, but ThreadSanitizer cannot see that: this
	 * acquire pairs with flush_device()'s release. */
	(void) __atomic_load_n(&device.sent, __ATOMIC_ACQUIRE);
	ctx = req->ctx;
	/* The reaper thread comes back up as the services' threads do. */
	ua_issue_up->run_begin(ctx, &run);
	ua_issue_result(ctx, req, ua_rw_batched_done(req, res),
			UA_ISSUE_NONBLOCK, &run);
	ua_issue_up->run_end(ctx, &run);
	pthread_mutex_lock(&device.lock);
	if (!__atomic_sub_fetch(&ctx->aio.device_inflight, 1, __ATOMIC_RELAXED))
		pthread_cond_broadcast(&device.settled);
	pthread_mutex_unlock(&device.lock);
}

/* Threads about to wait take events too (ua_aio_reap_ready): the reaper
 * looks now and then whether any are still in flight for it to wait for. */
static const struct timespec reaper_look = { 0, 50 * 1000 * 1000 };

/*
 * While threads wait for their rings' events themselves
 * (ua_aio_wait_events), the reaper keeps out of io_getevents(): both
 * would be woken by each event, and one that the reaper took would wait
 * unseen by the waiter until the waiter's next event. It looks again
 * every REAPER_STANDBY; a program that stops waiting in io_uring_enter()
 * (and waits on an eventfd instead) sees the events at most that late,
 * once.
 */
#define REAPER_STANDBY_NS	(10 * 1000 * 1000)

static bool waiters_reap(void)
{
	return ua_clock_ns(CLOCK_MONOTONIC) -
	       __atomic_load_n(&device.waiter_came, __ATOMIC_RELAXED) <
	       REAPER_STANDBY_NS;
}

/* True when nothing is left in flight: the reaper is gone then. */
static bool reaper_done(long got)
{
	bool done;

	pthread_mutex_lock(&device.lock);
	device.inflight -= (unsigned) got;
	done = !device.inflight;
	if (done)
		device.reaping = false;
	pthread_mutex_unlock(&device.lock);
	return done;
}

static void *device_reaper(void *arg)
{
	static const struct timespec standby = { 0, REAPER_STANDBY_NS };
	struct io_event ev[UA_AIO_BATCH];
	long got, i;

	(void) arg;
	pthread_setname_np(pthread_self(), "ua-aio");
	for (;;) {
		if (waiters_reap()) {
			nanosleep(&standby, NULL);
			if (reaper_done(0))
				return NULL;
			continue;
		}
		got = syscall(SYS_io_getevents, device.actx, 1, UA_AIO_BATCH,
			      ev, &reaper_look);
		if (got < 0 && errno == EINTR)
			continue;
		/* The context is the process's and never destroyed: only a
		 * kernel bug fails this, and the requests would be lost. */
		if (got < 0)
			abort();
		for (i = 0; i < got; i++)
			settle_device((struct ua_req *) (uintptr_t) ev[i].data,
				      (long) ev[i].res);
		if (reaper_done(got))
			return NULL;
	}
}

static bool start_reaper_locked(void)
{
	ua_lock_assert_held(&device.lock);
	if (device.reaping)
		return true;
	device.reaping = !ua_thread_start(device_reaper, NULL);
	return device.reaping;
}

/* Counts n transfers of ctx in flight, with a context and a reaper for
 * them; false (nothing counted) when either cannot be had. */
static bool device_reserve(struct ua_ctx *ctx, unsigned n)
{
	bool ok;

	pthread_mutex_lock(&device.lock);
	if (!device.actx) {
		aio_context_t actx = 0;

		if (!ua_sys_io_setup(DEVICE_EVENTS, &actx))
			__atomic_store_n(&device.actx, actx, __ATOMIC_RELEASE);
	}
	ok = device.actx && start_reaper_locked();
	if (ok) {
		device.inflight += n;
		__atomic_add_fetch(&ctx->aio.device_inflight, n,
				   __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&device.lock);
	return ok;
}

/* Gives back what io_submit() did not take. The reaper, which may be
 * waiting for none of them, keeps running until the next events. */
static void device_unreserve(struct ua_ctx *ctx, unsigned n)
{
	pthread_mutex_lock(&device.lock);
	device.inflight -= n;
	if (!__atomic_sub_fetch(&ctx->aio.device_inflight, n, __ATOMIC_RELAXED))
		pthread_cond_broadcast(&device.settled);
	pthread_mutex_unlock(&device.lock);
}

/*
 * Sends the device batch with one io_submit() and leaves it in flight. What
 * io_submit() refuses (a bad iocb, or no room left: EAGAIN) takes the
 * ordinary path, which gives the kernel's result.
 */
static void flush_device(struct ua_ctx *ctx, struct ua_completion_batch *batch)
{
	struct ua_aio_batch *a = &ctx->aio;
	struct iocb cbs[UA_AIO_BATCH], *cbp[UA_AIO_BATCH];
	unsigned i, done = 0, nr = a->nr_device;
	long ret;

	a->nr_device = 0;
	if (!device_reserve(ctx, nr)) {
		for (i = 0; i < nr; i++)
			issue_alone(ctx, a->device_reqs[i], batch);
		return;
	}
	for (i = 0; i < nr; i++) {
		ua_rw_fill_iocb(a->device_reqs[i], &cbs[i]);
		cbp[i] = &cbs[i];
	}
	__atomic_fetch_add(&device.sent, 1, __ATOMIC_RELEASE);
	while (done < nr) {
		ret = syscall(SYS_io_submit, device.actx, (long) (nr - done),
			      &cbp[done]);
		if (ret > 0) {
			done += (unsigned) ret;
			continue;
		}
		device_unreserve(ctx, 1);
		issue_alone(ctx, a->device_reqs[done++], batch);
	}
}

/* Finishes device events a waiting thread took, whichever ring's. */
static void settle_taken(const struct io_event *ev, long got)
{
	long i;

	for (i = 0; i < got; i++)
		settle_device((struct ua_req *) (uintptr_t) ev[i].data,
			      (long) ev[i].res);
	pthread_mutex_lock(&device.lock);
	device.inflight -= (unsigned) got;
	pthread_mutex_unlock(&device.lock);
}

/* Device events already there, taken by a thread about to wait for CQEs:
 * it finishes them itself rather than sleep until the reaper wakes it. */
void ua_aio_reap_ready(struct ua_ctx *ctx)
{
	static const struct timespec no_wait = { 0, 0 };
	struct io_event ev[UA_AIO_BATCH];
	long got;

	/* Acquire: a count seen means the context it was counted on. */
	if (!__atomic_load_n(&ctx->aio.device_inflight, __ATOMIC_ACQUIRE))
		return;
	got = syscall(SYS_io_getevents,
		      __atomic_load_n(&device.actx, __ATOMIC_RELAXED), 0,
		      UA_AIO_BATCH, ev, &no_wait);
	if (got > 0)
		settle_taken(ev, got);
}

/*
 * A thread that would sleep until CQEs come, while the ring has transfers
 * at the device, waits for their events in io_getevents() itself and
 * finishes them there: the kernel wakes it from the device's interrupt,
 * and no reaper thread has to run and then wake it (two cross-CPU
 * wakeups, and on a busy machine two waits for a CPU). It waits
 * WAITER_REAP_NS at a time, the most that a CQE another thread posts
 * meanwhile (a worker's, or one of the reaper's before it stood by) can
 * go unseen. Returns 1 after waiting (look at the CQ again), 0 when there
 * is nothing of the ring's at the device or the deadline has passed
 * (sleep as usual), -EINTR after a signal's handler ran.
 */
#define WAITER_REAP_NS	(200 * 1000)

int ua_aio_wait_events(struct ua_ctx *ctx, const struct timespec *deadline)
{
	struct timespec wait = { 0, WAITER_REAP_NS };
	struct io_event ev[UA_AIO_BATCH];
	long got;

	if (!__atomic_load_n(&ctx->aio.device_inflight, __ATOMIC_ACQUIRE))
		return 0;
	__atomic_store_n(&device.waiter_came, ua_clock_ns(CLOCK_MONOTONIC),
			 __ATOMIC_RELAXED);
	if (deadline) {
		__s64 left = (__s64) (deadline->tv_sec * 1000000000ll +
				      deadline->tv_nsec) -
			     (__s64) ua_clock_ns(CLOCK_MONOTONIC);

		if (left <= 0)
			return 0;
		if (left < WAITER_REAP_NS)
			wait.tv_nsec = (long) left;
	}
	got = syscall(SYS_io_getevents,
		      __atomic_load_n(&device.actx, __ATOMIC_RELAXED), 1,
		      UA_AIO_BATCH, ev, &wait);
	if (got < 0)
		return errno == EINTR ? -EINTR : 0;
	settle_taken(ev, got);
	return 1;
}

/* Teardown: the ring's transfers still at the device finish first. */
void ua_aio_wait_device(struct ua_ctx *ctx)
{
	pthread_mutex_lock(&device.lock);
	while (__atomic_load_n(&ctx->aio.device_inflight, __ATOMIC_RELAXED))
		pthread_cond_wait(&device.settled, &device.lock);
	pthread_mutex_unlock(&device.lock);
}

/* With io_submit(), on a borrowed context; each alone without one. */
static void flush_submit(struct ua_ctx *ctx, struct ua_completion_batch *batch)
{
	aio_context_t actx = borrow_context();

	if (!actx) {
		flush_alone(ctx, batch);
		return;
	}
	if (submit_and_reap(ctx, actx, batch))
		give_back_context(actx);
}

/* Only descriptors seen completing inside io_submit() may go either way:
 * an O_DIRECT one is found out by io_submit() alone. */
static bool batch_buffered(const struct ua_aio_batch *a)
{
	unsigned i;

	for (i = 0; i < a->nr; i++)
		if (!fd_buffered(a, a->reqs[i]->fd))
			return false;
	return true;
}

/* Through system calls, one way; its cost taken when timed. */
static void flush_syscalls(struct ua_ctx *ctx, struct ua_completion_batch *batch,
			   enum ua_aio_way way, bool timed)
{
	unsigned nr = ctx->aio.nr;
	__u64 start = timed ? ua_clock_ns(CLOCK_MONOTONIC) : 0;

	if (way == UA_AIO_ALONE)
		flush_alone(ctx, batch);
	else
		flush_submit(ctx, batch);
	if (timed)
		ua_aio_note_cost(nr, way, ua_clock_ns(CLOCK_MONOTONIC) - start);
}

/* ---- reads copied out of maps of their files (filemap.c) ---- */

/* The descriptors one flush looks up; reads of others take system calls.
 * No more than the maps, so that no map a flush uses is replaced in it. */
#define MAP_VIEWS	UA_FILEMAP_SLOTS

struct map_flush {
	struct ua_filemap_view	views[MAP_VIEWS];
	unsigned		nr_views;
};

/* Whether a read of the batch might be copied out of a map. */
static bool may_copy_mapped(struct ua_aio_batch *a)
{
	struct ua_rw_span span;
	unsigned i;

	if (!ua_uaccess_maps_guarded())
		return false;
	for (i = 0; i < a->nr; i++)
		if (!ua_filemaps_refused(&a->maps, a->reqs[i]->fd) &&
		    ua_rw_span(a->reqs[i], &span))
			return true;
	return false;
}

static const struct ua_filemap_view *view_of(struct ua_aio_batch *a,
					     struct map_flush *mf, int fd)
{
	unsigned i;

	for (i = 0; i < mf->nr_views; i++)
		if (mf->views[i].fd == fd)
			return &mf->views[i];
	if (mf->nr_views == MAP_VIEWS || ua_filemaps_refused(&a->maps, fd))
		return NULL;
	ua_filemap_view(&a->maps, fd, &mf->views[mf->nr_views]);
	return &mf->views[mf->nr_views++];
}

/* One read out of its file's map, finished as its preadv2 would have
 * been; false when it must take a system call (a fault included: the
 * system call gives the kernel's result for it). */
static bool copy_one(struct ua_ctx *ctx, struct map_flush *mf,
		     struct ua_req *req, struct ua_completion_batch *batch)
{
	const struct ua_filemap_view *v;
	struct ua_rw_span span;
	const char *src;
	size_t n;

	if (!ua_rw_span(req, &span))
		return false;
	v = view_of(&ctx->aio, mf, req->fd);
	if (!v || !v->map)
		return false;
	src = ua_filemap_span(v, span.off, span.len, &n);
	if (!src || ua_copy_map_to_user(span.addr, src, n))
		return false;
	settle(ctx, req, (long) n, batch);
	return true;
}

/* Copies what it can, keeping the rest in the batch; returns the copies. */
static unsigned copy_mapped(struct ua_ctx *ctx, struct map_flush *mf,
			    struct ua_completion_batch *batch)
{
	struct ua_aio_batch *a = &ctx->aio;
	unsigned i, kept = 0, copied = 0;

	for (i = 0; i < a->nr; i++) {
		if (copy_one(ctx, mf, a->reqs[i], batch))
			copied++;
		else
			a->reqs[kept++] = a->reqs[i];
	}
	a->nr = kept;
	return copied;
}

/*
 * Out of the maps, when that has cost less than the system calls. Always
 * timed: a copy that waited for the device sends its file the other way
 * for a while (filemap.c). A timed flush whose copies faulted filled page
 * tables: not the way's cost, which is not taken then. So while a new map
 * fills, this way has too few samples and is taken on every flush, which
 * fills it quickest.
 */
static void flush_mapped(struct ua_ctx *ctx, struct ua_completion_batch *batch,
			 bool timed)
{
	struct ua_aio_batch *a = &ctx->aio;
	struct map_flush mf = { .nr_views = 0 };
	unsigned i, copied;
	bool cached = true;
	__u64 start, ns, faults = 0;

	if (timed)
		faults = ua_filemap_thread_faults();
	start = ua_clock_ns(CLOCK_MONOTONIC);
	copied = copy_mapped(ctx, &mf, batch);
	ns = ua_clock_ns(CLOCK_MONOTONIC) - start;
	if (!copied)
		return;
	a->maps.copies += copied;
	for (i = 0; i < mf.nr_views; i++)
		if (mf.views[i].map &&
		    !ua_filemap_note_copies(mf.views[i].map, copied, ns))
			cached = false;
	if (cached && timed && faults == ua_filemap_thread_faults())
		ua_aio_note_cost(copied, UA_AIO_MAPPED, ns);
}

/* The ways a batch of nr transfers may go; one transfer is one system
 * call either way, and its own preadv2/pwritev2 costs less than
 * io_submit() with an AIO event to reap: programs that submit each
 * request as they make it (fio, by default) pay that on every request. */
static unsigned syscall_ways(unsigned nr)
{
	unsigned ways = 1u << UA_AIO_ALONE;

	if (nr > 1 && aio_allowed())
		ways |= 1u << UA_AIO_SUBMIT;
	return ways;
}

void ua_aio_flush(struct ua_ctx *ctx, struct ua_completion_batch *batch)
{
	struct ua_aio_batch *a = &ctx->aio;
	enum ua_aio_way way;
	unsigned ways;
	bool timed;

	ua_lock_assert_held(&ctx->uring_lock);
	if (a->nr_device)
		flush_device(ctx, batch);
	if (!a->nr)
		return;
	ua_filemaps_next_flush(&a->maps);
	if (a->nr > 1 && aio_allowed() && !batch_buffered(a)) {
		flush_submit(ctx, batch);	/* it finds O_DIRECT files out */
		return;
	}
	ways = syscall_ways(a->nr);
	if (may_copy_mapped(a))
		ways |= 1u << UA_AIO_MAPPED;
	way = ua_aio_pick_way(a->nr, ways, &timed);
	if (way == UA_AIO_MAPPED) {
		flush_mapped(ctx, batch, timed);
		if (!a->nr)
			return;
		way = ua_aio_pick_way(a->nr, syscall_ways(a->nr), &timed);
	}
	flush_syscalls(ctx, batch, way, timed);
}
