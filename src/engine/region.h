/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_REGION_H
#define UA_ENGINE_REGION_H

#include <stddef.h>
#include "liburing/io_uring.h"

struct ua_ctx;

/* region.c: IORING_REGISTER_MEM_REGION and the wait arguments in it */
int ua_region_register(struct ua_ctx *ctx, const void *arg, unsigned nr_args);
/* The wait argument at offset in the ring's wait region (size bytes). */
int ua_region_wait_arg(struct ua_ctx *ctx, __u64 offset, size_t size,
		       struct io_uring_reg_wait *w);
void ua_region_free(struct ua_ctx *ctx);

#endif
