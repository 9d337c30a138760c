/* SPDX-License-Identifier: MIT */
/*
 * IOSQE_IO_LINK, IOSQE_IO_HARDLINK, IOSQE_IO_DRAIN and their interplay with
 * IOSQE_CQE_SKIP_SUCCESS and IOSQE_ASYNC, as the kernel does them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "helpers.h"

static struct io_uring_sqe *nop(struct io_uring *ring, __u64 ud, unsigned flags)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);

	io_uring_prep_nop(sqe);
	sqe->user_data = ud;
	sqe->flags = (__u8) flags;
	return sqe;
}

/* Reaps n CQEs into out[], indexed by user_data (1..n), noting the order. */
static void reap_by_ud(struct io_uring *ring, struct test_cqe *out,
		       unsigned *order, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct test_cqe c;

		assert_int_equal(reap_one(ring, &c), 0);
		assert_true(c.user_data >= 1 && c.user_data <= 16);
		out[c.user_data - 1] = c;
		if (order)
			order[i] = (unsigned) c.user_data;
	}
}

static void test_chain_runs_in_order(void **state)
{
	struct fixture *f = *state;
	struct test_cqe c[4];
	unsigned order[4];

	nop(&f->ring, 1, IOSQE_IO_LINK);
	nop(&f->ring, 2, IOSQE_IO_LINK | IOSQE_ASYNC);
	nop(&f->ring, 3, IOSQE_IO_LINK);
	nop(&f->ring, 4, 0);
	assert_int_equal(io_uring_submit(&f->ring), 4);
	reap_by_ud(&f->ring, c, order, 4);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(order[i], i + 1);
		assert_int_equal(c[i].res, 0);
	}
}

/* A read that comes back short breaks the chain: the rest is cancelled. */
static void test_short_read_breaks_the_link(void **state)
{
	struct fixture *f = *state;
	int fd = make_pattern_file(f->dir, "short", 10, 1, O_RDONLY);
	struct io_uring_sqe *sqe;
	struct test_cqe c[3];
	char buf[64];

	assert_true(fd >= 0);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_read(sqe, fd, buf, sizeof(buf), 0);
	sqe->flags |= IOSQE_IO_LINK;
	sqe->user_data = 1;
	nop(&f->ring, 2, IOSQE_IO_LINK);
	nop(&f->ring, 3, 0);
	assert_int_equal(io_uring_submit(&f->ring), 3);
	reap_by_ud(&f->ring, c, NULL, 3);
	assert_int_equal(c[0].res, 10);
	assert_true(check_pattern(buf, 10, 0, 1));
	assert_int_equal(c[1].res, -ECANCELED);
	assert_int_equal(c[2].res, -ECANCELED);
	close(fd);
}

/* A full read keeps the chain going; the write after it sees its data. */
static void test_read_then_write_pair(void **state)
{
	struct fixture *f = *state;
	int in = make_pattern_file(f->dir, "in", 4096, 2, O_RDONLY);
	int out = make_empty_file(f->dir, "out");
	struct io_uring_sqe *sqe;
	struct test_cqe c[2];
	char buf[4096], back[4096];

	assert_true(in >= 0 && out >= 0);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_read(sqe, in, buf, sizeof(buf), 0);
	sqe->flags |= IOSQE_IO_LINK;
	sqe->user_data = 1;
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_write(sqe, out, buf, sizeof(buf), 0);
	sqe->user_data = 2;
	assert_int_equal(io_uring_submit(&f->ring), 2);
	reap_by_ud(&f->ring, c, NULL, 2);
	assert_int_equal(c[0].res, 4096);
	assert_int_equal(c[1].res, 4096);
	assert_int_equal(pread(out, back, sizeof(back), 0), 4096);
	assert_true(check_pattern(back, 4096, 0, 2));
	close(in);
	close(out);
}

static void test_hardlink_survives_failure(void **state)
{
	struct fixture *f = *state;
	struct io_uring_sqe *sqe;
	struct test_cqe c[3];
	char buf[8];

	sqe = must_get_sqe(&f->ring);
	io_uring_prep_read(sqe, -1, buf, sizeof(buf), 0);
	sqe->flags |= IOSQE_IO_HARDLINK;
	sqe->user_data = 1;
	nop(&f->ring, 2, IOSQE_IO_LINK);
	nop(&f->ring, 3, 0);
	assert_int_equal(io_uring_submit(&f->ring), 3);
	reap_by_ud(&f->ring, c, NULL, 3);
	assert_int_equal(c[0].res, -EBADF);
	assert_int_equal(c[1].res, 0);
	assert_int_equal(c[2].res, 0);
}

/* An SQE failing its checks inside a chain fails the whole chain, which is
 * still consumed to its end; submission stops only after a chain's end. */
static void test_invalid_sqe_inside_a_chain(void **state)
{
	struct fixture *f = *state;
	struct io_uring_sqe *sqe;
	struct test_cqe c[4];

	nop(&f->ring, 1, IOSQE_IO_LINK);
	sqe = nop(&f->ring, 2, IOSQE_IO_LINK);
	sqe->rw_flags = 1U << 20;	/* an unknown NOP flag: -EINVAL */
	nop(&f->ring, 3, 0);
	nop(&f->ring, 4, 0);
	assert_int_equal(io_uring_submit(&f->ring), 4);
	reap_by_ud(&f->ring, c, NULL, 4);
	assert_int_equal(c[0].res, -ECANCELED);
	assert_int_equal(c[1].res, -EINVAL);
	assert_int_equal(c[2].res, -ECANCELED);
	assert_int_equal(c[3].res, 0);
}

/* The last SQE's link flag links to nothing: the chain runs as it is. */
static void test_dangling_link_flag(void **state)
{
	struct fixture *f = *state;
	struct test_cqe c[2];

	nop(&f->ring, 1, IOSQE_IO_LINK);
	nop(&f->ring, 2, IOSQE_IO_LINK);
	assert_int_equal(io_uring_submit(&f->ring), 2);
	reap_by_ud(&f->ring, c, NULL, 2);
	assert_int_equal(c[0].res, 0);
	assert_int_equal(c[1].res, 0);
}

/* CQE_SKIP_SUCCESS: success posts nothing; a failure posts its CQE, and the
 * links it cancels post none. Without it on the failed request, they do. */
static void test_cqe_skip_in_links(void **state)
{
	struct fixture *f = *state;
	struct io_uring_sqe *sqe;
	struct test_cqe c[3];
	char buf[8];

	nop(&f->ring, 1, IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS);
	nop(&f->ring, 2, 0);
	assert_int_equal(io_uring_submit(&f->ring), 2);
	assert_int_equal(reap_one(&f->ring, &c[0]), 0);
	assert_int_equal(c[0].user_data, 2);

	sqe = must_get_sqe(&f->ring);
	io_uring_prep_read(sqe, -1, buf, sizeof(buf), 0);
	sqe->flags |= IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS;
	sqe->user_data = 1;
	nop(&f->ring, 2, IOSQE_IO_LINK);
	nop(&f->ring, 3, 0);
	assert_int_equal(io_uring_submit(&f->ring), 3);
	assert_int_equal(reap_one(&f->ring, &c[0]), 0);
	assert_int_equal(c[0].user_data, 1);
	assert_int_equal(c[0].res, -EBADF);

	sqe = must_get_sqe(&f->ring);
	io_uring_prep_read(sqe, -1, buf, sizeof(buf), 0);
	sqe->flags |= IOSQE_IO_LINK;
	sqe->user_data = 1;
	nop(&f->ring, 2, IOSQE_CQE_SKIP_SUCCESS);
	assert_int_equal(io_uring_submit(&f->ring), 2);
	reap_by_ud(&f->ring, c, NULL, 2);
	assert_int_equal(c[0].res, -EBADF);
	assert_int_equal(c[1].res, -ECANCELED);
	assert_true(cq_is_empty(&f->ring));
}

/* A drained request waits for everything submitted before it. */
static void test_drain_waits_for_earlier_requests(void **state)
{
	struct fixture *f = *state;
	struct io_uring_sqe *sqe;
	struct test_cqe c[3];
	unsigned order[3];
	char buf[8];
	int p[2];

	assert_int_equal(pipe(p), 0);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_read(sqe, p[0], buf, sizeof(buf), 0);
	sqe->user_data = 1;
	nop(&f->ring, 2, IOSQE_IO_DRAIN);
	nop(&f->ring, 3, 0);
	assert_int_equal(io_uring_submit(&f->ring), 3);
	sleep_ms(20);
	assert_true(cq_is_empty(&f->ring));
	assert_int_equal(write(p[1], "x", 1), 1);
	reap_by_ud(&f->ring, c, order, 3);
	assert_int_equal(order[0], 1);
	assert_int_equal(c[0].res, 1);
	assert_int_equal(c[1].res, 0);
	assert_int_equal(c[2].res, 0);
	/* What came after the drained request waited for it too. */
	assert_int_equal(order[1], 2);
	close(p[0]);
	close(p[1]);
}

/* Drain after a chain waits for the whole chain. */
static void test_drain_after_a_link(void **state)
{
	struct fixture *f = *state;
	struct io_uring_sqe *sqe;
	struct test_cqe c[3];
	unsigned order[3];
	char buf[8];
	int p[2];

	assert_int_equal(pipe(p), 0);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_read(sqe, p[0], buf, sizeof(buf), 0);
	sqe->flags |= IOSQE_IO_LINK;
	sqe->user_data = 1;
	nop(&f->ring, 2, 0);
	nop(&f->ring, 3, IOSQE_IO_DRAIN);
	assert_int_equal(io_uring_submit(&f->ring), 3);
	sleep_ms(20);
	assert_true(cq_is_empty(&f->ring));
	assert_int_equal(write(p[1], "x", 1), 1);
	reap_by_ud(&f->ring, c, order, 3);
	assert_int_equal(order[0], 1);
	assert_int_equal(order[1], 2);
	assert_int_equal(order[2], 3);
	assert_int_equal(c[2].res, 0);
	close(p[0]);
	close(p[1]);
}

/* Once CQE_SKIP_SUCCESS was used, the ring refuses drain. */
static void test_drain_refused_after_cqe_skip(void **state)
{
	struct fixture *f = *state;
	struct test_cqe c;

	nop(&f->ring, 1, IOSQE_CQE_SKIP_SUCCESS);
	assert_int_equal(io_uring_submit(&f->ring), 1);
	nop(&f->ring, 2, IOSQE_IO_DRAIN);
	assert_int_equal(io_uring_submit(&f->ring), 1);
	assert_int_equal(reap_one(&f->ring, &c), 0);
	assert_int_equal(c.user_data, 2);
	assert_int_equal(c.res, -EOPNOTSUPP);
}

/* A read parked on an empty pipe, linked to what follows it. */
static void parked_read(struct io_uring *ring, int fd, char *buf, __u64 ud,
			unsigned flags)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);

	io_uring_prep_read(sqe, fd, buf, 1, 0);
	sqe->user_data = ud;
	sqe->flags = (__u8) flags;
}

/*
 * The kernel completes a request that a LINK_TIMEOUT cancels after the
 * timeout's own CQE, and the rest of the chain after that request: the
 * timeout's CQE comes first even though its expiry runs on another thread.
 */
static void test_expired_link_timeout_comes_before_the_chain(void **state)
{
	struct fixture *f = *state;
	struct __kernel_timespec ts = { .tv_nsec = 10 * 1000 * 1000 };
	struct io_uring_sqe *sqe;
	struct test_cqe c[3];
	unsigned order[3];
	int p[2];
	char buf[1];

	assert_int_equal(pipe(p), 0);
	parked_read(&f->ring, p[0], buf, 1, IOSQE_IO_LINK);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_link_timeout(sqe, &ts, 0);
	sqe->user_data = 2;
	sqe->flags = IOSQE_IO_LINK;
	nop(&f->ring, 3, 0);
	assert_int_equal(io_uring_submit(&f->ring), 3);
	reap_by_ud(&f->ring, c, order, 3);
	assert_int_equal(order[0], 2);
	assert_int_equal(order[1], 1);
	assert_int_equal(order[2], 3);
	assert_int_equal(c[1].res, -ETIME);
	assert_int_equal(c[0].res, -ECANCELED);
	assert_int_equal(c[2].res, -ECANCELED);
	close(p[0]);
	close(p[1]);
}

/*
 * An ASYNC_CANCEL's CQE comes before the CQE of the request it cancels and
 * of that request's chain, whether the request waits on readiness or on
 * the timer, and whether the cancel runs inline or on a worker.
 */
static void cancel_head_of_chain(struct io_uring *ring, unsigned flags)
{
	struct io_uring_sqe *sqe;
	struct test_cqe c[3];
	unsigned order[3];

	nop(ring, 3, 0);
	assert_int_equal(io_uring_submit(ring), 2);
	sqe = must_get_sqe(ring);
	io_uring_prep_cancel64(sqe, 1, 0);
	sqe->user_data = 2;
	sqe->flags = (__u8) flags;
	assert_int_equal(io_uring_submit(ring), 1);
	reap_by_ud(ring, c, order, 3);
	assert_int_equal(order[0], 2);
	assert_int_equal(order[1], 1);
	assert_int_equal(order[2], 3);
	assert_int_equal(c[1].res, 0);
	assert_int_equal(c[0].res, -ECANCELED);
	assert_int_equal(c[2].res, -ECANCELED);
}

static void test_cancel_comes_before_the_cancelled_chain(void **state)
{
	struct fixture *f = *state;
	struct __kernel_timespec ts = { .tv_sec = 10 };
	struct io_uring_sqe *sqe;
	int p[2];
	char buf[1];

	assert_int_equal(pipe(p), 0);
	parked_read(&f->ring, p[0], buf, 1, IOSQE_IO_LINK);
	cancel_head_of_chain(&f->ring, 0);
	parked_read(&f->ring, p[0], buf, 1, IOSQE_IO_LINK);
	cancel_head_of_chain(&f->ring, IOSQE_ASYNC);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_timeout(sqe, &ts, 0, 0);
	sqe->user_data = 1;
	sqe->flags = IOSQE_IO_LINK;
	cancel_head_of_chain(&f->ring, 0);
	close(p[0]);
	close(p[1]);
}

/*
 * A drained chain that fails at submission completes at once, as any
 * failed SQE does, and drains nothing; a later drain still waits for what
 * came before it, and what follows that drain waits for it.
 */
static void test_failed_drained_chain(void **state)
{
	struct fixture *f = *state;
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	struct test_cqe c[5];
	unsigned order[3];
	char buf[8];
	int p[2];

	assert_int_equal(pipe(p), 0);
	parked_read(&f->ring, p[0], buf, 1, 0);
	nop(&f->ring, 2, IOSQE_IO_DRAIN | IOSQE_IO_LINK);
	sqe = nop(&f->ring, 3, 0);
	sqe->rw_flags = 1U << 20;	/* an unknown NOP flag: -EINVAL */
	/* Submission stops after the chain that failed. */
	assert_int_equal(io_uring_submit(&f->ring), 3);
	nop(&f->ring, 4, IOSQE_IO_DRAIN);
	nop(&f->ring, 5, 0);
	assert_int_equal(io_uring_submit(&f->ring), 2);
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(io_uring_peek_cqe(&f->ring, &cqe), 0);
		assert_int_equal(cqe->user_data, i + 2);
		assert_int_equal(cqe->res, i ? -EINVAL : -ECANCELED);
		io_uring_cqe_seen(&f->ring, cqe);
	}
	assert_true(cq_is_empty(&f->ring));
	assert_int_equal(write(p[1], "x", 1), 1);
	reap_by_ud(&f->ring, c, order, 3);
	assert_int_equal(order[0], 1);
	assert_int_equal(order[1], 4);
	assert_int_equal(order[2], 5);
	assert_int_equal(c[0].res, 1);
	assert_int_equal(c[3].res, 0);
	assert_int_equal(c[4].res, 0);
	close(p[0]);
	close(p[1]);
}

/*
 * A request that completes inline with its LINK_TIMEOUT already expired:
 * the timeout, armed before the issue on the kernel, fired first and found
 * nothing to cancel (-ENOENT), and the chain goes on from the request.
 */
static void inline_then_expired_link_timeout(struct io_uring *ring,
					     int read_fd,
					     const struct __kernel_timespec *ts,
					     unsigned ts_flags)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);
	struct test_cqe c[3];
	unsigned order[3];
	char buf[1];

	if (read_fd >= 0)
		io_uring_prep_read(sqe, read_fd, buf, 1, 0);
	else
		io_uring_prep_nop(sqe);
	sqe->user_data = 1;
	sqe->flags = IOSQE_IO_LINK;
	sqe = must_get_sqe(ring);
	io_uring_prep_link_timeout(sqe, (struct __kernel_timespec *) ts,
				   ts_flags);
	sqe->user_data = 2;
	sqe->flags = IOSQE_IO_LINK;
	nop(ring, 3, 0);
	assert_int_equal(io_uring_submit(ring), 3);
	reap_by_ud(ring, c, order, 3);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(order[i], i + 1);
	assert_int_equal(c[0].res, read_fd >= 0 ? 1 : 0);
	assert_int_equal(c[1].res, -ENOENT);
	assert_int_equal(c[2].res, 0);
}

/* A request that fails before it is issued never armed its LINK_TIMEOUT:
 * the timeout is cancelled, however short, and so is the rest. */
static void unissued_then_expired_link_timeout(struct io_uring *ring)
{
	struct __kernel_timespec zero = { 0 };
	struct io_uring_sqe *sqe = must_get_sqe(ring);
	struct test_cqe c[3];
	char buf[1];

	io_uring_prep_read(sqe, 999, buf, 1, 0);
	sqe->user_data = 1;
	sqe->flags = IOSQE_IO_LINK;
	sqe = must_get_sqe(ring);
	io_uring_prep_link_timeout(sqe, &zero, 0);
	sqe->user_data = 2;
	sqe->flags = IOSQE_IO_LINK;
	nop(ring, 3, 0);
	assert_int_equal(io_uring_submit(ring), 3);
	reap_by_ud(ring, c, NULL, 3);
	assert_int_equal(c[0].res, -EBADF);
	assert_int_equal(c[1].res, -ECANCELED);
	assert_int_equal(c[2].res, -ECANCELED);
}

static void test_link_timeout_expired_before_inline_completion(void **state)
{
	struct fixture *f = *state;
	const struct __kernel_timespec zero = { 0 }, one_ns = { .tv_nsec = 1 };
	int p[2];

	inline_then_expired_link_timeout(&f->ring, -1, &zero, 0);
	inline_then_expired_link_timeout(&f->ring, -1, &one_ns, 0);
	/* Absolute: the clock's origin is long past. */
	inline_then_expired_link_timeout(&f->ring, -1, &one_ns,
					 IORING_TIMEOUT_ABS);
	inline_then_expired_link_timeout(&f->ring, -1, &zero,
					 IORING_TIMEOUT_ABS |
					 IORING_TIMEOUT_REALTIME);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	inline_then_expired_link_timeout(&f->ring, p[0], &zero, 0);
	close(p[0]);
	close(p[1]);
	unissued_then_expired_link_timeout(&f->ring);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
		T(test_chain_runs_in_order),
		T(test_short_read_breaks_the_link),
		T(test_read_then_write_pair),
		T(test_hardlink_survives_failure),
		T(test_invalid_sqe_inside_a_chain),
		T(test_dangling_link_flag),
		T(test_cqe_skip_in_links),
		T(test_drain_waits_for_earlier_requests),
		T(test_drain_after_a_link),
		T(test_drain_refused_after_cqe_skip),
		T(test_expired_link_timeout_comes_before_the_chain),
		T(test_cancel_comes_before_the_cancelled_chain),
		T(test_failed_drained_chain),
		T(test_link_timeout_expired_before_inline_completion),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
