/* SPDX-License-Identifier: MIT */
/*
 * io_uring_set_iowait() and IORING_ENTER_NO_IOWAIT: whether a ring's
 * waits count as I/O wait. The ring says it can (IORING_FEAT_NO_IOWAIT);
 * waits work either way.
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

static void queue_nop(struct io_uring *ring, __u64 ud)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);

	io_uring_prep_nop(sqe);
	sqe->user_data = ud;
}

static void test_feature_bit_is_reported(void **state)
{
	assert_true(fixture_ring(state)->features & IORING_FEAT_NO_IOWAIT);
}

static void test_waits_work_without_iowait(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct __kernel_timespec ts = { .tv_sec = 5 };
	struct io_uring_cqe *cqe;
	struct test_cqe c;

	assert_int_equal(io_uring_set_iowait(ring, false), 0);
	queue_nop(ring, 1);
	assert_int_equal(io_uring_submit_and_wait(ring, 1), 1);
	assert_int_equal(reap_one(ring, &c), 0);
	assert_int_equal(c.user_data, 1);
	queue_nop(ring, 2);
	assert_int_equal(io_uring_submit_and_wait_timeout(ring, &cqe, 1, &ts,
							  NULL), 1);
	assert_int_equal(cqe->user_data, 2);
	io_uring_cqe_seen(ring, cqe);
	assert_int_equal(io_uring_set_iowait(ring, true), 0);
	queue_nop(ring, 3);
	assert_int_equal(io_uring_submit_and_wait(ring, 1), 1);
	assert_int_equal(reap_one(ring, &c), 0);
	assert_int_equal(c.user_data, 3);
}

static void test_raw_enter_accepts_no_iowait(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct test_cqe c;

	queue_nop(ring, 4);
	io_uring_smp_store_release(ring->sq.ktail, ring->sq.sqe_tail);
	ring->sq.sqe_head = ring->sq.sqe_tail;
	assert_int_equal(io_uring_enter((unsigned) ring->ring_fd, 1, 1,
					IORING_ENTER_GETEVENTS |
					IORING_ENTER_NO_IOWAIT, NULL), 1);
	assert_int_equal(io_uring_cq_ready(ring), 1);
	assert_int_equal(reap_one(ring, &c), 0);
	assert_int_equal(c.user_data, 4);
}

/* A ring without the feature refuses, in the library, as liburing does. */
static void test_without_the_feature_bit_it_is_eopnotsupp(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	unsigned features = ring->features;

	ring->features &= ~IORING_FEAT_NO_IOWAIT;
	assert_int_equal(io_uring_set_iowait(ring, false), -EOPNOTSUPP);
	ring->features = features;
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(test_feature_bit_is_reported),
		T(test_waits_work_without_iowait),
		T(test_raw_enter_accepts_no_iowait),
		T(test_without_the_feature_bit_it_is_eopnotsupp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif
