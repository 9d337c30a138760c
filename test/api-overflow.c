/* SPDX-License-Identifier: MIT */
/*
 * CQ overflow with IORING_FEAT_NODROP: when the CQ is full, completions wait
 * in an ordered overflow list; IORING_SQ_CQ_OVERFLOW is set in sq.kflags
 * (io_uring_cq_has_overflow()), cq.koverflow stays 0 (nothing dropped),
 * submission keeps working, and reaping -- io_uring_wait_cqe(),
 * io_uring_peek_batch_cqe(), or io_uring_get_events() -- flushes the list
 * into the CQ. Every completion arrives exactly once, in submission order.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/uio.h>
#include "helpers.h"

#define NR_NOPS	40

/* 4 SQ entries, 8 CQ entries. */
static int small_setup(void **state)
{
	struct fixture *f;
	struct io_uring_params p;

	if (fixture_setup_ring(state, 4, 0) < 0)
		return -1;
	f = *state;
	io_uring_queue_exit(&f->ring);
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_CQSIZE;
	p.cq_entries = 8;
	if (io_uring_queue_init_params(4, &f->ring, &p) < 0)
		return -1;
	return 0;
}

/* Submit n NOPs with user_data first..first+n-1, 4 per submit, no reaping. */
static void submit_nops(struct io_uring *ring, unsigned first, unsigned n)
{
	unsigned done = 0;

	while (done < n) {
		unsigned batch = 0;

		while (batch < 4 && done + batch < n) {
			struct io_uring_sqe *sqe = must_get_sqe(ring);

			io_uring_prep_nop(sqe);
			sqe->user_data = first + done + batch;
			batch++;
		}
		/* A full CQ and a pending overflow never refuse submission. */
		assert_int_equal(io_uring_submit(ring), batch);
		done += batch;
	}
}

static void fill_into_overflow(struct fixture *f)
{
	assert_true(f->ring.features & IORING_FEAT_NODROP);
	assert_int_equal(f->ring.sq.ring_entries, 4);
	assert_int_equal(f->ring.cq.ring_entries, 8);
	submit_nops(&f->ring, 0, NR_NOPS);
	assert_int_equal(io_uring_cq_ready(&f->ring), 8);
	assert_true(io_uring_cq_has_overflow(&f->ring));
	assert_true(*f->ring.sq.kflags & IORING_SQ_CQ_OVERFLOW);
	assert_int_equal(*f->ring.cq.koverflow, 0);
}

static void check_drained(struct fixture *f)
{
	assert_true(cq_is_empty(&f->ring));
	assert_false(io_uring_cq_has_overflow(&f->ring));
	assert_int_equal(*f->ring.cq.koverflow, 0);
}

static void test_overflow_sets_flag_without_dropping(void **state)
{
	struct fixture *f = *state;

	assert_false(io_uring_cq_has_overflow(&f->ring));
	submit_nops(&f->ring, 0, 8);
	/* Exactly full is not overflow. */
	assert_int_equal(io_uring_cq_ready(&f->ring), 8);
	assert_false(io_uring_cq_has_overflow(&f->ring));
	submit_nops(&f->ring, 8, 1);
	assert_true(io_uring_cq_has_overflow(&f->ring));
	assert_int_equal(io_uring_cq_ready(&f->ring), 8);
	assert_int_equal(*f->ring.cq.koverflow, 0);
}

static void test_overflow_reaped_in_order_with_wait_cqe(void **state)
{
	struct fixture *f = *state;

	fill_into_overflow(f);
	for (unsigned i = 0; i < NR_NOPS; i++) {
		struct test_cqe c;

		assert_int_equal(reap_one(&f->ring, &c), 0);
		assert_int_equal(c.user_data, i);
		assert_int_equal(c.res, 0);
	}
	check_drained(f);
}

static void test_overflow_reaped_in_order_with_peek_batch(void **state)
{
	struct fixture *f = *state;
	struct io_uring_cqe *cqes[16];
	unsigned next = 0, rounds = 0;

	fill_into_overflow(f);
	while (next < NR_NOPS && rounds++ < 100) {
		unsigned n = io_uring_peek_batch_cqe(&f->ring, cqes, 16);

		assert_true(n > 0);
		assert_true(n <= 8);
		for (unsigned i = 0; i < n; i++) {
			assert_int_equal(cqes[i]->user_data, next);
			assert_int_equal(cqes[i]->res, 0);
			next++;
		}
		io_uring_cq_advance(&f->ring, n);
	}
	assert_int_equal(next, NR_NOPS);
	assert_int_equal(io_uring_peek_batch_cqe(&f->ring, cqes, 16), 0);
	check_drained(f);
}

static void test_overflow_flushed_by_get_events(void **state)
{
	struct fixture *f = *state;
	unsigned next = 0;

	fill_into_overflow(f);
	while (next < NR_NOPS) {
		struct io_uring_cqe *cqe;
		unsigned head, n = 0;

		io_uring_for_each_cqe(&f->ring, head, cqe) {
			assert_int_equal(cqe->user_data, next);
			next++;
			n++;
		}
		/* Only what the CQ holds is visible without entering. */
		assert_int_equal(n, 8);
		io_uring_cq_advance(&f->ring, n);
		assert_int_equal(io_uring_cq_ready(&f->ring), 0);
		if (next == NR_NOPS)
			break;
		assert_true(io_uring_cq_has_overflow(&f->ring));
		assert_int_equal(io_uring_get_events(&f->ring), 0);
		/* The flush fills the CQ from the overflow list. */
		assert_int_equal(io_uring_cq_ready(&f->ring), 8);
	}
	assert_int_equal(next, NR_NOPS);
	check_drained(f);
}

/* New completions queue behind older overflowed ones, never ahead. */
static void test_new_completion_waits_behind_overflow(void **state)
{
	struct fixture *f = *state;

	fill_into_overflow(f);
	io_uring_cq_advance(&f->ring, 3);
	submit_nops(&f->ring, 100, 1);
	for (unsigned i = 3; i < NR_NOPS; i++) {
		struct test_cqe c;

		assert_int_equal(reap_one(&f->ring, &c), 0);
		assert_int_equal(c.user_data, i);
	}
	{
		struct test_cqe c;

		assert_int_equal(reap_one(&f->ring, &c), 0);
		assert_int_equal(c.user_data, 100);
	}
	check_drained(f);
}

/* Overflowed read completions still carry their own results and data. */
static void test_overflowed_reads_keep_results(void **state)
{
	struct fixture *f = *state;
	enum { N = 24, CHUNK = 64 };
	int fd = make_pattern_file(f->dir, "f", N * CHUNK - 10, 8, O_RDONLY);
	static char bufs[N][CHUNK];
	unsigned char seen[N] = { 0 };
	unsigned done = 0;

	assert_true(fd >= 0);
	while (done < N) {
		for (unsigned b = 0; b < 4; b++, done++) {
			struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

			io_uring_prep_read(sqe, fd, bufs[done], CHUNK,
					   (__u64) done * CHUNK);
			sqe->user_data = done;
		}
		assert_int_equal(io_uring_submit(&f->ring), 4);
	}
	assert_true(io_uring_cq_has_overflow(&f->ring));
	/* Reads may finish out of order; each must arrive exactly once. */
	for (unsigned i = 0; i < N; i++) {
		struct test_cqe c;
		unsigned id;

		assert_int_equal(reap_one(&f->ring, &c), 0);
		assert_true(c.user_data < N);
		id = (unsigned) c.user_data;
		assert_int_equal(seen[id], 0);
		seen[id] = 1;
		assert_int_equal(c.res, id == N - 1 ? CHUNK - 10 : CHUNK);
		assert_true(check_pattern(bufs[id], (size_t) c.res,
					  (unsigned long long) id * CHUNK, 8));
	}
	check_drained(f);
	close(fd);
}

static void test_ring_usable_after_overflow_drained(void **state)
{
	struct fixture *f = *state;

	fill_into_overflow(f);
	for (unsigned i = 0; i < NR_NOPS; i++) {
		struct test_cqe c;

		assert_int_equal(reap_one(&f->ring, &c), 0);
	}
	check_drained(f);
	submit_nops(&f->ring, 500, 4);
	for (unsigned i = 0; i < 4; i++) {
		struct test_cqe c;

		assert_int_equal(reap_one(&f->ring, &c), 0);
		assert_int_equal(c.user_data, 500 + i);
	}
	check_drained(f);
}

/*
 * A read that completes later, while the CQ is full, is kept in the
 * overflow list too and arrives after the completions before it.
 */
static void test_late_completion_into_full_cq_is_kept(void **state)
{
	struct fixture *f = *state;
	int p[2];
	char buf[16] = { 0 };
	struct io_uring_sqe *sqe;
	struct test_cqe c;

	assert_int_equal(pipe(p), 0);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_read(sqe, p[0], buf, sizeof(buf), 0);
	sqe->user_data = 1000;
	assert_int_equal(io_uring_submit(&f->ring), 1);
	submit_nops(&f->ring, 0, 8);
	assert_int_equal(io_uring_cq_ready(&f->ring), 8);
	assert_false(io_uring_cq_has_overflow(&f->ring));

	assert_int_equal(write(p[1], "late", 4), 4);
	/* Bounded poll: the completion is posted asynchronously. */
	for (int i = 0; i < 500 && !io_uring_cq_has_overflow(&f->ring); i++)
		sleep_ms(10);
	assert_true(io_uring_cq_has_overflow(&f->ring));
	assert_int_equal(io_uring_cq_ready(&f->ring), 8);

	for (unsigned i = 0; i < 8; i++) {
		assert_int_equal(reap_one(&f->ring, &c), 0);
		assert_int_equal(c.user_data, i);
	}
	assert_int_equal(reap_one(&f->ring, &c), 0);
	assert_int_equal(c.user_data, 1000);
	assert_int_equal(c.res, 4);
	assert_memory_equal(buf, "late", 4);
	check_drained(f);
	close(p[0]);
	close(p[1]);
}

/* A backlog many times the CQ size is kept whole and in order. */
static void test_large_overflow_backlog_kept_in_order(void **state)
{
	struct fixture *f = *state;
	enum { BIG = 4096 };

	submit_nops(&f->ring, 0, BIG);
	assert_true(io_uring_cq_has_overflow(&f->ring));
	assert_int_equal(*f->ring.cq.koverflow, 0);
	for (unsigned i = 0; i < BIG; i++) {
		struct test_cqe c;

		assert_int_equal(reap_one(&f->ring, &c), 0);
		assert_int_equal(c.user_data, i);
	}
	check_drained(f);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, small_setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_overflow_sets_flag_without_dropping),
		T(test_overflow_reaped_in_order_with_wait_cqe),
		T(test_overflow_reaped_in_order_with_peek_batch),
		T(test_overflow_flushed_by_get_events),
		T(test_new_completion_waits_behind_overflow),
		T(test_overflowed_reads_keep_results),
		T(test_ring_usable_after_overflow_drained),
		T(test_late_completion_into_full_cq_is_kept),
		T(test_large_overflow_backlog_kept_in_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
