/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_MSG_RING_H
#define UA_ENGINE_MSG_RING_H

#include "liburing/io_uring.h"

struct ua_req;

/* msg_ring.c: MSG_RING, and io_uring_register() on descriptor -1 */
int ua_msg_ring_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_msg_ring(struct ua_req *req, unsigned issue_flags);
int ua_register_blind(unsigned opcode, const void *arg, unsigned nr_args);

#endif
