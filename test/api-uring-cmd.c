/* SPDX-License-Identifier: MIT */
/*
 * URING_CMD: the socket commands (SIOCINQ, SIOCOUTQ, GETSOCKOPT,
 * SETSOCKOPT), the block device's discard, and the errors of every other
 * command and file, as Linux 6.18 gives them: a file without commands
 * (regular file, pipe, eventfd, AF_UNIX for the queue sizes) and an unknown
 * socket command fail with -EOPNOTSUPP, an unknown block command with
 * -EINVAL. Loopback sockets; the discard goes to a loop device over a file
 * of the test's, skipped where none can be attached.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <linux/net_tstamp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <linux/errqueue.h>
#include "helpers.h"

#ifdef LIBURING_BEFORE_2_15
SKIP_BEFORE_2_15_MAIN()
#else

static int setup_ring(void **state)
{
	return fixture_setup_ring(state, 16, 0);
}

static struct io_uring_sqe *cmd(struct io_uring *ring, int op, int fd)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);

	io_uring_prep_uring_cmd(sqe, op, fd);
	sqe->user_data = 7;
	return sqe;
}

static struct io_uring_sqe *sock_cmd(struct io_uring *ring, int op, int fd,
				     int level, int optname, void *optval,
				     int optlen)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);

	io_uring_prep_cmd_sock(sqe, op, fd, level, optname, optval, optlen);
	sqe->user_data = 7;
	return sqe;
}

/* The result of the one SQE prepared. */
static int result(struct io_uring *ring)
{
	return submit_wait_in_engine(ring, 7);
}

/* A connected loopback TCP pair: c[0] connected, c[1] accepted; and the
 * listener, in *lfd. */
static void tcp_pair(int c[2], int *lfd)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);

	*lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(*lfd >= 0);
	assert_int_equal(bind(*lfd, (struct sockaddr *) &a, sizeof(a)), 0);
	assert_int_equal(listen(*lfd, 4), 0);
	assert_int_equal(getsockname(*lfd, (struct sockaddr *) &a, &len), 0);
	c[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c[0] >= 0);
	assert_int_equal(connect(c[0], (struct sockaddr *) &a, sizeof(a)), 0);
	c[1] = accept4(*lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(c[1] >= 0);
}

static void close_all(const int *fds, int n)
{
	while (n--)
		close(fds[n]);
}

/* Waits until fd has data to read: TCP's loopback delivery is done by
 * the time send returns, but the test need not rely on it. */
static void wait_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	assert_int_equal(poll(&p, 1, -1), 1);
}

static void test_probe_lists_uring_cmd(void **state)
{
	struct io_uring_probe *p = io_uring_get_probe_ring(fixture_ring(state));

	assert_non_null(p);
	assert_true(io_uring_opcode_supported(p, IORING_OP_URING_CMD));
	io_uring_free_probe(p);
}

static void test_tcp_queue_sizes(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	int c[2], l;

	tcp_pair(c, &l);
	cmd(ring, SOCKET_URING_OP_SIOCINQ, c[1]);
	assert_int_equal(result(ring), 0);
	assert_int_equal(send(c[0], "hello", 5, 0), 5);
	wait_readable(c[1]);
	cmd(ring, SOCKET_URING_OP_SIOCINQ, c[1]);
	assert_int_equal(result(ring), 5);
	cmd(ring, SOCKET_URING_OP_SIOCOUTQ, c[1]);
	assert_int_equal(result(ring), 0);
	/* TCP answers neither for a listener. */
	cmd(ring, SOCKET_URING_OP_SIOCINQ, l);
	assert_int_equal(result(ring), -EINVAL);
	cmd(ring, SOCKET_URING_OP_SIOCOUTQ, l);
	assert_int_equal(result(ring), -EINVAL);
	/* IOSQE_ASYNC: the same answer from a worker. */
	cmd(ring, SOCKET_URING_OP_SIOCINQ, c[1])->flags |= IOSQE_ASYNC;
	assert_int_equal(result(ring), 5);
	close_all(c, 2);
	close(l);
}

static void test_udp_next_datagram(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int u[2];

	u[0] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	u[1] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(u[0] >= 0 && u[1] >= 0);
	assert_int_equal(bind(u[1], (struct sockaddr *) &a, sizeof(a)), 0);
	assert_int_equal(getsockname(u[1], (struct sockaddr *) &a, &len), 0);
	cmd(ring, SOCKET_URING_OP_SIOCINQ, u[1]);
	assert_int_equal(result(ring), 0);
	assert_int_equal(sendto(u[0], "datagram", 8, 0,
				(struct sockaddr *) &a, sizeof(a)), 8);
	assert_int_equal(sendto(u[0], "x", 1, 0,
				(struct sockaddr *) &a, sizeof(a)), 1);
	wait_readable(u[1]);
	/* UDP's SIOCINQ is the size of the next datagram. */
	cmd(ring, SOCKET_URING_OP_SIOCINQ, u[1]);
	assert_int_equal(result(ring), 8);
	close_all(u, 2);
}

/* A registered socket is reached through its slot. */
static void test_fixed_file(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	int c[2], l;

	tcp_pair(c, &l);
	assert_int_equal(io_uring_register_files(ring, &c[1], 1), 0);
	assert_int_equal(send(c[0], "abc", 3, 0), 3);
	wait_readable(c[1]);
	cmd(ring, SOCKET_URING_OP_SIOCINQ, 0)->flags |= IOSQE_FIXED_FILE;
	assert_int_equal(result(ring), 3);
	close_all(c, 2);
	close(l);
}

/* Files without commands, and commands a socket does not have. */
static void test_unsupported(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	int pfd[2], sv[2], c[2], l, efd, reg;
	char path[PATH_MAX];

	join_path(path, ((struct fixture *) *state)->dir, "f");
	reg = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	assert_true(reg >= 0);
	assert_int_equal(pipe(pfd), 0);
	efd = eventfd(0, EFD_CLOEXEC);
	assert_true(efd >= 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				    sv), 0);
	tcp_pair(c, &l);

	cmd(ring, SOCKET_URING_OP_SIOCINQ, reg);
	assert_int_equal(result(ring), -EOPNOTSUPP);
	cmd(ring, BLOCK_URING_CMD_DISCARD, reg);
	assert_int_equal(result(ring), -EOPNOTSUPP);
	cmd(ring, SOCKET_URING_OP_SIOCINQ, reg)->flags |= IOSQE_ASYNC;
	assert_int_equal(result(ring), -EOPNOTSUPP);
	cmd(ring, SOCKET_URING_OP_SIOCINQ, pfd[0]);
	assert_int_equal(result(ring), -EOPNOTSUPP);
	cmd(ring, SOCKET_URING_OP_SIOCINQ, efd);
	assert_int_equal(result(ring), -EOPNOTSUPP);
	cmd(ring, SOCKET_URING_OP_SIOCINQ, ring->ring_fd);
	assert_int_equal(result(ring), -EOPNOTSUPP);
	/* AF_UNIX's protocol has no ioctl for the queue sizes. */
	cmd(ring, SOCKET_URING_OP_SIOCINQ, sv[0]);
	assert_int_equal(result(ring), -EOPNOTSUPP);
	cmd(ring, SOCKET_URING_OP_SIOCOUTQ, sv[0]);
	assert_int_equal(result(ring), -EOPNOTSUPP);
	cmd(ring, 99, c[1]);
	assert_int_equal(result(ring), -EOPNOTSUPP);
	cmd(ring, BLOCK_URING_CMD_DISCARD, c[1]);
	assert_int_equal(result(ring), -EOPNOTSUPP);
	close_all(pfd, 2);
	close_all(sv, 2);
	close_all(c, 2);
	close(l);
	close(efd);
	close(reg);
}

/* Linux 6.18 has no GETSOCKNAME command (6.19 adds it): its socket
 * answers an unknown command. */
static void test_getsockname_unknown(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	struct io_uring_sqe *sqe;
	int c[2], l;

	tcp_pair(c, &l);
	sqe = must_get_sqe(ring);
	io_uring_prep_cmd_getsockname(sqe, c[0], (struct sockaddr *) &sa,
				      &len, 0);
	sqe->user_data = 7;
	assert_int_equal(result(ring), -EOPNOTSUPP);
	close_all(c, 2);
	close(l);
}

static void test_bad_sqes(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	int c[2], l;

	tcp_pair(c, &l);
	cmd(ring, SOCKET_URING_OP_SIOCINQ, c[1])->__pad1 = 1;
	assert_int_equal(result(ring), -EINVAL);
	cmd(ring, SOCKET_URING_OP_SIOCINQ, c[1])->uring_cmd_flags = 2;
	assert_int_equal(result(ring), -EINVAL);
	cmd(ring, SOCKET_URING_OP_SIOCINQ, c[1])->ioprio = 1;
	assert_int_equal(result(ring), -EINVAL);
	cmd(ring, SOCKET_URING_OP_SIOCINQ, c[1])->flags |= IOSQE_BUFFER_SELECT;
	assert_int_equal(result(ring), -EINVAL);
	cmd(ring, SOCKET_URING_OP_SIOCINQ, -1);
	assert_int_equal(result(ring), -EBADF);
	/* Checked before the file is known to have commands. */
	cmd(ring, SOCKET_URING_OP_SIOCINQ, ring->ring_fd)->__pad1 = 1;
	assert_int_equal(result(ring), -EINVAL);
	/* A socket command ignores a registered buffer's flag. */
	cmd(ring, SOCKET_URING_OP_SIOCOUTQ, c[1])->uring_cmd_flags =
		IORING_URING_CMD_FIXED;
	assert_int_equal(result(ring), 0);
	/* TX timestamps come in 32-byte CQEs only. */
	cmd(ring, SOCKET_URING_OP_TX_TIMESTAMP, c[0]);
	assert_int_equal(result(ring), -EINVAL);
	close_all(c, 2);
	close(l);
}

static void test_getsockopt(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	int c[2], l, val = 0, want;
	socklen_t len = sizeof(want);

	tcp_pair(c, &l);
	assert_int_equal(getsockopt(c[0], SOL_SOCKET, SO_RCVBUF, &want, &len),
			 0);
	/* The result is the option's length; the value lands in optval. */
	sock_cmd(ring, SOCKET_URING_OP_GETSOCKOPT, c[0], SOL_SOCKET, SO_RCVBUF,
		 &val, sizeof(val));
	assert_int_equal(result(ring), sizeof(val));
	assert_int_equal(val, want);
	sock_cmd(ring, SOCKET_URING_OP_GETSOCKOPT, c[0], SOL_SOCKET, SO_TYPE,
		 &val, 64);
	assert_int_equal(result(ring), sizeof(val));
	assert_int_equal(val, SOCK_STREAM);
	sock_cmd(ring, SOCKET_URING_OP_GETSOCKOPT, c[0], SOL_SOCKET, SO_RCVBUF,
		 &val, 2);
	assert_int_equal(result(ring), 2);
	sock_cmd(ring, SOCKET_URING_OP_GETSOCKOPT, c[0], SOL_SOCKET, SO_RCVBUF,
		 &val, -1);
	assert_int_equal(result(ring), -EINVAL);
	sock_cmd(ring, SOCKET_URING_OP_GETSOCKOPT, c[0], SOL_SOCKET, SO_RCVBUF,
		 (void *) 8, sizeof(val));
	assert_int_equal(result(ring), -EFAULT);
	sock_cmd(ring, SOCKET_URING_OP_GETSOCKOPT, c[0], SOL_SOCKET, 9999,
		 &val, sizeof(val));
	assert_int_equal(result(ring), -ENOPROTOOPT);
	/* SOL_SOCKET only. */
	sock_cmd(ring, SOCKET_URING_OP_GETSOCKOPT, c[0], IPPROTO_TCP,
		 TCP_NODELAY, &val, sizeof(val));
	assert_int_equal(result(ring), -EOPNOTSUPP);
	close_all(c, 2);
	close(l);
}

static void test_setsockopt(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	int c[2], sv[2], l, one = 1, val = 0;
	socklen_t len = sizeof(val);

	tcp_pair(c, &l);
	/* Any level. */
	sock_cmd(ring, SOCKET_URING_OP_SETSOCKOPT, c[0], IPPROTO_TCP,
		 TCP_NODELAY, &one, sizeof(one));
	assert_int_equal(result(ring), 0);
	assert_int_equal(getsockopt(c[0], IPPROTO_TCP, TCP_NODELAY, &val,
				    &len), 0);
	assert_int_equal(val, 1);
	sock_cmd(ring, SOCKET_URING_OP_SETSOCKOPT, c[0], SOL_SOCKET,
		 SO_KEEPALIVE, &one, 2);
	assert_int_equal(result(ring), -EINVAL);
	sock_cmd(ring, SOCKET_URING_OP_SETSOCKOPT, c[0], SOL_SOCKET,
		 SO_KEEPALIVE, (void *) 8, sizeof(one));
	assert_int_equal(result(ring), -EFAULT);
	sock_cmd(ring, SOCKET_URING_OP_SETSOCKOPT, c[0], 9999, 1, &one,
		 sizeof(one));
	assert_int_equal(result(ring), -ENOPROTOOPT);
	/* The options work on any socket, AF_UNIX too. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				    sv), 0);
	sock_cmd(ring, SOCKET_URING_OP_SETSOCKOPT, sv[0], SOL_SOCKET,
		 SO_KEEPALIVE, &one, sizeof(one));
	assert_int_equal(result(ring), 0);
	sock_cmd(ring, SOCKET_URING_OP_GETSOCKOPT, sv[0], SOL_SOCKET,
		 SO_KEEPALIVE, &val, sizeof(val));
	assert_int_equal(result(ring), sizeof(val));
	assert_int_equal(val, 1);
	close_all(sv, 2);
	close_all(c, 2);
	close(l);
}

/* No file of an IOPOLL ring has the kernel's iopoll method for commands. */
static void test_iopoll_ring(void **state)
{
	struct io_uring ring;
	int c[2], l;

	(void) state;
	assert_int_equal(io_uring_queue_init(4, &ring, IORING_SETUP_IOPOLL), 0);
	tcp_pair(c, &l);
	cmd(&ring, SOCKET_URING_OP_SIOCINQ, c[1]);
	assert_int_equal(result(&ring), -EOPNOTSUPP);
	io_uring_queue_exit(&ring);
	close_all(c, 2);
	close(l);
}

/*
 * A loop device over a 1 MiB file of the test's, its name in dev, detached
 * when its last descriptor closes; -1 where none can be attached (no
 * permission, no loop driver).
 */
static int attach_loop(const char *dir, char dev[32])
{
	struct loop_config cfg = { .info.lo_flags = LO_FLAGS_AUTOCLEAR };
	char path[PATH_MAX];
	int ctl, backing, fd = -1, n, tries;

	join_path(path, dir, "backing");
	backing = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	assert_true(backing >= 0);
	assert_int_equal(ftruncate(backing, 1 << 20), 0);
	cfg.fd = (__u32) backing;
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	/* Others may take the free device first: try the next one. */
	for (tries = 0; ctl >= 0 && fd < 0 && tries < 8; tries++) {
		n = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (n < 0)
			break;
		snprintf(dev, 32, "/dev/loop%d", n);
		fd = open(dev, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			break;
		if (ioctl(fd, LOOP_CONFIGURE, &cfg) == 0)
			break;
		close(fd);
		fd = -1;
	}
	if (ctl >= 0)
		close(ctl);
	close(backing);
	return fd;
}

/* A discard of [off, off + len) on fd; the SQE, to change fields. */
static struct io_uring_sqe *discard(struct io_uring *ring, int fd, __u64 off,
				    __u64 len)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);

	io_uring_prep_cmd_discard(sqe, fd, off, len);
	sqe->user_data = 7;
	return sqe;
}

static void test_block_discard(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	char dev[32];
	int fd = attach_loop(((struct fixture *) *state)->dir, dev), ro;

	if (fd < 0)
		skip();
	discard(ring, fd, 0, 4096);
	assert_int_equal(result(ring), 0);
	discard(ring, fd, 512, 512);
	assert_int_equal(result(ring), 0);
	discard(ring, fd, 0, 4096)->flags |= IOSQE_ASYNC;
	assert_int_equal(result(ring), 0);
	/* The range: aligned to the logical block, not empty, inside. */
	discard(ring, fd, 1, 4096);
	assert_int_equal(result(ring), -EINVAL);
	discard(ring, fd, 0, 0);
	assert_int_equal(result(ring), -EINVAL);
	discard(ring, fd, 0, 2 << 20);
	assert_int_equal(result(ring), -EINVAL);
	/* The block layer's own SQE checks, and its unknown command. */
	discard(ring, fd, 0, 4096)->len = 1;
	assert_int_equal(result(ring), -EINVAL);
	discard(ring, fd, 0, 4096)->uring_cmd_flags = IORING_URING_CMD_FIXED;
	assert_int_equal(result(ring), -EINVAL);
	discard(ring, fd, 0, 4096)->file_index = 1;
	assert_int_equal(result(ring), -EINVAL);
	cmd(ring, SOCKET_URING_OP_SIOCINQ, fd);
	assert_int_equal(result(ring), -EINVAL);
	/* Opened read-only: -EBADF, before the range is looked at. */
	ro = open(dev, O_RDONLY | O_CLOEXEC);
	assert_true(ro >= 0);
	discard(ring, ro, 0, 4096);
	assert_int_equal(result(ring), -EBADF);
	discard(ring, ro, 1, 4096);
	assert_int_equal(result(ring), -EBADF);
	close(ro);
	close(fd);
}

/* A UDP socket connected to a bound one (u[1]), so that its datagrams
 * meet no ICMP error; tsflags for SO_TIMESTAMPING, if any. */
static void udp_pair(int u[2], int tsflags)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);

	u[0] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	u[1] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(u[0] >= 0 && u[1] >= 0);
	assert_int_equal(bind(u[1], (struct sockaddr *) &a, sizeof(a)), 0);
	assert_int_equal(getsockname(u[1], (struct sockaddr *) &a, &len), 0);
	assert_int_equal(connect(u[0], (struct sockaddr *) &a, sizeof(a)), 0);
	if (tsflags)
		assert_int_equal(setsockopt(u[0], SOL_SOCKET, SO_TIMESTAMPING,
					    &tsflags, sizeof(tsflags)), 0);
}

static int setup_cqe32_ring(void **state)
{
	return fixture_setup_ring(state, 16, IORING_SETUP_CQE32);
}

struct stamp_cqe {
	__u64	user_data;
	__s32	res;
	__u32	flags;
	__s64	sec, nsec;
};

static void reap_stamp(struct io_uring *ring, struct stamp_cqe *out)
{
	struct io_uring_cqe *cqe;

	assert_int_equal(io_uring_enter(ring->ring_fd, 0, 1,
					IORING_ENTER_GETEVENTS, NULL) >= 0, 1);
	assert_int_equal(io_uring_peek_cqe(ring, &cqe), 0);
	out->user_data = cqe->user_data;
	out->res = cqe->res;
	out->flags = cqe->flags;
	out->sec = (__s64) cqe->big_cqe[0];
	out->nsec = (__s64) cqe->big_cqe[1];
	io_uring_cqe_seen(ring, cqe);
}

/* Cancels the command (user_data 5): its last CQE, -ECANCELED, comes
 * after every one it posted; returns how many those were. */
static int cancel_stamps(struct io_uring *ring)
{
	struct stamp_cqe c;
	int posted = 0;
	bool cancelled = false, done = false;

	io_uring_prep_cancel64(must_get_sqe(ring), 5, 0);
	ring->sq.sqes[(ring->sq.sqe_tail - 1) & ring->sq.ring_mask]
		.user_data = 6;
	assert_int_equal(io_uring_submit(ring), 1);
	while (!cancelled || !done) {
		reap_stamp(ring, &c);
		if (c.user_data == 6) {
			/* -EALREADY: found while the engine was issuing it
			 * (uring-alike(7)); it ends all the same. */
			assert_true(c.res == 0 || c.res == -EALREADY);
			done = true;
		} else if (c.res == -ECANCELED) {
			assert_int_equal(c.flags & IORING_CQE_F_MORE, 0);
			cancelled = true;
		} else {
			posted++;
		}
	}
	return posted;
}

/*
 * TX timestamps: a multishot command posting one CQE32 per timestamp of
 * the socket's error queue, the key as res, the type in the flags, the
 * time in big_cqe; ended only by cancellation.
 */
static void test_tx_timestamps(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct stamp_cqe c;
	struct timespec now, after;
	int u[2], i;

	clock_gettime(CLOCK_REALTIME, &now);
	udp_pair(u, SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE |
		    SOF_TIMESTAMPING_OPT_TSONLY | SOF_TIMESTAMPING_OPT_ID);
	cmd(ring, SOCKET_URING_OP_TX_TIMESTAMP, u[0])->user_data = 5;
	assert_int_equal(io_uring_submit(ring), 1);
	for (i = 0; i < 3; i++) {
		assert_int_equal(send(u[0], "abc", 3, 0), 3);
		reap_stamp(ring, &c);
		assert_true(c.user_data == 5);
		/* OPT_ID: the datagram's number. */
		assert_int_equal(c.res, i);
		assert_int_equal(c.flags, IORING_CQE_F_MORE |
			SCM_TSTAMP_SND << IORING_TIMESTAMP_TYPE_SHIFT);
		/* time(NULL) reads a coarser clock, which may lag a
		 * stamp taken just after a second began. */
		clock_gettime(CLOCK_REALTIME, &after);
		assert_true(c.sec >= now.tv_sec && c.sec <= after.tv_sec);
		assert_true(c.nsec >= 0 && c.nsec < 1000000000);
	}
	assert_int_equal(cancel_stamps(ring), 0);
	close_all(u, 2);
}

/* Timestamps with their payload stay in the error queue for the
 * application, and a socket with none keeps the command waiting. */
static void test_tx_timestamps_left_alone(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	char buf[64];
	int u[2], v[2];

	udp_pair(u, SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE);
	cmd(ring, SOCKET_URING_OP_TX_TIMESTAMP, u[0])->user_data = 5;
	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(send(u[0], "abc", 3, 0), 3);
	assert_int_equal(cancel_stamps(ring), 0);
	assert_true(recv(u[0], buf, sizeof(buf),
			 MSG_ERRQUEUE | MSG_DONTWAIT) > 0);
	udp_pair(v, 0);
	cmd(ring, SOCKET_URING_OP_TX_TIMESTAMP, v[0])->user_data = 5;
	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(send(v[0], "abc", 3, 0), 3);
	assert_int_equal(cancel_stamps(ring), 0);
	close_all(u, 2);
	close_all(v, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_ring, fixture_teardown)
		T(test_probe_lists_uring_cmd),
		T(test_tcp_queue_sizes),
		T(test_udp_next_datagram),
		T(test_fixed_file),
		T(test_unsupported),
		T(test_getsockname_unknown),
		T(test_bad_sqes),
		T(test_getsockopt),
		T(test_setsockopt),
		cmocka_unit_test(test_iopoll_ring),
		T(test_block_discard),
#undef T
#define C(fn) cmocka_unit_test_setup_teardown(fn, setup_cqe32_ring, \
					     fixture_teardown)
		C(test_tx_timestamps),
		C(test_tx_timestamps_left_alone),
#undef C
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif
