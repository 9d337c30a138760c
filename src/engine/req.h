/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_REQ_H
#define UA_ENGINE_REQ_H

/* One request: what every operation shares, and the area each one keeps
 * its own state in (ua_cmd()). */

#include <stdbool.h>
#include <stddef.h>
#include "liburing/io_uring.h"

struct ua_ctx;
struct ua_cred;
struct ua_file_node;

/*
 * What an issue function tells its caller. One function of the issue layer
 * acts on it for every caller (submit.c: ua_issue_result).
 */
enum ua_issue_result {
	UA_DONE,	/* req->res holds the result; post it */
	UA_PUNT,	/* would block: hand the request to a worker */
	UA_PARKED,	/* armed elsewhere (the timer, poll): it completes itself */
	UA_AGAIN,	/* not ready: park it on readiness if the file polls */
	UA_REQUEUE,	/* still ready, but others' turn: run it again after them */
};

/* Issue flags. An issue without UA_ISSUE_NONBLOCK may block, and is only
 * ever made on a worker (with UA_ISSUE_WORKER). */
#define UA_ISSUE_NONBLOCK	(1u << 0)	/* never block */
/* Run for a readiness event that showed no hang-up: the peer had not shut
 * down when the event was reported (without it, nothing is known). */
#define UA_ISSUE_PEER_OPEN	(1u << 1)
/* On an io-wq worker: what would block runs here, blocking, and waits
 * for readiness with ua_iowq_wait_ready(). */
#define UA_ISSUE_WORKER		(1u << 2)
/* Run by the owner of a parked request (poll.c): UA_AGAIN and UA_REQUEUE
 * leave it parked. */
#define UA_ISSUE_POLLED		(1u << 3)

/* How a file behaves, learnt only when a request leaves the fast path. */
enum ua_file_kind {
	UA_FILE_UNKNOWN,
	UA_FILE_SEEKABLE,	/* regular file or block device: bounded work */
	UA_FILE_STREAM,		/* pipe, socket, tty...: wait for readiness */
};

/*
 * A request parked on readiness (poll.c). refs is the ownership word of the
 * poll rework: whoever moves its count from 0 owns the request and alone may
 * touch anything else in it; others only bump the count, and the owner loops
 * until it has drained every bump. UA_POLL_CANCEL asks the owner to finish.
 */
struct ua_pollfd;

struct ua_poll {
	unsigned		refs;		/* atomic */
	__u32			events;		/* EPOLL* bits this request waits for */
	__u32			mask;		/* readiness handed to the owner */
	bool			multishot;	/* POLL_ADD_MULTI: stays armed */
	bool			is_poll_op;	/* POLL_ADD, not an armed operation */
	struct ua_pollfd	*pfd;		/* the descriptor's waiter list */
	struct ua_req		*fd_next, **fd_pprev;
	struct ua_req		*hash_next, **hash_pprev;	/* by user_data */
};

/*
 * Each operation's state lives in the request's command area, as the
 * kernel's io_kiocb cmd: the one file that implements the operation
 * defines its type and reaches it with ua_cmd(req, type).
 */
#define UA_CMD_SIZE	216
#define ua_cmd(req, type)						\
	((type *) (void *) ((req)->cmd + 0 * sizeof(struct {		\
		_Static_assert(sizeof(type) <= UA_CMD_SIZE &&		\
			       _Alignof(type) <= _Alignof(__u64),	\
			       "too big for the command area");		\
		int unused;						\
	})))

/* req->state: what only the slow paths look at. */
#define UA_REQ_COMPLETE_NOW	(1u << 0)	/* not issued: complete with res */
#define UA_REQ_REFCOUNTED	(1u << 1)	/* guarded by a LINK_TIMEOUT */
#define UA_REQ_IOPOLL		(1u << 2)	/* held until reaped (iopoll.c) */
/* A zero-copy send's: its CQE carries IORING_CQE_F_MORE and a notification
 * CQE (IORING_CQE_F_NOTIF) follows it, whatever the result. */
#define UA_REQ_NOTIF		(1u << 3)
/* The notification reports IORING_NOTIF_USAGE_ZC_COPIED. */
#define UA_REQ_NOTIF_COPIED	(1u << 4)
/* Runs with the credentials of personality, which its submitter lacks:
 * by a worker that takes them (personality.c). */
#define UA_REQ_CREDS		(1u << 5)
/* Handed to a worker by a thread whose credentials were not the usual
 * ones: it runs with those in punt_cred (personality.c). */
#define UA_REQ_PUNT_CREDS	(1u << 6)

struct ua_req {
	struct ua_req		*next;		/* cache, work queue, lists */
	struct ua_ctx		*ctx;
	__u64			user_data;
	__s32			res;
	__u32			cflags;
	__u8			opcode;
	__u8			sqe_flags;
	__u8			file_kind;	/* enum ua_file_kind */
	bool			failed;		/* error or short: CQE_SKIP ignored */
	__u8			state;		/* UA_REQ_* */
	__u16			personality;	/* with UA_REQ_CREDS only */
	int			fd;
	struct ua_req		*link;		/* next of an IOSQE_IO_LINK chain */
	unsigned		refs;		/* with UA_REQ_REFCOUNTED only */
	unsigned		drain_seq;	/* requests submitted before it */
	__u64			hash_key;	/* nonzero: serialise with equal keys */
	__u16			buf_group;	/* IOSQE_BUFFER_SELECT */
	struct ua_poll		poll;		/* set up only when parked */
	/* IOSQE_FIXED_FILE: the slot's node, held until the request is
	 * freed; fd is then the node's own descriptor (filetable.c). */
	struct ua_file_node	*file_node;
	struct ua_cred		*punt_cred;	/* UA_REQ_PUNT_CREDS only */
	/* The operation's state (ua_cmd()). */
	_Alignas(__u64) unsigned char cmd[UA_CMD_SIZE];
	/* A CQE32 ring's extra CQE words: zeroed at init there, filled by
	 * an op that has them (NOP with IORING_NOP_CQE32). Last: the fields
	 * every request touches keep their cache lines. */
	__u64			big_cqe[2];
};

/* Requests are allocated this many at a time and never freed singly. */
#define UA_SLAB_REQS	64

struct ua_req_slab {
	struct ua_req_slab	*next;
	struct ua_req		reqs[UA_SLAB_REQS];
};

/* req.c: the per-ring request cache */
struct ua_req *ua_req_alloc(struct ua_ctx *ctx);
void ua_req_free_local(struct ua_ctx *ctx, struct ua_req *req);
void ua_req_free_remote(struct ua_ctx *ctx, struct ua_req *req);
void ua_req_cache_destroy(struct ua_ctx *ctx);
void ua_req_cleanup(struct ua_req *req);

#endif
