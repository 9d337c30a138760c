/* SPDX-License-Identifier: MIT */
/*
 * The CQEs of accepted requests are never dropped, even when memory runs
 * out: their overflow entries are set aside before the requests are
 * accepted. malloc is wrapped (-Wl,--wrap=malloc, see the Makefile) so
 * that it fails on demand inside the engine.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "helpers.h"

static bool malloc_fails;

void *__real_malloc(size_t size);
void *__wrap_malloc(size_t size);

void *__wrap_malloc(size_t size)
{
	if (__atomic_load_n(&malloc_fails, __ATOMIC_RELAXED))
		return NULL;
	return __real_malloc(size);
}

#define SQ_ENTRIES	32		/* the CQ holds 64 */

/* Submits up to SQ_ENTRIES NOPs numbered from *next; returns how many
 * were accepted. */
static unsigned submit_nops(struct io_uring *ring, unsigned *next)
{
	struct io_uring_sqe *sqe;
	int ret;

	while ((sqe = io_uring_get_sqe(ring)) != NULL) {
		io_uring_prep_nop(sqe);
		sqe->user_data = (*next)++;
	}
	ret = io_uring_submit(ring);
	assert_true(ret >= 0 || ret == -EAGAIN);
	return ret < 0 ? 0 : (unsigned) ret;
}

/*
 * With malloc failing, rounds of NOPs fill the CQ and then the overflow
 * list: each accepted NOP's CQE arrives, in order, and none is counted
 * as dropped; the engine accepts fewer once its set-aside entries are
 * used up.
 */
static void test_no_cqe_dropped_when_memory_runs_out(void **state)
{
	struct __kernel_timespec ts = { .tv_sec = 5 };
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	unsigned next = 0, accepted = 0, round, n, i;

	(void) state;
	assert_int_equal(io_uring_queue_init(SQ_ENTRIES, &ring, 0), 0);
	/* Warm up: the request cache exists. */
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_nop(sqe);
	sqe->user_data = 1000000;
	assert_int_equal(io_uring_submit_and_wait(&ring, 1), 1);
	assert_int_equal(io_uring_peek_cqe(&ring, &cqe), 0);
	io_uring_cqe_seen(&ring, cqe);

	__atomic_store_n(&malloc_fails, true, __ATOMIC_RELAXED);
	for (round = 0; round < 6; round++) {
		n = submit_nops(&ring, &next);
		accepted += n;
		if (n < SQ_ENTRIES)
			break;
	}
	__atomic_store_n(&malloc_fails, false, __ATOMIC_RELAXED);
	/* More than the CQ holds went in, and the engine stopped before
	 * it ran out of entries for them. */
	assert_true(accepted > 2 * SQ_ENTRIES);
	assert_true(round < 6);

	for (i = 0; i < accepted; i++) {
		assert_int_equal(io_uring_wait_cqe_timeout(&ring, &cqe, &ts), 0);
		assert_int_equal(cqe->user_data, i);
		assert_int_equal(cqe->res, 0);
		io_uring_cqe_seen(&ring, cqe);
	}
	assert_int_equal(*ring.cq.koverflow, 0);
	io_uring_queue_exit(&ring);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_cqe_dropped_when_memory_runs_out),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
