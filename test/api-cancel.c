/* SPDX-License-Identifier: MIT */
/*
 * ASYNC_CANCEL with each of its keys, io_uring_register_sync_cancel, and
 * cancellation racing completion.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/socket.h>
#include "helpers.h"

/* Newer than liburing 2.3's headers; the kernel knows them. */
#ifndef IORING_ASYNC_CANCEL_USERDATA
#define IORING_ASYNC_CANCEL_USERDATA	(1U << 4)
#endif
#ifndef IORING_ASYNC_CANCEL_OP
#define IORING_ASYNC_CANCEL_OP		(1U << 5)
#endif

static struct __kernel_timespec long_ts = { .tv_sec = 100 };

static void add_timeout(struct io_uring *ring, __u64 ud)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);

	io_uring_prep_timeout(sqe, &long_ts, 0, 0);
	sqe->user_data = ud;
}

static void add_read(struct io_uring *ring, int fd, void *buf, __u64 ud)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);

	io_uring_prep_read(sqe, fd, buf, 8, 0);
	sqe->user_data = ud;
}

static struct io_uring_sqe *add_cancel(struct io_uring *ring, __u64 target,
				       unsigned flags, __u64 ud)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);

	io_uring_prep_cancel64(sqe, target, (int) flags);
	sqe->user_data = ud;
	return sqe;
}

/* Reaps n CQEs, returns the res of the one with user_data ud, and counts
 * those with res == -ECANCELED in *cancelled. */
static int reap_n(struct io_uring *ring, unsigned n, __u64 ud,
		  unsigned *cancelled)
{
	int res = INT_MIN;

	*cancelled = 0;
	for (unsigned i = 0; i < n; i++) {
		struct test_cqe c;

		assert_int_equal(reap_one(ring, &c), 0);
		if (c.user_data == ud)
			res = c.res;
		else if (c.res == -ECANCELED)
			(*cancelled)++;
	}
	return res;
}

static void test_cancel_timeout_by_user_data(void **state)
{
	struct fixture *f = *state;
	unsigned n;

	add_timeout(&f->ring, 1);
	add_cancel(&f->ring, 1, 0, 2);
	assert_int_equal(io_uring_submit(&f->ring), 2);
	assert_int_equal(reap_n(&f->ring, 2, 2, &n), 0);
	assert_int_equal(n, 1);
	add_cancel(&f->ring, 1, 0, 3);
	assert_int_equal(submit_one_and_wait(&f->ring, 3), -ENOENT);
}

/* A read parked on an empty pipe is cancelled at once: -ECANCELED, 0. */
static void test_cancel_blocked_pipe_read(void **state)
{
	struct fixture *f = *state;
	char buf[8];
	unsigned n;
	int p[2];

	assert_int_equal(pipe(p), 0);
	add_read(&f->ring, p[0], buf, 1);
	assert_int_equal(io_uring_submit(&f->ring), 1);
	sleep_ms(10);	/* let it reach its wait; either way it is cancelled */
	add_cancel(&f->ring, 1, 0, 2);
	assert_int_equal(io_uring_submit(&f->ring), 1);
	assert_int_equal(reap_n(&f->ring, 2, 2, &n), 0);
	assert_int_equal(n, 1);
	close(p[0]);
	close(p[1]);
}

static void test_cancel_all_counts(void **state)
{
	struct fixture *f = *state;
	unsigned n;

	for (unsigned i = 0; i < 3; i++)
		add_timeout(&f->ring, 7);
	add_timeout(&f->ring, 8);
	add_cancel(&f->ring, 7, IORING_ASYNC_CANCEL_ALL, 9);
	assert_int_equal(io_uring_submit(&f->ring), 5);
	assert_int_equal(reap_n(&f->ring, 4, 9, &n), 3);
	assert_int_equal(n, 3);
	/* Nothing left with 7: ALL reports 0, not -ENOENT. */
	add_cancel(&f->ring, 7, IORING_ASYNC_CANCEL_ALL, 9);
	assert_int_equal(submit_one_and_wait(&f->ring, 9), 0);
	add_cancel(&f->ring, 0, IORING_ASYNC_CANCEL_ANY, 10);
	assert_int_equal(io_uring_submit(&f->ring), 1);
	assert_int_equal(reap_n(&f->ring, 2, 10, &n), 1);
	assert_int_equal(n, 1);
}

static void test_cancel_by_fd(void **state)
{
	struct fixture *f = *state;
	struct io_uring_sqe *sqe;
	struct test_cqe c;
	char buf[2][8];
	int p[2], q[2];
	unsigned n;

	assert_int_equal(pipe(p), 0);
	assert_int_equal(pipe(q), 0);
	add_read(&f->ring, p[0], buf[0], 1);
	add_read(&f->ring, p[0], buf[1], 2);
	add_read(&f->ring, q[0], buf[1], 3);
	assert_int_equal(io_uring_submit(&f->ring), 3);
	sleep_ms(10);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_cancel_fd(sqe, p[0], IORING_ASYNC_CANCEL_ALL);
	sqe->user_data = 4;
	assert_int_equal(io_uring_submit(&f->ring), 1);
	assert_int_equal(reap_n(&f->ring, 3, 4, &n), 2);
	assert_int_equal(n, 2);
	assert_int_equal(write(q[1], "x", 1), 1);
	assert_int_equal(reap_one(&f->ring, &c), 0);
	assert_int_equal(c.user_data, 3);
	assert_int_equal(c.res, 1);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}

/* A descriptor that is not open, or a fixed one with no file table. */
static void test_cancel_by_bad_fd(void **state)
{
	struct fixture *f = *state;
	struct io_uring_sqe *sqe;

	sqe = must_get_sqe(&f->ring);
	io_uring_prep_cancel_fd(sqe, 999, 0);
	sqe->user_data = 1;
	assert_int_equal(submit_one_and_wait(&f->ring, 1), -EBADF);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_cancel_fd(sqe, 0, IORING_ASYNC_CANCEL_FD_FIXED);
	sqe->user_data = 2;
	assert_int_equal(submit_one_and_wait(&f->ring, 2), -EBADF);
	sqe = add_cancel(&f->ring, 1, 1U << 12, 3);
	assert_int_equal(submit_one_and_wait(&f->ring, 3), -EINVAL);
	sqe = add_cancel(&f->ring, 1,
			 IORING_ASYNC_CANCEL_ANY | IORING_ASYNC_CANCEL_FD, 4);
	assert_int_equal(submit_one_and_wait(&f->ring, 4), -EINVAL);
}

/* Cancel by opcode, and by opcode and user_data together. */
static void test_cancel_by_opcode(void **state)
{
	struct fixture *f = *state;
	struct io_uring_sqe *sqe;
	struct test_cqe c;
	char buf[8];
	unsigned n;
	int p[2];

	assert_int_equal(pipe(p), 0);
	add_timeout(&f->ring, 1);
	add_timeout(&f->ring, 2);
	add_read(&f->ring, p[0], buf, 3);
	assert_int_equal(io_uring_submit(&f->ring), 3);
	sqe = add_cancel(&f->ring, 2, IORING_ASYNC_CANCEL_OP |
			 IORING_ASYNC_CANCEL_USERDATA, 4);
	sqe->len = IORING_OP_TIMEOUT;
	assert_int_equal(io_uring_submit(&f->ring), 1);
	assert_int_equal(reap_n(&f->ring, 2, 4, &n), 0);
	assert_int_equal(n, 1);
	sqe = add_cancel(&f->ring, 0, IORING_ASYNC_CANCEL_OP |
			 IORING_ASYNC_CANCEL_ALL, 5);
	sqe->len = IORING_OP_TIMEOUT;
	assert_int_equal(io_uring_submit(&f->ring), 1);
	assert_int_equal(reap_n(&f->ring, 2, 5, &n), 1);
	assert_int_equal(n, 1);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(reap_one(&f->ring, &c), 0);
	assert_int_equal(c.user_data, 3);
	assert_int_equal(c.res, 1);
	close(p[0]);
	close(p[1]);
}

static void test_sync_cancel(void **state)
{
	struct fixture *f = *state;
	struct io_uring_sync_cancel_reg reg;
	struct test_cqe c;
	char buf[8];
	int p[2];

	assert_int_equal(pipe(p), 0);
	add_read(&f->ring, p[0], buf, 1);
	assert_int_equal(io_uring_submit(&f->ring), 1);
	memset(&reg, 0, sizeof(reg));
	reg.addr = 1;
	reg.timeout.tv_sec = -1;
	reg.timeout.tv_nsec = -1;
	assert_int_equal(io_uring_register_sync_cancel(&f->ring, &reg), 0);
	assert_int_equal(reap_one(&f->ring, &c), 0);
	assert_int_equal(c.user_data, 1);
	assert_int_equal(c.res, -ECANCELED);
	assert_int_equal(io_uring_register_sync_cancel(&f->ring, &reg), -ENOENT);
	reg.flags = 1U << 12;
	assert_int_equal(io_uring_register_sync_cancel(&f->ring, &reg), -EINVAL);
	close(p[0]);
	close(p[1]);
}

/*
 * Cancellation racing expiry: each pair ends one of two consistent ways,
 * and every request yields exactly one CQE. Run under TSan by make test.
 */
static void test_cancel_races_expiry(void **state)
{
	struct fixture *f = *state;
	struct __kernel_timespec tiny = { .tv_nsec = 20000 };

	for (unsigned i = 0; i < 300; i++) {
		struct io_uring_sqe *sqe = must_get_sqe(&f->ring);
		int t_res = INT_MIN, c_res = INT_MIN;

		io_uring_prep_timeout(sqe, &tiny, 0, 0);
		sqe->user_data = 1;
		assert_int_equal(io_uring_submit(&f->ring), 1);
		if (i & 1)
			sleep_ms(0);
		add_cancel(&f->ring, 1, 0, 2);
		assert_int_equal(io_uring_submit(&f->ring), 1);
		for (unsigned k = 0; k < 2; k++) {
			struct test_cqe c;

			assert_int_equal(reap_one(&f->ring, &c), 0);
			if (c.user_data == 1)
				t_res = c.res;
			else
				c_res = c.res;
		}
		assert_true((t_res == -ETIME && (c_res == -ENOENT ||
						 c_res == -EALREADY)) ||
			    (t_res == -ECANCELED && c_res == 0));
	}
	assert_true(cq_is_empty(&f->ring));
}

/* Cancellation racing a worker's completion of a pipe read. */
static void test_cancel_races_read_completion(void **state)
{
	struct fixture *f = *state;
	char buf[8], drain[8];
	int p[2];

	assert_int_equal(pipe(p), 0);
	for (unsigned i = 0; i < 200; i++) {
		int r_res = INT_MIN, c_res = INT_MIN;

		add_read(&f->ring, p[0], buf, 1);
		assert_int_equal(io_uring_submit(&f->ring), 1);
		if (i & 1)
			sleep_ms(0);
		assert_int_equal(write(p[1], "x", 1), 1);
		add_cancel(&f->ring, 1, 0, 2);
		assert_int_equal(io_uring_submit(&f->ring), 1);
		for (unsigned k = 0; k < 2; k++) {
			struct test_cqe c;

			assert_int_equal(reap_one(&f->ring, &c), 0);
			if (c.user_data == 1)
				r_res = c.res;
			else
				c_res = c.res;
		}
		/* -EALREADY: found while the engine was issuing it, the
		 * kernel's answer for a request it cannot be sure to stop
		 * (the kernel itself, which runs both under one lock, only
		 * ever reports 0 here). */
		if (r_res == -ECANCELED) {
			assert_true(c_res == 0 || c_res == -EALREADY);
			assert_int_equal(read(p[0], drain, sizeof(drain)), 1);
		} else {
			assert_int_equal(r_res, 1);
			assert_true(c_res == -ENOENT || c_res == -EALREADY);
		}
	}
	close(p[0]);
	close(p[1]);
}

/* The RECV's result, after the cancellation said c_res. */
static int async_recv_res(struct io_uring *ring, int sv[2], int c_res,
			  bool recv_seen, int r_res)
{
	struct test_cqe c;
	char byte;

	if (recv_seen)
		return r_res;
#ifdef TEST_KERNEL
	/* The kernel may leave armed a RECV it found running: data ends it. */
	if (c_res == -EALREADY)
		assert_int_equal(write(sv[1], "x", 1), 1);
#else
	(void) sv;
	(void) c_res;
#endif
	assert_int_equal(reap_bounded(ring, &c, 10), 0);
	assert_int_equal(c.user_data, 1);
	if (c.res == -ECANCELED && c_res == -EALREADY)
		while (recv(sv[0], &byte, 1, MSG_DONTWAIT) == 1)
			;
	return c.res;
}

/*
 * An IOSQE_ASYNC RECV on an empty socket, cancelled right away: the
 * cancellation meets it queued, in a worker's hands, or parked on
 * readiness, and says 0 or -EALREADY. Here the RECV then always completes
 * with -ECANCELED, never staying parked.
 */
static void test_cancel_async_recv_on_its_way_to_park(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	char buf[8];
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	for (unsigned i = 0; i < 20000; i++) {
		struct io_uring_sqe *sqe = must_get_sqe(ring);
		int r_res = INT_MIN, c_res = INT_MIN;
		bool recv_seen = false;
		struct test_cqe c;

		io_uring_prep_recv(sqe, sv[0], buf, sizeof(buf), 0);
		sqe->flags |= IOSQE_ASYNC;
		sqe->user_data = 1;
		add_cancel(ring, 1, 0, 2);
		assert_int_equal(io_uring_submit(ring), 2);
		do {
			assert_int_equal(reap_bounded(ring, &c, 10), 0);
			if (c.user_data == 1) {
				r_res = c.res;
				recv_seen = true;
			} else {
				c_res = c.res;
			}
		} while (c.user_data == 1);
		assert_true(c_res == 0 || c_res == -EALREADY);
		r_res = async_recv_res(ring, sv, c_res, recv_seen, r_res);
#ifdef TEST_KERNEL
		if (r_res == 1)
			continue;
#endif
		assert_int_equal(r_res, -ECANCELED);
	}
	close(sv[0]);
	close(sv[1]);
}

/* Exit with timeouts, a blocked read, a guarded chain and a drained
 * request pending: it returns, and every engine thread is gone. */
static void test_exit_with_everything_pending(void **state)
{
	struct __kernel_timespec ms1 = { .tv_nsec = 1000000 };
	int before = count_threads();
	struct io_uring_sqe *sqe;
	struct io_uring ring;
	char buf[2][8];
	int p[2];

	(void) state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(io_uring_queue_init(16, &ring, 0), 0);
	add_timeout(&ring, 1);
	sqe = must_get_sqe(&ring);
	io_uring_prep_timeout(sqe, &ms1, 0, 0);
	sqe->user_data = 2;
	add_read(&ring, p[0], buf[0], 3);
	sqe = must_get_sqe(&ring);
	io_uring_prep_read(sqe, p[0], buf[1], 8, 0);
	sqe->flags |= IOSQE_IO_LINK;
	sqe->user_data = 4;
	sqe = must_get_sqe(&ring);
	io_uring_prep_link_timeout(sqe, &long_ts, 0);
	sqe->user_data = 5;
	sqe = must_get_sqe(&ring);
	io_uring_prep_nop(sqe);
	sqe->flags |= IOSQE_IO_DRAIN;
	sqe->user_data = 6;
	assert_int_equal(io_uring_submit(&ring), 6);
	sleep_ms(5);
	io_uring_queue_exit(&ring);
	/* Idle workers of the process may have left meanwhile. */
	assert_true(wait_thread_count(before) <= before);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
		T(test_cancel_timeout_by_user_data),
		T(test_cancel_blocked_pipe_read),
		T(test_cancel_all_counts),
		T(test_cancel_by_fd),
		T(test_cancel_by_bad_fd),
		T(test_cancel_by_opcode),
		T(test_sync_cancel),
		T(test_cancel_races_expiry),
		T(test_cancel_races_read_completion),
		T(test_cancel_async_recv_on_its_way_to_park),
		cmocka_unit_test(test_exit_with_everything_pending),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
