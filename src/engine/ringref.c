/* SPDX-License-Identifier: MIT */
/*
 * A ring's lifetime: the references every entry call holds, the release
 * from io_uring_queue_exit, and the teardown the last holder runs. Below
 * the entry points (entry.c, and the registered ring descriptors of
 * ringfd.c), which take and drop these references.
 */
#include <errno.h>
#include <stdlib.h>
#include "engine/aio.h"
#include "engine/cq.h"
#include "engine/eventfd.h"
#include "engine/filemap.h"
#include "engine/filetable.h"
#include "engine/futex.h"
#include "engine/fork.h"
#include "engine/iowq.h"
#include "engine/kbuf.h"
#include "engine/napi.h"
#include "engine/personality.h"
#include "engine/region.h"
#include "engine/poll.h"
#include "engine/req.h"
#include "engine/ring.h"
#include "engine/ringref.h"
#include "engine/uaccess.h"
#include "engine/rsrc.h"
#include "engine/sqpoll.h"
#include "engine/submit.h"
#include "engine/timeout.h"
#include "engine/wait.h"

/* Frees the engine's state; the descriptor is the application's to close. */
void ua_ctx_free(struct ua_ctx *ctx)
{
	ua_files_destroy(ctx);	/* may post tags: before the ring goes */
	ua_bufs_destroy(ctx);
	ua_poller_free(ctx);	/* tags wake epoll waiters: after them */
	ua_eventfd_free(ctx);
	ua_overflow_free(ctx);
	ua_req_cache_destroy(ctx);
	ua_kbuf_destroy(ctx);
	ua_napi_free(ctx);
	ua_personality_free(ctx);
	ua_region_free(ctx);
	ua_filemaps_release(&ctx->aio.maps);
	ua_ring_destroy(ctx);
	pthread_mutex_destroy(&ctx->uring_lock);
	pthread_mutex_destroy(&ctx->completion_lock);
	pthread_mutex_destroy(&ctx->buf_lock);
	ua_uaccess_put();
	ua_ctx_free_rcu(ctx);
}

/*
 * Teardown: no new submissions; what completes from now on starts nothing
 * new (ua_run_end cancels it). Timeouts are cancelled once the process's
 * timer is done with the ring, the poller thread stopped, worker requests
 * cancelled and the workers joined (a worker may still park a request),
 * then the futex waits (the watchers done with the ring), the parked and
 * the drained requests cancelled: afterwards no thread runs for the ring,
 * and none touches the application's memory.
 */
void ua_ctx_shutdown(struct ua_ctx *ctx)
{
	__atomic_store_n(&ctx->exiting, true, __ATOMIC_RELEASE);
	ua_timeout_stop(ctx);
	ua_poller_shutdown(ctx);
	ua_iowq_shutdown(ctx);
	ua_aio_wait_device(ctx);
	ua_futex_stop(ctx);
	ua_poller_cancel_all(ctx);
	ua_drain_cancel(ctx);
	ua_iopoll_reap(ctx);	/* what finished is posted, as on the kernel */
}

/*
 * A ring made before fork() (fork.c): the parent's. Its threads are the
 * parent's and its memory is shared with it, so nothing is cancelled,
 * posted or joined: the child unmaps its mapping of the ring and writes
 * nothing into it. The child's copies of the engine's descriptors stay
 * open (close-on-exec): a child may well have closed every descriptor
 * after the fork and reused the numbers, so closing them by number could
 * close files of its own, even the new ring's.
 */
static void ctx_forget_inherited(struct ua_ctx *ctx)
{
	ua_ctx_uninstall(ctx);
	ua_filemaps_release(&ctx->aio.maps);
	ua_ring_destroy(ctx);
	ua_ctx_keep_relic(ctx);
}

/* The last reference is gone (below): no call is inside, none can enter. */
void ua_ctx_destroy(struct ua_ctx *ctx)
{
	if (ua_ctx_inherited(ctx)) {
		ctx_forget_inherited(ctx);
		return;
	}
	ua_ctx_uninstall(ctx);
	ua_sqpoll_detach(ctx);	/* takes uring_lock under its own */
	pthread_mutex_lock(&ctx->uring_lock);
	ua_ctx_shutdown(ctx);
	pthread_mutex_unlock(&ctx->uring_lock);
	ua_ctx_free(ctx);
}

/*
 * A ring's lifetime. Every entry call (io_uring_enter, io_uring_register)
 * holds the ring until it returns, as the kernel's holds the ring's file.
 * Releasing the ring (UA_REGISTER_RELEASE_RING, from io_uring_queue_exit)
 * sets UA_CTX_DEAD, after which no call can take it; whoever lets go of it
 * last tears it down (ua_ctx_destroy): the releasing call itself when
 * nothing else is inside, else the last call to return. A released ring
 * stays in the table until then, and leaves a mark there after, so that a
 * call on its number until the application closes the descriptor fails
 * with -EBADF, as it will once the descriptor is closed.
 *
 * Two kinds of hold, so that the common case costs no atomic
 * read-modify-write:
 *  - The thread that set the ring up (its owner) marks itself inside with
 *    a plain store to owner_in, and checks UA_CTX_DEAD, within an RCU
 *    read-side section; leaving, it clears the mark within another.
 *  - Any other thread, or a nested call of the owner, counts itself in
 *    refs, beside the table's reference, which the release drops.
 * A release from another thread than the owner sets UA_CTX_DEAD and waits
 * a grace period: a section that began before it has ended, so its mark
 * is visible; one that began after sees UA_CTX_DEAD and backs off. If the
 * owner is inside, the releaser counts a reference for it and flags the
 * mark UA_OWNER_COUNTED, and the owner drops that reference when it
 * leaves. A release by the owner counts the owner's own hold the same way.
 */
/* Acq_rel: every holder's work happens before the teardown. */
void ua_ctx_put_ref(struct ua_ctx *ctx)
{
	if (__atomic_sub_fetch(&ctx->refs, 1, __ATOMIC_ACQ_REL) == UA_CTX_DEAD)
		ua_ctx_destroy(ctx);
}

/*
 * The owner leaves a dead ring, inside a read-side section: whether a
 * releaser counted a reference for it, which it must then drop (after the
 * section: the drop may tear the ring down).
 */
bool ua_ctx_owner_leave_dead(struct ua_ctx *ctx)
{
	return __atomic_exchange_n(&ctx->owner_in, 0, __ATOMIC_ACQ_REL) &
	       UA_OWNER_COUNTED;
}

/* Sets UA_CTX_DEAD and drops the table's reference, once. */
static bool ctx_kill(struct ua_ctx *ctx)
{
	unsigned refs = __atomic_load_n(&ctx->refs, __ATOMIC_RELAXED);

	do {
		if (refs & UA_CTX_DEAD)
			return false;
	} while (!__atomic_compare_exchange_n(&ctx->refs, &refs,
					      (refs - 1) | UA_CTX_DEAD, true,
					      __ATOMIC_ACQ_REL,
					      __ATOMIC_RELAXED));
	return true;
}

/* Counts a reference for the owner if it is inside. The caller holds its
 * own, so the count cannot reach zero meanwhile. */
static void count_owner(struct ua_ctx *ctx)
{
	unsigned in = UA_OWNER_INSIDE;

	__atomic_add_fetch(&ctx->refs, 1, __ATOMIC_RELAXED);
	if (!__atomic_compare_exchange_n(&ctx->owner_in, &in,
					 UA_OWNER_INSIDE | UA_OWNER_COUNTED, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		ua_ctx_put_ref(ctx);
}

/*
 * UA_REGISTER_RELEASE_RING, by a caller holding the ring as ua_ctx_get()
 * said: from now on no call takes it, and the teardown happens when the
 * last holder lets go (never here: the caller still holds it).
 */
void ua_ctx_release(struct ua_ctx *ctx, bool owner)
{
	if (owner) {
		count_owner(ctx);
		ctx_kill(ctx);
		return;
	}
	if (!ctx_kill(ctx))
		return;
	/* The owner's sections that missed UA_CTX_DEAD are over. */
	ua_rcu_synchronize();
	count_owner(ctx);
}
