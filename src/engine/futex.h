/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_FUTEX_H
#define UA_ENGINE_FUTEX_H

#include <stdbool.h>
#include "liburing/io_uring.h"

struct ua_ctx;
struct ua_req;
struct ua_req_list;
struct ua_cancel_data;
struct ua_futex_watcher;

/* The futex2 flags of a ring futex op (linux/futex.h of Linux 6.7 on;
 * older headers lack them). Only 32-bit words exist. */
#define UA_FUTEX2_SIZE_MASK	0x03u
#define UA_FUTEX2_SIZE_U32	0x02u
#define UA_FUTEX2_NUMA		0x04u
#define UA_FUTEX2_MPOL		0x08u
#define UA_FUTEX2_PRIVATE	128u
#define UA_FUTEX2_VALID		(UA_FUTEX2_SIZE_MASK | UA_FUTEX2_NUMA | \
				 UA_FUTEX2_MPOL | UA_FUTEX2_PRIVATE)
#define UA_FUTEX_WAITV_MAX	128u

/* One word a ring futex wait waits on. */
struct ua_futex_word {
	__u64			uaddr;
	__u32			val;
	__u32			flags;		/* UA_FUTEX2_* */
	__u32			mask;
	__u32			index;		/* in its FUTEX_WAITV vector */
	__u64			seq;		/* arming order: who is woken first */
	struct ua_futex_pending	*wait;
	/* Under the watchers' lock: the watcher whose futex_waitv(2) holds
	 * the word, and its slot there; NULL once the wait is over. */
	struct ua_futex_watcher	*watcher;
	unsigned		slot;
	/* Left out of the watcher's futex_waitv while a ring FUTEX_WAKE with
	 * a mask it does not share wakes ordinary waiters of the word. */
	bool			suspended;
};

/* The words a ring FUTEX_WAKE left out, by where they were. */
struct ua_futex_suspended {
	struct ua_futex_watcher	*w[UA_FUTEX_WAITV_MAX];
	unsigned		slot[UA_FUTEX_WAITV_MAX];
	unsigned		seq[UA_FUTEX_WAITV_MAX];
	unsigned		nr;
};

/* A FUTEX_WAIT (one word) or FUTEX_WAITV (its vector) on the watchers. */
struct ua_futex_pending {
	struct ua_req		*req;
	struct ua_futex_word	*words;
	unsigned		nr;
	bool			vector;		/* the result is the index woken */
};

/* futex.c: FUTEX_WAIT, FUTEX_WAKE, FUTEX_WAITV */
int ua_futex_wait_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_futex_wait(struct ua_req *req, unsigned issue_flags);
int ua_futex_wake_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_futex_wake(struct ua_req *req, unsigned issue_flags);
int ua_futex_waitv_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
void ua_futex_cleanup(struct ua_req *req);

/* futex_watch.c: the process's futex watchers */
bool ua_futex_watchers_ready(void);
int ua_futex_watch(struct ua_futex_pending *fw);
int ua_futex_wake_watched(__u64 uaddr, __u32 flags, __u32 mask, int nr,
			  struct ua_futex_suspended *s);
void ua_futex_resume(struct ua_futex_suspended *s);
int ua_futex_cancel(struct ua_ctx *ctx, const struct ua_cancel_data *cd,
		    struct ua_req_list *out);
void ua_futex_stop(struct ua_ctx *ctx);
void ua_futex_atfork_child(void);

#endif
