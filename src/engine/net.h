/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_NET_H
#define UA_ENGINE_NET_H

#include "liburing/io_uring.h"

struct ua_req;

/* net.c: sockets */
int ua_sr_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_sr_prepare_async(struct ua_req *req);
void ua_sr_cleanup(struct ua_req *req);
int ua_send(struct ua_req *req, unsigned issue_flags);
int ua_recv(struct ua_req *req, unsigned issue_flags);
int ua_accept_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_accept(struct ua_req *req, unsigned issue_flags);
int ua_connect_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_connect(struct ua_req *req, unsigned issue_flags);
int ua_shutdown_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_shutdown(struct ua_req *req, unsigned issue_flags);
int ua_socket_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_socket(struct ua_req *req, unsigned issue_flags);
int ua_bind_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_bind(struct ua_req *req, unsigned issue_flags);
int ua_listen_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_listen(struct ua_req *req, unsigned issue_flags);

#endif
