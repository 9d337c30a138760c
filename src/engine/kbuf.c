/* SPDX-License-Identifier: MIT */
/*
 * Provided buffers: groups of buffers the application hands over, from
 * which a request with IOSQE_BUFFER_SELECT takes one. A receive (or a read
 * of a pipe or socket) takes one when data arrives, so an idle connection
 * pins no buffer; a read of a file and a SEND take theirs up front, as the
 * kernel does. A group is either a list filled by PROVIDE_BUFFERS, taken
 * in the order provided, or a ring (io_uring_register_buf_ring) in the
 * application's memory or in the ring's memfd (IOU_PBUF_RING_MMAP): the
 * application publishes entries by storing the tail with release
 * semantics, the engine reads it with acquire semantics and keeps the head
 * to itself, as the kernel does. An incremental ring (IOU_PBUF_RING_INC)
 * gives up a buffer a transfer at a time.
 *
 * buf_lock guards the groups. A non-blocking transfer holds it from taking
 * a buffer to consuming or returning it, so a buffer that meets -EAGAIN
 * goes back where it was (the ring's head moves only when a buffer is
 * used) and two threads never take the same ring entry; one that may block
 * consumes its buffer first and transfers without the lock.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "liburing/barrier.h"
#include "engine/kbuf.h"
#include "engine/lock.h"
#include "engine/req.h"
#include "engine/ring.h"
#include "engine/uaccess.h"
#include "engine/opdef.h"

/* PROVIDE_BUFFERS, REMOVE_BUFFERS. */
struct ua_pbuf {
	__u64			addr;
	__u32			len;
	unsigned		nbufs;
	unsigned		bid;
	__u16			bgid;
};
#define pbuf_of(req)	ua_cmd(req, struct ua_pbuf)

#define MAX_BIDS	(1u << 16)

struct ua_kbuf {
	struct ua_kbuf	*next;
	__u64		addr;
	__u32		len;
	__u16		bid;
};

struct ua_buf_group {
	struct ua_buf_group	*next;		/* hash chain */
	__u16			bgid;
	bool			is_ring;
	bool			inc;		/* IOU_PBUF_RING_INC */
	/* List groups. */
	struct ua_kbuf		*head, **tail;
	/* Ring groups. */
	struct io_uring_buf_ring *br;
	__u16			mask;
	__u16			ring_head;
	size_t			map_size;	/* engine-allocated (MMAP) */
};

static struct ua_buf_group **bucket(struct ua_ctx *ctx, __u16 bgid)
{
	return &ctx->buf_groups[bgid % UA_BUF_HASH];
}

static struct ua_buf_group *group_find(struct ua_ctx *ctx, __u16 bgid)
{
	struct ua_buf_group *g;

	for (g = *bucket(ctx, bgid); g; g = g->next)
		if (g->bgid == bgid)
			return g;
	return NULL;
}

static struct ua_buf_group *group_new(struct ua_ctx *ctx, __u16 bgid)
{
	struct ua_buf_group *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->bgid = bgid;
	g->tail = &g->head;
	g->next = *bucket(ctx, bgid);
	*bucket(ctx, bgid) = g;
	return g;
}

static void group_unlink(struct ua_ctx *ctx, struct ua_buf_group *g)
{
	struct ua_buf_group **pp = bucket(ctx, g->bgid);

	while (*pp != g)
		pp = &(*pp)->next;
	*pp = g->next;
}

/* Nodes of list groups are recycled through kbuf_cache: no allocation per
 * buffer in steady state. */
static struct ua_kbuf *node_alloc(struct ua_ctx *ctx)
{
	struct ua_kbuf *b = ctx->kbuf_cache;

	if (b) {
		ctx->kbuf_cache = b->next;
		return b;
	}
	return malloc(sizeof(*b));
}

static void node_free(struct ua_ctx *ctx, struct ua_kbuf *b)
{
	b->next = ctx->kbuf_cache;
	ctx->kbuf_cache = b;
}

/* ---- PROVIDE_BUFFERS, REMOVE_BUFFERS ---- */

int ua_provide_buffers_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	struct ua_pbuf *p = pbuf_of(req);
	__u64 size;

	if (!sqe->fd || (unsigned) sqe->fd > MAX_BIDS)
		return -E2BIG;
	p->nbufs = (unsigned) sqe->fd;
	p->addr = sqe->addr;
	p->len = sqe->len;
	p->bgid = sqe->buf_group;
	if (!p->len)
		return -EINVAL;
	size = (__u64) p->len * p->nbufs;
	if (p->addr + size < p->addr)
		return -EOVERFLOW;
	if (sqe->off > 0xffff)
		return -E2BIG;
	if (sqe->off + p->nbufs > MAX_BIDS)
		return -EINVAL;
	p->bid = (unsigned) sqe->off;
	return 0;
}

int ua_remove_buffers_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	struct ua_pbuf *p = pbuf_of(req);

	if (!sqe->fd || (unsigned) sqe->fd > MAX_BIDS)
		return -EINVAL;
	p->nbufs = (unsigned) sqe->fd;
	p->bgid = sqe->buf_group;
	return 0;
}

static int provide(struct ua_ctx *ctx, const struct ua_pbuf *p)
{
	struct ua_buf_group *g = group_find(ctx, p->bgid);
	unsigned i;

	if (!g && !(g = group_new(ctx, p->bgid)))
		return -ENOMEM;
	if (g->is_ring)
		return -EINVAL;
	for (i = 0; i < p->nbufs; i++) {
		struct ua_kbuf *b = node_alloc(ctx);

		if (!b)
			return i ? 0 : -ENOMEM;
		b->addr = p->addr + (__u64) i * p->len;
		b->len = p->len;
		b->bid = (__u16) (p->bid + i);
		b->next = NULL;
		*g->tail = b;
		g->tail = &b->next;
	}
	return 0;
}

static int remove_bufs(struct ua_ctx *ctx, const struct ua_pbuf *p)
{
	struct ua_buf_group *g = group_find(ctx, p->bgid);
	unsigned n = 0;

	if (!g)
		return -ENOENT;
	if (g->is_ring)
		return -EINVAL;
	while (g->head && n < p->nbufs) {
		struct ua_kbuf *b = g->head;

		g->head = b->next;
		node_free(ctx, b);
		n++;
	}
	if (!g->head)
		g->tail = &g->head;
	return (int) n;
}

int ua_provide_buffers(struct ua_req *req, unsigned issue_flags)
{
	struct ua_ctx *ctx = req->ctx;
	int ret;

	(void) issue_flags;
	pthread_mutex_lock(&ctx->buf_lock);
	if (req->opcode == IORING_OP_PROVIDE_BUFFERS)
		ret = provide(ctx, pbuf_of(req));
	else
		ret = remove_bufs(ctx, pbuf_of(req));
	pthread_mutex_unlock(&ctx->buf_lock);
	req->res = ret;
	req->failed = ret < 0;
	return UA_DONE;
}

/* ---- ring-mapped groups ---- */

#define PBUF_RING_FLAGS	(IOU_PBUF_RING_MMAP | IOU_PBUF_RING_INC)

static size_t ring_bytes(__u32 entries)
{
	size_t page = (size_t) sysconf(_SC_PAGESIZE);

	return (entries * sizeof(struct io_uring_buf) + page - 1) & ~(page - 1);
}

/* Whether [addr, addr + size) is mapped: mincore() fails with ENOMEM on
 * a hole, where the kernel's pinning of the pages gives -EFAULT. */
static bool is_mapped(__u64 addr, size_t size)
{
	unsigned char vec[128];		/* pages of the largest ring */

	return !mincore((void *) (uintptr_t) addr, size, vec) || errno != ENOMEM;
}

/*
 * An engine-allocated ring must not share memfd pages with another: rings
 * sit 64 KiB apart, and the group number's top bit lands on the offset's
 * own (group n + 32768 maps where group n does, as on the kernel).
 */
static bool map_overlaps(struct ua_ctx *ctx, __u16 bgid, size_t size)
{
	__u64 lo = (__u64) ua_ring_pbuf_offset(bgid), hi = lo + size;
	struct ua_buf_group *g;
	unsigned i;

	for (i = 0; i < UA_BUF_HASH; i++)
		for (g = ctx->buf_groups[i]; g; g = g->next) {
			__u64 glo = (__u64) ua_ring_pbuf_offset(g->bgid);

			if (g->map_size && glo < hi && lo < glo + g->map_size)
				return true;
		}
	return false;
}

/* The ring's memory: the application's, or (IOU_PBUF_RING_MMAP) the
 * engine's, which the application maps from the ring descriptor. */
static int ring_attach(struct ua_ctx *ctx, struct ua_buf_group *g,
		       const struct io_uring_buf_reg *reg)
{
	size_t size = ring_bytes(reg->ring_entries);

	if (reg->flags & IOU_PBUF_RING_MMAP) {
		if (map_overlaps(ctx, reg->bgid, size))
			return -EINVAL;
		g->br = ua_ring_map_pbuf(ctx, reg->bgid, size);
		if (!g->br)
			return -ENOMEM;
		g->map_size = size;
	} else {
		if (!reg->ring_addr)
			return -EFAULT;
		if (reg->ring_addr & (sysconf(_SC_PAGESIZE) - 1))
			return -EINVAL;
		if (!is_mapped(reg->ring_addr, size))
			return -EFAULT;
		g->br = (struct io_uring_buf_ring *) (uintptr_t) reg->ring_addr;
	}
	g->is_ring = true;
	g->inc = reg->flags & IOU_PBUF_RING_INC;
	g->mask = (__u16) (reg->ring_entries - 1);
	g->ring_head = 0;
	return 0;
}

static void group_free(struct ua_ctx *ctx, struct ua_buf_group *g)
{
	if (g->map_size)
		ua_ring_unmap_pbuf(ctx, g->bgid, g->br, g->map_size);
	free(g);
}

/* The 24 bytes after flags are reserved (min_left included: no engine
 * keeps a minimum of buffers back), and the kernel wants them zero. */
static bool buf_reg_reserved_zero(const struct io_uring_buf_reg *reg)
{
	unsigned i;

	for (i = 0; i < sizeof(reg->resv) / sizeof(reg->resv[0]); i++)
		if (reg->resv[i])
			return false;
	return !reg->min_left;
}

int ua_register_pbuf_ring(struct ua_ctx *ctx, const void *arg, unsigned nr)
{
	struct io_uring_buf_reg copy, *reg = &copy;
	struct ua_buf_group *g;
	bool created = false;
	int ret;

	if (!arg || nr != 1)
		return -EINVAL;
	if (ua_copy_from_user(reg, (__u64) (uintptr_t) arg, sizeof(*reg)))
		return -EFAULT;
	if (!buf_reg_reserved_zero(reg))
		return -EINVAL;
	if (reg->flags & ~PBUF_RING_FLAGS)
		return -EINVAL;
	if (!reg->ring_entries || (reg->ring_entries & (reg->ring_entries - 1)) ||
	    reg->ring_entries >= 65536)
		return -EINVAL;
	pthread_mutex_lock(&ctx->buf_lock);
	g = group_find(ctx, reg->bgid);
	if (g && (g->is_ring || g->head)) {
		ret = -EEXIST;
		goto out;
	}
	if (!g) {
		g = group_new(ctx, reg->bgid);
		if (!g) {
			ret = -ENOMEM;
			goto out;
		}
		created = true;
	}
	ret = ring_attach(ctx, g, reg);
	if (ret && created) {
		group_unlink(ctx, g);
		free(g);
	}
out:
	pthread_mutex_unlock(&ctx->buf_lock);
	return ret;
}

int ua_unregister_pbuf_ring(struct ua_ctx *ctx, const void *arg, unsigned nr)
{
	struct io_uring_buf_reg copy, *reg = &copy;
	struct ua_buf_group *g;
	int ret = 0;

	if (!arg || nr != 1)
		return -EINVAL;
	if (ua_copy_from_user(reg, (__u64) (uintptr_t) arg, sizeof(*reg)))
		return -EFAULT;
	if (!buf_reg_reserved_zero(reg) || reg->flags)
		return -EINVAL;
	pthread_mutex_lock(&ctx->buf_lock);
	g = group_find(ctx, reg->bgid);
	if (!g) {
		ret = -ENOENT;
	} else if (!g->is_ring) {
		ret = -EINVAL;
	} else {
		group_unlink(ctx, g);
		group_free(ctx, g);
	}
	pthread_mutex_unlock(&ctx->buf_lock);
	return ret;
}

/* IORING_REGISTER_PBUF_STATUS: where the engine's head of a ring is, so
 * the application knows which entries it may refill. */
int ua_register_pbuf_status(struct ua_ctx *ctx, void *arg, unsigned nr)
{
	struct io_uring_buf_status copy, *st = &copy;
	struct ua_buf_group *g;
	unsigned i;
	int ret = 0;

	if (!arg || nr != 1)
		return -EINVAL;
	if (ua_copy_from_user(st, (__u64) (uintptr_t) arg, sizeof(*st)))
		return -EFAULT;
	for (i = 0; i < sizeof(st->resv) / sizeof(st->resv[0]); i++)
		if (st->resv[i])
			return -EINVAL;
	pthread_mutex_lock(&ctx->buf_lock);
	g = st->buf_group <= 0xffff ? group_find(ctx, (__u16) st->buf_group) : NULL;
	if (!g)
		ret = -ENOENT;
	else if (!g->is_ring)
		ret = -EINVAL;
	else
		st->head = g->ring_head;
	pthread_mutex_unlock(&ctx->buf_lock);
	if (!ret && ua_copy_to_user((__u64) (uintptr_t) arg, st, sizeof(*st)))
		return -EFAULT;
	return ret;
}

/* ---- selection ---- */

/*
 * Takes a buffer of the request's group for a transfer of at most *len
 * bytes (0: the whole buffer), and returns its address with buf_lock held,
 * or NULL (no group, or none left: -ENOBUFS) with the lock released. A
 * buffer at address 0 is no buffer either. As on the kernel, a RECV leaves
 * it first in line (the kernel's io_recv() puts back what it selected when
 * nothing was received); the others take it, and req->cflags name it.
 */
void *ua_kbuf_get(struct ua_req *req, size_t *len, struct ua_kbuf_sel *sel)
{
	struct ua_ctx *ctx = req->ctx;
	struct ua_buf_group *g;

	pthread_mutex_lock(&ctx->buf_lock);
	g = group_find(ctx, req->buf_group);
	if (!g)
		goto empty;
	sel->group = g;
	if (g->is_ring) {
		/* Acquire: the entries below the tail are written. */
		__u16 tail = io_uring_smp_load_acquire(&g->br->tail);
		const struct io_uring_buf *b = &g->br->bufs[g->ring_head & g->mask];

		if (tail == g->ring_head)
			goto empty;
		sel->addr = IO_URING_READ_ONCE(b->addr);
		sel->len = IO_URING_READ_ONCE(b->len);
		sel->bid = IO_URING_READ_ONCE(b->bid);
	} else {
		if (!g->head)
			goto empty;
		sel->addr = g->head->addr;
		sel->len = g->head->len;
		sel->bid = g->head->bid;
	}
	if (!*len || *len > sel->len)
		*len = sel->len;
	if (__builtin_expect(!sel->addr, 0)) {
		if (req->opcode == IORING_OP_RECV)
			ua_kbuf_recycle(req, sel);
		else
			req->cflags = ua_kbuf_consume(req, sel, *len);
		return NULL;
	}
	return (void *) (uintptr_t) sel->addr;
empty:
	pthread_mutex_unlock(&ctx->buf_lock);
	return NULL;
}

/* Ends a ua_kbuf_get() whose transfer used nothing: the buffer stays where
 * it was, first in line. Releases buf_lock. */
void ua_kbuf_recycle(struct ua_req *req, struct ua_kbuf_sel *sel)
{
	ua_lock_assert_held(&req->ctx->buf_lock);
	(void) sel;
	pthread_mutex_unlock(&req->ctx->buf_lock);
}

/*
 * An incremental ring (IOU_PBUF_RING_INC) keeps what a transfer left of
 * the head buffer for the next one: the engine writes the entry's new
 * address and length back into the application's ring, as the kernel
 * does, and the head moves only once the buffer is used up. Returns
 * whether the buffer is still the head (IORING_CQE_F_BUF_MORE).
 */
static bool ring_commit_inc(struct ua_buf_group *g, size_t used)
{
	struct io_uring_buf *b = &g->br->bufs[g->ring_head & g->mask];
	__u32 left = IO_URING_READ_ONCE(b->len);

	if (used < left) {
		IO_URING_WRITE_ONCE(b->addr, IO_URING_READ_ONCE(b->addr) + used);
		IO_URING_WRITE_ONCE(b->len, left - (__u32) used);
		return true;
	}
	g->ring_head++;
	return false;
}

/*
 * Ends a ua_kbuf_get() whose transfer used len bytes of the buffer: it
 * leaves its group (an incremental ring gives up only those bytes).
 * Returns the CQE flags that name it. Releases buf_lock.
 */
__u32 ua_kbuf_consume(struct ua_req *req, struct ua_kbuf_sel *sel, size_t len)
{
	struct ua_ctx *ctx = req->ctx;
	struct ua_buf_group *g = sel->group;
	__u32 cflags = IORING_CQE_F_BUFFER |
		       ((__u32) sel->bid << IORING_CQE_BUFFER_SHIFT);

	ua_lock_assert_held(&ctx->buf_lock);
	if (g->is_ring && g->inc) {
		if (ring_commit_inc(g, len))
			cflags |= IORING_CQE_F_BUF_MORE;
	} else if (g->is_ring) {
		g->ring_head++;
	} else {
		struct ua_kbuf *b = g->head;

		g->head = b->next;
		if (!g->head)
			g->tail = &g->head;
		node_free(ctx, b);
	}
	pthread_mutex_unlock(&ctx->buf_lock);
	return cflags;
}

/* ---- bundles: several buffers for one transfer ---- */

/*
 * Maps, from the head of a ring, the buffers a bundle transfers into or
 * from, by the kernel's rules (io_ring_buffers_peek): at most max_len
 * bytes in all, a bundle of unknown size (max_len 0) takes one buffer; a
 * buffer that max_len would cut is left out unless it is the first (an
 * incremental ring gives up its part of it). b->empty tells whether the
 * mapping reached the tail.
 */
static int ring_peek(struct ua_buf_group *g, size_t max_len,
		     struct ua_bundle *b)
{
	__u16 tail = io_uring_smp_load_acquire(&g->br->tail);
	__u16 head = g->ring_head;
	unsigned avail = (__u16) (tail - head), nr = 1;
	const struct io_uring_buf *buf = &g->br->bufs[head & g->mask];

	if (!avail)
		return -ENOBUFS;
	if (avail > UA_UIO_MAXIOV)
		avail = UA_UIO_MAXIOV;
	b->bid = IO_URING_READ_ONCE(buf->bid);
	if (max_len) {
		__u32 len = IO_URING_READ_ONCE(buf->len);
		size_t needed;

		if (!len)
			return -ENOBUFS;
		needed = (max_len + len - 1) / len;
		if (needed > UA_BUNDLE_MAX)
			needed = UA_BUNDLE_MAX;
		nr = avail < needed ? avail : (unsigned) needed;
	} else {
		max_len = INT32_MAX;
	}
	do {
		size_t len = IO_URING_READ_ONCE(buf->len);

		if (len > max_len) {
			len = max_len;
			if (!g->inc) {
				b->partial = true;
				if (b->nr)
					break;
			}
		}
		b->iov[b->nr].iov_base = (void *) (uintptr_t) IO_URING_READ_ONCE(buf->addr);
		b->iov[b->nr++].iov_len = len;
		b->bytes += len;
		max_len -= len;
		if (!max_len)
			break;
		buf = &g->br->bufs[++head & g->mask];
	} while (--nr);
	b->empty = head == tail;
	return 0;
}

/*
 * Takes the buffers of a bundle (b->iov, b->nr, b->bytes) for a transfer
 * of at most max_len bytes (0: unknown), with buf_lock held, or returns
 * -ENOENT (no group) or -ENOBUFS (none left) with the lock released. A
 * list group gives one buffer, as the kernel's legacy groups do.
 */
int ua_kbuf_peek(struct ua_req *req, size_t max_len, struct ua_bundle *b)
{
	struct ua_ctx *ctx = req->ctx;
	struct ua_buf_group *g;
	int ret = -ENOENT;

	b->nr = 0;
	b->bytes = 0;
	b->partial = false;
	pthread_mutex_lock(&ctx->buf_lock);
	g = group_find(ctx, req->buf_group);
	if (!g)
		goto fail;
	b->sel.group = g;
	if (g->is_ring) {
		ret = ring_peek(g, max_len, b);
		if (ret)
			goto fail;
		return 0;
	}
	ret = -ENOBUFS;
	if (!g->head)
		goto fail;
	b->bid = g->head->bid;
	b->iov[0].iov_base = (void *) (uintptr_t) g->head->addr;
	b->iov[0].iov_len = max_len && max_len < g->head->len ? max_len
							       : g->head->len;
	b->bytes = b->iov[0].iov_len;
	b->nr = 1;
	b->empty = !g->head->next;
	return 0;
fail:
	pthread_mutex_unlock(&ctx->buf_lock);
	return ret;
}

/* How many of the bundle's buffers a transfer of len bytes touched (the
 * kernel's io_bundle_nbufs). */
unsigned ua_bundle_nbufs(const struct ua_bundle *b, size_t len)
{
	unsigned i = 0;

	while (len && i < b->nr) {
		len -= len < b->iov[i].iov_len ? len : b->iov[i].iov_len;
		i++;
	}
	return i;
}

/* An incremental ring gives up the used bytes across the head buffers; a
 * buffer used up is left with length 0, as the kernel leaves it. Returns
 * whether the last one still has some (IORING_CQE_F_BUF_MORE). */
static bool ring_commit_inc_bytes(struct ua_buf_group *g, size_t used)
{
	while (used) {
		struct io_uring_buf *b = &g->br->bufs[g->ring_head & g->mask];
		__u32 left = IO_URING_READ_ONCE(b->len);
		__u32 take = used < left ? (__u32) used : left;

		if (left - take || !take) {
			IO_URING_WRITE_ONCE(b->addr, IO_URING_READ_ONCE(b->addr) + take);
			IO_URING_WRITE_ONCE(b->len, left - take);
			return true;
		}
		IO_URING_WRITE_ONCE(b->len, 0);
		g->ring_head++;
		used -= take;
	}
	return false;
}

/*
 * Ends a ua_kbuf_peek(): the transfer used len bytes, in the first nbufs
 * buffers, which leave the group (an incremental ring gives up only the
 * bytes). Returns the CQE flags naming the first. Releases buf_lock.
 */
__u32 ua_kbuf_consume_bundle(struct ua_req *req, struct ua_bundle *b,
			     size_t len, unsigned nbufs)
{
	struct ua_ctx *ctx = req->ctx;
	struct ua_buf_group *g = b->sel.group;
	__u32 cflags = IORING_CQE_F_BUFFER |
		       ((__u32) b->bid << IORING_CQE_BUFFER_SHIFT);

	ua_lock_assert_held(&ctx->buf_lock);
	if (g->is_ring && g->inc) {
		if (ring_commit_inc_bytes(g, len))
			cflags |= IORING_CQE_F_BUF_MORE;
	} else if (g->is_ring) {
		g->ring_head = (__u16) (g->ring_head + nbufs);
	} else if (nbufs) {
		struct ua_kbuf *k = g->head;

		g->head = k->next;
		if (!g->head)
			g->tail = &g->head;
		node_free(ctx, k);
	}
	pthread_mutex_unlock(&ctx->buf_lock);
	return cflags;
}

/* Teardown: the groups and the node cache. */
void ua_kbuf_destroy(struct ua_ctx *ctx)
{
	struct ua_buf_group *g, *gn;
	struct ua_kbuf *b, *bn;
	unsigned i;

	for (i = 0; i < UA_BUF_HASH; i++) {
		for (g = ctx->buf_groups[i]; g; g = gn) {
			gn = g->next;
			for (b = g->head; b; b = bn) {
				bn = b->next;
				free(b);
			}
			group_free(ctx, g);
		}
		ctx->buf_groups[i] = NULL;
	}
	for (b = ctx->kbuf_cache; b; b = bn) {
		bn = b->next;
		free(b);
	}
	ctx->kbuf_cache = NULL;
}
