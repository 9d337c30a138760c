/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_TIMEOUT_H
#define UA_ENGINE_TIMEOUT_H

#include "liburing/io_uring.h"

struct ua_ctx;
struct ua_req;
struct ua_req_list;

/* timeout.c: TIMEOUT, TIMEOUT_REMOVE, LINK_TIMEOUT */
void ua_timeout_stop(struct ua_ctx *ctx);
int ua_timeout_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_link_timeout_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_timeout(struct ua_req *req, unsigned issue_flags);
int ua_link_timeout(struct ua_req *req, unsigned issue_flags);
int ua_timeout_remove_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_timeout_remove(struct ua_req *req, unsigned issue_flags);
void ua_link_timeout_arm(struct ua_req *req, struct ua_req *lt);
/* timeout_disarm.c */
void ua_link_timeout_start(struct ua_req *lt);
struct ua_req *ua_link_timeout_disarm(struct ua_req *req, int *res);
void ua_timeout_flush_seq(struct ua_ctx *ctx, struct ua_req_list *out);

#endif
