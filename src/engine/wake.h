/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_WAKE_H
#define UA_ENGINE_WAKE_H

struct ua_ctx;
struct ua_poller;

/* wake.c: the posters' side of the wait handshake */
void ua_cq_wake(struct ua_ctx *ctx);
void ua_poll_wake_cq_waiters(struct ua_ctx *ctx);
void ua_wake_epoll_waiters(struct ua_poller *p);

#endif
