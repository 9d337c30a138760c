/* SPDX-License-Identifier: MIT */
/*
 * TIMEOUT, TIMEOUT_REMOVE and its update form, LINK_TIMEOUT: every result
 * and flag as the kernel gives it. Expiries are short; no assertion depends
 * on how long anything took.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include "helpers.h"

/* Newer than liburing 2.3's headers; the kernel knows them. */
#ifndef IORING_TIMEOUT_MULTISHOT
#define IORING_TIMEOUT_MULTISHOT	(1U << 6)
#endif
#ifndef IORING_CQE_F_MORE
#define IORING_CQE_F_MORE		(1U << 1)
#endif

static struct __kernel_timespec ms(long n)
{
	struct __kernel_timespec ts = { .tv_sec = n / 1000,
					.tv_nsec = (n % 1000) * 1000000L };
	return ts;
}

/* Reaps n CQEs into out[], indexed by user_data (1..n). */
static void reap_by_ud(struct io_uring *ring, struct test_cqe *out, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct test_cqe c;

		assert_int_equal(reap_one(ring, &c), 0);
		assert_true(c.user_data >= 1 && c.user_data <= n);
		out[c.user_data - 1] = c;
	}
}

static struct io_uring_sqe *timeout_sqe(struct io_uring *ring,
					struct __kernel_timespec *ts,
					unsigned count, unsigned flags, __u64 ud)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);

	io_uring_prep_timeout(sqe, ts, count, flags);
	sqe->user_data = ud;
	return sqe;
}

static void test_relative_timeout_expires_with_etime(void **state)
{
	struct fixture *f = *state;
	struct __kernel_timespec ts = ms(5);

	timeout_sqe(&f->ring, &ts, 0, 0, 7);
	assert_int_equal(submit_one_and_wait(&f->ring, 7), -ETIME);
}

static void test_each_clock_expires(void **state)
{
	struct fixture *f = *state;
	unsigned clocks[] = { 0, IORING_TIMEOUT_BOOTTIME, IORING_TIMEOUT_REALTIME };

	for (unsigned i = 0; i < 3; i++) {
		struct __kernel_timespec ts = ms(2);

		timeout_sqe(&f->ring, &ts, 0, clocks[i], i + 1);
		assert_int_equal(submit_one_and_wait(&f->ring, i + 1), -ETIME);
	}
}

static void test_absolute_timeouts_on_each_clock(void **state)
{
	struct fixture *f = *state;
	clockid_t ids[] = { CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_REALTIME };
	unsigned flags[] = { 0, IORING_TIMEOUT_BOOTTIME, IORING_TIMEOUT_REALTIME };

	for (unsigned i = 0; i < 3; i++) {
		struct __kernel_timespec ts;
		struct timespec now;

		clock_gettime(ids[i], &now);
		ts.tv_sec = now.tv_sec;
		ts.tv_nsec = now.tv_nsec + 2000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		timeout_sqe(&f->ring, &ts, 0, IORING_TIMEOUT_ABS | flags[i], 9);
		assert_int_equal(submit_one_and_wait(&f->ring, 9), -ETIME);
	}
}

static void nop_sqe(struct io_uring *ring, __u64 ud)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);

	io_uring_prep_nop(sqe);
	sqe->user_data = ud;
}

/* A count timeout completes with 0 once that many other CQEs were posted. */
static void test_count_timeout_completes_with_zero(void **state)
{
	struct fixture *f = *state;
	struct __kernel_timespec ts = ms(10000);
	struct test_cqe c[3];

	timeout_sqe(&f->ring, &ts, 2, 0, 3);
	assert_int_equal(io_uring_submit(&f->ring), 1);
	nop_sqe(&f->ring, 1);
	nop_sqe(&f->ring, 2);
	assert_int_equal(io_uring_submit(&f->ring), 2);
	reap_by_ud(&f->ring, c, 3);
	assert_int_equal(c[0].res, 0);
	assert_int_equal(c[1].res, 0);
	assert_int_equal(c[2].res, 0);
}

/* A count of 2 is not reached by one completion: it expires instead. */
static void test_count_not_reached_expires(void **state)
{
	struct fixture *f = *state;
	struct __kernel_timespec ts = ms(5);
	struct test_cqe c[2];

	timeout_sqe(&f->ring, &ts, 2, 0, 2);
	nop_sqe(&f->ring, 1);
	assert_int_equal(io_uring_submit(&f->ring), 2);
	reap_by_ud(&f->ring, c, 2);
	assert_int_equal(c[0].res, 0);
	assert_int_equal(c[1].res, -ETIME);
}

static void test_multishot_timeout_repeats(void **state)
{
	struct fixture *f = *state;
	struct __kernel_timespec ts = ms(2);
	struct test_cqe c;

	timeout_sqe(&f->ring, &ts, 3, IORING_TIMEOUT_MULTISHOT, 5);
	assert_int_equal(io_uring_submit(&f->ring), 1);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(reap_one(&f->ring, &c), 0);
		assert_int_equal(c.user_data, 5);
		assert_int_equal(c.res, -ETIME);
		if (i < 2)
			assert_true(c.flags & IORING_CQE_F_MORE);
		else
			assert_false(c.flags & IORING_CQE_F_MORE);
	}
}

/* An endless multishot timeout ends when removed: -ECANCELED, no F_MORE. */
static void test_remove_multishot_timeout(void **state)
{
	struct fixture *f = *state;
	struct __kernel_timespec ts = ms(2);
	struct io_uring_sqe *sqe;
	struct test_cqe c;
	int seen_cancel = 0, seen_remove = 0;

	timeout_sqe(&f->ring, &ts, 0, IORING_TIMEOUT_MULTISHOT, 5);
	assert_int_equal(io_uring_submit(&f->ring), 1);
	assert_int_equal(reap_one(&f->ring, &c), 0);
	assert_int_equal(c.res, -ETIME);
	assert_true(c.flags & IORING_CQE_F_MORE);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_timeout_remove(sqe, 5, 0);
	sqe->user_data = 6;
	assert_int_equal(io_uring_submit(&f->ring), 1);
	while (!seen_cancel || !seen_remove) {
		assert_int_equal(reap_one(&f->ring, &c), 0);
		if (c.user_data == 6) {
			assert_int_equal(c.res, 0);
			seen_remove = 1;
		} else {
			assert_int_equal(c.user_data, 5);
			if (c.res == -ETIME) {
				assert_true(c.flags & IORING_CQE_F_MORE);
				continue;
			}
			assert_int_equal(c.res, -ECANCELED);
			assert_false(c.flags & IORING_CQE_F_MORE);
			seen_cancel = 1;
		}
	}
	assert_true(cq_is_empty(&f->ring));
}

static void test_remove_pending_and_missing_timeout(void **state)
{
	struct fixture *f = *state;
	struct __kernel_timespec ts = ms(10000);
	struct io_uring_sqe *sqe;
	struct test_cqe c[2];

	timeout_sqe(&f->ring, &ts, 0, 0, 1);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_timeout_remove(sqe, 1, 0);
	sqe->user_data = 2;
	assert_int_equal(io_uring_submit(&f->ring), 2);
	reap_by_ud(&f->ring, c, 2);
	assert_int_equal(c[0].res, -ECANCELED);
	assert_int_equal(c[1].res, 0);

	sqe = must_get_sqe(&f->ring);
	io_uring_prep_timeout_remove(sqe, 1, 0);
	sqe->user_data = 3;
	assert_int_equal(submit_one_and_wait(&f->ring, 3), -ENOENT);
}

static void test_update_shortens_timeout(void **state)
{
	struct fixture *f = *state;
	struct __kernel_timespec ts = ms(10000), short_ts = ms(2);
	struct io_uring_sqe *sqe;
	struct test_cqe c[2];

	timeout_sqe(&f->ring, &ts, 0, 0, 1);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_timeout_update(sqe, &short_ts, 1, 0);
	sqe->user_data = 2;
	assert_int_equal(io_uring_submit(&f->ring), 2);
	reap_by_ud(&f->ring, c, 2);
	assert_int_equal(c[0].res, -ETIME);
	assert_int_equal(c[1].res, 0);

	sqe = must_get_sqe(&f->ring);
	io_uring_prep_timeout_update(sqe, &short_ts, 1, 0);
	sqe->user_data = 3;
	assert_int_equal(submit_one_and_wait(&f->ring, 3), -ENOENT);
}

static void test_bad_timeouts_are_refused(void **state)
{
	struct fixture *f = *state;
	struct __kernel_timespec ts = ms(1), neg = { .tv_sec = -1 };
	struct io_uring_sqe *sqe;

	sqe = timeout_sqe(&f->ring, &ts, 0, 0, 1);
	sqe->len = 2;
	assert_int_equal(submit_one_and_wait(&f->ring, 1), -EINVAL);
	timeout_sqe(&f->ring, &ts, 0,
		    IORING_TIMEOUT_BOOTTIME | IORING_TIMEOUT_REALTIME, 2);
	assert_int_equal(submit_one_and_wait(&f->ring, 2), -EINVAL);
	timeout_sqe(&f->ring, &ts, 0,
		    IORING_TIMEOUT_MULTISHOT | IORING_TIMEOUT_ABS, 3);
	assert_int_equal(submit_one_and_wait(&f->ring, 3), -EINVAL);
	timeout_sqe(&f->ring, &neg, 0, 0, 4);
	assert_int_equal(submit_one_and_wait(&f->ring, 4), -EINVAL);
	timeout_sqe(&f->ring, &ts, 0, 1U << 12, 5);
	assert_int_equal(submit_one_and_wait(&f->ring, 5), -EINVAL);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_timeout_remove(sqe, 1, IORING_TIMEOUT_ABS);
	sqe->user_data = 6;
	assert_int_equal(submit_one_and_wait(&f->ring, 6), -EINVAL);
}

/* Expiry fails a chain; with ETIME_SUCCESS the chain goes on. */
static void test_etime_success_keeps_the_link(void **state)
{
	struct fixture *f = *state;
	struct __kernel_timespec ts = ms(2);
	struct test_cqe c[2];

	for (unsigned pass = 0; pass < 2; pass++) {
		struct io_uring_sqe *sqe;

		sqe = timeout_sqe(&f->ring, &ts, 0,
				  pass ? IORING_TIMEOUT_ETIME_SUCCESS : 0, 1);
		sqe->flags |= IOSQE_IO_LINK;
		sqe = must_get_sqe(&f->ring);
		io_uring_prep_nop(sqe);
		sqe->user_data = 2;
		assert_int_equal(io_uring_submit(&f->ring), 2);
		reap_by_ud(&f->ring, c, 2);
		assert_int_equal(c[0].res, -ETIME);
		assert_int_equal(c[1].res, pass ? 0 : -ECANCELED);
	}
}

/* Expiries reach the application even while the CQ ring is full. */
static void test_timeout_fires_during_overflow(void **state)
{
	struct io_uring ring;
	struct __kernel_timespec ts = ms(1);
	unsigned cq_entries;
	struct test_cqe c;

	(void) state;
	assert_int_equal(io_uring_queue_init(4, &ring, 0), 0);
	cq_entries = ring.cq.ring_entries;
	for (unsigned i = 0; i < cq_entries; i++) {
		struct io_uring_sqe *sqe = must_get_sqe(&ring);

		io_uring_prep_nop(sqe);
		sqe->user_data = 100 + i;
		assert_int_equal(io_uring_submit(&ring), 1);
	}
	timeout_sqe(&ring, &ts, 0, 0, 1);
	assert_int_equal(io_uring_submit(&ring), 1);
	for (int i = 0; i < 2000 && !io_uring_cq_has_overflow(&ring); i++)
		sleep_ms(1);
	assert_true(io_uring_cq_has_overflow(&ring));
	for (unsigned i = 0; i < cq_entries; i++) {
		assert_int_equal(reap_one(&ring, &c), 0);
		assert_int_equal(c.user_data, 100 + i);
	}
	assert_int_equal(reap_one(&ring, &c), 0);
	assert_int_equal(c.user_data, 1);
	assert_int_equal(c.res, -ETIME);
	io_uring_queue_exit(&ring);
}

/* Timeouts armed out of order, some removed, expire in deadline order. */
static void test_timeouts_expire_in_deadline_order(void **state)
{
	struct io_uring ring;
	struct __kernel_timespec ts[16];
	unsigned expected = 1, seen = 0;

	(void) state;
	assert_int_equal(io_uring_queue_init(32, &ring, 0), 0);
	for (unsigned i = 0; i < 16; i++) {
		unsigned d = (i * 7) % 16 + 1;	/* 1..16, shuffled */

		ts[i] = ms(2 * (long) d);
		timeout_sqe(&ring, &ts[i], 0, 0, d);
	}
	for (unsigned d = 3; d <= 12; d += 3) {
		struct io_uring_sqe *sqe = must_get_sqe(&ring);

		io_uring_prep_timeout_remove(sqe, d, 0);
		sqe->user_data = 100 + d;
	}
	assert_int_equal(io_uring_submit(&ring), 20);
	while (seen < 20) {
		struct test_cqe c;

		assert_int_equal(reap_one(&ring, &c), 0);
		seen++;
		if (c.user_data >= 100 || c.res == -ECANCELED) {
			assert_true(c.user_data >= 100 ? c.res == 0 :
				    c.user_data % 3 == 0);
			continue;
		}
		assert_int_equal(c.res, -ETIME);
		while (expected % 3 == 0 && expected <= 12)
			expected++;
		assert_int_equal(c.user_data, expected);
		expected++;
	}
	io_uring_queue_exit(&ring);
}

/* LINK_TIMEOUT */

static void test_link_timeout_cancels_a_blocked_read(void **state)
{
	struct fixture *f = *state;
	struct __kernel_timespec ts = ms(5);
	struct io_uring_sqe *sqe;
	struct test_cqe c[2];
	char buf[8];
	int p[2];

	assert_int_equal(pipe(p), 0);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_read(sqe, p[0], buf, sizeof(buf), 0);
	sqe->flags |= IOSQE_IO_LINK;
	sqe->user_data = 1;
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_link_timeout(sqe, &ts, 0);
	sqe->user_data = 2;
	assert_int_equal(io_uring_submit(&f->ring), 2);
	reap_by_ud(&f->ring, c, 2);
	assert_int_equal(c[0].res, -ECANCELED);
	assert_int_equal(c[1].res, -ETIME);
	close(p[0]);
	close(p[1]);
}

static void test_request_completing_first_cancels_link_timeout(void **state)
{
	struct fixture *f = *state;
	struct __kernel_timespec ts = ms(10000);
	struct io_uring_sqe *sqe;
	struct test_cqe c[3];

	sqe = must_get_sqe(&f->ring);
	io_uring_prep_nop(sqe);
	sqe->flags |= IOSQE_IO_LINK;
	sqe->user_data = 1;
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_link_timeout(sqe, &ts, 0);
	sqe->flags |= IOSQE_IO_LINK;
	sqe->user_data = 2;
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_nop(sqe);
	sqe->user_data = 3;
	assert_int_equal(io_uring_submit(&f->ring), 3);
	reap_by_ud(&f->ring, c, 3);
	assert_int_equal(c[0].res, 0);
	assert_int_equal(c[1].res, -ECANCELED);
	assert_int_equal(c[2].res, 0);
}

/* A pipe read that completes later, before its timeout, still disarms it. */
static void test_blocked_read_completing_first_cancels_link_timeout(void **state)
{
	struct fixture *f = *state;
	struct __kernel_timespec ts = ms(10000);
	struct io_uring_sqe *sqe;
	struct test_cqe c[2];
	char buf[8];
	int p[2];

	assert_int_equal(pipe(p), 0);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_read(sqe, p[0], buf, sizeof(buf), 0);
	sqe->flags |= IOSQE_IO_LINK;
	sqe->user_data = 1;
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_link_timeout(sqe, &ts, 0);
	sqe->user_data = 2;
	assert_int_equal(io_uring_submit(&f->ring), 2);
	assert_int_equal(write(p[1], "hi", 2), 2);
	reap_by_ud(&f->ring, c, 2);
	assert_int_equal(c[0].res, 2);
	assert_int_equal(c[1].res, -ECANCELED);
	close(p[0]);
	close(p[1]);
}

static void test_link_timeout_update(void **state)
{
	struct fixture *f = *state;
	struct __kernel_timespec ts = ms(10000), short_ts = ms(2);
	struct io_uring_sqe *sqe;
	struct test_cqe c[3];
	char buf[8];
	int p[2];

	assert_int_equal(pipe(p), 0);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_read(sqe, p[0], buf, sizeof(buf), 0);
	sqe->flags |= IOSQE_IO_LINK;
	sqe->user_data = 1;
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_link_timeout(sqe, &ts, 0);
	sqe->user_data = 2;
	assert_int_equal(io_uring_submit(&f->ring), 2);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_timeout_update(sqe, &short_ts, 2,
				     IORING_LINK_TIMEOUT_UPDATE);
	sqe->user_data = 3;
	assert_int_equal(io_uring_submit(&f->ring), 1);
	reap_by_ud(&f->ring, c, 3);
	assert_int_equal(c[0].res, -ECANCELED);
	assert_int_equal(c[1].res, -ETIME);
	assert_int_equal(c[2].res, 0);
	close(p[0]);
	close(p[1]);
}

static void test_link_timeout_without_a_request_is_refused(void **state)
{
	struct fixture *f = *state;
	struct __kernel_timespec ts = ms(1);
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	io_uring_prep_link_timeout(sqe, &ts, 0);
	sqe->user_data = 1;
	assert_int_equal(submit_one_and_wait(&f->ring, 1), -EINVAL);
}

#define IDLE_RINGS	1000

/* Room for the rings' descriptors (ours take a few each), or false. */
static bool room_for_rings(unsigned n)
{
	rlim_t want = 8 * (rlim_t) n + 64;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return false;
	if (rl.rlim_cur >= want)
		return true;
	if (rl.rlim_max < want)
		return false;
	rl.rlim_cur = want;
	return setrlimit(RLIMIT_NOFILE, &rl) == 0;
}

/* Many idle rings, each with a timeout pending: the deadlines share one
 * timer, not a thread per ring (the kernel: none at all). */
static void test_idle_rings_share_one_timer_thread(void **state)
{
	static struct io_uring rings[IDLE_RINGS];
	struct __kernel_timespec ts = ms(60000);
	int before, after;

	(void) state;
	if (!room_for_rings(IDLE_RINGS))
		skip();
	for (unsigned i = 0; i < IDLE_RINGS; i++)
		assert_int_equal(io_uring_queue_init(2, &rings[i], 0), 0);
	before = count_threads();
	for (unsigned i = 0; i < IDLE_RINGS; i++) {
		struct io_uring_sqe *sqe = must_get_sqe(&rings[i]);

		io_uring_prep_timeout(sqe, &ts, 0, 0);
		assert_int_equal(io_uring_submit(&rings[i]), 1);
	}
	after = count_threads();
	for (unsigned i = 0; i < IDLE_RINGS; i++)
		io_uring_queue_exit(&rings[i]);
	assert_in_range(after - before, 0, 1);
}

/* A parked receive as well: the readiness engine's thread is shared too. */
static void test_idle_rings_with_parked_recv_share_threads(void **state)
{
	static struct io_uring rings[IDLE_RINGS];
	static int socks[IDLE_RINGS][2];
	struct __kernel_timespec ts = ms(60000);
	static char buf[IDLE_RINGS][16];
	int before, after;

	(void) state;
	if (!room_for_rings(IDLE_RINGS))
		skip();
	for (unsigned i = 0; i < IDLE_RINGS; i++) {
		assert_int_equal(io_uring_queue_init(4, &rings[i], 0), 0);
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, socks[i]), 0);
	}
	before = count_threads();
	for (unsigned i = 0; i < IDLE_RINGS; i++) {
		struct io_uring_sqe *sqe = must_get_sqe(&rings[i]);

		io_uring_prep_timeout(sqe, &ts, 0, 0);
		sqe = must_get_sqe(&rings[i]);
		io_uring_prep_recv(sqe, socks[i][0], buf[i], sizeof(buf[i]), 0);
		assert_int_equal(io_uring_submit(&rings[i]), 2);
	}
	after = count_threads();
	for (unsigned i = 0; i < IDLE_RINGS; i++) {
		io_uring_queue_exit(&rings[i]);
		close(socks[i][0]);
		close(socks[i][1]);
	}
	assert_in_range(after - before, 0, 4);
}

#define WORKED_RINGS	64

/* Rings that each ran work on a worker, one after the other, share the
 * threads that did it: a ring keeps none once its work is done. */
static void test_rings_share_workers(void **state)
{
	static struct io_uring rings[WORKED_RINGS];
	int before, after;

	(void) state;
	for (unsigned i = 0; i < WORKED_RINGS; i++)
		assert_int_equal(io_uring_queue_init(2, &rings[i], 0), 0);
	before = count_threads();
	for (unsigned i = 0; i < WORKED_RINGS; i++) {
		struct io_uring_sqe *sqe = must_get_sqe(&rings[i]);
		struct test_cqe c;

		io_uring_prep_nop(sqe);
		sqe->flags |= IOSQE_ASYNC;
		assert_int_equal(io_uring_submit(&rings[i]), 1);
		assert_int_equal(reap_in_engine(&rings[i], &c), 0);
		assert_int_equal(c.res, 0);
	}
	after = count_threads();
	for (unsigned i = 0; i < WORKED_RINGS; i++)
		io_uring_queue_exit(&rings[i]);
	assert_in_range(after - before, 0, WORKED_RINGS / 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
		T(test_relative_timeout_expires_with_etime),
		T(test_each_clock_expires),
		T(test_absolute_timeouts_on_each_clock),
		T(test_count_timeout_completes_with_zero),
		T(test_count_not_reached_expires),
		T(test_multishot_timeout_repeats),
		T(test_remove_multishot_timeout),
		T(test_remove_pending_and_missing_timeout),
		T(test_update_shortens_timeout),
		T(test_bad_timeouts_are_refused),
		T(test_etime_success_keeps_the_link),
		cmocka_unit_test(test_timeout_fires_during_overflow),
		cmocka_unit_test(test_timeouts_expire_in_deadline_order),
		T(test_link_timeout_cancels_a_blocked_read),
		T(test_request_completing_first_cancels_link_timeout),
		T(test_blocked_read_completing_first_cancels_link_timeout),
		T(test_link_timeout_update),
		T(test_link_timeout_without_a_request_is_refused),
		cmocka_unit_test(test_idle_rings_share_one_timer_thread),
		cmocka_unit_test(test_idle_rings_with_parked_recv_share_threads),
		cmocka_unit_test(test_rings_share_workers),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
