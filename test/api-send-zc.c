/* SPDX-License-Identifier: MIT */
/*
 * SEND_ZC and SENDMSG_ZC: the send's CQE with IORING_CQE_F_MORE, then its
 * notification (IORING_CQE_F_NOTIF, res 0) under the same user_data; the
 * usage report; registered buffers; errors, which still notify.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "helpers.h"

/* liburing 2.3 (the kernel comparison's fallback) predates these names. */
#ifndef IORING_SEND_ZC_REPORT_USAGE
#define IORING_SEND_ZC_REPORT_USAGE	(1U << 3)
#define IORING_NOTIF_USAGE_ZC_COPIED	(1U << 31)
#endif

#define UD	0x5eed

/* A connected TCP pair over loopback: sv[0] sends, sv[1] receives. */
static void tcp_pair(int sv[2])
{
	struct sockaddr_in addr;
	socklen_t len = sizeof(addr);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(lfd >= 0);
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *) &addr, len), 0);
	assert_int_equal(listen(lfd, 1), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *) &addr, &len), 0);
	sv[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(sv[0] >= 0);
	assert_int_equal(connect(sv[0], (struct sockaddr *) &addr, len), 0);
	sv[1] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(sv[1] >= 0);
	close(lfd);
}

static void close_pair(int sv[2])
{
	close(sv[0]);
	close(sv[1]);
}

/* Submits the prepared SQE (user_data UD) and checks its two CQEs, in
 * order: the send's result with F_MORE, then the notification. */
static void expect_send_then_notif(struct io_uring *ring, int res,
				   int notif_res)
{
	struct io_uring_cqe *cqe;

	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(io_uring_wait_cqe(ring, &cqe), 0);
	assert_int_equal(cqe->user_data, UD);
	assert_int_equal(cqe->res, res);
	assert_int_equal(cqe->flags, IORING_CQE_F_MORE);
	io_uring_cqe_seen(ring, cqe);
	assert_int_equal(io_uring_wait_cqe(ring, &cqe), 0);
	assert_int_equal(cqe->user_data, UD);
	assert_int_equal(cqe->res, notif_res);
	assert_int_equal(cqe->flags, IORING_CQE_F_NOTIF);
	io_uring_cqe_seen(ring, cqe);
}

static struct io_uring_sqe *sqe_ud(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	assert_non_null(sqe);
	return sqe;
}

static void expect_received(int fd, const char *want, size_t len)
{
	char got[64];

	assert_int_equal(recv(fd, got, sizeof(got), 0), (ssize_t) len);
	assert_memory_equal(got, want, len);
}

static void test_send_zc_tcp(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct io_uring_sqe *sqe;
	int sv[2];

	tcp_pair(sv);
	sqe = sqe_ud(ring);
	io_uring_prep_send_zc(sqe, sv[0], "hello", 5, 0, 0);
	sqe->user_data = UD;
	expect_send_then_notif(ring, 5, 0);
	expect_received(sv[1], "hello", 5);
	close_pair(sv);
}

static void test_sendmsg_zc(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	char a[] = "zero", b[] = "copy";
	struct iovec iov[2] = { { a, 4 }, { b, 4 } };
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
	struct io_uring_sqe *sqe;
	int sv[2];

	tcp_pair(sv);
	sqe = sqe_ud(ring);
	io_uring_prep_sendmsg_zc(sqe, sv[0], &msg, 0);
	sqe->user_data = UD;
	expect_send_then_notif(ring, 8, 0);
	expect_received(sv[1], "zerocopy", 8);
	close_pair(sv);
}

/* A registered buffer; an index with no buffer behind it is -EFAULT. */
static void test_send_zc_fixed(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	static char buf[16] = "registered";
	struct iovec iov = { buf, sizeof(buf) };
	struct io_uring_sqe *sqe;
	int sv[2];

	tcp_pair(sv);
	assert_int_equal(io_uring_register_buffers(ring, &iov, 1), 0);
	sqe = sqe_ud(ring);
	io_uring_prep_send_zc_fixed(sqe, sv[0], buf + 2, 8, 0, 0, 0);
	sqe->user_data = UD;
	expect_send_then_notif(ring, 8, 0);
	expect_received(sv[1], "gistered", 8);
	sqe = sqe_ud(ring);
	io_uring_prep_send_zc_fixed(sqe, sv[0], buf, 8, 0, 0, 3);
	sqe->user_data = UD;
	expect_send_then_notif(ring, -EFAULT, 0);
	sqe = sqe_ud(ring);
	io_uring_prep_send_zc_fixed(sqe, sv[0], buf, sizeof(buf) + 1, 0, 0, 0);
	sqe->user_data = UD;
	expect_send_then_notif(ring, -EFAULT, 0);
	close_pair(sv);
}

/* SENDMSG_ZC from a registered buffer: every iovec must lie in it. */
static void test_sendmsg_zc_fixed(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	static char buf[16] = "registered";
	struct iovec reg = { buf, sizeof(buf) };
	struct iovec iov[2] = { { buf, 2 }, { buf + 4, 6 } };
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
	struct io_uring_sqe *sqe;
	int sv[2];

	tcp_pair(sv);
	assert_int_equal(io_uring_register_buffers(ring, &reg, 1), 0);
	sqe = sqe_ud(ring);
	io_uring_prep_sendmsg_zc(sqe, sv[0], &msg, 0);
	sqe->ioprio = IORING_RECVSEND_FIXED_BUF | IORING_SEND_ZC_REPORT_USAGE;
	sqe->user_data = UD;
	expect_send_then_notif(ring, 8, (int) IORING_NOTIF_USAGE_ZC_COPIED);
	expect_received(sv[1], "restered", 8);
	iov[1].iov_len = sizeof(buf);
	sqe = sqe_ud(ring);
	io_uring_prep_sendmsg_zc(sqe, sv[0], &msg, 0);
	sqe->ioprio = IORING_RECVSEND_FIXED_BUF | IORING_SEND_ZC_REPORT_USAGE;
	sqe->user_data = UD;
	expect_send_then_notif(ring, -EFAULT,
			       (int) IORING_NOTIF_USAGE_ZC_COPIED);
	close_pair(sv);
}

/* A UDP send to the address in addr2; one too long for any address is
 * refused, and notifies. */
static void test_send_zc_to_address(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct sockaddr_in addr;
	socklen_t len = sizeof(addr);
	struct io_uring_sqe *sqe;
	int rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(rx >= 0 && tx >= 0);
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(rx, (struct sockaddr *) &addr, len), 0);
	assert_int_equal(getsockname(rx, (struct sockaddr *) &addr, &len), 0);
	sqe = sqe_ud(ring);
	io_uring_prep_send_zc(sqe, tx, "dgram", 5, 0, 0);
	io_uring_prep_send_set_addr(sqe, (struct sockaddr *) &addr,
				    (__u16) len);
	sqe->user_data = UD;
	expect_send_then_notif(ring, 5, 0);
	expect_received(rx, "dgram", 5);
	sqe = sqe_ud(ring);
	io_uring_prep_send_zc(sqe, tx, "dgram", 5, 0, 0);
	io_uring_prep_send_set_addr(sqe, (struct sockaddr *) &addr, 200);
	sqe->user_data = UD;
	expect_send_then_notif(ring, -EINVAL, 0);
	sqe = sqe_ud(ring);
	io_uring_prep_send_zc(sqe, tx, "dgram", 5, 0, 0);
	sqe->user_data = UD;
	expect_send_then_notif(ring, -EDESTADDRREQ, 0);
	close(rx);
	close(tx);
}

/* A send that finds no room waits for it (unless the socket's buffer grew
 * meanwhile); both CQEs come, in order, once the peer has read enough. */
static void test_send_zc_waits_for_room(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	static char chunk[65536], sink[65536];
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	size_t queued = 0;
	ssize_t n;
	int sv[2];

	tcp_pair(sv);
	while ((n = send(sv[0], chunk, sizeof(chunk), MSG_DONTWAIT)) > 0)
		queued += (size_t) n;
	assert_int_equal(errno, EAGAIN);
	sqe = sqe_ud(ring);
	io_uring_prep_send_zc(sqe, sv[0], "tail", 4, 0, 0);
	sqe->user_data = UD;
	assert_int_equal(io_uring_submit(ring), 1);
	queued += 4;
	while (queued) {
		n = recv(sv[1], sink, sizeof(sink), 0);
		assert_true(n > 0);
		queued -= (size_t) n;
	}
	assert_memory_equal(sink + n - 4, "tail", 4);
	assert_int_equal(io_uring_wait_cqe(ring, &cqe), 0);
	assert_int_equal(cqe->res, 4);
	assert_int_equal(cqe->flags, IORING_CQE_F_MORE);
	io_uring_cqe_seen(ring, cqe);
	assert_int_equal(io_uring_wait_cqe(ring, &cqe), 0);
	assert_int_equal(cqe->user_data, UD);
	assert_int_equal(cqe->res, 0);
	assert_int_equal(cqe->flags, IORING_CQE_F_NOTIF);
	io_uring_cqe_seen(ring, cqe);
	close_pair(sv);
}

/* The data was copied, and the notification says so. */
static void test_report_usage(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct io_uring_sqe *sqe;
	int sv[2];

	tcp_pair(sv);
	sqe = sqe_ud(ring);
	io_uring_prep_send_zc(sqe, sv[0], "usage", 5, 0,
			      IORING_SEND_ZC_REPORT_USAGE);
	sqe->user_data = UD;
	expect_send_then_notif(ring, 5, (int) IORING_NOTIF_USAGE_ZC_COPIED);
	expect_received(sv[1], "usage", 5);
	close_pair(sv);
}

/* A failed send still notifies; a unix socket takes no zero-copy send,
 * what is not a socket fails as such. */
static void test_errors_notify(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct io_uring_sqe *sqe;
	int sv[2], us[2], p[2];

	tcp_pair(sv);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, us), 0);
	assert_int_equal(pipe(p), 0);
	sqe = sqe_ud(ring);
	io_uring_prep_send_zc(sqe, us[0], "x", 1, 0, 0);
	sqe->user_data = UD;
	expect_send_then_notif(ring, -EOPNOTSUPP, 0);
	sqe = sqe_ud(ring);
	io_uring_prep_send_zc(sqe, p[1], "x", 1, 0,
			      IORING_SEND_ZC_REPORT_USAGE);
	sqe->user_data = UD;
	expect_send_then_notif(ring, -ENOTSOCK,
			       (int) IORING_NOTIF_USAGE_ZC_COPIED);
	/* Data that cannot be read was not copied either. */
	sqe = sqe_ud(ring);
	io_uring_prep_send_zc(sqe, sv[0], (void *) 8, 5, 0,
			      IORING_SEND_ZC_REPORT_USAGE);
	sqe->user_data = UD;
	expect_send_then_notif(ring, -EFAULT, 0);
	assert_int_equal(shutdown(sv[0], SHUT_WR), 0);
	sqe = sqe_ud(ring);
	io_uring_prep_send_zc(sqe, sv[0], "x", 1, 0, 0);
	sqe->user_data = UD;
	expect_send_then_notif(ring, -EPIPE, 0);
	close_pair(sv);
	close_pair(us);
	close_pair(p);
}

/* Unknown flags fail once the notification exists (it follows); a skipped
 * success or addr3 fail before it, with one CQE. */
static void test_bad_flags(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct msghdr msg = { 0 };
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	int sv[2];

	tcp_pair(sv);
	sqe = sqe_ud(ring);
	io_uring_prep_send_zc(sqe, sv[0], "x", 1, 0, 1U << 7);
	sqe->user_data = UD;
	expect_send_then_notif(ring, -EINVAL, 0);
	sqe = sqe_ud(ring);
	io_uring_prep_send_zc(sqe, sv[0], "x", 1, 0, IORING_RECV_MULTISHOT);
	sqe->user_data = UD;
	expect_send_then_notif(ring, -EINVAL, 0);
	sqe = sqe_ud(ring);
	io_uring_prep_sendmsg_zc(sqe, sv[0], &msg, 0);
	sqe->addr2 = 1;
	sqe->user_data = UD;
	expect_send_then_notif(ring, -EINVAL, 0);
	sqe = sqe_ud(ring);
	io_uring_prep_send_zc(sqe, sv[0], "x", 1, 0, 0);
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	sqe->user_data = UD;
	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(io_uring_wait_cqe(ring, &cqe), 0);
	assert_int_equal(cqe->res, -EINVAL);
	assert_int_equal(cqe->flags, 0);
	io_uring_cqe_seen(ring, cqe);
	assert_int_equal(io_uring_peek_cqe(ring, &cqe), -EAGAIN);
	close_pair(sv);
}

/* IORING_RECVSEND_POLL_FIRST is taken: the send waits for room first. */
static void test_poll_first(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct io_uring_sqe *sqe;
	int sv[2];

	tcp_pair(sv);
	sqe = sqe_ud(ring);
	io_uring_prep_send_zc(sqe, sv[0], "first", 5, 0,
			      IORING_RECVSEND_POLL_FIRST);
	sqe->user_data = UD;
	expect_send_then_notif(ring, 5, 0);
	expect_received(sv[1], "first", 5);
	close_pair(sv);
}

static void test_probe_reports_them(void **state)
{
	struct io_uring_probe *p = io_uring_get_probe_ring(fixture_ring(state));

	assert_non_null(p);
	assert_true(io_uring_opcode_supported(p, IORING_OP_SEND_ZC));
	assert_true(io_uring_opcode_supported(p, IORING_OP_SENDMSG_ZC));
	io_uring_free_probe(p);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_send_zc_tcp),
		T(test_sendmsg_zc),
		T(test_send_zc_fixed),
		T(test_sendmsg_zc_fixed),
		T(test_send_zc_to_address),
		T(test_send_zc_waits_for_room),
		T(test_report_usage),
		T(test_errors_notify),
		T(test_bad_flags),
		T(test_poll_first),
		T(test_probe_reports_them),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
