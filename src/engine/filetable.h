/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_FILETABLE_H
#define UA_ENGINE_FILETABLE_H

#include <pthread.h>
#include "liburing/io_uring.h"
#include "engine/rsrc.h"

struct ua_ctx;
struct ua_req;
struct ua_file_table;
struct ua_file_node;

/*
 * The fixed-file table (filetable.c). lock serialises writers; lookups
 * read the RCU-published table without it.
 */
struct ua_files {
	struct ua_file_table	*table;		/* NULL: none registered */
	pthread_mutex_t		lock;
	unsigned		alloc_start, alloc_end, alloc_hint;
	int			dup_base;	/* lowest number for our fds */
	struct ua_rsrc_cache	nodes;
};

/* filetable.c: registered files and direct descriptors */
void ua_files_init(struct ua_ctx *ctx);
void ua_files_destroy(struct ua_ctx *ctx);
struct ua_file_node *ua_files_get_node(struct ua_ctx *ctx, unsigned slot);
int ua_file_node_fd(const struct ua_file_node *node);
void ua_file_node_put(struct ua_file_node *node);
void ua_file_node_mark_stream(struct ua_file_node *node);
int ua_req_assign_fixed_file(struct ua_req *req);
void ua_req_put_fixed_file(struct ua_req *req);
/* fds and tags: arrays in the application's memory, 0 for none. */
int ua_files_register(struct ua_ctx *ctx, __u64 fds, __u64 tags, unsigned nr);
int ua_files_unregister(struct ua_ctx *ctx);
int ua_files_update(struct ua_ctx *ctx, unsigned offset, __u64 fds,
		    __u64 tags, unsigned nr);
int ua_files_set_alloc_range(struct ua_ctx *ctx, unsigned off, unsigned len);
int ua_files_install(struct ua_ctx *ctx, int fd, __u32 file_slot);
int ua_files_remove(struct ua_ctx *ctx, unsigned slot);
int ua_files_update_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_files_update_op(struct ua_req *req, unsigned issue_flags);

#endif
