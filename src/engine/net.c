/* SPDX-License-Identifier: MIT */
/*
 * Sockets: SEND (and sendto), RECV, SENDMSG, RECVMSG, their zero-copy
 * sends SEND_ZC and SENDMSG_ZC, ACCEPT, CONNECT, SHUTDOWN, SOCKET, BIND,
 * LISTEN.
 *
 * Every transfer is tried inline with MSG_DONTWAIT; one that would block
 * returns UA_AGAIN and is parked on readiness (poll.c), then re-issued the
 * same way. Results are the kernel's: one call's count, unless MSG_WAITALL
 * on a stream socket asks for all of it; sends never raise SIGPIPE
 * (MSG_NOSIGNAL); MSG_DONTWAIT from the application means -EAGAIN is its
 * answer. What the kernel copies at submission (addresses, msghdr and
 * iovecs) is copied before a request leaves the submitter. Receives and
 * accepts say, as the kernel's do, whether the socket has more for the next
 * one (IORING_CQE_F_SOCK_NONEMPTY), where the kernel knows.
 *
 * accept4() and connect() have no per-call non-blocking flag: an accept on a
 * listening socket in blocking mode waits for readiness, then goes to a
 * worker (accept_in_worker()); a blocking socket is switched to
 * non-blocking for the one connect() call that starts the connection
 * (nothing else may use a socket while it connects).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "engine/cq.h"
#include "engine/filetable.h"
#include "engine/iowq.h"
#include "engine/kbuf.h"
#include "engine/net.h"
#include "engine/req.h"
#include "engine/rsrc.h"
#include "engine/uaccess.h"
#include "engine/opdef.h"
#include "engine/sys.h"

/* SEND (sendto), RECV, SENDMSG, RECVMSG. */
/* The iovecs that fit beside a msghdr in the room of an address. */
#define SHORT_VEC_NR	4
struct ua_sr {
	__u64			addr;		/* buffer, or struct msghdr */
	__u32			len;
	__u32			msg_flags;
	__u16			flags;		/* IORING_RECVSEND_* */
	bool			polled;		/* POLL_FIRST: first look done */
	bool			selected;	/* SEND: owns a provided buffer */
	bool			zc_checked;	/* the socket takes zero-copy */
	__u16			buf_index;	/* IORING_RECVSEND_FIXED_BUF */
	struct ua_buf_node	*buf_node;	/* held once imported */
	socklen_t		dest_len;	/* sendto: dest holds the address */
	size_t			done;		/* MSG_WAITALL progress */
	__u8			sock_kind;	/* net.c's, 0 until asked */
	__u8			nr_retries;	/* multishot: see MSHOT_MAX_RETRY */
	__u32			mshot_left;	/* multishot RECV: optlen to go */
	int			inq;		/* bundle RECV: left queued, -1 unknown */
	bool			bundle_sent;	/* bundle SEND from addr: it went */
	bool			pass_empty;	/* bundle SEND: ring emptied */
	__u32			pass_cflags;	/* bundle SEND: buffers of the pass */
	/* Private msghdr: SENDMSG/RECVMSG once async; a vectorized SEND's
	 * iovecs; what a bundle SEND has left to send. The hdr of a struct
	 * ua_msg, or of short_vec. */
	struct msghdr		*msg;
	union {
		struct sockaddr_storage	dest;
		/* A vectorized SEND of a few iovecs and no address keeps
		 * them here: no allocation per request. */
		struct {
			struct msghdr	hdr;
			struct iovec	iov[SHORT_VEC_NR];
		} short_vec;
	};
};
_Static_assert(sizeof(((struct ua_sr *) 0)->short_vec) <=
	       sizeof(struct sockaddr_storage), "short_vec takes more room");
#define sr_of(req)	ua_cmd(req, struct ua_sr)

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
#define accept_of(req)	ua_cmd(req, struct ua_accept)

struct ua_connect {
	struct sockaddr_storage	addr;
	socklen_t		addr_len;
	bool			in_progress;
	bool			seen_econnaborted;
};
#define connect_of(req)	ua_cmd(req, struct ua_connect)

/* SOCKET, BIND, LISTEN, SHUTDOWN. */
struct ua_sock {
	int			domain, type;
	int			arg;		/* protocol, backlog or how */
	__u32			file_slot;
	socklen_t		addr_len;
	struct sockaddr_storage	addr;
};
#define sock_of(req)	ua_cmd(req, struct ua_sock)

#define SEND_FLAGS	(IORING_RECVSEND_POLL_FIRST | IORING_RECVSEND_BUNDLE | \
			 IORING_SEND_VECTORIZED)
#define ZC_FLAGS	(IORING_RECVSEND_POLL_FIRST | IORING_RECVSEND_FIXED_BUF | \
			 IORING_SEND_ZC_REPORT_USAGE | IORING_SEND_VECTORIZED)
#define RECV_FLAGS	(IORING_RECVSEND_POLL_FIRST | IORING_RECV_MULTISHOT | \
			 IORING_RECVSEND_BUNDLE)
#define ACCEPT_FLAGS	(IORING_ACCEPT_MULTISHOT | IORING_ACCEPT_DONTWAIT | \
			 IORING_ACCEPT_POLL_FIRST)
/* The kernel's MULTISHOT_MAX_RETRY: receives in a row that leave data
 * behind before a multishot receive lets other ready work run. */
#define MSHOT_MAX_RETRY	32

static bool is_zc(const struct ua_req *req)
{
	return req->opcode == IORING_OP_SEND_ZC ||
	       req->opcode == IORING_OP_SENDMSG_ZC;
}

static bool is_send(const struct ua_req *req)
{
	return req->opcode == IORING_OP_SEND ||
	       req->opcode == IORING_OP_SENDMSG || is_zc(req);
}

static bool is_sendmsg(const struct ua_req *req)
{
	return req->opcode == IORING_OP_SENDMSG ||
	       req->opcode == IORING_OP_SENDMSG_ZC;
}

static bool is_msg(const struct ua_req *req)
{
	return is_sendmsg(req) || req->opcode == IORING_OP_RECVMSG;
}

/* An operation that would block: park it (the file is a socket), unless the
 * application asked not to wait. */
static int would_block(struct ua_req *req, bool app_nowait)
{
	if (app_nowait) {
		req->res = -EAGAIN;
		req->failed = true;
		return UA_DONE;
	}
	req->file_kind = UA_FILE_STREAM;
	return UA_AGAIN;
}

static int done(struct ua_req *req, int res, bool failed)
{
	req->res = res;
	req->failed = failed || res < 0;
	return UA_DONE;
}

/* Not an issue result (those are >= 0): the socket is to be read again. */
#define RECV_AGAIN	(-1)

/*
 * The socket had nothing. A worker may wait for data (RECV_AGAIN, or the
 * wait's error); otherwise the request parks, or ends with -EAGAIN for
 * the application's MSG_DONTWAIT.
 */
static int nothing_received(struct ua_req *req, bool may_wait, bool app_nowait)
{
	int err;

	if (!may_wait)
		return would_block(req, app_nowait);
	err = ua_iowq_wait_ready(req->ctx, req->fd, POLLIN);
	return err ? done(req, err, true) : RECV_AGAIN;
}

/* ---- what a receive leaves on the socket ---- */

/* What the kernel tells about a socket's receive queue (msg_inq): TCP
 * and AF_UNIX streams say how much is left, other streams and datagram
 * sockets nothing. TCP also counts an end of stream still to be read. */
enum sock_kind {
	SOCK_UNKNOWN,
	SOCK_TCP,
	SOCK_UNIX_STREAM,
	SOCK_OTHER_STREAM,
	SOCK_NOT_STREAM,
};

static int sockopt_int(int fd, int name)
{
	int val;
	socklen_t len = sizeof(val);

	return getsockopt(fd, SOL_SOCKET, name, &val, &len) ? -1 : val;
}

/* Asked once per request, and only when a receive needs to know. */
static enum sock_kind sock_kind(struct ua_req *req)
{
	struct ua_sr *sr = sr_of(req);
	int proto;

	if (sr->sock_kind != SOCK_UNKNOWN)
		return sr->sock_kind;
	if (sockopt_int(req->fd, SO_TYPE) != SOCK_STREAM) {
		sr->sock_kind = SOCK_NOT_STREAM;
		return sr->sock_kind;
	}
	/* IPPROTO_TCP names TCP only in AF_INET and AF_INET6 streams. */
	proto = sockopt_int(req->fd, SO_PROTOCOL);
	if (proto == IPPROTO_TCP)
		sr->sock_kind = SOCK_TCP;
	else if (proto == 0 && sockopt_int(req->fd, SO_DOMAIN) == AF_UNIX)
		sr->sock_kind = SOCK_UNIX_STREAM;
	else
		sr->sock_kind = SOCK_OTHER_STREAM;
	return sr->sock_kind;
}

static bool reports_queue(enum sock_kind kind)
{
	return kind == SOCK_TCP || kind == SOCK_UNIX_STREAM;
}

static bool data_queued(int fd)
{
	int inq;

	return !ioctl(fd, FIONREAD, &inq) && inq > 0;
}

/* A stream whose peer shut down holds its end, to be read: a receive that
 * emptied it is not "drained", and no later wakeup will say so. */
static bool peer_gone(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLRDHUP };

	return ua_sys_poll_now(&pfd, 1) > 0 &&
	       (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/*
 * A one-shot receive's IORING_CQE_F_SOCK_NONEMPTY. A stream receive that
 * came back short emptied the queue (TCP and unix streams stop only there),
 * so only a full one, or a peek, asks. A zero-length TCP receive is
 * flagged, as the kernel's hint counts the end of stream; a short or full
 * one with the end of stream behind it is not (asking would cost every
 * such receive a system call).
 */
static __u32 nonempty_flag(struct ua_req *req, size_t got, size_t room)
{
	bool peek = sr_of(req)->msg_flags & MSG_PEEK;

	if (got < room && !peek)
		return !got && sock_kind(req) == SOCK_TCP ?
		       IORING_CQE_F_SOCK_NONEMPTY : 0;
	/* The queue first: when it is empty (most often), the socket's kind
	 * need not be learnt. */
	if (data_queued(req->fd) && reports_queue(sock_kind(req)))
		return IORING_CQE_F_SOCK_NONEMPTY;
	return 0;
}

/* What a multishot receive does after one receive. */
enum sock_left {
	LEFT_NOTHING,	/* park: the next arrival brings a wakeup */
	LEFT_DATA,	/* read on, and say so (IORING_CQE_F_SOCK_NONEMPTY) */
	LEFT_UNKNOWN,	/* read on until -EAGAIN */
	LEFT_ASK_NEXT,	/* read on; the next receive tells (struct held_cqe) */
};

static enum sock_left sock_left(struct ua_req *req, size_t got, size_t room,
				unsigned issue_flags)
{
	enum sock_kind kind = sock_kind(req);
	bool full = got >= room || (sr_of(req)->msg_flags & MSG_PEEK);

	if (kind == SOCK_NOT_STREAM || (full && kind == SOCK_OTHER_STREAM))
		return LEFT_UNKNOWN;
	if (full)
		return LEFT_ASK_NEXT;
	/* Empty, unless the peer shut down; the event that woke this run
	 * tells, when there was one, and a later hang-up brings another. */
	if ((issue_flags & UA_ISSUE_PEER_OPEN) || !peer_gone(req->fd))
		return LEFT_NOTHING;
	return kind == SOCK_TCP ? LEFT_DATA : LEFT_UNKNOWN;
}

/* ---- SEND, RECV, SENDMSG, RECVMSG ---- */

/*
 * A zero-copy send's own checks, in the kernel's order: CQE_SKIP_SUCCESS is
 * refused before the notification exists, every error after it comes with
 * the notification. The data is always copied here (a plain send), so a
 * REPORT_USAGE notification says so, as the kernel's says for a send whose
 * data it copied; unless the send could not read the data (send_zc_fault()).
 */
static int send_zc_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	struct ua_sr *sr = sr_of(req);

	if (req->sqe_flags & IOSQE_CQE_SKIP_SUCCESS)
		return -EINVAL;
	req->state |= UA_REQ_NOTIF;
	sr->zc_checked = false;
	sr->buf_index = sqe->buf_index;
	if (sr->flags & ~ZC_FLAGS)
		return -EINVAL;
	/* A vectorized send's iovecs are not checked against a registered
	 * buffer by the kernel: it refuses the pair. */
	if ((sr->flags & IORING_SEND_VECTORIZED) &&
	    (sr->flags & IORING_RECVSEND_FIXED_BUF))
		return -EINVAL;
	if (sr->flags & IORING_SEND_ZC_REPORT_USAGE)
		req->state |= UA_REQ_NOTIF_COPIED;
	return 0;
}

/* The data of a zero-copy send could not be read: the kernel's notification
 * then reports no copy. Returns -EFAULT. */
static int send_zc_fault(struct ua_req *req)
{
	req->state &= (__u8) ~UA_REQ_NOTIF_COPIED;
	return -EFAULT;
}

/* A private msghdr, for a SENDMSG/RECVMSG that leaves the submitter: the
 * application may reuse its own once io_uring_enter returns. */
struct ua_msg {
	struct msghdr		hdr;
	struct sockaddr_storage	name;
	struct iovec		iov[];
};

/* A msghdr of nr iovecs, to send to a sendto() address if there is one. */
static struct ua_msg *send_msg_alloc(struct ua_req *req, size_t nr)
{
	struct ua_sr *sr = sr_of(req);
	struct ua_msg *m = malloc(sizeof(*m) + nr * sizeof(struct iovec));

	if (!m)
		return NULL;
	memset(&m->hdr, 0, sizeof(m->hdr));
	m->hdr.msg_iov = m->iov;
	m->hdr.msg_iovlen = nr;
	if (sr->dest_len) {
		memcpy(&m->name, &sr->dest, sr->dest_len);
		m->hdr.msg_name = &m->name;
		m->hdr.msg_namelen = sr->dest_len;
	}
	return m;
}

/* IORING_SEND_VECTORIZED: addr and len are an iovec array and its count,
 * read at submission as the kernel does. */
static int copy_send_iovecs(struct ua_req *req)
{
	struct ua_sr *sr = sr_of(req);
	struct ua_msg *m;

	if (sr->len > UA_UIO_MAXIOV)
		return -EINVAL;
	if (!sr->dest_len && sr->len <= SHORT_VEC_NR) {
		memset(&sr->short_vec.hdr, 0, sizeof(sr->short_vec.hdr));
		sr->short_vec.hdr.msg_iov = sr->short_vec.iov;
		sr->short_vec.hdr.msg_iovlen = sr->len;
		if (ua_copy_from_user(sr->short_vec.iov, sr->addr,
				      sr->len * sizeof(struct iovec)))
			return -EFAULT;
		sr->msg = &sr->short_vec.hdr;
		return 0;
	}
	m = send_msg_alloc(req, sr->len);
	if (!m)
		return -ENOMEM;
	if (ua_copy_from_user(m->iov, sr->addr,
			      sr->len * sizeof(struct iovec))) {
		free(m);
		return -EFAULT;
	}
	sr->msg = &m->hdr;
	return 0;
}

/* The private msghdr goes: freed unless it is the command area's. */
static void drop_msg(struct ua_sr *sr)
{
	if (sr->msg && sr->msg != &sr->short_vec.hdr)
		free(sr->msg);
	sr->msg = NULL;
}

int ua_sr_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	struct ua_sr *sr = sr_of(req);
	bool send = is_send(req);
	int ret;

	sr->addr = sqe->addr;
	sr->len = sqe->len;
	sr->flags = sqe->ioprio;
	sr->msg_flags = sqe->msg_flags;
	sr->done = 0;
	sr->polled = false;
	sr->selected = false;
	sr->msg = NULL;
	sr->buf_node = NULL;
	sr->dest_len = 0;
	sr->bundle_sent = false;
	sr->inq = -1;
	if (is_zc(req)) {
		ret = send_zc_prep(req, sqe);
		if (ret)
			return ret;
	} else if (sr->flags & ~(send ? SEND_FLAGS : RECV_FLAGS)) {
		return -EINVAL;
	}
	/* Bundles: SEND and RECV only. */
	if ((sr->flags & IORING_RECVSEND_BUNDLE) && is_msg(req))
		return -EINVAL;
	if (send) {
		sr->msg_flags |= MSG_NOSIGNAL;
		/* IORING_SEND_VECTORIZED means nothing to a msghdr. */
		if (is_sendmsg(req)) {
			if (sqe->addr2 || sqe->file_index)
				return -EINVAL;
			/* The kernel reads a zero-copy msghdr at submission. */
			if (is_zc(req))
				return ua_sr_prepare_async(req);
		} else if (sqe->addr2) {
			/* sendto: the kernel copies the address now. */
			if (sqe->addr_len > sizeof(sr->dest))
				return -EINVAL;
			sr->dest_len = sqe->addr_len;
			if (ua_copy_from_user(&sr->dest, sqe->addr2,
					      sr->dest_len))
				return -EFAULT;
		}
		/* A provided buffer replaces the iovecs. */
		if ((sr->flags & IORING_SEND_VECTORIZED) && !is_sendmsg(req) &&
		    !(req->sqe_flags & IOSQE_BUFFER_SELECT))
			return copy_send_iovecs(req);
		return 0;
	}
	if (sqe->addr2)
		return -EINVAL;
	/* Multishot receives take provided buffers, as the kernel's. */
	if ((sr->flags & IORING_RECV_MULTISHOT) &&
	    (!(req->sqe_flags & IOSQE_BUFFER_SELECT) ||
	     (sr->msg_flags & MSG_WAITALL)))
		return -EINVAL;
	/* optlen: the total after which a multishot RECV ends. */
	sr->mshot_left = sqe->optlen;
	if (sr->mshot_left && (req->opcode != IORING_OP_RECV ||
			       !(sr->flags & IORING_RECV_MULTISHOT)))
		return -EINVAL;
	sr->sock_kind = SOCK_UNKNOWN;
	sr->nr_retries = 0;
	/* Its msghdr is read by the engine, not by recvmsg(): copy it now,
	 * as the kernel does at submission. */
	if (req->opcode == IORING_OP_RECVMSG &&
	    (req->sqe_flags & IOSQE_BUFFER_SELECT))
		return ua_sr_prepare_async(req);
	return 0;
}

/* The kernel's checks and errors, in its order: the msghdr, the
 * destination address, the iovec count, the iovecs. */
static int copy_msg(struct ua_req *req, struct msghdr **out)
{
	struct msghdr umsg;
	struct ua_msg *m;
	size_t iov_size;

	if (ua_copy_from_user(&umsg, sr_of(req)->addr, sizeof(umsg)))
		return -EFAULT;
	if (is_sendmsg(req) && umsg.msg_name &&
	    umsg.msg_namelen > sizeof(m->name))
		return -EINVAL;
	if (umsg.msg_iovlen > UA_UIO_MAXIOV)
		return -EMSGSIZE;
	iov_size = umsg.msg_iovlen * sizeof(struct iovec);
	m = malloc(sizeof(*m) + iov_size);
	if (!m)
		return -ENOMEM;
	m->hdr = umsg;
	m->hdr.msg_iov = m->iov;
	/* A destination address is read now, as the kernel does; a source
	 * address buffer is written on completion, so it stays the app's. */
	if (is_sendmsg(req) && umsg.msg_name) {
		m->hdr.msg_name = &m->name;
		if (ua_copy_from_user(&m->name, (__u64) (uintptr_t) umsg.msg_name,
				      umsg.msg_namelen))
			goto fault;
	}
	if (ua_copy_from_user(m->iov, (__u64) (uintptr_t) umsg.msg_iov,
			      iov_size))
		goto fault;
	*out = &m->hdr;
	return 0;
fault:
	free(m);
	return -EFAULT;
}

int ua_sr_prepare_async(struct ua_req *req)
{
	struct ua_sr *sr = sr_of(req);

	if (!is_msg(req) || sr->msg)
		return 0;
	return copy_msg(req, &sr->msg);
}

/* What recvmsg() reports in a msghdr, into the application's. A
 * continued MSG_WAITALL receive, which has no control area left, keeps the
 * control length its first call reported. */
static int report_msg(const struct ua_req *req, const struct msghdr *m)
{
	__u64 umsg = sr_of(req)->addr;

	if (ua_copy_to_user(umsg + offsetof(struct msghdr, msg_namelen),
			    &m->msg_namelen, sizeof(m->msg_namelen)) ||
	    (!sr_of(req)->done &&
	     ua_copy_to_user(umsg + offsetof(struct msghdr, msg_controllen),
			     &m->msg_controllen, sizeof(m->msg_controllen))) ||
	    ua_copy_to_user(umsg + offsetof(struct msghdr, msg_flags),
			    &m->msg_flags, sizeof(m->msg_flags)))
		return -EFAULT;
	return 0;
}

void ua_sr_cleanup(struct ua_req *req)
{
	drop_msg(sr_of(req));
	if (is_zc(req) && sr_of(req)->buf_node) {
		ua_buf_node_put(sr_of(req)->buf_node);
		sr_of(req)->buf_node = NULL;
	}
}

/*
 * The sockets' system calls, made directly: io_uring_enter() is no
 * cancellation point, and neither is a transfer, an accept or a connect
 * it makes. The C library's recv() and the like are: a thread with a
 * cancellation pending would be ended inside the engine, its locks held;
 * and once the process has threads, each call pays for switching
 * cancellation on and off.
 */
static ssize_t sys_recv(int fd, void *buf, size_t len, int flags)
{
	return syscall(SYS_recvfrom, fd, buf, len, flags, NULL, NULL);
}

static ssize_t sys_sendto(int fd, const void *buf, size_t len, int flags,
			  const struct sockaddr *addr, socklen_t addr_len)
{
	return syscall(SYS_sendto, fd, buf, len, flags, addr, addr_len);
}

static ssize_t sys_recvmsg(int fd, struct msghdr *m, int flags)
{
	return syscall(SYS_recvmsg, fd, m, flags);
}

static ssize_t sys_sendmsg(int fd, const struct msghdr *m, int flags)
{
	return syscall(SYS_sendmsg, fd, m, flags);
}

static int sys_accept4(int fd, struct sockaddr *addr, socklen_t *addr_len,
		       int flags)
{
	return (int) syscall(SYS_accept4, fd, addr, addr_len, flags);
}

static int sys_connect(int fd, const struct sockaddr *addr,
		       socklen_t addr_len)
{
	return (int) syscall(SYS_connect, fd, addr, addr_len);
}

/* The kernel goes on after a short transfer only on stream-like sockets. */
static bool socket_retries(int fd)
{
	int type;
	socklen_t len = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len))
		return false;
	return type == SOCK_STREAM || type == SOCK_SEQPACKET;
}

static ssize_t sys_sr(struct ua_req *req, int flags)
{
	struct ua_sr *sr = sr_of(req);
	ssize_t n;

	if (is_msg(req) || sr->msg) {
		struct msghdr *msg = sr->msg ? sr->msg
					     : (struct msghdr *) (uintptr_t) sr->addr;

		n = is_send(req) ? sys_sendmsg(req->fd, msg, flags)
				 : sys_recvmsg(req->fd, msg, flags);
		/* RECVMSG reports into the application's msghdr. */
		if (n >= 0 && sr->msg && !is_send(req) && report_msg(req, msg))
			return -EFAULT;
	} else if (is_send(req)) {
		n = sys_sendto(req->fd,
			       (const char *) (uintptr_t) sr->addr + sr->done,
			       sr->len - sr->done, flags,
			       sr->dest_len ? (const struct sockaddr *) &sr->dest
					    : NULL,
			       sr->dest_len);
	} else {
		n = sys_recv(req->fd, (char *) (uintptr_t) sr->addr + sr->done,
			     sr->len - sr->done, flags);
	}
	return n < 0 ? -errno : n;
}

/* The bytes a transfer from or into the application's memory asks for (a
 * msghdr's: what its iovecs still cover). */
static size_t recv_room(const struct ua_req *req)
{
	const struct msghdr *m;
	size_t room = 0, i;

	if (!is_msg(req) && !sr_of(req)->msg)
		return sr_of(req)->len;
	m = sr_of(req)->msg ? sr_of(req)->msg
			: (const struct msghdr *) (uintptr_t) sr_of(req)->addr;
	for (i = 0; i < m->msg_iovlen; i++)
		room += m->msg_iov[i].iov_len;
	return room;
}

/*
 * After a partial SENDMSG or RECVMSG with MSG_WAITALL, the private msghdr
 * (copied now if the first call used the application's) goes on past the n
 * bytes moved, with no control data: it went with the first call, as the
 * kernel's. False when nothing is left to move.
 */
static bool msg_advance(struct ua_req *req, size_t n)
{
	struct msghdr *m;
	size_t left = 0, i;

	if (ua_sr_prepare_async(req))
		return false;
	m = sr_of(req)->msg;
	m->msg_control = NULL;
	m->msg_controllen = 0;
	while (m->msg_iovlen && n >= m->msg_iov->iov_len) {
		n -= m->msg_iov->iov_len;
		m->msg_iov++;
		m->msg_iovlen--;
	}
	if (m->msg_iovlen) {
		m->msg_iov->iov_base = (char *) m->msg_iov->iov_base + n;
		m->msg_iov->iov_len -= n;
	}
	for (i = 0; i < m->msg_iovlen; i++)
		left += m->msg_iov[i].iov_len;
	return left > 0;
}

/* MSG_WAITALL on a stream (or seqpacket) socket: whether a transfer that
 * moved n more bytes goes on for the rest, as the kernel's retries. */
static bool waitall_continues(struct ua_req *req, size_t n)
{
	struct ua_sr *sr = sr_of(req);

	if (!(sr->msg_flags & MSG_WAITALL) || !n || !socket_retries(req->fd))
		return false;
	if (is_msg(req) || sr->msg)
		return msg_advance(req, n);
	return sr->done < sr->len;
}

static int sr_issue(struct ua_req *req, unsigned issue_flags)
{
	struct ua_sr *sr = sr_of(req);
	bool app_nowait = sr->msg_flags & MSG_DONTWAIT;
	int flags = (int) sr->msg_flags;
	/* All the request moves: what it moved before this issue and what
	 * was left then (a msghdr is read only once the call accepted it). */
	size_t done_before = sr->done, want = 0;
	ssize_t n;

	if (issue_flags & UA_ISSUE_NONBLOCK)
		flags |= MSG_DONTWAIT;
	for (;;) {
		n = sys_sr(req, flags);
		if (n == -EAGAIN && (issue_flags & UA_ISSUE_NONBLOCK))
			return would_block(req, app_nowait);
		if (n == -EFAULT && !sr->done && is_zc(req))
			return done(req, send_zc_fault(req), true);
		if (n < 0)
			return done(req, sr->done ? (int) sr->done : (int) n,
				    true);
		if (!want)
			want = is_msg(req) || sr->msg ?
			       done_before + recv_room(req) : sr->len;
		sr->done += (size_t) n;
		if (!waitall_continues(req, (size_t) n))
			break;
	}
	if (!is_send(req))
		req->cflags = nonempty_flag(req, sr->done, want);
	return done(req, (int) sr->done,
		    (sr->msg_flags & MSG_WAITALL) && sr->done < want);
}

/* ---- receives into provided buffers ---- */

/* A RECVMSG that selects its buffer copied the application's msghdr when
 * it was submitted (ua_sr_prep). */
static const struct msghdr *app_msg(const struct ua_req *req)
{
	return sr_of(req)->msg;
}

/*
 * A multishot RECVMSG fills the buffer as the kernel does: a struct
 * io_uring_recvmsg_out, room for the name and the control data the
 * application's msghdr asks for, then the payload. Returns the bytes used
 * of the buffer, or -errno; *payload gets the payload's length.
 */
static ssize_t recvmsg_out(struct ua_req *req, char *buf, size_t len,
			   int flags, ssize_t *payload)
{
	const struct msghdr *umsg = app_msg(req);
	size_t head = sizeof(struct io_uring_recvmsg_out) + umsg->msg_namelen +
		      umsg->msg_controllen;
	struct io_uring_recvmsg_out out;
	struct iovec iov;
	struct msghdr m;
	ssize_t n;

	if (len < head)
		return -EFAULT;
	memset(&m, 0, sizeof(m));
	m.msg_name = umsg->msg_namelen ? buf + sizeof(out) : NULL;
	m.msg_namelen = umsg->msg_namelen;
	m.msg_control = umsg->msg_controllen ? buf + sizeof(out) +
					       umsg->msg_namelen : NULL;
	m.msg_controllen = umsg->msg_controllen;
	iov.iov_base = buf + head;
	iov.iov_len = len - head;
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	n = sys_recvmsg(req->fd, &m, flags);
	if (n < 0)
		return -errno;
	*payload = n;
	out.namelen = m.msg_namelen;
	out.controllen = (__u32) m.msg_controllen;
	out.payloadlen = (__u32) n;
	out.flags = (__u32) m.msg_flags;
	if (ua_copy_to_user((__u64) (uintptr_t) buf, &out, sizeof(out)))
		return -EFAULT;
	if ((size_t) n > iov.iov_len)
		n = (ssize_t) iov.iov_len;
	return (ssize_t) head + n;
}

/* One receive into buf; *payload gets the bytes of data received. */
static ssize_t recv_into(struct ua_req *req, char *buf, size_t len, int flags,
			 ssize_t *payload)
{
	ssize_t n;

	if (req->opcode == IORING_OP_RECVMSG) {
		struct msghdr m = *app_msg(req);
		struct iovec iov = { buf, len };

		if (sr_of(req)->flags & IORING_RECV_MULTISHOT)
			return recvmsg_out(req, buf, len, flags, payload);
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		n = sys_recvmsg(req->fd, &m, flags);
		if (n >= 0 && report_msg(req, &m))
			return -EFAULT;
	} else {
		n = sys_recv(req->fd, buf, len, flags);
	}
	if (n < 0)
		return -errno;
	*payload = n;
	return n;
}

/* The size asked of a provided buffer (0: all of it): a RECV's length; a
 * RECVMSG's one iovec, or all of it for a multishot one. */
static size_t select_len(const struct ua_req *req)
{
	const struct msghdr *m;

	if (req->opcode != IORING_OP_RECVMSG)
		return sr_of(req)->len;
	if (sr_of(req)->flags & IORING_RECV_MULTISHOT)
		return 0;
	m = app_msg(req);
	return m->msg_iovlen ? m->msg_iov[0].iov_len : 0;
}

/* Whether a multishot RECV given a total (optlen) has now received it:
 * the CQE of the receive that reaches it is the last, as the kernel's. */
static bool total_reached(struct ua_sr *sr, size_t n)
{
	if (!sr->mshot_left)
		return false;
	sr->mshot_left -= n < sr->mshot_left ? (__u32) n : sr->mshot_left;
	return !sr->mshot_left;
}

/*
 * A multishot CQE held back until the next receive, which is made anyway,
 * says whether data was left behind it (IORING_CQE_F_SOCK_NONEMPTY): a
 * flood of full buffers then costs no FIONREAD per receive.
 */
struct held_cqe {
	bool	on;
	__s32	res;
	__u32	cflags;
};

/* Posts the held CQE, if any; false when the CQ had no room for it. */
static bool post_held(struct ua_req *req, struct held_cqe *h, bool nonempty)
{
	if (!h->on)
		return true;
	h->on = false;
	if (nonempty)
		h->cflags |= IORING_CQE_F_SOCK_NONEMPTY;
	return ua_post_cqe_more(req->ctx, req->user_data, h->res, h->cflags);
}

/* Something came after the held CQE (data, the end of the stream, an
 * error), so it goes first, into overflow if the CQ is full: what came is
 * then the request's last CQE. Returns false in that case. */
static bool flush_held(struct ua_req *req, struct held_cqe *h, bool nonempty)
{
	if (post_held(req, h, nonempty))
		return true;
	ua_post_req_cqe(req, h->res, h->cflags | IORING_CQE_F_MORE);
	return false;
}

/* The held CQE is the request's last: the CQ is full (it would be, as on
 * the kernel, before another receive), or nothing came after it. */
static int done_held(struct ua_req *req, const struct held_cqe *h)
{
	req->cflags = h->cflags;
	return done(req, h->res, false);
}

/*
 * RECV and RECVMSG with IOSQE_BUFFER_SELECT. A buffer is taken for each
 * receive and given back if nothing came. Multishot posts one CQE with
 * IORING_CQE_F_MORE per receive and stays armed; it ends, with a CQE
 * without F_MORE, at the end of the stream, on an error, when the
 * group has no buffer left (-ENOBUFS), or once a RECV has received the
 * total it was given in optlen. It receives until the socket is
 * empty, but, as the kernel, after MSHOT_MAX_RETRY + 1 receives that left
 * data behind it lets the others ready run first (UA_REQUEUE).
 */
static int recv_selected(struct ua_req *req, unsigned issue_flags)
{
	struct ua_sr *sr = sr_of(req);
	bool multishot = sr->flags & IORING_RECV_MULTISHOT;
	bool blocking = !(issue_flags & UA_ISSUE_NONBLOCK);
	bool app_nowait = sr->msg_flags & MSG_DONTWAIT;
	/* Never blocked in recv with buf_lock held: a worker waits for
	 * readiness first, then receives without blocking. */
	int flags = (int) sr->msg_flags | MSG_DONTWAIT;
	struct held_cqe held = { .on = false };
	struct ua_kbuf_sel sel;
	enum sock_left left;
	ssize_t n, payload = 0;
	int ret;
	size_t len, room;
	char *buf;
	__u32 cflags;

	if (req->opcode == IORING_OP_RECVMSG && !multishot &&
	    app_msg(req)->msg_iovlen > 1)
		return done(req, -EINVAL, true);
	for (;;) {
		if (held.on && !ua_cq_room_now(req->ctx)) {
			if (data_queued(req->fd))
				held.cflags |= IORING_CQE_F_SOCK_NONEMPTY;
			return done_held(req, &held);
		}
		len = select_len(req);
		buf = ua_kbuf_get(req, &len, &sel);
		if (!buf) {
			/* The held CQE goes first, into overflow if need be:
			 * the last is the -ENOBUFS, which names the buffer a
			 * RECVMSG took at address 0 (req->cflags). */
			flush_held(req, &held, held.on && data_queued(req->fd));
			return done(req, -ENOBUFS, true);
		}
		n = recv_into(req, buf, len, flags, &payload);
		if (n == -EAGAIN) {
			ua_kbuf_recycle(req, &sel);
			if (!post_held(req, &held, false))
				return done_held(req, &held);
			ret = nothing_received(req, blocking && !app_nowait,
					       app_nowait);
			if (ret != RECV_AGAIN)
				return ret;
			continue;
		}
		/* An error, or the end of a stream (a multishot RECVMSG still
		 * uses the buffer: it holds the header). */
		if (n <= 0) {
			ua_kbuf_recycle(req, &sel);
			flush_held(req, &held, !n && sock_kind(req) == SOCK_TCP);
			if (!n)
				req->cflags = nonempty_flag(req, 0, len);
			return done(req, (int) n, n < 0);
		}
		room = len - (size_t) (n - payload);	/* for the payload */
		cflags = ua_kbuf_consume(req, &sel, (size_t) n);
		if (!flush_held(req, &held, true) || !multishot || !payload ||
		    total_reached(sr, (size_t) n)) {
			req->cflags = cflags | nonempty_flag(req, (size_t) payload,
							     room);
			return done(req, (int) n, false);
		}
		left = sock_left(req, (size_t) payload, room, issue_flags);
		if (left == LEFT_ASK_NEXT) {
			held = (struct held_cqe) { true, (__s32) n, cflags };
		} else {
			if (left == LEFT_DATA)
				cflags |= IORING_CQE_F_SOCK_NONEMPTY;
			if (!ua_post_cqe_more(req->ctx, req->user_data,
					      (__s32) n, cflags)) {
				req->cflags = cflags;	/* CQ full: the last */
				return done(req, (int) n, false);
			}
		}
		if (left == LEFT_NOTHING) {
			if (blocking)
				continue;
			req->file_kind = UA_FILE_STREAM;
			return UA_AGAIN;
		}
		/* Counted across runs, as the kernel's nr_multishot_loops. */
		if (sr->nr_retries++ < MSHOT_MAX_RETRY)
			continue;
		sr->nr_retries = 0;
		if (!post_held(req, &held, held.on && data_queued(req->fd)))
			return done_held(req, &held);
		if (issue_flags & UA_ISSUE_NONBLOCK) {
			req->file_kind = UA_FILE_STREAM;
			return UA_REQUEUE;
		}
	}
}

/* ---- bundles (IORING_RECVSEND_BUNDLE) ---- */

/*
 * What a receive of got bytes into room left queued, as the kernel's
 * msg_inq: -1 where the kernel does not say (sockets other than TCP and
 * unix streams). A short stream receive emptied the queue; only a full
 * one asks.
 */
static int left_queued(struct ua_req *req, size_t got, size_t room)
{
	int inq;

	if (!reports_queue(sock_kind(req)))
		return -1;
	if (got < room && !(sr_of(req)->msg_flags & MSG_PEEK))
		return 0;
	return ioctl(req->fd, FIONREAD, &inq) ? -1 : inq;
}

/* The most a bundle receive maps: the SQE's length, else what the last
 * receive left queued, within a multishot RECV's total (0: unknown, one
 * buffer). */
static size_t bundle_max_len(const struct ua_sr *sr)
{
	size_t max = sr->len ? sr->len : sr->inq > 1 ? (size_t) sr->inq : 0;

	if (sr->mshot_left && (!max || max > sr->mshot_left))
		max = sr->mshot_left;
	return max;
}

/* One receive into a bundle's buffers, as one readv. */
static ssize_t recv_iov(struct ua_req *req, struct ua_bundle *b, int flags)
{
	struct msghdr m = { .msg_iov = b->iov, .msg_iovlen = b->nr };
	ssize_t n = sys_recvmsg(req->fd, &m, flags);

	return n < 0 ? -errno : n;
}

/*
 * One bundle: a receive into consecutive buffers, and, as the kernel
 * appends, one more when the first filled all it mapped (and cut none,
 * nor mapped the last buffer) while more than a byte stayed queued. The
 * CQE names the first buffer; the application counts the buffers from
 * the bytes. Returns the bytes, or -errno with nothing received; *empty
 * tells whether the ring's buffers ran out.
 */
static ssize_t recv_one_bundle(struct ua_req *req, int flags, __u32 *cflags,
			       bool *empty)
{
	struct ua_sr *sr = sr_of(req);
	bool multishot = sr->flags & IORING_RECV_MULTISHOT;
	size_t max = bundle_max_len(sr), total = 0;
	struct ua_bundle b;
	__u32 pass;
	ssize_t n;
	int ret;

	for (;;) {
		ret = ua_kbuf_peek(req, max, &b);
		if (ret)
			return total ? (ssize_t) total : ret;
		n = recv_iov(req, &b, flags);
		if (n <= 0) {
			ua_kbuf_recycle(req, &b.sel);
			return total ? (ssize_t) total : n;
		}
		pass = ua_kbuf_consume_bundle(req, &b, (size_t) n,
					      ua_bundle_nbufs(&b, (size_t) n));
		*cflags = total ? *cflags | (pass & IORING_CQE_F_BUF_MORE) : pass;
		total += (size_t) n;
		*empty = b.empty;
		sr->inq = left_queued(req, (size_t) n, b.bytes);
		if (total == (size_t) n && b.bytes == (size_t) n &&
		    !b.partial && !b.empty && sr->inq > 1 &&
		    !(multishot && sr->len && total >= sr->len) &&
		    !(sr->mshot_left && total >= sr->mshot_left)) {
			max = (size_t) sr->inq;
			if (sr->mshot_left && max > sr->mshot_left - total)
				max = sr->mshot_left - total;
			continue;
		}
		return (ssize_t) total;
	}
}

/*
 * RECV with IORING_RECVSEND_BUNDLE and a buffer group. A multishot one
 * posts a CQE with IORING_CQE_F_MORE per bundle and ends, as the
 * kernel's, when a bundle takes the ring's last buffer, at the end of the
 * stream, on an error or once its total (optlen) is reached.
 */
static int recv_bundle(struct ua_req *req, unsigned issue_flags)
{
	struct ua_sr *sr = sr_of(req);
	bool multishot = sr->flags & IORING_RECV_MULTISHOT;
	bool blocking = !(issue_flags & UA_ISSUE_NONBLOCK);
	bool app_nowait = sr->msg_flags & MSG_DONTWAIT;
	int flags = (int) sr->msg_flags | MSG_DONTWAIT;
	__u32 cflags = 0;
	bool empty = false, last;
	ssize_t n;
	int ret;

	for (;;) {
		n = recv_one_bundle(req, flags, &cflags, &empty);
		if (n == -EAGAIN) {
			ret = nothing_received(req, blocking && !app_nowait,
					       app_nowait);
			if (ret != RECV_AGAIN)
				return ret;
			continue;
		}
		if (n <= 0) {
			/* The end of a stream: TCP's hint counts it. */
			if (!n && sock_kind(req) == SOCK_TCP)
				req->cflags = IORING_CQE_F_SOCK_NONEMPTY;
			return done(req, (int) n, n < 0);
		}
		if (sr->inq > 0)
			cflags |= IORING_CQE_F_SOCK_NONEMPTY;
		last = total_reached(sr, (size_t) n);
		if (!multishot || empty || last ||
		    !ua_post_cqe_more(req->ctx, req->user_data, (__s32) n, cflags)) {
			req->cflags = cflags;
			return done(req, (int) n, false);
		}
		/* Known empty: the next arrival brings a wakeup, unless the
		 * peer has gone, whose end of stream is still to be read. */
		if (!sr->inq && ((issue_flags & UA_ISSUE_PEER_OPEN) ||
				 !peer_gone(req->fd))) {
			if (blocking)
				continue;
			req->file_kind = UA_FILE_STREAM;
			return UA_AGAIN;
		}
		if (sr->nr_retries++ < MSHOT_MAX_RETRY &&
		    !(sr->len && (size_t) n >= sr->len))
			continue;
		sr->nr_retries = 0;
		if (issue_flags & UA_ISSUE_NONBLOCK) {
			req->file_kind = UA_FILE_STREAM;
			return UA_REQUEUE;
		}
	}
}

/* IORING_RECVSEND_POLL_FIRST: the first issue only waits for readiness,
 * before anything is tried or a provided buffer chosen (as the kernel). */
static bool waits_first(struct ua_sr *sr)
{
	if (!(sr->flags & IORING_RECVSEND_POLL_FIRST) || sr->polled)
		return false;
	sr->polled = true;
	return true;
}

/*
 * SEND with IOSQE_BUFFER_SELECT sends (at most len bytes of) a provided
 * buffer. As the kernel does, the descriptor must be a socket before a
 * buffer is chosen, and the buffer is then taken for good: the CQE names
 * it whatever the result, and a send that waits for room keeps it.
 */
static int send_select(struct ua_req *req)
{
	struct ua_sr *sr = sr_of(req);
	struct ua_kbuf_sel sel = { .group = NULL };
	size_t len = sr->len;
	void *buf;

	if (sockopt_int(req->fd, SO_TYPE) < 0)
		return -errno;		/* -ENOTSOCK, -EBADF */
	buf = ua_kbuf_get(req, &len, &sel);
	if (!buf)
		return sel.group ? -ENOBUFS : -ENOENT;
	req->cflags = ua_kbuf_consume(req, &sel, len);
	sr->addr = (__u64) (uintptr_t) buf;
	sr->len = (__u32) len;
	sr->selected = true;
	return 0;
}

/*
 * A bundle SEND's next pass, taken from the group at once (the kernel
 * commits the buffers before it sends): the buffers from the head, up to
 * the SQE's length on the first pass, without limit after it. Returns 0
 * with the iovecs in b, or -errno.
 */
static int bundle_pass(struct ua_req *req, struct ua_bundle *b)
{
	struct ua_sr *sr = sr_of(req);
	int ret = ua_kbuf_peek(req, sr->len ? sr->len : INT32_MAX, b);

	if (ret)
		return ret;
	sr->pass_cflags = ua_kbuf_consume_bundle(req, b, b->bytes, b->nr);
	sr->pass_empty = b->empty;
	sr->len = 0;
	return 0;
}

/*
 * The msghdr of the pass to send: the rest of one that waited for room,
 * or a vectorized SEND's iovecs (both in sr->msg), else a new pass (into
 * *stack). Without a buffer group the SEND sends addr, then, as the
 * kernel's next pass finds nothing left, nothing (an empty datagram on a
 * datagram socket), which ends it. NULL when the group has no buffer
 * (*err).
 */
static struct msghdr *next_pass(struct ua_req *req, struct ua_bundle *b,
				struct msghdr *stack, int *err)
{
	struct ua_sr *sr = sr_of(req);
	bool select = req->sqe_flags & IOSQE_BUFFER_SELECT;

	if (!select) {
		sr->pass_cflags = 0;
		sr->pass_empty = false;
	}
	if (sr->msg) {
		sr->bundle_sent = true;
		return sr->msg;
	}
	if (select) {
		*err = bundle_pass(req, b);
		if (*err)
			return NULL;
	} else {
		b->iov[0].iov_base = (void *) (uintptr_t) sr->addr;
		b->iov[0].iov_len = sr->len;
		b->nr = !sr->bundle_sent;
		sr->bundle_sent = true;
	}
	memset(stack, 0, sizeof(*stack));
	stack->msg_iov = b->iov;
	stack->msg_iovlen = b->nr;
	if (sr->dest_len) {
		stack->msg_name = &sr->dest;
		stack->msg_namelen = sr->dest_len;
	}
	return stack;
}

static size_t iov_bytes(const struct msghdr *m)
{
	size_t n = 0, i;

	for (i = 0; i < m->msg_iovlen; i++)
		n += m->msg_iov[i].iov_len;
	return n;
}

/* A pass that sent n bytes of what it had and must wait for room keeps
 * the rest in sr->msg. */
static int keep_rest(struct ua_req *req, const struct msghdr *m, size_t n)
{
	struct ua_sr *sr = sr_of(req);

	if (!sr->msg) {
		struct ua_msg *rest = send_msg_alloc(req, m->msg_iovlen);

		if (!rest)
			return -ENOMEM;
		memcpy(rest->iov, m->msg_iov,
		       m->msg_iovlen * sizeof(struct iovec));
		sr->msg = &rest->hdr;
	}
	msg_advance(req, n);
	return 0;
}

/* A pass sent all it had: the request's CQE for it, the last (true) when
 * nothing was sent, the group is empty or the CQ full. */
static bool pass_done(struct ua_req *req, size_t sent)
{
	struct ua_sr *sr = sr_of(req);

	drop_msg(sr);
	sr->done = 0;
	if (!sent || sr->pass_empty ||
	    !ua_post_cqe_more(req->ctx, req->user_data, (__s32) sent,
			      sr->pass_cflags)) {
		req->cflags = sr->pass_cflags;
		done(req, (int) sent, false);
		return true;
	}
	return false;
}

/*
 * SEND with IORING_RECVSEND_BUNDLE: each pass sends the contents of
 * consecutive buffers of the group in one sendmsg, all of it (as with
 * MSG_WAITALL), and posts a CQE naming the first buffer; passes follow
 * with IORING_CQE_F_MORE until one takes the group's last buffer, as the
 * kernel's.
 */
static int send_bundle(struct ua_req *req, unsigned issue_flags)
{
	struct ua_sr *sr = sr_of(req);
	bool app_nowait = sr->msg_flags & MSG_DONTWAIT;
	int flags = (int) sr->msg_flags, err;
	struct msghdr stack, *m;
	struct ua_bundle b;
	size_t want;
	ssize_t n;

	if (issue_flags & UA_ISSUE_NONBLOCK)
		flags |= MSG_DONTWAIT;
	for (;;) {
		m = next_pass(req, &b, &stack, &err);
		if (!m) {
			req->cflags = 0;
			return done(req, err, true);
		}
		want = iov_bytes(m);
		n = sys_sendmsg(req->fd, m, flags);
		n = n < 0 ? -errno : n;
		if (n == -EAGAIN && (issue_flags & UA_ISSUE_NONBLOCK)) {
			err = keep_rest(req, m, 0);
			if (err)
				return done(req, err, true);
			/* MSG_DONTWAIT: -EAGAIN names the buffers it took. */
			req->cflags = sr->pass_cflags;
			return would_block(req, app_nowait);
		}
		if (n < 0) {
			req->cflags = sr->pass_cflags;
			return done(req, sr->done ? (int) sr->done : (int) n,
				    true);
		}
		sr->done += (size_t) n;
		if ((size_t) n < want) {
			err = keep_rest(req, m, (size_t) n);
			if (err)
				return done(req, err, true);
			if (issue_flags & UA_ISSUE_NONBLOCK)
				return would_block(req, app_nowait);
			continue;
		}
		if (pass_done(req, sr->done))
			return UA_DONE;
	}
}

/*
 * The sockets the kernel sends from with zero copy (SOCK_SUPPORT_ZC): TCP
 * and UDP. Others fail with -EOPNOTSUPP, what is not a socket -ENOTSOCK;
 * both before IORING_RECVSEND_POLL_FIRST waits, as the kernel checks.
 */
static int zc_socket_check(struct ua_req *req)
{
	int proto;

	if (sr_of(req)->zc_checked)
		return 0;
	proto = sockopt_int(req->fd, SO_PROTOCOL);
	if (proto < 0)
		return -errno;
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return -EOPNOTSUPP;
	sr_of(req)->zc_checked = true;
	return 0;
}

/* The registered buffer a fixed zero-copy send reads, held by the request
 * until it is freed, as a fixed read or write holds its own. */
static bool fixed_covers(struct ua_req *req, __u64 addr, __u64 len)
{
	struct ua_sr *sr = sr_of(req);

	return !ua_buf_import(req->ctx, sr->buf_index, &sr->buf_node, addr,
			      len);
}

/* A SENDMSG_ZC's iovecs must each lie in the registered buffer. */
static bool fixed_msg_covered(struct ua_req *req)
{
	const struct msghdr *m = sr_of(req)->msg;
	size_t i;

	for (i = 0; i < m->msg_iovlen; i++)
		if (!fixed_covers(req, (__u64) (uintptr_t) m->msg_iov[i].iov_base,
				  m->msg_iov[i].iov_len))
			return false;
	return true;
}

/* What a zero-copy send checks each time it is tried: 0, or its -errno. */
static int send_zc_check(struct ua_req *req)
{
	struct ua_sr *sr = sr_of(req);
	int ret = zc_socket_check(req);

	if (ret || !(sr->flags & IORING_RECVSEND_FIXED_BUF))
		return ret;
	if (is_sendmsg(req))
		return fixed_msg_covered(req) ? 0 : -EFAULT;
	return fixed_covers(req, sr->addr, sr->len) ? 0 : -EFAULT;
}

int ua_send(struct ua_req *req, unsigned issue_flags)
{
	struct ua_sr *sr = sr_of(req);

	if (is_zc(req)) {
		int ret = send_zc_check(req);

		if (ret)
			return done(req, ret, true);
	}
	if (waits_first(sr))
		return UA_AGAIN;
	if (sr->flags & IORING_RECVSEND_BUNDLE)
		return send_bundle(req, issue_flags);
	if ((req->sqe_flags & IOSQE_BUFFER_SELECT) && !sr->selected) {
		int ret = send_select(req);

		if (ret)
			return done(req, ret, true);
	}
	return sr_issue(req, issue_flags);
}

int ua_recv(struct ua_req *req, unsigned issue_flags)
{
	if (waits_first(sr_of(req)))
		return UA_AGAIN;
	if ((req->sqe_flags & IOSQE_BUFFER_SELECT) &&
	    (sr_of(req)->flags & IORING_RECVSEND_BUNDLE))
		return recv_bundle(req, issue_flags);
	if (req->sqe_flags & IOSQE_BUFFER_SELECT)
		return recv_selected(req, issue_flags);
	return sr_issue(req, issue_flags);
}

/* ---- ACCEPT ---- */

int ua_accept_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	struct ua_accept *a = accept_of(req);

	a->addr = sqe->addr;
	a->addrlen = sqe->addr2;
	a->flags = (int) sqe->accept_flags;
	a->iou_flags = sqe->ioprio;
	a->file_slot = sqe->file_index;
	a->polled = false;
	a->in_worker = false;
	a->nonblock_known = false;
	a->tcp_known = false;
	if (a->iou_flags & ~ACCEPT_FLAGS)
		return -EINVAL;
	if (a->file_slot) {
		if (a->flags & SOCK_CLOEXEC)
			return -EINVAL;
		if ((a->iou_flags & IORING_ACCEPT_MULTISHOT) &&
		    a->file_slot != IORING_FILE_INDEX_ALLOC)
			return -EINVAL;
	}
	if (a->flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK))
		return -EINVAL;
	if ((a->iou_flags & IORING_ACCEPT_MULTISHOT) &&
	    (req->sqe_flags & IOSQE_CQE_SKIP_SUCCESS))
		return -EINVAL;
	/* A direct descriptor's fd is the table's: never inherited. */
	if (a->file_slot)
		a->flags |= SOCK_CLOEXEC;
	return 0;
}

static bool fd_nonblocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl >= 0 && (fl & O_NONBLOCK);
}

static bool listener_nonblocking(struct ua_req *req)
{
	struct ua_accept *a = accept_of(req);

	if (!a->nonblock_known) {
		a->listen_nonblock = fd_nonblocking(req->fd);
		a->nonblock_known = true;
	}
	return a->listen_nonblock;
}

/* Whether accept4() has something to return now: 1, 0 or -errno. */
static int connection_waits(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	if (ua_sys_poll_now(&pfd, 1) < 0)
		return -errno;
	if (pfd.revents & POLLNVAL)
		return -EBADF;
	return pfd.revents != 0;
}

/*
 * An accept on a blocking listener, outside a worker. accept4() has no
 * per-call O_NONBLOCK, and a connection poll() saw may be taken by another
 * thread or process before accept4() gets to it, which then waits for the
 * next: only a worker may call it, where a wait holds up nothing but that
 * worker and cancellation interrupts it. The listener's flags stay the
 * application's. Once there, the request stays there (wait_connection()).
 */
static int accept_in_worker(struct ua_req *req, bool app_nowait)
{
	struct ua_accept *a = accept_of(req);
	int ready;

	if (a->in_worker)
		return UA_PUNT;
	ready = connection_waits(req->fd);
	if (ready < 0)
		return done(req, ready, true);
	if (!ready)
		return would_block(req, app_nowait);
	a->in_worker = true;
	req->file_kind = UA_FILE_STREAM;	/* the unbounded class */
	return UA_PUNT;
}

/*
 * A worker's accept on a blocking listener: it waits for a connection in
 * poll() with the worker's cancel descriptor (a cancellation then ends it
 * with -ECANCELED, as a request waiting for readiness), then accepts. A
 * multishot accept waits here for the next one rather than parking again:
 * a cancellation that comes while the worker holds the request reports
 * -EALREADY, which promises that the request ends, not that it waits on.
 */
static int wait_connection(struct ua_req *req, bool app_nowait)
{
	int ready;

	if (!app_nowait)
		return ua_iowq_wait_ready(req->ctx, req->fd, POLLIN);
	ready = connection_waits(req->fd);
	if (ready < 0)
		return ready;
	return ready ? 0 : -EAGAIN;
}

/*
 * Whether more connections wait, for IORING_CQE_F_SOCK_NONEMPTY: the
 * kernel knows only of a TCP listener's queue, so only those are asked,
 * with one poll(). (Only TCP's listeners have the protocol IPPROTO_TCP.)
 */
static bool more_pending(struct ua_req *req)
{
	struct ua_accept *a = accept_of(req);
	struct pollfd pfd = { .fd = req->fd, .events = POLLIN };

	if (!a->tcp_known) {
		a->listen_tcp = sockopt_int(req->fd, SO_PROTOCOL) == IPPROTO_TCP;
		a->tcp_known = true;
	}
	return a->listen_tcp && ua_sys_poll_now(&pfd, 1) > 0 && (pfd.revents & POLLIN);
}

int ua_accept(struct ua_req *req, unsigned issue_flags)
{
	struct ua_accept *a = accept_of(req);
	bool nonblock = issue_flags & UA_ISSUE_NONBLOCK;
	bool app_nowait = a->iou_flags & IORING_ACCEPT_DONTWAIT;
	bool blocking = false;
	__u32 cflags;
	int fd, ret;

	if ((a->iou_flags & IORING_ACCEPT_POLL_FIRST) && !a->polled) {
		a->polled = true;
		return UA_AGAIN;
	}
	if (!listener_nonblocking(req)) {
		if (nonblock)
			return accept_in_worker(req, app_nowait);
		blocking = true;
	}
	for (;;) {
		if (blocking) {
			ret = wait_connection(req, app_nowait);
			if (ret)
				return done(req, ret, true);
		}
		fd = sys_accept4(req->fd,
				 (struct sockaddr *) (uintptr_t) a->addr,
				 (socklen_t *) (uintptr_t) a->addrlen, a->flags);
		if (fd < 0)
			fd = -errno;
		if (fd == -EAGAIN && nonblock)
			return would_block(req, app_nowait);
		cflags = fd >= 0 && more_pending(req) ?
			 IORING_CQE_F_SOCK_NONEMPTY : 0;
		/* Direct: the result is 0 or the allocated slot, as the kernel
		 * reports it (-ENXIO without a file table). */
		if (fd >= 0 && a->file_slot)
			fd = ua_files_install(req->ctx, fd, a->file_slot);
		if (fd < 0 || !(a->iou_flags & IORING_ACCEPT_MULTISHOT)) {
			req->cflags = cflags;
			return done(req, fd, false);
		}
		/* Multishot: one CQE per connection, until the queue is empty
		 * (then the next wakeup brings more). A TCP listener has just
		 * said whether it is: no accept4() to meet -EAGAIN. */
		if (!ua_post_cqe_more(req->ctx, req->user_data, fd, cflags)) {
			req->cflags = cflags;	/* the CQ is full: the last */
			return done(req, fd, false);
		}
		if (a->listen_tcp && !cflags && nonblock)
			return would_block(req, app_nowait);
	}
}

/* ---- CONNECT ---- */

int ua_connect_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	struct ua_connect *c = connect_of(req);

	if (sqe->off > sizeof(c->addr))
		return -EINVAL;
	c->addr_len = (socklen_t) sqe->off;
	c->in_progress = false;
	c->seen_econnaborted = false;
	return ua_copy_from_user(&c->addr, sqe->addr, c->addr_len);
}

/* The first connect() of a blocking socket runs non-blocking, once. */
static int start_connect(struct ua_req *req)
{
	struct ua_connect *c = connect_of(req);
	int fl = fcntl(req->fd, F_GETFL);
	int ret;

	if (fl < 0)
		return -errno;
	if (!(fl & O_NONBLOCK) && fcntl(req->fd, F_SETFL, fl | O_NONBLOCK))
		return -errno;
	ret = sys_connect(req->fd, (const struct sockaddr *) &c->addr,
			  c->addr_len);
	ret = ret < 0 ? -errno : 0;
	if (!(fl & O_NONBLOCK))
		fcntl(req->fd, F_SETFL, fl);
	return ret;
}

/*
 * A socket whose failed connection was already reported (its error read)
 * still counts as connecting: the next connect() answers -ECONNABORTED and
 * leaves it unconnected. The kernel tries once more, which starts the new
 * connection, so a repeated CONNECT reports its own result.
 */
static bool retry_aborted(struct ua_connect *c, int ret)
{
	if (ret != -ECONNABORTED || c->seen_econnaborted)
		return false;
	c->seen_econnaborted = true;
	return true;
}

int ua_connect(struct ua_req *req, unsigned issue_flags)
{
	struct ua_connect *c = connect_of(req);
	int ret, err;
	socklen_t len = sizeof(err);

	if (!(issue_flags & UA_ISSUE_NONBLOCK)) {
		do {
			ret = sys_connect(req->fd,
					  (const struct sockaddr *) &c->addr,
					  c->addr_len);
			ret = ret < 0 ? -errno : 0;
		} while (retry_aborted(c, ret));
		return done(req, ret, false);
	}
	if (c->in_progress) {
		struct pollfd pfd = { .fd = req->fd, .events = POLLOUT };

		/* Woken for nothing: the connection is still being made. */
		if (ua_sys_poll_now(&pfd, 1) == 0)
			return UA_AGAIN;
		/* Connected, or failed: the socket's error says which. */
		if (getsockopt(req->fd, SOL_SOCKET, SO_ERROR, &err, &len))
			return done(req, -errno, false);
		return done(req, -err, false);
	}
	do {
		ret = start_connect(req);
	} while (retry_aborted(c, ret));
	if (ret == -EINPROGRESS) {
		c->in_progress = true;
		return would_block(req, false);
	}
	if (ret == -EAGAIN)
		return would_block(req, false);
	return done(req, ret, false);
}

/* ---- SHUTDOWN, SOCKET, BIND, LISTEN: they never wait ---- */

int ua_shutdown_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	sock_of(req)->arg = (int) sqe->len;
	return 0;
}

int ua_shutdown(struct ua_req *req, unsigned issue_flags)
{
	(void) issue_flags;
	return done(req, shutdown(req->fd, sock_of(req)->arg) ? -errno : 0,
		    false);
}

int ua_socket_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	struct ua_sock *s = sock_of(req);
	int flags;

	s->domain = sqe->fd;
	s->type = (int) sqe->off;
	s->arg = (int) sqe->len;		/* protocol */
	s->file_slot = sqe->file_index;
	flags = s->type & ~0xf;			/* SOCK_TYPE_MASK */
	if (s->file_slot && (flags & SOCK_CLOEXEC))
		return -EINVAL;
	if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK))
		return -EINVAL;
	return 0;
}

int ua_socket(struct ua_req *req, unsigned issue_flags)
{
	struct ua_sock *s = sock_of(req);
	int fd;

	(void) issue_flags;
	if (!s->file_slot) {
		fd = socket(s->domain, s->type, s->arg);
		return done(req, fd < 0 ? -errno : fd, false);
	}
	/* Direct: made close-on-exec, then handed to the file table. */
	fd = socket(s->domain, s->type | SOCK_CLOEXEC, s->arg);
	if (fd < 0)
		return done(req, -errno, false);
	return done(req, ua_files_install(req->ctx, fd, s->file_slot), false);
}

int ua_bind_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	struct ua_sock *s = sock_of(req);

	if (sqe->addr2 > sizeof(s->addr))
		return -EINVAL;
	s->addr_len = (socklen_t) sqe->addr2;
	return ua_copy_from_user(&s->addr, sqe->addr, s->addr_len);
}

int ua_bind(struct ua_req *req, unsigned issue_flags)
{
	struct ua_sock *s = sock_of(req);
	int ret;

	(void) issue_flags;
	ret = bind(req->fd, (const struct sockaddr *) &s->addr, s->addr_len);
	return done(req, ret ? -errno : 0, false);
}

int ua_listen_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	sock_of(req)->arg = (int) sqe->len;		/* backlog */
	return 0;
}

int ua_listen(struct ua_req *req, unsigned issue_flags)
{
	(void) issue_flags;
	return done(req, listen(req->fd, sock_of(req)->arg) ? -errno : 0, false);
}
