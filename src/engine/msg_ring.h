/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_MSG_RING_H
#define UA_ENGINE_MSG_RING_H

#include "liburing/io_uring.h"

struct ua_req;

/* msg_ring.c: MSG_RING, and IORING_REGISTER_SEND_MSG_RING's message */
int ua_msg_ring_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_msg_ring(struct ua_req *req, unsigned issue_flags);
int ua_msg_ring_sync(const void *arg, unsigned nr_args);

#endif
