/* SPDX-License-Identifier: MIT */
/*
 * Consuming the submission ring. Each SQE is copied exactly once into a
 * private copy and never read again; the SQ head is released after the last
 * copy of the batch (<liburing/barrier.h>). Every request is then issued
 * inline, non-blocking, and only what would block is handed to a worker.
 * Completions found inline are posted in batches under one lock.
 */
#include <errno.h>
#include "engine/ctx.h"
#include "engine/opdef.h"

/* The kernel's SQE flags, all implemented; any other bit fails with -EINVAL. */
#define UA_SQE_FLAGS	(IOSQE_FIXED_FILE | IOSQE_IO_DRAIN | IOSQE_IO_LINK | \
			 IOSQE_IO_HARDLINK | IOSQE_ASYNC | IOSQE_CQE_SKIP_SUCCESS | \
			 IOSQE_BUFFER_SELECT)
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
	/* Until the opcode is known good, the request is a NOP to cleanup. */
	req->opcode = IORING_OP_NOP;
	if (sqe->opcode >= IORING_OP_LAST || (sqe->flags & ~UA_SQE_FLAGS))
		return -EINVAL;
	def = ua_opdef(sqe->opcode);
	if (!def->prep)
		return -EOPNOTSUPP;
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
	if (sqe->personality)
		return -EINVAL;		/* no personality is registered */
	req->opcode = sqe->opcode;
	return def->prep(req, sqe);
}

/* Hands a request that would block to the worker pool. */
void ua_req_punt(struct ua_ctx *ctx, struct ua_req *req,
		 struct ua_completion_batch *batch)
{
	const struct ua_opdef *def = ua_opdef(req->opcode);
	int ret = def->prepare_async ? def->prepare_async(req) : 0;

	if (ret) {
		req->res = ret;
		req->failed = true;
		ua_batch_add(ctx, batch, req);
		return;
	}
	if (def->needs_file && req->file_kind == UA_FILE_UNKNOWN)
		ua_req_classify_file(req);
	ua_iowq_enqueue(ctx, req);
}

/*
 * Not ready: a file that polls (pipe, socket, tty...) parks the request on
 * readiness instead of holding a worker (IORING_FEAT_FAST_POLL). One that
 * yielded (UA_REQUEUE) is ready: epoll reports it once it is registered.
 */
static bool park(struct ua_req *req, int ret)
{
	const struct ua_opdef *def = ua_opdef(req->opcode);

	if (req->file_kind == UA_FILE_UNKNOWN)
		ua_req_classify_file(req);
	if (req->file_kind != UA_FILE_STREAM)
		return false;
	if (def->prepare_async && def->prepare_async(req))
		return false;
	return ua_poll_arm(req, (__u16) def->poll_events,
			   ret == UA_REQUEUE ? UA_POLL_READY : 0);
}

/* An issue that did not finish: wait for readiness (UA_AGAIN or UA_REQUEUE
 * on a file that polls) or for a worker. */
void ua_req_block(struct ua_ctx *ctx, struct ua_req *req, int ret,
		  struct ua_completion_batch *batch)
{
	if (ret != UA_PUNT && park(req, ret))
		return;
	ua_req_punt(ctx, req, batch);
}

/*
 * Like the kernel, a fixed file is looked up when the request is issued
 * (a linked request's only when its turn comes), and held until the
 * request is freed. False: there is none, and the request completes with
 * -EBADF.
 */
static bool assign_file(struct ua_ctx *ctx, struct ua_req *req,
			struct ua_completion_batch *batch)
{
	if (__builtin_expect(!(req->sqe_flags & IOSQE_FIXED_FILE), 1) ||
	    req->file_node || !ua_opdef(req->opcode)->needs_file ||
	    !ua_req_assign_fixed_file(req))
		return true;
	req->res = -EBADF;
	req->failed = true;
	ua_batch_add(ctx, batch, req);
	return false;
}

static int issue_op(struct ua_req *req)
{
	if (req->sqe_flags & IOSQE_ASYNC)
		return UA_PUNT;
	return ua_opdef(req->opcode)->issue(req, UA_ISSUE_NONBLOCK);
}

/*
 * A request with a LINK_TIMEOUT after it. The timeout is armed only once
 * the request has left this thread (as the kernel arms it when the request
 * goes async); a reference keeps the request alive until then, since it may
 * complete on another thread at once.
 */
static void issue_guarded(struct ua_ctx *ctx, struct ua_req *req,
			  struct ua_completion_batch *batch)
{
	struct ua_req *lt = req->link;
	int ret;

	req->state |= UA_REQ_REFCOUNTED;
	req->refs = 2;
	ret = issue_op(req);
	if (ret == UA_DONE) {
		req->refs = 1;
		ua_batch_add(ctx, batch, req);
		return;
	}
	if (ret != UA_PARKED)
		ua_req_block(ctx, req, ret, batch);
	ua_link_timeout_arm(req, lt);
	if (ua_req_put(req))	/* it completed meanwhile: ours is the last ref */
		ua_req_free_remote(ctx, req);
}

/*
 * Issues a request, non-blocking first, from any thread: inline results join
 * the caller's batch, what waits for readiness or the timer is parked there,
 * what would block goes to a worker.
 */
void ua_issue(struct ua_ctx *ctx, struct ua_req *req,
	      struct ua_completion_batch *batch)
{
	int ret;

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
	ret = issue_op(req);
	if (ret == UA_DONE)
		ua_batch_add(ctx, batch, req);
	else if (ret != UA_PARKED)
		ua_req_block(ctx, req, ret, batch);
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
	ua_issue(ctx, head, batch);
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
	if (head->failed)	/* never issued: fail it all, hard links too */
		head->sqe_flags &= (__u8) ~IOSQE_IO_HARDLINK;
	queue_head(ctx, head, batch);
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
	struct ua_completion_batch batch = { .nr = 0, .local = true };
	unsigned tail = io_uring_smp_load_acquire(ctx->sq_tail);
	unsigned avail = tail - ctx->cached_sq_head;
	unsigned nr = to_submit, submitted = 0;
	struct io_uring_sqe sqe;
	struct ua_req *req;
	int ret = 0;
	long idx;

	/* A tail the application corrupted never makes us run past the ring. */
	if (nr > avail)
		nr = avail;
	if (nr > ctx->sq_entries)
		nr = ctx->sq_entries;
	ua_list_init(&batch.ready);
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
		io_uring_entry_copy_once(&sqe, &ctx->sqes[idx],
					 sizeof(sqe) / sizeof(__u64));
		submitted++;
		if (!submit_one(ctx, req, &sqe, &batch))
			break;
	}
	/* A chain still open at the end is queued as it is, like the kernel. */
	if (ctx->link_head) {
		struct ua_req *head = ctx->link_head;

		ctx->link_head = ctx->link_last = NULL;
		queue_head(ctx, head, &batch);
	}
	/* Release: every copy above happens before the app reuses the slots. */
	io_uring_smp_store_release(ctx->sq_head, ctx->cached_sq_head);
	ua_aio_flush(ctx, &batch);
	ua_batch_run(ctx, &batch);
	return submitted ? (int) submitted : ret;
}
