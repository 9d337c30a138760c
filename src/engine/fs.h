/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_FS_H
#define UA_ENGINE_FS_H

#include "liburing/io_uring.h"

struct ua_req;

/* fs.c: path operations and FTRUNCATE */
int ua_statx_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_statx(struct ua_req *req, unsigned issue_flags);
int ua_renameat_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_renameat(struct ua_req *req, unsigned issue_flags);
int ua_unlinkat_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_unlinkat(struct ua_req *req, unsigned issue_flags);
int ua_mkdirat_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_mkdirat(struct ua_req *req, unsigned issue_flags);
int ua_symlinkat_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_symlinkat(struct ua_req *req, unsigned issue_flags);
int ua_linkat_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_linkat(struct ua_req *req, unsigned issue_flags);
void ua_fs_cleanup(struct ua_req *req);
int ua_ftruncate_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_ftruncate(struct ua_req *req, unsigned issue_flags);

#endif
