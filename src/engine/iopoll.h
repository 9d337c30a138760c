/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_IOPOLL_H
#define UA_ENGINE_IOPOLL_H

#include <stdbool.h>
#include "engine/list.h"

struct ua_ctx;
struct ua_req;

/* iopoll.c: IORING_SETUP_IOPOLL */
bool ua_iopoll_op_allowed(unsigned opcode);
int ua_iopoll_prepare(struct ua_req *req);
void ua_iopoll_hold(struct ua_ctx *ctx, struct ua_req *req);
void ua_iopoll_reap(struct ua_ctx *ctx);
int ua_iopoll_get_events(struct ua_ctx *ctx, unsigned min_complete,
			 const struct timespec *deadline);

#endif
