/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_SUBMIT_H
#define UA_ENGINE_SUBMIT_H

#include "liburing/io_uring.h"

/* The kernel's SQE flags, all implemented; any other bit fails with -EINVAL. */
#define UA_SQE_FLAGS	(IOSQE_FIXED_FILE | IOSQE_IO_DRAIN | IOSQE_IO_LINK | \
			 IOSQE_IO_HARDLINK | IOSQE_ASYNC | IOSQE_CQE_SKIP_SUCCESS | \
			 IOSQE_BUFFER_SELECT)

struct ua_ctx;
struct ua_req;
struct ua_completion_batch;
struct ua_req_list;

/* submit.c: the issue layer */
int ua_submit_sqes(struct ua_ctx *ctx, unsigned to_submit);
void ua_issue_result(struct ua_ctx *ctx, struct ua_req *req, int ret,
		     unsigned issue_flags, struct ua_completion_batch *batch);
void ua_issue_work(struct ua_req *req);
int ua_issue_polled(struct ua_req *req, unsigned issue_flags);
void ua_run_begin(struct ua_ctx *ctx, struct ua_completion_batch *b);
void ua_run_end(struct ua_ctx *ctx, struct ua_completion_batch *b);
void ua_complete_remote(struct ua_req *req);
void ua_complete_list(struct ua_ctx *ctx, struct ua_req_list *l, int res);
void ua_drain_cancel(struct ua_ctx *ctx);
void ua_issue_register(void);

#endif
