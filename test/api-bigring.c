/* SPDX-License-Identifier: MIT */
/*
 * Big entries: IORING_SETUP_SQE128 rings take 128-byte SQEs, so the SQE
 * array is twice as large and an SQE's index counts 128-byte slots;
 * IORING_SETUP_CQE32 rings post 32-byte CQEs whose big_cqe words are zero
 * unless the op fills them (NOP with IORING_NOP_CQE32 posts sqe->off and
 * sqe->addr there), in the ring and through CQ overflow alike.
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

/* 4 SQ entries, 8 CQ entries. */
static void init_ring(struct io_uring *ring, unsigned flags)
{
	struct io_uring_params p;

	memset(&p, 0, sizeof(p));
	p.flags = flags;
	assert_int_equal(io_uring_queue_init_params(4, ring, &p), 0);
	assert_int_equal(p.sq_entries, 4);
	assert_int_equal(p.cq_entries, 8);
}

static void queue_nop(struct io_uring *ring, __u64 ud, __u32 nop_flags,
		      __u64 extra1, __u64 extra2)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);

	io_uring_prep_nop(sqe);
	sqe->nop_flags = nop_flags;
	sqe->len = (__u32) ud;		/* the result, with INJECT_RESULT */
	sqe->off = extra1;
	sqe->addr = extra2;
	sqe->user_data = ud;
}

/* The next CQE, which must have user_data ud and result res; its
 * big_cqe words are returned in big when the ring has them. */
static void reap_expect(struct io_uring *ring, __u64 ud, int res,
			__u64 big[2])
{
	struct io_uring_cqe *cqe;

	assert_int_equal(io_uring_wait_cqe(ring, &cqe), 0);
	assert_true(cqe->user_data == ud);
	assert_int_equal(cqe->res, res);
	if (big) {
		big[0] = cqe->big_cqe[0];
		big[1] = cqe->big_cqe[1];
	}
	io_uring_cqe_seen(ring, cqe);
}

/* Pipe reads and NOPs through every slot of an SQE128 ring, three times
 * round: each SQE is found at its 128-byte slot. */
static void run_reads_and_nops(struct io_uring *ring)
{
	struct io_uring_sqe *sqe;
	char buf[4][8];
	int p[2];

	assert_int_equal(pipe(p), 0);
	for (unsigned round = 0; round < 3; round++) {
		for (unsigned i = 0; i < 4; i++) {
			__u64 ud = round * 100 + i + 1;

			if (i & 1) {
				queue_nop(ring, ud, 0, 0, 0);
				continue;
			}
			assert_int_equal(write(p[1], "abcdefgh", 8), 8);
			sqe = must_get_sqe(ring);
			io_uring_prep_read(sqe, p[0], buf[i], 8, 0);
			sqe->user_data = ud;
		}
		assert_int_equal(io_uring_submit(ring), 4);
		for (unsigned i = 0; i < 4; i++) {
			__u64 ud = round * 100 + i + 1;

			reap_expect(ring, ud, i & 1 ? 0 : 8, NULL);
			if (!(i & 1))
				assert_memory_equal(buf[i], "abcdefgh", 8);
		}
	}
	close(p[0]);
	close(p[1]);
}

static void test_sqe128_ring_runs_reads_and_nops(void **state)
{
	struct io_uring ring;

	(void) state;
	init_ring(&ring, IORING_SETUP_SQE128);
	run_reads_and_nops(&ring);
	io_uring_queue_exit(&ring);
}

/* NOP_CQE32 fills the big words; a later CQE in the same slot (the CQ
 * wrapped) that no op filled has them zero. */
static void run_big_cqes(struct io_uring *ring)
{
	__u64 big[2];

	for (unsigned round = 0; round < 2; round++) {
		for (unsigned i = 0; i < 4; i++)
			queue_nop(ring, i + 1, IORING_NOP_CQE32 |
				  IORING_NOP_INJECT_RESULT,
				  0x1111000000000000ULL + i, 0x2222 + i);
		assert_int_equal(io_uring_submit(ring), 4);
		for (unsigned i = 0; i < 4; i++) {
			reap_expect(ring, i + 1, (int) i + 1, big);
			assert_true(big[0] == 0x1111000000000000ULL + i);
			assert_true(big[1] == 0x2222 + i);
		}
		for (unsigned i = 0; i < 4; i++)
			queue_nop(ring, 10 + i, 0, 0x3333, 0x4444);
		assert_int_equal(io_uring_submit(ring), 4);
		for (unsigned i = 0; i < 4; i++) {
			reap_expect(ring, 10 + i, 0, big);
			assert_true(big[0] == 0 && big[1] == 0);
		}
	}
}

/* A ring of 16-byte CQEs has no room for the big words: there NOP_CQE32
 * is refused, and submission stops at it as at any failed SQE. */
static void test_cqe32_ring_big_cqe_filled_or_zero(void **state)
{
	struct io_uring ring;

	(void) state;
	init_ring(&ring, IORING_SETUP_CQE32);
	run_big_cqes(&ring);
	io_uring_queue_exit(&ring);

	init_ring(&ring, 0);
	queue_nop(&ring, 7, IORING_NOP_CQE32, 1, 2);
	assert_int_equal(io_uring_submit(&ring), 1);
	reap_expect(&ring, 7, -EINVAL, NULL);
	io_uring_queue_exit(&ring);
}

/* 24 CQEs into an 8-entry CQ: 16 wait in overflow and keep their big
 * words, and come out in order. */
static void test_cqe32_overflow_keeps_big_cqe(void **state)
{
	struct io_uring ring;
	__u64 big[2];

	(void) state;
	init_ring(&ring, IORING_SETUP_CQE32);
	for (unsigned b = 0; b < 6; b++) {
		for (unsigned i = 0; i < 4; i++) {
			unsigned n = b * 4 + i;

			queue_nop(&ring, n + 1, n & 1 ? 0 : IORING_NOP_CQE32,
				  0xaa00 + n, 0xbb00 + n);
		}
		assert_int_equal(io_uring_submit(&ring), 4);
	}
	assert_true(io_uring_cq_has_overflow(&ring));
	for (unsigned n = 0; n < 24; n++) {
		reap_expect(&ring, n + 1, 0, big);
		if (n & 1) {
			assert_true(big[0] == 0 && big[1] == 0);
		} else {
			assert_true(big[0] == 0xaa00 + n);
			assert_true(big[1] == 0xbb00 + n);
		}
	}
	assert_false(io_uring_cq_has_overflow(&ring));
	io_uring_queue_exit(&ring);
}

static void test_sqe128_and_cqe32_together(void **state)
{
	struct io_uring ring;

	(void) state;
	init_ring(&ring, IORING_SETUP_SQE128 | IORING_SETUP_CQE32);
	run_reads_and_nops(&ring);
	run_big_cqes(&ring);
	io_uring_queue_exit(&ring);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sqe128_ring_runs_reads_and_nops),
		cmocka_unit_test(test_cqe32_ring_big_cqe_filled_or_zero),
		cmocka_unit_test(test_cqe32_overflow_keeps_big_cqe),
		cmocka_unit_test(test_sqe128_and_cqe32_together),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif
