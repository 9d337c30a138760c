/* SPDX-License-Identifier: MIT */
/* io_uring_register(): the registration opcodes this engine implements. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "engine/cancel.h"
#include "engine/eventfd.h"
#include "engine/filetable.h"
#include "engine/iowq.h"
#include "engine/kbuf.h"
#include "engine/napi.h"
#include "engine/personality.h"
#include "engine/region.h"
#include "engine/register.h"
#include "engine/req.h"
#include "engine/ring.h"
#include "engine/ringfd.h"
#include "engine/ringref.h"
#include "engine/rsrc.h"
#include "engine/sqpoll.h"
#include "engine/uaccess.h"
#include "engine/wait.h"
#include "engine/opdef.h"

/* The kernel wants a zeroed buffer, for forward compatibility. */
static int fill_probe(struct io_uring_probe *p, __u64 uarg, size_t size,
		      unsigned nr)
{
	unsigned i;

	if (ua_copy_from_user(p, uarg, size))
		return -EFAULT;
	for (i = 0; i < size; i++)
		if (((const unsigned char *) p)[i])
			return -EINVAL;
	p->last_op = UA_OP_LAST - 1;
	for (i = 0; i < nr; i++) {
		p->ops[i].op = (__u8) i;
		if (ua_opdef(i)->prep)
			p->ops[i].flags = IO_URING_OP_SUPPORTED;
	}
	p->ops_len = (__u8) nr;
	return 0;
}

/* Filled in a copy of ours, then written back whole, as the kernel does. */
static int register_probe(const void *arg, unsigned nr)
{
	struct io_uring_probe *p;
	size_t size;
	int ret;

	if (nr > UA_OP_LAST)
		nr = UA_OP_LAST;
	size = sizeof(*p) + nr * sizeof(p->ops[0]);
	p = malloc(size);
	if (!p)
		return -ENOMEM;
	ret = fill_probe(p, (__u64) (uintptr_t) arg, size, nr);
	if (!ret)
		ret = ua_copy_to_user((__u64) (uintptr_t) arg, p, size);
	free(p);
	return ret;
}

/* IORING_REGISTER_IOWQ_AFF: nr_args bytes of CPU mask, the rest of the
 * mask cleared, as the kernel reads up to its own mask's size. */
static int register_iowq_aff(struct ua_ctx *ctx, const void *arg,
			     unsigned nr_args)
{
	cpu_set_t mask;
	size_t len = nr_args < sizeof(mask) ? nr_args : sizeof(mask);

	if (!arg || !nr_args)
		return -EINVAL;
	CPU_ZERO(&mask);
	if (ua_copy_from_user(&mask, (__u64) (uintptr_t) arg, len))
		return -EFAULT;
	ua_iowq_set_affinity(&ctx->wq, &mask);
	return 0;
}

static int register_max_workers(struct ua_ctx *ctx, const void *arg,
				unsigned nr)
{
	unsigned counts[2];
	int ret;

	if (!arg || nr != 2)
		return -EINVAL;
	if (ua_copy_from_user(counts, (__u64) (uintptr_t) arg, sizeof(counts)))
		return -EFAULT;
	ret = ua_iowq_max_workers(&ctx->wq, counts);
	if (!ret)
		ret = ua_copy_to_user((__u64) (uintptr_t) arg, counts,
				      sizeof(counts));
	return ret;
}

/* The argument of FILES2 and BUFFERS2: size bytes, checked as the kernel
 * checks it for both tables. */
static int copy_rsrc_register(struct io_uring_rsrc_register *rr,
			      const void *arg, unsigned size)
{
	if (size != sizeof(*rr))
		return -EINVAL;
	if (ua_copy_from_user(rr, (__u64) (uintptr_t) arg, sizeof(*rr)))
		return -EFAULT;
	if (!rr->nr || rr->resv2 || (rr->flags & ~IORING_RSRC_REGISTER_SPARSE))
		return -EINVAL;
	if ((rr->flags & IORING_RSRC_REGISTER_SPARSE) && rr->data)
		return -EINVAL;
	return 0;
}

/* The argument of FILES_UPDATE2 and BUFFERS_UPDATE: size bytes. */
static int copy_rsrc_update2(struct io_uring_rsrc_update2 *up,
			     const void *arg, unsigned size)
{
	if (size != sizeof(*up))
		return -EINVAL;
	if (ua_copy_from_user(up, (__u64) (uintptr_t) arg, sizeof(*up)))
		return -EFAULT;
	if (!up->nr || up->resv || up->resv2)
		return -EINVAL;
	return 0;
}

/* IORING_REGISTER_FILES2: struct io_uring_rsrc_register, size bytes. */
static int register_files2(struct ua_ctx *ctx, const void *arg, unsigned size)
{
	struct io_uring_rsrc_register rr;
	int ret = copy_rsrc_register(&rr, arg, size);

	return ret ? ret : ua_files_register(ctx, rr.data, rr.tags, rr.nr);
}

/* IORING_REGISTER_FILES_UPDATE: struct io_uring_files_update, nr fds. */
static int update_files(struct ua_ctx *ctx, const void *arg, unsigned nr)
{
	struct io_uring_files_update up;

	if (!nr)
		return -EINVAL;
	if (ua_copy_from_user(&up, (__u64) (uintptr_t) arg, sizeof(up)))
		return -EFAULT;
	if (up.resv)
		return -EINVAL;
	return ua_files_update(ctx, up.offset, up.fds, 0, nr);
}

/* IORING_REGISTER_FILES_UPDATE2: struct io_uring_rsrc_update2, size bytes. */
static int update_files2(struct ua_ctx *ctx, const void *arg, unsigned size)
{
	struct io_uring_rsrc_update2 up;
	int ret = copy_rsrc_update2(&up, arg, size);

	return ret ? ret : ua_files_update(ctx, up.offset, up.data, up.tags,
					   up.nr);
}

/* IORING_REGISTER_BUFFERS2: struct io_uring_rsrc_register, size bytes. */
static int register_buffers2(struct ua_ctx *ctx, const void *arg,
			     unsigned size)
{
	struct io_uring_rsrc_register rr;
	int ret = copy_rsrc_register(&rr, arg, size);

	return ret ? ret : ua_register_buffers_tagged(ctx, rr.data, rr.tags,
						      rr.nr);
}

/* IORING_REGISTER_BUFFERS_UPDATE: struct io_uring_rsrc_update2. */
static int update_buffers(struct ua_ctx *ctx, const void *arg, unsigned size)
{
	struct io_uring_rsrc_update2 up;
	int ret = copy_rsrc_update2(&up, arg, size);

	return ret ? ret : ua_update_buffers(ctx, up.offset, up.data, up.tags,
					     up.nr);
}

/* The source ring of a clone; held for the caller when *held (a
 * registered ring is held by the thread's table). */
static struct ua_ctx *clone_source(const struct io_uring_clone_buffers *buf,
				   bool *held, bool *owner, int *err)
{
	*held = !(buf->flags & IORING_REGISTER_SRC_REGISTERED);
	if (!*held)
		return ua_ringfd_lookup(buf->src_fd, err);
	return ua_ctx_get((int) buf->src_fd, err, owner);
}

/* IORING_REGISTER_CLONE_BUFFERS, with the kernel's order of checks. */
static int clone_buffers(struct ua_ctx *ctx, const void *arg)
{
	struct io_uring_clone_buffers buf;
	struct ua_ctx *src;
	bool held, owner;
	int ret;

	if (ua_copy_from_user(&buf, (__u64) (uintptr_t) arg, sizeof(buf)))
		return -EFAULT;
	if (buf.flags & ~(IORING_REGISTER_SRC_REGISTERED |
			  IORING_REGISTER_DST_REPLACE))
		return -EINVAL;
	if (!(buf.flags & IORING_REGISTER_DST_REPLACE) &&
	    __atomic_load_n(&ctx->bufs.table, __ATOMIC_ACQUIRE))
		return -EBUSY;
	for (unsigned i = 0; i < sizeof(buf.pad) / sizeof(buf.pad[0]); i++)
		if (buf.pad[i])
			return -EINVAL;
	src = clone_source(&buf, &held, &owner, &ret);
	if (!src)
		return ret;
	ret = ua_clone_buffers(ctx, src, &buf);
	if (held)
		ua_ctx_put(src, owner);
	return ret;
}

static int file_alloc_range(struct ua_ctx *ctx, const void *arg)
{
	struct io_uring_file_index_range range;

	if (ua_copy_from_user(&range, (__u64) (uintptr_t) arg, sizeof(range)))
		return -EFAULT;
	if (range.off + range.len < range.off)
		return -EOVERFLOW;
	if (range.resv)
		return -EINVAL;
	return ua_files_set_alloc_range(ctx, range.off, range.len);
}

#define MAX_RESTRICTIONS	(IORING_RESTRICTION_LAST + IORING_REGISTER_LAST + \
				 IORING_OP_LAST)

static void bit_set(__u64 *map, unsigned bit)
{
	map[bit / 64] |= 1ull << (bit % 64);
}

static int parse_restriction(struct ua_restrictions *r,
			     const struct io_uring_restriction *res)
{
	switch (res->opcode) {
	case IORING_RESTRICTION_REGISTER_OP:
		if (res->register_op >= IORING_REGISTER_LAST)
			return -EINVAL;
		bit_set(r->register_op, res->register_op);
		return 0;
	case IORING_RESTRICTION_SQE_OP:
		if (res->sqe_op >= UA_OP_LAST)
			return -EINVAL;
		bit_set(r->sqe_op, res->sqe_op);
		return 0;
	case IORING_RESTRICTION_SQE_FLAGS_ALLOWED:
		r->sqe_flags_allowed = res->sqe_flags;
		return 0;
	case IORING_RESTRICTION_SQE_FLAGS_REQUIRED:
		r->sqe_flags_required = res->sqe_flags;
		return 0;
	default:
		return -EINVAL;
	}
}

static int parse_restrictions(struct ua_restrictions *r, const void *arg,
			      unsigned nr)
{
	struct io_uring_restriction *res;
	int ret = 0;

	if (!arg || nr > MAX_RESTRICTIONS)
		return -EINVAL;
	if (!nr)
		return 0;	/* nothing allowed */
	res = malloc(nr * sizeof(*res));
	if (!res)
		return -ENOMEM;
	if (ua_copy_from_user(res, (__u64) (uintptr_t) arg, nr * sizeof(*res)))
		ret = -EFAULT;
	for (unsigned i = 0; !ret && i < nr; i++)
		ret = parse_restriction(r, &res[i]);
	free(res);
	return ret;
}

/* Once, while the ring is disabled; a failed attempt leaves nothing. */
static int register_restrictions(struct ua_ctx *ctx, const void *arg,
				 unsigned nr)
{
	struct ua_restrictions *r = &ctx->restrictions;
	int ret;

	if (!ctx->disabled)
		return -EBADFD;
	if (r->registered)
		return -EBUSY;
	ret = parse_restrictions(r, arg, nr);
	if (ret)
		memset(r, 0, sizeof(*r));
	else
		r->registered = true;
	return ret;
}

/* What a restricted ring may not register is refused before its
 * arguments are looked at. */
bool ua_register_refused(const struct ua_ctx *ctx, unsigned opcode)
{
	return __atomic_load_n(&ctx->restricted, __ATOMIC_ACQUIRE) &&
	       opcode < IORING_REGISTER_LAST &&
	       !ua_bit_test(ctx->restrictions.register_op, opcode);
}

/* Under uring_lock, which orders it after any registration of
 * restrictions; the release store of disabled publishes them. */
static int enable_locked(struct ua_ctx *ctx)
{
	if (!ctx->disabled)
		return -EBADFD;
	__atomic_store_n(&ctx->restricted, ctx->restrictions.registered,
			 __ATOMIC_RELEASE);
	if (!ctx->has_submitter) {
		ctx->submitter = pthread_self();
		__atomic_store_n(&ctx->has_submitter, true, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&ctx->disabled, false, __ATOMIC_RELEASE);
	return 0;
}

static int enable_rings(struct ua_ctx *ctx)
{
	int ret;

	pthread_mutex_lock(&ctx->uring_lock);
	ret = enable_locked(ctx);
	pthread_mutex_unlock(&ctx->uring_lock);
	/* The submission thread skipped the ring until now. */
	if (!ret && ctx->sqd)
		ua_sqpoll_wake(ctx);
	return ret;
}

int ua_register(struct ua_ctx *ctx, unsigned opcode, const void *arg,
		unsigned nr_args)
{
	int ret;

	switch (opcode) {
	case IORING_REGISTER_BUFFERS:
		if (!arg)	/* not sparse: that is BUFFERS2's */
			return -EFAULT;
		pthread_mutex_lock(&ctx->uring_lock);
		ret = ua_register_buffers(ctx, arg, nr_args);
		pthread_mutex_unlock(&ctx->uring_lock);
		return ret;
	case IORING_UNREGISTER_BUFFERS:
		if (arg || nr_args)
			return -EINVAL;
		pthread_mutex_lock(&ctx->uring_lock);
		ret = ua_unregister_buffers(ctx);
		pthread_mutex_unlock(&ctx->uring_lock);
		return ret;
	case IORING_REGISTER_BUFFERS2:
		return register_buffers2(ctx, arg, nr_args);
	case IORING_REGISTER_BUFFERS_UPDATE:
		return update_buffers(ctx, arg, nr_args);
	case IORING_REGISTER_CLONE_BUFFERS:
		if (!arg || nr_args != 1)
			return -EINVAL;
		return clone_buffers(ctx, arg);
	case IORING_REGISTER_FILES:
		if (!arg)
			return -EFAULT;
		return ua_files_register(ctx, (__u64) (uintptr_t) arg, 0,
					 nr_args);
	case IORING_UNREGISTER_FILES:
		if (arg || nr_args)
			return -EINVAL;
		return ua_files_unregister(ctx);
	case IORING_REGISTER_FILES_UPDATE:
		return update_files(ctx, arg, nr_args);
	case IORING_REGISTER_FILES2:
		return register_files2(ctx, arg, nr_args);
	case IORING_REGISTER_FILES_UPDATE2:
		return update_files2(ctx, arg, nr_args);
	case IORING_REGISTER_FILE_ALLOC_RANGE:
		if (!arg || nr_args)
			return -EINVAL;
		return file_alloc_range(ctx, arg);
	case IORING_REGISTER_EVENTFD:
	case IORING_REGISTER_EVENTFD_ASYNC:
		return ua_eventfd_register(ctx, arg, nr_args,
					   opcode == IORING_REGISTER_EVENTFD_ASYNC);
	case IORING_UNREGISTER_EVENTFD:
		if (arg || nr_args)
			return -EINVAL;
		return ua_eventfd_unregister(ctx);
	case IORING_REGISTER_PBUF_RING:
		return ua_register_pbuf_ring(ctx, arg, nr_args);
	case IORING_UNREGISTER_PBUF_RING:
		return ua_unregister_pbuf_ring(ctx, arg, nr_args);
	case IORING_REGISTER_PBUF_STATUS:
		return ua_register_pbuf_status(ctx, (void *) arg, nr_args);
	case IORING_REGISTER_PROBE:
		if (!arg || nr_args > 256)
			return -EINVAL;
		return register_probe(arg, nr_args);
	case IORING_REGISTER_IOWQ_MAX_WORKERS:
		return register_max_workers(ctx, arg, nr_args);
	case IORING_REGISTER_IOWQ_AFF:
		return register_iowq_aff(ctx, arg, nr_args);
	case IORING_UNREGISTER_IOWQ_AFF:
		if (arg || nr_args)
			return -EINVAL;
		ua_iowq_set_affinity(&ctx->wq, NULL);
		return 0;
	case IORING_REGISTER_SYNC_CANCEL:
		return ua_sync_cancel(ctx, arg, nr_args);
	case IORING_REGISTER_ENABLE_RINGS:
		if (arg || nr_args)
			return -EINVAL;
		return enable_rings(ctx);
	case IORING_REGISTER_CLOCK:
		if (!arg || nr_args)
			return -EINVAL;
		return ua_wait_set_clock(ctx, arg);
	case IORING_REGISTER_NAPI:
		return ua_napi_register(ctx, arg, nr_args);
	case IORING_UNREGISTER_NAPI:
		return ua_napi_unregister(ctx, arg, nr_args);
	case IORING_REGISTER_PERSONALITY:
		if (arg || nr_args)
			return -EINVAL;
		return ua_personality_register(ctx);
	case IORING_UNREGISTER_PERSONALITY:
		if (arg)
			return -EINVAL;
		return ua_personality_unregister(ctx, nr_args);
	case IORING_REGISTER_MEM_REGION:
		return ua_region_register(ctx, arg, nr_args);
	case IORING_REGISTER_RESIZE_RINGS:
		return ua_resize_rings(ctx, arg, nr_args);
	case IORING_REGISTER_RESTRICTIONS:
		pthread_mutex_lock(&ctx->uring_lock);
		ret = register_restrictions(ctx, arg, nr_args);
		pthread_mutex_unlock(&ctx->uring_lock);
		return ret;
	default:
		return -EINVAL;
	}
}
