/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_RSRC_H
#define UA_ENGINE_RSRC_H

/*
 * Registered resources (fixed files, registered buffers) share one
 * lifetime, after the kernel's rsrc nodes: each occupied slot of a table
 * holds a node, and a request using the slot holds a reference to the node
 * until it is freed, so replacing or unregistering the slot never waits for
 * I/O in flight and never frees what a request still uses.
 *
 * A node's count is sharded (percpu_ref.h): the table holds the initial
 * reference, a request adds one on its own thread's shard, inside an RCU
 * read-side section, with no shared cache line written. Retiring a node
 * unpublishes it, switches its count to dead mode and queues the rest of
 * the kill behind one grace period, shared by every node retired
 * meanwhile. When the last reference goes, the type's release frees what
 * the node holds, the tag (if any) is posted, and the node, with its
 * shards, returns to a pool that the next registration or update takes
 * from: in steady state nothing is allocated.
 *
 * A table's writers serialise on a lock of the table's own (the cache's
 * `lock`), never on uring_lock, and lookups take no lock: the table and
 * its slots are read inside a read-side section, and a node found is taken
 * only if still live. A node is recycled only after a grace period that
 * began after it was unpublished, so a stale pointer never reaches a
 * recycled node.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>
#include "liburing/io_uring.h"
#include "engine/percpu_ref.h"
#include "engine/rcu.h"

struct ua_ctx;
struct ua_rsrc_cache;
struct ua_buf_node;
struct ua_buf_table;

#define ua_container_of(ptr, type, member) \
	((type *) ((char *) (ptr) - offsetof(type, member)))

/* Embedded first in each type's node (struct ua_file_node, ua_buf_node). */
struct ua_rsrc_node {
	struct ua_percpu_ref	ref;	/* the table's + one per request */
	struct ua_rsrc_cache	*cache;
	struct ua_rsrc_node	*next;	/* pool, retiring, released, kept */
	__u64			tag;	/* CQE user_data on release; 0: none */
	bool			kept;	/* released, still holding its own */
};

struct ua_rsrc_type {
	size_t	node_size;
	/*
	 * Frees what each node of a chain (linked by next, NULL-terminated)
	 * holds, before its tag posts. Called with one node when a request
	 * drops the last reference, with many at the end of a grace period;
	 * NULL when a node holds nothing of its own.
	 */
	void	(*release)(struct ua_rsrc_node *chain);
	/*
	 * Untagged nodes released unused at the end of a grace period keep
	 * what they hold, for two more periods, instead of releasing it:
	 * ua_rsrc_node_take() hands them out first, marked kept, for the
	 * type to reuse (a file node's descriptor number takes the next file
	 * in one dup3()). What nobody took by then is released.
	 */
	bool	keep;
};

/*
 * The nodes of one table of registered resources, and what recycles them
 * (rsrc.c, rsrc.h). Writers hold *lock, the table's own.
 */
struct ua_rsrc_cache {
	const struct ua_rsrc_type *type;
	struct ua_ctx		*ctx;
	pthread_mutex_t		*lock;
	struct ua_rsrc_node	*pool;		/* ready for reuse; under lock */
	unsigned		nr_nodes;	/* ever allocated */
	unsigned		nr_shards;	/* per node's refcount */
	/* Retired nodes, waiting for a grace period, under lock: */
	struct ua_rsrc_node	*retiring;	/* for the next one */
	struct ua_rsrc_node	*waiting;	/* for the pending one */
	struct ua_rsrc_node	*kept;		/* type->keep; newest first */
	struct ua_rsrc_node	*kept_before;	/* kept a period earlier */
	bool			keeping;	/* type->keep until teardown */
	bool			gp_pending;
	struct ua_rcu_head	gp;
	/* A period's end handed to the lock's next holder (rsrc.c): */
	struct ua_rsrc_node	*ended_kept;	/* what it kept */
	int			end_state;	/* __atomic, enum period_end */
	bool			ending;		/* __atomic: in grace_period_done */
	struct ua_rsrc_node	*expired;	/* kept nobody took: let go */
	/* Written by releases on other threads: a cache line of its own. */
	char			pad[64];
	struct ua_rsrc_node	*released;	/* atomic stack */
	char			pad2[64];
};

/* Registered buffers (rsrc.c), published and retired as the files are. */
struct ua_bufs {
	struct ua_buf_table	*table;		/* NULL: none registered */
	pthread_mutex_t		lock;
	struct ua_rsrc_cache	nodes;
};

/* rsrc.c: registered buffers */
void ua_bufs_init(struct ua_ctx *ctx);
void ua_bufs_destroy(struct ua_ctx *ctx);
int ua_register_buffers(struct ua_ctx *ctx, const struct iovec *iovs,
			unsigned nr);
/* iovs and tags: arrays in the application's memory; iovs 0: sparse,
 * tags 0: none. Tags post when their buffer leaves the table. */
int ua_register_buffers_tagged(struct ua_ctx *ctx, __u64 iovs, __u64 tags,
			       unsigned nr);
int ua_update_buffers(struct ua_ctx *ctx, unsigned offset, __u64 iovs,
		      __u64 tags, unsigned nr);
/* arg checked for flags and padding; arg->nr is set when 0 (all). */
int ua_clone_buffers(struct ua_ctx *ctx, struct ua_ctx *src,
		     struct io_uring_clone_buffers *arg);
int ua_unregister_buffers(struct ua_ctx *ctx);
const struct iovec *ua_bufs_get(struct ua_ctx *ctx, unsigned index,
				struct ua_buf_node **node);
const struct iovec *ua_buf_node_iov(const struct ua_buf_node *node);
int ua_buf_import(struct ua_ctx *ctx, unsigned index,
		  struct ua_buf_node **node, __u64 addr, __u64 len);
void ua_buf_node_put(struct ua_buf_node *node);

/* Writers hold *cache->lock. */
void ua_rsrc_cache_init(struct ua_rsrc_cache *cache, struct ua_ctx *ctx,
			pthread_mutex_t *lock, const struct ua_rsrc_type *type);
/* A live node holding only the table's reference, or NULL (-ENOMEM); a
 * kept one (node->kept) first, whose holding the caller reuses or frees. */
struct ua_rsrc_node *ua_rsrc_node_take(struct ua_rsrc_cache *cache);
/* A node that was never published goes straight back to the pool. */
void ua_rsrc_node_give_back(struct ua_rsrc_node *node);
/* Unpublished already: drops the table's reference after a grace period. */
void ua_rsrc_node_retire(struct ua_rsrc_node *node);
/* Releases the kept nodes' holdings, and finishes, after a grace period of
 * its own, the nodes still waiting for one to start, releasing theirs;
 * false if there were none of either. */
bool ua_rsrc_finish_retiring_now(struct ua_rsrc_cache *cache);
/* Teardown, with the table unregistered and every request freed: lets
 * every pending grace period run, then frees the nodes. */
void ua_rsrc_cache_destroy(struct ua_rsrc_cache *cache);

/* A lookup found node in a slot, inside a read-side section: takes a
 * reference unless the node was retired meanwhile. */
static inline bool ua_rsrc_node_tryget(struct ua_rsrc_node *node)
{
	return ua_percpu_ref_tryget_live(&node->ref);
}

/* Maybe the node's last user: then it is released. */
static inline void ua_rsrc_node_put(struct ua_rsrc_node *node)
{
	ua_percpu_ref_put(&node->ref);
}

#endif
