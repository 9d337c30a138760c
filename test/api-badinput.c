/* SPDX-License-Identifier: MIT */
/*
 * Inputs the kernel answers with an error: bad descriptors, the ring's own
 * descriptor, a non-blocking end of a splice, a request that fails its
 * checks behind a drain, a provided buffer at address 0. Each must end as
 * on the kernel, never in a hang.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <poll.h>
#include <sys/socket.h>
#include "helpers.h"

/* Long enough for any inline answer: a hang fails instead of blocking. */
#define HANG_SECS	5

/* Reaps n CQEs into res[user_data - 1]. */
static void reap_n(struct io_uring *ring, int *res, unsigned n)
{
	struct test_cqe c;

	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(reap_bounded(ring, &c, HANG_SECS), 0);
		assert_true(c.user_data >= 1 && c.user_data <= n);
		res[c.user_data - 1] = c.res;
	}
}

static void nop(struct io_uring *ring, __u64 ud, unsigned flags)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);

	io_uring_prep_nop(sqe);
	sqe->user_data = ud;
	sqe->flags = (__u8) flags;
}

/* ---- negative descriptors ---- */

enum fd_op { POLL_ONESHOT, POLL_MULTI, ACCEPT_ONESHOT, ACCEPT_MULTI, READ };

static void prep_on_fd(struct io_uring_sqe *sqe, enum fd_op op, int fd)
{
	static char buf[16];

	switch (op) {
	case POLL_ONESHOT:
		io_uring_prep_poll_add(sqe, fd, POLLIN);
		break;
	case POLL_MULTI:
		io_uring_prep_poll_multishot(sqe, fd, POLLIN);
		break;
	case ACCEPT_ONESHOT:
		io_uring_prep_accept(sqe, fd, NULL, NULL, 0);
		break;
	case ACCEPT_MULTI:
		io_uring_prep_multishot_accept(sqe, fd, NULL, NULL, 0);
		break;
	case READ:
		io_uring_prep_read(sqe, fd, buf, sizeof(buf), 0);
		break;
	}
}

/* Every negative number names no file: -EBADF, and the link after it is
 * cancelled. */
static void test_negative_fd_is_ebadf(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	static const int fds[] = { -1, -2, -5, INT_MIN };
	int res[2];

	for (unsigned op = POLL_ONESHOT; op <= READ; op++)
		for (unsigned i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
			struct io_uring_sqe *sqe = must_get_sqe(ring);

			prep_on_fd(sqe, (enum fd_op) op, fds[i]);
			sqe->user_data = 1;
			sqe->flags |= IOSQE_IO_LINK;
			nop(ring, 2, 0);
			assert_int_equal(io_uring_submit(ring), 2);
			reap_n(ring, res, 2);
			assert_int_equal(res[0], -EBADF);
			assert_int_equal(res[1], -ECANCELED);
		}
}

/* A number far beyond any open descriptor, for the ops that wait. */
static void test_unopened_high_fd_is_ebadf(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	int res[1];

	for (unsigned op = POLL_ONESHOT; op <= ACCEPT_MULTI; op++) {
		struct io_uring_sqe *sqe = must_get_sqe(ring);

		prep_on_fd(sqe, (enum fd_op) op, 0x7fffff00);
		sqe->user_data = 1;
		assert_int_equal(io_uring_submit(ring), 1);
		reap_n(ring, res, 1);
		assert_int_equal(res[0], -EBADF);
	}
}

/* ---- the ring's own descriptor ---- */

struct ring_fd_case {
	const char	*name;
	int		res;
	void		(*prep)(struct io_uring_sqe *sqe, int ring_fd, int pipe_fds[2]);
};

static char rbuf[4096];
static struct iovec riov = { rbuf, 64 };

static void p_read(struct io_uring_sqe *s, int fd, int *p)
{ (void) p; io_uring_prep_read(s, fd, rbuf, 64, 0); }
static void p_read_pos(struct io_uring_sqe *s, int fd, int *p)
{ (void) p; io_uring_prep_read(s, fd, rbuf, 64, -1); }
static void p_write(struct io_uring_sqe *s, int fd, int *p)
{ (void) p; io_uring_prep_write(s, fd, rbuf, 64, 0); }
static void p_readv(struct io_uring_sqe *s, int fd, int *p)
{ (void) p; io_uring_prep_readv(s, fd, &riov, 1, 0); }
static void p_writev(struct io_uring_sqe *s, int fd, int *p)
{ (void) p; io_uring_prep_writev(s, fd, &riov, 1, 0); }
static void p_read_fixed(struct io_uring_sqe *s, int fd, int *p)
{ (void) p; io_uring_prep_read_fixed(s, fd, rbuf, 64, 0, 0); }
static void p_write_fixed(struct io_uring_sqe *s, int fd, int *p)
{ (void) p; io_uring_prep_write_fixed(s, fd, rbuf, 64, 0, 0); }
static void p_fsync(struct io_uring_sqe *s, int fd, int *p)
{ (void) p; io_uring_prep_fsync(s, fd, 0); }
static void p_sfr(struct io_uring_sqe *s, int fd, int *p)
{ (void) p; io_uring_prep_sync_file_range(s, fd, 64, 0, 0); }
static void p_punch(struct io_uring_sqe *s, int fd, int *p)
{ (void) p; io_uring_prep_fallocate(s, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096); }
static void p_splice_out(struct io_uring_sqe *s, int fd, int *p)
{ io_uring_prep_splice(s, fd, 0, p[1], -1, 64, 0); }
static void p_splice_in(struct io_uring_sqe *s, int fd, int *p)
{ io_uring_prep_splice(s, p[0], -1, fd, 0, 64, 0); }
static void p_tee(struct io_uring_sqe *s, int fd, int *p)
{ io_uring_prep_tee(s, p[0], fd, 64, 0); }
static void p_recv(struct io_uring_sqe *s, int fd, int *p)
{ (void) p; io_uring_prep_recv(s, fd, rbuf, 64, 0); }

static const struct ring_fd_case ring_fd_cases[] = {
	{ "READ", -EINVAL, p_read },
	{ "READ at the position", -EINVAL, p_read_pos },
	{ "WRITE", -EINVAL, p_write },
	{ "READV", -EINVAL, p_readv },
	{ "WRITEV", -EINVAL, p_writev },
	{ "READ_FIXED", -EINVAL, p_read_fixed },
	{ "WRITE_FIXED", -EINVAL, p_write_fixed },
	{ "FSYNC", -EINVAL, p_fsync },
	{ "SYNC_FILE_RANGE", -ESPIPE, p_sfr },
	{ "FALLOCATE punching a hole", -ENODEV, p_punch },
	{ "SPLICE from the ring", -EINVAL, p_splice_out },
	{ "SPLICE into the ring", -EINVAL, p_splice_in },
	{ "TEE into the ring", -EINVAL, p_tee },
	{ "RECV", -ENOTSOCK, p_recv },
};

/*
 * The ring's descriptor is no file to transfer through: each op gets the
 * kernel's answer and the rings stay intact (the NOP submitted with it
 * completes, and a READ there waits on the kernel for a CQE to exist).
 */
static void test_ring_fd_is_no_file(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	int p[2], res[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "hello", 5), 5);
	memset(rbuf, 0xff, sizeof(rbuf));
	assert_int_equal(io_uring_register_buffers(ring, &riov, 1), 0);
	for (unsigned i = 0; i < sizeof(ring_fd_cases) / sizeof(ring_fd_cases[0]); i++) {
		const struct ring_fd_case *c = &ring_fd_cases[i];
		struct io_uring_sqe *sqe = must_get_sqe(ring);

		c->prep(sqe, ring->ring_fd, p);
		sqe->user_data = 1;
		nop(ring, 2, 0);
		assert_int_equal(io_uring_submit(ring), 2);
		reap_n(ring, res, 2);
		if (res[0] != c->res)
			fail_msg("%s on the ring: %d, want %d", c->name,
				 res[0], c->res);
		assert_int_equal(res[1], 0);
	}
	close(p[0]);
	close(p[1]);
}

/* Registering the ring in its own file table is refused. */
static void test_ring_fd_not_registrable(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	int fds[2] = { -1, -1 };

	assert_int_equal(io_uring_register_files(ring, fds, 2), 0);
	fds[0] = ring->ring_fd;
	assert_int_equal(io_uring_register_files_update(ring, 0, fds, 1), -EBADF);
}

/* ---- SPLICE with a non-blocking end ---- */

static int splice_res(struct io_uring *ring, int in, int out, unsigned flags)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);
	int res[1];

	io_uring_prep_splice(sqe, in, -1, out, -1, 64, flags);
	sqe->user_data = 1;
	assert_int_equal(io_uring_submit(ring), 1);
	reap_n(ring, res, 1);
	return res[0];
}

/* An empty O_NONBLOCK source never waits: -EAGAIN, as the kernel's splice. */
static void test_splice_nonblocking_empty_source(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	int sv[2], p[2], np[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(splice_res(ring, sv[0], p[1], 0), -EAGAIN);
	assert_int_equal(pipe2(np, O_NONBLOCK), 0);
	assert_int_equal(splice_res(ring, np[0], p[1], 0), -EAGAIN);
	/* SPLICE_F_NONBLOCK on blocking ends: the same answer. */
	assert_int_equal(splice_res(ring, p[0], np[1], SPLICE_F_NONBLOCK), -EAGAIN);
	/* Data there: the splice moves it. */
	assert_int_equal(write(sv[1], "abc", 3), 3);
	assert_int_equal(splice_res(ring, sv[0], p[1], 0), 3);
	close(sv[0]);
	close(sv[1]);
	close(p[0]);
	close(p[1]);
	close(np[0]);
	close(np[1]);
}

/* ---- drain, with requests that fail their checks after it ---- */

static void drain_behind_failures(struct io_uring *ring, unsigned nr_bad)
{
	struct io_uring_sqe *sqe;
	struct test_cqe c;
	char buf[16];
	int p[2];

	assert_int_equal(pipe(p), 0);
	sqe = must_get_sqe(ring);
	io_uring_prep_read(sqe, p[0], buf, sizeof(buf), 0);
	sqe->user_data = 1;
	nop(ring, 2, IOSQE_IO_DRAIN);
	for (unsigned i = 0; i < nr_bad; i++) {
		sqe = must_get_sqe(ring);
		io_uring_prep_nop(sqe);
		sqe->opcode = 0xfe;		/* no such op: -EINVAL */
		sqe->user_data = 10 + i;
	}
	assert_int_equal(io_uring_submit(ring), 2 + nr_bad);
	/* The failures complete at once; the drained NOP waits for the read. */
	for (unsigned i = 0; i < nr_bad; i++) {
		assert_int_equal(reap_bounded(ring, &c, HANG_SECS), 0);
		assert_true(c.user_data >= 10);
		assert_int_equal(c.res, -EINVAL);
	}
	assert_true(cq_is_empty(ring));
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(reap_bounded(ring, &c, HANG_SECS), 0);
	assert_int_equal(c.user_data, 1);
	assert_int_equal(c.res, 1);
	assert_int_equal(reap_bounded(ring, &c, HANG_SECS), 0);
	assert_int_equal(c.user_data, 2);
	assert_int_equal(c.res, 0);
	/* Nothing queues behind the drain any more. */
	nop(ring, 3, 0);
	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(reap_bounded(ring, &c, HANG_SECS), 0);
	assert_int_equal(c.user_data, 3);
	close(p[0]);
	close(p[1]);
}

static void test_drain_with_a_failed_sqe_after_it(void **state)
{
	drain_behind_failures(fixture_ring(state), 1);
}

static int setup_submit_all(void **state)
{
	return fixture_setup_ring(state, 8, IORING_SETUP_SUBMIT_ALL);
}

static void test_drain_with_failed_sqes_after_it(void **state)
{
	drain_behind_failures(fixture_ring(state), 2);
}

/* ---- provided buffers at address 0 ---- */

static int read_selected(struct io_uring *ring, int fd, __u32 *cflags)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);
	struct test_cqe c;

	io_uring_prep_read(sqe, fd, NULL, 16, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = 7;
	sqe->user_data = 1;
	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(reap_bounded(ring, &c, HANG_SECS), 0);
	*cflags = c.flags;
	return c.res;
}

static int provide(struct io_uring *ring, void *addr, int nr, int bid)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);
	struct test_cqe c;

	io_uring_prep_provide_buffers(sqe, addr, 16, nr, 7, bid);
	sqe->user_data = 9;
	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(reap_bounded(ring, &c, HANG_SECS), 0);
	return c.res;
}

/*
 * A buffer at address 0 is taken and is no buffer: -ENOBUFS, the CQE
 * naming it, as on the kernel. The next one (at 16) meets -EFAULT; the
 * group stays usable, from a file and from a pipe alike.
 */
static void provided_buffer_at_null(struct io_uring *ring, int fd)
{
	char buf[16];
	__u32 cflags;

	assert_int_equal(provide(ring, NULL, 2, 0), 0);
	assert_int_equal(read_selected(ring, fd, &cflags), -ENOBUFS);
	assert_int_equal(cflags, IORING_CQE_F_BUFFER);
	assert_int_equal(read_selected(ring, fd, &cflags), -EFAULT);
	assert_int_equal(cflags, IORING_CQE_F_BUFFER | 1u << IORING_CQE_BUFFER_SHIFT);
	assert_int_equal(read_selected(ring, fd, &cflags), -ENOBUFS);
	assert_int_equal(cflags, 0);
	assert_int_equal(provide(ring, buf, 1, 5), 0);
	assert_int_equal(read_selected(ring, fd, &cflags), 16);
	assert_int_equal(cflags, IORING_CQE_F_BUFFER | 5u << IORING_CQE_BUFFER_SHIFT);
	assert_true(check_pattern(buf, 16, 0, 1));
}

static void test_provided_buffer_at_null_file(void **state)
{
	struct fixture *f = *state;
	int fd = make_pattern_file(f->dir, "data", 4096, 1, O_RDONLY);

	assert_true(fd >= 0);
	provided_buffer_at_null(&f->ring, fd);
	close(fd);
}

static void test_provided_buffer_at_null_pipe(void **state)
{
	unsigned char data[64];
	int p[2];

	fill_pattern(data, sizeof(data), 0, 1);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], data, sizeof(data)), (int) sizeof(data));
	provided_buffer_at_null(fixture_ring(state), p[0]);
	close(p[0]);
	close(p[1]);
}

static int recv_selected(struct io_uring *ring, int fd, bool multishot,
			 struct test_cqe *last)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);
	int nr = 0;

	io_uring_prep_recv(sqe, fd, NULL, multishot ? 0 : 16, 0);
	if (multishot)
		sqe->ioprio |= IORING_RECV_MULTISHOT;
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = 7;
	sqe->user_data = 1;
	assert_int_equal(io_uring_submit(ring), 1);
	do {
		assert_int_equal(reap_bounded(ring, last, HANG_SECS), 0);
		nr++;
	} while (last->flags & IORING_CQE_F_MORE);
	return nr;
}

/* How many buffers group 7 had left; it has none after. */
static int remove_all(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);
	struct test_cqe c;

	io_uring_prep_remove_buffers(sqe, 16, 7);
	sqe->user_data = 9;
	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(reap_bounded(ring, &c, HANG_SECS), 0);
	return c.res;
}

/*
 * A RECV, unlike a READ or a RECVMSG, leaves a buffer at address 0 first
 * in line: its -ENOBUFS names no buffer, as the kernel's (whose io_recv()
 * puts back what it selected when nothing was received). A multishot one
 * first fills the buffers before it.
 */
static void test_recv_leaves_buffer_at_null(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	unsigned char data[32];
	char buf[16];
	struct test_cqe c;
	int sv[2];

	fill_pattern(data, sizeof(data), 0, 1);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[1], data, sizeof(data)), (int) sizeof(data));
	assert_int_equal(provide(ring, NULL, 1, 0), 0);
	assert_int_equal(recv_selected(ring, sv[0], false, &c), 1);
	assert_int_equal(c.res, -ENOBUFS);
	assert_int_equal(c.flags, 0);
	assert_int_equal(remove_all(ring), 1);

	assert_int_equal(provide(ring, buf, 1, 1), 0);
	assert_int_equal(provide(ring, NULL, 1, 2), 0);
	assert_int_equal(recv_selected(ring, sv[0], true, &c), 2);
	assert_int_equal(c.res, -ENOBUFS);
	assert_int_equal(c.flags, 0);
	assert_int_equal(remove_all(ring), 1);
	assert_true(check_pattern(buf, 16, 0, 1));
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
		T(test_negative_fd_is_ebadf),
		T(test_unopened_high_fd_is_ebadf),
		T(test_ring_fd_is_no_file),
		T(test_ring_fd_not_registrable),
		T(test_splice_nonblocking_empty_source),
		T(test_drain_with_a_failed_sqe_after_it),
		cmocka_unit_test_setup_teardown(test_drain_with_failed_sqes_after_it,
						setup_submit_all, fixture_teardown),
		T(test_provided_buffer_at_null_file),
		T(test_provided_buffer_at_null_pipe),
		T(test_recv_leaves_buffer_at_null),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
