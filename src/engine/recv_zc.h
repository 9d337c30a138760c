/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_RECV_ZC_H
#define UA_ENGINE_RECV_ZC_H

#include "liburing/io_uring.h"

struct ua_req;

/* recv_zc.c: RECV_ZC, refused at prep */
int ua_recv_zc_prep(struct ua_req *req, const struct io_uring_sqe *sqe);

#endif
