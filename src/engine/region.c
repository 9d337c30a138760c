/* SPDX-License-Identifier: MIT */
/*
 * IORING_REGISTER_MEM_REGION: one region of memory a ring shares with the
 * application, with the kernel's checks. The one use so far is the wait
 * arguments (IORING_MEM_REGION_REG_WAIT_ARG): an io_uring_enter with
 * IORING_ENTER_EXT_ARG_REG passes the offset of a struct io_uring_reg_wait
 * in the region instead of a pointer to its arguments. The engine reads
 * the region in the application's memory as it reads any argument
 * (uaccess.c): the kernel's pins the pages, so a region the application
 * unmaps later still reads there, and fails with -EFAULT here. A region
 * of the engine's memory is part of the ring's memfd, which the
 * application maps from the ring's descriptor.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "engine/lock.h"
#include "engine/region.h"
#include "engine/ring.h"
#include "engine/uaccess.h"

struct ua_region {
	__u64	addr;		/* in the application's memory, or 0 */
	void	*map;		/* or the engine's, in the ring's memfd */
	__u64	size;
	bool	wait_arg;	/* holds the wait arguments */
};

static bool zeroed(const __u64 *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i])
			return false;
	return true;
}

/* The kernel's io_create_region() checks, in its order. */
static int check_desc(const struct io_uring_region_desc *rd)
{
	long page = sysconf(_SC_PAGESIZE);
	__u64 end;

	if (!zeroed(rd->__resv, sizeof(rd->__resv) / sizeof(rd->__resv[0])))
		return -EINVAL;
	if (rd->flags & ~IORING_MEM_REGION_TYPE_USER)
		return -EINVAL;
	/* An address iff the memory is the application's. */
	if (!(rd->flags & IORING_MEM_REGION_TYPE_USER) != !rd->user_addr)
		return -EFAULT;
	if (!rd->size || rd->mmap_offset || rd->id)
		return -EINVAL;
	if (rd->size / (__u64) page > INT_MAX)
		return -E2BIG;
	if ((rd->user_addr | rd->size) & (__u64) (page - 1))
		return -EINVAL;
	if (__builtin_add_overflow(rd->user_addr, rd->size, &end))
		return -EOVERFLOW;
	return 0;
}

/* Zeroed pages of the ring's memfd, which the application maps from the
 * ring's descriptor at the offset written back. */
static int map_engine_memory(struct ua_ctx *ctx, struct ua_region *r,
			     struct io_uring_region_desc *rd)
{
	r->map = ua_ring_map_region(ctx, rd->size);
	if (!r->map)
		return -ENOMEM;
	rd->mmap_offset = UA_OFF_PARAM_REGION;
	return 0;
}

static struct ua_region *create_region(struct ua_ctx *ctx,
				       struct io_uring_region_desc *rd,
				       bool wait_arg, int *err)
{
	struct ua_region *r;

	*err = check_desc(rd);
	if (*err)
		return NULL;
	if (rd->flags & IORING_MEM_REGION_TYPE_USER) {
		*err = ua_check_writable_user(rd->user_addr, rd->size);
		if (*err)
			return NULL;
	}
	*err = -ENOMEM;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->addr = rd->user_addr;
	r->size = rd->size;
	r->wait_arg = wait_arg;
	if (!r->addr) {
		*err = map_engine_memory(ctx, r, rd);
		if (*err) {
			free(r);
			return NULL;
		}
	}
	return r;
}

static void region_destroy(struct ua_region *r)
{
	if (r && r->map)
		munmap(r->map, r->size);
	free(r);
}

static struct ua_region *region_of(struct ua_ctx *ctx)
{
	return __atomic_load_n(&ctx->region, __ATOMIC_ACQUIRE);
}

/* Under uring_lock: one region per ring, for good. */
static int register_locked(struct ua_ctx *ctx, __u64 uarg)
{
	struct io_uring_mem_region_reg reg;
	struct io_uring_region_desc rd;
	struct ua_region *r;
	int ret;

	ua_lock_assert_held(&ctx->uring_lock);
	if (region_of(ctx))
		return -EBUSY;
	if (ua_copy_from_user(&reg, uarg, sizeof(reg)) ||
	    ua_copy_from_user(&rd, reg.region_uptr, sizeof(rd)))
		return -EFAULT;
	if (!zeroed(reg.__resv, sizeof(reg.__resv) / sizeof(reg.__resv[0])))
		return -EINVAL;
	if (reg.flags & ~(__u64) IORING_MEM_REGION_REG_WAIT_ARG)
		return -EINVAL;
	/* Waiters read the arguments without a lock: none may be there
	 * yet, so the ring must still be disabled. */
	if ((reg.flags & IORING_MEM_REGION_REG_WAIT_ARG) &&
	    !__atomic_load_n(&ctx->disabled, __ATOMIC_ACQUIRE))
		return -EINVAL;
	r = create_region(ctx, &rd,
			  reg.flags & IORING_MEM_REGION_REG_WAIT_ARG, &ret);
	if (!r)
		return ret;
	if (ua_copy_to_user(reg.region_uptr, &rd, sizeof(rd))) {
		region_destroy(r);
		return -EFAULT;
	}
	/* Waiters of an enabled ring may look at it from now on. */
	__atomic_store_n(&ctx->region, r, __ATOMIC_RELEASE);
	return 0;
}

int ua_region_register(struct ua_ctx *ctx, const void *arg, unsigned nr_args)
{
	int ret;

	if (!arg || nr_args != 1)
		return -EINVAL;
	pthread_mutex_lock(&ctx->uring_lock);
	ret = register_locked(ctx, (__u64) (uintptr_t) arg);
	pthread_mutex_unlock(&ctx->uring_lock);
	return ret;
}

/* The kernel's checks: an offset aligned to a long, and the whole struct
 * in the region (no wait region: none fits). */
int ua_region_wait_arg(struct ua_ctx *ctx, __u64 offset, size_t size,
		       struct io_uring_reg_wait *w)
{
	const struct ua_region *r = region_of(ctx);
	__u64 end;

	if (size != sizeof(*w))
		return -EINVAL;
	if (offset % sizeof(long))
		return -EFAULT;
	if (!r || !r->wait_arg ||
	    __builtin_add_overflow(offset, sizeof(*w), &end) || end > r->size)
		return -EFAULT;
	if (r->map)
		memcpy(w, (const char *) r->map + offset, sizeof(*w));
	else if (ua_copy_from_user(w, r->addr + offset, sizeof(*w)))
		return -EFAULT;
	if (w->flags & ~IORING_REG_WAIT_TS)
		return -EINVAL;
	return 0;
}

void ua_region_free(struct ua_ctx *ctx)
{
	region_destroy(ctx->region);
	ctx->region = NULL;
}
