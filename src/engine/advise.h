/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_ADVISE_H
#define UA_ENGINE_ADVISE_H

#include "liburing/io_uring.h"

struct ua_req;

/* advise.c: MADVISE */
int ua_madvise_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_madvise(struct ua_req *req, unsigned issue_flags);

#endif
