/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_POLL_OP_H
#define UA_ENGINE_POLL_OP_H

#include "liburing/io_uring.h"

struct ua_req;

/* poll_op.c: POLL_ADD, POLL_REMOVE */
int ua_poll_add_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_poll_add(struct ua_req *req, unsigned issue_flags);
int ua_poll_remove_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_poll_remove(struct ua_req *req, unsigned issue_flags);

int ua_epoll_ctl_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_epoll_ctl(struct ua_req *req, unsigned issue_flags);

#endif
