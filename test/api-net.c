/* SPDX-License-Identifier: MIT */
/*
 * Socket operations on socketpairs and on loopback TCP and UDP (127.0.0.1
 * only): SEND, sendto, RECV, SENDMSG, RECVMSG, ACCEPT (multishot too),
 * CONNECT, SHUTDOWN, SOCKET, BIND, LISTEN, and SPLICE, TEE, EPOLL_CTL.
 * Results as the kernel gives them, peer close and reset included.
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
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include "helpers.h"

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

static struct io_uring_sqe *last_sqe(struct io_uring *ring)
{
	return &ring->sq.sqes[(ring->sq.sqe_tail - 1) & ring->sq.ring_mask];
}

/* Reaps n CQEs into out, indexed by user_data (which must be < n). */
static void reap_by_ud(struct io_uring *ring, struct test_cqe *out, int n)
{
	struct test_cqe c;
	int i;

	for (i = 0; i < n; i++) {
		assert_int_equal(reap_in_engine(ring, &c), 0);
		assert_true(c.user_data < (__u64) n);
		out[c.user_data] = c;
	}
}

static void submit_n(struct io_uring *ring, int n)
{
	assert_int_equal(io_uring_submit(ring), n);
}

/* The result of the one CQE expected next, which must carry ud. */
static int wait_res(struct io_uring *ring, __u64 ud)
{
	struct test_cqe c;

	assert_int_equal(reap_in_engine(ring, &c), 0);
	assert_true(c.user_data == ud);
	return c.res;
}

/* liburing 2.3 knows neither BIND nor LISTEN (Linux 6.11): the opcodes
 * and the SQE fields, by hand. */
enum { OP_BIND = 56, OP_LISTEN = 57 };
#ifndef TEST_KERNEL
_Static_assert((int) OP_BIND == (int) IORING_OP_BIND &&
	       (int) OP_LISTEN == (int) IORING_OP_LISTEN,
	       "opcode numbers");
#endif

static void prep_bind(struct io_uring_sqe *sqe, int fd,
		      const struct sockaddr *addr, socklen_t len)
{
	io_uring_prep_rw(OP_BIND, sqe, fd, addr, 0, len);
}

static void prep_listen(struct io_uring_sqe *sqe, int fd, int backlog)
{
	io_uring_prep_rw(OP_LISTEN, sqe, fd, NULL, (unsigned) backlog, 0);
}

static struct sockaddr_in loopback(unsigned short port)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sin;
}

/* A listening TCP socket on 127.0.0.1, an ephemeral port, in *addr. */
static int tcp_listener(struct sockaddr_in *addr, int flags)
{
	socklen_t len = sizeof(*addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);

	assert_true(fd >= 0);
	*addr = loopback(0);
	assert_int_equal(bind(fd, (struct sockaddr *) addr, len), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *) addr, &len), 0);
	return fd;
}

static int tcp_client(const struct sockaddr_in *addr)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (const struct sockaddr *) addr,
				 sizeof(*addr)), 0);
	return fd;
}

/* A connected TCP pair over loopback: sv[0] client, sv[1] server side. */
static void tcp_pair(int sv[2])
{
	struct sockaddr_in addr;
	int lfd = tcp_listener(&addr, 0);

	sv[0] = tcp_client(&addr);
	sv[1] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(sv[1] >= 0);
	close(lfd);
}

/* A receive posted first waits; the send through the ring fills it. */
static void test_send_recv_socketpair(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	char buf[32] = { 0 };
	struct test_cqe c[2];
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	io_uring_prep_recv(sqe_ud(ring, 0), sv[1], buf, sizeof(buf), 0);
	submit_n(ring, 1);
	assert_true(cq_is_empty(ring));
	io_uring_prep_send(sqe_ud(ring, 1), sv[0], "hello", 5, 0);
	submit_n(ring, 1);
	reap_by_ud(ring, c, 2);
	assert_int_equal(c[0].res, 5);
	assert_int_equal(c[1].res, 5);
	assert_memory_equal(buf, "hello", 5);
	close(sv[0]);
	close(sv[1]);
}

/* The whole life of a TCP connection through the ring. */
static void test_tcp_through_the_ring(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct sockaddr_in addr = loopback(0), peer;
	socklen_t len = sizeof(addr), peer_len = sizeof(peer);
	struct test_cqe c[3];
	char buf[64] = { 0 };
	int lfd, cfd, afd;

	io_uring_prep_socket(sqe_ud(ring, 0), AF_INET, SOCK_STREAM | SOCK_CLOEXEC,
			     0, 0);
	assert_true((lfd = submit_wait_in_engine(ring, 0)) >= 0);
	prep_bind(sqe_ud(ring, 0), lfd, (struct sockaddr *) &addr, sizeof(addr));
	assert_int_equal(submit_wait_in_engine(ring, 0), 0);
	prep_listen(sqe_ud(ring, 0), lfd, 8);
	assert_int_equal(submit_wait_in_engine(ring, 0), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *) &addr, &len), 0);

	io_uring_prep_accept(sqe_ud(ring, 0), lfd, (struct sockaddr *) &peer,
			     &peer_len, SOCK_CLOEXEC);
	submit_n(ring, 1);
	assert_true(cq_is_empty(ring));
	io_uring_prep_socket(sqe_ud(ring, 1), AF_INET, SOCK_STREAM | SOCK_CLOEXEC,
			     0, 0);
	submit_n(ring, 1);
	assert_int_equal(reap_in_engine(ring, &c[1]), 0);
	assert_true(c[1].user_data == 1 && c[1].res >= 0);
	cfd = c[1].res;
	io_uring_prep_connect(sqe_ud(ring, 1), cfd, (struct sockaddr *) &addr,
			      sizeof(addr));
	submit_n(ring, 1);
	reap_by_ud(ring, c, 2);
	assert_int_equal(c[1].res, 0);
	assert_true(c[0].res >= 0);
	afd = c[0].res;
	assert_int_equal(peer_len, sizeof(peer));
	assert_int_equal(peer.sin_addr.s_addr, htonl(INADDR_LOOPBACK));

	io_uring_prep_recv(sqe_ud(ring, 0), afd, buf, sizeof(buf), 0);
	io_uring_prep_send(sqe_ud(ring, 1), cfd, "ping", 4, 0);
	submit_n(ring, 2);
	reap_by_ud(ring, c, 2);
	assert_int_equal(c[0].res, 4);
	assert_int_equal(c[1].res, 4);
	assert_memory_equal(buf, "ping", 4);

	/* The client stops writing: the server's receive sees the end. */
	io_uring_prep_recv(sqe_ud(ring, 0), afd, buf, sizeof(buf), 0);
	io_uring_prep_shutdown(sqe_ud(ring, 1), cfd, SHUT_WR);
	submit_n(ring, 2);
	reap_by_ud(ring, c, 2);
	assert_int_equal(c[0].res, 0);
	assert_int_equal(c[1].res, 0);
	close(afd);
	close(cfd);
	close(lfd);
}

static void test_connect_refused(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct sockaddr_in addr;
	int lfd = tcp_listener(&addr, 0), fd;

	close(lfd);	/* nobody listens on that port now */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	io_uring_prep_connect(sqe_ud(ring, 3), fd, (struct sockaddr *) &addr,
			      sizeof(addr));
	assert_int_equal(submit_wait_in_engine(ring, 3), -ECONNREFUSED);
	close(fd);
}

/* A socket whose connection was refused may connect again: each CONNECT
 * reports its own refusal, never the abort of the one before. */
static void test_connect_refused_again(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct sockaddr_in addr;
	int lfd = tcp_listener(&addr, 0), fd, i;

	close(lfd);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	for (i = 0; i < 3; i++) {
		io_uring_prep_connect(sqe_ud(ring, 4), fd,
				      (struct sockaddr *) &addr, sizeof(addr));
		assert_int_equal(submit_wait_in_engine(ring, 4), -ECONNREFUSED);
	}
	close(fd);
}

/* UDP: sendto through SEND with an address, and RECVMSG with the sender. */
static void test_udp_sendto_recvmsg(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct sockaddr_in a = loopback(0), b = loopback(0), from;
	socklen_t len = sizeof(a);
	char buf[16] = { 0 };
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr msg;
	struct test_cqe c[2];
	int sa = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int sb = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_int_equal(bind(sa, (struct sockaddr *) &a, len), 0);
	assert_int_equal(bind(sb, (struct sockaddr *) &b, len), 0);
	assert_int_equal(getsockname(sa, (struct sockaddr *) &a, &len), 0);
	assert_int_equal(getsockname(sb, (struct sockaddr *) &b, &len), 0);
	memset(&msg, 0, sizeof(msg));
	msg.msg_name = &from;
	msg.msg_namelen = sizeof(from);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	io_uring_prep_recvmsg(sqe_ud(ring, 0), sb, &msg, 0);
	submit_n(ring, 1);
	assert_true(cq_is_empty(ring));
	io_uring_prep_send(sqe_ud(ring, 1), sa, "datagram", 8, 0);
	io_uring_prep_send_set_addr(last_sqe(ring), (struct sockaddr *) &b,
				    sizeof(b));
	submit_n(ring, 1);
	reap_by_ud(ring, c, 2);
	assert_int_equal(c[1].res, 8);
	assert_int_equal(c[0].res, 8);
	assert_memory_equal(buf, "datagram", 8);
	assert_int_equal(msg.msg_namelen, sizeof(from));
	assert_int_equal(from.sin_port, a.sin_port);
	close(sa);
	close(sb);
}

/* SENDMSG/RECVMSG gather and scatter; the iovec arrays may be reused as
 * soon as the submission returns (IORING_FEAT_SUBMIT_STABLE). */
static void test_msg_iovecs_are_copied(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	char in1[3], in2[5], junk[8];
	struct iovec riov[2] = { { in1, 3 }, { in2, 5 } };
	struct iovec siov[2] = { { "abc", 3 }, { "defgh", 5 } };
	struct msghdr rmsg, smsg;
	struct test_cqe c[2];
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	memset(&rmsg, 0, sizeof(rmsg));
	rmsg.msg_iov = riov;
	rmsg.msg_iovlen = 2;
	io_uring_prep_recvmsg(sqe_ud(ring, 0), sv[1], &rmsg, MSG_WAITALL);
	submit_n(ring, 1);
	riov[0].iov_base = junk;
	riov[1].iov_base = junk;
	memset(&smsg, 0, sizeof(smsg));
	smsg.msg_iov = siov;
	smsg.msg_iovlen = 2;
	io_uring_prep_sendmsg(sqe_ud(ring, 1), sv[0], &smsg, 0);
	submit_n(ring, 1);
	reap_by_ud(ring, c, 2);
	assert_int_equal(c[1].res, 8);
	assert_int_equal(c[0].res, 8);
	assert_memory_equal(in1, "abc", 3);
	assert_memory_equal(in2, "defgh", 5);
	close(sv[0]);
	close(sv[1]);
}

/* MSG_WAITALL on a stream: the receive waits for all of its length. */
static void test_recv_waitall(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	char buf[8] = { 0 };
	struct test_cqe c;
	int sv[2];

	tcp_pair(sv);
	io_uring_prep_recv(sqe_ud(ring, 0), sv[1], buf, sizeof(buf), MSG_WAITALL);
	submit_n(ring, 1);
	assert_int_equal(write(sv[0], "1234", 4), 4);
	assert_int_equal(write(sv[0], "5678", 4), 4);
	assert_int_equal(reap_in_engine(ring, &c), 0);
	assert_int_equal(c.res, 8);
	assert_memory_equal(buf, "12345678", 8);
	close(sv[0]);
	close(sv[1]);
}

/* MSG_WAITALL on a stream: RECVMSG also waits for all its iovecs hold,
 * whether part of it came before the submission or after. */
static void test_recvmsg_waitall(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	char a[3], b[5];
	struct iovec iov[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
	struct msghdr msg;
	struct test_cqe c;
	int sv[2], early;

	tcp_pair(sv);
	for (early = 0; early < 2; early++) {
		memset(a, 0, sizeof(a));
		memset(b, 0, sizeof(b));
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = iov;
		msg.msg_iovlen = 2;
		if (early)
			assert_int_equal(write(sv[0], "12", 2), 2);
		io_uring_prep_recvmsg(sqe_ud(ring, 0), sv[1], &msg, MSG_WAITALL);
		submit_n(ring, 1);
		if (!early)
			assert_int_equal(write(sv[0], "12", 2), 2);
		assert_true(cq_is_empty(ring));
		assert_int_equal(write(sv[0], "3456", 4), 4);
		assert_true(cq_is_empty(ring));
		assert_int_equal(write(sv[0], "78", 2), 2);
		assert_int_equal(reap_in_engine(ring, &c), 0);
		assert_int_equal(c.res, 8);
		assert_memory_equal(a, "123", 3);
		assert_memory_equal(b, "45678", 5);
	}
	close(sv[0]);
	close(sv[1]);
}

/* Peer reset and close: -ECONNRESET, then -EPIPE on a send, and never a
 * SIGPIPE (the kernel sends with MSG_NOSIGNAL). */
static void test_peer_reset_and_close(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	char buf[8];
	int sv[2], res;

	tcp_pair(sv);
	io_uring_prep_recv(sqe_ud(ring, 0), sv[1], buf, sizeof(buf), 0);
	submit_n(ring, 1);
	assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_LINGER, &lg,
				    sizeof(lg)), 0);
	close(sv[0]);
	assert_int_equal(wait_res(ring, 0), -ECONNRESET);
	close(sv[1]);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[0]);
	io_uring_prep_send(sqe_ud(ring, 1), sv[1], "x", 1, 0);
	res = submit_wait_in_engine(ring, 1);
	assert_int_equal(res, -EPIPE);
	close(sv[1]);
}

static void test_errors(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	char buf[4];
	int fds[2], sv[2];

	assert_int_equal(pipe(fds), 0);
	io_uring_prep_recv(sqe_ud(ring, 1), fds[0], buf, sizeof(buf), 0);
	assert_int_equal(submit_wait_in_engine(ring, 1), -ENOTSOCK);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* The application's MSG_DONTWAIT: -EAGAIN instead of waiting. */
	io_uring_prep_recv(sqe_ud(ring, 2), sv[0], buf, sizeof(buf), MSG_DONTWAIT);
	assert_int_equal(submit_wait_in_engine(ring, 2), -EAGAIN);
	/* Multishot receives need provided buffers. */
	io_uring_prep_recv(sqe_ud(ring, 3), sv[0], buf, sizeof(buf), 0);
	last_sqe(ring)->ioprio = IORING_RECV_MULTISHOT;
	assert_int_equal(submit_wait_in_engine(ring, 3), -EINVAL);
	io_uring_prep_accept(sqe_ud(ring, 4), sv[0], NULL, NULL, O_APPEND);
	assert_int_equal(submit_wait_in_engine(ring, 4), -EINVAL);
	io_uring_prep_socket(sqe_ud(ring, 5), AF_INET, SOCK_STREAM, 0, 0);
	last_sqe(ring)->rw_flags = 1;
	assert_int_equal(submit_wait_in_engine(ring, 5), -EINVAL);
	io_uring_prep_shutdown(sqe_ud(ring, 6), fds[0], SHUT_RD);
	assert_int_equal(submit_wait_in_engine(ring, 6), -ENOTSOCK);
	close(fds[0]);
	close(fds[1]);
	close(sv[0]);
	close(sv[1]);
}

/* IORING_RECVSEND_POLL_FIRST waits for readiness even when data is there. */
static void test_poll_first(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	char buf[4] = { 0 };
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[0], "ab", 2), 2);
	io_uring_prep_recv(sqe_ud(ring, 1), sv[1], buf, sizeof(buf), 0);
	last_sqe(ring)->ioprio = IORING_RECVSEND_POLL_FIRST;
	assert_int_equal(submit_wait_in_engine(ring, 1), 2);
	assert_memory_equal(buf, "ab", 2);
	close(sv[0]);
	close(sv[1]);
}

/* One multishot accept, one CQE with F_MORE per connection. */
static void test_multishot_accept(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct sockaddr_in addr;
	struct test_cqe c;
	int lfd, clients[3], i;

	for (int nonblock = 0; nonblock < 2; nonblock++) {
		lfd = tcp_listener(&addr, nonblock ? SOCK_NONBLOCK : 0);
		io_uring_prep_multishot_accept(sqe_ud(ring, 7), lfd, NULL, NULL,
					       SOCK_CLOEXEC);
		submit_n(ring, 1);
		for (i = 0; i < 3; i++) {
			clients[i] = tcp_client(&addr);
			assert_int_equal(reap_in_engine(ring, &c), 0);
			assert_true(c.user_data == 7);
			assert_true(c.res >= 0);
			assert_true(c.flags & IORING_CQE_F_MORE);
			close(c.res);
		}
		io_uring_prep_cancel64(sqe_ud(ring, 8), 7, 0);
		submit_n(ring, 1);
		for (i = 0; i < 2; i++) {
			assert_int_equal(reap_in_engine(ring, &c), 0);
			if (c.user_data == 7) {
				assert_int_equal(c.res, -ECANCELED);
				assert_int_equal(c.flags & IORING_CQE_F_MORE, 0);
			} else {
				/* -EALREADY: found while the engine was
				 * trying it again (uring-alike(7)). */
				assert_true(c.res == 0 || c.res == -EALREADY);
			}
		}
		for (i = 0; i < 3; i++)
			close(clients[i]);
		close(lfd);
	}
}

/* SPLICE moves pipe data into a socket; TEE copies a pipe into another. */
static void test_splice_tee(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	int p1[2], p2[2], sv[2];
	char buf[16] = { 0 };

	assert_int_equal(pipe(p1), 0);
	assert_int_equal(pipe(p2), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(p1[1], "spliced!", 8), 8);
	io_uring_prep_tee(sqe_ud(ring, 1), p1[0], p2[1], 8, 0);
	assert_int_equal(submit_wait_in_engine(ring, 1), 8);
	io_uring_prep_splice(sqe_ud(ring, 2), p1[0], -1, sv[0], -1, 8, 0);
	assert_int_equal(submit_wait_in_engine(ring, 2), 8);
	assert_int_equal(read(sv[1], buf, sizeof(buf)), 8);
	assert_memory_equal(buf, "spliced!", 8);
	assert_int_equal(read(p2[0], buf, sizeof(buf)), 8);
	assert_memory_equal(buf, "spliced!", 8);
	/* An empty pipe: the splice waits for data. */
	io_uring_prep_splice(sqe_ud(ring, 3), p1[0], -1, sv[0], -1, 4, 0);
	submit_n(ring, 1);
	assert_true(cq_is_empty(ring));
	assert_int_equal(write(p1[1], "late", 4), 4);
	assert_int_equal(wait_res(ring, 3), 4);
	io_uring_prep_tee(sqe_ud(ring, 4), p1[0], p2[1], 4, 0);
	last_sqe(ring)->off = 1;
	assert_int_equal(submit_wait_in_engine(ring, 4), -EINVAL);
	close(p1[0]);
	close(p1[1]);
	close(p2[0]);
	close(p2[1]);
	close(sv[0]);
	close(sv[1]);
}

/* SPLICE_F_FD_IN_FIXED: the input is a registered file's slot, for SPLICE
 * and TEE; a slot that holds nothing is -EBADF. */
static void test_splice_fixed_input(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	int p1[2], p2[2], fds[2];
	char buf[16] = { 0 };

	assert_int_equal(pipe(p1), 0);
	assert_int_equal(pipe(p2), 0);
	fds[0] = p1[0];
	fds[1] = -1;
	assert_int_equal(io_uring_register_files(ring, fds, 2), 0);
	assert_int_equal(write(p1[1], "fixed in", 8), 8);
	io_uring_prep_tee(sqe_ud(ring, 1), 0, p2[1], 8, SPLICE_F_FD_IN_FIXED);
	assert_int_equal(submit_wait_in_engine(ring, 1), 8);
	io_uring_prep_splice(sqe_ud(ring, 2), 0, -1, p2[1], -1, 8,
			     SPLICE_F_FD_IN_FIXED);
	assert_int_equal(submit_wait_in_engine(ring, 2), 8);
	assert_int_equal(read(p2[0], buf, sizeof(buf)), 16);
	assert_memory_equal(buf, "fixed infixed in", 16);
	io_uring_prep_splice(sqe_ud(ring, 3), 1, -1, p2[1], -1, 8,
			     SPLICE_F_FD_IN_FIXED);
	assert_int_equal(submit_wait_in_engine(ring, 3), -EBADF);
	io_uring_prep_splice(sqe_ud(ring, 4), 2, -1, p2[1], -1, 8,
			     SPLICE_F_FD_IN_FIXED);
	assert_int_equal(submit_wait_in_engine(ring, 4), -EBADF);
	assert_int_equal(io_uring_unregister_files(ring), 0);
	close(p1[0]);
	close(p1[1]);
	close(p2[0]);
	close(p2[1]);
}

/*
 * A TCP socket whose next byte is urgent data (not inline) reports data,
 * yet splices none: from an O_NONBLOCK socket, SPLICE ends with -EAGAIN,
 * as the kernel's, and never spins on readiness that moves nothing. (A
 * wait that timed out closes the socket, so that a spinning worker ends.)
 */
static void test_splice_from_socket_at_urgent_mark(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct __kernel_timespec ts = { .tv_sec = 10 };
	struct io_uring_cqe *cqe;
	struct pollfd pfd;
	int sv[2], p[2], ret;

	tcp_pair(sv);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(send(sv[0], "u", 1, MSG_OOB), 1);
	assert_int_equal(send(sv[0], "data", 4, 0), 4);
	pfd = (struct pollfd) { .fd = sv[1], .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 10000), 1);
	assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
	io_uring_prep_splice(sqe_ud(ring, 1), sv[1], -1, p[1], -1, 64, 0);
	submit_n(ring, 1);
	ret = io_uring_wait_cqe_timeout(ring, &cqe, &ts);
	if (ret) {
		close(sv[1]);
		assert_int_equal(io_uring_wait_cqe(ring, &cqe), 0);
		fail_msg("SPLICE did not end: %d", ret);
	}
	assert_int_equal(cqe->res, -EAGAIN);
	io_uring_cqe_seen(ring, cqe);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}

static void test_epoll_ctl(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 42 }, out;
	int epfd = epoll_create1(EPOLL_CLOEXEC), fds[2];

	assert_int_equal(pipe(fds), 0);
	io_uring_prep_epoll_ctl(sqe_ud(ring, 1), epfd, fds[0], EPOLL_CTL_ADD, &ev);
	submit_n(ring, 1);
	ev.data.u64 = 0;	/* copied at submission */
	assert_int_equal(wait_res(ring, 1), 0);
	assert_int_equal(write(fds[1], "x", 1), 1);
	assert_int_equal(epoll_wait(epfd, &out, 1, 0), 1);
	assert_true(out.data.u64 == 42);
	io_uring_prep_epoll_ctl(sqe_ud(ring, 2), epfd, fds[0], EPOLL_CTL_ADD, &ev);
	assert_int_equal(submit_wait_in_engine(ring, 2), -EEXIST);
	io_uring_prep_epoll_ctl(sqe_ud(ring, 3), epfd, fds[0], EPOLL_CTL_DEL, NULL);
	assert_int_equal(submit_wait_in_engine(ring, 3), 0);
	close(epfd);
	close(fds[0]);
	close(fds[1]);
}

/* Many connections, each with a receive waiting: no thread each. */
static void test_idle_connections_hold_no_threads(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	int sv[32][2], before, i;
	char buf[32];
	struct test_cqe c;

	before = count_threads();
	for (i = 0; i < 32; i++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv[i]), 0);
		io_uring_prep_recv(sqe_ud(ring, (__u64) i), sv[i][1], &buf[i], 1, 0);
	}
	submit_n(ring, 32);
	assert_true(count_threads() <= before + 2);
	for (i = 0; i < 32; i++)
		assert_int_equal(write(sv[i][0], "y", 1), 1);
	for (i = 0; i < 32; i++) {
		assert_int_equal(reap_in_engine(ring, &c), 0);
		assert_int_equal(c.res, 1);
		assert_int_equal(buf[c.user_data], 'y');
	}
	for (i = 0; i < 32; i++) {
		close(sv[i][0]);
		close(sv[i][1]);
	}
}

/*
 * io_uring_enter() is no cancellation point, whatever it transfers: a
 * thread with a cancellation pending submits a RECV, a SEND and an
 * ACCEPT that all run at once, gets the count back, and is cancelled
 * only at its next cancellation point.
 */
static void test_transfers_are_no_cancellation_points(void **state)
{
	static struct {
		struct io_uring	ring;
		int		sv[2], lfd;
		struct sockaddr_in addr;
		char		buf[8];
	} t;
	struct test_cqe c[4];
	int peer;

	(void) state;
	assert_int_equal(io_uring_queue_init(8, &t.ring, 0), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, t.sv), 0);
	assert_int_equal(write(t.sv[0], "ping", 4), 4);
	t.lfd = tcp_listener(&t.addr, SOCK_NONBLOCK);
	peer = tcp_client(&t.addr);
	io_uring_prep_recv(sqe_ud(&t.ring, 0), t.sv[1], t.buf, sizeof(t.buf), 0);
	io_uring_prep_send(sqe_ud(&t.ring, 1), t.sv[1], "pong", 4, 0);
	io_uring_prep_accept(sqe_ud(&t.ring, 2), t.lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_int_equal(submit_in_cancelled_thread(&t.ring), 3);
	reap_by_ud(&t.ring, c, 3);
	assert_int_equal(c[0].res, 4);
	assert_int_equal(c[1].res, 4);
	assert_memory_equal(t.buf, "ping", 4);
	assert_true(c[2].res >= 0);
	io_uring_queue_exit(&t.ring);
	close(c[2].res);
	close(peer);
	close(t.lfd);
	close(t.sv[0]);
	close(t.sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_ring, fixture_teardown)
		T(test_send_recv_socketpair),
		T(test_tcp_through_the_ring),
		T(test_connect_refused),
		T(test_connect_refused_again),
		T(test_udp_sendto_recvmsg),
		T(test_msg_iovecs_are_copied),
		T(test_recv_waitall),
		T(test_recvmsg_waitall),
		T(test_peer_reset_and_close),
		T(test_errors),
		T(test_poll_first),
		T(test_multishot_accept),
		T(test_splice_tee),
		T(test_splice_fixed_input),
		T(test_splice_from_socket_at_urgent_mark),
		T(test_epoll_ctl),
		T(test_idle_connections_hold_no_threads),
		T(test_transfers_are_no_cancellation_points),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
