/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_NAPI_H
#define UA_ENGINE_NAPI_H

struct ua_ctx;

/* napi.c: IORING_(UN)REGISTER_NAPI */
int ua_napi_register(struct ua_ctx *ctx, const void *arg, unsigned nr_args);
int ua_napi_unregister(struct ua_ctx *ctx, const void *arg,
		       unsigned nr_args);
void ua_napi_free(struct ua_ctx *ctx);

#endif
