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

/* SQE flags this engine implements; any other bit fails with -EINVAL. */
#define UA_SQE_FLAGS	(IOSQE_FIXED_FILE | IOSQE_ASYNC | IOSQE_CQE_SKIP_SUCCESS)
/* Flags the kernel knows; those we do not implement yet are refused. */
#define KERNEL_SQE_FLAGS (IOSQE_FIXED_FILE | IOSQE_IO_DRAIN | IOSQE_IO_LINK | \
			  IOSQE_IO_HARDLINK | IOSQE_ASYNC | \
			  IOSQE_BUFFER_SELECT | IOSQE_CQE_SKIP_SUCCESS)

/* Validates the SQE copy and fills the request; -errno fails it. */
static int req_init(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	const struct ua_opdef *def;

	req->user_data = sqe->user_data;
	req->sqe_flags = sqe->flags;
	req->fd = sqe->fd;
	req->res = 0;
	req->failed = false;
	/* Until the opcode is known good, the request is a NOP to cleanup. */
	req->opcode = IORING_OP_NOP;
	if (sqe->opcode >= IORING_OP_LAST || (sqe->flags & ~KERNEL_SQE_FLAGS))
		return -EINVAL;
	def = ua_opdef(sqe->opcode);
	if (!def->prep)
		return -EOPNOTSUPP;
	if (sqe->flags & IOSQE_BUFFER_SELECT)
		return -EOPNOTSUPP;	/* no op here selects buffers yet */
	if (sqe->flags & ~UA_SQE_FLAGS)
		return -EINVAL;		/* links and drain: not yet */
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

static void issue(struct ua_ctx *ctx, struct ua_req *req,
		  struct ua_completion_batch *batch)
{
	const struct ua_opdef *def = ua_opdef(req->opcode);

	/* Like the kernel, a fixed file is looked up when the request is
	 * issued, and held from then until the request is freed. */
	if ((req->sqe_flags & IOSQE_FIXED_FILE) && def->needs_file &&
	    ua_req_assign_fixed_file(req)) {
		req->res = -EBADF;
		req->failed = true;
		ua_batch_add(ctx, batch, req);
		return;
	}
	if (req->sqe_flags & IOSQE_ASYNC) {
		ua_req_punt(ctx, req, batch);
		return;
	}
	if (def->aio_batch && ua_aio_add(ctx, req, batch))
		return;
	/* Batched transfers go first: inline work keeps submission order. */
	ua_aio_flush(ctx, batch);
	if (def->issue(req, UA_ISSUE_NONBLOCK) == UA_PUNT)
		ua_req_punt(ctx, req, batch);
	else
		ua_batch_add(ctx, batch, req);
}

/* Returns false when submission must stop after this SQE. */
static bool submit_one(struct ua_ctx *ctx, struct ua_req *req,
		       const struct io_uring_sqe *sqe,
		       struct ua_completion_batch *batch)
{
	int ret = req_init(req, sqe);

	if (ret) {
		req->res = ret;
		req->failed = true;
		ua_batch_add(ctx, batch, req);
		/* The kernel stops at a failed SQE unless SUBMIT_ALL. */
		return ctx->setup_flags & IORING_SETUP_SUBMIT_ALL;
	}
	issue(ctx, req, batch);
	return true;
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
	struct ua_completion_batch batch = { .nr = 0 };
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
	/* Release: every copy above happens before the app reuses the slots. */
	io_uring_smp_store_release(ctx->sq_head, ctx->cached_sq_head);
	ua_aio_flush(ctx, &batch);
	ua_batch_flush(ctx, &batch);
	return submitted ? (int) submitted : ret;
}
