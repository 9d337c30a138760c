/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_RING_H
#define UA_ENGINE_RING_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "liburing/io_uring.h"
#include "engine/rcu.h"
#include "engine/list.h"
#include "engine/aio.h"
#include "engine/filetable.h"
#include "engine/rsrc.h"
#include "engine/restrict.h"
#include "engine/iowq.h"
#include "engine/timer.h"
#include "engine/poll.h"
#include "engine/kbuf.h"

struct ua_req;
struct ua_req_slab;
struct ua_overflow_cqe;
struct ua_ev_fd;
struct ua_buf_group;
struct ua_kbuf;
struct ua_napi;
struct ua_personalities;
struct ua_region;

struct ua_ctx {
	int			fd;
	/* A ring the library set up (io_uring_queue_init): fd is an eventfd
	 * readable while CQEs are ready (ring.c), the rings map from mem_fd,
	 * cq_efd is the engine's own handle on that eventfd. Else both -1:
	 * fd is the memfd itself. */
	int			mem_fd, cq_efd;
	unsigned long		fd_ino;		/* fd's inode, for the mark */
	unsigned		setup_flags;
	unsigned		features;
	unsigned		sq_entries, cq_entries;
	bool			disabled;	/* IORING_SETUP_R_DISABLED */
	bool			restricted;	/* restrictions in force */

	/* Shared memory, as the engine maps it. */
	void			*sq_map, *cq_map, *sqe_map;
	size_t			sq_map_sz, cq_map_sz, sqe_map_sz;
	int			spare_fd;	/* the engine's own, or -1 */
	struct ua_ring_maps	*first_maps;	/* left by a resize (ring.c) */
	bool			file_grown;	/* buffer rings were mapped */
	unsigned		*sq_head, *sq_tail, *sq_flags, *sq_dropped;
	unsigned		*sq_array;
	struct io_uring_sqe	*sqes;
	unsigned		*cq_head, *cq_tail, *cq_overflow, *cq_flags;
	struct io_uring_cqe	*cqes;

	/* Submission side, under uring_lock. */
	pthread_mutex_t		uring_lock;
	unsigned		cached_sq_head;
	unsigned		overflow_credit;	/* requests it may accept (cq.c) */
	struct ua_req		*free_reqs;
	struct ua_req_slab	*slabs;
	struct ua_aio_batch	aio;

	/* Links and drain, under uring_lock. */
	struct ua_req		*link_head, *link_last;	/* chain being built */
	unsigned		nr_submitted;
	bool			drain_next;	/* drain the chain after this one */
	bool			drain_active;	/* chains may wait in defer */
	bool			drain_disabled;	/* CQE_SKIP seen: drain refused */

	/* Requests freed by other threads, spliced back by the submitter. */
	struct ua_req		*remote_free;	/* atomic stack */

	/* Completion side, under completion_lock. */
	pthread_mutex_t		completion_lock;
	unsigned		cached_cq_tail;
	struct ua_overflow_cqe	*overflow_head, *overflow_tail;
	struct ua_overflow_cqe	*overflow_spare;	/* reserved entries */
	unsigned		nr_overflow_spare;
	unsigned		nr_done;	/* requests completed for good */
	unsigned		cq_events;	/* CQEs posted, for count timeouts */
	struct ua_req_list	defer;		/* drained chains waiting */
	struct ua_req_list	iopoll_done;	/* IOPOLL: finished, not reaped */

	/* Descriptors whose positional writes refused RWF_NOWAIT (rw.c):
	 * written blocking inline from then on. Atomic bit operations. */
#define UA_RW_LEARN_FDS		4096
	unsigned long		write_blocks_inline[UA_RW_LEARN_FDS /
						    (8 * sizeof(long))];

	/* The registered eventfd, RCU-published (eventfd.c). */
	struct ua_ev_fd		*ev_fd;
	struct ua_ev_fd		*ev_parked;	/* unregistered, reusable */
	pthread_mutex_t		ev_fd_lock;	/* serialises (un)register */
	bool			ev_deferred;	/* queued an ev_fd_free */

	/* Sleeping waiters: cq_seq is the futex word (see wait.c). */
	unsigned		cq_seq;
	unsigned		cq_waiters;
	unsigned		cq_signalled;	/* atomic: cq_efd was written */

	struct ua_files		files;
	struct ua_bufs		bufs;

	struct ua_iowq		wq;
	struct ua_ring_timer	timer;
	bool			exiting;	/* teardown: issue nothing more */
	struct ua_poller	poller;

	/* Provided buffers (kbuf.c), under buf_lock. */
	pthread_mutex_t		buf_lock;
	struct ua_buf_group	*buf_groups[UA_BUF_HASH];
	struct ua_kbuf		*kbuf_cache;

	/* IORING_SETUP_SQPOLL (sqpoll.c): the group whose thread submits,
	 * the next ring in it, under the group's lock. */
	struct ua_sq_data	*sqd;
	struct ua_ctx		*sq_next;
	unsigned		sq_idle_ms;
	/* The CPU that thread runs on, -1 while it sleeps: a waiter there
	 * yields to it (wait.c), counted in sq_beside, and the thread yields
	 * back. Atomics. */
	int			sq_cpu;
	unsigned		sq_beside;

	pthread_t		submitter;	/* SINGLE_ISSUER, once known */
	bool			has_submitter;

	struct ua_restrictions	restrictions;	/* written while disabled */
	/* IORING_REGISTER_CLOCK: absolute wait deadlines are on BOOTTIME
	 * rather than MONOTONIC (wait.c). */
	bool			wait_boottime;
	/* IORING_REGISTER_NAPI (napi.c), under uring_lock; NULL until then. */
	struct ua_napi		*napi;
	/* IORING_REGISTER_PERSONALITY (personality.c); NULL until then. */
	struct ua_personalities	*personalities;
	/* IORING_REGISTER_MEM_REGION (region.c); set once, then read
	 * without a lock. */
	struct ua_region	*region;

	unsigned		fork_gen;	/* ring.c: made before a fork()? */
	struct ua_ctx		*relic_next;	/* inherited, let go of (ring.c) */
	/* Who holds the ring (ring.c). Written by every call, from any
	 * thread: a cache line of their own. */
	char			pad_refs[64];
	unsigned		refs;		/* atomic: table's + counted calls */
	unsigned		owner_in;	/* atomic: the owner's call */
	const char		*owner;		/* the thread that set it up */
	unsigned long		ring_ino;	/* its memfd's, for the mark */
	char			pad_refs2[64];
	struct ua_rcu_head	rcu;		/* frees it (ring.c) */
};

/*
 * Every lock of the engine. A lock is only taken while holding those of
 * the rows above it that list it (transitively); "-" marks a leaf, which
 * takes no other lock of the engine.
 *
 * Per group of SQPOLL rings (sqpoll.c):
 *   sqd.lock         the group's rings and its thread's state; held by the
 *                    thread for its turn over the rings.
 *                    Holding it: uring_lock (submitting for a ring).
 *                    Taken by no holder of a ring's lock: teardown leaves
 *                    the group before it takes uring_lock.
 * Per ring (struct ua_ctx):
 *   uring_lock       the submission side: SQ head, request cache, aio batch,
 *                    the chain being built and drain state; teardown.
 *                    Holding it: every lock below (issuing a request takes
 *                    its op's locks). Teardown also waits, holding it, for
 *                    the process's timer to be done with the ring, for the
 *                    poller thread to stop serving it and for every worker
 *                    to leave it: workers, the timer thread, the poller
 *                    thread, RCU callbacks and cancellation never take
 *                    uring_lock.
 *   files.lock       fixed-file table writers (table, allocation range, the
 *                    node cache: files.nodes.lock points to it).
 *                    Holding it: completion_lock (tags of released nodes),
 *                    pipe_lock (the application's fd and tag arrays), gp_lock
 *                    (ua_rcu_synchronize: readers take no lock), cbs.lock
 *                    (ua_rcu_call). Never ua_rcu_barrier(): an RCU callback
 *                    (rsrc.c: grace_period_done) takes this lock.
 *   bufs.lock        registered-buffer table writers, as files.lock, and
 *                    with the same locks below it.
 *   buf_lock         provided-buffer groups and kbuf_cache. Held from
 *                    ua_kbuf_get() to ua_kbuf_consume()/ua_kbuf_recycle(),
 *                    across one transfer that never blocks.
 *                    Holding it: pipe_lock (copies to the application).
 *   timer lock       (timer.c, one per process) the deadline heap, every
 *                    ring's ua_ring_timer and armed nodes, the timer thread.
 *                    The services' deadlines (wq.resend and its pauses,
 *                    poller.standby) are armed under it too.
 *                    Holding it: completion_lock (a multishot timeout's CQE
 *                    is posted under it), wq.lock (iowq.c:
 *                    resend_interrupts). Expiry drops it to complete a
 *                    request or to fire a link timeout.
 *   wq.lock          io-wq queues, the workers serving the ring and their
 *                    counts, each one's work in hand and cancel marks.
 *                    Holding it: pool.lock (giving the ring an idle
 *                    worker).
 *   poller.lock      parked requests by descriptor and by user_data,
 *                    epoll registrations, attached (the poller thread
 *                    serves the ring).
 *                    Holding it: svc.lock (attaching the ring).
 *   ev_fd_lock       serialises eventfd (un)register; ev_fd is read
 *                    under RCU.                                       -
 *   completion_lock  CQ tail, overflow list and spares, nr_done,
 *                    cq_events, the drained chains (defer), the IOPOLL
 *                    requests waiting to be reaped (iopoll_done).           -
 * Process-wide:
 *   pool.lock        (iowq.c) the idle workers, the count of rings
 *                    set up, the workers' cancel eventfd's creation.  -
 *   svc.lock         (poll.c) the poller thread and its hub: the slots
 *                    naming rings, the rings served, the ring whose
 *                    events run (busy_ctx).                           -
 *   table_lock       (ring.c) creating a chunk of the ring table.     -
 *   pipe_lock        (uaccess.c) the copy helper's pipe; also held
 *                    across fork().                                   -
 *   gp_lock          (rcu.c) one grace period at a time.
 *                    Holding it: registry_lock.
 *   registry_lock    (rcu.c) the list of registered readers.          -
 *   cbs.lock         (rcu.c) the queue of RCU callbacks; dropped around
 *                    the grace period and the callbacks it runs.      -
 *
 * Requests that a lock's holder detaches are completed after it is
 * released, through a ua_completion_batch: nothing is issued, completed or
 * enqueued while holding any lock but uring_lock.
 */

/* IORING_SETUP_SQE128 / CQE32: an entry takes two 64- / 16-byte slots of
 * the SQE / CQE array, so an entry's index is shifted by one. */
static inline unsigned ua_sqe_shift(const struct ua_ctx *ctx)
{
	return !!(ctx->setup_flags & IORING_SETUP_SQE128);
}

static inline unsigned ua_cqe_shift(const struct ua_ctx *ctx)
{
	return !!(ctx->setup_flags & IORING_SETUP_CQE32);
}

/* IORING_SETUP_CQE_MIXED: a CQE flagged IORING_CQE_F_32 takes two 16-byte
 * slots, the others one. */
static inline bool ua_cq_mixed(const struct ua_ctx *ctx)
{
	return ctx->setup_flags & IORING_SETUP_CQE_MIXED;
}

/* Whether a CQE carries the big_cqe words into the ring. */
static inline bool ua_cqe_is_big(const struct ua_ctx *ctx, __u32 cflags)
{
	return ua_cqe_shift(ctx) ||
	       (ua_cq_mixed(ctx) && (cflags & IORING_CQE_F_32));
}

/* A ring's regions at other sizes (IORING_REGISTER_RESIZE_RINGS), with
 * room to stage its entries while they move; then the first maps it left,
 * which hold the header pointers. */
struct ua_ring_maps {
	void			*sq_map, *cq_map, *sqe_map;
	size_t			sq_map_sz, cq_map_sz, sqe_map_sz;
	void			*stage_sqes, *stage_cqes;
};

/* ring.c: shared memory, and the table from descriptor to ring */
struct ua_ring_maps *ua_ring_map_sizes(struct ua_ctx *ctx, unsigned sq,
				       unsigned cq, int *err);
void ua_ring_unmap_sizes(struct ua_ring_maps *m);
int ua_ring_move(struct ua_ctx *ctx, struct ua_ring_maps *m, unsigned sq,
		 unsigned cq);
void ua_ring_fill_offsets(struct io_uring_params *p);
int ua_ring_create(struct ua_ctx *ctx, struct io_uring_params *p);
void ua_ring_destroy(struct ua_ctx *ctx);
off_t ua_ring_pbuf_offset(__u16 bgid);
void *ua_ring_map_pbuf(struct ua_ctx *ctx, __u16 bgid, size_t size);
void ua_ring_unmap_pbuf(struct ua_ctx *ctx, __u16 bgid, void *p, size_t size);
/* The kernel's offset of a region it allocates (IORING_MAP_OFF_PARAM_REGION). */
#define UA_OFF_PARAM_REGION	0x20000000LL
void *ua_ring_map_region(struct ua_ctx *ctx, size_t size);
struct ua_ctx *ua_ctx_lookup(int fd);
bool ua_is_ring_fd(int fd);
int ua_ring_lookup_error(int fd, struct ua_ctx *left);
int ua_ctx_install(struct ua_ctx *ctx);
void ua_ctx_uninstall(struct ua_ctx *ctx);
void ua_ctx_detach_fd(struct ua_ctx *ctx);
void ua_ctx_free_rcu(struct ua_ctx *ctx);
void ua_ctx_destroy(struct ua_ctx *ctx);	/* ringref.c: the last put */
void ua_ctx_shutdown(struct ua_ctx *ctx);	/* ringref.c: no thread runs for it after */
void ua_ctx_free(struct ua_ctx *ctx);		/* ringref.c */
bool ua_ctx_inherited(const struct ua_ctx *ctx);
void ua_ctx_keep_relic(struct ua_ctx *ctx);
void ua_ring_table_atfork_child(void);
/* Set by a thread of the engine's whose waits need no ring descriptor
 * made quiet (ringpoll.c): they do none of that work. */
extern _Thread_local bool ua_ring_fds_left_loud UA_TLS_IE;
int ua_ring_make_pollable(struct ua_ctx *ctx);
bool ua_ring_fds_pollable(void);	/* some ring's descriptor is one */
int ua_ring_map_fd(struct ua_ctx *ctx);
int ua_ring_user_maps(struct ua_ctx *ctx, void *arg);
void ua_ring_fd_signal(struct ua_ctx *ctx);
void ua_ring_fd_quiet(struct ua_ctx *ctx);

#endif
