/* SPDX-License-Identifier: MIT */
/*
 * URING_CMD: a command for the file itself, as the kernel hands it to the
 * file's uring_cmd method. Two kinds of file have one here:
 *
 * - a socket: SIOCINQ and SIOCOUTQ (the protocol's ioctl: TCP, UDP, raw...
 *   of AF_INET and AF_INET6; other families have none, -EOPNOTSUPP),
 *   GETSOCKOPT (SOL_SOCKET only, the result is the option's length) and
 *   SETSOCKOPT. TX_TIMESTAMP needs a CQE32 ring (-EINVAL); any other
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
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include "liburing/compat.h"
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
	/* The kernel takes a buffer group only with a multishot command,
	 * which 6.18 does not have. */
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
	case SOCKET_URING_OP_TX_TIMESTAMP:
		if (!ua_cqe_shift(req->ctx))
			return -EINVAL;
		return -EOPNOTSUPP;
	default:
		return -EOPNOTSUPP;
	}
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
	if (S_ISSOCK(st.st_mode))
		return done(req, sock_cmd(req));
	ret = blk_cmd_check(uring_cmd_of(req));
	if (ret)
		return done(req, ret);
	if (issue_flags & UA_ISSUE_NONBLOCK)
		return UA_PUNT;
	return done(req, blk_discard(req));
}
