/* SPDX-License-Identifier: MIT */
/*
 * URING_CMD: a command for the file itself, as the kernel hands it to the
 * file's uring_cmd method. Two kinds of file have one here:
 *
 * - a socket: SIOCINQ and SIOCOUTQ (the protocol's ioctl: TCP, UDP, raw...
 *   of AF_INET and AF_INET6; other families have none, -EOPNOTSUPP),
 *   GETSOCKOPT (SOL_SOCKET only, the result is the option's length) and
 *   SETSOCKOPT. TX_TIMESTAMP needs a CQE32 ring (-EINVAL): a multishot
 *   request parked on the socket's POLLERR, posting one CQE32 per
 *   timestamp its error queue receives, until cancelled. Any other
 *   command, GETSOCKNAME included (6.18 has none), fails with -EOPNOTSUPP.
 * - a block device: BLOCK_URING_CMD_DISCARD, the BLKDISCARD ioctl in a
 *   worker (it waits for the device); any other command fails with -EINVAL.
 *
 * Every other file fails with -EOPNOTSUPP, as one without the method; so
 * does every file of an IOPOLL ring, none of them having an iopoll method.
 * The SQE's fields are copied at prep: the kernel keeps its own copy of the
 * SQE for a command that goes async.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <linux/errqueue.h>
#include <linux/fs.h>
#include <linux/net_tstamp.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include "liburing/compat.h"
#include "engine/cq.h"
#include "engine/req.h"
#include "engine/ring.h"
#include "engine/uring_cmd.h"

struct ua_uring_cmd {
	__u32	cmd_op;
	__u32	level;
	__u32	optname;
	__s32	optlen;
	__u64	optval;		/* addr3: a discard's length */
	__u64	addr;		/* a discard's start */
	/* A block device's own checks: nonzero fails with -EINVAL. */
	bool	blk_fields_set;
};
#define uring_cmd_of(req)	ua_cmd(req, struct ua_uring_cmd)

int ua_uring_cmd_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	struct ua_uring_cmd *c = uring_cmd_of(req);

	if (sqe->__pad1)
		return -EINVAL;
	if (sqe->uring_cmd_flags & ~IORING_URING_CMD_MASK)
		return -EINVAL;
	/* The kernel takes a buffer group only with a multishot command
	 * flag, which 6.18 does not have. */
	if (req->sqe_flags & IOSQE_BUFFER_SELECT)
		return -EINVAL;
	c->cmd_op = sqe->cmd_op;
	c->level = sqe->level;
	c->optname = sqe->optname;
	c->optlen = (__s32) sqe->optlen;
	c->optval = sqe->optval;
	c->addr = sqe->addr;
	c->blk_fields_set = sqe->len || sqe->uring_cmd_flags ||
			    sqe->file_index;
	return 0;
}

static int done(struct ua_req *req, int res)
{
	req->res = res;
	req->failed = res < 0;
	return UA_DONE;
}

/* The kernel answers SIOCINQ and SIOCOUTQ from the protocol's ioctl
 * method, which the inet protocols have and AF_UNIX, AF_PACKET, AF_NETLINK
 * ... do not (their ioctl is the socket layer's, which it does not ask). */
static int sock_queue_size(int fd, unsigned long request)
{
	int domain, arg = 0;
	socklen_t len = sizeof(domain);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0)
		return -errno;
	if (domain != AF_INET && domain != AF_INET6)
		return -EOPNOTSUPP;
	if (ioctl(fd, request, &arg) < 0)
		/* An inet protocol without the method (ping). */
		return errno == ENOTTY ? -EOPNOTSUPP : -errno;
	return arg;
}

/* The option's value is written to the application's optval by the
 * system call, which checks the pointer as the kernel's command does. */
static int sock_getsockopt(int fd, const struct ua_uring_cmd *c)
{
	socklen_t len = (socklen_t) c->optlen;

	if (c->level != SOL_SOCKET)
		return -EOPNOTSUPP;
	if (getsockopt(fd, SOL_SOCKET, (int) c->optname,
		       (void *) (uintptr_t) c->optval, &len) < 0)
		return -errno;
	return (int) len;
}

static int sock_setsockopt(int fd, const struct ua_uring_cmd *c)
{
	if (setsockopt(fd, (int) c->level, (int) c->optname,
		       (const void *) (uintptr_t) c->optval,
		       (socklen_t) c->optlen) < 0)
		return -errno;
	return 0;
}

static int sock_cmd(struct ua_req *req)
{
	const struct ua_uring_cmd *c = uring_cmd_of(req);

	switch (c->cmd_op) {
	case SOCKET_URING_OP_SIOCINQ:
		return sock_queue_size(req->fd, FIONREAD);
	case SOCKET_URING_OP_SIOCOUTQ:
		return sock_queue_size(req->fd, TIOCOUTQ);
	case SOCKET_URING_OP_GETSOCKOPT:
		return sock_getsockopt(req->fd, c);
	case SOCKET_URING_OP_SETSOCKOPT:
		return sock_setsockopt(req->fd, c);
	default:
		return -EOPNOTSUPP;
	}
}

/* ---- SOCKET_URING_OP_TX_TIMESTAMP ---- */

static int sockopt_int(int fd, int level, int name)
{
	socklen_t len = sizeof(int);
	int v = 0;

	if (getsockopt(fd, level, name, &v, &len) < 0)
		return -1;
	return v;
}

/*
 * Whether the error queue of an inet socket holds nothing but what the
 * kernel's command takes: timestamps without payload
 * (SOF_TIMESTAMPING_OPT_TSONLY) that the socket reports. Reading the queue
 * takes every entry, and the kernel leaves the others (payloads, ICMP
 * errors with IP_RECVERR, zero-copy notifications) to the application:
 * the engine reads the queue only when there can be none.
 */
static bool errqueue_only_timestamps(int fd)
{
	int ts = sockopt_int(fd, SOL_SOCKET, SO_TIMESTAMPING_OLD);
	int domain = sockopt_int(fd, SOL_SOCKET, SO_DOMAIN);

	if (domain != AF_INET && domain != AF_INET6)
		return false;
	if (ts < 0 || !(ts & SOF_TIMESTAMPING_OPT_TSONLY) ||
	    !(ts & (SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_RAW_HARDWARE)))
		return false;
	if (sockopt_int(fd, SOL_SOCKET, SO_ZEROCOPY) != 0 ||
	    sockopt_int(fd, SOL_IP, IP_RECVERR) != 0)
		return false;
	return domain == AF_INET ||
	       sockopt_int(fd, SOL_IPV6, IPV6_RECVERR) == 0;
}

/* The timestamp of an entry, as the kernel picks it: the software one if
 * there is one, else the hardware one (*hw). False for neither. */
static bool pick_timestamp(const struct cmsghdr *cm, struct ua_cqe *cqe,
			   bool *hw)
{
	/* scm_timestamping and scm_timestamping64 alike: three pairs of
	 * 64-bit words on the 64-bit systems the engine runs on. */
	long long ts[3][2];

	memcpy(ts, CMSG_DATA(cm), sizeof(ts));
	*hw = !ts[0][0] && !ts[0][1];
	if (*hw && !ts[2][0] && !ts[2][1])
		return false;
	cqe->big_cqe[0] = (__u64) ts[*hw ? 2 : 0][0];
	cqe->big_cqe[1] = (__u64) ts[*hw ? 2 : 0][1];
	return true;
}

/*
 * Takes the next entry of the error queue into *cqe: its key as res, its
 * type and IORING_CQE_F_TSTAMP_HW in flags, the time in big_cqe. 1 for a
 * timestamp, 0 for an entry without one (dropped: the kernel would have
 * left it, and stopped there), -EAGAIN when the queue is empty.
 */
static int errqueue_next(int fd, struct ua_cqe *cqe)
{
	union {
		char	buf[CMSG_SPACE(sizeof(long long[3][2])) +
			    CMSG_SPACE(sizeof(struct sock_extended_err) +
				       sizeof(struct sockaddr_in6))];
		struct cmsghdr align;
	} ctl;
	struct msghdr msg = { .msg_control = &ctl,
			      .msg_controllen = sizeof(ctl) };
	struct sock_extended_err ee;
	bool stamped = false, keyed = false, hw = false;
	struct cmsghdr *cm;

	if (recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
		return -errno;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level == SOL_SOCKET &&
		    (cm->cmsg_type == SO_TIMESTAMPING_OLD ||
		     cm->cmsg_type == SO_TIMESTAMPING_NEW)) {
			stamped = pick_timestamp(cm, cqe, &hw);
		} else if ((cm->cmsg_level == SOL_IP &&
			    cm->cmsg_type == IP_RECVERR) ||
			   (cm->cmsg_level == SOL_IPV6 &&
			    cm->cmsg_type == IPV6_RECVERR)) {
			memcpy(&ee, CMSG_DATA(cm), sizeof(ee));
			keyed = ee.ee_errno == ENOMSG &&
				ee.ee_origin == SO_EE_ORIGIN_TIMESTAMPING;
		}
	}
	if (!stamped || !keyed || (msg.msg_flags & MSG_TRUNC))
		return 0;
	cqe->res = (__s32) ee.ee_data;
	cqe->flags = ee.ee_info << IORING_TIMESTAMP_TYPE_SHIFT |
		     (hw ? IORING_CQE_F_TSTAMP_HW : 0);
	return 1;
}

/*
 * Posts what the error queue holds while the CQ has room, then waits for
 * POLLERR again: like the kernel's, the command ends only when cancelled,
 * and a full CQ leaves the timestamps queued until the next one comes.
 */
static int tx_timestamps(struct ua_req *req)
{
	struct ua_cqe cqe = { .user_data = req->user_data };

	if (!ua_cqe_shift(req->ctx))
		return done(req, -EINVAL);
	if (!errqueue_only_timestamps(req->fd))
		return UA_AGAIN;
	while (ua_cq_room_now(req->ctx)) {
		int ret = errqueue_next(req->fd, &cqe);

		if (ret < 0)
			break;
		if (ret)
			ua_post_cqe32_more(req->ctx, &cqe);
	}
	return UA_AGAIN;
}

/* The block layer's checks of the SQE, made before it would wait. */
static int blk_cmd_check(const struct ua_uring_cmd *c)
{
	if (c->blk_fields_set || c->cmd_op != BLOCK_URING_CMD_DISCARD)
		return -EINVAL;
	return 0;
}

/* The ioctl checks the open mode and the range as the command does. */
static int blk_discard(struct ua_req *req)
{
	const struct ua_uring_cmd *c = uring_cmd_of(req);
	__u64 range[2] = { c->addr, c->optval };

	if (ioctl(req->fd, BLKDISCARD, range) < 0)
		return -errno;
	return 0;
}

int ua_uring_cmd(struct ua_req *req, unsigned issue_flags)
{
	struct stat st;
	int ret;

	if (fstat(req->fd, &st) < 0)
		return done(req, -errno);
	if (!S_ISSOCK(st.st_mode) && !S_ISBLK(st.st_mode))
		return done(req, -EOPNOTSUPP);
	if (req->ctx->setup_flags & IORING_SETUP_IOPOLL)
		return done(req, -EOPNOTSUPP);
	if (S_ISSOCK(st.st_mode)) {
		if (uring_cmd_of(req)->cmd_op == SOCKET_URING_OP_TX_TIMESTAMP)
			return tx_timestamps(req);
		return done(req, sock_cmd(req));
	}
	ret = blk_cmd_check(uring_cmd_of(req));
	if (ret)
		return done(req, ret);
	if (issue_flags & UA_ISSUE_NONBLOCK)
		return UA_PUNT;
	return done(req, blk_discard(req));
}
