/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_XATTR_H
#define UA_ENGINE_XATTR_H

#include "liburing/io_uring.h"

struct ua_req;

/* xattr.c: extended attributes */
int ua_getxattr_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_getxattr(struct ua_req *req, unsigned issue_flags);
int ua_fgetxattr_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_fgetxattr(struct ua_req *req, unsigned issue_flags);
int ua_setxattr_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_setxattr(struct ua_req *req, unsigned issue_flags);
int ua_fsetxattr_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_fsetxattr(struct ua_req *req, unsigned issue_flags);
void ua_xattr_cleanup(struct ua_req *req);

#endif
