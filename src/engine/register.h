/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_REGISTER_H
#define UA_ENGINE_REGISTER_H

#include <stdbool.h>

struct ua_ctx;

/* register.c */
int ua_register(struct ua_ctx *ctx, unsigned opcode, const void *arg,
		unsigned nr_args);
/* A restricted ring may not use this register opcode (-EACCES). */
bool ua_register_refused(const struct ua_ctx *ctx, unsigned opcode);
/* resize.c: IORING_REGISTER_RESIZE_RINGS */
int ua_resize_rings(struct ua_ctx *ctx, const void *arg, unsigned nr_args);

#endif
