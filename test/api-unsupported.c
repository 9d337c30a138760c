/* SPDX-License-Identifier: MIT */
/*
 * What is declared but not done fails as on a kernel without it: an
 * operation the probe lists as unsupported completes with -EOPNOTSUPP (as
 * on a kernel built without it), one past the probe's last with -EINVAL
 * (as an opcode the kernel does not know), and unknown
 * setup and enter flags, registration opcodes (with a ring or with the
 * ring-less descriptor -1) and feature bits are refused or absent. The
 * probe reports no operation it does not perform.
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

/* A bare SQE of opcode op: no file, no buffer. */
static int submit_bare(struct io_uring *ring, int op)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);
	struct test_cqe c;

	io_uring_prep_rw(op, sqe, -1, NULL, 0, 0);
	sqe->rw_flags = 0;
	sqe->user_data = (__u64) op;
	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(reap_one(ring, &c), 0);
	assert_int_equal(c.user_data, (__u64) op);
	return c.res;
}

/* Every opcode up to the 2.15 header's last, and past the probe's last:
 * none the probe does not report supported is performed. */
static void test_unreported_ops_fail(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct io_uring_probe *p = io_uring_get_probe_ring(ring);
	int op, last = IORING_OP_LAST + 2;

	assert_non_null(p);
	assert_true(p->last_op >= IORING_OP_NOP);
	if (last < p->last_op + 2)
		last = p->last_op + 2;
	for (op = 0; op <= last; op++) {
		int want = op > p->last_op ? -EINVAL : -EOPNOTSUPP;

		if (io_uring_opcode_supported(p, op))
			continue;
		if (submit_bare(ring, op) != want)
			fail_msg("opcode %d is not in the probe but did not "
				 "fail with %d", op, want);
	}
	io_uring_free_probe(p);
}

static void test_unknown_setup_flag_is_einval(void **state)
{
	struct io_uring_params p;
	struct io_uring ring;

	(void) state;
	memset(&p, 0, sizeof(p));
	p.flags = 1U << 25;
	assert_int_equal(io_uring_queue_init_params(4, &ring, &p), -EINVAL);
}

static void test_unknown_enter_flag_is_einval(void **state)
{
	struct io_uring *ring = fixture_ring(state);

	assert_int_equal(io_uring_enter((unsigned) ring->ring_fd, 0, 0, 1U << 8,
					NULL), -EINVAL);
}

static void test_unknown_register_opcodes_are_einval(void **state)
{
	struct io_uring *ring = fixture_ring(state);

	assert_int_equal(io_uring_register((unsigned) ring->ring_fd,
					   IORING_REGISTER_LAST, NULL, 0),
			 -EINVAL);
	assert_int_equal(io_uring_register((unsigned) ring->ring_fd,
					   IORING_REGISTER_LAST + 10, NULL, 0),
			 -EINVAL);
}

/* Descriptor -1 is for the opcodes that need no ring; others are -EINVAL,
 * not -EBADF. */
static void test_ringless_register_of_a_ring_opcode_is_einval(void **state)
{
	(void) state;
	assert_int_equal(io_uring_register((unsigned) -1,
					   IORING_REGISTER_BUFFERS, NULL, 0),
			 -EINVAL);
	assert_int_equal(io_uring_register((unsigned) -1, 200, NULL, 0),
			 -EINVAL);
	assert_int_equal(io_uring_register((unsigned) -2,
					   IORING_REGISTER_PROBE, NULL, 0),
			 -EBADF);
}

/* Superseded by wait regions, in liburing itself. */
static void test_register_wait_reg_is_einval(void **state)
{
	struct io_uring_reg_wait reg;

	memset(&reg, 0, sizeof(reg));
	assert_int_equal(io_uring_register_wait_reg(fixture_ring(state), &reg,
						    1), -EINVAL);
}

static void test_no_feature_bit_beyond_the_known_ones(void **state)
{
	unsigned known = (IORING_FEAT_NO_IOWAIT << 1) - 1;

	assert_int_equal(fixture_ring(state)->features & ~known, 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(test_unreported_ops_fail),
		T(test_unknown_setup_flag_is_einval),
		T(test_unknown_enter_flag_is_einval),
		T(test_unknown_register_opcodes_are_einval),
		T(test_ringless_register_of_a_ring_opcode_is_einval),
		T(test_register_wait_reg_is_einval),
		T(test_no_feature_bit_beyond_the_known_ones),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif
