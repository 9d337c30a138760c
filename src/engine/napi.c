/* SPDX-License-Identifier: MIT */
/*
 * NAPI busy polling (IORING_REGISTER_NAPI): the settings and the static
 * list of NAPI ids, kept and reported with the kernel's rules and errors.
 * The busy polling itself needs the kernel's receive path, which a
 * userspace engine does not run: a ring's waits sleep as without it
 * (uring-alike(7)).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine/lock.h"
#include "engine/napi.h"
#include "engine/ring.h"
#include "engine/uaccess.h"

/* The kernel's struct io_uring_napi (6.18); liburing's header keeps the
 * older layout of the same 16 bytes (pad[0] is the opcode, the low half
 * of resv the parameter). */
struct napi_arg {
	__u32	busy_poll_to;
	__u8	prefer_busy_poll;
	__u8	opcode;
	__u8	pad[2];
	__u32	op_param;
	__u32	resv;
};

enum {
	NAPI_REGISTER_OP,
	NAPI_STATIC_ADD_ID,
	NAPI_STATIC_DEL_ID,
};

enum {
	NAPI_TRACKING_DYNAMIC	= 0,
	NAPI_TRACKING_STATIC	= 1,
	NAPI_TRACKING_INACTIVE	= 255,
};

#define NAPI_MAX_BUSY_POLL_US	10000	/* the kernel caps the spin there */

struct ua_napi {
	unsigned	busy_poll_us;
	bool		prefer_busy_poll;
	unsigned	mode;		/* NAPI_TRACKING_* */
	unsigned	*ids;		/* STATIC: the ids added */
	unsigned	nr_ids, max_ids;
};

/*
 * Ids up to the kernel's NR_CPUS are sender CPUs, not NAPI ids: the
 * kernel refuses them. NR_CPUS is kernel_max + 1.
 */
static unsigned min_napi_id(void)
{
	static unsigned min_id;
	unsigned id = __atomic_load_n(&min_id, __ATOMIC_RELAXED);
	FILE *f;

	if (id)
		return id;
	id = 8192 + 1;		/* distributions' usual NR_CPUS */
	f = fopen("/sys/devices/system/cpu/kernel_max", "re");
	if (f) {
		unsigned max;

		if (fscanf(f, "%u", &max) == 1)
			id = max + 2;
		fclose(f);
	}
	__atomic_store_n(&min_id, id, __ATOMIC_RELAXED);
	return id;
}

static struct napi_arg current_settings(const struct ua_napi *n)
{
	struct napi_arg cur;

	memset(&cur, 0, sizeof(cur));
	if (n) {
		cur.busy_poll_to = n->busy_poll_us;
		cur.prefer_busy_poll = n->prefer_busy_poll;
	}
	cur.op_param = n ? n->mode : NAPI_TRACKING_INACTIVE;
	return cur;
}

static struct ua_napi *napi_state(struct ua_ctx *ctx)
{
	if (!ctx->napi) {
		ctx->napi = calloc(1, sizeof(*ctx->napi));
		if (ctx->napi)
			ctx->napi->mode = NAPI_TRACKING_INACTIVE;
	}
	return ctx->napi;
}

/* New settings start with an empty list. */
static int set_tracking(struct ua_ctx *ctx, const struct napi_arg *arg)
{
	struct ua_napi *n;

	if (arg->op_param != NAPI_TRACKING_DYNAMIC &&
	    arg->op_param != NAPI_TRACKING_STATIC)
		return -EINVAL;
	n = napi_state(ctx);
	if (!n)
		return -ENOMEM;
	n->nr_ids = 0;
	n->busy_poll_us = arg->busy_poll_to < NAPI_MAX_BUSY_POLL_US ?
			  arg->busy_poll_to : NAPI_MAX_BUSY_POLL_US;
	n->prefer_busy_poll = arg->prefer_busy_poll;
	n->mode = arg->op_param;
	return 0;
}

static int find_id(const struct ua_napi *n, unsigned id)
{
	for (unsigned i = 0; i < n->nr_ids; i++)
		if (n->ids[i] == id)
			return (int) i;
	return -1;
}

static int add_id(struct ua_napi *n, unsigned id)
{
	if (id < min_napi_id())
		return -EINVAL;
	if (find_id(n, id) >= 0)
		return -EEXIST;
	if (n->nr_ids == n->max_ids) {
		unsigned max = n->max_ids ? 2 * n->max_ids : 8;
		unsigned *ids = realloc(n->ids, max * sizeof(*ids));

		if (!ids)
			return -ENOMEM;
		n->ids = ids;
		n->max_ids = max;
	}
	n->ids[n->nr_ids++] = id;
	return 0;
}

static int del_id(struct ua_napi *n, unsigned id)
{
	int i;

	if (id < min_napi_id())
		return -EINVAL;
	i = find_id(n, id);
	if (i < 0)
		return -ENOENT;
	n->ids[i] = n->ids[--n->nr_ids];
	return 0;
}

/* The kernel's order: the argument checked, the current settings written
 * back, then the opcode carried out or refused. */
static int napi_register_locked(struct ua_ctx *ctx, const void *uarg)
{
	struct napi_arg arg, cur = current_settings(ctx->napi);

	ua_lock_assert_held(&ctx->uring_lock);
	if (ctx->setup_flags & IORING_SETUP_IOPOLL)
		return -EINVAL;
	if (ua_copy_from_user(&arg, (__u64) (uintptr_t) uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.pad[0] || arg.pad[1] || arg.resv)
		return -EINVAL;
	if (ua_copy_to_user((__u64) (uintptr_t) uarg, &cur, sizeof(cur)))
		return -EFAULT;
	switch (arg.opcode) {
	case NAPI_REGISTER_OP:
		return set_tracking(ctx, &arg);
	case NAPI_STATIC_ADD_ID:
		if (cur.op_param != NAPI_TRACKING_STATIC)
			return -EINVAL;
		return add_id(ctx->napi, arg.op_param);
	case NAPI_STATIC_DEL_ID:
		if (cur.op_param != NAPI_TRACKING_STATIC)
			return -EINVAL;
		return del_id(ctx->napi, arg.op_param);
	default:
		return -EINVAL;
	}
}

int ua_napi_register(struct ua_ctx *ctx, const void *arg, unsigned nr_args)
{
	int ret;

	if (!arg || nr_args != 1)
		return -EINVAL;
	pthread_mutex_lock(&ctx->uring_lock);
	ret = napi_register_locked(ctx, arg);
	pthread_mutex_unlock(&ctx->uring_lock);
	return ret;
}

/* The settings written back are the timeout and preference only, as the
 * kernel's; the argument may be NULL. */
static int napi_unregister_locked(struct ua_ctx *ctx, const void *uarg)
{
	struct napi_arg cur = current_settings(ctx->napi);
	struct ua_napi *n = ctx->napi;

	ua_lock_assert_held(&ctx->uring_lock);
	cur.op_param = 0;
	if (uarg && ua_copy_to_user((__u64) (uintptr_t) uarg, &cur,
				    sizeof(cur)))
		return -EFAULT;
	if (n) {
		n->busy_poll_us = 0;
		n->prefer_busy_poll = false;
		n->mode = NAPI_TRACKING_INACTIVE;
		n->nr_ids = 0;
	}
	return 0;
}

int ua_napi_unregister(struct ua_ctx *ctx, const void *arg, unsigned nr_args)
{
	int ret;

	if (nr_args != 1)
		return -EINVAL;
	pthread_mutex_lock(&ctx->uring_lock);
	ret = napi_unregister_locked(ctx, arg);
	pthread_mutex_unlock(&ctx->uring_lock);
	return ret;
}

void ua_napi_free(struct ua_ctx *ctx)
{
	if (ctx->napi)
		free(ctx->napi->ids);
	free(ctx->napi);
	ctx->napi = NULL;
}
