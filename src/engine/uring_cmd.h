/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_URING_CMD_H
#define UA_ENGINE_URING_CMD_H

#include "liburing/io_uring.h"

struct ua_req;

/* uring_cmd.c: URING_CMD on sockets and block devices */
int ua_uring_cmd_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_uring_cmd(struct ua_req *req, unsigned issue_flags);

#endif
