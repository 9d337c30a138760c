/* SPDX-License-Identifier: MIT */
/*
 * The issue layer: consuming the submission ring, and issuing requests.
 * Each SQE is copied exactly once into a private copy and never read again;
 * the SQ head is released after the last copy of the batch
 * (<liburing/barrier.h>). Every request is then issued inline,
 * non-blocking, and only what would block is handed to a worker.
 * Completions found inline are posted in batches under one lock.
 *
 * The engine's layers, each calling only its own and those below it,
 * never in a loop (test/layers.py declares each file's and checks it):
 *   entry.c (io_uring_enter/register/setup, a ring's references), the
 *     wait loop (wait.c), IORING_REGISTER_SYNC_CANCEL, fork
 *   -> submit.c: submission, chains, runs; aio.c (io_submit batches);
 *      issue.c: the result of every issue
 *   -> the op files (rw.c, net.c, openclose.c, timeout.c, cancel.c...)
 *   -> the services: poll.c (readiness), iowq.c (workers)
 *   -> complete.c: completing requests in batches, which collects what a
 *      completion releases (link.c: the next link, drained requests;
 *      timeout_disarm.c: a LINK_TIMEOUT, count timeouts) but issues
 *      nothing; cancel_match.c, the rules every cancellation applies
 *   -> timer.c, the process's timer
 *   -> resources (req.c, filetable.c, rsrc.c, kbuf.c)
 *   -> cq.c: the CQ ring and its overflow, which requests and resource
 *      tags post into; wake.c, the posters' side of the wait handshake
 *   -> ring.c (memory, descriptor table), eventfd.c, uaccess.c
 *   -> rcu.c, percpu_ref.c -> sys.c.
 * Threads of the services, and the operations that complete requests
 * other than their own (a cancellation, a timeout), come back up only
 * through the issue layer's entries, which it registers with them
 * (ua_issue_register: struct ua_issue_ops), as the kernel's io-wq and
 * task_work call back into io_uring.c: a worker through ua_issue_work(),
 * the owner of a parked request through ua_issue_polled(), and whatever
 * finishes a request through ua_complete_remote() or ua_complete_list().
 * Each runs inside a run
 * (below), so what a completion releases is issued by the run's loop on
 * that thread, never from inside posting and never nested.
 */
#include <errno.h>
#include "liburing/barrier.h"
#include "engine/aio.h"
#include "engine/cq.h"
#include "engine/file.h"
#include "engine/filetable.h"
#include "engine/iopoll.h"
#include "engine/link.h"
#include "engine/list.h"
#include "engine/lock.h"
#include "engine/poll.h"
#include "engine/personality.h"
#include "engine/req.h"
#include "engine/ring.h"
#include "engine/submit.h"
#include "engine/timeout.h"
#include "engine/opdef.h"

#define LINK_FLAGS	(IOSQE_IO_LINK | IOSQE_IO_HARDLINK)

/* The kernel's drain checks: after any CQE_SKIP_SUCCESS, drain is refused
 * for the ring's life, since skipped CQEs make "all before it" unknowable. */
static int init_drain(struct ua_ctx *ctx, struct ua_req *req)
{
	if (req->sqe_flags & IOSQE_CQE_SKIP_SUCCESS)
		ctx->drain_disabled = true;
	if (!(req->sqe_flags & IOSQE_IO_DRAIN))
		return 0;
	if (ctx->drain_disabled)
		return -EOPNOTSUPP;
	/* Drain inside a chain drains the whole chain and the one after. */
	if (ctx->link_head) {
		ctx->link_head->sqe_flags |= IOSQE_IO_DRAIN;
		ctx->drain_next = true;
	}
	return 0;
}

#define ZERO_IOPRIO	(1u << UA_SQE_IOPRIO)

static bool field_set(const struct io_uring_sqe *sqe, enum ua_sqe_field f)
{
	switch (f) {
	case UA_SQE_IOPRIO:	return sqe->ioprio;
	case UA_SQE_OFF:	return sqe->off;
	case UA_SQE_ADDR:	return sqe->addr;
	case UA_SQE_LEN:	return sqe->len;
	case UA_SQE_OP_FLAGS:	return sqe->rw_flags;
	case UA_SQE_BUF_INDEX:	return sqe->buf_index;
	case UA_SQE_FILE_INDEX:	return sqe->splice_fd_in;
	case UA_SQE_ADDR3:	return sqe->addr3;
	case UA_SQE_PAD2:	return sqe->__pad2[0];
	}
	return false;
}

/* Whether any of the fields in mask (1 << UA_SQE_*) is set: only those
 * are looked at. */
static bool fields_set(const struct io_uring_sqe *sqe, unsigned mask)
{
	for (; mask; mask &= mask - 1)
		if (field_set(sqe, (enum ua_sqe_field) __builtin_ctz(mask)))
			return true;
	return false;
}

/* A request that needs other credentials than its submitter's is run by
 * a worker, which takes them while it runs the request. */
static int personality_init(struct ua_ctx *ctx, struct ua_req *req,
			    __u16 id)
{
	int ret = ua_personality_differs(ctx, id);

	if (ret <= 0)
		return ret;
	req->personality = id;
	req->state |= UA_REQ_CREDS;
	req->sqe_flags |= IOSQE_ASYNC;
	return 0;
}

/* Validates the SQE copy and fills the request; -errno fails it. */
static int req_init(struct ua_ctx *ctx, struct ua_req *req,
		    const struct io_uring_sqe *sqe)
{
	const struct ua_opdef *def;
	int ret;

	req->user_data = sqe->user_data;
	req->sqe_flags = sqe->flags;
	req->fd = sqe->fd;
	req->res = 0;
	req->failed = false;
	if (__builtin_expect(ua_cqe_shift(ctx), 0))
		req->big_cqe[0] = req->big_cqe[1] = 0;
	/* Until the opcode is known good, the request is a NOP to cleanup. */
	req->opcode = IORING_OP_NOP;
	if (sqe->opcode >= UA_OP_LAST || (sqe->flags & ~UA_SQE_FLAGS))
		return -EINVAL;
	def = ua_opdef(sqe->opcode);
	if (sqe->flags & IOSQE_BUFFER_SELECT) {
		if (!def->buffer_select)
			return -EOPNOTSUPP;
		req->buf_group = sqe->buf_group;
	}
	if (__builtin_expect(sqe->flags & (IOSQE_IO_DRAIN |
					   IOSQE_CQE_SKIP_SUCCESS), 0)) {
		ret = init_drain(ctx, req);
		if (ret)
			return ret;
	}
	/* As the kernel's: after the flags' checks, before the opcode's. */
	if (__builtin_expect(ctx->restricted, 0) &&
	    !ua_restrictions_allow_sqe(&ctx->restrictions, sqe->opcode,
				       sqe->flags))
		return -EACCES;
	if (__builtin_expect(ctx->setup_flags & IORING_SETUP_IOPOLL, 0) &&
	    !ua_iopoll_op_allowed(sqe->opcode))
		return -EINVAL;
	if (!def->prep)
		return -EOPNOTSUPP;
	if (__builtin_expect(sqe->personality, 0)) {
		ret = personality_init(ctx, req, sqe->personality);
		if (ret)
			return ret;
	}
	/* ioprio first, with no loop: the check every NOP makes. */
	if (sqe->ioprio && (def->zero_fields & ZERO_IOPRIO))
		return -EINVAL;
	if ((def->zero_fields & ~ZERO_IOPRIO) &&
	    fields_set(sqe, def->zero_fields & ~ZERO_IOPRIO))
		return -EINVAL;
	req->opcode = sqe->opcode;
	return def->prep(req, sqe);
}

/* ---- runs: a thread's stretch of work in the issue layer ---- */

static void issue(struct ua_ctx *ctx, struct ua_req *req,
		  struct ua_completion_batch *batch);

/*
 * The run open on this thread: completions found while it is open join its
 * batch, and what they release is issued by its loop (ua_run_end), never
 * from inside posting and never nested. One run per thread at a time, as
 * the kernel runs one task_work list at a time.
 */
static __thread struct ua_completion_batch *this_run
	__attribute__((tls_model("initial-exec")));

static void run_open(struct ua_ctx *ctx, struct ua_completion_batch *b,
		     bool local)
{
	b->nr = 0;
	b->local = local;
	b->ctx = ctx;
	b->creds_read = false;
	ua_list_init(&b->ready);
	if (!this_run)
		this_run = b;
}

/* Opens b as this thread's run (a worker, the timer, the poller...). */
void ua_run_begin(struct ua_ctx *ctx, struct ua_completion_batch *b)
{
	run_open(ctx, b, false);
}

/*
 * Posts the run's CQEs, then issues what they released (next links, drained
 * requests) and completes what was cancelled meanwhile, until nothing is
 * left. During teardown released requests are cancelled instead: nothing
 * new may start.
 */
void ua_run_end(struct ua_ctx *ctx, struct ua_completion_batch *b)
{
	struct ua_req *req;

	for (;;) {
		ua_batch_flush(ctx, b);
		/* Count timeouts met by the flush join the batch anew. */
		if (!b->nr && !b->ready.head)
			break;
		while ((req = ua_list_pop(&b->ready))) {
			if (__atomic_load_n(&ctx->exiting, __ATOMIC_ACQUIRE) &&
			    !(req->state & UA_REQ_COMPLETE_NOW)) {
				req->res = -ECANCELED;
				req->failed = true;
				ua_batch_add(ctx, b, req);
			} else {
				issue(ctx, req, b);
			}
		}
	}
	if (__builtin_expect(b->creds_read, 0))
		ua_cred_drop(b->creds);
	if (this_run == b)
		this_run = NULL;
}

/* The run to join: this thread's for ctx, or own, opened here. */
static struct ua_completion_batch *run_join(struct ua_ctx *ctx,
					    struct ua_completion_batch *own)
{
	if (this_run && this_run->ctx == ctx)
		return this_run;
	ua_run_begin(ctx, own);
	return own;
}

static void run_leave(struct ua_ctx *ctx, struct ua_completion_batch *run,
		      struct ua_completion_batch *own)
{
	if (run == own)
		ua_run_end(ctx, own);
}

/*
 * A request finished by a thread below the issue layer (a worker's wait,
 * the timer, the poller), res set: posted with the run's other CQEs, in
 * the order they finish.
 */
void ua_complete_remote(struct ua_req *req)
{
	struct ua_completion_batch own, *run = run_join(req->ctx, &own);

	ua_batch_add(req->ctx, run, req);
	run_leave(req->ctx, run, &own);
}

/* Done with the submitter's credentials, which the worker has taken or
 * the request will never need: it may be handed over again, by another
 * thread. */
static void drop_punt_creds(struct ua_req *req)
{
	if (__builtin_expect(req->state & UA_REQ_PUNT_CREDS, 0)) {
		req->state &= ~UA_REQ_PUNT_CREDS;
		ua_cred_drop(req->punt_cred);
	}
}

/*
 * Requests detached by a cancellation (or with nowhere to run), completed
 * with res. Within a run they complete after the CQEs already collected,
 * as the kernel completes them by task_work: an ASYNC_CANCEL's CQE, or an
 * expired LINK_TIMEOUT's, comes before those of the requests it cancelled.
 */
void ua_complete_list(struct ua_ctx *ctx, struct ua_req_list *l, int res)
{
	struct ua_completion_batch own, *run = run_join(ctx, &own);
	struct ua_req *req;

	while ((req = ua_list_pop(l))) {
		drop_punt_creds(req);
		req->res = res;
		req->failed = true;
		req->state |= UA_REQ_COMPLETE_NOW;
		ua_list_add(&run->ready, req);
	}
	run_leave(ctx, run, &own);
}

/* Teardown, once no other thread runs: what still waits is cancelled. */
void ua_drain_cancel(struct ua_ctx *ctx)
{
	struct ua_req_list l;

	pthread_mutex_lock(&ctx->completion_lock);
	l = ctx->defer;
	if (!l.head)
		l.tail = &l.head;
	ua_list_init(&ctx->defer);
	pthread_mutex_unlock(&ctx->completion_lock);
	ua_complete_list(ctx, &l, -ECANCELED);
}

/* ---- issuing ---- */

/* Gives the worker the credentials the request runs with: its
 * personality's, or its submitter's; *own is what to go back to. */
static int creds_begin(struct ua_req *req, struct ua_cred **own)
{
	int ret;

	if (__builtin_expect(req->state & UA_REQ_CREDS, 0))
		return ua_personality_begin(req->ctx, req->personality, own);
	ret = ua_cred_begin(req->state & UA_REQ_PUNT_CREDS ?
			    req->punt_cred : NULL, own);
	drop_punt_creds(req);
	return ret;
}

/*
 * A worker's turn for a request (the kernel's io_wq_submit_work). An
 * operation on a file that polls is tried without blocking first and parked
 * on readiness if not ready, as the kernel's io-wq does with IOSQE_ASYNC:
 * no worker is held by an idle pipe or socket. Its blocking retry runs
 * with the request's credentials too.
 */
void ua_issue_work(struct ua_req *req)
{
	const struct ua_opdef *def = ua_opdef(req->opcode);
	struct ua_ctx *ctx = req->ctx;
	unsigned flags = UA_ISSUE_WORKER;
	struct ua_completion_batch run;
	struct ua_cred *own;
	int ret = creds_begin(req, &own);

	if (def->poll_events && req->file_kind == UA_FILE_STREAM)
		flags |= UA_ISSUE_NONBLOCK;
	ua_run_begin(ctx, &run);
	if (__builtin_expect(ret < 0, 0)) {
		req->res = ret;
		req->failed = true;
		ret = UA_DONE;
	} else {
		ret = def->issue(req, flags);
	}
	ua_issue_result(ctx, req, ret, flags, &run);
	ua_personality_end(own);
	ua_run_end(ctx, &run);
}

/*
 * The owner of a parked request runs it again for a readiness event.
 * UA_AGAIN and UA_REQUEUE: it stays parked, for the owner to wait for the
 * next event or to requeue it. Anything else: it has left the poller.
 */
int ua_issue_polled(struct ua_req *req, unsigned issue_flags)
{
	struct ua_ctx *ctx = req->ctx;
	struct ua_completion_batch own, *run;
	int ret;

	issue_flags |= UA_ISSUE_NONBLOCK | UA_ISSUE_POLLED;
	ret = ua_opdef(req->opcode)->issue(req, issue_flags);
	if (ret == UA_AGAIN || ret == UA_REQUEUE)
		return ret;
	ua_poll_unlink(req);
	/* A cancellation that found it running here is seen once it is
	 * unlinked: bound for a worker, it must not go on. */
	if (ret == UA_PUNT && ua_poll_cancel_requested(req)) {
		req->res = -ECANCELED;
		req->failed = true;
		ret = UA_DONE;
	}
	run = run_join(ctx, &own);
	ua_issue_result(ctx, req, ret, issue_flags & ~UA_ISSUE_POLLED, run);
	run_leave(ctx, run, &own);
	return ret;
}

/*
 * The kernel's file lookup. A fixed file is looked up when the request is
 * issued (a linked request's only when its turn comes), and held until the
 * request is freed. A plain descriptor is checked as the kernel's lookup
 * would: a negative number names no file, and a ring's own descriptor (a
 * memfd here, which would take the transfer) answers what the kernel's
 * io_uring file does.
 */
static inline int file_error(struct ua_req *req)
{
	const struct ua_opdef *def = ua_opdef(req->opcode);

	if (!def->needs_file)
		return 0;
	if (__builtin_expect(req->sqe_flags & IOSQE_FIXED_FILE, 0))
		return req->file_node ? 0 : ua_req_assign_fixed_file(req);
	if (req->fd < 0)
		return -EBADF;
	if (def->ring_fd_res && ua_is_ring_fd(req->fd))
		return def->ring_fd_res;
	return 0;
}

/* False: the request has no file, and completes with the error. */
static bool assign_file(struct ua_ctx *ctx, struct ua_req *req,
			struct ua_completion_batch *batch)
{
	int ret = file_error(req);

	if (__builtin_expect(ctx->setup_flags & IORING_SETUP_IOPOLL, 0) && !ret)
		ret = ua_iopoll_prepare(req);

	if (__builtin_expect(!ret, 1))
		return true;
	req->res = ret;
	req->failed = true;
	ua_batch_add(ctx, batch, req);
	return false;
}

/* The first issue of a request, never blocking; IOSQE_ASYNC goes straight
 * to a worker. */
static int issue_first(struct ua_req *req)
{
	if (req->sqe_flags & IOSQE_ASYNC)
		return UA_PUNT;
	return ua_opdef(req->opcode)->issue(req, UA_ISSUE_NONBLOCK);
}

/*
 * A request with a LINK_TIMEOUT after it. The timeout's deadline runs from
 * before the issue, as on the kernel, but it is armed only once the request
 * has left this thread: one completed inline disarms it at once. A
 * reference keeps the request alive until then, since it may complete on
 * another thread at once.
 */
static void issue_guarded(struct ua_ctx *ctx, struct ua_req *req,
			  struct ua_completion_batch *batch)
{
	struct ua_req *lt = req->link;
	int ret;

	req->state |= UA_REQ_REFCOUNTED;
	req->refs = 2;
	ua_link_timeout_start(lt);
	ret = issue_first(req);
	if (ret == UA_DONE)
		req->refs = 1;
	ua_issue_result(ctx, req, ret, UA_ISSUE_NONBLOCK, batch);
	if (ret == UA_DONE)
		return;
	ua_link_timeout_arm(req, lt);
	/* It may be completing on another thread, which writes its state:
	 * only the count is ours to read (it is refcounted, set above). */
	if (!__atomic_sub_fetch(&req->refs, 1, __ATOMIC_ACQ_REL))
		ua_req_free_remote(ctx, req);	/* it completed meanwhile */
}

/*
 * Issues a request, non-blocking first, from the run of any thread: the
 * submitter's, or the one that released it (the next link of a chain, a
 * drained request).
 */
static void issue(struct ua_ctx *ctx, struct ua_req *req,
		  struct ua_completion_batch *batch)
{
	if (__builtin_expect(req->state & UA_REQ_COMPLETE_NOW, 0)) {
		ua_batch_add(ctx, batch, req);
		return;
	}
	if (!assign_file(ctx, req, batch))
		return;
	if (__builtin_expect(req->link != NULL, 0) &&
	    req->link->opcode == IORING_OP_LINK_TIMEOUT) {
		issue_guarded(ctx, req, batch);
		return;
	}
	ua_issue_result(ctx, req, issue_first(req), UA_ISSUE_NONBLOCK, batch);
}

/* The members of a chain copy what the application may reuse, as a punted
 * request does: they are issued after io_uring_enter returns. A member
 * whose copy fails completes with its error as if its SQE had been
 * refused; nonzero tells the caller to fail the chain. */
static int ua_link_prepare(struct ua_req *first)
{
	struct ua_req *req;
	int ret;

	for (req = first; req; req = req->link) {
		const struct ua_opdef *def = ua_opdef(req->opcode);

		if ((req->state & UA_REQ_COMPLETE_NOW) || !def->prepare_async)
			continue;
		ret = def->prepare_async(req);
		if (ret) {
			ua_link_complete_now(req, ret, true);
			return ret;
		}
	}
	return 0;
}

/*
 * A chain of nr requests that failed at submission completes at once,
 * ahead of any drained chain still waiting, as the kernel's does. It takes
 * no place in the drain's count: neither among the requests submitted (a
 * later drain does not wait for it; it is the last submitted) nor among
 * those done (its completions do not count for one submitted before a
 * waiting drain). nr_done is moved back before its CQEs move it on, so the
 * count never passes a drain's mark. Only while chains may wait: otherwise
 * no mark can be passed, and the chain counts on both sides.
 */
static void ua_drain_uncount(struct ua_ctx *ctx, struct ua_req *head)
{
	unsigned nr = 0;

	if (!ctx->drain_active)
		return;
	for (; head; head = head->link)
		nr++;
	ctx->nr_submitted -= nr;
	pthread_mutex_lock(&ctx->completion_lock);
	ctx->nr_done -= nr;
	pthread_mutex_unlock(&ctx->completion_lock);
}

/* Under completion_lock: whether head must wait in defer. Nothing waits:
 * the next chain need not come here unless drained. */
static bool must_wait_locked(struct ua_ctx *ctx, const struct ua_req *head)
{
	bool wait;

	ua_lock_assert_held(&ctx->completion_lock);
	wait = ctx->defer.head || !ua_drain_ready(ctx, head);
	ctx->drain_active = wait;
	return wait;
}

/*
 * Submitter, for a chain that is drained or that arrives while others wait:
 * true when it was deferred, false when it may be issued now.
 */
static bool ua_drain_defer(struct ua_ctx *ctx, struct ua_req *head)
{
	bool wait;

	pthread_mutex_lock(&ctx->completion_lock);
	wait = must_wait_locked(ctx, head);
	pthread_mutex_unlock(&ctx->completion_lock);
	if (!wait)
		return false;
	if (ua_link_prepare(head)) {
		if (!(head->state & UA_REQ_COMPLETE_NOW))
			ua_link_complete_now(head, -ECANCELED, true);
		head->sqe_flags &= (__u8) ~IOSQE_IO_HARDLINK;
		ua_drain_uncount(ctx, head);
		return false;
	}
	/* The last request before head may have completed while it was
	 * prepared, finding nothing in defer to release: asked again, with
	 * the list, under the lock every completion takes. */
	pthread_mutex_lock(&ctx->completion_lock);
	wait = must_wait_locked(ctx, head);
	if (wait)
		ua_list_add(&ctx->defer, head);
	pthread_mutex_unlock(&ctx->completion_lock);
	return wait;
}

/* A plain request (no chain, drain or IOSQE_ASYNC) may join the submitter's
 * io_submit() batch (aio.c), which only this thread's submit loop flushes. */
static bool batchable(const struct ua_req *req)
{
	return !req->state && !req->link &&
	       !(req->sqe_flags & IOSQE_ASYNC) &&
	       ua_opdef(req->opcode)->aio_batch;
}

/* A complete chain, or a lone request, leaves the submission path. */
static void queue_head(struct ua_ctx *ctx, struct ua_req *head,
		       struct ua_completion_batch *batch)
{
	if (__builtin_expect((head->sqe_flags & IOSQE_IO_DRAIN) ||
			     ctx->drain_active, 0) && ua_drain_defer(ctx, head))
		return;
	if (batchable(head)) {
		if (!assign_file(ctx, head, batch))
			return;
		if (ua_aio_add(ctx, head, batch))
			return;
	}
	/* Batched transfers go first: inline work keeps submission order. */
	ua_aio_flush(ctx, batch);
	issue(ctx, head, batch);
}

/*
 * A request that failed its checks. Inside a chain it fails the chain's
 * head with -ECANCELED (and so the whole chain), but the chain is still
 * assembled to its end, as the kernel does.
 */
static void fail_init(struct ua_ctx *ctx, struct ua_req *req, int ret)
{
	req->res = ret;
	req->failed = true;
	req->state |= UA_REQ_COMPLETE_NOW;
	if (ctx->link_head && !ctx->link_head->failed) {
		ctx->link_head->res = -ECANCELED;
		ctx->link_head->failed = true;
		ctx->link_head->state |= UA_REQ_COMPLETE_NOW;
	}
}

/* Adds req to the chain being built, or queues it. False: stop submitting. */
static bool submit_one(struct ua_ctx *ctx, struct ua_req *req,
		       const struct io_uring_sqe *sqe,
		       struct ua_completion_batch *batch)
{
	struct ua_req *head = ctx->link_head;
	int ret = req_init(ctx, req, sqe);
	bool links = req->sqe_flags & LINK_FLAGS;

	req->drain_seq = ctx->nr_submitted++;
	if (__builtin_expect(ctx->drain_next, 0) && !head) {
		ctx->drain_next = false;
		req->sqe_flags |= IOSQE_IO_DRAIN;
	}
	if (__builtin_expect(ret != 0, 0)) {
		fail_init(ctx, req, ret);
		if (!head && !links) {
			ua_drain_uncount(ctx, req);
			ua_batch_add(ctx, batch, req);
			/* The kernel stops at a failed SQE unless SUBMIT_ALL. */
			return ctx->setup_flags & IORING_SETUP_SUBMIT_ALL;
		}
	}
	if (__builtin_expect(head == NULL && !links, 1)) {
		queue_head(ctx, req, batch);
		return true;
	}
	if (!head) {
		ctx->link_head = ctx->link_last = req;
		return true;
	}
	ctx->link_last->link = req;
	ctx->link_last = req;
	if (links)
		return true;
	ctx->link_head = ctx->link_last = NULL;
	if (!head->failed && ua_link_prepare(head->link))
		fail_init(ctx, head, -ECANCELED);
	if (head->failed) {	/* never issued: fail it all, hard links too */
		head->sqe_flags &= (__u8) ~IOSQE_IO_HARDLINK;
		/* At once, drained or not, as a lone failed request. */
		ua_drain_uncount(ctx, head);
		ua_batch_add(ctx, batch, head);
	} else {
		queue_head(ctx, head, batch);
	}
	return ret == 0 || (ctx->setup_flags & IORING_SETUP_SUBMIT_ALL);
}

/* The index of the next SQE, or -1 when the SQ array entry is bad. */
static long next_sqe_index(struct ua_ctx *ctx)
{
	unsigned mask = ctx->sq_entries - 1;
	unsigned slot = ctx->cached_sq_head++ & mask;
	unsigned idx;

	if (ctx->setup_flags & IORING_SETUP_NO_SQARRAY)
		return slot;
	idx = IO_URING_READ_ONCE(ctx->sq_array[slot]);
	if (idx >= ctx->sq_entries) {
		IO_URING_WRITE_ONCE(*ctx->sq_dropped,
				    IO_URING_READ_ONCE(*ctx->sq_dropped) + 1);
		return -1;
	}
	return idx;
}

/*
 * Called with uring_lock held. Returns how many SQEs were consumed, or
 * -EAGAIN when not even one request could be allocated. Like the kernel,
 * it stops at a dropped SQ array entry (not counted) and after an SQE that
 * failed its checks (counted, its CQE posted).
 */
int ua_submit_sqes(struct ua_ctx *ctx, unsigned to_submit)
{
	struct ua_completion_batch batch;
	unsigned tail = io_uring_smp_load_acquire(ctx->sq_tail);
	unsigned avail = tail - ctx->cached_sq_head;
	unsigned nr = to_submit, submitted = 0, reserved;
	unsigned sqe_shift = ua_sqe_shift(ctx);
	struct io_uring_sqe sqe;
	struct ua_req *req;
	int ret = 0;
	long idx;

	ua_lock_assert_held(&ctx->uring_lock);
	/* A tail the application corrupted never makes us run past the ring. */
	if (nr > avail)
		nr = avail;
	if (nr > ctx->sq_entries)
		nr = ctx->sq_entries;
	/* Accept no request whose CQE could not be posted. */
	if (__builtin_expect(ctx->overflow_credit < nr, 0)) {
		reserved = ua_overflow_reserve(ctx, nr);
		if (reserved < nr) {
			nr = reserved;
			ret = -EAGAIN;
		}
	}
	run_open(ctx, &batch, true);
	while (submitted < nr) {
		req = ua_req_alloc(ctx);
		if (!req) {
			ret = -EAGAIN;
			break;
		}
		idx = next_sqe_index(ctx);
		if (idx < 0) {
			ua_req_free_local(ctx, req);
			break;
		}
		/* An SQE128 ring's second half is read by no op: its
		 * first 64 bytes are all a request is made from. */
		io_uring_entry_copy_once(&sqe, &ctx->sqes[idx << sqe_shift],
					 sizeof(sqe) / sizeof(__u64));
		submitted++;
		if (!submit_one(ctx, req, &sqe, &batch))
			break;
	}
	ctx->overflow_credit -= submitted;
	/* A chain still open at the end is queued as it is, like the kernel. */
	if (ctx->link_head) {
		struct ua_req *head = ctx->link_head;

		ctx->link_head = ctx->link_last = NULL;
		queue_head(ctx, head, &batch);
	}
	/* Release: every copy above happens before the app reuses the slots. */
	io_uring_smp_store_release(ctx->sq_head, ctx->cached_sq_head);
	ua_aio_flush(ctx, &batch);
	ua_run_end(ctx, &batch);
	return submitted ? (int) submitted : ret;
}

static const struct ua_issue_ops issue_ops = {
	.issue_work		= ua_issue_work,
	.issue_polled		= ua_issue_polled,
	.run_begin		= ua_run_begin,
	.run_end		= ua_run_end,
	.complete_remote	= ua_complete_remote,
	.complete_list		= ua_complete_list,
};

static void register_issue_ops(void)
{
	ua_services_register(&issue_ops);
}

/* Gives the services (workers, poller) their way back up, once: before
 * the first of their threads starts. */
void ua_issue_register(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, register_issue_ops);
}
