/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_CTX_H
#define UA_ENGINE_CTX_H

/*
 * The engine's view of one ring, and of one request. Everything the engine
 * files share is declared here; each .c file owns one concern.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include "liburing/io_uring.h"
#include "liburing/barrier.h"
#include "engine/rcu.h"

#define UA_MAX_SQ_ENTRIES	32768u
#define UA_MAX_CQ_ENTRIES	(2 * UA_MAX_SQ_ENTRIES)
#define UA_FAST_IOV		8
#define UA_COMPLETION_BATCH	32
#define UA_AIO_BATCH		32
#define UA_AIO_FD_BITS		4096	/* fds tracked for "went async" */

struct ua_ctx;
struct ua_req;
struct ua_ev_fd;
struct ua_file_node;
struct ua_file_table;
struct ua_buf_node;
struct ua_buf_table;
struct ua_rsrc_node;
struct ua_rsrc_type;

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

/* A deadline in the process's timer (timer.c), under its lock. */
struct ua_timer_node {
	struct ua_timer_node	*prev, *next;	/* the ring's armed list */
	struct ua_ctx		*ctx;
	/* Runs on the timer's thread, the lock held; may drop it. */
	void			(*expire)(struct ua_timer_node *node);
	__u64			deadline;	/* CLOCK_MONOTONIC ns, while armed */
	unsigned		heap_idx;
	bool			armed;
	bool			service;	/* a service's, not a request's */
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

/* A provided buffer taken for one transfer (kbuf.c). */
struct ua_buf_group;
struct ua_kbuf_sel {
	struct ua_buf_group	*group;
	__u64			addr;
	__u32			len;
	__u16			bid;
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

/* A FIFO of requests through ->next. */
struct ua_req_list {
	struct ua_req	*head, **tail;
};

/* A CQE waiting in the overflow list for room in the CQ ring. */
struct ua_overflow_cqe {
	struct ua_overflow_cqe	*next;
	struct io_uring_cqe	cqe;
};

/*
 * Completions collected by one thread, posted under one lock. What follows
 * a completed request (the next link, released drained requests) collects
 * in ready; posting (cq.c) never issues it. The issue layer (submit.c)
 * owns the batch as a thread's run: it issues what collects in ready once
 * the CQEs before it are out, so CQEs keep the kernel's order: a link's
 * head before what it links to, a canceller before what it cancelled.
 */
struct ua_completion_batch {
	unsigned	nr;
	bool		local;		/* the owner holds uring_lock */
	struct ua_ctx	*ctx;
	struct ua_req_list ready;
	struct ua_req	*reqs[UA_COMPLETION_BATCH];
};

/*
 * Positional reads and writes collected during one submission and issued
 * with one io_submit() (aio.c). Submitter-only, under uring_lock.
 */
struct ua_aio_batch {
	bool			high_fds_async;	/* an fd >= UA_AIO_FD_BITS went async */
	unsigned		nr;
	struct ua_req		*reqs[UA_AIO_BATCH];
	/* Descriptors whose batched I/O did not complete in io_submit()
	 * (O_DIRECT): they take the preadv2 path from then on. A stale bit
	 * after the number is reused only costs speed, never correctness. */
	unsigned long		async_fds[UA_AIO_FD_BITS / (8 * sizeof(long))];
};

struct ua_worker;

struct ua_wq_class {
	struct ua_req	*head, *tail;
	unsigned	nr_workers;	/* the process's workers serving it */
	unsigned	max_workers;
};

/* A ring's part of the process's worker pool (iowq.c). */
struct ua_iowq {
	pthread_mutex_t		lock;
	pthread_cond_t		left;		/* a worker left the ring */
	struct ua_wq_class	cls[2];		/* IO_WQ_BOUND, IO_WQ_UNBOUND */
	struct ua_worker	*workers;	/* the workers serving the ring */
	bool			exiting;
	/* Re-sends of the interrupt to cancelled workers, from the timer;
	 * the pauses are under the timer's lock. */
	struct ua_timer_node	resend;
	long			resend_pause, resend_waited;
};

/*
 * A ring's part of the process's timer (timer.c), under the timer's lock.
 * Nothing of it runs, and nothing is checked on the hot path, until the
 * ring arms a deadline.
 */
struct ua_ring_timer {
	struct ua_timer_node	*armed;		/* every armed node, any order */
	unsigned		nr_seq;		/* armed TIMEOUTs with a count */
	unsigned		cq_timeouts;	/* CQEs of expired timeouts */
	bool			attached;	/* counted among the thread's users */
	bool			stopping;	/* teardown: arm nothing more */
};

/* Requests are allocated this many at a time and never freed singly. */
#define UA_SLAB_REQS	64

struct ua_req_slab {
	struct ua_req_slab	*next;
	struct ua_req		reqs[UA_SLAB_REQS];
};

#define UA_POLL_HASH	256
#define UA_BUF_HASH	16

/*
 * The readiness engine of a ring (poll.c): one epoll instance and, per
 * descriptor number, the list of requests waiting on it (epoll takes one
 * registration per descriptor, the kernel any number of poll requests).
 */
struct ua_poller {
	pthread_mutex_t		lock;
	int			epfd;
	int			wake_fd;	/* eventfd: wakes epoll waiters */
	struct ua_pollfd	**by_fd;
	unsigned		nr_by_fd;
	struct ua_req		*hash[UA_POLL_HASH];
	unsigned		nr_parked;	/* atomic */
	unsigned		epoll_waiters;	/* atomic: CQ waiters in epoll */
	unsigned		app_waiting;	/* atomic: app threads waiting */
	unsigned		app_wait_gen;	/* atomic: waits begun */
	/* The process's poller thread (poll.c) serving this ring. */
	__u64			hub_key;	/* its entry in the poller's epoll */
	bool			attached;	/* under lock: served by it */
	unsigned		seen_gen;	/* atomic: app_wait_gen it saw */
	long			standby_nap;	/* atomic */
	struct ua_timer_node	standby;	/* when to look again */
	bool			exiting;	/* atomic */
	bool			ready;		/* ua_poller_init succeeded */
};

/*
 * The nodes of one table of registered resources, and what recycles them
 * (rsrc.c, rsrc.h). Writers hold *lock, the table's own.
 */
struct ua_rsrc_cache {
	const struct ua_rsrc_type *type;
	struct ua_ctx		*ctx;
	pthread_mutex_t		*lock;
	struct ua_rsrc_node	*pool;		/* ready for reuse; under lock */
	unsigned		nr_nodes;	/* ever allocated */
	unsigned		nr_shards;	/* per node's refcount */
	/* Retired nodes, waiting for a grace period, under lock: */
	struct ua_rsrc_node	*retiring;	/* for the next one */
	struct ua_rsrc_node	*waiting;	/* for the pending one */
	bool			gp_pending;
	struct ua_rcu_head	gp;
	/* Written by releases on other threads: a cache line of its own. */
	char			pad[64];
	struct ua_rsrc_node	*released;	/* atomic stack */
	char			pad2[64];
};

/*
 * The fixed-file table (filetable.c). lock serialises writers; lookups
 * read the RCU-published table without it.
 */
struct ua_files {
	struct ua_file_table	*table;		/* NULL: none registered */
	pthread_mutex_t		lock;
	unsigned		alloc_start, alloc_end, alloc_hint;
	int			dup_base;	/* lowest number for our fds */
	struct ua_rsrc_cache	nodes;
};

/* Registered buffers (rsrc.c), published and retired as the files are. */
struct ua_bufs {
	struct ua_buf_table	*table;		/* NULL: none registered */
	pthread_mutex_t		lock;
	struct ua_rsrc_cache	nodes;
};

struct ua_ctx {
	int			fd;
	unsigned		setup_flags;
	unsigned		features;
	unsigned		sq_entries, cq_entries;
	bool			disabled;	/* IORING_SETUP_R_DISABLED */

	/* Shared memory, as the engine maps it. */
	void			*sq_map, *cq_map, *sqe_map;
	size_t			sq_map_sz, cq_map_sz, sqe_map_sz;
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

	/* The registered eventfd, RCU-published (eventfd.c). */
	struct ua_ev_fd		*ev_fd;
	struct ua_ev_fd		*ev_parked;	/* unregistered, reusable */
	pthread_mutex_t		ev_fd_lock;	/* serialises (un)register */

	/* Sleeping waiters: cq_seq is the futex word (see wait.c). */
	unsigned		cq_seq;
	unsigned		cq_waiters;

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

	pthread_t		submitter;	/* SINGLE_ISSUER, once known */
	bool			has_submitter;

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
 * Lock order (a lock is only taken while holding those before it):
 *   uring_lock -> wq.lock
 *   uring_lock -> the timer's lock (timer.c, one per process) -> completion_lock
 * wq.lock and completion_lock are leaves: nothing is issued, completed or
 * enqueued while holding them. Workers, the timer thread and cancellation
 * never take uring_lock, so the submitter may wait for any of them (teardown
 * joins them, or waits until the process's timer is done with the ring,
 * while holding it). Requests that a lock's holder detaches are completed
 * after it is released, through a ua_completion_batch.
 */

/* ring.c: shared memory, and the table from descriptor to ring */
int ua_ring_create(struct ua_ctx *ctx, struct io_uring_params *p);
void ua_ring_destroy(struct ua_ctx *ctx);
off_t ua_ring_pbuf_offset(__u16 bgid);
void *ua_ring_map_pbuf(struct ua_ctx *ctx, __u16 bgid, size_t size);
void ua_ring_unmap_pbuf(struct ua_ctx *ctx, __u16 bgid, void *p, size_t size);
struct ua_ctx *ua_ctx_lookup(int fd);
bool ua_is_ring_fd(int fd);
void ua_ctx_release(struct ua_ctx *ctx, bool owner);
int ua_ctx_install(struct ua_ctx *ctx);
void ua_ctx_uninstall(struct ua_ctx *ctx);
void ua_ctx_free_rcu(struct ua_ctx *ctx);
void ua_ctx_destroy(struct ua_ctx *ctx);	/* entry.c: the last put */
bool ua_ctx_inherited(const struct ua_ctx *ctx);
void ua_ctx_keep_relic(struct ua_ctx *ctx);
void ua_ring_table_atfork_child(void);

/* fork.c: what a fork() child starts afresh */
int ua_fork_watch(void);

/* submit.c: the issue layer */
int ua_submit_sqes(struct ua_ctx *ctx, unsigned to_submit);
void ua_issue_result(struct ua_ctx *ctx, struct ua_req *req, int ret,
		     unsigned issue_flags, struct ua_completion_batch *batch);
void ua_issue_work(struct ua_req *req);
int ua_issue_polled(struct ua_req *req, unsigned issue_flags);
void ua_run_begin(struct ua_ctx *ctx, struct ua_completion_batch *b);
void ua_run_end(struct ua_ctx *ctx, struct ua_completion_batch *b);
void ua_complete_remote(struct ua_req *req);
void ua_complete_list(struct ua_ctx *ctx, struct ua_req_list *l, int res);
void ua_issue_register(void);

/*
 * The issue layer's entries for the services' threads (the workers, the
 * poller), as io-wq is given do_work and io_uring's task_work its
 * callbacks: submit.c registers them (ua_issue_register, at ring setup)
 * and the services call up only through them, so no service depends on
 * the issue layer it serves.
 */
struct ua_issue_ops {
	void	(*issue_work)(struct ua_req *req);
	int	(*issue_polled)(struct ua_req *req, unsigned issue_flags);
	void	(*run_begin)(struct ua_ctx *ctx, struct ua_completion_batch *b);
	void	(*run_end)(struct ua_ctx *ctx, struct ua_completion_batch *b);
	void	(*complete_remote)(struct ua_req *req);
	void	(*complete_list)(struct ua_ctx *ctx, struct ua_req_list *l,
				 int res);
};

/* timer.c, the services' base: where the issue layer's entries are kept. */
extern const struct ua_issue_ops *ua_issue_up;
void ua_services_register(const struct ua_issue_ops *ops);

/* aio.c: batching positional transfers into one io_submit() */
bool ua_aio_add(struct ua_ctx *ctx, struct ua_req *req,
		struct ua_completion_batch *batch);
void ua_aio_flush(struct ua_ctx *ctx, struct ua_completion_batch *batch);
void ua_aio_set_refused(bool refused);
unsigned ua_aio_nr_contexts(void);
void ua_aio_forget_contexts(void);

/* link.c: chains, link timeouts' references, drain */
void ua_list_init(struct ua_req_list *l);
void ua_list_add(struct ua_req_list *l, struct ua_req *req);
struct ua_req *ua_list_pop(struct ua_req_list *l);
void ua_link_done(struct ua_req *req, struct ua_req_list *out);
bool ua_req_put(struct ua_req *req);
int ua_link_prepare(struct ua_req *first);
bool ua_drain_defer(struct ua_ctx *ctx, struct ua_req *head);
void ua_drain_uncount(struct ua_ctx *ctx, struct ua_req *head);
void ua_drain_release_locked(struct ua_ctx *ctx, struct ua_req_list *out);
void ua_drain_cancel(struct ua_ctx *ctx);

/* req.c: the per-ring request cache */
struct ua_req *ua_req_alloc(struct ua_ctx *ctx);
void ua_req_free_local(struct ua_ctx *ctx, struct ua_req *req);
void ua_req_free_remote(struct ua_ctx *ctx, struct ua_req *req);
void ua_req_cache_destroy(struct ua_ctx *ctx);
void ua_req_cleanup(struct ua_req *req);

/* cq.c: posting completions, and the overflow list */
void ua_batch_add(struct ua_ctx *ctx, struct ua_completion_batch *b,
		  struct ua_req *req);
void ua_batch_flush(struct ua_ctx *ctx, struct ua_completion_batch *b);
void ua_post_cqe(struct ua_ctx *ctx, __u64 user_data, __s32 res, __u32 flags);
void ua_post_req_cqe(struct ua_req *req, __s32 res, __u32 flags);
unsigned ua_overflow_reserve(struct ua_ctx *ctx, unsigned nr);
bool ua_post_cqe_more(struct ua_ctx *ctx, __u64 user_data, __s32 res,
		      __u32 flags);
bool ua_cq_room_now(struct ua_ctx *ctx);
void ua_overflow_flush(struct ua_ctx *ctx);
void ua_overflow_free(struct ua_ctx *ctx);
bool ua_overflow_pending(struct ua_ctx *ctx);

/* wait.c */
struct ua_wait_args {
	unsigned		min_complete;
	const struct timespec	*deadline;	/* CLOCK_MONOTONIC, or NULL */
	const sigset_t		*sigmask;
};
int ua_cq_wait(struct ua_ctx *ctx, const struct ua_wait_args *args);
void ua_cq_wake(struct ua_ctx *ctx);
int ua_cq_wait_change(struct ua_ctx *ctx, const struct timespec *deadline);

/* iowq.c: the worker pool */
int ua_iowq_init(struct ua_iowq *wq, unsigned sq_entries);
void ua_iowq_enqueue(struct ua_ctx *ctx, struct ua_req *req);
void ua_iowq_shutdown(struct ua_ctx *ctx);
int ua_iowq_max_workers(struct ua_iowq *wq, unsigned counts[2]);
int ua_iowq_wait_ready(struct ua_ctx *ctx, int fd, short events);
bool ua_iowq_cancelled_in_hand(const struct ua_req *req);

/* cancel.c: what a request names when it cancels others */
struct ua_cancel_data {
	__u64			data;		/* user_data */
	__u32			flags;		/* IORING_ASYNC_CANCEL_* */
	int			fd;
	__u8			opcode;
	const struct ua_req	*req;		/* or this very request */
	/* IORING_ASYNC_CANCEL_FD on a fixed file: its node, held. */
	struct ua_file_node	*file_node;
};
bool ua_cancel_match(const struct ua_req *req, const struct ua_cancel_data *cd);
bool ua_cancel_all(const struct ua_cancel_data *cd);
int ua_cancel(struct ua_ctx *ctx, const struct ua_cancel_data *cd);
int ua_sync_cancel(struct ua_ctx *ctx, const void *arg, unsigned nr_args);
int ua_async_cancel_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_async_cancel(struct ua_req *req, unsigned issue_flags);

/*
 * One kind of waiting request. Detaches the requests matching cd onto out
 * (the first only, unless ua_cancel_all(cd)), for the caller to complete
 * with -ECANCELED, and returns how many it cancelled (counting those it
 * interrupted, which complete themselves), or -EALREADY when a match runs
 * where it cannot be stopped. Another kind of parked request (poll) joins
 * cancellation with one such function in cancel.c's table.
 */
typedef int (*ua_cancel_fn)(struct ua_ctx *ctx, const struct ua_cancel_data *cd,
			    struct ua_req_list *out);
int ua_iowq_cancel(struct ua_ctx *ctx, const struct ua_cancel_data *cd,
		   struct ua_req_list *out);
int ua_timeout_cancel(struct ua_ctx *ctx, const struct ua_cancel_data *cd,
		      struct ua_req_list *out);
int ua_poll_cancel(struct ua_ctx *ctx, const struct ua_cancel_data *cd,
		   struct ua_req_list *out);

/* timer.c: the process's timer, one thread for every ring's deadlines */
void ua_timer_lock(void);
void ua_timer_unlock(void);
__u64 ua_clock_ns(clockid_t clock);
int ua_timer_arm_locked(struct ua_ctx *ctx, struct ua_timer_node *node,
			__u64 deadline);
void ua_timer_disarm_locked(struct ua_timer_node *node);
int ua_timer_arm_service_locked(struct ua_ctx *ctx, struct ua_timer_node *node,
				__u64 deadline);
void ua_timer_stop_locked(struct ua_ctx *ctx);
void ua_timer_atfork_child(void);

/* timeout.c: TIMEOUT, TIMEOUT_REMOVE, LINK_TIMEOUT */
void ua_timeout_stop(struct ua_ctx *ctx);
int ua_timeout_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_link_timeout_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_timeout(struct ua_req *req, unsigned issue_flags);
int ua_link_timeout(struct ua_req *req, unsigned issue_flags);
int ua_timeout_remove_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_timeout_remove(struct ua_req *req, unsigned issue_flags);
void ua_link_timeout_arm(struct ua_req *req, struct ua_req *lt);
struct ua_req *ua_link_timeout_disarm(struct ua_req *req);
void ua_timeout_flush_seq(struct ua_ctx *ctx, struct ua_completion_batch *b);

/* poll.c: the readiness engine */
int ua_poller_init(struct ua_ctx *ctx);
void ua_poller_shutdown(struct ua_ctx *ctx);
void ua_poller_free(struct ua_ctx *ctx);
void ua_poller_atfork_child(void);
void ua_iowq_atfork_child(void);
void ua_poller_cancel_all(struct ua_ctx *ctx);
#define UA_POLL_OP	(1u << 0)	/* a POLL_ADD: report, do not issue */
#define UA_POLL_MULTI	(1u << 1)	/* POLL_ADD_MULTI */
#define UA_POLL_READY	(1u << 2)	/* ready now: have epoll report it */
bool ua_poll_arm(struct ua_req *req, __u32 events, unsigned flags);
void ua_poll_unlink(struct ua_req *req);
void ua_poll_wait_begin(struct ua_ctx *ctx);
void ua_poll_wait_end(struct ua_ctx *ctx);
bool ua_poll_dispatch(struct ua_ctx *ctx, const struct epoll_event *ev, int n);
bool ua_poll_waits_here(struct ua_ctx *ctx);
int ua_poll_run_ready(struct ua_ctx *ctx);
void ua_poll_wake_cq_waiters(struct ua_ctx *ctx);
bool ua_ctx_polls_inline(const struct ua_ctx *ctx);
int ua_poll_disarm(struct ua_ctx *ctx, __u64 user_data, struct ua_req **out);
bool ua_poll_cancel_requested(const struct ua_req *req);
void ua_poll_complete_owned(struct ua_req *req, int res);

/* poll_op.c: POLL_ADD, POLL_REMOVE */
int ua_poll_add_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_poll_add(struct ua_req *req, unsigned issue_flags);
int ua_poll_remove_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_poll_remove(struct ua_req *req, unsigned issue_flags);
__u32 ua_poll_events_now(int fd, __u32 events, int *err);

int ua_epoll_ctl_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_epoll_ctl(struct ua_req *req, unsigned issue_flags);

/* net.c: sockets */
int ua_sr_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_sr_prepare_async(struct ua_req *req);
void ua_sr_cleanup(struct ua_req *req);
int ua_send(struct ua_req *req, unsigned issue_flags);
int ua_recv(struct ua_req *req, unsigned issue_flags);
int ua_accept_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_accept(struct ua_req *req, unsigned issue_flags);
int ua_connect_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_connect(struct ua_req *req, unsigned issue_flags);
int ua_shutdown_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_shutdown(struct ua_req *req, unsigned issue_flags);
int ua_socket_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_socket(struct ua_req *req, unsigned issue_flags);
int ua_bind_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_bind(struct ua_req *req, unsigned issue_flags);
int ua_listen_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_listen(struct ua_req *req, unsigned issue_flags);

/* kbuf.c: provided buffers */
struct ua_kbuf;
int ua_provide_buffers_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_remove_buffers_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_provide_buffers(struct ua_req *req, unsigned issue_flags);
int ua_register_pbuf_ring(struct ua_ctx *ctx, const void *arg, unsigned nr);
int ua_unregister_pbuf_ring(struct ua_ctx *ctx, const void *arg, unsigned nr);
int ua_register_pbuf_status(struct ua_ctx *ctx, void *arg, unsigned nr);
void *ua_kbuf_get(struct ua_req *req, size_t *len, struct ua_kbuf_sel *sel);
void ua_kbuf_recycle(struct ua_req *req, struct ua_kbuf_sel *sel);
__u32 ua_kbuf_consume(struct ua_req *req, struct ua_kbuf_sel *sel, size_t len);
void ua_kbuf_destroy(struct ua_ctx *ctx);

/* splice.c: SPLICE, TEE */
int ua_splice_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_splice(struct ua_req *req, unsigned issue_flags);

/* rw.c, sync.c, nop.c: per-opcode prep and issue */
int ua_rw_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_rw_fixed_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_read(struct ua_req *req, unsigned issue_flags);
int ua_write(struct ua_req *req, unsigned issue_flags);
int ua_rw_prepare_async(struct ua_req *req);
void ua_rw_cleanup(struct ua_req *req);
struct iocb;
bool ua_rw_batchable(struct ua_req *req);
void ua_rw_fill_iocb(struct ua_req *req, struct iocb *cb);
int ua_rw_batched_done(struct ua_req *req, long res);
int ua_fsync_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_fsync(struct ua_req *req, unsigned issue_flags);
int ua_sfr_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_sync_file_range(struct ua_req *req, unsigned issue_flags);
int ua_fallocate_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_fallocate(struct ua_req *req, unsigned issue_flags);
int ua_fadvise_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_fadvise(struct ua_req *req, unsigned issue_flags);
int ua_nop_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_nop(struct ua_req *req, unsigned issue_flags);

/* file.c: learning what kind of file a request works on */
int ua_req_classify_file(struct ua_req *req);

/* rsrc.c: registered buffers */
void ua_bufs_init(struct ua_ctx *ctx);
void ua_bufs_destroy(struct ua_ctx *ctx);
int ua_register_buffers(struct ua_ctx *ctx, const struct iovec *iovs,
			unsigned nr);
int ua_unregister_buffers(struct ua_ctx *ctx);
const struct iovec *ua_bufs_get(struct ua_ctx *ctx, unsigned index,
				struct ua_buf_node **node);
const struct iovec *ua_buf_node_iov(const struct ua_buf_node *node);
void ua_buf_node_put(struct ua_buf_node *node);

/* filetable.c: registered files and direct descriptors */
void ua_files_init(struct ua_ctx *ctx);
void ua_files_destroy(struct ua_ctx *ctx);
struct ua_file_node *ua_files_get_node(struct ua_ctx *ctx, unsigned slot);
void ua_file_node_put(struct ua_file_node *node);
int ua_req_assign_fixed_file(struct ua_req *req);
void ua_req_put_fixed_file(struct ua_req *req);
/* fds and tags: arrays in the application's memory, 0 for none. */
int ua_files_register(struct ua_ctx *ctx, __u64 fds, __u64 tags, unsigned nr);
int ua_files_unregister(struct ua_ctx *ctx);
int ua_files_update(struct ua_ctx *ctx, unsigned offset, __u64 fds,
		    __u64 tags, unsigned nr);
int ua_files_set_alloc_range(struct ua_ctx *ctx, unsigned off, unsigned len);
int ua_files_install(struct ua_ctx *ctx, int fd, __u32 file_slot);
int ua_files_remove(struct ua_ctx *ctx, unsigned slot);
int ua_files_update_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_files_update_op(struct ua_req *req, unsigned issue_flags);

/* openclose.c: OPENAT, OPENAT2, CLOSE, FIXED_FD_INSTALL */
int ua_openat_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_openat2_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_openat(struct ua_req *req, unsigned issue_flags);
int ua_open_prepare_async(struct ua_req *req);
void ua_open_cleanup(struct ua_req *req);
int ua_close_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_close(struct ua_req *req, unsigned issue_flags);
int ua_fixed_fd_install_prep(struct ua_req *req, const struct io_uring_sqe *sqe);
int ua_fixed_fd_install(struct ua_req *req, unsigned issue_flags);

/* eventfd.c */
int ua_eventfd_register(struct ua_ctx *ctx, const void *arg, unsigned nr,
			bool async);
int ua_eventfd_unregister(struct ua_ctx *ctx);
struct ua_ev_fd *ua_eventfd_begin(struct ua_ctx *ctx);
void ua_eventfd_end(struct ua_ctx *ctx, struct ua_ev_fd *ev, bool posted,
		    bool inline_post);
void ua_eventfd_free(struct ua_ctx *ctx);

/* register.c */
int ua_register(struct ua_ctx *ctx, unsigned opcode, const void *arg,
		unsigned nr_args);

#endif
