/* SPDX-License-Identifier: MIT */
/*
 * READ_MULTISHOT: reads a file that polls (pipe, socket, eventfd, tty...)
 * into provided buffers, one CQE with IORING_CQE_F_MORE per read, for as
 * long as data comes. Like the multishot RECV it is parked on readiness
 * (poll.c) between reads, on no thread, and reads until the file is dry
 * whenever it runs. It ends with a CQE without F_MORE at the end of the
 * stream (0), on an error, when the group has no buffer left for a file
 * with data (-ENOBUFS), or when the CQ is full (the last read's CQE).
 *
 * The kernel's rules: provided buffers only (no IOSQE_BUFFER_SELECT, an
 * address or a length: -EINVAL), a file that does not poll fails with
 * -EBADFD, the offset is ignored.
 */
#include <errno.h>
#include <poll.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include "engine/cq.h"
#include "engine/kbuf.h"
#include "engine/poll.h"
#include "engine/poll_op.h"
#include "engine/read_mshot.h"
#include "engine/req.h"

/* The kernel's RWF_SUPPORTED (6.18): other flags fail with -EOPNOTSUPP. */
#define RWF_KNOWN		0xffu
/* Reads in a row on a stream that never runs dry before the other ready
 * requests get their turn (UA_REQUEUE). */
#define READ_MSHOT_BATCH	16

struct ua_read_mshot {
	int	rw_flags;
	bool	issued;		/* the first issue is over */
	bool	no_nowait;	/* the file rejects RWF_NOWAIT (a tty) */
};
#define read_mshot_of(req)	ua_cmd(req, struct ua_read_mshot)

int ua_read_mshot_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	struct ua_read_mshot *r = read_mshot_of(req);

	if (!(req->sqe_flags & IOSQE_BUFFER_SELECT))
		return -EINVAL;
	if (sqe->addr || sqe->len)
		return -EINVAL;
	r->rw_flags = sqe->rw_flags;
	r->issued = false;
	r->no_nowait = false;
	return 0;
}

static int done(struct ua_req *req, int res)
{
	req->res = res;
	req->failed = res < 0;
	return UA_DONE;
}

/* Whether epoll takes fd: the kernel's test that the file can poll. */
static bool epoll_takes(int fd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int ep = epoll_create1(EPOLL_CLOEXEC);
	bool ok;

	if (ep < 0)
		return true;	/* no way to tell: the park will say */
	ok = !epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) || errno != EPERM;
	close(ep);
	return ok;
}

/* The first issue's checks, in the kernel's order after the file lookup:
 * a file that polls, then flags it knows. */
static int check_file(struct ua_req *req)
{
	struct stat st;

	if (fstat(req->fd, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) ||
	    S_ISBLK(st.st_mode))
		return -EBADFD;
	if (!S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode) &&
	    !epoll_takes(req->fd))
		return -EBADFD;
	if (read_mshot_of(req)->rw_flags & ~RWF_KNOWN)
		return -EOPNOTSUPP;
	/* Polled I/O needs an IOPOLL ring, which this engine does not offer. */
	if (read_mshot_of(req)->rw_flags & RWF_HIPRI)
		return -EINVAL;
	req->file_kind = UA_FILE_STREAM;
	return 0;
}

static bool readable_now(int fd)
{
	int err;

	return ua_poll_events_now(fd, POLLIN | POLLRDHUP, &err) || err;
}

/* One read that never blocks: -EAGAIN when nothing is there. */
static ssize_t read_once(struct ua_req *req, void *buf, size_t len)
{
	struct ua_read_mshot *r = read_mshot_of(req);
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	ssize_t n;

	if (!r->no_nowait) {
		n = preadv2(req->fd, &iov, 1, -1, r->rw_flags | RWF_NOWAIT);
		if (n >= 0 || errno != EOPNOTSUPP)
			return n < 0 ? -errno : n;
		r->no_nowait = true;
	}
	if (!readable_now(req->fd))
		return -EAGAIN;
	n = preadv2(req->fd, &iov, 1, -1, r->rw_flags);
	return n < 0 ? -errno : n;
}

/*
 * No buffer left. The first issue fails at once, as the kernel's selects
 * before it reads; a later run only fails if data is there, since the
 * kernel re-arms after a read and selects again only once the file is
 * readable.
 */
static int no_buffer(struct ua_req *req, bool first)
{
	if (first || readable_now(req->fd))
		return done(req, -ENOBUFS);
	return UA_AGAIN;
}

int ua_read_mshot(struct ua_req *req, unsigned issue_flags)
{
	struct ua_read_mshot *r = read_mshot_of(req);
	bool first = !r->issued;
	struct ua_kbuf_sel sel;
	unsigned reads = 0;
	size_t len;
	ssize_t n;
	void *buf;
	__u32 cflags;
	int ret;

	(void) issue_flags;
	if (first) {
		ret = check_file(req);
		if (ret)
			return done(req, ret);
		r->issued = true;
	}
	for (;; first = false) {
		len = 0;	/* the whole buffer */
		buf = ua_kbuf_get(req, &len, &sel);
		if (!buf)
			return no_buffer(req, first);
		n = read_once(req, buf, len);
		if (n <= 0) {
			ua_kbuf_recycle(req, &sel);
			if (n == -EAGAIN && !(r->rw_flags & RWF_NOWAIT))
				return UA_AGAIN;
			return done(req, (int) n);
		}
		cflags = ua_kbuf_consume(req, &sel, (size_t) n);
		if (!ua_post_cqe_more(req->ctx, req->user_data, (__s32) n,
				      cflags)) {
			req->cflags = cflags;	/* CQ full: the last CQE */
			return done(req, (int) n);
		}
		if (++reads == READ_MSHOT_BATCH)
			return UA_REQUEUE;
	}
}
