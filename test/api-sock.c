/* SPDX-License-Identifier: MIT */
/*
 * What a receive or an accept tells about the socket it leaves behind:
 * IORING_CQE_F_SOCK_NONEMPTY on RECV, RECVMSG (one-shot, multishot,
 * provided buffers, MSG_PEEK) over TCP and AF_UNIX streams, and on ACCEPT
 * from a TCP listener; never on datagram sockets or a READ. And the
 * multishot receive's retry cap: a connection with much queued yields
 * to the others after 33 receives, as the kernel's MULTISHOT_MAX_RETRY.
 * Loopback (127.0.0.1) and socketpairs only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "helpers.h"

#define NONEMPTY	IORING_CQE_F_SOCK_NONEMPTY
#define MORE		IORING_CQE_F_MORE
#define BUFFER		IORING_CQE_F_BUFFER
#define CQE_BITS	(NONEMPTY | MORE | BUFFER)

static int setup_ring(void **state)
{
	return fixture_setup_ring(state, 64, 0);
}

/* The submitter alone runs readiness: the order of runs is the test's.
 * The CQ holds every CQE of a test (the kernel ends a multishot receive
 * whose CQE overflows, and may run one whenever the test enters). */
static int setup_defer_ring(void **state)
{
	return fixture_setup_ring(state, 128, IORING_SETUP_SINGLE_ISSUER |
					      IORING_SETUP_DEFER_TASKRUN);
}

static struct io_uring_sqe *sqe_ud(struct io_uring *ring, __u64 ud)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);

	sqe->user_data = ud;
	return sqe;
}

/* Submits the one SQE prepared; its CQE, which must carry ud. */
static struct test_cqe run(struct io_uring *ring, __u64 ud)
{
	struct test_cqe c;

	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(reap_in_engine(ring, &c), 0);
	assert_true(c.user_data == ud);
	return c;
}

static void expect(const struct test_cqe *c, int res, unsigned flags)
{
	assert_int_equal(c->res, res);
	assert_int_equal(c->flags & CQE_BITS, flags);
}

/* ---- sockets ---- */

static struct sockaddr_in loopback(void)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sin;
}

static int tcp_listener(struct sockaddr_in *addr)
{
	socklen_t len = sizeof(*addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	*addr = loopback();
	assert_int_equal(bind(fd, (struct sockaddr *) addr, len), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *) addr, &len), 0);
	return fd;
}

static int connect_to(int domain, const void *addr, socklen_t len)
{
	int fd = socket(domain, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, addr, len), 0);
	return fd;
}

/* sv[0] writes, sv[1] (accepted) receives. */
static void tcp_pair(int sv[2])
{
	struct sockaddr_in addr;
	int lfd = tcp_listener(&addr);

	sv[0] = connect_to(AF_INET, &addr, sizeof(addr));
	sv[1] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(sv[1] >= 0);
	close(lfd);
}

static void udp_pair(int sv[2])
{
	struct sockaddr_in addr = loopback();
	socklen_t len = sizeof(addr);

	sv[1] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	sv[0] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(sv[1], (struct sockaddr *) &addr, len), 0);
	assert_int_equal(getsockname(sv[1], (struct sockaddr *) &addr, &len), 0);
	assert_int_equal(connect(sv[0], (struct sockaddr *) &addr, len), 0);
}

static void close_pair(int sv[2])
{
	close(sv[0]);
	close(sv[1]);
}

/* Loopback delivery is done by the time send() returns in practice; this
 * makes sure (a bounded wait for data, not a timing assumption). */
static void wait_queued(int fd, int bytes)
{
	int inq = -1;

	for (int i = 0; i < 500; i++) {
		assert_int_equal(ioctl(fd, FIONREAD, &inq), 0);
		if (inq >= bytes)
			return;
		sleep_ms(2);
	}
	fail_msg("%d bytes queued, want %d", inq, bytes);
}

static void push(int sv[2], size_t len)
{
	char data[256];

	assert_true(len <= sizeof(data));
	memset(data, 'q', len);
	assert_int_equal(send(sv[0], data, len, 0), (ssize_t) len);
}

/* len bytes queued at sv[1], nothing receiving them yet. */
static void send_bytes(int sv[2], size_t len)
{
	push(sv, len);
	wait_queued(sv[1], (int) len);
}

/* A TCP listener's accept queue holds want connections. */
static void wait_backlog(int lfd, unsigned want)
{
	struct tcp_info ti;
	socklen_t len;

	for (int i = 0; i < 500; i++) {
		len = sizeof(ti);
		assert_int_equal(getsockopt(lfd, IPPROTO_TCP, TCP_INFO, &ti,
					    &len), 0);
		if (ti.tcpi_unacked >= want)	/* the backlog, for a listener */
			return;
		sleep_ms(2);
	}
	fail_msg("accept queue short of %u", want);
}

/* ---- provided buffers ---- */

#define NR_BUFS		256
#define BUF_LEN		64
#define BGID		3

static char bufs[NR_BUFS][BUF_LEN];

/* A ring of NR_BUFS 64-byte buffers, filled. */
static struct io_uring_buf_ring *buf_ring(struct io_uring *ring)
{
	struct io_uring_buf_ring *br = test_buf_ring(ring, NR_BUFS, BGID);

	for (int i = 0; i < NR_BUFS; i++)
		io_uring_buf_ring_add(br, bufs[i], BUF_LEN, (unsigned short) i,
				      io_uring_buf_ring_mask(NR_BUFS), i);
	io_uring_buf_ring_advance(br, NR_BUFS);
	return br;
}

static void free_buf_ring(struct io_uring *ring, struct io_uring_buf_ring *br)
{
	assert_int_equal(io_uring_unregister_buf_ring(ring, BGID), 0);
	munmap(br, NR_BUFS * sizeof(struct io_uring_buf));
}

static void select_buf(struct io_uring_sqe *sqe)
{
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
}

/* ---- RECV and RECVMSG into the application's memory ---- */

static void prep_recvmsg(struct io_uring_sqe *sqe, int fd, struct msghdr *m,
			 struct iovec *iov, int nr_iov, int flags)
{
	memset(m, 0, sizeof(*m));
	m->msg_iov = iov;
	m->msg_iovlen = (size_t) nr_iov;
	io_uring_prep_recvmsg(sqe, fd, m, (unsigned) flags);
}

/* TCP: a receive that leaves data behind says so; one that takes the rest,
 * or exactly what was there, does not. MSG_PEEK leaves it all. */
static void test_tcp_recv(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	char buf[64];
	struct test_cqe c;
	int sv[2];

	tcp_pair(sv);
	send_bytes(sv, 100);
	io_uring_prep_recv(sqe_ud(ring, 1), sv[1], buf, 64, 0);
	c = run(ring, 1);
	expect(&c, 64, NONEMPTY);
	io_uring_prep_recv(sqe_ud(ring, 2), sv[1], buf, 64, 0);
	c = run(ring, 2);
	expect(&c, 36, 0);

	send_bytes(sv, 64);
	io_uring_prep_recv(sqe_ud(ring, 3), sv[1], buf, 64, 0);
	c = run(ring, 3);
	expect(&c, 64, 0);

	send_bytes(sv, 10);
	io_uring_prep_recv(sqe_ud(ring, 4), sv[1], buf, 64, MSG_PEEK);
	c = run(ring, 4);
	expect(&c, 10, NONEMPTY);
	/* A zero-length receive "fills" its buffer, and the data is there. */
	io_uring_prep_recv(sqe_ud(ring, 5), sv[1], buf, 0, 0);
	c = run(ring, 5);
	expect(&c, 0, NONEMPTY);
	io_uring_prep_recv(sqe_ud(ring, 6), sv[1], buf, 64, MSG_WAITALL);
	send_bytes(sv, 54);
	c = run(ring, 6);
	expect(&c, 64, 0);
	close_pair(sv);
}

static void test_tcp_recvmsg(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	char a[32], b[32];
	struct iovec iov[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
	struct test_cqe c;
	struct msghdr m;
	int sv[2];

	tcp_pair(sv);
	send_bytes(sv, 100);
	/* Filling both iovecs is filling the buffer. */
	prep_recvmsg(sqe_ud(ring, 1), sv[1], &m, iov, 2, 0);
	c = run(ring, 1);
	expect(&c, 64, NONEMPTY);
	prep_recvmsg(sqe_ud(ring, 2), sv[1], &m, iov, 1, MSG_PEEK);
	c = run(ring, 2);
	expect(&c, 32, NONEMPTY);
	prep_recvmsg(sqe_ud(ring, 3), sv[1], &m, iov, 2, 0);
	c = run(ring, 3);
	expect(&c, 36, 0);
	close_pair(sv);
}

static void test_unix_stream(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	char buf[8];
	struct iovec iov = { buf, 3 };
	struct test_cqe c;
	struct msghdr m;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	send_bytes(sv, 6);
	io_uring_prep_recv(sqe_ud(ring, 1), sv[1], buf, 3, 0);
	c = run(ring, 1);
	expect(&c, 3, NONEMPTY);
	io_uring_prep_recv(sqe_ud(ring, 2), sv[1], buf, 3, 0);
	c = run(ring, 2);
	expect(&c, 3, 0);

	send_bytes(sv, 6);
	prep_recvmsg(sqe_ud(ring, 3), sv[1], &m, &iov, 1, 0);
	c = run(ring, 3);
	expect(&c, 3, NONEMPTY);
	iov.iov_len = sizeof(buf);
	prep_recvmsg(sqe_ud(ring, 4), sv[1], &m, &iov, 1, 0);
	c = run(ring, 4);
	expect(&c, 3, 0);
	close_pair(sv);
}

/* Datagram sockets never say: not with a second datagram queued, not
 * after a datagram that filled (or overflowed) the buffer. */
static void datagrams(struct io_uring *ring, int sv[2])
{
	char buf[64];
	struct iovec iov = { buf, 10 };
	struct test_cqe c;
	struct msghdr m;
	int i;

	for (i = 0; i < 3; i++)
		assert_int_equal(send(sv[0], "0123456789", 10, 0), 10);
	wait_queued(sv[1], 10);
	io_uring_prep_recv(sqe_ud(ring, 1), sv[1], buf, 4, 0);
	c = run(ring, 1);
	expect(&c, 4, 0);
	prep_recvmsg(sqe_ud(ring, 2), sv[1], &m, &iov, 1, 0);
	c = run(ring, 2);
	expect(&c, 10, 0);
	io_uring_prep_recv(sqe_ud(ring, 3), sv[1], buf, 64, MSG_PEEK);
	c = run(ring, 3);
	expect(&c, 10, 0);
}

static void test_udp(void **state)
{
	int sv[2];

	udp_pair(sv);
	datagrams(fixture_ring(state), sv);
	close_pair(sv);
}

static void test_unix_dgram(void **state)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	datagrams(fixture_ring(state), sv);
	close_pair(sv);
}

/* READ is not a socket receive: no flag, whatever is left. */
static void test_read_on_socket(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	char buf[64];
	struct test_cqe c;
	int sv[2];

	tcp_pair(sv);
	send_bytes(sv, 100);
	io_uring_prep_read(sqe_ud(ring, 1), sv[1], buf, 64, 0);
	c = run(ring, 1);
	expect(&c, 64, 0);
	close_pair(sv);
}

/* ---- provided buffers ---- */

static void test_select_one_shot(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct io_uring_buf_ring *br = buf_ring(ring);
	struct io_uring_sqe *sqe;
	struct test_cqe c;
	int sv[2];

	tcp_pair(sv);
	send_bytes(sv, 100);
	sqe = sqe_ud(ring, 1);
	io_uring_prep_recv(sqe, sv[1], NULL, 0, MSG_PEEK);
	select_buf(sqe);
	c = run(ring, 1);
	expect(&c, 64, BUFFER | NONEMPTY);
	sqe = sqe_ud(ring, 2);
	io_uring_prep_recv(sqe, sv[1], NULL, 0, 0);
	select_buf(sqe);
	c = run(ring, 2);
	expect(&c, 64, BUFFER | NONEMPTY);
	sqe = sqe_ud(ring, 3);
	io_uring_prep_recv(sqe, sv[1], NULL, 0, 0);
	select_buf(sqe);
	c = run(ring, 3);
	expect(&c, 36, BUFFER);
	close_pair(sv);
	free_buf_ring(ring, br);
}

/* Reaps n CQEs of a multishot receive, which must carry ud, res and the
 * flags given (BUFFER and MORE always). */
static void expect_shots(struct io_uring *ring, __u64 ud, const int *res,
			 const unsigned *flags, int n)
{
	struct test_cqe c;

	for (int i = 0; i < n; i++) {
		assert_int_equal(reap_in_engine(ring, &c), 0);
		assert_true(c.user_data == ud);
		expect(&c, res[i], BUFFER | MORE | flags[i]);
	}
}

static void cancel_and_reap(struct io_uring *ring, __u64 ud)
{
	struct test_cqe c;
	int seen = 0;

	io_uring_prep_cancel64(sqe_ud(ring, 99), ud, 0);
	assert_int_equal(io_uring_submit(ring), 1);
	while (seen < 2) {
		assert_int_equal(reap_in_engine(ring, &c), 0);
		if (c.user_data == 99) {
			/* -EALREADY: found while the engine was issuing it
			 * (uring-alike(7)); the request ends all the same. */
			assert_true(c.res == 0 || c.res == -EALREADY);
			seen++;
		} else {
			assert_true(c.user_data == ud);
			assert_int_equal(c.flags & MORE, 0);
			seen++;
		}
	}
}

/* 200 bytes into 64-byte buffers: 64, 64, 64 with more behind, then the
 * last 8 with nothing behind (yet the receive stays armed). */
static void test_multishot_recv(void **state)
{
	static const int res[] = { 64, 64, 64, 8 };
	static const unsigned flags[] = { NONEMPTY, NONEMPTY, NONEMPTY, 0 };
	struct io_uring *ring = fixture_ring(state);
	struct io_uring_buf_ring *br = buf_ring(ring);
	struct io_uring_sqe *sqe;
	int sv[2];

	tcp_pair(sv);
	send_bytes(sv, 200);
	sqe = sqe_ud(ring, 1);
	io_uring_prep_recv_multishot(sqe, sv[1], NULL, 0, 0);
	select_buf(sqe);
	assert_int_equal(io_uring_submit(ring), 1);
	expect_shots(ring, 1, res, flags, 4);
	/* Armed still: later data comes as before. */
	push(sv, 64);
	expect_shots(ring, 1, res, flags + 3, 1);
	cancel_and_reap(ring, 1);
	close_pair(sv);
	free_buf_ring(ring, br);
}

/* A multishot RECVMSG's buffer holds a header first: 48 bytes of payload
 * fit in 64, so 100 bytes come as 48, 48 (more behind), 4. */
static void test_multishot_recvmsg(void **state)
{
	static const int res[] = { 64, 64, 20 };
	static const unsigned flags[] = { NONEMPTY, NONEMPTY, 0 };
	struct io_uring *ring = fixture_ring(state);
	struct io_uring_buf_ring *br = buf_ring(ring);
	struct io_uring_sqe *sqe;
	struct msghdr m;
	int sv[2];

	assert_int_equal(sizeof(struct io_uring_recvmsg_out), 16);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	send_bytes(sv, 100);
	memset(&m, 0, sizeof(m));
	sqe = sqe_ud(ring, 1);
	io_uring_prep_recvmsg_multishot(sqe, sv[1], &m, 0);
	select_buf(sqe);
	assert_int_equal(io_uring_submit(ring), 1);
	expect_shots(ring, 1, res, flags, 3);
	cancel_and_reap(ring, 1);
	close_pair(sv);
	free_buf_ring(ring, br);
}

/* A multishot receive on UDP never says, however many are queued. */
static void test_multishot_udp(void **state)
{
	static const int res[] = { 10, 10, 10 };
	static const unsigned flags[] = { 0, 0, 0 };
	struct io_uring *ring = fixture_ring(state);
	struct io_uring_buf_ring *br = buf_ring(ring);
	struct io_uring_sqe *sqe;
	int sv[2], i;

	udp_pair(sv);
	for (i = 0; i < 3; i++)
		assert_int_equal(send(sv[0], "0123456789", 10, 0), 10);
	wait_queued(sv[1], 10);
	sqe = sqe_ud(ring, 1);
	io_uring_prep_recv_multishot(sqe, sv[1], NULL, 0, 0);
	select_buf(sqe);
	assert_int_equal(io_uring_submit(ring), 1);
	expect_shots(ring, 1, res, flags, 3);
	cancel_and_reap(ring, 1);
	close_pair(sv);
	free_buf_ring(ring, br);
}

/* Reaps one CQE, failing (not hanging) if none comes: a guard only. */
static void reap_guarded(struct io_uring *ring, struct test_cqe *c)
{
	struct __kernel_timespec ts = { .tv_sec = 10 };
	struct io_uring_cqe *cqe;

	assert_int_equal(io_uring_wait_cqe_timeout(ring, &cqe, &ts), 0);
	assert_int_equal(reap_in_engine(ring, c), 0);
}

/*
 * Data and the peer's shutdown arrive together while a multishot receive
 * waits: the short receive that empties the queue is not the end, the end
 * of stream behind it is still read. TCP counts it as something left (so
 * says NONEMPTY, up to the final CQE), a unix stream does not.
 */
static void end_behind_data(struct io_uring *ring, int sv[2], bool tcp)
{
	struct io_uring_buf_ring *br = buf_ring(ring);
	unsigned eof = tcp ? NONEMPTY : 0;
	struct io_uring_sqe *sqe;
	struct test_cqe c;

	sqe = sqe_ud(ring, 1);
	io_uring_prep_recv_multishot(sqe, sv[1], NULL, 0, 0);
	select_buf(sqe);
	assert_int_equal(io_uring_submit(ring), 1);
	assert_true(cq_is_empty(ring));
	push(sv, 100);
	assert_int_equal(shutdown(sv[0], SHUT_WR), 0);
	reap_guarded(ring, &c);
	expect(&c, 64, BUFFER | MORE | NONEMPTY);
	reap_guarded(ring, &c);
	expect(&c, 36, BUFFER | MORE | eof);
	reap_guarded(ring, &c);
	assert_true(c.user_data == 1);
	expect(&c, 0, eof);
	close_pair(sv);
	free_buf_ring(ring, br);
}

static void test_end_behind_data_tcp(void **state)
{
	int sv[2];

	tcp_pair(sv);
	end_behind_data(fixture_ring(state), sv, true);
}

static void test_end_behind_data_unix(void **state)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	end_behind_data(fixture_ring(state), sv, false);
}

/* ---- ACCEPT ---- */

static void test_accept(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct sockaddr_in addr;
	int lfd = tcp_listener(&addr), c[4], i;
	struct test_cqe cqe;

	for (i = 0; i < 2; i++)
		c[i] = connect_to(AF_INET, &addr, sizeof(addr));
	wait_backlog(lfd, 2);
	io_uring_prep_accept(sqe_ud(ring, 1), lfd, NULL, NULL, SOCK_CLOEXEC);
	cqe = run(ring, 1);
	assert_true(cqe.res >= 0);
	assert_int_equal(cqe.flags, NONEMPTY);
	close(cqe.res);
	io_uring_prep_accept(sqe_ud(ring, 2), lfd, NULL, NULL, SOCK_CLOEXEC);
	cqe = run(ring, 2);
	assert_true(cqe.res >= 0);
	assert_int_equal(cqe.flags, 0);
	close(cqe.res);

	for (i = 2; i < 4; i++)
		c[i] = connect_to(AF_INET, &addr, sizeof(addr));
	wait_backlog(lfd, 2);
	io_uring_prep_multishot_accept(sqe_ud(ring, 3), lfd, NULL, NULL,
				       SOCK_CLOEXEC);
	assert_int_equal(io_uring_submit(ring), 1);
	for (i = 0; i < 2; i++) {
		assert_int_equal(reap_in_engine(ring, &cqe), 0);
		assert_true(cqe.user_data == 3 && cqe.res >= 0);
		assert_int_equal(cqe.flags, i ? MORE : MORE | NONEMPTY);
		close(cqe.res);
	}
	cancel_and_reap(ring, 3);
	for (i = 0; i < 4; i++)
		close(c[i]);
	close(lfd);
}

/* The kernel knows nothing about a unix listener's queue: never set. */
static void test_accept_unix(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct sockaddr_un sun;
	socklen_t len;
	int lfd, c[2], i;
	struct test_cqe cqe;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	/* An abstract name, unique to this process. */
	len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + 1 +
			   (size_t) snprintf(sun.sun_path + 1,
					     sizeof(sun.sun_path) - 1,
					     "ua-api-sock-%d", (int) getpid()));
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *) &sun, len), 0);
	assert_int_equal(listen(lfd, 8), 0);
	for (i = 0; i < 2; i++)
		c[i] = connect_to(AF_UNIX, &sun, len);
	for (i = 0; i < 2; i++) {
		io_uring_prep_accept(sqe_ud(ring, 1), lfd, NULL, NULL,
				     SOCK_CLOEXEC);
		cqe = run(ring, 1);
		assert_true(cqe.res >= 0);
		assert_int_equal(cqe.flags, 0);
		close(cqe.res);
		close(c[i]);
	}
	close(lfd);
}

/* ---- the multishot retry cap ---- */

#define CAP_MSGS	70	/* 33 in each of two runs, then 4 */

/*
 * Two connections with 70 buffers' worth queued each, two multishot
 * receives in one submission: each posts 33 CQEs, then lets the other
 * have its turn, twice (first at submission, then where readiness is
 * run), then posts the 4 left. The last of each has nothing behind it.
 * Without the cap, all of one connection comes first.
 */
static void test_retry_cap(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct io_uring_buf_ring *br = buf_ring(ring);
	static const struct { __u64 ud; int n; } runs[] = {
		{ 1, 33 }, { 2, 33 }, { 1, 33 }, { 2, 33 }, { 1, 4 }, { 2, 4 },
	};
	char msg[BUF_LEN];
	int a[2], b[2], i, r, left[3] = { 0, CAP_MSGS, CAP_MSGS };
	struct io_uring_sqe *sqe;
	struct test_cqe c;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
	for (i = 0; i < CAP_MSGS; i++) {
		memset(msg, 'a' + i % 26, sizeof(msg));
		assert_int_equal(write(a[0], msg, sizeof(msg)), BUF_LEN);
		memset(msg, 'A' + i % 26, sizeof(msg));
		assert_int_equal(write(b[0], msg, sizeof(msg)), BUF_LEN);
	}
	sqe = sqe_ud(ring, 1);
	io_uring_prep_recv_multishot(sqe, a[1], NULL, 0, 0);
	select_buf(sqe);
	sqe = sqe_ud(ring, 2);
	io_uring_prep_recv_multishot(sqe, b[1], NULL, 0, 0);
	select_buf(sqe);
	assert_int_equal(io_uring_submit(ring), 2);
	for (r = 0; r < 6; r++) {
		for (i = 0; i < runs[r].n; i++) {
			__u64 ud = runs[r].ud;
			int nth = CAP_MSGS - left[ud];

			reap_guarded(ring, &c);
			assert_true(c.user_data == ud);
			expect(&c, BUF_LEN, BUFFER | MORE |
			       (left[ud] > 1 ? NONEMPTY : 0));
			memset(msg, (ud == 1 ? 'a' : 'A') + nth % 26,
			       sizeof(msg));
			assert_memory_equal(bufs[c.flags >> IORING_CQE_BUFFER_SHIFT],
					    msg, BUF_LEN);
			left[ud]--;
		}
	}
	assert_true(cq_is_empty(ring));
	cancel_and_reap(ring, 1);
	cancel_and_reap(ring, 2);
	close_pair(a);
	close_pair(b);
	free_buf_ring(ring, br);
}

/*
 * The same cap when the receive first runs while being parked beside a
 * poll on its socket (the engine's arming path): after 33 the rest still
 * comes, with no new data to wake it.
 */
static void test_retry_cap_beside_poll(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct io_uring_buf_ring *br = buf_ring(ring);
	static char msgs[CAP_MSGS * BUF_LEN];
	struct io_uring_sqe *sqe;
	struct test_cqe c;
	int sv[2], got = 0, finals = 0, cancels = 0;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	io_uring_prep_poll_multishot(sqe_ud(ring, 1), sv[1], POLLIN);
	assert_int_equal(io_uring_submit(ring), 1);
	for (int i = 0; i < CAP_MSGS; i++)
		memset(msgs + i * BUF_LEN, 'a' + i % 26, BUF_LEN);
	assert_int_equal(write(sv[0], msgs, sizeof(msgs)), sizeof(msgs));
	reap_guarded(ring, &c);
	assert_true(c.user_data == 1 && (c.flags & MORE));
	/* Waits for readiness first, so it is parked beside the poll. */
	sqe = sqe_ud(ring, 2);
	io_uring_prep_recv_multishot(sqe, sv[1], NULL, 0, 0);
	sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
	select_buf(sqe);
	assert_int_equal(io_uring_submit(ring), 1);
	while (got < CAP_MSGS) {
		reap_guarded(ring, &c);
		if (c.user_data == 1)
			continue;
		assert_true(c.user_data == 2);
		expect(&c, BUF_LEN, BUFFER | MORE |
		       (got < CAP_MSGS - 1 ? NONEMPTY : 0));
		assert_memory_equal(bufs[c.flags >> IORING_CQE_BUFFER_SHIFT],
				    msgs + got * BUF_LEN, BUF_LEN);
		got++;
	}
	io_uring_prep_cancel64(sqe_ud(ring, 99), 1, 0);
	io_uring_prep_cancel64(sqe_ud(ring, 99), 2, 0);
	assert_int_equal(io_uring_submit(ring), 2);
	while (finals < 2 || cancels < 2) {
		reap_guarded(ring, &c);
		if (c.user_data == 99) {
			assert_int_equal(c.res, 0);
			cancels++;
		} else if (!(c.flags & MORE)) {
			assert_int_equal(c.res, -ECANCELED);
			finals++;
		}
	}
	close_pair(sv);
	free_buf_ring(ring, br);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_ring, fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(test_tcp_recv),
		T(test_tcp_recvmsg),
		T(test_unix_stream),
		T(test_udp),
		T(test_unix_dgram),
		T(test_read_on_socket),
		T(test_select_one_shot),
		T(test_multishot_recv),
		T(test_multishot_recvmsg),
		T(test_multishot_udp),
		T(test_accept),
		T(test_accept_unix),
#define D(fn) cmocka_unit_test_setup_teardown(fn, setup_defer_ring, \
					     fixture_teardown)
		D(test_end_behind_data_tcp),
		D(test_end_behind_data_unix),
		D(test_retry_cap),
		D(test_retry_cap_beside_poll),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
