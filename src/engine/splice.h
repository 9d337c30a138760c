/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_SPLICE_H
#define UA_ENGINE_SPLICE_H

#include "liburing/io_uring.h"

struct ua_req;

/* splice.c: SPLICE, TEE */
int ua_splice_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_splice(struct ua_req *req, unsigned issue_flags);

#endif
