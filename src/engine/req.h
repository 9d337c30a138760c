/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_REQ_H
#define UA_ENGINE_REQ_H

/* One request: its common part, and each operation's state. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include "liburing/io_uring.h"
#include "engine/timer.h"

struct ua_ctx;
struct ua_file_node;
struct ua_buf_node;

#define UA_FAST_IOV		8

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

struct ua_rw {
	__u64		addr;
	__u32		len;		/* bytes, or iovecs for the vectored ops */
	__s64		off;		/* -1: use and advance the file position */
	int		rw_flags;
	__u16		buf_index;
	bool		vectored;
	bool		stream;		/* offset ignored, as the kernel does */
	bool		no_nowait;	/* the file rejects RWF_NOWAIT */
	bool		selected;	/* owns a provided buffer (addr, len) */
	size_t		done;		/* bytes moved by earlier attempts */
	size_t		want;		/* bytes asked for; 0 until known */
	struct ua_buf_node *buf_node;	/* READ/WRITE_FIXED, once imported */
	struct iovec	*iov;		/* private copy, advanced past done */
	struct iovec	*iov_alloc;	/* heap copy to free, if not fast_iov */
	unsigned	nr_iov;
	struct iovec	fast_iov[UA_FAST_IOV];
};

struct ua_sync {
	__u64	off;
	__u64	len;
	__u32	flags;		/* fsync, sync_file_range, fallocate mode, advice */
};

/* OPENAT, OPENAT2: struct open_how's fields, and where the file goes. */
struct ua_open {
	__u64		path;		/* the application's string */
	char		*path_copy;	/* private copy, made before a punt */
	__u64		flags, mode, resolve;
	int		dfd;
	__u32		file_slot;	/* 0: a descriptor, else sqe->file_index */
	bool		openat2;
};

/* CLOSE: a descriptor, or (file_slot != 0) the fixed slot file_slot - 1. */
struct ua_close {
	int		fd;
	__u32		file_slot;
};

/* FILES_UPDATE: nr descriptors at arg go to slots from offset. */
struct ua_files_update {
	__u64		arg;
	__u32		nr;
	__u32		offset;
};

/* TIMEOUT and LINK_TIMEOUT, while armed owned by the timer. */
struct ua_timeout {
	struct ua_timer_node	node;
	struct ua_req		*head;		/* LINK_TIMEOUT: the request it guards */
	struct __kernel_timespec ts;
	__u32			flags;		/* IORING_TIMEOUT_* */
	__u32			off;		/* completions to wait for; 0: none */
	__u32			target_seq;
	__u32			repeats;	/* multishot: expiries left, 0: forever */
};

/* TIMEOUT_REMOVE, and its update forms. */
struct ua_timeout_rem {
	__u64			addr;
	struct __kernel_timespec ts;
	__u32			flags;
};

/* ASYNC_CANCEL. */
struct ua_cancel {
	__u64			addr;
	__u32			flags;
	int			fd;
	__u8			opcode;
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

/* POLL_REMOVE, with or without an update of the poll it finds. */
struct ua_poll_update {
	__u64	old_user_data;
	__u64	new_user_data;
	__u32	events;
	bool	update_events;
	bool	update_user_data;
};

/* SEND (sendto), RECV, SENDMSG, RECVMSG. */
struct ua_msg;
struct ua_sr {
	__u64			addr;		/* buffer, or struct msghdr */
	__u32			len;
	__u32			msg_flags;
	__u16			flags;		/* IORING_RECVSEND_* */
	bool			polled;		/* POLL_FIRST: first look done */
	bool			selected;	/* SEND: owns a provided buffer */
	socklen_t		dest_len;	/* sendto: dest holds the address */
	size_t			done;		/* MSG_WAITALL progress */
	__u8			sock_kind;	/* net.c's, 0 until asked */
	__u8			nr_retries;	/* multishot: see MSHOT_MAX_RETRY */
	__u32			mshot_left;	/* multishot RECV: optlen to go */
	struct ua_msg		*msg;		/* private msghdr once async */
	struct sockaddr_storage	dest;
};

struct ua_accept {
	__u64			addr, addrlen;	/* the application's */
	int			flags;		/* SOCK_CLOEXEC, SOCK_NONBLOCK */
	__u16			iou_flags;	/* IORING_ACCEPT_* */
	__u32			file_slot;
	bool			polled;
	bool			nonblock_known, listen_nonblock;
	bool			tcp_known, listen_tcp;
	bool			in_worker;	/* a blocking listener's: stays */
};

struct ua_connect {
	struct sockaddr_storage	addr;
	socklen_t		addr_len;
	bool			in_progress;
};

/* SOCKET, BIND, LISTEN, SHUTDOWN. */
struct ua_sock {
	int			domain, type;
	int			arg;		/* protocol, backlog or how */
	__u32			file_slot;
	socklen_t		addr_len;
	struct sockaddr_storage	addr;
};

/* SPLICE and TEE. */
struct ua_splice {
	int			fd_in;
	__s64			off_in, off_out;	/* -1: none */
	__u32			len;
	__u32			flags;
};

/* EPOLL_CTL: the event is copied at submission, as the kernel does. */
struct ua_epoll_ctl {
	int			epfd, op, fd;
	struct epoll_event	ev;
};

/* PROVIDE_BUFFERS, REMOVE_BUFFERS. */
struct ua_pbuf {
	__u64			addr;
	__u32			len;
	unsigned		nbufs;
	unsigned		bid;
	__u16			bgid;
};

/* req->state: what only the slow paths look at. */
#define UA_REQ_COMPLETE_NOW	(1u << 0)	/* not issued: complete with res */
#define UA_REQ_REFCOUNTED	(1u << 1)	/* guarded by a LINK_TIMEOUT */

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
	union {
		struct ua_rw		rw;
		struct ua_sync		sync;
		struct ua_open		open;
		struct ua_close		close;
		struct ua_files_update	files_update;
		__u32			install_flags;	/* FIXED_FD_INSTALL */
		struct ua_timeout	timeout;
		struct ua_timeout_rem	timeout_rem;
		struct ua_cancel	cancel;
		struct ua_poll_update	poll_update;
		struct ua_sr		sr;
		struct ua_accept	accept;
		struct ua_connect	connect;
		struct ua_sock		sock;
		struct ua_splice	splice;
		struct ua_epoll_ctl	epoll_ctl;
		struct ua_pbuf		pbuf;
	};
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
