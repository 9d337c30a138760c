/* SPDX-License-Identifier: MIT */
/*
 * The fixed-file table (IORING_REGISTER_FILES and friends, FILES_UPDATE,
 * direct descriptors), updated without ever waiting for requests in flight
 * (seed 001).
 *
 * Each occupied slot holds a node: the table's own descriptor for the file
 * (a close-on-exec duplicate made when the file enters the table, so the
 * application may close its own), an optional resource tag, and a sharded
 * reference count (percpu_ref.h). The table holds the node's initial
 * reference; a request using the slot takes another at issue and drops it
 * when it is freed, on whatever thread completes it. Both are an RCU
 * read-side section and an add to the caller's own shard: no syscall, no
 * shared cache line.
 *
 * Replacing or removing a slot unpublishes the node, switches its count to
 * dead mode and queues the rest of the kill behind one grace period with
 * ua_rcu_call(), shared by every node retired meanwhile. When the last
 * request using the node has dropped its reference, the release closes the
 * descriptor, exactly once, posts the tag's CQE, and returns the node, with
 * its shards, to a pool the next update takes from: in steady state an
 * update allocates nothing.
 *
 * Lookups take no lock: the table and its slots are read inside an RCU
 * read-side section, and a node is only taken if still live. A node is
 * recycled only after a grace period that began after it was unpublished,
 * so a lookup can never get a recycled node through a stale pointer.
 * Writers (registration calls, FILES_UPDATE, direct opens and closes, in
 * any thread) serialise on files->lock, never on uring_lock, so a worker
 * installing a direct descriptor cannot deadlock with teardown, which joins
 * workers while holding uring_lock.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "engine/ctx.h"
#include "engine/percpu_ref.h"
#include "engine/rcu.h"

#define MAX_FIXED_FILES		(1u << 20)	/* IORING_MAX_FIXED_FILES */
/* Threads touching one node: the submitter and the completers. More
 * shards than that only cost memory (a cache line each, per file). */
#define MAX_NODE_SHARDS		8u
#define LONG_BITS		(8 * sizeof(unsigned long))

#define container_of(ptr, type, member) \
	((type *) ((char *) (ptr) - offsetof(type, member)))

struct ua_file_node {
	struct ua_percpu_ref	ref;	/* the table's + one per request */
	struct ua_ctx		*ctx;
	struct ua_file_node	*next;	/* pool, retiring, released */
	__u64			tag;	/* CQE user_data on release; 0: none */
	int			fd;	/* the table's own descriptor */
};

struct ua_file_table {
	struct ua_rcu_head	rcu;
	unsigned		nr;
	unsigned long		*bitmap;	/* occupied slots; writers only */
	struct ua_file_node	*slots[];	/* __atomic access */
};

/*
 * Releasing. A node's last reference may go on any thread: that of a
 * request's completion closes the descriptor at once. Most releases,
 * though, are those of nodes nobody was using, at the end of their grace
 * period, hundreds at a time on the RCU callback thread: those are
 * gathered (release_batch) and their descriptors, which were allocated in
 * ascending order and so mostly sit next to each other, closed a run at a
 * time with close_range(). Either way the descriptor is closed before the
 * tag is posted, so an application that sees the tag finds the file
 * released; and the node is live again when it reaches the pool.
 */
#define CLOSE_BATCH	256

struct release_batch {
	struct ua_files		*files;
	struct ua_file_node	*head, **tail;	/* in retirement order */
	unsigned		nr_fds;
	int			fds[CLOSE_BATCH];
};

static _Thread_local struct release_batch *current_batch;
static bool no_close_range;

static void close_run(int first, int last)
{
	if (first == last) {
		close(first);
		return;
	}
	if (!__atomic_load_n(&no_close_range, __ATOMIC_RELAXED) &&
	    syscall(SYS_close_range, first, last, 0) == 0)
		return;
	__atomic_store_n(&no_close_range, true, __ATOMIC_RELAXED);
	for (int fd = first; fd <= last; fd++)
		close(fd);
}

/* Every number in a run is one of ours: close_range() takes nothing else.
 * Insertion sort: the numbers come almost sorted. */
static void close_batched_fds(struct release_batch *b)
{
	unsigned i, j;

	for (i = 1; i < b->nr_fds; i++) {
		int fd = b->fds[i];

		for (j = i; j && b->fds[j - 1] > fd; j--)
			b->fds[j] = b->fds[j - 1];
		b->fds[j] = fd;
	}
	for (i = 0; i < b->nr_fds; i = j) {
		for (j = i + 1; j < b->nr_fds && b->fds[j] == b->fds[j - 1] + 1; j++)
			;
		close_run(b->fds[i], b->fds[j - 1]);
	}
	b->nr_fds = 0;
}

/* Hands the chain first..last back for reuse, with one atomic operation.
 * Release: the nodes' last writes happen before their reuse. */
static void nodes_recycle(struct ua_files *files, struct ua_file_node *first,
			  struct ua_file_node *last)
{
	struct ua_file_node *head = __atomic_load_n(&files->released,
						    __ATOMIC_RELAXED);

	do {
		last->next = head;
	} while (!__atomic_compare_exchange_n(&files->released, &head, first,
					      true, __ATOMIC_RELEASE,
					      __ATOMIC_RELAXED));
}

/* The descriptor is closed: post the tag; the node is live again. */
static void node_released(struct ua_file_node *node)
{
	node->fd = -1;
	if (node->tag)
		ua_post_cqe(node->ctx, node->tag, 0, 0);
	node->tag = 0;
	ua_percpu_ref_reinit(&node->ref);
}

static void node_release(struct ua_percpu_ref *ref)
{
	struct ua_file_node *node = container_of(ref, struct ua_file_node, ref);
	struct release_batch *b = current_batch;

	if (!b || b->files != &node->ctx->files) {
		close(node->fd);
		node_released(node);
		nodes_recycle(&node->ctx->files, node, node);
		return;
	}
	node->next = NULL;
	*b->tail = node;
	b->tail = &node->next;
	b->fds[b->nr_fds++] = node->fd;
	if (b->nr_fds == CLOSE_BATCH)
		close_batched_fds(b);
}

/*
 * A grace period has passed since each node of the list was retired: drop
 * the table's references. Unused nodes are released here, in one batch.
 * The list is newest first; kill in retirement order, so that tags post
 * in the order their files left the table.
 */
static void finish_kills(struct ua_files *files, struct ua_file_node *list)
{
	struct release_batch b = { .files = files, .tail = &b.head };
	struct ua_file_node *node, *next, *oldest = NULL;

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
	close_batched_fds(&b);
	if (!b.head)
		return;
	for (node = b.head; node; node = node->next)
		node_released(node);
	nodes_recycle(files, b.head,
		      container_of(b.tail, struct ua_file_node, next));
}

static struct ua_file_node *node_alloc(struct ua_ctx *ctx)
{
	struct ua_file_node *node = malloc(sizeof(*node));

	if (!node)
		return NULL;
	if (ua_percpu_ref_init(&node->ref, node_release, ctx->files.nr_shards)) {
		free(node);
		return NULL;
	}
	node->ctx = ctx;
	node->tag = 0;
	node->fd = -1;
	ctx->files.nr_nodes++;
	return node;
}

/* A live node, holding only the table's reference. Growth allocates; the
 * released stack is taken whole, so no pop races a push (no ABA). */
static struct ua_file_node *node_take(struct ua_ctx *ctx)
{
	struct ua_files *files = &ctx->files;
	struct ua_file_node *node = files->pool;

	if (!node)
		node = __atomic_exchange_n(&files->released, NULL,
					   __ATOMIC_ACQUIRE);
	if (!node)
		return node_alloc(ctx);
	files->pool = node->next;
	return node;
}

/* A node that was never published goes straight back. */
static void node_give_back(struct ua_files *files, struct ua_file_node *node)
{
	close(node->fd);
	node->fd = -1;
	node->tag = 0;
	node->next = files->pool;
	files->pool = node;
}

/*
 * Retiring, under files->lock. Nodes retired while no grace period is
 * pending start one (ua_rcu_call); those retired meanwhile wait in
 * `retiring` for the next, which the end of the current one starts: a node
 * is finished only after a full grace period that began after its
 * kill_begin, and one grace period serves every node retired before it.
 */
static void grace_period_done(struct ua_rcu_head *head);

static void start_grace_period(struct ua_files *files)
{
	if (files->gp_pending || !files->retiring)
		return;
	files->waiting = files->retiring;
	files->retiring = NULL;
	files->gp_pending = true;
	ua_rcu_call(&files->gp, grace_period_done);
}

/* On the RCU callback thread. `waiting` is ours until gp_pending clears:
 * ua_rcu_call() handed it over. */
static void grace_period_done(struct ua_rcu_head *head)
{
	struct ua_files *files = container_of(head, struct ua_files, gp);

	finish_kills(files, files->waiting);
	files->waiting = NULL;
	pthread_mutex_lock(&files->lock);
	files->gp_pending = false;
	start_grace_period(files);
	pthread_mutex_unlock(&files->lock);
}

/* Unpublished already: drop the table's reference after a grace period. */
static void node_retire(struct ua_files *files, struct ua_file_node *node)
{
	ua_percpu_ref_kill_begin(&node->ref);
	node->next = files->retiring;
	files->retiring = node;
	start_grace_period(files);
}

/*
 * Out of descriptors: finish, after a grace period of our own, the nodes
 * still waiting for one to start. (Those of the pending grace period stay
 * with it.) Safe under files->lock: a grace period waits for readers,
 * which never take it.
 */
static bool finish_retiring_now(struct ua_files *files)
{
	struct ua_file_node *list = files->retiring;

	if (!list)
		return false;
	files->retiring = NULL;
	ua_rcu_synchronize();
	finish_kills(files, list);
	return true;
}

/*
 * Where the table's descriptors go: at or above dup_base, half the soft
 * RLIMIT_NOFILE up to DUP_BASE_MAX. The kernel's table takes no number
 * from the application, whose descriptors are allocated lowest first: up
 * there, ours neither shift its numbering nor take a number it has just
 * closed, which a stale descriptor, or an entry later in the same
 * registration, may still name. Below the base only when nothing above is
 * free. Capped because the kernel sizes a process's descriptor array by
 * its highest number.
 */
#define DUP_BASE_MAX	1024

/* Read once per process (a ring's setup should not pay a prlimit) and
 * again when a table is registered, which follows a raised limit. */
static int process_dup_base = -1;

static void set_dup_base(struct ua_files *files, bool reread)
{
	int base = __atomic_load_n(&process_dup_base, __ATOMIC_RELAXED);
	struct rlimit rl;
	rlim_t half;

	if (base < 0 || reread) {
		if (getrlimit(RLIMIT_NOFILE, &rl))
			rl.rlim_cur = 0;
		half = rl.rlim_cur / 2;
		base = half > DUP_BASE_MAX ? DUP_BASE_MAX : (int) half;
		__atomic_store_n(&process_dup_base, base, __ATOMIC_RELAXED);
	}
	files->dup_base = base;
}

static int dup_high(const struct ua_files *files, int fd)
{
	int dup = fcntl(fd, F_DUPFD_CLOEXEC, files->dup_base);

	if (dup < 0 && errno != EBADF && files->dup_base)
		dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	return dup;
}

/*
 * The table's own descriptor for fd, under files->lock. Like the kernel,
 * a ring cannot be registered. Retired descriptors wait a grace period
 * before they close: when they are what fills the descriptor table, let
 * them go and retry.
 */
static int dup_for_table(struct ua_files *files, int fd)
{
	int dup;

	if (ua_ctx_lookup(fd))
		return -EBADF;
	dup = dup_high(files, fd);
	if (dup < 0 && errno == EMFILE && finish_retiring_now(files))
		dup = dup_high(files, fd);
	return dup < 0 ? -errno : dup;
}

/* A descriptor the engine opened for the table moves up with the others. */
static int move_high(const struct ua_files *files, int fd)
{
	int high;

	if (fd >= files->dup_base)
		return fd;
	high = fcntl(fd, F_DUPFD_CLOEXEC, files->dup_base);
	if (high < 0)
		return fd;
	close(fd);
	return high;
}

/* Slots. Writers hold files->lock. */

static bool bit_test(const unsigned long *map, unsigned bit)
{
	return map[bit / LONG_BITS] & (1ul << (bit % LONG_BITS));
}

static void bit_flip(unsigned long *map, unsigned bit)
{
	map[bit / LONG_BITS] ^= 1ul << (bit % LONG_BITS);
}

/* First clear bit in [from, end), or end. */
static unsigned next_clear_bit(const unsigned long *map, unsigned end,
			       unsigned from)
{
	for (; from < end; from++) {
		if (!(from % LONG_BITS) && map[from / LONG_BITS] == ~0ul) {
			from += LONG_BITS - 1;
			continue;
		}
		if (!bit_test(map, from))
			return from;
	}
	return end;
}

/*
 * A free slot for IORING_FILE_INDEX_ALLOC: from the hint to the end of the
 * allocation range, then from the range's start up to the hint, as the
 * kernel searches (the hint follows the last slot filled or emptied).
 */
static int alloc_slot(struct ua_files *files, struct ua_file_table *table)
{
	unsigned end = files->alloc_end, slot;

	if (!table)
		return -ENFILE;
	for (;;) {
		slot = next_clear_bit(table->bitmap, end, files->alloc_hint);
		if (slot != end)
			return (int) slot;
		if (files->alloc_hint == files->alloc_start)
			return -ENFILE;
		end = files->alloc_hint;
		files->alloc_hint = files->alloc_start;
	}
}

static struct ua_file_node *slot_node(struct ua_file_table *table, unsigned i)
{
	return __atomic_load_n(&table->slots[i], __ATOMIC_RELAXED);
}

/* Release: the node's fields are written before lookups can see it. */
static void slot_publish(struct ua_file_table *table, unsigned i,
			 struct ua_file_node *node)
{
	__atomic_store_n(&table->slots[i], node, __ATOMIC_RELEASE);
}

/* Puts node (or nothing) in slot i and retires what was there. */
static void slot_replace(struct ua_files *files, struct ua_file_table *table,
			 unsigned i, struct ua_file_node *node)
{
	struct ua_file_node *old = slot_node(table, i);

	slot_publish(table, i, node);
	if (old) {
		bit_flip(table->bitmap, i);
		files->alloc_hint = i;
		node_retire(files, old);
	}
	if (node) {
		bit_flip(table->bitmap, i);
		files->alloc_hint = i + 1;
	}
}

/* A node holding the table's own descriptor for fd, with tag. */
static int node_for_fd(struct ua_ctx *ctx, int fd, __u64 tag,
		       struct ua_file_node **out)
{
	struct ua_file_node *node;
	int dup = dup_for_table(&ctx->files, fd);

	if (dup < 0)
		return dup;
	node = node_take(ctx);
	if (!node) {
		close(dup);
		return -ENOMEM;
	}
	node->fd = dup;
	node->tag = tag;
	*out = node;
	return 0;
}

static struct ua_file_table *table_alloc(unsigned nr)
{
	struct ua_file_table *table;

	table = calloc(1, sizeof(*table) + nr * sizeof(table->slots[0]));
	if (!table)
		return NULL;
	table->bitmap = calloc((nr + LONG_BITS - 1) / LONG_BITS,
			       sizeof(unsigned long));
	if (!table->bitmap) {
		free(table);
		return NULL;
	}
	table->nr = nr;
	return table;
}

static void table_free(struct ua_file_table *table)
{
	free(table->bitmap);
	free(table);
}

/* Never published: no lookup or tag can have seen its nodes. */
static void table_discard(struct ua_files *files, struct ua_file_table *table)
{
	for (unsigned i = 0; i < table->nr; i++)
		if (slot_node(table, i))
			node_give_back(files, slot_node(table, i));
	table_free(table);
}

/* A grace period after unregister: no lookup still reads the table. */
static void table_free_rcu(struct ua_rcu_head *head)
{
	table_free(container_of(head, struct ua_file_table, rcu));
}

static int fill_table(struct ua_ctx *ctx, struct ua_file_table *table,
		      const __s32 *fds, const __u64 *tags)
{
	struct ua_file_node *node;
	int ret;

	for (unsigned i = 0; i < table->nr; i++) {
		__u64 tag = tags ? tags[i] : 0;
		int fd = fds ? fds[i] : -1;

		if (fd == -1) {
			if (tag)
				return -EINVAL;	/* a tag needs a file */
			continue;
		}
		ret = node_for_fd(ctx, fd, tag, &node);
		if (ret)
			return ret;
		slot_publish(table, i, node);
		bit_flip(table->bitmap, i);
	}
	return 0;
}

static int nofile_limit_allows(unsigned nr)
{
	struct rlimit rl;

	return getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= nr;
}

static int register_locked(struct ua_ctx *ctx, const __s32 *fds,
			   const __u64 *tags, unsigned nr)
{
	struct ua_files *files = &ctx->files;
	struct ua_file_table *table;
	int ret;

	if (files->table)
		return -EBUSY;
	if (!nr)
		return -EINVAL;
	if (nr > MAX_FIXED_FILES || !nofile_limit_allows(nr))
		return -EMFILE;
	set_dup_base(files, true);
	table = table_alloc(nr);
	if (!table)
		return -ENOMEM;
	ret = fill_table(ctx, table, fds, tags);
	if (ret) {
		table_discard(files, table);
		return ret;
	}
	/* Release: the slots are filled before a lookup finds the table. */
	__atomic_store_n(&files->table, table, __ATOMIC_RELEASE);
	files->alloc_start = files->alloc_hint = 0;
	files->alloc_end = nr;
	return 0;
}

/* fds NULL: a sparse table. Tags, when given, post on release. */
int ua_files_register(struct ua_ctx *ctx, const __s32 *fds, const __u64 *tags,
		      unsigned nr)
{
	int ret;

	pthread_mutex_lock(&ctx->files.lock);
	ret = register_locked(ctx, fds, tags, nr);
	pthread_mutex_unlock(&ctx->files.lock);
	return ret;
}

static int unregister_locked(struct ua_files *files)
{
	struct ua_file_table *table = files->table;

	if (!table)
		return -ENXIO;
	__atomic_store_n(&files->table, NULL, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < table->nr; i++)
		if (slot_node(table, i))
			node_retire(files, slot_node(table, i));
	ua_rcu_call(&table->rcu, table_free_rcu);
	files->alloc_start = files->alloc_end = files->alloc_hint = 0;
	return 0;
}

/* Never waits: each file closes when its last request is done with it. */
int ua_files_unregister(struct ua_ctx *ctx)
{
	int ret;

	pthread_mutex_lock(&ctx->files.lock);
	ret = unregister_locked(&ctx->files);
	pthread_mutex_unlock(&ctx->files.lock);
	return ret;
}

/*
 * The kernel's update: SKIP leaves a slot, -1 empties it, a descriptor
 * replaces it. A descriptor that cannot be taken leaves the slot empty
 * and ends the update. Returns how many entries were processed, or the
 * error if none was.
 */
static int update_locked(struct ua_ctx *ctx, unsigned offset, const __s32 *fds,
			 const __u64 *tags, unsigned nr)
{
	struct ua_files *files = &ctx->files;
	struct ua_file_table *table = files->table;
	struct ua_file_node *node;
	unsigned done;
	int ret = 0;

	if (!table)
		return -ENXIO;
	if (offset + nr > table->nr)
		return -EINVAL;
	for (done = 0; done < nr; done++) {
		__u64 tag = tags ? tags[done] : 0;
		int fd = fds[done];

		if ((fd == IORING_REGISTER_FILES_SKIP || fd == -1) && tag) {
			ret = -EINVAL;
			break;
		}
		if (fd == IORING_REGISTER_FILES_SKIP)
			continue;
		node = NULL;
		if (fd != -1)
			ret = node_for_fd(ctx, fd, tag, &node);
		/* Straight from old to new: a lookup sees one or the other. */
		slot_replace(files, table, offset + done, node);
		if (ret)
			break;
	}
	return done ? (int) done : ret;
}

int ua_files_update(struct ua_ctx *ctx, unsigned offset, const __s32 *fds,
		    const __u64 *tags, unsigned nr)
{
	int ret;

	if (offset + nr < offset)
		return -EOVERFLOW;
	pthread_mutex_lock(&ctx->files.lock);
	ret = update_locked(ctx, offset, fds, tags, nr);
	pthread_mutex_unlock(&ctx->files.lock);
	return ret;
}

int ua_files_set_alloc_range(struct ua_ctx *ctx, unsigned off, unsigned len)
{
	struct ua_files *files = &ctx->files;
	int ret = 0;

	pthread_mutex_lock(&files->lock);
	if (off + len > (files->table ? files->table->nr : 0)) {
		ret = -EINVAL;
	} else {
		files->alloc_start = files->alloc_hint = off;
		files->alloc_end = off + len;
	}
	pthread_mutex_unlock(&files->lock);
	return ret;
}

static int install_locked(struct ua_ctx *ctx, int fd, __u32 file_slot)
{
	struct ua_files *files = &ctx->files;
	struct ua_file_table *table = files->table;
	bool alloc = file_slot == IORING_FILE_INDEX_ALLOC;
	struct ua_file_node *node;
	int slot;

	if (alloc) {
		slot = alloc_slot(files, table);
		if (slot < 0)
			return slot;
	} else {
		slot = (int) (file_slot - 1);
	}
	if (!table)
		return -ENXIO;
	if ((unsigned) slot >= table->nr)
		return -EINVAL;
	node = node_take(ctx);
	if (!node)
		return -ENOMEM;
	node->fd = move_high(files, fd);
	slot_replace(files, table, (unsigned) slot, node);
	return alloc ? slot : 0;
}

/*
 * Direct descriptors: puts fd, which the engine opened (close-on-exec) and
 * now hands over, in slot file_slot - 1, or in a free slot of the
 * allocation range when file_slot is IORING_FILE_INDEX_ALLOC. Returns 0,
 * the slot allocated, or -errno, in which case fd is closed. This is the
 * one entry point for every operation that creates a direct descriptor
 * (OPENAT, and ACCEPT and SOCKET when they exist); any thread may call it.
 */
int ua_files_install(struct ua_ctx *ctx, int fd, __u32 file_slot)
{
	int ret;

	pthread_mutex_lock(&ctx->files.lock);
	ret = install_locked(ctx, fd, file_slot);
	pthread_mutex_unlock(&ctx->files.lock);
	if (ret < 0)
		close(fd);
	return ret;
}

/* CLOSE of a direct descriptor: empties the slot. */
int ua_files_remove(struct ua_ctx *ctx, unsigned slot)
{
	struct ua_files *files = &ctx->files;
	struct ua_file_table *table;
	int ret = 0;

	pthread_mutex_lock(&files->lock);
	table = files->table;
	if (!table)
		ret = -ENXIO;
	else if (slot >= table->nr)
		ret = -EINVAL;
	else if (!slot_node(table, slot))
		ret = -EBADF;
	else
		slot_replace(files, table, slot, NULL);
	pthread_mutex_unlock(&files->lock);
	return ret;
}

/*
 * The node in slot, with a reference for the caller, or NULL; from any
 * thread, without a lock. A node found dead was just retired by an update
 * or unregister: look again, and find its successor or nothing.
 */
struct ua_file_node *ua_files_get_node(struct ua_ctx *ctx, unsigned slot)
{
	struct ua_file_table *table;
	struct ua_file_node *node;

	ua_rcu_read_lock();
	do {
		node = NULL;
		table = __atomic_load_n(&ctx->files.table, __ATOMIC_ACQUIRE);
		if (!table || slot >= table->nr)
			break;
		node = __atomic_load_n(&table->slots[slot], __ATOMIC_ACQUIRE);
	} while (node && !ua_percpu_ref_tryget_live(&node->ref));
	ua_rcu_read_unlock();
	return node;
}

/* Maybe the file's last user: then it is released. */
void ua_file_node_put(struct ua_file_node *node)
{
	ua_percpu_ref_put(&node->ref);
}

/*
 * IOSQE_FIXED_FILE at issue: req->fd is a slot. The request holds the
 * slot's node, and works on the node's descriptor, until it is freed.
 */
int ua_req_assign_fixed_file(struct ua_req *req)
{
	struct ua_file_node *node = ua_files_get_node(req->ctx,
						      (unsigned) req->fd);

	if (!node)
		return -EBADF;
	req->file_node = node;
	req->fd = node->fd;
	return 0;
}

void ua_req_put_fixed_file(struct ua_req *req)
{
	struct ua_file_node *node = req->file_node;

	req->file_node = NULL;
	ua_file_node_put(node);
}

/* IORING_OP_FILES_UPDATE */

int ua_files_update_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	if (sqe->rw_flags || sqe->splice_fd_in)
		return -EINVAL;
	req->files_update.offset = (__u32) sqe->off;
	req->files_update.nr = sqe->len;
	req->files_update.arg = sqe->addr;
	return sqe->len ? 0 : -EINVAL;
}

/* Each descriptor goes to a free slot, whose index replaces it in fds. */
static int update_with_alloc_locked(struct ua_ctx *ctx, __s32 *fds,
				    unsigned nr)
{
	unsigned done;
	int ret = 0, dup;

	if (!ctx->files.table)
		return -ENXIO;
	for (done = 0; done < nr; done++) {
		ret = dup = dup_for_table(&ctx->files, fds[done]);
		if (dup >= 0) {
			ret = install_locked(ctx, dup, IORING_FILE_INDEX_ALLOC);
			if (ret < 0)
				close(dup);
		}
		if (ret < 0)
			break;
		fds[done] = ret;
	}
	return done ? (int) done : ret;
}

int ua_files_update_op(struct ua_req *req, unsigned issue_flags)
{
	struct ua_files_update *up = &req->files_update;
	__s32 *fds = (__s32 *) (uintptr_t) up->arg;
	int ret;

	(void) issue_flags;
	if (up->offset == IORING_FILE_INDEX_ALLOC) {
		pthread_mutex_lock(&req->ctx->files.lock);
		ret = update_with_alloc_locked(req->ctx, fds, up->nr);
		pthread_mutex_unlock(&req->ctx->files.lock);
	} else {
		ret = ua_files_update(req->ctx, up->offset, fds, NULL, up->nr);
	}
	req->res = ret;
	req->failed = ret < 0;
	return UA_DONE;
}

/* Lifetime */

void ua_files_init(struct ua_ctx *ctx)
{
	unsigned cpus = ua_nr_cpus();

	pthread_mutex_init(&ctx->files.lock, NULL);
	set_dup_base(&ctx->files, false);
	ctx->files.nr_shards = cpus > MAX_NODE_SHARDS ? MAX_NODE_SHARDS : cpus;
}

static unsigned free_list(struct ua_file_node *node)
{
	struct ua_file_node *next;
	unsigned n = 0;

	for (; node; node = next, n++) {
		next = node->next;
		ua_percpu_ref_exit(&node->ref);
		free(node);
	}
	return n;
}

/*
 * Teardown, after every request has been freed: retire what the table
 * still holds, let the grace periods of every retirement run (which
 * releases all nodes and posts their tags), then free the pool.
 */
void ua_files_destroy(struct ua_ctx *ctx)
{
	struct ua_files *files = &ctx->files;
	bool pending;
	unsigned freed;

	pthread_mutex_lock(&files->lock);
	unregister_locked(files);
	pthread_mutex_unlock(&files->lock);
	/* A grace period's end may start the next one: wait for them all. */
	do {
		ua_rcu_barrier();
		pthread_mutex_lock(&files->lock);
		pending = files->gp_pending;
		pthread_mutex_unlock(&files->lock);
	} while (pending);
	freed = free_list(files->pool);
	freed += free_list(files->released);
	files->pool = files->released = NULL;
	/* Every request is freed, so every node is back. */
	assert(freed == files->nr_nodes);
	(void) freed;
	pthread_mutex_destroy(&files->lock);
}
