/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_WAKE_H
#define UA_ENGINE_WAKE_H

#include <stdbool.h>

struct ua_ctx;
struct ua_poller;

/* wake.c: the posters' side of the wait handshake */
void ua_cq_wake(struct ua_ctx *ctx);
/* One wake for the CQEs a stretch of work posts to ctx: hold returns
 * false when this thread holds already (the outer hold wakes). */
bool ua_cq_hold_wakes(struct ua_ctx *ctx);
void ua_cq_release_wakes(struct ua_ctx *ctx);
void ua_poll_wake_cq_waiters(struct ua_ctx *ctx);
void ua_wake_epoll_waiters(struct ua_poller *p);

#endif
