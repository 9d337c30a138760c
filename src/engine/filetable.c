/* SPDX-License-Identifier: MIT */
/*
 * The fixed-file table (IORING_REGISTER_FILES and friends, FILES_UPDATE,
 * direct descriptors), updated without ever waiting for requests in flight.
 *
 * Each occupied slot holds a node (rsrc.h, shared with the registered
 * buffers) whose resource is the table's own descriptor for the file (a
 * close-on-exec duplicate made when the file enters the table, so the
 * application may close its own). A request using the slot holds the
 * node from issue until it is freed; replacing or removing a slot retires
 * the node, and its release closes the descriptor, exactly once, when the
 * last request using it is done. An untagged node nobody used is kept up
 * to two grace periods longer instead (rsrc.h), and a later update puts
 * its file under the kept number with one dup3(), which drops the old one.
 *
 * Writers (registration calls, FILES_UPDATE, direct opens and closes, in
 * any thread) serialise on files->lock, never on uring_lock, so a worker
 * installing a direct descriptor cannot deadlock with teardown, which joins
 * workers while holding uring_lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>
#include "engine/filetable.h"
#include "engine/lock.h"
#include "engine/req.h"
#include "engine/ring.h"
#include "engine/uaccess.h"
#include "engine/sys.h"
#include "engine/rcu.h"
#include "engine/rsrc.h"

/* FILES_UPDATE: nr descriptors at arg go to slots from offset. */
struct ua_files_update {
	__u64		arg;
	__u32		nr;
	__u32		offset;
};
#define files_update_of(req)	ua_cmd(req, struct ua_files_update)

#define MAX_FIXED_FILES		(1u << 20)	/* IORING_MAX_FIXED_FILES */
#define LONG_BITS		(8 * sizeof(unsigned long))

struct ua_file_node {
	struct ua_rsrc_node	rsrc;
	int			fd;	/* the table's own descriptor */
	bool			stream;	/* __atomic: found to be a stream */
};

struct ua_file_table {
	struct ua_rcu_head	rcu;
	unsigned		nr;
	unsigned long		*bitmap;	/* occupied slots; writers only */
	struct ua_file_node	*slots[];	/* __atomic access */
};

/*
 * Releasing: descriptors released together (at the end of a grace period,
 * hundreds at a time) were allocated in ascending order and so mostly sit
 * next to each other: they are closed a run at a time with close_range().
 */
#define CLOSE_BATCH	256

struct close_batch {
	unsigned		nr_fds;
	int			fds[CLOSE_BATCH];
};


static void close_run(int first, int last)
{
	if (first == last)
		close(first);
	else
		ua_sys_close_range((unsigned) first, (unsigned) last);
}

/* Every number in a run is one of ours: close_range() takes nothing else.
 * Insertion sort: the numbers come almost sorted. */
static void close_batched_fds(struct close_batch *b)
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

static struct ua_file_node *file_node_of(struct ua_rsrc_node *node)
{
	return ua_container_of(node, struct ua_file_node, rsrc);
}

static void release_files(struct ua_rsrc_node *chain)
{
	struct close_batch b = { .nr_fds = 0 };

	for (; chain; chain = chain->next) {
		struct ua_file_node *node = file_node_of(chain);

		if (node->fd < 0)	/* its descriptor could not be made */
			continue;
		b.fds[b.nr_fds++] = node->fd;
		node->fd = -1;
		if (b.nr_fds == CLOSE_BATCH)
			close_batched_fds(&b);
	}
	close_batched_fds(&b);
}

static const struct ua_rsrc_type file_type = {
	.node_size = sizeof(struct ua_file_node),
	.release = release_files,
	.keep = true,
};

/* A live node, holding only the table's reference, and a descriptor
 * number (fd) only when kept. */
static struct ua_file_node *node_take(struct ua_ctx *ctx)
{
	struct ua_rsrc_node *node = ua_rsrc_node_take(&ctx->files.nodes);

	if (!node)
		return NULL;
	if (!node->kept)
		file_node_of(node)->fd = -1;
	return file_node_of(node);
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
	if (dup < 0 && errno == EMFILE &&
	    ua_rsrc_finish_retiring_now(&files->nodes))
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
 * kernel searches (the hint follows the last slot filled or emptied, which
 * may lie outside the range: the search then starts at the range's start).
 */
static int alloc_slot(struct ua_files *files, struct ua_file_table *table)
{
	unsigned end = files->alloc_end, slot;

	if (!table)
		return -ENFILE;
	if (files->alloc_hint < files->alloc_start || files->alloc_hint >= end)
		files->alloc_hint = files->alloc_start;
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
		ua_rsrc_node_retire(&old->rsrc);
	}
	if (node) {
		bit_flip(table->bitmap, i);
		files->alloc_hint = i + 1;
	}
}

/*
 * A kept node's descriptor number, which still holds the file of the node
 * it was, takes fd's file in one dup3(), which drops the old file: one
 * system call where a new descriptor and the close of the old one are
 * two (and the close's descriptor-table lock taken against this thread's
 * on the RCU callback thread). The number is ours alone: no request and
 * no lookup still uses the node, a grace period after it was retired.
 * Returns the descriptor, or -1 with the number closed.
 */
static int dup_into_kept(struct ua_file_node *node, int fd)
{
	node->rsrc.kept = false;
	if (dup3(fd, node->fd, O_CLOEXEC) >= 0)
		return node->fd;
	close(node->fd);
	node->fd = -1;
	return -1;
}

/*
 * The calls between an update's entry and its dup3(). Each frame there
 * costs a mispredicted return once the system call is back (the kernel's
 * own calls have overwritten the return predictions): these three were
 * measured at 5% of an update's time, and are folded into their callers.
 */
#define ON_UPDATE_PATH	static inline __attribute__((always_inline))

/* The table's own descriptor for fd, in node's number when it has one. */
ON_UPDATE_PATH int dup_for_node(struct ua_files *files,
				struct ua_file_node *node, int fd)
{
	if (node->rsrc.kept && !ua_ctx_lookup(fd) &&
	    dup_into_kept(node, fd) >= 0)
		return node->fd;
	return dup_for_table(files, fd);
}

/* A node holding the table's own descriptor for fd, with tag. */
ON_UPDATE_PATH int node_for_fd(struct ua_ctx *ctx, int fd, __u64 tag,
			       struct ua_file_node **out)
{
	struct ua_file_node *node = node_take(ctx);
	int dup;

	if (!node)
		return -ENOMEM;
	dup = dup_for_node(&ctx->files, node, fd);
	if (dup < 0) {
		ua_rsrc_node_give_back(&node->rsrc);	/* closes a kept one */
		return dup;
	}
	node->fd = dup;
	node->stream = false;
	node->rsrc.tag = tag;
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
static void table_discard(struct ua_file_table *table)
{
	for (unsigned i = 0; i < table->nr; i++)
		if (slot_node(table, i))
			ua_rsrc_node_give_back(&slot_node(table, i)->rsrc);
	table_free(table);
}

/* A grace period after unregister: no lookup still reads the table. */
static void table_free_rcu(struct ua_rcu_head *head)
{
	table_free(ua_container_of(head, struct ua_file_table, rcu));
}

/*
 * The application's fds and tags arrays (0: none), nr entries. The kernel
 * reads them an entry at a time and stops at the first it cannot read,
 * having used those before it; here they are copied a chunk at a time,
 * and only a chunk that cannot be read whole is read again entry by
 * entry, to find where to stop.
 */
#define ENTRY_CHUNK	64

struct user_entries {
	__u64		fds, tags;
	unsigned	nr;
	unsigned	base, count;	/* the entries held below */
	__s32		fd[ENTRY_CHUNK];
	__u64		tag[ENTRY_CHUNK];
};

static void entries_init(struct user_entries *e, __u64 fds, __u64 tags,
			 unsigned nr)
{
	e->fds = fds;
	e->tags = tags;
	e->nr = nr;
	e->base = e->count = 0;
}

static int entries_load(struct user_entries *e, unsigned i, unsigned n)
{
	if (e->tags && ua_copy_from_user(e->tag, e->tags + i * sizeof(e->tag[0]),
					 n * sizeof(e->tag[0])))
		return -EFAULT;
	if (e->fds && ua_copy_from_user(e->fd, e->fds + i * sizeof(e->fd[0]),
					n * sizeof(e->fd[0])))
		return -EFAULT;
	e->base = i;
	e->count = n;
	return 0;
}

/* Entry i (-1 and 0 for an absent array), or -EFAULT. */
static int get_entry(struct user_entries *e, unsigned i, int *fd, __u64 *tag)
{
	unsigned n = e->nr - i < ENTRY_CHUNK ? e->nr - i : ENTRY_CHUNK;

	if (i - e->base >= e->count && entries_load(e, i, n) &&
	    (n == 1 || entries_load(e, i, 1)))
		return -EFAULT;
	*fd = e->fds ? e->fd[i - e->base] : -1;
	*tag = e->tags ? e->tag[i - e->base] : 0;
	return 0;
}

static int fill_table(struct ua_ctx *ctx, struct ua_file_table *table,
		      __u64 fds, __u64 tags)
{
	struct user_entries e;
	struct ua_file_node *node;
	int ret;

	entries_init(&e, fds, tags, table->nr);
	for (unsigned i = 0; i < table->nr; i++) {
		__u64 tag;
		int fd;

		if (get_entry(&e, i, &fd, &tag))
			return -EFAULT;
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

static int register_locked(struct ua_ctx *ctx, __u64 fds, __u64 tags,
			   unsigned nr)
{
	struct ua_files *files = &ctx->files;
	struct ua_file_table *table;
	int ret;

	ua_lock_assert_held(&ctx->files.lock);
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
		table_discard(table);
		return ret;
	}
	/* Release: the slots are filled before a lookup finds the table. */
	__atomic_store_n(&files->table, table, __ATOMIC_RELEASE);
	files->alloc_start = files->alloc_hint = 0;
	files->alloc_end = nr;
	return 0;
}

/* fds NULL: a sparse table. Tags, when given, post on release. */
int ua_files_register(struct ua_ctx *ctx, __u64 fds, __u64 tags, unsigned nr)
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

	ua_lock_assert_held(&files->lock);
	if (!table)
		return -ENXIO;
	__atomic_store_n(&files->table, NULL, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < table->nr; i++)
		if (slot_node(table, i))
			ua_rsrc_node_retire(&slot_node(table, i)->rsrc);
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
ON_UPDATE_PATH int update_locked(struct ua_ctx *ctx, unsigned offset,
				 __u64 fds, __u64 tags, unsigned nr)
{
	struct ua_files *files = &ctx->files;
	struct ua_file_table *table = files->table;
	struct user_entries e;
	struct ua_file_node *node;
	unsigned done;
	int ret = 0;

	ua_lock_assert_held(&ctx->files.lock);
	if (!table)
		return -ENXIO;
	if (offset + nr > table->nr)
		return -EINVAL;
	entries_init(&e, fds, tags, nr);
	for (done = 0; done < nr; done++) {
		__u64 tag;
		int fd;

		if (!fds || get_entry(&e, done, &fd, &tag)) {
			ret = -EFAULT;
			break;
		}
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

int ua_files_update(struct ua_ctx *ctx, unsigned offset, __u64 fds,
		    __u64 tags, unsigned nr)
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

	ua_lock_assert_held(&ctx->files.lock);
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
	if (node->rsrc.kept && dup_into_kept(node, fd) >= 0)
		close(fd);
	else
		node->fd = move_high(files, fd);
	node->stream = false;
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
	} while (node && !ua_rsrc_node_tryget(&node->rsrc));
	ua_rcu_read_unlock();
	return node;
}

/* The node's own descriptor, valid while a reference is held. */
int ua_file_node_fd(const struct ua_file_node *node)
{
	return node->fd;
}

/*
 * A request on the node's file found it to be a stream (file.c). A file's
 * kind never changes, so the requests after take it from the node instead
 * of asking fstat() again each time one leaves the fast path: a pipe or
 * socket read that waits for data would pay one per wait. Only streams
 * are remembered: a seekable file's request may need the file's identity
 * too (its hash key), which the node does not keep.
 */
void ua_file_node_mark_stream(struct ua_file_node *node)
{
	__atomic_store_n(&node->stream, true, __ATOMIC_RELAXED);
}

/* Maybe the file's last user: then it is released. */
void ua_file_node_put(struct ua_file_node *node)
{
	ua_rsrc_node_put(&node->rsrc);
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
	if (__atomic_load_n(&node->stream, __ATOMIC_RELAXED))
		req->file_kind = UA_FILE_STREAM;
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
	files_update_of(req)->offset = (__u32) sqe->off;
	files_update_of(req)->nr = sqe->len;
	files_update_of(req)->arg = sqe->addr;
	return sqe->len ? 0 : -EINVAL;
}

/* Each descriptor goes to a free slot, whose index replaces it in fds; a
 * slot whose index cannot be written back is emptied again, as the
 * kernel's is. */
static int update_with_alloc_locked(struct ua_ctx *ctx, __u64 fds,
				    unsigned nr)
{
	unsigned done;
	int ret = 0, dup, fd;

	ua_lock_assert_held(&ctx->files.lock);
	if (!ctx->files.table)
		return -ENXIO;
	for (done = 0; done < nr; done++) {
		__u64 uaddr = fds + (__u64) done * sizeof(fd);

		if (ua_copy_from_user(&fd, uaddr, sizeof(fd))) {
			ret = -EFAULT;
			break;
		}
		ret = dup = dup_for_table(&ctx->files, fd);
		if (dup >= 0) {
			ret = install_locked(ctx, dup, IORING_FILE_INDEX_ALLOC);
			if (ret < 0)
				close(dup);
		}
		if (ret < 0)
			break;
		if (ua_copy_to_user(uaddr, &ret, sizeof(ret))) {
			slot_replace(&ctx->files, ctx->files.table,
				     (unsigned) ret, NULL);
			ret = -EFAULT;
			break;
		}
	}
	return done ? (int) done : ret;
}

int ua_files_update_op(struct ua_req *req, unsigned issue_flags)
{
	struct ua_files_update *up = files_update_of(req);
	__u64 fds = up->arg;
	int ret;

	(void) issue_flags;
	if (up->offset == IORING_FILE_INDEX_ALLOC) {
		pthread_mutex_lock(&req->ctx->files.lock);
		ret = update_with_alloc_locked(req->ctx, fds, up->nr);
		pthread_mutex_unlock(&req->ctx->files.lock);
	} else {
		ret = ua_files_update(req->ctx, up->offset, fds, 0, up->nr);
	}
	req->res = ret;
	req->failed = ret < 0;
	return UA_DONE;
}

/* Lifetime */

void ua_files_init(struct ua_ctx *ctx)
{
	pthread_mutex_init(&ctx->files.lock, NULL);
	set_dup_base(&ctx->files, false);
	ua_rsrc_cache_init(&ctx->files.nodes, ctx, &ctx->files.lock,
			   &file_type);
}

/*
 * Teardown, after every request has been freed: retire what the table
 * still holds, then let every retirement's grace period run (which
 * releases all nodes and posts their tags) and free the nodes.
 */
void ua_files_destroy(struct ua_ctx *ctx)
{
	struct ua_files *files = &ctx->files;

	pthread_mutex_lock(&files->lock);
	unregister_locked(files);
	pthread_mutex_unlock(&files->lock);
	ua_rsrc_cache_destroy(&files->nodes);
	pthread_mutex_destroy(&files->lock);
}
