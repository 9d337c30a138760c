/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_IOPOLL_H
#define UA_ENGINE_IOPOLL_H

#include <stdbool.h>
#include "engine/list.h"

struct ua_ctx;
struct ua_req;

/* iopoll.c: what an IORING_SETUP_IOPOLL ring accepts; wait.c reaps it */
bool ua_iopoll_op_allowed(unsigned opcode);
int ua_iopoll_prepare(struct ua_req *req);

#endif
