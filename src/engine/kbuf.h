/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_KBUF_H
#define UA_ENGINE_KBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>
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

/* The buffers of a bundle (IORING_RECVSEND_BUNDLE), mapped for one
 * transfer: consecutive entries of a ring, or one buffer of a list; at
 * most the kernel's PEEK_MAX_IMPORT. */
#define UA_BUNDLE_MAX	256
struct ua_bundle {
	struct ua_kbuf_sel	sel;
	unsigned		nr;
	size_t			bytes;		/* what iov covers */
	__u16			bid;		/* the first's */
	bool			partial;	/* a buffer was left out, cut */
	bool			empty;		/* mapped up to the tail */
	struct iovec		iov[UA_BUNDLE_MAX];
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
int ua_kbuf_peek(struct ua_req *req, size_t max_len, struct ua_bundle *b);
unsigned ua_bundle_nbufs(const struct ua_bundle *b, size_t len);
__u32 ua_kbuf_consume_bundle(struct ua_req *req, struct ua_bundle *b,
			     size_t len, unsigned nbufs);
void ua_kbuf_destroy(struct ua_ctx *ctx);

#endif
