/* SPDX-License-Identifier: MIT */
/*
 * Probing: io_uring_get_probe_ring(), io_uring_get_probe(),
 * io_uring_opcode_supported() and the raw io_uring_register_probe().
 * Only supported-ness of the operations uring-alike implements is asserted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <sys/socket.h>
#include <cmocka.h>
#include "helpers.h"

static const int in_scope_ops[] = {
	IORING_OP_NOP, IORING_OP_READV, IORING_OP_WRITEV, IORING_OP_FSYNC,
	IORING_OP_READ_FIXED, IORING_OP_WRITE_FIXED, IORING_OP_SYNC_FILE_RANGE,
	IORING_OP_FALLOCATE, IORING_OP_FADVISE, IORING_OP_READ, IORING_OP_WRITE,
};
#define NR_OPS (sizeof(in_scope_ops) / sizeof(in_scope_ops[0]))

static void check_probe(const struct io_uring_probe *p)
{
	assert_non_null(p);
	assert_true(p->last_op >= IORING_OP_WRITE);
	for (unsigned i = 0; i < NR_OPS; i++)
		assert_true(io_uring_opcode_supported(p, in_scope_ops[i]));
	/* Beyond last_op nothing is supported. */
	assert_false(io_uring_opcode_supported(p, 250));
	assert_false(io_uring_opcode_supported(p, p->last_op + 1));
}

static void test_probe_ring_supports_basic_ops(void **state)
{
	struct fixture *f = *state;
	struct io_uring_probe *p = io_uring_get_probe_ring(&f->ring);

	check_probe(p);
	io_uring_free_probe(p);
}

static void test_probe_without_ring_supports_basic_ops(void **state)
{
	struct io_uring_probe *p = io_uring_get_probe();

	(void) state;
	check_probe(p);
	io_uring_free_probe(p);
}

static void test_probe_ops_are_numbered(void **state)
{
	struct fixture *f = *state;
	struct io_uring_probe *p = io_uring_get_probe_ring(&f->ring);

	assert_non_null(p);
	assert_int_equal(p->ops_len, p->last_op + 1);
	for (unsigned i = 0; i < p->ops_len; i++)
		assert_int_equal(p->ops[i].op, i);
	io_uring_free_probe(p);
}

static void test_register_probe_raw(void **state)
{
	struct fixture *f = *state;
	size_t len = sizeof(struct io_uring_probe) +
		     256 * sizeof(struct io_uring_probe_op);
	struct io_uring_probe *p = calloc(1, len);

	assert_non_null(p);
	assert_int_equal(io_uring_register_probe(&f->ring, p, 256), 0);
	assert_true(io_uring_opcode_supported(p, IORING_OP_NOP));
	assert_true(io_uring_opcode_supported(p, IORING_OP_READ));
	assert_true(io_uring_opcode_supported(p, IORING_OP_WRITE));
	assert_int_equal(p->ops_len, p->last_op + 1);
	free(p);
}

/* The kernel asks for a zeroed probe and refuses anything else. */
static void test_register_probe_not_zeroed_is_einval(void **state)
{
	struct fixture *f = *state;
	size_t len = sizeof(struct io_uring_probe) +
		     256 * sizeof(struct io_uring_probe_op);
	struct io_uring_probe *p = calloc(1, len);

	assert_non_null(p);
	p->ops[3].flags = 1;
	assert_int_equal(io_uring_register_probe(&f->ring, p, 256), -EINVAL);
	free(p);
}

/* A smaller array gets the first entries only. */
static void test_register_probe_short_array(void **state)
{
	struct fixture *f = *state;
	size_t len = sizeof(struct io_uring_probe) +
		     4 * sizeof(struct io_uring_probe_op);
	struct io_uring_probe *p = calloc(1, len);

	assert_non_null(p);
	assert_int_equal(io_uring_register_probe(&f->ring, p, 4), 0);
	assert_int_equal(p->ops_len, 4);
	assert_true(p->last_op >= IORING_OP_WRITE);
	assert_true(p->ops[IORING_OP_NOP].flags & IO_URING_OP_SUPPORTED);
	assert_true(p->ops[IORING_OP_READV].flags & IO_URING_OP_SUPPORTED);
	assert_true(p->ops[IORING_OP_WRITEV].flags & IO_URING_OP_SUPPORTED);
	assert_true(p->ops[IORING_OP_FSYNC].flags & IO_URING_OP_SUPPORTED);
	free(p);
}

/* RECV_ZC is listed, and an ordinary one (multishot, a TCP socket, queue
 * 0) fails with -EINVAL on a ring with no zero-copy receive queue
 * registered (on uring-alike none can be). */
static void test_recv_zc_without_queue_is_einval(void **state)
{
	struct fixture *f = *state;
	struct io_uring_probe *p = io_uring_get_probe_ring(&f->ring);
	struct io_uring_sqe *sqe;
	int sock = socket(AF_INET, SOCK_STREAM, 0);

	assert_non_null(p);
	assert_true(io_uring_opcode_supported(p, IORING_OP_RECV_ZC));
	io_uring_free_probe(p);
	assert_true(sock >= 0);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_rw(IORING_OP_RECV_ZC, sqe, sock, NULL, 0, 0);
	sqe->ioprio = IORING_RECV_MULTISHOT;
	sqe->zcrx_ifq_idx = 0;
	sqe->user_data = 1;
	assert_int_equal(submit_one_and_wait(&f->ring, 1), -EINVAL);
	close(sock);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_probe_ring_supports_basic_ops,
						fixture_setup, fixture_teardown),
		cmocka_unit_test(test_probe_without_ring_supports_basic_ops),
		cmocka_unit_test_setup_teardown(test_probe_ops_are_numbered,
						fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_register_probe_raw,
						fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_register_probe_not_zeroed_is_einval,
						fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_register_probe_short_array,
						fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_recv_zc_without_queue_is_einval,
						fixture_setup, fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
