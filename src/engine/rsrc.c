/* SPDX-License-Identifier: MIT */
/*
 * Registered resources: the node lifetime that fixed files and registered
 * buffers share (see rsrc.h), and the registered-buffer table
 * (IORING_REGISTER_BUFFERS) built on it.
 */
#include <assert.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "engine/cq.h"
#include "engine/lock.h"
#include "engine/ring.h"
#include "engine/rsrc.h"
#include "engine/percpu_ref.h"
#include "engine/rcu.h"
#include "engine/uaccess.h"

/* Threads touching one node: the submitter and the completers. More
 * shards than that only cost memory (a cache line each, per node). */
#define MAX_NODE_SHARDS		8u

/*
 * Releasing. A node's last reference may go on any thread: that of a
 * request's completion releases it at once. Most releases, though, are
 * those of nodes nobody was using, at the end of their grace period,
 * hundreds at a time on the RCU callback thread: those are gathered in a
 * batch and handed to the type's release as one chain (the file table
 * closes their descriptors a run at a time). Either way the resource is
 * released before the tag is posted, so an application that sees the tag
 * finds it gone; and the node is live again when it reaches the pool.
 */
struct release_batch {
	struct ua_rsrc_cache	*cache;
	struct ua_rsrc_node	*head, **tail;	/* in retirement order */
};

static _Thread_local struct release_batch *current_batch;

/* Hands the chain first..last back for reuse, with one atomic operation.
 * Release: the nodes' last writes happen before their reuse. */
static void nodes_recycle(struct ua_rsrc_cache *cache,
			  struct ua_rsrc_node *first, struct ua_rsrc_node *last)
{
	struct ua_rsrc_node *head = __atomic_load_n(&cache->released,
						    __ATOMIC_RELAXED);

	do {
		last->next = head;
	} while (!__atomic_compare_exchange_n(&cache->released, &head, first,
					      true, __ATOMIC_RELEASE,
					      __ATOMIC_RELAXED));
}

static void release_chain(struct ua_rsrc_cache *cache,
			  struct ua_rsrc_node *chain)
{
	if (cache->type->release)
		cache->type->release(chain);
}

/* The resource is released: post the tag; the node is live again. */
static void node_released(struct ua_rsrc_node *node)
{
	if (node->tag)
		ua_post_cqe(node->cache->ctx, node->tag, 0, 0);
	node->tag = 0;
	ua_percpu_ref_reinit(&node->ref);
}

static void node_release(struct ua_percpu_ref *ref)
{
	struct ua_rsrc_node *node = ua_container_of(ref, struct ua_rsrc_node,
						    ref);
	struct release_batch *b = current_batch;

	node->next = NULL;
	if (!b || b->cache != node->cache) {
		release_chain(node->cache, node);
		node_released(node);
		nodes_recycle(node->cache, node, node);
		return;
	}
	*b->tail = node;
	b->tail = &node->next;
}

/*
 * The batch of nodes released at a grace period's end: those the type
 * keeps come back as a chain (live again, still holding their own);
 * the others are released, their tags posted, and recycled.
 */
static struct ua_rsrc_node *release_batch(struct ua_rsrc_cache *cache,
					  struct ua_rsrc_node *chain, bool keep)
{
	struct ua_rsrc_node *node, *next, *kept = NULL, *head = NULL;
	struct ua_rsrc_node **tail = &head;

	for (node = chain; node; node = next) {
		next = node->next;
		if (keep && !node->tag) {
			ua_percpu_ref_reinit(&node->ref);
			node->kept = true;
			node->next = kept;
			kept = node;
		} else {
			*tail = node;
			tail = &node->next;
		}
	}
	*tail = NULL;
	if (!head)
		return kept;
	release_chain(cache, head);
	for (node = head; node; node = node->next)
		node_released(node);
	nodes_recycle(cache, head,
		      ua_container_of(tail, struct ua_rsrc_node, next));
	return kept;
}

/*
 * A grace period has passed since each node of the list was retired: drop
 * the table's references. Unused nodes are released here, in one batch,
 * or kept (returned) when keep is set. The list is newest first; kill in
 * retirement order, so that tags post in the order their resources left
 * the table.
 */
static struct ua_rsrc_node *finish_kills(struct ua_rsrc_cache *cache,
					 struct ua_rsrc_node *list, bool keep)
{
	struct release_batch b = { .cache = cache, .tail = &b.head };
	struct ua_rsrc_node *node, *next, *oldest = NULL;

	for (node = list; node; node = next) {
		next = node->next;
		node->next = oldest;
		oldest = node;
	}
	current_batch = &b;
	for (node = oldest; node; node = next) {
		next = node->next;
		ua_percpu_ref_kill_finish(&node->ref);
	}
	current_batch = NULL;
	*b.tail = NULL;
	return release_batch(cache, b.head, keep);
}

/* a, then b. */
static struct ua_rsrc_node *chain_join(struct ua_rsrc_node *a,
				       struct ua_rsrc_node *b)
{
	struct ua_rsrc_node *last = a;

	if (!a)
		return b;
	while (last->next)
		last = last->next;
	last->next = b;
	return a;
}

/* Kept nodes nobody took: what they hold is released; they are live. */
static void let_go(struct ua_rsrc_cache *cache, struct ua_rsrc_node *chain)
{
	struct ua_rsrc_node *last = chain;

	if (!chain)
		return;
	release_chain(cache, chain);
	for (;; last = last->next) {
		last->kept = false;
		if (!last->next)
			break;
	}
	nodes_recycle(cache, chain, last);
}

/*
 * A grace period's end, which needs the lock to hand what it kept over
 * and to start the next period. An updating thread holds the lock nearly
 * all the time, releasing it only for a moment between two updates, and
 * may be preempted holding it: the RCU thread, waiting for it, was found
 * to wait hundreds of microseconds per period, while updates ran out of
 * kept nodes. So the end is left to whichever thread holds the lock next:
 * the RCU thread posts it (PERIOD_ENDED), and takes the lock itself only
 * if no writer has taken the end over (ua_rsrc_node_take() does) by the
 * time it gets it. It returns once the end is done either way.
 */
enum period_end {
	PERIOD_RUNNING,
	PERIOD_ENDED,		/* ended_kept waits for the lock's holder */
	PERIOD_ENDING,		/* a holder of the lock is ending it */
};

/* Spins of the RCU thread on trylock before it naps between tries. */
#define END_SPINS	256

static void end_period_locked(struct ua_rsrc_cache *cache);

static struct ua_rsrc_node *node_alloc(struct ua_rsrc_cache *cache)
{
	struct ua_rsrc_node *node = malloc(cache->type->node_size);

	if (!node)
		return NULL;
	if (ua_percpu_ref_init(&node->ref, node_release, cache->nr_shards)) {
		free(node);
		return NULL;
	}
	node->cache = cache;
	node->tag = 0;
	node->kept = false;
	cache->nr_nodes++;
	return node;
}

/* Kept nodes first, newest first: the oldest are those let go at the
 * period's end. Growth allocates; the released stack is taken whole, so
 * no pop races a push (no ABA). */
struct ua_rsrc_node *ua_rsrc_node_take(struct ua_rsrc_cache *cache)
{
	struct ua_rsrc_node *node = cache->kept;

	ua_lock_assert_held(cache->lock);
	if (__atomic_load_n(&cache->end_state, __ATOMIC_RELAXED) ==
	    PERIOD_ENDED) {
		end_period_locked(cache);
		node = cache->kept;
	}
	if (node) {
		cache->kept = node->next;
		return node;
	}
	node = cache->kept_before;
	if (node) {
		cache->kept_before = node->next;
		return node;
	}
	node = cache->pool;
	if (!node)
		node = __atomic_exchange_n(&cache->released, NULL,
					   __ATOMIC_ACQUIRE);
	if (!node)
		return node_alloc(cache);
	cache->pool = node->next;
	return node;
}

void ua_rsrc_node_give_back(struct ua_rsrc_node *node)
{
	struct ua_rsrc_cache *cache = node->cache;

	ua_lock_assert_held(cache->lock);
	node->next = NULL;
	release_chain(cache, node);
	node->tag = 0;
	node->kept = false;
	node->next = cache->pool;
	cache->pool = node;
}

/*
 * Retiring, under the lock. Nodes retired while no grace period is
 * pending start one (ua_rcu_call); those retired meanwhile wait in
 * `retiring` for the next, which the end of the current one starts: a node
 * is finished only after a full grace period that began after its
 * kill_begin, and one grace period serves every node retired before it.
 */
static void grace_period_done(struct ua_rcu_head *head);

static void start_grace_period(struct ua_rsrc_cache *cache)
{
	ua_lock_assert_held(cache->lock);
	if (cache->gp_pending ||
	    (!cache->retiring && !cache->kept && !cache->kept_before))
		return;
	cache->waiting = cache->retiring;
	cache->retiring = NULL;
	cache->gp_pending = true;
	ua_rcu_call(&cache->gp, grace_period_done);
}

/* The nodes kept two ends ago that nobody took are let go (by the RCU
 * thread, through `expired`); those of the previous end stay for one more
 * period, taken after the new ones, which smooths out periods of unequal
 * length; and while any are kept another period runs, so that each is let
 * go at most two periods after it was kept, whether or not more nodes
 * retire. */
static void end_period_locked(struct ua_rsrc_cache *cache)
{
	int ended = PERIOD_ENDED;
	struct ua_rsrc_node *old = cache->kept_before;

	ua_lock_assert_held(cache->lock);
	if (!__atomic_compare_exchange_n(&cache->end_state, &ended,
					 PERIOD_ENDING, false,
					 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return;
	cache->kept_before = cache->kept;
	cache->kept = cache->ended_kept;
	cache->ended_kept = NULL;
	if (!cache->keeping) {	/* teardown began meanwhile */
		old = chain_join(chain_join(old, cache->kept_before),
				 cache->kept);
		cache->kept = cache->kept_before = NULL;
	}
	cache->expired = old;	/* let go by the RCU thread, right after */
	cache->gp_pending = false;
	start_grace_period(cache);
	__atomic_store_n(&cache->end_state, PERIOD_RUNNING, __ATOMIC_RELEASE);
}

static void end_period(struct ua_rsrc_cache *cache)
{
	static const struct timespec pause = { .tv_nsec = 20 * 1000 };

	for (unsigned spins = 0;
	     __atomic_load_n(&cache->end_state, __ATOMIC_ACQUIRE) !=
	     PERIOD_RUNNING; spins++) {
		if (!pthread_mutex_trylock(cache->lock)) {
			end_period_locked(cache);
			pthread_mutex_unlock(cache->lock);
		} else if (spins < END_SPINS) {
			ua_cpu_relax();
		} else {
			nanosleep(&pause, NULL);
		}
	}
}

/* On the RCU callback thread. `waiting` is ours until gp_pending clears:
 * ua_rcu_call() handed it over. */
static void grace_period_done(struct ua_rcu_head *head)
{
	struct ua_rsrc_cache *cache = ua_container_of(head,
						      struct ua_rsrc_cache, gp);
	bool keep = __atomic_load_n(&cache->keeping, __ATOMIC_RELAXED);

	__atomic_store_n(&cache->ending, true, __ATOMIC_RELAXED);
	cache->ended_kept = finish_kills(cache, cache->waiting, keep);
	cache->waiting = NULL;
	__atomic_store_n(&cache->end_state, PERIOD_ENDED, __ATOMIC_RELEASE);
	end_period(cache);
	let_go(cache, cache->expired);
	cache->expired = NULL;
	/* The last touch of the cache: teardown may free it from here on. */
	__atomic_store_n(&cache->ending, false, __ATOMIC_RELEASE);
}

void ua_rsrc_node_retire(struct ua_rsrc_node *node)
{
	struct ua_rsrc_cache *cache = node->cache;

	ua_lock_assert_held(cache->lock);
	ua_percpu_ref_kill_begin(&node->ref);
	node->next = cache->retiring;
	cache->retiring = node;
	start_grace_period(cache);
}

/* (Those of the pending grace period stay with it.) Safe under the lock:
 * a grace period waits for readers, which never take it. */
bool ua_rsrc_finish_retiring_now(struct ua_rsrc_cache *cache)
{
	struct ua_rsrc_node *list = cache->retiring;
	struct ua_rsrc_node *kept = chain_join(cache->kept, cache->kept_before);

	ua_lock_assert_held(cache->lock);
	cache->kept = cache->kept_before = NULL;
	if (!list && !kept)
		return false;
	cache->retiring = NULL;
	let_go(cache, kept);
	if (list) {
		ua_rcu_synchronize();
		finish_kills(cache, list, false);
	}
	return true;
}

void ua_rsrc_cache_init(struct ua_rsrc_cache *cache, struct ua_ctx *ctx,
			pthread_mutex_t *lock, const struct ua_rsrc_type *type)
{
	unsigned cpus = ua_nr_cpus();

	cache->type = type;
	cache->ctx = ctx;
	cache->lock = lock;
	cache->keeping = type->keep;
	cache->nr_shards = cpus > MAX_NODE_SHARDS ? MAX_NODE_SHARDS : cpus;
}

static unsigned free_list(struct ua_rsrc_node *node)
{
	struct ua_rsrc_node *next;
	unsigned n = 0;

	for (; node; node = next, n++) {
		next = node->next;
		ua_percpu_ref_exit(&node->ref);
		free(node);
	}
	return n;
}

void ua_rsrc_cache_destroy(struct ua_rsrc_cache *cache)
{
	struct ua_rsrc_node *kept;
	bool pending;
	unsigned freed;

	/* Nothing is taken any more: what is kept goes now, and nothing is
	 * kept from here on. */
	pthread_mutex_lock(cache->lock);
	__atomic_store_n(&cache->keeping, false, __ATOMIC_RELAXED);
	kept = chain_join(cache->kept, cache->kept_before);
	cache->kept = cache->kept_before = NULL;
	pthread_mutex_unlock(cache->lock);
	let_go(cache, kept);

	/* A grace period's end may start the next one: wait for them all.
	 * A cache that never retired a node waits for none: a barrier would
	 * wait for every other ring's deferred frees too, up to a gathering
	 * window per ring torn down. */
	for (;;) {
		pthread_mutex_lock(cache->lock);
		pending = cache->gp_pending;
		pthread_mutex_unlock(cache->lock);
		if (!pending)
			break;
		ua_rcu_barrier();
	}
	/* The end that cleared gp_pending may still be letting nodes go. */
	while (__atomic_load_n(&cache->ending, __ATOMIC_ACQUIRE))
		sched_yield();
	freed = free_list(cache->pool);
	freed += free_list(cache->released);
	cache->pool = cache->released = NULL;
	/* Every request is freed, so every node is back. */
	assert(freed == cache->nr_nodes);
	(void) freed;
}

/*
 * Registered buffers. A node holds the buffer's range; unlike the kernel,
 * which pins the pages, the memory stays the application's (see
 * uring-alike(7)). READ_FIXED and WRITE_FIXED take the node of their slot
 * at their first issue and check their range against it from then on, on
 * whatever thread retries them.
 */
#define MAX_REG_BUFFERS	(1u << 14)
#define MAX_BUFFER_LEN	(1ul << 30)

struct ua_buf_node {
	struct ua_rsrc_node	rsrc;
	struct iovec		iov;
};

struct ua_buf_table {
	struct ua_rcu_head	rcu;
	unsigned		nr;
	struct ua_buf_node	*slots[];	/* __atomic access */
};

/* The memory is the application's: a node holds nothing to free. */
static const struct ua_rsrc_type buf_type = {
	.node_size = sizeof(struct ua_buf_node),
};

static struct ua_buf_node *buf_node_of(struct ua_rsrc_node *node)
{
	return ua_container_of(node, struct ua_buf_node, rsrc);
}

/* The kernel's checks: a NULL base is an empty slot only with length 0. */
static int validate(const struct iovec *iov)
{
	uintptr_t base = (uintptr_t) iov->iov_base;

	if (!base)
		return iov->iov_len ? -EFAULT : 0;
	if (base + iov->iov_len < base)
		return -EOVERFLOW;
	if (!iov->iov_len || iov->iov_len > MAX_BUFFER_LEN)
		return -EFAULT;
	return 0;
}

/* Whether every page of [start, end) is mapped, without touching it. */
static bool range_mapped(uintptr_t start, uintptr_t end, size_t page)
{
	unsigned char vec[4096];
	size_t chunk = sizeof(vec) * page;

	for (; start < end; start += chunk) {
		size_t len = end - start < chunk ? end - start : chunk;

		if (mincore((void *) start, len, vec) && errno == ENOMEM)
			return false;
	}
	return true;
}

/* Whether this kernel knows MADV_POPULATE_WRITE: advice is checked before
 * the length, and an empty range succeeds. */
static bool populate_write_known(void)
{
	return !madvise((void *) (uintptr_t) sysconf(_SC_PAGESIZE), 0,
			MADV_POPULATE_WRITE);
}

/*
 * The kernel pins the pages for writing, and fails with -EFAULT where that
 * faults: a range not wholly mapped, PROT_NONE or read-only memory.
 * MADV_POPULATE_WRITE faults the pages in writable as the pin does,
 * without changing their contents, and fails on the same ranges (-ENOMEM
 * where unmapped, -EINVAL where not writable, -EFAULT where a fault
 * fails). Where it is unknown (before Linux 5.14) or refused, mincore()
 * still catches what is not mapped; see uring-alike(7).
 */
static int check_writable(const struct iovec *iov)
{
	size_t page = (size_t) sysconf(_SC_PAGESIZE);
	uintptr_t start = (uintptr_t) iov->iov_base & ~(page - 1);
	uintptr_t end = ((uintptr_t) iov->iov_base + iov->iov_len + page - 1) &
			~(page - 1);

	if (!madvise((void *) start, end - start, MADV_POPULATE_WRITE))
		return 0;
	if (errno == ENOMEM || errno == EFAULT || errno == EHWPOISON ||
	    (errno == EINVAL && populate_write_known()))
		return -EFAULT;
	return range_mapped(start, end, page) ? 0 : -EFAULT;
}

static int check_buffer(const struct iovec *iov)
{
	int ret = validate(iov);

	if (ret || !iov->iov_base)
		return ret;
	return check_writable(iov);
}

/*
 * The application's iovec and tag arrays (iovs 0: a sparse table; tags 0:
 * none), read once: everything after works on the copy. The single place
 * where reading them must turn bad memory into -EFAULT.
 */
struct buf_entries {
	struct iovec	*iov;
	__u64		*tag;	/* NULL: no tags */
};

static int read_entries(struct buf_entries *e, __u64 iovs, __u64 tags,
			unsigned nr)
{
	e->iov = calloc(nr, sizeof(*e->iov));
	e->tag = tags ? malloc(nr * sizeof(*e->tag)) : NULL;
	if (!e->iov || (tags && !e->tag))
		return -ENOMEM;
	if (iovs && ua_copy_from_user(e->iov, iovs, nr * sizeof(*e->iov)))
		return -EFAULT;
	if (tags && ua_copy_from_user(e->tag, tags, nr * sizeof(*e->tag)))
		return -EFAULT;
	return 0;
}

static void free_entries(struct buf_entries *e)
{
	free(e->iov);
	free(e->tag);
}

static struct ua_buf_table *buf_table_alloc(unsigned nr)
{
	struct ua_buf_table *table;

	table = calloc(1, sizeof(*table) + nr * sizeof(table->slots[0]));
	if (table)
		table->nr = nr;
	return table;
}

static struct ua_buf_node *buf_slot(struct ua_buf_table *table, unsigned i)
{
	return __atomic_load_n(&table->slots[i], __ATOMIC_RELAXED);
}

/* Release: the node's fields are written before lookups can see it. */
static void buf_slot_publish(struct ua_buf_table *table, unsigned i,
			     struct ua_buf_node *node)
{
	__atomic_store_n(&table->slots[i], node, __ATOMIC_RELEASE);
}

/* Never published: no lookup can have seen its nodes. */
static void buf_table_discard(struct ua_buf_table *table)
{
	for (unsigned i = 0; i < table->nr; i++)
		if (buf_slot(table, i))
			ua_rsrc_node_give_back(&buf_slot(table, i)->rsrc);
	free(table);
}

/* A grace period after unregister: no lookup still reads the table. */
static void buf_table_free_rcu(struct ua_rcu_head *head)
{
	free(ua_container_of(head, struct ua_buf_table, rcu));
}

/*
 * The node for one entry, in *out (NULL for an empty slot), or the
 * kernel's error: a tag needs a buffer, as a tag CQE needs something
 * released.
 */
static int buf_node_for(struct ua_ctx *ctx, const struct iovec *iov,
			__u64 tag, struct ua_buf_node **out)
{
	struct ua_rsrc_node *node;
	int ret = check_buffer(iov);

	*out = NULL;
	if (ret)
		return ret;
	if (!iov->iov_base)
		return tag ? -EINVAL : 0;
	node = ua_rsrc_node_take(&ctx->bufs.nodes);
	if (!node)
		return -ENOMEM;
	node->tag = tag;
	buf_node_of(node)->iov = *iov;
	*out = buf_node_of(node);
	return 0;
}

static int fill_buf_table(struct ua_ctx *ctx, struct ua_buf_table *table,
			  const struct buf_entries *e)
{
	struct ua_buf_node *node;
	int ret;

	for (unsigned i = 0; i < table->nr; i++) {
		ret = buf_node_for(ctx, &e->iov[i], e->tag ? e->tag[i] : 0,
				   &node);
		if (ret)
			return ret;
		table->slots[i] = node;
	}
	return 0;
}

static int register_bufs_locked(struct ua_ctx *ctx, __u64 iovs, __u64 tags,
				unsigned nr)
{
	struct ua_buf_table *table;
	struct buf_entries e;
	int ret;

	ua_lock_assert_held(&ctx->bufs.lock);
	if (ctx->bufs.table)
		return -EBUSY;
	if (!nr || nr > MAX_REG_BUFFERS)
		return -EINVAL;
	ret = read_entries(&e, iovs, tags, nr);
	table = ret ? NULL : buf_table_alloc(nr);
	if (!ret)
		ret = table ? fill_buf_table(ctx, table, &e) : -ENOMEM;
	free_entries(&e);
	if (ret) {
		if (table)
			buf_table_discard(table);
		return ret;
	}
	/* Release: the slots are filled before a lookup finds the table. */
	__atomic_store_n(&ctx->bufs.table, table, __ATOMIC_RELEASE);
	return 0;
}

int ua_register_buffers(struct ua_ctx *ctx, const struct iovec *iovs,
			unsigned nr)
{
	return ua_register_buffers_tagged(ctx, (__u64) (uintptr_t) iovs, 0, nr);
}

int ua_register_buffers_tagged(struct ua_ctx *ctx, __u64 iovs, __u64 tags,
			       unsigned nr)
{
	int ret;

	pthread_mutex_lock(&ctx->bufs.lock);
	ret = register_bufs_locked(ctx, iovs, tags, nr);
	pthread_mutex_unlock(&ctx->bufs.lock);
	return ret;
}

/* Straight from old to new: a lookup sees one or the other. */
static void buf_slot_replace(struct ua_buf_table *table, unsigned i,
			     struct ua_buf_node *node)
{
	struct ua_buf_node *old = buf_slot(table, i);

	buf_slot_publish(table, i, node);
	if (old)
		ua_rsrc_node_retire(&old->rsrc);
}

/*
 * The kernel's update: each entry replaces its slot (an empty iovec
 * empties it), read an entry at a time; the first that fails ends the
 * update and leaves its slot as it was. Returns how many entries were
 * done, or the error if none was.
 */
static int update_bufs_locked(struct ua_ctx *ctx, unsigned offset,
			      __u64 iovs, __u64 tags, unsigned nr)
{
	struct ua_buf_table *table = ctx->bufs.table;
	struct ua_buf_node *node;
	unsigned done;
	int ret = 0;

	ua_lock_assert_held(&ctx->bufs.lock);
	if (!table)
		return -ENXIO;
	if (offset + nr > table->nr)
		return -EINVAL;
	for (done = 0; done < nr; done++) {
		struct iovec iov;
		__u64 tag = 0;

		if (ua_copy_from_user(&iov, iovs + done * sizeof(iov),
				      sizeof(iov)) ||
		    (tags && ua_copy_from_user(&tag, tags + done * sizeof(tag),
					       sizeof(tag)))) {
			ret = -EFAULT;
			break;
		}
		ret = buf_node_for(ctx, &iov, tag, &node);
		if (ret)
			break;
		buf_slot_replace(table, offset + done, node);
	}
	return done ? (int) done : ret;
}

int ua_update_buffers(struct ua_ctx *ctx, unsigned offset, __u64 iovs,
		      __u64 tags, unsigned nr)
{
	int ret;

	if (offset + nr < offset)
		return -EOVERFLOW;
	pthread_mutex_lock(&ctx->bufs.lock);
	ret = update_bufs_locked(ctx, offset, iovs, tags, nr);
	pthread_mutex_unlock(&ctx->bufs.lock);
	return ret;
}

/*
 * Cloning: dst's slots [dst_off, dst_off + nr) get nodes of their own
 * for the buffers of src's [src_off, src_off + nr), untagged, in a new
 * table, at least as long as the old one, that keeps dst's other nodes.
 * The old table's nodes in the range are retired as by an update.
 */
static int clone_checks(struct ua_buf_table *dst, struct ua_buf_table *src,
			struct io_uring_clone_buffers *arg)
{
	unsigned end;

	if (!arg->nr && (arg->dst_off || arg->src_off))
		return -EINVAL;
	if (dst && !(arg->flags & IORING_REGISTER_DST_REPLACE))
		return -EBUSY;
	if (!src)
		return -ENXIO;
	if (!arg->nr)
		arg->nr = src->nr;
	else if (arg->nr > src->nr)
		return -EINVAL;
	if (__builtin_add_overflow(arg->nr, arg->src_off, &end) ||
	    end > src->nr)
		return -EOVERFLOW;
	if (__builtin_add_overflow(arg->nr, arg->dst_off, &end))
		return -EOVERFLOW;
	return end > MAX_REG_BUFFERS ? -EINVAL : 0;
}

static int clone_range(struct ua_ctx *ctx, struct ua_buf_table *table,
		       struct ua_buf_table *src,
		       const struct io_uring_clone_buffers *arg)
{
	struct ua_buf_node *from;
	struct ua_rsrc_node *node;

	for (unsigned i = 0; i < arg->nr; i++) {
		from = buf_slot(src, arg->src_off + i);
		if (!from)
			continue;
		node = ua_rsrc_node_take(&ctx->bufs.nodes);
		if (!node)
			return -ENOMEM;
		buf_node_of(node)->iov = from->iov;
		table->slots[arg->dst_off + i] = buf_node_of(node);
	}
	return 0;
}

/* The old table's nodes move to the new one, or retire if replaced. */
static void clone_install(struct ua_bufs *bufs, struct ua_buf_table *table,
			  unsigned dst_off, unsigned nr)
{
	struct ua_buf_table *old = bufs->table;
	unsigned end = dst_off + nr;

	__atomic_store_n(&bufs->table, table, __ATOMIC_RELEASE);
	if (!old)
		return;
	for (unsigned i = old->nr < end ? old->nr : end; i-- > dst_off;)
		if (buf_slot(old, i))
			ua_rsrc_node_retire(&buf_slot(old, i)->rsrc);
	ua_rcu_call(&old->rcu, buf_table_free_rcu);
}

static int clone_locked(struct ua_ctx *ctx, struct ua_ctx *src,
			struct io_uring_clone_buffers *arg)
{
	struct ua_buf_table *old = ctx->bufs.table, *table;
	unsigned nr;
	int ret;

	ret = clone_checks(old, src->bufs.table, arg);
	if (ret)
		return ret;
	nr = arg->dst_off + arg->nr;
	table = buf_table_alloc(old && old->nr > nr ? old->nr : nr);
	if (!table)
		return -ENOMEM;
	ret = clone_range(ctx, table, src->bufs.table, arg);
	if (ret) {
		buf_table_discard(table);
		return ret;
	}
	for (unsigned i = 0; old && i < old->nr; i++)
		if (i < arg->dst_off || i - arg->dst_off >= arg->nr)
			table->slots[i] = buf_slot(old, i);
	clone_install(&ctx->bufs, table, arg->dst_off, arg->nr);
	return 0;
}

/* Both tables' writers locked, in address order as any pair of rings. */
int ua_clone_buffers(struct ua_ctx *ctx, struct ua_ctx *src,
		     struct io_uring_clone_buffers *arg)
{
	pthread_mutex_t *first = &ctx->bufs.lock, *second = &src->bufs.lock;
	int ret;

	if (first > second) {
		first = &src->bufs.lock;
		second = &ctx->bufs.lock;
	}
	pthread_mutex_lock(first);
	if (second != first)
		pthread_mutex_lock(second);
	ret = clone_locked(ctx, src, arg);
	if (second != first)
		pthread_mutex_unlock(second);
	pthread_mutex_unlock(first);
	return ret;
}

static int unregister_bufs_locked(struct ua_bufs *bufs)
{
	struct ua_buf_table *table = bufs->table;

	ua_lock_assert_held(&bufs->lock);
	if (!table)
		return -ENXIO;
	__atomic_store_n(&bufs->table, NULL, __ATOMIC_RELEASE);
	/* From the last slot, as the kernel frees a table: tags post so. */
	for (unsigned i = table->nr; i-- > 0;)
		if (buf_slot(table, i))
			ua_rsrc_node_retire(&buf_slot(table, i)->rsrc);
	ua_rcu_call(&table->rcu, buf_table_free_rcu);
	return 0;
}

/* Never waits: requests using a buffer keep its node until they are freed,
 * as the kernel (since 6.13) keeps their pages pinned. */
int ua_unregister_buffers(struct ua_ctx *ctx)
{
	int ret;

	pthread_mutex_lock(&ctx->bufs.lock);
	ret = unregister_bufs_locked(&ctx->bufs);
	pthread_mutex_unlock(&ctx->bufs.lock);
	return ret;
}

/*
 * The buffer in slot index, with its node held for the caller in *node,
 * or NULL; from any thread, without a lock. A node found dead was just
 * retired: look again, and find its successor or nothing.
 */
const struct iovec *ua_bufs_get(struct ua_ctx *ctx, unsigned index,
				struct ua_buf_node **node)
{
	struct ua_buf_table *table;
	struct ua_buf_node *n;

	ua_rcu_read_lock();
	do {
		n = NULL;
		table = __atomic_load_n(&ctx->bufs.table, __ATOMIC_ACQUIRE);
		if (!table || index >= table->nr)
			break;
		n = __atomic_load_n(&table->slots[index], __ATOMIC_ACQUIRE);
	} while (n && !ua_rsrc_node_tryget(&n->rsrc));
	ua_rcu_read_unlock();
	*node = n;
	return n ? &n->iov : NULL;
}

const struct iovec *ua_buf_node_iov(const struct ua_buf_node *node)
{
	return &node->iov;
}

/*
 * A request's range [addr, addr + len) in registered buffer index, as the
 * kernel imports it: 0, or -EFAULT for an empty slot or a range not wholly
 * inside the buffer. The node is taken into *node on first use and held
 * until the request lets it go, so several ranges share one lookup.
 */
int ua_buf_import(struct ua_ctx *ctx, unsigned index,
		  struct ua_buf_node **node, __u64 addr, __u64 len)
{
	__u64 start, end;

	if (!*node && !ua_bufs_get(ctx, index, node))
		return -EFAULT;
	start = (__u64) (uintptr_t) (*node)->iov.iov_base;
	end = start + (*node)->iov.iov_len;
	if (addr < start || addr > end || len > end - addr)
		return -EFAULT;
	return 0;
}

void ua_buf_node_put(struct ua_buf_node *node)
{
	ua_rsrc_node_put(&node->rsrc);
}

void ua_bufs_init(struct ua_ctx *ctx)
{
	pthread_mutex_init(&ctx->bufs.lock, NULL);
	ua_rsrc_cache_init(&ctx->bufs.nodes, ctx, &ctx->bufs.lock, &buf_type);
}

/* Teardown, after every request has been freed. */
void ua_bufs_destroy(struct ua_ctx *ctx)
{
	pthread_mutex_lock(&ctx->bufs.lock);
	unregister_bufs_locked(&ctx->bufs);
	pthread_mutex_unlock(&ctx->bufs.lock);
	ua_rsrc_cache_destroy(&ctx->bufs.nodes);
	pthread_mutex_destroy(&ctx->bufs.lock);
}
