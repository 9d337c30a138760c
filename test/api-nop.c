/* SPDX-License-Identifier: MIT */
/*
 * NOP: the completion path on its own. user_data round trips, SQ/CQ
 * accounting, and batches larger than the submission ring.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "helpers.h"

static void test_nop_completes_with_zero_and_user_data(void **state)
{
	struct fixture *f = *state;
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);
	struct test_cqe c;

	io_uring_prep_nop(sqe);
	io_uring_sqe_set_data64(sqe, 0xdeadbeefcafef00dULL);
	assert_int_equal(io_uring_submit(&f->ring), 1);
	assert_int_equal(reap_one(&f->ring, &c), 0);
	assert_true(c.user_data == 0xdeadbeefcafef00dULL);
	assert_int_equal(c.res, 0);
	assert_int_equal(c.flags, 0);
	assert_true(cq_is_empty(&f->ring));
}

static void test_nop_user_data_pointer_round_trip(void **state)
{
	struct fixture *f = *state;
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);
	struct io_uring_cqe *cqe;
	int marker = 42;

	io_uring_prep_nop(sqe);
	io_uring_sqe_set_data(sqe, &marker);
	assert_int_equal(io_uring_submit(&f->ring), 1);
	assert_int_equal(io_uring_wait_cqe(&f->ring, &cqe), 0);
	assert_ptr_equal(io_uring_cqe_get_data(cqe), &marker);
	io_uring_cqe_seen(&f->ring, cqe);
}

static void test_get_sqe_returns_null_when_sq_full(void **state)
{
	struct fixture *f = *state;
	unsigned entries = f->ring.sq.ring_entries;

	assert_int_equal(entries, 8);
	for (unsigned i = 0; i < entries; i++)
		io_uring_prep_nop(must_get_sqe(&f->ring));
	assert_null(io_uring_get_sqe(&f->ring));
	assert_int_equal(io_uring_sq_ready(&f->ring), entries);
	assert_int_equal(io_uring_sq_space_left(&f->ring), 0);
	assert_int_equal(io_uring_submit_and_wait(&f->ring, entries), entries);
	/* Submission frees the SQ again. */
	assert_int_equal(io_uring_sq_space_left(&f->ring), entries);
	assert_non_null(io_uring_get_sqe(&f->ring));
}

static void test_sq_and_cq_counters(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(io_uring_sq_ready(&f->ring), 0);
	assert_int_equal(io_uring_sq_space_left(&f->ring), 8);
	assert_int_equal(io_uring_cq_ready(&f->ring), 0);
	for (int i = 0; i < 3; i++)
		io_uring_prep_nop(must_get_sqe(&f->ring));
	assert_int_equal(io_uring_sq_ready(&f->ring), 3);
	assert_int_equal(io_uring_sq_space_left(&f->ring), 5);
	assert_int_equal(io_uring_cq_ready(&f->ring), 0);

	assert_int_equal(io_uring_submit_and_wait(&f->ring, 3), 3);
	assert_int_equal(io_uring_sq_ready(&f->ring), 0);
	assert_int_equal(io_uring_sq_space_left(&f->ring), 8);
	assert_int_equal(io_uring_cq_ready(&f->ring), 3);
	io_uring_cq_advance(&f->ring, 2);
	assert_int_equal(io_uring_cq_ready(&f->ring), 1);
	io_uring_cq_advance(&f->ring, 1);
	assert_int_equal(io_uring_cq_ready(&f->ring), 0);
}

static void test_submit_with_nothing_queued_returns_zero(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(io_uring_submit(&f->ring), 0);
	assert_true(cq_is_empty(&f->ring));
}

/* Reap whatever is ready, marking user_data in seen[]; returns how many. */
static unsigned reap_ready(struct io_uring *ring, unsigned char *seen,
			   unsigned n)
{
	struct io_uring_cqe *cqe;
	unsigned head, count = 0;

	io_uring_for_each_cqe(ring, head, cqe) {
		assert_true(cqe->user_data < n);
		assert_int_equal(cqe->res, 0);
		assert_int_equal(seen[cqe->user_data], 0);
		seen[cqe->user_data] = 1;
		count++;
	}
	io_uring_cq_advance(ring, count);
	return count;
}

static void test_1000_nops_through_8_entry_ring(void **state)
{
	struct fixture *f = *state;
	enum { N = 1000 };
	unsigned char seen[N] = { 0 };
	unsigned queued = 0, reaped = 0;

	while (queued < N) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&f->ring);
		int ret;

		if (sqe) {
			io_uring_prep_nop(sqe);
			io_uring_sqe_set_data64(sqe, queued++);
			if (queued < N)
				continue;
		}
		ret = io_uring_submit_and_wait(&f->ring, 1);
		assert_true(ret > 0);
		reaped += reap_ready(&f->ring, seen, N);
	}
	while (reaped < N) {
		struct io_uring_cqe *cqe;

		assert_int_equal(io_uring_wait_cqe(&f->ring, &cqe), 0);
		reaped += reap_ready(&f->ring, seen, N);
	}
	assert_int_equal(reaped, N);
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(seen[i], 1);
	assert_true(cq_is_empty(&f->ring));
	assert_false(io_uring_cq_has_overflow(&f->ring));
}

static void test_nop_batch_of_full_sq_each_seen_once(void **state)
{
	struct fixture *f = *state;
	unsigned char seen[8] = { 0 };
	unsigned n = 0;

	for (unsigned i = 0; i < 8; i++) {
		struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

		io_uring_prep_nop(sqe);
		io_uring_sqe_set_data64(sqe, i);
	}
	assert_int_equal(io_uring_submit_and_wait(&f->ring, 8), 8);
	assert_int_equal(io_uring_cq_ready(&f->ring), 8);
	n = reap_ready(&f->ring, seen, 8);
	assert_int_equal(n, 8);
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(seen[i], 1);
}

/* A NOP is flagged like any other request: IOSQE_IO_DRAIN etc. are legal. */
static void test_nop_with_async_flag_completes(void **state)
{
	struct fixture *f = *state;
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	io_uring_prep_nop(sqe);
	io_uring_sqe_set_flags(sqe, IOSQE_ASYNC);
	sqe->user_data = 5;
	assert_int_equal(submit_one_and_wait(&f->ring, 5), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nop_completes_with_zero_and_user_data, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_nop_user_data_pointer_round_trip, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_get_sqe_returns_null_when_sq_full, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_sq_and_cq_counters, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_submit_with_nothing_queued_returns_zero, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_1000_nops_through_8_entry_ring, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_nop_batch_of_full_sq_each_seen_once, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_nop_with_async_flag_completes, fixture_setup, fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
