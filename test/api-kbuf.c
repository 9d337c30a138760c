/* SPDX-License-Identifier: MIT */
/*
 * Provided buffers: PROVIDE_BUFFERS/REMOVE_BUFFERS groups and ring-mapped
 * groups, IOSQE_BUFFER_SELECT, IORING_CQE_F_BUFFER, -ENOBUFS, and multishot
 * RECV and RECVMSG streams that end with a CQE without IORING_CQE_F_MORE.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include "helpers.h"

/* Waits inside the engine before reaping (see api-poll.c: TSan sees the
 * CQ tail's release only through the engine's mapping of the ring). */
static int setup_ring(void **state)
{
	return fixture_setup_ring(state, 64, 0);
}

static struct io_uring_sqe *sqe_ud(struct io_uring *ring, __u64 ud)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);

	sqe->user_data = ud;
	return sqe;
}

static int run(struct io_uring *ring, struct test_cqe *c)
{
	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(reap_in_engine(ring, c), 0);
	return c->res;
}

static void recv_select(struct io_uring *ring, int fd, int bgid, __u64 ud,
			bool multishot)
{
	struct io_uring_sqe *sqe = sqe_ud(ring, ud);

	if (multishot)
		io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
	else
		io_uring_prep_recv(sqe, fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = (__u16) bgid;
}

static unsigned bid_of(const struct test_cqe *c)
{
	return c->flags >> IORING_CQE_BUFFER_SHIFT;
}

static void fill_ring(struct io_uring_buf_ring *br, char (*bufs)[64],
		      unsigned first, unsigned n, unsigned nentries)
{
	unsigned i;

	for (i = 0; i < n; i++)
		io_uring_buf_ring_add(br, bufs[first + i], 64,
				      (unsigned short) (first + i),
				      io_uring_buf_ring_mask(nentries), (int) i);
	io_uring_buf_ring_advance(br, (int) n);
}

static void test_provide_and_select(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	static char bufs[4][64];
	struct test_cqe c;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	io_uring_prep_provide_buffers(sqe_ud(ring, 1), bufs, 64, 4, 7, 10);
	assert_int_equal(run(ring, &c), 0);
	/* Taken in the order provided; named in the CQE flags. */
	assert_int_equal(write(sv[0], "abc", 3), 3);
	recv_select(ring, sv[1], 7, 2, false);
	assert_int_equal(run(ring, &c), 3);
	assert_true(c.flags & IORING_CQE_F_BUFFER);
	assert_int_equal(bid_of(&c), 10);
	assert_memory_equal(bufs[0], "abc", 3);
	/* Waiting takes no buffer: the next one goes to the data. */
	recv_select(ring, sv[1], 7, 3, false);
	assert_int_equal(io_uring_submit(ring), 1);
	assert_true(cq_is_empty(ring));
	assert_int_equal(write(sv[0], "de", 2), 2);
	assert_int_equal(reap_in_engine(ring, &c), 0);
	assert_int_equal(c.res, 2);
	assert_int_equal(bid_of(&c), 11);
	/* The end of the stream uses no buffer. */
	shutdown(sv[0], SHUT_WR);
	recv_select(ring, sv[1], 7, 4, false);
	assert_int_equal(run(ring, &c), 0);
	assert_int_equal(c.flags & IORING_CQE_F_BUFFER, 0);
	io_uring_prep_remove_buffers(sqe_ud(ring, 5), 10, 7);
	assert_int_equal(run(ring, &c), 2);
	io_uring_prep_remove_buffers(sqe_ud(ring, 6), 10, 7);
	assert_int_equal(run(ring, &c), 0);
	recv_select(ring, sv[1], 7, 7, false);
	assert_int_equal(run(ring, &c), -ENOBUFS);
	close(sv[0]);
	close(sv[1]);
}

static void test_provide_errors(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	static char bufs[4][64];
	struct io_uring_sqe *sqe;
	struct test_cqe c;
	int fds[2];

	assert_int_equal(pipe(fds), 0);
	io_uring_prep_provide_buffers(sqe_ud(ring, 1), bufs, 64, 0, 1, 0);
	assert_int_equal(run(ring, &c), -E2BIG);
	io_uring_prep_provide_buffers(sqe_ud(ring, 2), bufs, 64, 4, 1, 65535);
	assert_int_equal(run(ring, &c), -EINVAL);
	io_uring_prep_provide_buffers(sqe_ud(ring, 3), bufs, 0, 4, 1, 0);
	assert_int_equal(run(ring, &c), -EINVAL);
	io_uring_prep_remove_buffers(sqe_ud(ring, 4), 1, 99);
	assert_int_equal(run(ring, &c), -ENOENT);
	sqe = sqe_ud(ring, 5);
	io_uring_prep_write(sqe, fds[1], NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	assert_int_equal(run(ring, &c), -EOPNOTSUPP);
	close(fds[0]);
	close(fds[1]);
}

static void test_buf_ring_register(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	static char bufs[1][64];
	struct io_uring_buf_reg reg;
	struct test_cqe c;
	void *mem = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
			 MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);

	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (unsigned long) mem + 64;
	reg.ring_entries = 4;
	reg.bgid = 3;
	assert_int_equal(io_uring_register_buf_ring(ring, &reg, 0), -EINVAL);
	reg.ring_addr = (unsigned long) mem;
	reg.ring_entries = 3;
	assert_int_equal(io_uring_register_buf_ring(ring, &reg, 0), -EINVAL);
	reg.ring_entries = 4;
	assert_int_equal(io_uring_register_buf_ring(ring, &reg, 0), 0);
	assert_int_equal(io_uring_register_buf_ring(ring, &reg, 0), -EEXIST);
	io_uring_prep_provide_buffers(sqe_ud(ring, 1), bufs, 64, 1, 3, 0);
	assert_int_equal(run(ring, &c), -EINVAL);
	io_uring_prep_remove_buffers(sqe_ud(ring, 2), 1, 3);
	assert_int_equal(run(ring, &c), -EINVAL);
	assert_int_equal(io_uring_unregister_buf_ring(ring, 3), 0);
	assert_int_equal(io_uring_unregister_buf_ring(ring, 3), -ENOENT);
	io_uring_prep_provide_buffers(sqe_ud(ring, 3), bufs, 64, 1, 11, 0);
	assert_int_equal(run(ring, &c), 0);
	assert_int_equal(io_uring_unregister_buf_ring(ring, 11), -EINVAL);
	munmap(mem, 8192);
}

/* Ring buffers are taken in ring order; an empty ring is -ENOBUFS until
 * the application adds more. */
static void test_buf_ring_recv(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	static char bufs[4][64];
	struct io_uring_buf_ring *br = test_buf_ring(ring, 4, 5);
	struct test_cqe c;
	int sv[2], i;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fill_ring(br, bufs, 0, 2, 4);
	for (i = 0; i < 2; i++) {
		assert_int_equal(write(sv[0], "xy", 2), 2);
		recv_select(ring, sv[1], 5, 1, false);
		assert_int_equal(run(ring, &c), 2);
		assert_int_equal(bid_of(&c), (unsigned) i);
	}
	assert_int_equal(write(sv[0], "zz", 2), 2);
	recv_select(ring, sv[1], 5, 2, false);
	assert_int_equal(run(ring, &c), -ENOBUFS);
	fill_ring(br, bufs, 2, 1, 4);
	recv_select(ring, sv[1], 5, 3, false);
	assert_int_equal(run(ring, &c), 2);
	assert_int_equal(bid_of(&c), 2);
	assert_memory_equal(bufs[2], "zz", 2);
	assert_int_equal(io_uring_unregister_buf_ring(ring, 5), 0);
	munmap(br, 4 * sizeof(struct io_uring_buf));
	close(sv[0]);
	close(sv[1]);
}

/* One multishot receive: a CQE with F_MORE per arrival, then the end of
 * the stream closes it with res 0 and no F_MORE. */
static void test_multishot_recv_stream(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	static char bufs[8][64];
	struct io_uring_buf_ring *br = test_buf_ring(ring, 8, 1);
	const char *msgs[] = { "one", "two!", "three" };
	struct test_cqe c;
	int sv[2], i;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fill_ring(br, bufs, 0, 8, 8);
	recv_select(ring, sv[1], 1, 9, true);
	assert_int_equal(io_uring_submit(ring), 1);
	for (i = 0; i < 3; i++) {
		size_t len = strlen(msgs[i]);

		assert_true(cq_is_empty(ring));
		assert_int_equal(write(sv[0], msgs[i], len), (ssize_t) len);
		assert_int_equal(reap_in_engine(ring, &c), 0);
		assert_true(c.user_data == 9);
		assert_int_equal(c.res, (int) len);
		assert_true(c.flags & IORING_CQE_F_MORE);
		assert_true(c.flags & IORING_CQE_F_BUFFER);
		assert_memory_equal(bufs[bid_of(&c)], msgs[i], len);
	}
	close(sv[0]);
	assert_int_equal(reap_in_engine(ring, &c), 0);
	assert_true(c.user_data == 9);
	assert_int_equal(c.res, 0);
	assert_int_equal(c.flags & (IORING_CQE_F_MORE | IORING_CQE_F_BUFFER), 0);
	assert_true(cq_is_empty(ring));
	io_uring_unregister_buf_ring(ring, 1);
	munmap(br, 8 * sizeof(struct io_uring_buf));
	close(sv[1]);
}

/* The same stream on a DEFER_TASKRUN ring: the submitter's waits receive. */
static void test_multishot_recv_defer(void **state)
{
	static char bufs[4][64];
	struct io_uring_buf_ring *br;
	struct io_uring_params p;
	struct io_uring ring;
	struct test_cqe c;
	int sv[2], i;

	(void) state;
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
	assert_int_equal(io_uring_queue_init_params(8, &ring, &p), 0);
	br = test_buf_ring(&ring, 4, 1);
	fill_ring(br, bufs, 0, 4, 4);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	recv_select(&ring, sv[1], 1, 9, true);
	assert_int_equal(io_uring_submit(&ring), 1);
	for (i = 0; i < 3; i++) {
		assert_int_equal(write(sv[0], "abc", 3), 3);
		assert_int_equal(reap_in_engine(&ring, &c), 0);
		assert_int_equal(c.res, 3);
		assert_true(c.flags & IORING_CQE_F_MORE);
		io_uring_buf_ring_add(br, bufs[bid_of(&c)], 64,
				      (unsigned short) bid_of(&c), 3, 0);
		io_uring_buf_ring_advance(br, 1);
	}
	close(sv[0]);
	assert_int_equal(reap_in_engine(&ring, &c), 0);
	assert_int_equal(c.res, 0);
	assert_int_equal(c.flags & IORING_CQE_F_MORE, 0);
	io_uring_unregister_buf_ring(&ring, 1);
	munmap(br, 4 * sizeof(struct io_uring_buf));
	io_uring_queue_exit(&ring);
	close(sv[1]);
}

/* Out of buffers, a multishot receive ends with -ENOBUFS. */
static void test_multishot_recv_enobufs(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	static char bufs[2][64];
	struct io_uring_buf_ring *br = test_buf_ring(ring, 2, 2);
	struct test_cqe c;
	int sv[2], i;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fill_ring(br, bufs, 0, 2, 2);
	recv_select(ring, sv[1], 2, 4, true);
	assert_int_equal(io_uring_submit(ring), 1);
	for (i = 0; i < 3; i++) {
		assert_int_equal(write(sv[0], "q", 1), 1);
		assert_int_equal(reap_in_engine(ring, &c), 0);
		if (i < 2) {
			assert_int_equal(c.res, 1);
			assert_true(c.flags & IORING_CQE_F_MORE);
		} else {
			assert_int_equal(c.res, -ENOBUFS);
			assert_int_equal(c.flags & IORING_CQE_F_MORE, 0);
		}
	}
	io_uring_unregister_buf_ring(ring, 2);
	munmap(br, 2 * sizeof(struct io_uring_buf));
	close(sv[0]);
	close(sv[1]);
}

/* Datagrams already queued each get their CQE when the receive arms. */
static void test_multishot_recv_datagrams(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	static char bufs[8][64];
	struct io_uring_buf_ring *br = test_buf_ring(ring, 8, 6);
	struct test_cqe c;
	int sv[2], i;

	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	fill_ring(br, bufs, 0, 8, 8);
	for (i = 0; i < 3; i++)
		assert_int_equal(write(sv[0], "dgram", 5), 5);
	recv_select(ring, sv[1], 6, 3, true);
	assert_int_equal(io_uring_submit(ring), 1);
	for (i = 0; i < 3; i++) {
		assert_int_equal(reap_in_engine(ring, &c), 0);
		assert_int_equal(c.res, 5);
		assert_true(c.flags & IORING_CQE_F_MORE);
	}
	io_uring_prep_cancel64(sqe_ud(ring, 8), 3, 0);
	assert_int_equal(io_uring_submit(ring), 1);
	for (i = 0; i < 2; i++) {
		assert_int_equal(reap_in_engine(ring, &c), 0);
		if (c.user_data == 3) {
			assert_int_equal(c.res, -ECANCELED);
			assert_int_equal(c.flags & IORING_CQE_F_MORE, 0);
		} else {
			assert_int_equal(c.res, 0);
		}
	}
	io_uring_unregister_buf_ring(ring, 6);
	munmap(br, 8 * sizeof(struct io_uring_buf));
	close(sv[0]);
	close(sv[1]);
}

/* Multishot RECVMSG over loopback UDP: header, sender and payload, read
 * back with the io_uring_recvmsg_* parsers. */
static void test_multishot_recvmsg_udp(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	static char bufs[4][256];
	struct io_uring_buf_ring *br;
	struct sockaddr_in a, b;
	socklen_t len = sizeof(a);
	struct msghdr msg;
	struct test_cqe c;
	int sa, sb, i;

	br = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		  MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	assert_true(br != MAP_FAILED);
	{
		struct io_uring_buf_reg reg;

		memset(&reg, 0, sizeof(reg));
		reg.ring_addr = (unsigned long) br;
		reg.ring_entries = 4;
		reg.bgid = 8;
		assert_int_equal(io_uring_register_buf_ring(ring, &reg, 0), 0);
	}
	io_uring_buf_ring_init(br);
	for (i = 0; i < 4; i++)
		io_uring_buf_ring_add(br, bufs[i], 256, (unsigned short) i, 3, i);
	io_uring_buf_ring_advance(br, 4);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	b = a;
	sa = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	sb = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(sa, (struct sockaddr *) &a, len), 0);
	assert_int_equal(bind(sb, (struct sockaddr *) &b, len), 0);
	assert_int_equal(getsockname(sa, (struct sockaddr *) &a, &len), 0);
	assert_int_equal(getsockname(sb, (struct sockaddr *) &b, &len), 0);

	memset(&msg, 0, sizeof(msg));
	msg.msg_namelen = sizeof(struct sockaddr_in);
	io_uring_prep_recvmsg_multishot(sqe_ud(ring, 5), sb, &msg, 0);
	ring->sq.sqes[(ring->sq.sqe_tail - 1) & ring->sq.ring_mask].flags |=
		IOSQE_BUFFER_SELECT;
	ring->sq.sqes[(ring->sq.sqe_tail - 1) & ring->sq.ring_mask].buf_group = 8;
	assert_int_equal(io_uring_submit(ring), 1);
	for (i = 0; i < 2; i++) {
		struct io_uring_recvmsg_out *o;
		struct sockaddr_in *from;
		char *buf;

		assert_int_equal(sendto(sa, "hello!", 6 - (size_t) i, 0,
					(struct sockaddr *) &b, sizeof(b)),
				 6 - i);
		assert_int_equal(reap_in_engine(ring, &c), 0);
		assert_true(c.user_data == 5);
		assert_true(c.flags & IORING_CQE_F_MORE);
		buf = bufs[bid_of(&c)];
		o = io_uring_recvmsg_validate(buf, c.res, &msg);
		assert_non_null(o);
		assert_int_equal(o->namelen, sizeof(struct sockaddr_in));
		assert_int_equal(o->payloadlen, 6 - i);
		from = io_uring_recvmsg_name(o);
		assert_int_equal(from->sin_port, a.sin_port);
		assert_int_equal(io_uring_recvmsg_payload_length(o, c.res, &msg),
				 6 - i);
		assert_memory_equal(io_uring_recvmsg_payload(o, &msg), "hello!",
				    6 - (size_t) i);
		assert_null(io_uring_recvmsg_cmsg_firsthdr(o, &msg));
	}
	close(sa);
	close(sb);
	io_uring_unregister_buf_ring(ring, 8);
	munmap(br, 4096);
}

/*
 * A writer thread streams numbered bytes through a socketpair while one
 * multishot receive collects them into a recycled buffer ring: every byte
 * arrives once and in order, and the stream ends with res 0, no F_MORE.
 */
struct streamer {
	int fd;
	unsigned total;
};

static void *stream_out(void *arg)
{
	struct streamer *s = arg;
	unsigned char chunk[97];
	unsigned sent = 0, i;

	while (sent < s->total) {
		unsigned n = s->total - sent < sizeof(chunk) ?
			     s->total - sent : (unsigned) sizeof(chunk);
		ssize_t w;

		for (i = 0; i < n; i++)
			chunk[i] = (unsigned char) (sent + i);
		w = write(s->fd, chunk, n);
		if (w <= 0)
			break;
		sent += (unsigned) w;
	}
	shutdown(s->fd, SHUT_WR);
	return NULL;
}

static void test_multishot_recv_stress(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	static char bufs[16][64];
	struct io_uring_buf_ring *br = test_buf_ring(ring, 16, 9);
	struct streamer s = { .total = 200000 };
	unsigned got = 0, i;
	struct test_cqe c;
	pthread_t thr;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fill_ring(br, bufs, 0, 16, 16);
	s.fd = sv[0];
	recv_select(ring, sv[1], 9, 1, true);
	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(pthread_create(&thr, NULL, stream_out, &s), 0);
	for (;;) {
		assert_int_equal(reap_in_engine(ring, &c), 0);
		if (c.res == -ENOBUFS) {
			/* Ran dry before we recycled: arm again. */
			recv_select(ring, sv[1], 9, 1, true);
			assert_int_equal(io_uring_submit(ring), 1);
			continue;
		}
		assert_true(c.res >= 0);
		if (!c.res) {
			assert_int_equal(c.flags & IORING_CQE_F_MORE, 0);
			break;
		}
		for (i = 0; i < (unsigned) c.res; i++)
			assert_int_equal((unsigned char) bufs[bid_of(&c)][i],
					 (unsigned char) (got + i));
		got += (unsigned) c.res;
		io_uring_buf_ring_add(br, bufs[bid_of(&c)], 64,
				      (unsigned short) bid_of(&c),
				      io_uring_buf_ring_mask(16), 0);
		io_uring_buf_ring_advance(br, 1);
		if (!(c.flags & IORING_CQE_F_MORE)) {
			recv_select(ring, sv[1], 9, 1, true);
			assert_int_equal(io_uring_submit(ring), 1);
		}
	}
	pthread_join(thr, NULL);
	assert_int_equal(got, s.total);
	io_uring_unregister_buf_ring(ring, 9);
	munmap(br, 16 * sizeof(struct io_uring_buf));
	close(sv[0]);
	close(sv[1]);
}

#ifndef LIBURING_BEFORE_2_15
/* io_uring_setup_buf_ring and io_uring_free_buf_ring (liburing 2.4). */
static void test_setup_buf_ring(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	static char bufs[2][64];
	struct io_uring_buf_ring *br;
	struct test_cqe c;
	int err = 0, sv[2];

	assert_null(io_uring_setup_buf_ring(ring, 3, 4, 0, &err));
	assert_int_equal(err, -EINVAL);
	br = io_uring_setup_buf_ring(ring, 2, 4, 0, &err);
	assert_non_null(br);
	fill_ring(br, bufs, 0, 2, 2);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[0], "ok", 2), 2);
	recv_select(ring, sv[1], 4, 1, false);
	assert_int_equal(run(ring, &c), 2);
	assert_int_equal(io_uring_free_buf_ring(ring, br, 2, 4), 0);
	assert_int_equal(io_uring_unregister_buf_ring(ring, 4), -ENOENT);
	close(sv[0]);
	close(sv[1]);
}

/* The payload length of a buffer too short for its headers, or of a
 * negative length (a failed CQE's res), is 0, not a wrapped length
 * (liburing 2.15; the system's liburing 2.3 does not guard it). */
static void test_recvmsg_payload_length_guards(void **state)
{
	_Alignas(struct io_uring_recvmsg_out) unsigned char buf[64] = { 0 };
	struct io_uring_recvmsg_out *o = (struct io_uring_recvmsg_out *) buf;
	struct msghdr msg;

	(void) state;
	memset(&msg, 0, sizeof(msg));
	msg.msg_namelen = 16;
	msg.msg_controllen = 8;
	assert_int_equal(io_uring_recvmsg_payload_length(o, 64, &msg),
			 64 - sizeof(*o) - 24);
	assert_int_equal(io_uring_recvmsg_payload_length(o, 20, &msg), 0);
	assert_int_equal(io_uring_recvmsg_payload_length(o, -ENOBUFS, &msg), 0);
	assert_int_equal(io_uring_recvmsg_payload_length(o, (int) (sizeof(*o) + 24),
							 &msg), 0);
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_ring, fixture_teardown)
		T(test_provide_and_select),
		T(test_provide_errors),
		T(test_buf_ring_register),
		T(test_buf_ring_recv),
		T(test_multishot_recv_stream),
		cmocka_unit_test(test_multishot_recv_defer),
		T(test_multishot_recv_enobufs),
		T(test_multishot_recv_datagrams),
		T(test_multishot_recvmsg_udp),
		T(test_multishot_recv_stress),
#ifndef LIBURING_BEFORE_2_15
		T(test_setup_buf_ring),
		cmocka_unit_test(test_recvmsg_payload_length_guards),
#endif
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
