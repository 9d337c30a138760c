/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_NOP_H
#define UA_ENGINE_NOP_H

#include "liburing/io_uring.h"

struct ua_req;

/* nop.c: NOP */
int ua_nop_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_nop(struct ua_req *req, unsigned issue_flags);

#endif
