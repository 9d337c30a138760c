/* SPDX-License-Identifier: MIT */
/*
 * Ring setup: entry counts, rounding, clamping, CQ sizing, flag and
 * parameter validation, and the features a ring reports.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "helpers.h"

static void test_zero_entries_is_einval(void **state)
{
	struct io_uring ring;

	(void) state;
	assert_int_equal(io_uring_queue_init(0, &ring, 0), -EINVAL);
}

static void test_entries_round_up_to_power_of_two(void **state)
{
	struct io_uring ring;

	(void) state;
	assert_int_equal(io_uring_queue_init(5, &ring, 0), 0);
	assert_int_equal(ring.sq.ring_entries, 8);
	assert_int_equal(ring.sq.ring_mask, 7);
	assert_int_equal(*ring.sq.kring_entries, 8);
	assert_int_equal(*ring.sq.kring_mask, 7);
	io_uring_queue_exit(&ring);

	assert_int_equal(io_uring_queue_init(1, &ring, 0), 0);
	assert_int_equal(ring.sq.ring_entries, 1);
	assert_int_equal(ring.cq.ring_entries, 2);
	io_uring_queue_exit(&ring);
}

static void test_cq_is_twice_sq_by_default(void **state)
{
	struct io_uring ring;

	(void) state;
	assert_int_equal(io_uring_queue_init(64, &ring, 0), 0);
	assert_int_equal(ring.sq.ring_entries, 64);
	assert_int_equal(ring.cq.ring_entries, 128);
	assert_int_equal(ring.cq.ring_mask, 127);
	assert_int_equal(*ring.cq.kring_entries, 128);
	io_uring_queue_exit(&ring);
}

static void test_max_entries_32768(void **state)
{
	struct io_uring ring;

	(void) state;
	assert_int_equal(io_uring_queue_init(32768, &ring, 0), 0);
	assert_int_equal(ring.sq.ring_entries, 32768);
	assert_int_equal(ring.cq.ring_entries, 65536);
	io_uring_queue_exit(&ring);
}

static void test_over_32768_entries_is_einval(void **state)
{
	struct io_uring ring;

	(void) state;
	assert_int_equal(io_uring_queue_init(32769, &ring, 0), -EINVAL);
	assert_int_equal(io_uring_queue_init(100000, &ring, 0), -EINVAL);
}

static void test_clamp_caps_entries(void **state)
{
	struct io_uring ring;

	(void) state;
	assert_int_equal(io_uring_queue_init(100000, &ring, IORING_SETUP_CLAMP), 0);
	assert_int_equal(ring.sq.ring_entries, 32768);
	assert_int_equal(ring.cq.ring_entries, 65536);
	io_uring_queue_exit(&ring);
}

static void test_unknown_setup_flag_is_einval(void **state)
{
	struct io_uring ring;

	(void) state;
	assert_int_equal(io_uring_queue_init(8, &ring, 1U << 30), -EINVAL);
	assert_int_equal(io_uring_queue_init(8, &ring, 1U << 31), -EINVAL);
}

static void test_nonzero_reserved_params_is_einval(void **state)
{
	struct io_uring ring;
	struct io_uring_params p;

	(void) state;
	memset(&p, 0, sizeof(p));
	p.resv[0] = 1;
	assert_int_equal(io_uring_queue_init_params(8, &ring, &p), -EINVAL);
}

static void test_cqsize_rounds_up_and_reports(void **state)
{
	struct io_uring ring;
	struct io_uring_params p;

	(void) state;
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_CQSIZE;
	p.cq_entries = 100;
	assert_int_equal(io_uring_queue_init_params(8, &ring, &p), 0);
	assert_int_equal(p.sq_entries, 8);
	assert_int_equal(p.cq_entries, 128);
	assert_int_equal(ring.sq.ring_entries, 8);
	assert_int_equal(ring.cq.ring_entries, 128);
	io_uring_queue_exit(&ring);
}

static void test_cqsize_smaller_than_sq_is_einval(void **state)
{
	struct io_uring ring;
	struct io_uring_params p;

	(void) state;
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_CQSIZE;
	p.cq_entries = 4;
	assert_int_equal(io_uring_queue_init_params(8, &ring, &p), -EINVAL);
}

static void test_cqsize_zero_is_einval(void **state)
{
	struct io_uring ring;
	struct io_uring_params p;

	(void) state;
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_CQSIZE;
	assert_int_equal(io_uring_queue_init_params(8, &ring, &p), -EINVAL);
}

static void test_cqsize_too_big_is_einval_unless_clamped(void **state)
{
	struct io_uring ring;
	struct io_uring_params p;

	(void) state;
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_CQSIZE;
	p.cq_entries = 65536 * 2 + 1;
	assert_int_equal(io_uring_queue_init_params(8, &ring, &p), -EINVAL);

	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
	p.cq_entries = 65536 * 2 + 1;
	assert_int_equal(io_uring_queue_init_params(8, &ring, &p), 0);
	assert_int_equal(ring.cq.ring_entries, 65536);
	io_uring_queue_exit(&ring);
}

static void test_cq_entries_ignored_without_cqsize(void **state)
{
	struct io_uring ring;
	struct io_uring_params p;

	(void) state;
	memset(&p, 0, sizeof(p));
	p.cq_entries = 3;
	assert_int_equal(io_uring_queue_init_params(8, &ring, &p), 0);
	assert_int_equal(ring.cq.ring_entries, 16);
	io_uring_queue_exit(&ring);
}

/* uring-alike keeps overflowed CQEs as the kernel does (api-overflow.c). */
static void test_features_report_nodrop(void **state)
{
	struct io_uring ring;
	struct io_uring_params p;

	(void) state;
	memset(&p, 0, sizeof(p));
	assert_int_equal(io_uring_queue_init_params(8, &ring, &p), 0);
	assert_true(p.features & IORING_FEAT_NODROP);
	assert_int_equal(ring.features, p.features);
	io_uring_queue_exit(&ring);
}

static void test_ring_starts_empty(void **state)
{
	struct io_uring ring;

	(void) state;
	assert_int_equal(io_uring_queue_init(8, &ring, 0), 0);
	assert_true(ring.ring_fd >= 0);
	assert_int_equal(*ring.sq.khead, *ring.sq.ktail);
	assert_int_equal(*ring.cq.khead, *ring.cq.ktail);
	assert_int_equal(*ring.sq.kdropped, 0);
	assert_int_equal(*ring.cq.koverflow, 0);
	assert_false(io_uring_cq_has_overflow(&ring));
	assert_int_equal(io_uring_sq_space_left(&ring), 8);
	assert_true(cq_is_empty(&ring));
	io_uring_queue_exit(&ring);
}

static void test_queue_exit_releases_ring_fd(void **state)
{
	struct io_uring ring;
	int before;

	(void) state;
	/* A process's first ring may leave process-wide descriptors behind
	 * for the next (the kernel's leaves none): counted after one. */
	assert_int_equal(io_uring_queue_init(8, &ring, 0), 0);
	io_uring_queue_exit(&ring);
	before = count_open_fds();
	assert_int_equal(io_uring_queue_init(8, &ring, 0), 0);
	/* The kernel uses exactly one; an emulation may need helpers. */
	assert_true(count_open_fds() >= before + 1);
	io_uring_queue_exit(&ring);
	assert_int_equal(count_open_fds(), before);
}

/* A ring that has only run requests which complete at once holds its
 * own descriptor and nothing else: one on the kernel; on the engine also
 * its own handle on that descriptor and the memfd the rings map from
 * (uring-alike(7)). A first ring may leave process-wide ones behind: made
 * before counting. */
#ifdef TEST_KERNEL
#define RING_FDS	1
#else
#define RING_FDS	3
#endif

static void test_unused_ring_holds_one_fd(void **state)
{
	struct io_uring first, ring;
	struct io_uring_cqe *cqe;
	int before;

	(void) state;
	assert_int_equal(io_uring_queue_init(8, &first, 0), 0);
	before = count_open_fds();
	assert_int_equal(io_uring_queue_init(8, &ring, 0), 0);
	io_uring_prep_nop(io_uring_get_sqe(&ring));
	assert_int_equal(io_uring_submit_and_wait(&ring, 1), 1);
	assert_int_equal(io_uring_peek_cqe(&ring, &cqe), 0);
	io_uring_cqe_seen(&ring, cqe);
	assert_int_equal(count_open_fds(), before + RING_FDS);
	io_uring_queue_exit(&ring);
	io_uring_queue_exit(&first);
}

/* Each new ring starts as the kernel's: heads, tails, flags and entries
 * zero, whatever rings of the process used before it. */
static void test_new_ring_starts_zeroed(void **state)
{
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	unsigned i;

	(void) state;
	assert_int_equal(io_uring_queue_init(8, &ring, 0), 0);
	for (i = 0; i < 8; i++) {
		io_uring_prep_nop(io_uring_get_sqe(&ring));
		io_uring_sqe_set_data64(&ring.sq.sqes[i], 0xabcdef00u + i);
	}
	assert_int_equal(io_uring_submit_and_wait(&ring, 8), 8);
	assert_int_equal(io_uring_peek_cqe(&ring, &cqe), 0);
	io_uring_cq_advance(&ring, 3);
	io_uring_queue_exit(&ring);

	assert_int_equal(io_uring_queue_init(8, &ring, 0), 0);
	assert_int_equal(*ring.sq.khead, 0);
	assert_int_equal(*ring.sq.ktail, 0);
	assert_int_equal(*ring.cq.khead, 0);
	assert_int_equal(*ring.cq.ktail, 0);
	assert_int_equal(*ring.cq.koverflow, 0);
	for (i = 0; i < *ring.sq.kring_entries; i++)
		assert_int_equal(ring.sq.sqes[i].user_data, 0);
	for (i = 0; i < *ring.cq.kring_entries; i++)
		assert_int_equal(ring.cq.cqes[i].user_data, 0);
	io_uring_queue_exit(&ring);
}

static void test_two_rings_are_independent(void **state)
{
	struct io_uring a, b;
	struct io_uring_sqe *sqe;
	struct test_cqe c;

	(void) state;
	assert_int_equal(io_uring_queue_init(4, &a, 0), 0);
	assert_int_equal(io_uring_queue_init(4, &b, 0), 0);
	assert_true(a.ring_fd != b.ring_fd);
	sqe = must_get_sqe(&a);
	io_uring_prep_nop(sqe);
	sqe->user_data = 1;
	assert_int_equal(io_uring_submit_and_wait(&a, 1), 1);
	assert_true(cq_is_empty(&b));
	assert_int_equal(reap_one(&a, &c), 0);
	assert_true(c.user_data == 1);
	io_uring_queue_exit(&a);

	sqe = must_get_sqe(&b);
	io_uring_prep_nop(sqe);
	sqe->user_data = 2;
	assert_int_equal(submit_one_and_wait(&b, 2), 0);
	io_uring_queue_exit(&b);
}

/* A ring set up disabled refuses submission until it is enabled. */
static void test_r_disabled_ring_refuses_submit_until_enabled(void **state)
{
	struct io_uring ring;
	struct io_uring_sqe *sqe;

	(void) state;
	assert_int_equal(io_uring_queue_init(8, &ring, IORING_SETUP_R_DISABLED), 0);
	sqe = must_get_sqe(&ring);
	io_uring_prep_nop(sqe);
	sqe->user_data = 3;
	assert_int_equal(io_uring_submit(&ring), -EBADFD);
	assert_int_equal(io_uring_sq_ready(&ring), 1);
	assert_int_equal(io_uring_register(ring.ring_fd, IORING_REGISTER_ENABLE_RINGS,
					   NULL, 0), 0);
	assert_int_equal(submit_one_and_wait(&ring, 3), 0);
	/* Enabling twice: the ring is no longer disabled. */
	assert_int_equal(io_uring_register(ring.ring_fd, IORING_REGISTER_ENABLE_RINGS,
					   NULL, 0), -EBADFD);
	io_uring_queue_exit(&ring);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zero_entries_is_einval),
		cmocka_unit_test(test_entries_round_up_to_power_of_two),
		cmocka_unit_test(test_cq_is_twice_sq_by_default),
		cmocka_unit_test(test_max_entries_32768),
		cmocka_unit_test(test_over_32768_entries_is_einval),
		cmocka_unit_test(test_clamp_caps_entries),
		cmocka_unit_test(test_unknown_setup_flag_is_einval),
		cmocka_unit_test(test_nonzero_reserved_params_is_einval),
		cmocka_unit_test(test_cqsize_rounds_up_and_reports),
		cmocka_unit_test(test_cqsize_smaller_than_sq_is_einval),
		cmocka_unit_test(test_cqsize_zero_is_einval),
		cmocka_unit_test(test_cqsize_too_big_is_einval_unless_clamped),
		cmocka_unit_test(test_cq_entries_ignored_without_cqsize),
		cmocka_unit_test(test_features_report_nodrop),
		cmocka_unit_test(test_ring_starts_empty),
		cmocka_unit_test(test_queue_exit_releases_ring_fd),
		cmocka_unit_test(test_unused_ring_holds_one_fd),
		cmocka_unit_test(test_new_ring_starts_zeroed),
		cmocka_unit_test(test_two_rings_are_independent),
		cmocka_unit_test(test_r_disabled_ring_refuses_submit_until_enabled),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
