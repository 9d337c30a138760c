/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_SQPOLL_H
#define UA_ENGINE_SQPOLL_H

#include "liburing/io_uring.h"

struct ua_ctx;
struct ua_sq_data;

/* sqpoll.c: the submission thread of IORING_SETUP_SQPOLL rings */
int ua_attach_wq_check(const struct io_uring_params *p);
int ua_sqpoll_attach(struct ua_ctx *ctx, const struct io_uring_params *p);
void ua_sqpoll_detach(struct ua_ctx *ctx);
void ua_sqpoll_wake(struct ua_ctx *ctx);
void ua_sqpoll_wait_space(struct ua_ctx *ctx);

#endif
