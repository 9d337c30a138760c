/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_READ_MSHOT_H
#define UA_ENGINE_READ_MSHOT_H

#include "liburing/io_uring.h"

struct ua_req;

/* read_mshot.c: READ_MULTISHOT */
int ua_read_mshot_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_read_mshot(struct ua_req *req, unsigned issue_flags);

#endif
