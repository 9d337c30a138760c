/* SPDX-License-Identifier: MIT */
/*
 * IORING_SETUP_ATTACH_WQ: a ring that shares the io-wq workers of ring
 * wq_fd (Asio's multi-ring mode sets its second and later rings up so),
 * with the kernel's checks on wq_fd.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "helpers.h"

static int attach_to(int wq_fd, struct io_uring *ring)
{
	struct io_uring_params p;

	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_ATTACH_WQ;
	p.wq_fd = (__u32) wq_fd;
	return io_uring_queue_init_params(4, ring, &p);
}

/* Through the workers (IOSQE_ASYNC), which the rings share. */
static void async_nop(struct io_uring *ring, __u64 ud)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);
	struct test_cqe c;

	io_uring_prep_nop(sqe);
	io_uring_sqe_set_flags(sqe, IOSQE_ASYNC);
	sqe->user_data = ud;
	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(reap_one(ring, &c), 0);
	assert_int_equal(c.user_data, ud);
	assert_int_equal(c.res, 0);
}

static void test_attached_rings_both_work(void **state)
{
	struct io_uring *first = fixture_ring(state);
	struct io_uring second, third;

	assert_int_equal(attach_to(first->ring_fd, &second), 0);
	assert_true(second.flags & IORING_SETUP_ATTACH_WQ);
	assert_int_equal(attach_to(second.ring_fd, &third), 0);
	async_nop(first, 1);
	async_nop(&second, 2);
	async_nop(&third, 3);
	io_uring_queue_exit(&third);
	io_uring_queue_exit(&second);
	async_nop(first, 4);
}

static void test_attach_to_no_descriptor_is_enxio(void **state)
{
	struct io_uring ring;
	int p[2];

	(void) state;
	assert_int_equal(pipe(p), 0);
	close(p[0]);
	close(p[1]);
	assert_int_equal(attach_to(p[0], &ring), -ENXIO);
	assert_int_equal(attach_to(-1, &ring), -ENXIO);
}

static void test_attach_to_a_file_that_is_no_ring_is_einval(void **state)
{
	struct io_uring ring;
	int p[2];

	(void) state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(attach_to(p[0], &ring), -EINVAL);
	close(p[0]);
	close(p[1]);
}

/* Without the flag, wq_fd is not looked at. */
static void test_wq_fd_without_the_flag_is_ignored(void **state)
{
	struct io_uring_params p;
	struct io_uring ring;

	(void) state;
	memset(&p, 0, sizeof(p));
	p.wq_fd = 999;
	assert_int_equal(io_uring_queue_init_params(4, &ring, &p), 0);
	io_uring_queue_exit(&ring);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(test_attached_rings_both_work),
		T(test_attach_to_no_descriptor_is_enxio),
		T(test_attach_to_a_file_that_is_no_ring_is_einval),
		T(test_wq_fd_without_the_flag_is_ignored),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
