/* SPDX-License-Identifier: MIT */
/*
 * CQ overflow with IORING_FEAT_NODROP: when the CQ is full, completions wait
 * in an ordered overflow list; IORING_SQ_CQ_OVERFLOW is set in sq.kflags
 * (io_uring_cq_has_overflow()), cq.koverflow stays 0 (nothing dropped),
 * submission keeps working, and reaping -- io_uring_wait_cqe(),
 * io_uring_peek_batch_cqe(), or io_uring_get_events() -- flushes the list
 * into the CQ. Every completion arrives exactly once, in submission order.
 * A multishot request, though, ends when its next CQE finds the CQ full:
 * that CQE, without IORING_CQE_F_MORE, is its last (it overflows).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include "helpers.h"

#ifndef IORING_TIMEOUT_MULTISHOT
#define IORING_TIMEOUT_MULTISHOT	(1U << 6)
#endif

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

/* Waits (bounded) until a CQE waits in overflow, without reaping. */
static void wait_for_overflow(struct io_uring *ring)
{
	int i;

	for (i = 0; i < 500 && !io_uring_cq_has_overflow(ring); i++)
		sleep_ms(10);
	assert_true(io_uring_cq_has_overflow(ring));
}

/* The CQ's 8 CQEs with IORING_CQE_F_MORE, then the last one without. */
static void check_stream_cut(struct fixture *f, __u64 ud)
{
	struct test_cqe c;
	int i;

	for (i = 0; i < 9; i++) {
		assert_int_equal(reap_in_engine(&f->ring, &c), 0);
		assert_int_equal(c.user_data, ud);
		assert_int_equal(!!(c.flags & IORING_CQE_F_MORE), i < 8);
	}
	sleep_ms(20);
	check_drained(f);
}

static void test_multishot_recv_ends_at_full_cq(void **state)
{
	struct fixture *f = *state;
	static char bufs[64][8];
	struct io_uring_buf_ring *br = test_buf_ring(&f->ring, 64, 1);
	struct io_uring_sqe *sqe;
	char data[100];
	int sv[2], i;

	for (i = 0; i < 64; i++)
		io_uring_buf_ring_add(br, bufs[i], 8, (unsigned short) i,
				      io_uring_buf_ring_mask(64), i);
	io_uring_buf_ring_advance(br, 64);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	memset(data, 'r', sizeof(data));
	assert_int_equal(write(sv[0], data, sizeof(data)), (ssize_t) sizeof(data));
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_recv_multishot(sqe, sv[1], NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = 1;
	sqe->user_data = 7;
	assert_int_equal(io_uring_submit(&f->ring), 1);
	wait_for_overflow(&f->ring);
	check_stream_cut(f, 7);
	io_uring_unregister_buf_ring(&f->ring, 1);
	munmap(br, 4096);
	close(sv[0]);
	close(sv[1]);
}

static void test_multishot_accept_ends_at_full_cq(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int lfd, conns[10], i;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(lfd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *) &sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 16), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *) &sa, &len), 0);
	for (i = 0; i < 10; i++) {
		conns[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_int_equal(connect(conns[i], (struct sockaddr *) &sa,
					 sizeof(sa)), 0);
	}
	io_uring_prep_multishot_accept(must_get_sqe(&f->ring), lfd, NULL, NULL,
				       SOCK_CLOEXEC);
	assert_int_equal(io_uring_submit(&f->ring), 1);
	wait_for_overflow(&f->ring);
	check_stream_cut(f, 0);
	for (i = 0; i < 10; i++)
		close(conns[i]);
	close(lfd);
}

static void test_multishot_poll_ends_at_full_cq(void **state)
{
	struct fixture *f = *state;
	int p[2], i;

	assert_int_equal(pipe(p), 0);
	io_uring_prep_poll_multishot(must_get_sqe(&f->ring), p[0], POLLIN);
	assert_int_equal(io_uring_submit(&f->ring), 1);
	/* One wakeup per write, spaced so that none merge. */
	for (i = 0; i < 12; i++) {
		assert_int_equal(write(p[1], "x", 1), 1);
		sleep_ms(10);
	}
	wait_for_overflow(&f->ring);
	check_stream_cut(f, 0);
	close(p[0]);
	close(p[1]);
}

static void test_multishot_timeout_ends_at_full_cq(void **state)
{
	struct fixture *f = *state;
	struct __kernel_timespec ts = { .tv_sec = 0, .tv_nsec = 1000000 };
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	io_uring_prep_timeout(sqe, &ts, 0, IORING_TIMEOUT_MULTISHOT);
	assert_int_equal(io_uring_submit(&f->ring), 1);
	wait_for_overflow(&f->ring);
	check_stream_cut(f, 0);
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
		T(test_multishot_recv_ends_at_full_cq),
		T(test_multishot_accept_ends_at_full_cq),
		T(test_multishot_poll_ends_at_full_cq),
		T(test_multishot_timeout_ends_at_full_cq),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
