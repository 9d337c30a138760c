/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_WAITID_H
#define UA_ENGINE_WAITID_H

#include "liburing/io_uring.h"

struct ua_req;

/* waitid.c: WAITID */
int ua_waitid_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_waitid(struct ua_req *req, unsigned issue_flags);

#endif
