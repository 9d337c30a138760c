/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_SYNC_H
#define UA_ENGINE_SYNC_H

#include "liburing/io_uring.h"

struct ua_req;

/* sync.c: FSYNC, SYNC_FILE_RANGE, FALLOCATE, FADVISE */
int ua_fsync_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_fsync(struct ua_req *req, unsigned issue_flags);
int ua_sfr_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_sync_file_range(struct ua_req *req, unsigned issue_flags);
int ua_fallocate_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_fallocate(struct ua_req *req, unsigned issue_flags);
int ua_fadvise_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_fadvise(struct ua_req *req, unsigned issue_flags);

#endif
