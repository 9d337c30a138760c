/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_PIPE_H
#define UA_ENGINE_PIPE_H

#include "liburing/io_uring.h"

struct ua_req;

/* pipe.c: PIPE */
int ua_pipe_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_pipe(struct ua_req *req, unsigned issue_flags);

#endif
