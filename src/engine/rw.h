/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_RW_H
#define UA_ENGINE_RW_H

#include <stdbool.h>
#include <stddef.h>
#include "liburing/io_uring.h"

struct ua_req;

/* rw.c: READ, WRITE and their vectored and fixed forms */
int ua_rw_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_rw_fixed_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_rwv_fixed_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_read(struct ua_req *req, unsigned issue_flags);
int ua_write(struct ua_req *req, unsigned issue_flags);
int ua_rw_prepare_async(struct ua_req *req);
void ua_rw_cleanup(struct ua_req *req);
struct iocb;
bool ua_rw_batchable(struct ua_req *req);
void ua_rw_fill_iocb(struct ua_req *req, struct iocb *cb);
int ua_rw_batched_done(struct ua_req *req, long res);
/* A read that a copy out of its file's map may make (aio.c). */
struct ua_rw_span {
	__u64	off;
	__u64	addr;
	size_t	len;
};
bool ua_rw_span(struct ua_req *req, struct ua_rw_span *span);

#endif
