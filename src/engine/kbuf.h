/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_KBUF_H
#define UA_ENGINE_KBUF_H

#include <stddef.h>
#include "liburing/io_uring.h"

struct ua_ctx;
struct ua_req;

#define UA_BUF_HASH	16

/* A provided buffer taken for one transfer (kbuf.c). */
struct ua_buf_group;
struct ua_kbuf_sel {
	struct ua_buf_group	*group;
	__u64			addr;
	__u32			len;
	__u16			bid;
};

/* kbuf.c: provided buffers */
struct ua_kbuf;
int ua_provide_buffers_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_remove_buffers_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_provide_buffers(struct ua_req *req, unsigned issue_flags);
int ua_register_pbuf_ring(struct ua_ctx *ctx, const void *arg, unsigned nr);
int ua_unregister_pbuf_ring(struct ua_ctx *ctx, const void *arg, unsigned nr);
int ua_register_pbuf_status(struct ua_ctx *ctx, void *arg, unsigned nr);
void *ua_kbuf_get(struct ua_req *req, size_t *len, struct ua_kbuf_sel *sel);
void ua_kbuf_recycle(struct ua_req *req, struct ua_kbuf_sel *sel);
__u32 ua_kbuf_consume(struct ua_req *req, struct ua_kbuf_sel *sel, size_t len);
void ua_kbuf_destroy(struct ua_ctx *ctx);

#endif
