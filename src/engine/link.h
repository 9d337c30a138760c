/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_LINK_H
#define UA_ENGINE_LINK_H

#include <stdbool.h>

struct ua_ctx;
struct ua_req;
struct ua_req_list;

/* link.c: chains, link timeouts' references, drain */
void ua_link_done(struct ua_req *req, struct ua_req_list *out);
void ua_link_complete_now(struct ua_req *req, int res, bool failed);
bool ua_drain_ready(struct ua_ctx *ctx, const struct ua_req *head);
bool ua_req_put(struct ua_req *req);
void ua_drain_release_locked(struct ua_ctx *ctx, struct ua_req_list *out);

#endif
