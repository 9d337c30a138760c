/* SPDX-License-Identifier: MIT */
/*
 * Bundles (IORING_RECVSEND_BUNDLE): a RECV that fills several consecutive
 * buffers of a ring in one receive, a SEND that sends several in one
 * sendmsg, with plain and incremental rings (IOU_PBUF_RING_INC), their
 * CQEs (the bytes, the first buffer's id, IORING_CQE_F_MORE between a
 * send's passes and a multishot receive's bundles), the errors; and
 * vectorized sends (IORING_SEND_VECTORIZED). Every expected value is what
 * Linux 6.18 does on a fresh ring (the kernel maps more buffers for a
 * receive of unknown size once it has an iovec array cached, so each test
 * makes its own ring).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include "helpers.h"

#ifdef LIBURING_BEFORE_2_15
SKIP_BEFORE_2_15_MAIN()
#else

#define BGID		1
#define RING_ENTRIES	16
#define SMALL		8

struct env {
	struct io_uring ring;
	struct io_uring_buf_ring *br;
	int sv[2];			/* sv[0] is the ring's end */
	char bufs[RING_ENTRIES][SMALL];
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	if (!e || io_uring_queue_init(16, &e->ring, 0) ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, e->sv))
		return -1;
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	if (e->br)
		io_uring_free_buf_ring(&e->ring, e->br, RING_ENTRIES, BGID);
	io_uring_queue_exit(&e->ring);
	close(e->sv[0]);
	close(e->sv[1]);
	free(e);
	return 0;
}

/* Group BGID: a ring holding nr buffers of len bytes, bid i at bufs[i],
 * each filled with 'a' + i. */
static void make_ring(struct env *e, unsigned nr, unsigned len, unsigned flags)
{
	int ret;

	e->br = io_uring_setup_buf_ring(&e->ring, RING_ENTRIES, BGID, flags,
					&ret);
	assert_non_null(e->br);
	for (unsigned i = 0; i < nr; i++) {
		memset(e->bufs[i], 'a' + (int) i, SMALL);
		io_uring_buf_ring_add(e->br, e->bufs[i], len, (unsigned short) i,
				      io_uring_buf_ring_mask(RING_ENTRIES),
				      (int) i);
	}
	io_uring_buf_ring_advance(e->br, (int) nr);
}

static int head_of(struct env *e)
{
	uint16_t head;

	assert_int_equal(io_uring_buf_ring_head(&e->ring, BGID, &head), 0);
	return head;
}

/* The peer sends n bytes of the stream 0, 1, 2, ... */
static void peer_sends(struct env *e, size_t n)
{
	unsigned char data[256];

	for (size_t i = 0; i < n; i++)
		data[i] = (unsigned char) i;
	assert_int_equal(write(e->sv[1], data, n), (ssize_t) n);
}

/* Buffers first.. hold bytes from..from+n of that stream, SMALL a buffer. */
static void assert_received(struct env *e, unsigned first, size_t from,
			    size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal((unsigned char) e->bufs[first + i / SMALL][i % SMALL],
				 (unsigned char) (from + i));
}

static void prep_recv_bundle(struct io_uring_sqe *sqe, int fd, unsigned len)
{
	io_uring_prep_recv(sqe, fd, NULL, len, 0);
	sqe->ioprio |= IORING_RECVSEND_BUNDLE;
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
}

static struct test_cqe submit_reap(struct io_uring *ring)
{
	struct test_cqe c;

	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(reap_bounded(ring, &c, 5), 0);
	return c;
}

#define BUF_FLAGS	(IORING_CQE_F_BUFFER | IORING_CQE_F_MORE | \
			 IORING_CQE_F_SOCK_NONEMPTY | IORING_CQE_F_BUF_MORE)
#define BID(c)		((c).flags >> IORING_CQE_BUFFER_SHIFT)

static void test_feature_bit(void **state)
{
	struct io_uring_params p;
	struct io_uring ring;

	(void) state;
	memset(&p, 0, sizeof(p));
	assert_int_equal(io_uring_queue_init_params(4, &ring, &p), 0);
	assert_true(p.features & IORING_FEAT_RECVSEND_BUNDLE);
	io_uring_queue_exit(&ring);
}

/* One receive fills consecutive buffers; when it filled all it mapped
 * and more is queued, a second is appended to the same CQE. */
static void test_recv_bundle_fills_buffers(void **state)
{
	struct env *e = *state;
	struct test_cqe c;

	make_ring(e, 8, SMALL, 0);
	peer_sends(e, 20);
	prep_recv_bundle(must_get_sqe(&e->ring), e->sv[0], 16);
	c = submit_reap(&e->ring);
	assert_int_equal(c.res, 20);
	assert_int_equal(c.flags & BUF_FLAGS, IORING_CQE_F_BUFFER);
	assert_int_equal(BID(c), 0);
	assert_int_equal(head_of(e), 3);
	assert_received(e, 0, 0, 20);
}

/* A buffer the length would cut is left out (unless it is the only
 * one); the next bundle starts at the following buffer. */
static void test_recv_bundle_length_leaves_cut_buffer(void **state)
{
	struct env *e = *state;
	struct test_cqe c;

	make_ring(e, 8, SMALL, 0);
	peer_sends(e, 20);
	prep_recv_bundle(must_get_sqe(&e->ring), e->sv[0], 12);
	c = submit_reap(&e->ring);
	assert_int_equal(c.res, 8);
	assert_int_equal(c.flags & BUF_FLAGS,
			 IORING_CQE_F_BUFFER | IORING_CQE_F_SOCK_NONEMPTY);
	assert_int_equal(BID(c), 0);
	assert_int_equal(head_of(e), 1);

	prep_recv_bundle(must_get_sqe(&e->ring), e->sv[0], 16);
	c = submit_reap(&e->ring);
	assert_int_equal(c.res, 12);
	assert_int_equal(c.flags & BUF_FLAGS, IORING_CQE_F_BUFFER);
	assert_int_equal(BID(c), 1);
	assert_int_equal(head_of(e), 3);
	assert_received(e, 0, 0, 20);
}

/* An incremental ring gives up bytes, not buffers: the last buffer keeps
 * what is left of it (IORING_CQE_F_BUF_MORE), and those used up are left
 * with length 0. */
static void test_recv_bundle_incremental(void **state)
{
	struct env *e = *state;
	struct test_cqe c;

	make_ring(e, 4, SMALL, IOU_PBUF_RING_INC);
	peer_sends(e, 13);
	prep_recv_bundle(must_get_sqe(&e->ring), e->sv[0], 0);
	c = submit_reap(&e->ring);
	assert_int_equal(c.res, 13);
	assert_int_equal(c.flags & BUF_FLAGS,
			 IORING_CQE_F_BUFFER | IORING_CQE_F_BUF_MORE);
	assert_int_equal(BID(c), 0);
	assert_int_equal(head_of(e), 1);
	assert_int_equal(e->br->bufs[0].len, 0);
	assert_int_equal(e->br->bufs[1].len, 3);
	assert_true(e->br->bufs[1].addr == (uintptr_t) e->bufs[1] + 5);
	assert_int_equal(e->br->bufs[2].len, SMALL);
	assert_received(e, 0, 0, 13);
}

/* A multishot bundle receive posts a bundle per CQE; a receive that
 * finds the ring empty ends it with -ENOBUFS. */
static void test_recv_bundle_multishot(void **state)
{
	struct env *e = *state;
	struct io_uring_sqe *sqe;
	struct test_cqe c;

	make_ring(e, 3, SMALL, 0);
	sqe = must_get_sqe(&e->ring);
	prep_recv_bundle(sqe, e->sv[0], 0);
	sqe->ioprio |= IORING_RECV_MULTISHOT;
	assert_int_equal(io_uring_submit(&e->ring), 1);
	peer_sends(e, 20);
	/* The data arrives after the request waits: the engine receives it
	 * in another thread, whose writes the engine's wait orders. */
	assert_int_equal(reap_in_engine(&e->ring, &c), 0);
	assert_int_equal(c.res, 16);
	assert_int_equal(c.flags & BUF_FLAGS, IORING_CQE_F_BUFFER |
			 IORING_CQE_F_MORE | IORING_CQE_F_SOCK_NONEMPTY);
	assert_int_equal(BID(c), 0);
	assert_int_equal(reap_in_engine(&e->ring, &c), 0);
	assert_int_equal(c.res, 4);
	assert_int_equal(c.flags & BUF_FLAGS,
			 IORING_CQE_F_BUFFER | IORING_CQE_F_MORE);
	assert_int_equal(BID(c), 2);
	assert_received(e, 0, 0, 20);
	assert_int_equal(head_of(e), 3);

	peer_sends(e, 3);
	assert_int_equal(reap_bounded(&e->ring, &c, 5), 0);
	assert_int_equal(c.res, -ENOBUFS);
	assert_int_equal(c.flags & IORING_CQE_F_MORE, 0);
}

/* A multishot bundle that takes the ring's last buffer is the last. */
static void test_recv_bundle_multishot_ends_on_last_buffer(void **state)
{
	struct env *e = *state;
	struct io_uring_sqe *sqe;
	struct test_cqe c;

	make_ring(e, 4, SMALL, 0);
	peer_sends(e, 40);
	sqe = must_get_sqe(&e->ring);
	prep_recv_bundle(sqe, e->sv[0], 0);
	sqe->ioprio |= IORING_RECV_MULTISHOT;
	c = submit_reap(&e->ring);
	assert_int_equal(c.res, 32);
	assert_int_equal(c.flags & BUF_FLAGS,
			 IORING_CQE_F_BUFFER | IORING_CQE_F_SOCK_NONEMPTY);
	assert_int_equal(head_of(e), 4);
	assert_true(cq_is_empty(&e->ring));
}

static void test_recv_bundle_errors(void **state)
{
	struct env *e = *state;
	struct io_uring_sqe *sqe;
	struct msghdr msg;
	char plain[32];
	struct test_cqe c;

	/* No buffer group yet, then an empty ring. */
	peer_sends(e, 5);
	prep_recv_bundle(must_get_sqe(&e->ring), e->sv[0], 0);
	assert_int_equal(submit_reap(&e->ring).res, -ENOENT);
	make_ring(e, 0, SMALL, 0);
	prep_recv_bundle(must_get_sqe(&e->ring), e->sv[0], 0);
	assert_int_equal(submit_reap(&e->ring).res, -ENOBUFS);

	/* RECVMSG takes no bundle. */
	memset(&msg, 0, sizeof(msg));
	sqe = must_get_sqe(&e->ring);
	io_uring_prep_recvmsg(sqe, e->sv[0], &msg, 0);
	sqe->ioprio |= IORING_RECVSEND_BUNDLE;
	assert_int_equal(submit_reap(&e->ring).res, -EINVAL);

	/* Without a buffer group, the flag changes nothing. */
	sqe = must_get_sqe(&e->ring);
	io_uring_prep_recv(sqe, e->sv[0], plain, sizeof(plain), 0);
	sqe->ioprio |= IORING_RECVSEND_BUNDLE;
	c = submit_reap(&e->ring);
	assert_int_equal(c.res, 5);
	assert_int_equal(c.flags & IORING_CQE_F_BUFFER, 0);
}

/* ---- sends ---- */

static void prep_send_bundle(struct io_uring_sqe *sqe, int fd, size_t len)
{
	io_uring_prep_send_bundle(sqe, fd, len, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
}

/* What the peer has received: n bytes, in expect. */
static void assert_peer_got(struct env *e, const char *expect, size_t n)
{
	char got[512];

	assert_int_equal(recv(e->sv[1], got, sizeof(got), MSG_DONTWAIT),
			 (ssize_t) n);
	assert_memory_equal(got, expect, n);
}

/* One sendmsg of all the ring's buffers, which takes the last: one CQE. */
static void test_send_bundle_sends_ring(void **state)
{
	struct env *e = *state;
	struct test_cqe c;

	make_ring(e, 4, SMALL, 0);
	prep_send_bundle(must_get_sqe(&e->ring), e->sv[0], 0);
	c = submit_reap(&e->ring);
	assert_int_equal(c.res, 32);
	assert_int_equal(c.flags & BUF_FLAGS, IORING_CQE_F_BUFFER);
	assert_int_equal(BID(c), 0);
	assert_int_equal(head_of(e), 4);
	assert_peer_got(e, (const char *) e->bufs, 32);
	assert_true(cq_is_empty(&e->ring));
}

/* The length bounds the first pass (a buffer it would cut is left out);
 * the next passes send the rest, each with its CQE. */
static void test_send_bundle_passes(void **state)
{
	struct env *e = *state;
	struct test_cqe c;

	make_ring(e, 4, SMALL, 0);
	prep_send_bundle(must_get_sqe(&e->ring), e->sv[0], 12);
	c = submit_reap(&e->ring);
	assert_int_equal(c.res, 8);
	assert_int_equal(c.flags & BUF_FLAGS,
			 IORING_CQE_F_BUFFER | IORING_CQE_F_MORE);
	assert_int_equal(BID(c), 0);
	assert_int_equal(reap_bounded(&e->ring, &c, 5), 0);
	assert_int_equal(c.res, 24);
	assert_int_equal(c.flags & BUF_FLAGS, IORING_CQE_F_BUFFER);
	assert_int_equal(BID(c), 1);
	assert_peer_got(e, (const char *) e->bufs, 32);
}

/* An incremental ring: the first pass sends part of a buffer, the next
 * starts with the rest of it. */
static void test_send_bundle_incremental(void **state)
{
	struct env *e = *state;
	struct test_cqe c;

	make_ring(e, 4, SMALL, IOU_PBUF_RING_INC);
	prep_send_bundle(must_get_sqe(&e->ring), e->sv[0], 12);
	c = submit_reap(&e->ring);
	assert_int_equal(c.res, 12);
	assert_int_equal(c.flags & BUF_FLAGS, IORING_CQE_F_BUFFER |
			 IORING_CQE_F_MORE | IORING_CQE_F_BUF_MORE);
	assert_int_equal(BID(c), 0);
	assert_int_equal(reap_bounded(&e->ring, &c, 5), 0);
	assert_int_equal(c.res, 20);
	assert_int_equal(c.flags & BUF_FLAGS, IORING_CQE_F_BUFFER);
	assert_int_equal(BID(c), 1);
	assert_int_equal(e->br->bufs[1].len, 0);
	assert_peer_got(e, (const char *) e->bufs, 32);
}

/* A list of provided buffers gives one buffer a pass. */
static void test_send_bundle_legacy_buffers(void **state)
{
	struct env *e = *state;
	struct test_cqe c;

	for (unsigned i = 0; i < 3; i++)
		memset(e->bufs[i], 'a' + (int) i, SMALL);
	io_uring_prep_provide_buffers(must_get_sqe(&e->ring), e->bufs, SMALL,
				      3, BGID, 0);
	assert_int_equal(submit_reap(&e->ring).res, 0);
	prep_send_bundle(must_get_sqe(&e->ring), e->sv[0], 0);
	assert_int_equal(io_uring_submit(&e->ring), 1);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(reap_bounded(&e->ring, &c, 5), 0);
		assert_int_equal(c.res, SMALL);
		assert_int_equal(BID(c), i);
		assert_int_equal(c.flags & BUF_FLAGS, IORING_CQE_F_BUFFER |
				 (i < 2 ? IORING_CQE_F_MORE : 0));
	}
	assert_peer_got(e, (const char *) e->bufs, 3 * SMALL);
}

/* A bundle bigger than the socket takes waits for room and completes
 * with all of it. */
static void test_send_bundle_waits_for_room(void **state)
{
	enum { BIG = 65536, NR = 4 };
	struct env *e = *state;
	char *mem = malloc(BIG * NR), *got = malloc(BIG * NR);
	size_t n = 0;
	struct test_cqe c;
	int ret;

	assert_non_null(mem);
	assert_non_null(got);
	e->br = io_uring_setup_buf_ring(&e->ring, RING_ENTRIES, BGID, 0, &ret);
	assert_non_null(e->br);
	for (unsigned i = 0; i < NR; i++) {
		fill_pattern(mem + i * BIG, BIG, i * BIG, 3);
		io_uring_buf_ring_add(e->br, mem + i * BIG, BIG, (unsigned short) i,
				      io_uring_buf_ring_mask(RING_ENTRIES),
				      (int) i);
	}
	io_uring_buf_ring_advance(e->br, NR);
	prep_send_bundle(must_get_sqe(&e->ring), e->sv[0], 0);
	assert_int_equal(io_uring_submit(&e->ring), 1);
	while (n < BIG * NR) {
		struct pollfd p = { .fd = e->sv[1], .events = POLLIN };
		ssize_t r;

		assert_int_equal(poll(&p, 1, 5000), 1);
		r = read(e->sv[1], got + n, BIG * NR - n);
		assert_true(r > 0);
		n += (size_t) r;
	}
	assert_true(check_pattern(got, BIG * NR, 0, 3));
	assert_int_equal(reap_bounded(&e->ring, &c, 5), 0);
	assert_int_equal(c.res, BIG * NR);
	assert_int_equal(c.flags & BUF_FLAGS, IORING_CQE_F_BUFFER);
	assert_int_equal(BID(c), 0);
	free(mem);
	free(got);
}

static void test_send_bundle_errors(void **state)
{
	struct env *e = *state;
	struct io_uring_sqe *sqe;
	struct msghdr msg;
	struct test_cqe c;
	char data[8] = "bundled";

	prep_send_bundle(must_get_sqe(&e->ring), e->sv[0], 0);
	assert_int_equal(submit_reap(&e->ring).res, -ENOENT);
	make_ring(e, 0, SMALL, 0);
	prep_send_bundle(must_get_sqe(&e->ring), e->sv[0], 0);
	assert_int_equal(submit_reap(&e->ring).res, -ENOBUFS);

	memset(&msg, 0, sizeof(msg));
	sqe = must_get_sqe(&e->ring);
	io_uring_prep_sendmsg(sqe, e->sv[0], &msg, 0);
	sqe->ioprio |= IORING_RECVSEND_BUNDLE;
	assert_int_equal(submit_reap(&e->ring).res, -EINVAL);

	/* A zero-copy send takes no bundle: its notification follows. */
	sqe = must_get_sqe(&e->ring);
	io_uring_prep_send_zc(sqe, e->sv[0], data, sizeof(data), 0, 0);
	sqe->ioprio |= IORING_RECVSEND_BUNDLE;
	c = submit_reap(&e->ring);
	assert_int_equal(c.res, -EINVAL);
	assert_true(c.flags & IORING_CQE_F_MORE);
	assert_int_equal(reap_bounded(&e->ring, &c, 5), 0);
	assert_true(c.flags & IORING_CQE_F_NOTIF);

	/* Without a buffer group: the buffer, then a pass with nothing. */
	sqe = must_get_sqe(&e->ring);
	io_uring_prep_send(sqe, e->sv[0], data, sizeof(data), 0);
	sqe->ioprio |= IORING_RECVSEND_BUNDLE;
	c = submit_reap(&e->ring);
	assert_int_equal(c.res, sizeof(data));
	assert_int_equal(c.flags & BUF_FLAGS, IORING_CQE_F_MORE);
	assert_int_equal(reap_bounded(&e->ring, &c, 5), 0);
	assert_int_equal(c.res, 0);
	assert_int_equal(c.flags & BUF_FLAGS, 0);
	assert_peer_got(e, data, sizeof(data));
}

/* ---- IORING_SEND_VECTORIZED ---- */

static void prep_send_vec(struct io_uring_sqe *sqe, int fd,
			  const struct iovec *iov, unsigned nr)
{
	io_uring_prep_send(sqe, fd, iov, nr, 0);
	sqe->ioprio |= IORING_SEND_VECTORIZED;
}

/* The iovecs are read at submission: the array may go at once. */
static void test_send_vectorized(void **state)
{
	struct env *e = *state;
	struct iovec *iov = malloc(3 * sizeof(*iov));

	assert_non_null(iov);
	iov[0] = (struct iovec) { "abc", 3 };
	iov[1] = (struct iovec) { "defg", 4 };
	iov[2] = (struct iovec) { "hijkl", 5 };
	prep_send_vec(must_get_sqe(&e->ring), e->sv[0], iov, 3);
	assert_int_equal(io_uring_submit(&e->ring), 1);
	memset(iov, 0xff, 3 * sizeof(*iov));
	free(iov);
	{
		struct test_cqe c;

		assert_int_equal(reap_bounded(&e->ring, &c, 5), 0);
		assert_int_equal(c.res, 12);
	}
	assert_peer_got(e, "abcdefghijkl", 12);

	prep_send_vec(must_get_sqe(&e->ring), e->sv[0], NULL, 0);
	assert_int_equal(submit_reap(&e->ring).res, 0);
}

/* To a sendto() address, on a datagram socket: one datagram. */
static void test_send_vectorized_to(void **state)
{
	struct env *e = *state;
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(to);
	struct iovec iov[2] = { { "abc", 3 }, { "defg", 4 } };
	int tx = socket(AF_INET, SOCK_DGRAM, 0), rx = socket(AF_INET, SOCK_DGRAM, 0);
	struct io_uring_sqe *sqe;
	char got[16];

	assert_true(tx >= 0 && rx >= 0);
	assert_int_equal(bind(rx, (struct sockaddr *) &to, sizeof(to)), 0);
	assert_int_equal(getsockname(rx, (struct sockaddr *) &to, &len), 0);
	sqe = must_get_sqe(&e->ring);
	io_uring_prep_sendto(sqe, tx, iov, 2, 0, (struct sockaddr *) &to,
			     sizeof(to));
	sqe->ioprio |= IORING_SEND_VECTORIZED;
	assert_int_equal(submit_reap(&e->ring).res, 7);
	assert_int_equal(recv(rx, got, sizeof(got), MSG_DONTWAIT), 7);
	assert_memory_equal(got, "abcdefg", 7);
	close(tx);
	close(rx);
}

static void test_send_vectorized_errors(void **state)
{
	struct env *e = *state;
	static struct iovec many[UIO_MAXIOV + 1];
	struct iovec bad[2] = { { (void *) 8, 3 }, { "x", 1 } };
	struct io_uring_sqe *sqe;
	char plain[8];

	for (unsigned i = 0; i <= UIO_MAXIOV; i++)
		many[i] = (struct iovec) { "x", 1 };
	prep_send_vec(must_get_sqe(&e->ring), e->sv[0], many, UIO_MAXIOV + 1);
	assert_int_equal(submit_reap(&e->ring).res, -EINVAL);
	prep_send_vec(must_get_sqe(&e->ring), e->sv[0], (void *) 8, 2);
	assert_int_equal(submit_reap(&e->ring).res, -EFAULT);
	prep_send_vec(must_get_sqe(&e->ring), e->sv[0], bad, 2);
	assert_int_equal(submit_reap(&e->ring).res, -EFAULT);
	prep_send_vec(must_get_sqe(&e->ring), e->sv[0], many, UIO_MAXIOV);
	assert_int_equal(submit_reap(&e->ring).res, UIO_MAXIOV);

	/* Receives are not vectorized. */
	sqe = must_get_sqe(&e->ring);
	io_uring_prep_recv(sqe, e->sv[1], plain, sizeof(plain), 0);
	sqe->ioprio |= IORING_SEND_VECTORIZED;
	assert_int_equal(submit_reap(&e->ring).res, -EINVAL);
}

/* SEND_ZC takes the flag too, on sockets that take zero-copy sends, but
 * not with a registered buffer. */
static void test_send_zc_vectorized(void **state)
{
	struct env *e = *state;
	struct sockaddr_in addr = { .sin_family = AF_INET,
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(addr);
	struct iovec iov[2] = { { "abc", 3 }, { "defg", 4 } };
	struct io_uring_sqe *sqe;
	struct test_cqe c;
	char got[16];
	int lfd = socket(AF_INET, SOCK_STREAM, 0), cfd, sfd;

	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *) &addr, sizeof(addr)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *) &addr, &len), 0);
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(cfd, (struct sockaddr *) &addr, sizeof(addr)), 0);
	sfd = accept(lfd, NULL, NULL);
	assert_true(sfd >= 0);

	sqe = must_get_sqe(&e->ring);
	io_uring_prep_send_zc(sqe, cfd, iov, 2, 0, 0);
	sqe->ioprio |= IORING_SEND_VECTORIZED;
	c = submit_reap(&e->ring);
	assert_int_equal(c.res, 7);
	assert_true(c.flags & IORING_CQE_F_MORE);
	assert_int_equal(reap_bounded(&e->ring, &c, 5), 0);
	assert_true(c.flags & IORING_CQE_F_NOTIF);
	assert_int_equal(recv(sfd, got, 7, MSG_WAITALL), 7);
	assert_memory_equal(got, "abcdefg", 7);

	sqe = must_get_sqe(&e->ring);
	io_uring_prep_send_zc_fixed(sqe, cfd, iov, 2, 0, 0, 0);
	sqe->ioprio |= IORING_SEND_VECTORIZED;
	c = submit_reap(&e->ring);
	assert_int_equal(c.res, -EINVAL);
	assert_int_equal(reap_bounded(&e->ring, &c, 5), 0);
	assert_true(c.flags & IORING_CQE_F_NOTIF);

	/* A unix socket takes no zero-copy send. */
	sqe = must_get_sqe(&e->ring);
	io_uring_prep_send_zc(sqe, e->sv[0], iov, 2, 0, 0);
	sqe->ioprio |= IORING_SEND_VECTORIZED;
	c = submit_reap(&e->ring);
	assert_int_equal(c.res, -EOPNOTSUPP);
	assert_int_equal(reap_bounded(&e->ring, &c, 5), 0);
	assert_true(c.flags & IORING_CQE_F_NOTIF);
	close(cfd);
	close(sfd);
	close(lfd);
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_feature_bit),
		T(test_recv_bundle_fills_buffers),
		T(test_recv_bundle_length_leaves_cut_buffer),
		T(test_recv_bundle_incremental),
		T(test_recv_bundle_multishot),
		T(test_recv_bundle_multishot_ends_on_last_buffer),
		T(test_recv_bundle_errors),
		T(test_send_bundle_sends_ring),
		T(test_send_bundle_passes),
		T(test_send_bundle_incremental),
		T(test_send_bundle_legacy_buffers),
		T(test_send_bundle_waits_for_room),
		T(test_send_bundle_errors),
		T(test_send_vectorized),
		T(test_send_vectorized_to),
		T(test_send_vectorized_errors),
		T(test_send_zc_vectorized),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif
