/* SPDX-License-Identifier: MIT */
/*
 * The kernel's rules for which requests a cancellation names. Every kind
 * of waiting request applies them in its own cancellation (ua_cancel_fn):
 * the worker pool, the poller and the armed timeouts.
 */
#include "engine/cancel.h"
#include "engine/req.h"
#include "engine/opdef.h"

bool ua_cancel_all(const struct ua_cancel_data *cd)
{
	return cd->flags & (IORING_ASYNC_CANCEL_ALL | IORING_ASYNC_CANCEL_ANY);
}

/*
 * A fixed file is the slot's node, which requests using the slot hold; a
 * descriptor is compared by number, so a request using the same file
 * through a fixed slot (the table's own duplicate) does not match it, where
 * the kernel compares the files themselves.
 */
static bool uses_file(const struct ua_req *req, const struct ua_cancel_data *cd)
{
	if (!ua_opdef(req->opcode)->needs_file)
		return false;
	if (cd->file_node)
		return req->file_node == cd->file_node;
	return !req->file_node && req->fd == cd->fd;
}

/* The kernel's matching rules; a descriptor names the file a request uses. */
bool ua_cancel_match(const struct ua_req *req, const struct ua_cancel_data *cd)
{
	bool match_data = (cd->flags & IORING_ASYNC_CANCEL_USERDATA) ||
			  !(cd->flags & (IORING_ASYNC_CANCEL_FD |
					 IORING_ASYNC_CANCEL_OP));

	if (cd->req)
		return req == cd->req;
	if (cd->flags & IORING_ASYNC_CANCEL_ANY)
		return true;
	if ((cd->flags & IORING_ASYNC_CANCEL_FD) && !uses_file(req, cd))
		return false;
	if ((cd->flags & IORING_ASYNC_CANCEL_OP) && req->opcode != cd->opcode)
		return false;
	return !match_data || req->user_data == cd->data;
}
