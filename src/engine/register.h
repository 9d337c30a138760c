/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_REGISTER_H
#define UA_ENGINE_REGISTER_H


struct ua_ctx;

/* register.c */
int ua_register(struct ua_ctx *ctx, unsigned opcode, const void *arg,
		unsigned nr_args);

#endif
