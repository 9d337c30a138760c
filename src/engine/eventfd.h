/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_EVENTFD_H
#define UA_ENGINE_EVENTFD_H

#include <stdbool.h>

struct ua_ctx;
struct ua_ev_fd;

/* eventfd.c */
int ua_eventfd_register(struct ua_ctx *ctx, const void *arg, unsigned nr,
			bool async);
int ua_eventfd_unregister(struct ua_ctx *ctx);
struct ua_ev_fd *ua_eventfd_begin(struct ua_ctx *ctx);
void ua_eventfd_end(struct ua_ctx *ctx, struct ua_ev_fd *ev, bool posted,
		    bool inline_post);
void ua_eventfd_free(struct ua_ctx *ctx);

#endif
