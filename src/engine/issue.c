/* SPDX-License-Identifier: MIT */
/*
 * Acting on the result of an op's issue, for every issuer: the submitter
 * inline (submit.c), its io_submit() batches (aio.c), a worker, the owner
 * of a parked request, the release of a link or a drain. A request that
 * would block is parked on readiness (poll.c) or handed to a worker
 * (iowq.c); one that finished joins the issuer's batch of completions.
 */
#include <errno.h>
#include "engine/cq.h"
#include "engine/file.h"
#include "engine/iowq.h"
#include "engine/poll.h"
#include "engine/req.h"
#include "engine/ring.h"
#include "engine/submit.h"
#include "engine/opdef.h"
#include "engine/personality.h"

/*
 * The worker runs the request with the credentials of the thread handing
 * it over, as the kernel's io-wq runs it with its submitter's: workers
 * are the process's, and one keeps those of the thread that started it.
 * A request with a personality runs with that one instead. The thread's
 * credentials are read once per run.
 */
static int take_submitter_creds(struct ua_req *req,
				struct ua_completion_batch *run)
{
	int ret;

	if (req->state & UA_REQ_CREDS)
		return 0;
	if (!run->creds_read) {
		ret = ua_cred_of_submitter(&run->creds);
		if (ret)
			return ret;
		run->creds_read = true;
	}
	if (run->creds) {
		req->punt_cred = ua_cred_hold(run->creds);
		req->state |= UA_REQ_PUNT_CREDS;
	}
	return 0;
}

/* Hands a request that would block to the worker pool. */
static void punt(struct ua_ctx *ctx, struct ua_req *req,
		 struct ua_completion_batch *batch)
{
	const struct ua_opdef *def = ua_opdef(req->opcode);
	int ret = def->prepare_async ? def->prepare_async(req) : 0;

	if (!ret)
		ret = take_submitter_creds(req, batch);
	if (ret) {
		req->res = ret;
		req->failed = true;
		ua_batch_add(ctx, batch, req);
		return;
	}
	if (def->needs_file && !def->never_waits_on_stream &&
	    req->file_kind == UA_FILE_UNKNOWN)
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

/*
 * The one place the result of an op's issue is acted on, whoever issued
 * it: the submitter inline, a batched io_submit(), a worker, the owner of
 * a parked request, the release of a link or a drain.
 *   UA_DONE	posted with the batch.
 *   UA_PARKED	nothing: the timer or the poller completes it.
 *   UA_AGAIN,
 *   UA_REQUEUE	parked on readiness if the file polls and the issue did not
 *		block; else as UA_PUNT.
 *   UA_PUNT	off a worker: to a worker. On one: issued again there,
 *		blocking; a blocking issue that still cannot finish has
 *		nowhere to go and fails with -EAGAIN.
 * Parked requests (UA_ISSUE_POLLED) leave the poller here unless their
 * owner keeps them (ua_issue_polled).
 */
void ua_issue_result(struct ua_ctx *ctx, struct ua_req *req, int ret,
		     unsigned issue_flags, struct ua_completion_batch *batch)
{
	for (;;) {
		switch (ret) {
		case UA_DONE:
			ua_batch_add(ctx, batch, req);
			return;
		case UA_PARKED:
			return;
		case UA_AGAIN:
		case UA_REQUEUE:
			if ((issue_flags & UA_ISSUE_NONBLOCK) && park(req, ret))
				return;
			break;
		default:
			break;
		}
		if (!(issue_flags & UA_ISSUE_WORKER)) {
			punt(ctx, req, batch);
			return;
		}
		if (!(issue_flags & UA_ISSUE_NONBLOCK)) {
			req->res = -EAGAIN;
			req->failed = true;
			ua_batch_add(ctx, batch, req);
			return;
		}
		issue_flags &= ~(UA_ISSUE_NONBLOCK | UA_ISSUE_PEER_OPEN);
		ret = ua_opdef(req->opcode)->issue(req, issue_flags);
	}
}
