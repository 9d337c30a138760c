/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_OPENCLOSE_H
#define UA_ENGINE_OPENCLOSE_H

#include "liburing/io_uring.h"

struct ua_req;

/* openclose.c: OPENAT, OPENAT2, CLOSE, FIXED_FD_INSTALL */
int ua_openat_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_openat2_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_openat(struct ua_req *req, unsigned issue_flags);
int ua_open_prepare_async(struct ua_req *req);
void ua_open_cleanup(struct ua_req *req);
int ua_close_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_close(struct ua_req *req, unsigned issue_flags);
int ua_fixed_fd_install_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_fixed_fd_install(struct ua_req *req, unsigned issue_flags);

#endif
