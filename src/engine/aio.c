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
 * kernel would. Where io_setup() fails (seccomp, aio-max-nr), nothing is
 * batched. A transfer that does not complete inside io_submit() (O_DIRECT)
 * is waited for once, and its descriptor is not batched again.
 */
#include <errno.h>
#include <linux/aio_abi.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "engine/ctx.h"
#include "engine/opdef.h"

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

/* io_setup() creates no file descriptor, so doing it mid-flight is safe. */
static bool aio_ready(struct ua_aio_batch *a)
{
	aio_context_t ctx = 0;

	if (a->aio_ctx)
		return true;
	if (a->unavailable)
		return false;
	if (syscall(SYS_io_setup, 2 * UA_AIO_BATCH, &ctx) < 0) {
		a->unavailable = true;
		return false;
	}
	a->aio_ctx = ctx;
	return true;
}

/* Takes the request into the batch, or returns false: issue it now. */
bool ua_aio_add(struct ua_ctx *ctx, struct ua_req *req,
		struct ua_completion_batch *batch)
{
	struct ua_aio_batch *a = &ctx->aio;

	if (a->unavailable || fd_went_async(a, req->fd) || !ua_rw_batchable(req))
		return false;
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

/* Collects the results of `nr` submitted iocbs. Buffered I/O has completed
 * inside io_submit(); anything else is waited for, once per descriptor. */
static void reap(struct ua_ctx *ctx, unsigned nr,
		 struct ua_completion_batch *batch)
{
	static const struct timespec no_wait = { 0, 0 };
	struct ua_aio_batch *a = &ctx->aio;
	struct io_event ev[UA_AIO_BATCH];
	const struct timespec *timeout = &no_wait;
	long got, i;

	while (nr) {
		got = timeout ? reap_user_ring(a->aio_ctx, ev, nr) : -1;
		if (got <= 0)
			got = syscall(SYS_io_getevents, a->aio_ctx, 1, nr, ev,
				      timeout);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			/* Still in flight: O_DIRECT or similar. Wait for it,
			 * and keep the descriptors involved out of batches. */
			for (i = 0; i < (long) a->nr; i++)
				mark_fd_async(a, a->reqs[i]->fd);
			timeout = NULL;
			continue;
		}
		for (i = 0; i < got; i++)
			settle(ctx, (struct ua_req *) (uintptr_t) ev[i].data,
			       (long) ev[i].res, batch);
		nr -= (unsigned) got;
	}
}

void ua_aio_flush(struct ua_ctx *ctx, struct ua_completion_batch *batch)
{
	struct ua_aio_batch *a = &ctx->aio;
	struct iocb cbs[UA_AIO_BATCH], *cbp[UA_AIO_BATCH];
	unsigned i, done = 0, submitted = 0;
	long ret;

	if (!a->nr)
		return;
	if (!aio_ready(a)) {
		for (i = 0; i < a->nr; i++)
			issue_alone(ctx, a->reqs[i], batch);
		a->nr = 0;
		return;
	}
	for (i = 0; i < a->nr; i++) {
		ua_rw_fill_iocb(a->reqs[i], &cbs[i]);
		cbp[i] = &cbs[i];
	}
	while (done < a->nr) {
		ret = syscall(SYS_io_submit, a->aio_ctx, (long) (a->nr - done),
			      &cbp[done]);
		if (ret > 0) {
			done += (unsigned) ret;
			submitted += (unsigned) ret;
			continue;
		}
		if (ret < 0 && errno == EAGAIN && submitted) {
			/* The context is full: take results, then go on. */
			reap(ctx, submitted, batch);
			submitted = 0;
			continue;
		}
		/* io_submit refused the first iocb left: the ordinary path
		 * reports the error the kernel's io_uring would. */
		issue_alone(ctx, a->reqs[done++], batch);
	}
	reap(ctx, submitted, batch);
	a->nr = 0;
}

void ua_aio_destroy(struct ua_ctx *ctx)
{
	if (ctx->aio.aio_ctx)
		syscall(SYS_io_destroy, ctx->aio.aio_ctx);
	ctx->aio.aio_ctx = 0;
}
