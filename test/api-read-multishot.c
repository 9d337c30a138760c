/* SPDX-License-Identifier: MIT */
/*
 * READ_MULTISHOT: a read of a file that polls into provided buffers, one
 * CQE with IORING_CQE_F_MORE per read, ended by the end of the stream, an
 * error, an empty buffer group or a full CQ, as the kernel does it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include "helpers.h"

#define BGID	7
#define BUF_LEN	8

static char bufs[4][BUF_LEN];

/* The system liburing (2.3) has no helper: its fields, by hand. */
static void prep_read_multishot(struct io_uring_sqe *sqe, int fd, __u64 ud)
{
#ifdef TEST_KERNEL
	io_uring_prep_rw(49 /* IORING_OP_READ_MULTISHOT */, sqe, fd, NULL, 0, 0);
	sqe->buf_group = BGID;
	sqe->flags = IOSQE_BUFFER_SELECT;
#else
	io_uring_prep_read_multishot(sqe, fd, 0, 0, BGID);
#endif
	sqe->user_data = ud;
}

static void provide(struct io_uring *ring, unsigned nr)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);

	io_uring_prep_provide_buffers(sqe, bufs, BUF_LEN, (int) nr, BGID, 0);
	sqe->user_data = 100;
	assert_int_equal(submit_wait_in_engine(ring, 100), 0);
}

/* Arms a multishot read of fd; nothing may complete yet. */
static void arm(struct io_uring *ring, int fd)
{
	prep_read_multishot(must_get_sqe(ring), fd, 1);
	assert_int_equal(io_uring_submit(ring), 1);
	assert_true(cq_is_empty(ring));
}

/* One CQE of the read: res and, with F_MORE, that it stays armed;
 * returns the buffer it names, or -1 for none. */
static int expect(struct io_uring *ring, int res, bool more)
{
	struct test_cqe c;

	assert_int_equal(reap_in_engine(ring, &c), 0);
	assert_int_equal(c.user_data, 1);
	assert_int_equal(c.res, res);
	assert_int_equal(!!(c.flags & IORING_CQE_F_MORE), more);
	if (!(c.flags & IORING_CQE_F_BUFFER))
		return -1;
	return (int) (c.flags >> IORING_CQE_BUFFER_SHIFT);
}

static void test_pipe_reads_until_the_writer_closes(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	int p[2];

	assert_int_equal(pipe(p), 0);
	provide(ring, 4);
	arm(ring, p[0]);
	assert_int_equal(write(p[1], "hello", 5), 5);
	assert_int_equal(expect(ring, 5, true), 0);
	assert_memory_equal(bufs[0], "hello", 5);
	/* More than a buffer: read until the pipe is empty. */
	assert_int_equal(write(p[1], "0123456789abc", 13), 13);
	assert_int_equal(expect(ring, 8, true), 1);
	assert_int_equal(expect(ring, 5, true), 2);
	assert_memory_equal(bufs[1], "01234567", 8);
	assert_memory_equal(bufs[2], "89abc", 5);
	close(p[1]);
	assert_int_equal(expect(ring, 0, false), -1);
	assert_true(cq_is_empty(ring));
	close(p[0]);
}

/* Data and the end of the stream already there when it is armed. */
static void test_data_then_end_before_arming(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	int p[2];

	assert_int_equal(pipe(p), 0);
	provide(ring, 4);
	assert_int_equal(write(p[1], "abc", 3), 3);
	close(p[1]);
	prep_read_multishot(must_get_sqe(ring), p[0], 1);
	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(expect(ring, 3, true), 0);
	assert_int_equal(expect(ring, 0, false), -1);
	close(p[0]);
}

/*
 * An empty group ends it with -ENOBUFS: at once on the first issue, and
 * later only when data comes (the last buffer's read leaves it armed).
 */
static void test_no_buffer_ends_it(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	int p[2];

	assert_int_equal(pipe(p), 0);
	prep_read_multishot(must_get_sqe(ring), p[0], 1);
	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(expect(ring, -ENOBUFS, false), -1);

	provide(ring, 1);
	arm(ring, p[0]);
	assert_int_equal(write(p[1], "a", 1), 1);
	assert_int_equal(expect(ring, 1, true), 0);
	assert_int_equal(write(p[1], "b", 1), 1);
	assert_int_equal(expect(ring, -ENOBUFS, false), -1);
	close(p[0]);
	close(p[1]);
}

static void test_eventfd_and_socket(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	eventfd_t v;
	int efd = eventfd(0, 0), sv[2];

	assert_true(efd >= 0);
	provide(ring, 4);
	arm(ring, efd);
	assert_int_equal(eventfd_write(efd, 3), 0);
	assert_int_equal(expect(ring, 8, true), 0);
	memcpy(&v, bufs[0], sizeof(v));
	assert_int_equal(v, 3);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	arm(ring, sv[0]);
	assert_int_equal(write(sv[1], "xyz", 3), 3);
	assert_int_equal(expect(ring, 3, true), 1);
	assert_memory_equal(bufs[1], "xyz", 3);
	assert_int_equal(shutdown(sv[1], SHUT_WR), 0);
	assert_int_equal(expect(ring, 0, false), -1);
	close(sv[0]);
	close(sv[1]);
	close(efd);	/* still armed: the ring's teardown ends it */
}

static void test_cancel(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct io_uring_sqe *sqe;
	struct test_cqe c[2];
	int p[2];

	assert_int_equal(pipe(p), 0);
	provide(ring, 4);
	arm(ring, p[0]);
	sqe = must_get_sqe(ring);
	io_uring_prep_cancel64(sqe, 1, 0);
	sqe->user_data = 2;
	assert_int_equal(io_uring_submit(ring), 1);
	for (int i = 0; i < 2; i++)
		assert_int_equal(reap_in_engine(ring, &c[i]), 0);
	assert_int_equal(c[0].user_data, 2);
	assert_int_equal(c[0].res, 0);
	assert_int_equal(c[1].user_data, 1);
	assert_int_equal(c[1].res, -ECANCELED);
	close(p[0]);
	close(p[1]);
}

/* The kernel's errors: provided buffers only, no address or length, a
 * file that polls and is open for reading. */
static void test_errors(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct io_uring_sqe *sqe;
	int p[2], file, null;
	struct fixture *f = *state;

	assert_int_equal(pipe(p), 0);
	provide(ring, 4);
	sqe = must_get_sqe(ring);
	prep_read_multishot(sqe, p[0], 1);
	sqe->flags = 0;
	assert_int_equal(submit_wait_in_engine(ring, 1), -EINVAL);
	sqe = must_get_sqe(ring);
	prep_read_multishot(sqe, p[0], 1);
	sqe->len = BUF_LEN;
	assert_int_equal(submit_wait_in_engine(ring, 1), -EINVAL);
	sqe = must_get_sqe(ring);
	prep_read_multishot(sqe, p[0], 1);
	sqe->addr = (__u64) (uintptr_t) bufs;
	assert_int_equal(submit_wait_in_engine(ring, 1), -EINVAL);

	file = make_pattern_file(f->dir, "f", 64, 1, O_RDONLY);
	assert_true(file >= 0);
	prep_read_multishot(must_get_sqe(ring), file, 1);
	assert_int_equal(submit_wait_in_engine(ring, 1), -EBADFD);
	null = open("/dev/null", O_RDONLY);
	assert_true(null >= 0);
	prep_read_multishot(must_get_sqe(ring), null, 1);
	assert_int_equal(submit_wait_in_engine(ring, 1), -EBADFD);
	prep_read_multishot(must_get_sqe(ring), p[1], 1);
	assert_int_equal(submit_wait_in_engine(ring, 1), -EBADF);
	close(file);
	close(null);
	close(p[0]);
	close(p[1]);
	prep_read_multishot(must_get_sqe(ring), p[0], 1);
	assert_int_equal(submit_wait_in_engine(ring, 1), -EBADF);
}

/* A full CQ ends it: the read whose CQE finds no room posts it as the
 * last, without F_MORE. */
static void test_full_cq_ends_it(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	int p[2];

	assert_int_equal(pipe(p), 0);
	provide(ring, 4);
	arm(ring, p[0]);
	assert_int_equal(write(p[1], "0123456789abcdefghijklmnopqrstu", 31),
			 31);
	assert_int_equal(expect(ring, 8, true), 0);
	assert_int_equal(expect(ring, 8, true), 1);
	assert_int_equal(expect(ring, 8, false), 2);
	assert_true(cq_is_empty(ring));
	close(p[0]);
	close(p[1]);
}

static int setup_small_cq(void **state)
{
	return fixture_setup_ring(state, 1, 0);	/* two CQEs */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
		T(test_pipe_reads_until_the_writer_closes),
		T(test_data_then_end_before_arming),
		T(test_no_buffer_ends_it),
		T(test_eventfd_and_socket),
		T(test_cancel),
		T(test_errors),
		cmocka_unit_test_setup_teardown(test_full_cq_ends_it,
						setup_small_cq,
						fixture_teardown),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
