/* SPDX-License-Identifier: MIT */
/*
 * The per-ring request cache. In steady state no request is allocated:
 * the submitter takes requests from free_reqs (under uring_lock); requests
 * finished on the submitter's thread go straight back there, and requests
 * finished by other threads are pushed on the lock-free remote_free stack,
 * which the submitter takes whole when its own list runs dry. Taking the
 * whole stack with one exchange means no ABA problem: nobody pops singly.
 */
#include <stdlib.h>
#include "engine/filetable.h"
#include "engine/lock.h"
#include "engine/req.h"
#include "engine/ring.h"
#include "engine/opdef.h"

static bool refill_from_slab(struct ua_ctx *ctx)
{
	struct ua_req_slab *slab = malloc(sizeof(*slab));
	unsigned i;

	if (!slab)
		return false;
	slab->next = ctx->slabs;
	ctx->slabs = slab;
	for (i = 0; i < UA_SLAB_REQS; i++) {
		slab->reqs[i].next = ctx->free_reqs;
		ctx->free_reqs = &slab->reqs[i];
	}
	return true;
}

struct ua_req *ua_req_alloc(struct ua_ctx *ctx)
{
	struct ua_req *req = ctx->free_reqs;

	ua_lock_assert_held(&ctx->uring_lock);
	if (!req) {
		req = __atomic_exchange_n(&ctx->remote_free, NULL,
					  __ATOMIC_ACQUIRE);
		if (!req && !refill_from_slab(ctx))
			return NULL;
		if (!req)
			req = ctx->free_reqs;
	}
	ctx->free_reqs = req->next;
	req->ctx = ctx;
	req->opcode = IORING_OP_NOP;	/* nothing to clean up yet */
	req->cflags = 0;
	req->state = 0;
	req->link = NULL;
	req->hash_key = 0;
	req->file_kind = UA_FILE_UNKNOWN;
	req->file_node = NULL;
	return req;
}

void ua_req_cleanup(struct ua_req *req)
{
	const struct ua_opdef *def = ua_opdef(req->opcode);

	if (def->cleanup)
		def->cleanup(req);
	if (req->file_node)
		ua_req_put_fixed_file(req);
}

void ua_req_free_local(struct ua_ctx *ctx, struct ua_req *req)
{
	ua_lock_assert_held(&ctx->uring_lock);
	ua_req_cleanup(req);
	req->next = ctx->free_reqs;
	ctx->free_reqs = req;
}

void ua_req_free_remote(struct ua_ctx *ctx, struct ua_req *req)
{
	struct ua_req *head = __atomic_load_n(&ctx->remote_free,
					      __ATOMIC_RELAXED);

	ua_req_cleanup(req);
	/* Release: the request's last writes happen before its reuse. */
	do {
		req->next = head;
	} while (!__atomic_compare_exchange_n(&ctx->remote_free, &head, req,
					      true, __ATOMIC_RELEASE,
					      __ATOMIC_RELAXED));
}

void ua_req_cache_destroy(struct ua_ctx *ctx)
{
	struct ua_req_slab *slab, *next;

	for (slab = ctx->slabs; slab; slab = next) {
		next = slab->next;
		free(slab);
	}
	ctx->slabs = NULL;
	ctx->free_reqs = NULL;
	ctx->remote_free = NULL;
}
