/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_RINGREF_H
#define UA_ENGINE_RINGREF_H

/*
 * Holding a ring for the length of an entry call; entry.c explains
 * the scheme. The ring owner's path is inline: every io_uring_enter takes it,
 * and a NOP round trip is about 60 ns.
 */
#include <errno.h>
#include "engine/ring.h"
#include "engine/rcu.h"

#define UA_RING_CHUNK_SHIFT	10
#define UA_RING_CHUNK_SIZE	(1u << UA_RING_CHUNK_SHIFT)
#define UA_RING_NR_CHUNKS	1024u		/* descriptors up to 2^20 */
#define UA_CTX_DEAD		(1u << 31)	/* in refs: released */
#define UA_OWNER_INSIDE		1u		/* in owner_in */
#define UA_OWNER_COUNTED	2u

/*
 * Descriptor -> ring, in chunks that are never moved or freed. A slot
 * with the low bit set is a mark a torn-down ring left (ring.c).
 */
extern struct ua_ctx **ua_ring_table[UA_RING_NR_CHUNKS];
/* Its address tells threads apart: the owner's is in ctx->owner. */
extern _Thread_local char ua_ring_thread_tag UA_TLS_IE;

bool ua_ctx_owner_leave_dead(struct ua_ctx *ctx);
void ua_ctx_put_ref(struct ua_ctx *ctx);
void ua_ctx_release(struct ua_ctx *ctx, bool owner);
/* ring.c: counted references, which any layer may take. */
struct ua_ctx *ua_ctx_get_counted(int fd, int *err);
/* Counts a reference on a ring not yet released; false if it was. */
bool ua_ctx_tryget(struct ua_ctx *ctx);
void ua_ctx_put_elsewhere(struct ua_ctx *ctx);
void ua_ring_set_teardown(void (*teardown)(struct ua_ctx *ctx));

static inline struct ua_ctx **ua_ring_slot(int fd)
{
	unsigned chunk_nr = (unsigned) fd >> UA_RING_CHUNK_SHIFT;
	struct ua_ctx **chunk;

	if (fd < 0 || chunk_nr >= UA_RING_NR_CHUNKS)
		return NULL;
	chunk = __atomic_load_n(&ua_ring_table[chunk_nr], __ATOMIC_ACQUIRE);
	return chunk ? &chunk[(unsigned) fd & (UA_RING_CHUNK_SIZE - 1)] : NULL;
}

static inline bool ua_ring_slot_holds_ctx(const struct ua_ctx *p)
{
	return p && !((uintptr_t) p & 1);
}

static inline bool ua_ctx_dead(struct ua_ctx *ctx)
{
	return __atomic_load_n(&ctx->refs, __ATOMIC_ACQUIRE) & UA_CTX_DEAD;
}

/* The calling thread owns ctx and holds it in no outer call. */
static inline bool ua_ctx_owned_here(const struct ua_ctx *ctx)
{
	return ctx->owner == &ua_ring_thread_tag &&
	       !__atomic_load_n(&ctx->owner_in, __ATOMIC_RELAXED);
}

/*
 * The ring fd names, held for the caller (*owner says how), or NULL with
 * the kernel's error in *err: -EBADF for a closed descriptor or a
 * released ring, -EOPNOTSUPP for a descriptor that is not a ring.
 */
static inline struct ua_ctx *ua_ctx_get(int fd, int *err, bool *owner)
{
	struct ua_ctx **slot = ua_ring_slot(fd);
	struct ua_ctx *ctx;
	bool put;

	ua_rcu_read_lock();
	ctx = slot ? __atomic_load_n(slot, __ATOMIC_ACQUIRE) : NULL;
	if (!ua_ring_slot_holds_ctx(ctx) || !ua_ctx_owned_here(ctx)) {
		ua_rcu_read_unlock();
		*owner = false;
		return ua_ctx_get_counted(fd, err);
	}
	__atomic_store_n(&ctx->owner_in, UA_OWNER_INSIDE, __ATOMIC_RELAXED);
	if (!ua_ctx_dead(ctx)) {
		ua_rcu_read_unlock();
		*owner = true;
		return ctx;
	}
	put = ua_ctx_owner_leave_dead(ctx);
	ua_rcu_read_unlock();
	if (put)
		ua_ctx_put_ref(ctx);
	*err = -EBADF;
	return NULL;
}

static inline void ua_ctx_put(struct ua_ctx *ctx, bool owner)
{
	bool put = !owner;

	if (owner) {
		ua_rcu_read_lock();
		if (ua_ctx_dead(ctx))
			put = ua_ctx_owner_leave_dead(ctx);
		else
			__atomic_store_n(&ctx->owner_in, 0, __ATOMIC_RELEASE);
		ua_rcu_read_unlock();
	}
	if (put)
		ua_ctx_put_ref(ctx);
}

#endif
