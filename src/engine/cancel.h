/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_CANCEL_H
#define UA_ENGINE_CANCEL_H

#include <stdbool.h>
#include "liburing/io_uring.h"

struct ua_ctx;
struct ua_req;
struct ua_file_node;
struct ua_req_list;

/* The flags of ASYNC_CANCEL and IORING_REGISTER_SYNC_CANCEL. */
#define UA_CANCEL_FLAGS	(IORING_ASYNC_CANCEL_ALL | IORING_ASYNC_CANCEL_FD | \
			 IORING_ASYNC_CANCEL_ANY | IORING_ASYNC_CANCEL_FD_FIXED | \
			 IORING_ASYNC_CANCEL_USERDATA | IORING_ASYNC_CANCEL_OP)

/* cancel.c: what a request names when it cancels others */
struct ua_cancel_data {
	__u64			data;		/* user_data */
	__u32			flags;		/* IORING_ASYNC_CANCEL_* */
	int			fd;
	__u8			opcode;
	const struct ua_req	*req;		/* or this very request */
	/* IORING_ASYNC_CANCEL_FD on a fixed file: its node, held. */
	struct ua_file_node	*file_node;
};
bool ua_cancel_match(const struct ua_req *req, const struct ua_cancel_data *cd);
bool ua_cancel_all(const struct ua_cancel_data *cd);
int ua_cancel(struct ua_ctx *ctx, const struct ua_cancel_data *cd);
int ua_sync_cancel(struct ua_ctx *ctx, const void *arg, unsigned nr_args);
int ua_cancel_get_file(struct ua_ctx *ctx, struct ua_cancel_data *cd,
		       bool fixed);
void ua_cancel_put_file(struct ua_cancel_data *cd);
int ua_async_cancel_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_async_cancel(struct ua_req *req, unsigned issue_flags);

/*
 * One kind of waiting request. Detaches the requests matching cd onto out
 * (the first only, unless ua_cancel_all(cd)), for the caller to complete
 * with -ECANCELED, and returns how many it cancelled (counting those it
 * interrupted, which complete themselves), or -EALREADY when a match runs
 * where it cannot be stopped. Another kind of parked request (poll) joins
 * cancellation with one such function in cancel.c's table.
 */
typedef int (*ua_cancel_fn)(struct ua_ctx *ctx, const struct ua_cancel_data *cd,
			    struct ua_req_list *out);
int ua_iowq_cancel(struct ua_ctx *ctx, const struct ua_cancel_data *cd,
		   struct ua_req_list *out);
int ua_timeout_cancel(struct ua_ctx *ctx, const struct ua_cancel_data *cd,
		      struct ua_req_list *out);
int ua_poll_cancel(struct ua_ctx *ctx, const struct ua_cancel_data *cd,
		   struct ua_req_list *out);

#endif
