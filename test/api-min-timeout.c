/* SPDX-License-Identifier: MIT */
/*
 * Min-timeout waits (IORING_FEAT_MIN_TIMEOUT): io_uring_submit_and_wait_
 * min_timeout() and io_uring_wait_cqes_min_timeout() wait for wait_nr CQEs
 * at most min_wait_usec; then they return with what came, or, when nothing
 * did, wait for one CQE until the timeout.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "helpers.h"

#ifdef LIBURING_BEFORE_2_15
SKIP_BEFORE_2_15_MAIN()
#else

/* Long enough never to be reached: a wait that hits it has failed. */
#define LONG_WAIT_SEC	30

struct mt {
	struct io_uring ring;
	int pipe[2];
	char buf[8];
};

static int mt_setup(void **state)
{
	struct mt *m = calloc(1, sizeof(*m));

	if (!m || io_uring_queue_init(8, &m->ring, 0) < 0 || pipe(m->pipe) < 0)
		return -1;
	*state = m;
	return 0;
}

static int mt_teardown(void **state)
{
	struct mt *m = *state;

	io_uring_queue_exit(&m->ring);
	close(m->pipe[0]);
	close(m->pipe[1]);
	free(m);
	return 0;
}

/* A read that stays pending: the pipe is never written. */
static void prep_pending_read(struct mt *m)
{
	struct io_uring_sqe *sqe = must_get_sqe(&m->ring);

	io_uring_prep_read(sqe, m->pipe[0], m->buf, sizeof(m->buf), 0);
	sqe->user_data = 1;
}

static void test_min_timeout_feature_reported(void **state)
{
	struct mt *m = *state;

	assert_true(m->ring.features & IORING_FEAT_MIN_TIMEOUT);
}

/* One of two CQEs came before the minimum: the wait ends with it. */
static void test_minimum_ends_a_wait_with_fewer_cqes(void **state)
{
	struct mt *m = *state;
	struct __kernel_timespec ts = { .tv_sec = LONG_WAIT_SEC };
	struct io_uring_cqe *cqe = NULL;
	struct io_uring_sqe *sqe;

	prep_pending_read(m);
	sqe = must_get_sqe(&m->ring);
	io_uring_prep_nop(sqe);
	sqe->user_data = 2;
	assert_int_equal(io_uring_submit_and_wait_min_timeout(&m->ring, &cqe, 2,
							      &ts, 1000, NULL),
			 2);
	assert_non_null(cqe);
	assert_true(cqe->user_data == 2);
	assert_int_equal(io_uring_cq_ready(&m->ring), 1);
	io_uring_cqe_seen(&m->ring, cqe);
}

/* None came by the minimum: the first CQE after it ends the wait. */
static void test_after_an_empty_minimum_one_cqe_is_enough(void **state)
{
	struct mt *m = *state;
	struct __kernel_timespec ts = { .tv_sec = LONG_WAIT_SEC };
	struct __kernel_timespec later = { .tv_nsec = 20000000 };
	struct io_uring_cqe *cqe = NULL;
	struct io_uring_sqe *sqe;

	prep_pending_read(m);
	sqe = must_get_sqe(&m->ring);
	io_uring_prep_timeout(sqe, &later, 0, 0);
	sqe->user_data = 3;
	assert_int_equal(io_uring_submit_and_wait_min_timeout(&m->ring, &cqe, 2,
							      &ts, 1000, NULL),
			 2);
	assert_non_null(cqe);
	assert_true(cqe->user_data == 3);
	assert_int_equal(cqe->res, -ETIME);
	io_uring_cqe_seen(&m->ring, cqe);
}

static void test_nothing_comes_until_the_timeout(void **state)
{
	struct mt *m = *state;
	struct __kernel_timespec ts = { .tv_nsec = 20000000 };
	struct io_uring_cqe *cqe = NULL;

	assert_int_equal(io_uring_wait_cqes_min_timeout(&m->ring, &cqe, 1, &ts,
							1000, NULL), -ETIME);
}

/* The minimum is waited even when the timeout is shorter. */
static void test_timeout_shorter_than_the_minimum(void **state)
{
	struct mt *m = *state;
	struct __kernel_timespec ts = { .tv_nsec = 1000000 };
	struct io_uring_cqe *cqe = NULL;
	struct io_uring_sqe *sqe;

	assert_int_equal(io_uring_wait_cqes_min_timeout(&m->ring, &cqe, 1, &ts,
							20000, NULL), -ETIME);
	sqe = must_get_sqe(&m->ring);
	io_uring_prep_nop(sqe);
	sqe->user_data = 4;
	assert_int_equal(io_uring_submit(&m->ring), 1);
	assert_int_equal(io_uring_wait_cqes_min_timeout(&m->ring, &cqe, 1, &ts,
							20000, NULL), 0);
	assert_true(cqe->user_data == 4);
	io_uring_cqe_seen(&m->ring, cqe);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, mt_setup, mt_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_min_timeout_feature_reported),
		T(test_minimum_ends_a_wait_with_fewer_cqes),
		T(test_after_an_empty_minimum_one_cqe_is_enough),
		T(test_nothing_comes_until_the_timeout),
		T(test_timeout_shorter_than_the_minimum),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif
