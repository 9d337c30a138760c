/* SPDX-License-Identifier: MIT */
/*
 * READ, WRITE, READV, WRITEV, READ_FIXED, WRITE_FIXED.
 *
 * Inline, every transfer is tried with RWF_NOWAIT: a page-cache hit
 * completes in the submitter's thread with one preadv2/pwritev2 and no
 * handoff. -EAGAIN means the data is not there (or the stream is not ready):
 * a pipe, socket or tty request is parked on readiness and retried
 * (poll.c), a file request goes to a worker, keeping in rw.done what it
 * already moved.
 *
 * Results follow the kernel: a regular file is read or written in full
 * (a short transfer is continued; only end of file stops a read), a stream
 * returns what one transfer moved, and an error after some progress reports
 * the progress. A stream's offset is ignored, as the kernel ignores it for
 * FMODE_STREAM files; an offset of -1 means the file position.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/aio_abi.h>
#include "engine/file.h"
#include "engine/iowq.h"
#include "engine/kbuf.h"
#include "engine/req.h"
#include "engine/ring.h"
#include "engine/rsrc.h"
#include "engine/rw.h"
#include "engine/uaccess.h"
#include "engine/opdef.h"

#define UA_FAST_IOV		8
struct ua_rw {
	__u64		addr;
	__u32		len;		/* bytes, or iovecs for the vectored ops */
	__s64		off;		/* -1: use and advance the file position */
	int		rw_flags;
	__u16		buf_index;
	bool		vectored;
	bool		stream;		/* offset ignored, as the kernel does */
	bool		no_nowait;	/* the file rejects RWF_NOWAIT */
	bool		positional;	/* a blocking inline write: no stream */
	bool		selected;	/* owns a provided buffer (addr, len) */
	size_t		done;		/* bytes moved by earlier attempts */
	size_t		want;		/* bytes asked for; 0 until known */
	struct ua_buf_node *buf_node;	/* READ/WRITE_FIXED, once imported */
	struct iovec	*iov;		/* private copy, advanced past done */
	struct iovec	*iov_alloc;	/* heap copy to free, if not fast_iov */
	unsigned	nr_iov;
	struct iovec	fast_iov[UA_FAST_IOV];
};
#define rw_of(req)	ua_cmd(req, struct ua_rw)

static bool is_write(const struct ua_req *req)
{
	return req->opcode == IORING_OP_WRITE ||
	       req->opcode == IORING_OP_WRITEV ||
	       req->opcode == IORING_OP_WRITE_FIXED ||
	       req->opcode == IORING_OP_WRITEV_FIXED;
}

static bool is_fixed(const struct ua_req *req)
{
	return req->opcode == IORING_OP_READ_FIXED ||
	       req->opcode == IORING_OP_WRITE_FIXED;
}

static bool is_fixed_vec(const struct ua_req *req)
{
	return req->opcode == IORING_OP_READV_FIXED ||
	       req->opcode == IORING_OP_WRITEV_FIXED;
}

/*
 * IOSQE_BUFFER_SELECT: the data goes to a provided buffer of group
 * sqe->buf_group, of at most len bytes (0: the whole buffer). A READV names
 * its limit with exactly one iovec, which the kernel reads at submission;
 * from there on it is a plain READ.
 */
static int select_prep(struct ua_req *req)
{
	struct ua_rw *rw = rw_of(req);

	if (rw->vectored) {
		struct iovec iov;

		if (rw->len != 1)
			return -EINVAL;
		if (ua_copy_from_user(&iov, rw->addr, sizeof(iov)))
			return -EFAULT;
		rw->len = (__u32) iov.iov_len;	/* truncated, as the kernel's */
		rw->vectored = false;
	}
	rw->want = 0;
	return 0;
}

int ua_rw_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	struct ua_rw *rw = rw_of(req);

	rw->addr = sqe->addr;
	rw->len = sqe->len;
	rw->off = (__s64) sqe->off;
	rw->rw_flags = sqe->rw_flags;
	rw->buf_index = sqe->buf_index;
	rw->vectored = req->opcode == IORING_OP_READV ||
		       req->opcode == IORING_OP_WRITEV ||
		       is_fixed_vec(req);
	rw->stream = false;
	rw->no_nowait = false;
	rw->positional = false;
	rw->done = 0;
	rw->want = rw->vectored ? 0 : rw->len;
	rw->buf_node = NULL;
	rw->iov = rw->iov_alloc = NULL;
	rw->nr_iov = 0;
	rw->selected = false;
	if (req->sqe_flags & IOSQE_BUFFER_SELECT)
		return select_prep(req);
	return 0;
}

/*
 * The registered buffer must contain [addr, addr + len), as in the kernel.
 * The first issue takes the buffer's node, which the request holds until
 * it is freed: a retry on a worker or the poller checks against the same
 * buffer, even after the table was updated or unregistered.
 */
static int import_fixed(struct ua_req *req)
{
	struct ua_rw *rw = rw_of(req);

	return ua_buf_import(req->ctx, rw->buf_index, &rw->buf_node, rw->addr,
			     rw->len);
}

int ua_rw_fixed_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	ua_rw_prep(req, sqe);
	return 0;
}

/*
 * READV_FIXED and WRITEV_FIXED: the kernel copies the iovecs at submission
 * and checks their lengths as readv(2) does; each must then lie inside the
 * registered buffer (checked at issue, import_fixed_vec).
 */
int ua_rwv_fixed_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	const struct iovec *iov;
	unsigned i;
	int ret;

	ua_rw_prep(req, sqe);
	ret = ua_rw_prepare_async(req);
	if (ret)
		return ret;
	iov = rw_of(req)->iov;
	for (i = 0; i < rw_of(req)->nr_iov; i++)
		if (iov[i].iov_len > SSIZE_MAX)
			return -EINVAL;
	return 0;
}

/* Every iovec, even an empty one, inside the registered buffer, as the
 * kernel's import requires; the node is held as import_fixed() holds it. */
static int import_fixed_vec(struct ua_req *req)
{
	struct ua_rw *rw = rw_of(req);
	unsigned i;
	int ret = 0;

	for (i = 0; i < rw->nr_iov && !ret; i++)
		ret = ua_buf_import(req->ctx, rw->buf_index, &rw->buf_node,
				    (__u64) (uintptr_t) rw->iov[i].iov_base,
				    rw->iov[i].iov_len);
	return ret;
}

static void advance_private_iov(struct ua_rw *rw, size_t n)
{
	while (n && rw->nr_iov) {
		if (n < rw->iov->iov_len) {
			rw->iov->iov_base = (char *) rw->iov->iov_base + n;
			rw->iov->iov_len -= n;
			return;
		}
		n -= rw->iov->iov_len;
		rw->iov++;
		rw->nr_iov--;
	}
}

/*
 * Before a vectored request leaves the submitter: copy the application's
 * iovecs, which it may reuse as soon as io_uring_enter returns
 * (IORING_FEAT_SUBMIT_STABLE). A chain member, a drained request or an
 * IOSQE_ASYNC one gets here before any transfer has tried the array, so
 * the copy checks it as the kernel's import does.
 */
int ua_rw_prepare_async(struct ua_req *req)
{
	struct ua_rw *rw = rw_of(req);
	struct iovec *iov = rw->fast_iov;
	size_t size = rw->len * sizeof(*iov);

	if (!rw->vectored || rw->iov)
		return 0;
	if (rw->len > UA_UIO_MAXIOV)
		return -EINVAL;
	if (rw->len > UA_FAST_IOV) {
		iov = malloc(size);
		if (!iov)
			return -ENOMEM;
	}
	if (ua_copy_from_user(iov, rw->addr, size)) {
		if (iov != rw->fast_iov)
			free(iov);
		return -EFAULT;
	}
	rw->iov = iov;
	rw->iov_alloc = iov != rw->fast_iov ? iov : NULL;
	rw->nr_iov = rw->len;
	advance_private_iov(rw, rw->done);
	return 0;
}

void ua_rw_cleanup(struct ua_req *req)
{
	free(rw_of(req)->iov_alloc);
	rw_of(req)->iov_alloc = NULL;
	if (rw_of(req)->buf_node)
		ua_buf_node_put(rw_of(req)->buf_node);
	rw_of(req)->buf_node = NULL;
}

/* The iovecs still to transfer. */
static int next_iov(struct ua_req *req, struct iovec *one,
		    const struct iovec **iov)
{
	struct ua_rw *rw = rw_of(req);

	if (rw->iov) {
		*iov = rw->iov;
		return (int) rw->nr_iov;
	}
	if (rw->vectored) {
		*iov = (const struct iovec *) (uintptr_t) rw->addr;
		return (int) rw->len;
	}
	one->iov_base = (char *) (uintptr_t) rw->addr + rw->done;
	one->iov_len = rw->len - rw->done;
	*iov = one;
	return 1;
}

/* Straight to the kernel: the C library's preadv2 and pwritev2 are
 * cancellation points, and io_uring_enter() is none (a thread with a
 * cancellation pending would end here with the ring's lock held). The
 * offset's high half is 0: a 64-bit kernel takes all of it from the low. */
static ssize_t sys_rw(struct ua_req *req, const struct iovec *iov, int nr,
		      off_t off, int flags)
{
	long n = syscall(is_write(req) ? SYS_pwritev2 : SYS_preadv2, req->fd,
			 iov, nr, (long) off, 0L, flags);

	return n < 0 ? -errno : n;
}

/* One system call. Returns bytes moved or -errno. */
static ssize_t transfer(struct ua_req *req, int flags)
{
	struct ua_rw *rw = rw_of(req);
	const struct iovec *iov;
	struct iovec one;
	int nr = next_iov(req, &one, &iov);
	/* A descriptor known to be a stream (a fixed file's node says so)
	 * is read at -1 at once: its offset would only fail with ESPIPE. */
	bool stream = rw->stream || req->file_kind == UA_FILE_STREAM;
	off_t off = stream || rw->off == -1 ? -1 : rw->off + (off_t) rw->done;
	ssize_t n = sys_rw(req, iov, nr, off, flags);

	if (n == -ESPIPE && off != -1 && !rw->positional) {
		rw->stream = true;
		n = sys_rw(req, iov, nr, -1, flags);
	}
	if (n >= 0 && !rw->want) {
		size_t total = rw->done;
		int i;

		for (i = 0; i < nr; i++)
			total += iov[i].iov_len;
		rw->want = total;
	}
	return n;
}

static int finish(struct ua_req *req, ssize_t err)
{
	struct ua_rw *rw = rw_of(req);

	req->res = rw->done ? (__s32) rw->done : (__s32) err;
	req->failed = req->res < 0 || rw->done < rw->want;
	return UA_DONE;
}

/* Accounts a successful transfer; true when the request is complete. */
static bool progress(struct ua_req *req, ssize_t n)
{
	struct ua_rw *rw = rw_of(req);

	rw->done += (size_t) n;
	if (rw->iov)
		advance_private_iov(rw, (size_t) n);
	if (!n || rw->done >= rw->want)
		return true;
	if (req->file_kind == UA_FILE_UNKNOWN)
		ua_req_classify_file(req);
	return req->file_kind == UA_FILE_STREAM;
}

#define UA_CONTINUE	(-1)

/* Applies one non-blocking transfer's result: UA_DONE, UA_AGAIN (not
 * ready), UA_PUNT (only a blocking call will do), or UA_CONTINUE when a
 * seekable file has more to move right now. */
static int inline_step(struct ua_req *req, ssize_t n)
{
	if (n >= 0) {
		if (progress(req, n))
			return finish(req, 0);
		if (ua_rw_prepare_async(req))
			return finish(req, -ENOMEM);
		return UA_CONTINUE;
	}
	if (rw_of(req)->rw_flags & RWF_NOWAIT)
		return finish(req, n);		/* the application asked */
	if (n == -EOPNOTSUPP) {
		rw_of(req)->no_nowait = true;	/* the worker blocks */
		return UA_PUNT;
	}
	if (n != -EAGAIN)
		return finish(req, n);
	return UA_AGAIN;
}

/*
 * Buffered writes to a regular file refuse RWF_NOWAIT on ext4 (-EOPNOTSUPP
 * to every one) and others may (-EAGAIN), so trying each inline first and then
 * handing it to a worker cost a failed call, an fstat and a thread switch
 * per write. The kernel's own io_uring completes such writes in the
 * submitting task: copying into the page cache blocks only on page
 * allocation and dirty throttling. So a descriptor whose positional write
 * was refused is remembered per ring, and its positional writes are made
 * with a plain pwritev2 inline from then on. A refusal of a positional
 * write proves the file takes pwrite at all: a pipe or a socket fails with
 * -ESPIPE before anything else. That also keeps the knowledge safe when the
 * number is closed and reused: a stream under it fails with -ESPIPE at once
 * without blocking, the mark goes, and the write takes the usual way; a
 * regular file under it is simply written.
 */
static unsigned long *write_mark_word(const struct ua_req *req,
				      unsigned long *bit)
{
	unsigned fd = (unsigned) req->fd;
	const unsigned word_bits = 8 * sizeof(long);

	if (fd >= UA_RW_LEARN_FDS)
		return NULL;
	*bit = 1ul << (fd % word_bits);
	return &req->ctx->write_blocks_inline[fd / word_bits];
}

/* A write that may go blocking inline: positional, on no known stream,
 * and the application did not ask for RWF_NOWAIT. */
static bool may_write_blocking_inline(const struct ua_req *req)
{
	const struct ua_rw *rw = rw_of(req);

	return is_write(req) && rw->off >= 0 && !rw->stream &&
	       req->file_kind != UA_FILE_STREAM &&
	       !(rw->rw_flags & (RWF_NOWAIT | RWF_HIPRI));
}

static bool writes_block_inline(const struct ua_req *req)
{
	unsigned long bit, *word = write_mark_word(req, &bit);

	return word && may_write_blocking_inline(req) &&
	       (__atomic_load_n(word, __ATOMIC_RELAXED) & bit);
}

static void mark_writes_block_inline(const struct ua_req *req, bool on)
{
	unsigned long bit, *word = write_mark_word(req, &bit);

	if (!word)
		return;
	if (on)
		__atomic_fetch_or(word, bit, __ATOMIC_RELAXED);
	else
		__atomic_fetch_and(word, ~bit, __ATOMIC_RELAXED);
}

static int issue_nowait(struct ua_req *req)
{
	int ret;

	do {
		ret = inline_step(req, transfer(req, rw_of(req)->rw_flags |
						     RWF_NOWAIT));
	} while (ret == UA_CONTINUE);
	return ret;
}

/* A plain pwritev2 at the request's offset, continued until whole; a
 * stream found under the number (-ESPIPE) goes back to the usual way. */
static int write_blocking_inline(struct ua_req *req)
{
	struct ua_rw *rw = rw_of(req);
	ssize_t n;
	int ret;

	rw->positional = true;
	do {
		n = transfer(req, rw->rw_flags);
		if (n == -ESPIPE) {
			rw->positional = false;
			mark_writes_block_inline(req, false);
			return issue_nowait(req);
		}
		ret = n < 0 ? finish(req, n) : inline_step(req, n);
	} while (ret == UA_CONTINUE);
	rw->positional = false;
	return ret;
}

/* O_DIRECT waits for the device: its writes keep going to workers, many
 * at once, rather than one at a time in the submitter. */
static bool goes_to_device(const struct ua_req *req)
{
	int fl = fcntl(req->fd, F_GETFL);

	return fl < 0 || (fl & O_DIRECT);
}

/* After the RWF_NOWAIT try: a positional write the file refused (-EAGAIN,
 * or -EOPNOTSUPP for the flag itself) is made blocking now, and the
 * descriptor remembered. */
static int after_nowait_try(struct ua_req *req, int ret)
{
	bool refused = ret == UA_AGAIN ||
		       (ret == UA_PUNT && rw_of(req)->no_nowait);

	if (!refused || !may_write_blocking_inline(req) || goes_to_device(req))
		return ret;
	mark_writes_block_inline(req, true);
	return write_blocking_inline(req);
}

static int issue_inline(struct ua_req *req)
{
	if (writes_block_inline(req))
		return write_blocking_inline(req);
	return after_nowait_try(req, issue_nowait(req));
}

/* A batched (aio.c) transfer returned res: finish or continue the request
 * exactly as if the submitter's own preadv2/pwritev2 had returned it. */
int ua_rw_batched_done(struct ua_req *req, long res)
{
	int ret;

	if (res >= 0 && rw_of(req)->vectored && !rw_of(req)->want) {
		/* The kernel has read the iovecs, so they are readable. */
		const struct iovec *iov =
			(const void *) (uintptr_t) rw_of(req)->addr;
		unsigned i;

		for (i = 0; i < rw_of(req)->len; i++)
			rw_of(req)->want += iov[i].iov_len;
	}
	ret = inline_step(req, res);
	if (ret == UA_CONTINUE)
		return issue_inline(req);
	return after_nowait_try(req, ret);
}

/* Whether the submitter may hand this request to a batch (aio.c): a
 * positional transfer on a file not known to be a stream. */
bool ua_rw_batchable(struct ua_req *req)
{
	const struct ua_rw *rw = rw_of(req);

	if (rw->off < 0 || rw->stream || req->file_kind == UA_FILE_STREAM ||
	    (rw->rw_flags & RWF_HIPRI) || (req->sqe_flags & IOSQE_BUFFER_SELECT) ||
	    writes_block_inline(req))
		return false;
	return !is_fixed(req) || !import_fixed(req);
}

/* Reads past this size gain little from a copy out of a map (the copy is
 * most of their cost either way) and would hold the submitter longest. */
#define UA_MAP_READ_MAX		(1u << 20)

/* A positional READ or READ_FIXED without flags that nothing has moved
 * for yet: its bytes are the file's at off, as a map shows them. */
bool ua_rw_span(struct ua_req *req, struct ua_rw_span *span)
{
	const struct ua_rw *rw = rw_of(req);

	if (is_write(req) || rw->vectored || rw->rw_flags || rw->done ||
	    rw->off < 0 || rw->stream || rw->len > UA_MAP_READ_MAX)
		return false;
	span->off = (__u64) rw->off;
	span->addr = rw->addr;
	span->len = rw->len;
	return true;
}

/* The transfer as one iocb of the batch. */
void ua_rw_fill_iocb(struct ua_req *req, struct iocb *cb)
{
	const struct ua_rw *rw = rw_of(req);
	bool vec = rw->vectored;

	memset(cb, 0, sizeof(*cb));
	if (is_write(req))
		cb->aio_lio_opcode = vec ? IOCB_CMD_PWRITEV : IOCB_CMD_PWRITE;
	else
		cb->aio_lio_opcode = vec ? IOCB_CMD_PREADV : IOCB_CMD_PREAD;
	cb->aio_fildes = (__u32) req->fd;
	cb->aio_buf = rw->addr;
	cb->aio_nbytes = rw->len;
	cb->aio_offset = rw->off;
	cb->aio_rw_flags = rw->rw_flags | RWF_NOWAIT;
	cb->aio_data = (__u64) (uintptr_t) req;
}

/*
 * In a worker. A seekable file blocks in the system call. A stream waits
 * for readiness in poll(), where teardown can interrupt it, then transfers
 * without blocking; a stream that cannot do RWF_NOWAIT (a tty) is polled
 * and then read or written blocking.
 */
static int issue_blocking(struct ua_req *req)
{
	short events = ua_opdef(req->opcode)->poll_events;
	bool stream, nowait;
	ssize_t n;
	int ret;

	if (req->file_kind == UA_FILE_UNKNOWN)
		ua_req_classify_file(req);
	stream = req->file_kind == UA_FILE_STREAM;
	nowait = stream && !rw_of(req)->no_nowait;
	for (;;) {
		if (stream && !nowait) {
			ret = ua_iowq_wait_ready(req->ctx, req->fd, events);
			if (ret)
				return finish(req, ret);
		}
		n = transfer(req, rw_of(req)->rw_flags |
				  (nowait ? RWF_NOWAIT : 0));
		if (n == -EAGAIN && nowait) {
			ret = ua_iowq_wait_ready(req->ctx, req->fd, events);
			if (ret)
				return finish(req, ret);
			continue;
		}
		if (n < 0)
			return finish(req, n);
		if (progress(req, n))
			return finish(req, 0);
	}
}

/*
 * Takes the buffer for good before the transfer, as the kernel does for a
 * file that does not poll and in its workers: whatever the result, even an
 * error, the CQE names the buffer, and every retry uses the same one.
 */
static int select_for_file(struct ua_req *req)
{
	struct ua_rw *rw = rw_of(req);
	struct ua_kbuf_sel sel;
	size_t len = rw->len;
	void *buf = ua_kbuf_get(req, &len, &sel);

	if (!buf)
		return -ENOBUFS;
	req->cflags = ua_kbuf_consume(req, &sel, len);
	rw->addr = (__u64) (uintptr_t) buf;
	rw->len = rw->want = (__u32) len;
	rw->selected = true;
	return 0;
}

/*
 * A stream (pipe, socket, tty) tried without blocking: the buffer is used
 * if data (or the end of the stream) came; on -EAGAIN it goes back to its
 * group while the request waits for readiness, and on an error the kernel
 * finds before it selects (a descriptor not open for reading...). A fault
 * in the buffer takes it, as the kernel's: the CQE names it.
 */
static int read_selected_stream(struct ua_req *req)
{
	struct ua_rw *rw = rw_of(req);
	bool app_nowait = rw->rw_flags & RWF_NOWAIT;
	struct ua_kbuf_sel sel;
	size_t len = rw->len;
	struct iovec iov;
	ssize_t n;

	iov.iov_base = ua_kbuf_get(req, &len, &sel);
	if (!iov.iov_base)
		return finish(req, -ENOBUFS);
	iov.iov_len = len;
	n = sys_rw(req, &iov, 1, -1, rw->rw_flags | RWF_NOWAIT);
	if (n == -EFAULT) {
		req->cflags = ua_kbuf_consume(req, &sel, 0);
		return finish(req, n);
	}
	if (n < 0) {
		ua_kbuf_recycle(req, &sel);
		if (n == -EAGAIN && !app_nowait)
			return UA_AGAIN;
		if (n == -EOPNOTSUPP && !app_nowait) {
			rw->no_nowait = true;	/* a worker selects and blocks */
			return UA_PUNT;
		}
		return finish(req, n);
	}
	req->cflags = ua_kbuf_consume(req, &sel, (size_t) n);
	rw->done = (size_t) n;
	rw->want = len;
	return finish(req, 0);
}

static int rw_select(struct ua_req *req, unsigned issue_flags)
{
	int ret = 0;

	if (req->file_kind == UA_FILE_UNKNOWN)
		ret = ua_req_classify_file(req);
	if (ret)
		return finish(req, ret);	/* a bad descriptor takes no buffer */
	if (req->file_kind == UA_FILE_STREAM && (issue_flags & UA_ISSUE_NONBLOCK))
		return read_selected_stream(req);
	ret = select_for_file(req);
	if (ret)
		return finish(req, ret);
	return issue_flags & UA_ISSUE_NONBLOCK ? issue_inline(req)
					       : issue_blocking(req);
}

static int rw_issue(struct ua_req *req, unsigned issue_flags)
{
	/* Polled I/O needs an IOPOLL ring, where every transfer is polled
	 * already (iopoll.c): the flag has nothing left to ask. */
	if (rw_of(req)->rw_flags & RWF_HIPRI) {
		if (!(req->ctx->setup_flags & IORING_SETUP_IOPOLL))
			return finish(req, -EINVAL);
		rw_of(req)->rw_flags &= ~RWF_HIPRI;
	}
	if (is_fixed(req) || is_fixed_vec(req)) {
		int ret = is_fixed(req) ? import_fixed(req)
					: import_fixed_vec(req);

		if (ret)
			return finish(req, ret);
	}
	if ((req->sqe_flags & IOSQE_BUFFER_SELECT) && !rw_of(req)->selected)
		return rw_select(req, issue_flags);
	if (issue_flags & UA_ISSUE_NONBLOCK)
		return issue_inline(req);
	return issue_blocking(req);
}

int ua_read(struct ua_req *req, unsigned issue_flags)
{
	return rw_issue(req, issue_flags);
}

int ua_write(struct ua_req *req, unsigned issue_flags)
{
	return rw_issue(req, issue_flags);
}
