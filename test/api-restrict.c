/* SPDX-License-Identifier: MIT */
/*
 * Restrictions: a ring set up with IORING_SETUP_R_DISABLED takes one set
 * of restrictions (io_uring_register_restrictions), in force once
 * io_uring_enable_rings() has run: SQEs of other opcodes or flags complete
 * with -EACCES, other register opcodes fail with -EACCES, with the
 * kernel's errors for bad entries and second attempts.
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

static int ring_setup(void **state)
{
	struct io_uring *ring = calloc(1, sizeof(*ring));

	if (!ring || io_uring_queue_init(8, ring, IORING_SETUP_R_DISABLED) < 0)
		return -1;
	*state = ring;
	return 0;
}

static int ring_teardown(void **state)
{
	io_uring_queue_exit(*state);
	free(*state);
	return 0;
}

static struct io_uring_restriction sqe_op(unsigned op)
{
	return (struct io_uring_restriction) {
		.opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = (__u8) op,
	};
}

static struct io_uring_restriction register_op(unsigned op)
{
	return (struct io_uring_restriction) {
		.opcode = IORING_RESTRICTION_REGISTER_OP,
		.register_op = (__u8) op,
	};
}

static struct io_uring_restriction sqe_flags(unsigned kind, unsigned flags)
{
	return (struct io_uring_restriction) {
		.opcode = (__u16) kind, .sqe_flags = (__u8) flags,
	};
}

/* A NOP-shaped SQE of opcode op and flags, submitted: its CQE's res. */
static int submit_op(struct io_uring *ring, unsigned op, unsigned flags)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);

	io_uring_prep_nop(sqe);
	sqe->opcode = (__u8) op;
	sqe->flags = (__u8) flags;
	sqe->fd = -1;
	sqe->user_data = 42;
	if (ring->flags & IORING_SETUP_SQPOLL) {
		struct test_cqe c;

		/* The count is of SQEs the thread has not consumed: the
		 * kernel's may post a CQE before it moves the SQ head past
		 * that SQE, so the one before can still be counted. */
		assert_true(io_uring_submit(ring) >= 1);
		assert_int_equal(reap_one(ring, &c), 0);
		assert_true(c.user_data == 42);
		return c.res;
	}
	return submit_one_and_wait(ring, 42);
}

static int register_restrictions(struct io_uring *ring,
				  struct io_uring_restriction *res, unsigned nr)
{
	return io_uring_register(ring->ring_fd, IORING_REGISTER_RESTRICTIONS,
				 res, nr);
}

static void test_only_a_disabled_ring_takes_restrictions(void **state)
{
	struct io_uring_restriction res = sqe_op(IORING_OP_NOP);
	struct io_uring ring;

	(void) state;
	assert_int_equal(io_uring_queue_init(8, &ring, 0), 0);
	assert_int_equal(io_uring_register_restrictions(&ring, &res, 1),
			 -EBADFD);
	io_uring_queue_exit(&ring);
}

static void test_bad_entries_are_refused_and_forgotten(void **state)
{
	struct io_uring *ring = *state;
	struct io_uring_restriction res[2] = { sqe_op(IORING_OP_NOP) };

	assert_int_equal(register_restrictions(ring, NULL, 1), -EINVAL);
	assert_int_equal(register_restrictions(ring, (void *) 8, 1), -EFAULT);
	assert_int_equal(register_restrictions(ring, res, 1000), -EINVAL);
	res[1] = sqe_op(IORING_OP_LAST);
	assert_int_equal(register_restrictions(ring, res, 2), -EINVAL);
	res[1] = register_op(IORING_REGISTER_LAST);
	assert_int_equal(register_restrictions(ring, res, 2), -EINVAL);
	res[1].opcode = IORING_RESTRICTION_LAST;
	assert_int_equal(register_restrictions(ring, res, 2), -EINVAL);
	/* The failed attempts left nothing: READ was never allowed, and the
	 * registration that works is the first. */
	res[1] = sqe_op(IORING_OP_READ);
	assert_int_equal(register_restrictions(ring, res, 1), 0);
	assert_int_equal(register_restrictions(ring, res, 1), -EBUSY);
	assert_int_equal(io_uring_enable_rings(ring), 0);
	assert_int_equal(submit_op(ring, IORING_OP_NOP, 0), 0);
	assert_int_equal(submit_op(ring, IORING_OP_READ, 0), -EACCES);
}

static void test_refused_opcodes_complete_with_eacces(void **state)
{
	struct io_uring *ring = *state;
	struct io_uring_restriction res[2] = {
		sqe_op(IORING_OP_NOP), sqe_op(IORING_OP_TIMEOUT),
	};

	assert_int_equal(io_uring_register_restrictions(ring, res, 2), 0);
	assert_int_equal(io_uring_enable_rings(ring), 0);
	assert_int_equal(submit_op(ring, IORING_OP_NOP, 0), 0);
	assert_int_equal(submit_op(ring, IORING_OP_READ, 0), -EACCES);
	assert_int_equal(submit_op(ring, IORING_OP_CLOSE, 0), -EACCES);
	assert_int_equal(submit_op(ring, IORING_OP_FILES_UPDATE, 0), -EACCES);
	/* What is invalid anyway stays -EINVAL. */
	assert_int_equal(submit_op(ring, IORING_OP_LAST, 0), -EINVAL);
	assert_int_equal(submit_op(ring, IORING_OP_NOP, 1u << 7), -EINVAL);
}

/* Allowed flags may be set, required ones must be, no other may. */
static void test_sqe_flags_allowed_and_required(void **state)
{
	struct io_uring *ring = *state;
	struct io_uring_restriction res[3] = {
		sqe_op(IORING_OP_NOP),
		sqe_flags(IORING_RESTRICTION_SQE_FLAGS_ALLOWED, IOSQE_IO_LINK),
		sqe_flags(IORING_RESTRICTION_SQE_FLAGS_REQUIRED, IOSQE_ASYNC),
	};

	assert_int_equal(io_uring_register_restrictions(ring, res, 3), 0);
	assert_int_equal(io_uring_enable_rings(ring), 0);
	assert_int_equal(submit_op(ring, IORING_OP_NOP, IOSQE_ASYNC), 0);
	assert_int_equal(submit_op(ring, IORING_OP_NOP, 0), -EACCES);
	assert_int_equal(submit_op(ring, IORING_OP_NOP, IOSQE_IO_DRAIN |
				   IOSQE_ASYNC), -EACCES);
	assert_int_equal(submit_op(ring, IORING_OP_NOP, IOSQE_FIXED_FILE |
				   IOSQE_ASYNC), -EACCES);
	assert_int_equal(submit_op(ring, IORING_OP_NOP, IOSQE_CQE_SKIP_SUCCESS |
				   IOSQE_ASYNC), -EACCES);
}

/* A refused SQE fails its chain as any SQE that cannot start. */
static void test_refused_link_member_fails_its_chain(void **state)
{
	struct io_uring *ring = *state;
	struct io_uring_restriction res[2] = {
		sqe_op(IORING_OP_NOP),
		sqe_flags(IORING_RESTRICTION_SQE_FLAGS_ALLOWED, IOSQE_IO_LINK),
	};
	struct io_uring_sqe *sqe;
	struct test_cqe c;

	assert_int_equal(io_uring_register_restrictions(ring, res, 2), 0);
	assert_int_equal(io_uring_enable_rings(ring), 0);
	sqe = must_get_sqe(ring);
	io_uring_prep_nop(sqe);
	sqe->flags = IOSQE_IO_LINK;
	sqe->user_data = 1;
	sqe = must_get_sqe(ring);
	io_uring_prep_nop(sqe);
	sqe->flags = IOSQE_ASYNC;
	sqe->user_data = 2;
	assert_int_equal(io_uring_submit(ring), 2);
	assert_int_equal(reap_one(ring, &c), 0);
	assert_true(c.user_data == 1);
	assert_int_equal(c.res, -ECANCELED);
	assert_int_equal(reap_one(ring, &c), 0);
	assert_true(c.user_data == 2);
	assert_int_equal(c.res, -EACCES);
}

static void test_register_opcodes_are_restricted(void **state)
{
	struct io_uring *ring = *state;
	struct io_uring_restriction res[2] = {
		register_op(IORING_REGISTER_BUFFERS),
		register_op(IORING_REGISTER_ENABLE_RINGS),
	};
	char buf[64];
	struct iovec iov = { buf, sizeof(buf) };
	struct io_uring_probe *probe;

	assert_int_equal(io_uring_register_restrictions(ring, res, 2), 0);
	/* Not in force until the ring is enabled. */
	assert_int_equal(io_uring_register_buffers(ring, &iov, 1), 0);
	assert_int_equal(io_uring_unregister_buffers(ring), 0);
	assert_int_equal(io_uring_enable_rings(ring), 0);
	assert_int_equal(io_uring_register_buffers(ring, &iov, 1), 0);
	assert_int_equal(io_uring_unregister_buffers(ring), -EACCES);
	assert_int_equal(io_uring_register_ring_fd(ring), -EACCES);
	assert_int_equal(io_uring_register_restrictions(ring, res, 2), -EACCES);
	assert_int_equal(io_uring_enable_rings(ring), -EBADFD);
	assert_int_equal(io_uring_register(ring->ring_fd, IORING_REGISTER_PROBE,
					   NULL, 0), -EACCES);
	assert_int_equal(io_uring_register(ring->ring_fd, 9999, NULL, 0),
			 -EINVAL);
	probe = io_uring_get_probe_ring(ring);
	assert_null(probe);
	/* And every SQE: no opcode was allowed. */
	assert_int_equal(submit_op(ring, IORING_OP_NOP, 0), -EACCES);
}

/* An empty set is a set: nothing is allowed. */
static void test_empty_restrictions_allow_nothing(void **state)
{
	struct io_uring *ring = *state;
	struct io_uring_restriction res = sqe_op(IORING_OP_NOP);

	assert_int_equal(register_restrictions(ring, &res, 0), 0);
	assert_int_equal(register_restrictions(ring, &res, 0), -EBUSY);
	assert_int_equal(io_uring_enable_rings(ring), 0);
	assert_int_equal(submit_op(ring, IORING_OP_NOP, 0), -EACCES);
	assert_int_equal(io_uring_enable_rings(ring), -EACCES);
}

/* After the ring is enabled without restrictions, none can come. */
static void test_no_restrictions_after_enable(void **state)
{
	struct io_uring *ring = *state;
	struct io_uring_restriction res = sqe_op(IORING_OP_NOP);

	assert_int_equal(io_uring_enable_rings(ring), 0);
	assert_int_equal(io_uring_register_restrictions(ring, &res, 1),
			 -EBADFD);
	assert_int_equal(submit_op(ring, IORING_OP_READ, 0), -EBADF);
}

/* The submission thread checks as io_uring_enter() does. */
static void test_sqpoll_ring_is_restricted(void **state)
{
	struct io_uring_restriction res = sqe_op(IORING_OP_NOP);
	struct io_uring_params p = {
		.flags = IORING_SETUP_SQPOLL | IORING_SETUP_R_DISABLED,
		.sq_thread_idle = 100,
	};
	struct io_uring ring;

	(void) state;
	assert_int_equal(io_uring_queue_init_params(8, &ring, &p), 0);
	assert_int_equal(io_uring_register_restrictions(&ring, &res, 1), 0);
	assert_int_equal(io_uring_enable_rings(&ring), 0);
	assert_int_equal(submit_op(&ring, IORING_OP_NOP, 0), 0);
	assert_int_equal(submit_op(&ring, IORING_OP_READ, 0), -EACCES);
	io_uring_queue_exit(&ring);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, ring_setup, ring_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_only_a_disabled_ring_takes_restrictions),
		T(test_bad_entries_are_refused_and_forgotten),
		T(test_refused_opcodes_complete_with_eacces),
		T(test_sqe_flags_allowed_and_required),
		T(test_refused_link_member_fails_its_chain),
		T(test_register_opcodes_are_restricted),
		T(test_empty_restrictions_allow_nothing),
		T(test_no_restrictions_after_enable),
		T(test_sqpoll_ring_is_restricted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif
