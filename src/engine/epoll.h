/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_EPOLL_H
#define UA_ENGINE_EPOLL_H

#include "liburing/io_uring.h"

struct ua_req;

/* epoll.c: EPOLL_WAIT */
int ua_epoll_wait_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_epoll_wait(struct ua_req *req, unsigned issue_flags);

#endif
