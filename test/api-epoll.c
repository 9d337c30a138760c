/* SPDX-License-Identifier: MIT */
/*
 * EPOLL_WAIT: the ready events of an epoll instance; a wait that finds none
 * waits for one (also from IOSQE_ASYNC), can be cancelled, and fails as the
 * kernel's does.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/epoll.h>
#include "helpers.h"

#ifdef LIBURING_BEFORE_2_15
/* liburing 2.3 has no helper for it (2.15 has): the SQE by hand. */
#define OP_EPOLL_WAIT	59

static void io_uring_prep_epoll_wait(struct io_uring_sqe *sqe, int fd,
				     struct epoll_event *events,
				     int maxevents, unsigned flags)
{
	io_uring_prep_rw(OP_EPOLL_WAIT, sqe, fd, events, (unsigned) maxevents,
			 0);
	sqe->rw_flags = (int) flags;
}
#else
#define OP_EPOLL_WAIT	IORING_OP_EPOLL_WAIT
#endif

struct epoll_fixture {
	struct io_uring	ring;
	int		epfd, pipe[2];
};

static int setup(void **state)
{
	struct epoll_fixture *f = calloc(1, sizeof(*f));
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 77 };

	if (!f || io_uring_queue_init(16, &f->ring, 0) || pipe(f->pipe))
		return -1;
	f->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (f->epfd < 0 || epoll_ctl(f->epfd, EPOLL_CTL_ADD, f->pipe[0], &ev))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct epoll_fixture *f = *state;

	io_uring_queue_exit(&f->ring);
	close(f->epfd);
	close(f->pipe[0]);
	close(f->pipe[1]);
	free(f);
	return 0;
}

static struct io_uring_sqe *prep_wait(struct epoll_fixture *f,
				      struct epoll_event *out, int max,
				      __u64 ud)
{
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	io_uring_prep_epoll_wait(sqe, f->epfd, out, max, 0);
	sqe->user_data = ud;
	return sqe;
}

static void wait_then_wake(void **state, __u8 sqe_flags)
{
	struct epoll_fixture *f = *state;
	struct epoll_event out[4];
	struct test_cqe c;

	memset(out, 0, sizeof(out));
	prep_wait(f, out, 4, 1)->flags |= sqe_flags;
	assert_int_equal(io_uring_submit(&f->ring), 1);
	assert_true(cq_is_empty(&f->ring));
	assert_int_equal(write(f->pipe[1], "x", 1), 1);
	assert_int_equal(reap_in_engine(&f->ring, &c), 0);
	assert_int_equal(c.user_data, 1);
	assert_int_equal(c.res, 1);
	assert_int_equal(out[0].data.u64, 77);
	assert_true(out[0].events & EPOLLIN);
	/* Still ready: the next wait completes at once. */
	prep_wait(f, out, 4, 2);
	assert_int_equal(submit_wait_in_engine(&f->ring, 2), 1);
}

static void test_wait_parks_until_an_event(void **state)
{
	wait_then_wake(state, 0);
}

static void test_async_wait_parks_until_an_event(void **state)
{
	wait_then_wake(state, IOSQE_ASYNC);
}

static void test_waiting_wait_is_cancelled(void **state)
{
	struct epoll_fixture *f = *state;
	struct epoll_event out[1];
	struct io_uring_sqe *sqe;
	struct test_cqe c[2];

	prep_wait(f, out, 1, 1);
	assert_int_equal(io_uring_submit(&f->ring), 1);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_cancel64(sqe, 1, 0);
	sqe->user_data = 2;
	assert_int_equal(io_uring_submit(&f->ring), 1);
	for (int i = 0; i < 2; i++) {
		struct test_cqe one;

		assert_int_equal(reap_in_engine(&f->ring, &one), 0);
		assert_true(one.user_data == 1 || one.user_data == 2);
		c[one.user_data - 1] = one;
	}
	assert_int_equal(c[0].res, -ECANCELED);
	assert_int_equal(c[1].res, 0);
}

static void test_errors(void **state)
{
	struct epoll_fixture *f = *state;
	struct io_uring *ring = &f->ring;
	struct epoll_event out[2];
	struct io_uring_sqe *sqe;

	assert_int_equal(write(f->pipe[1], "x", 1), 1);
	prep_wait(f, out, 0, 1);
	assert_int_equal(submit_wait_in_engine(ring, 1), -EINVAL);
	prep_wait(f, out, -1, 2);
	assert_int_equal(submit_wait_in_engine(ring, 2), -EINVAL);
	prep_wait(f, (struct epoll_event *) 16, 2, 3);
	assert_int_equal(submit_wait_in_engine(ring, 3), -EFAULT);
	prep_wait(f, out, 2, 4)->fd = f->pipe[0];
	assert_int_equal(submit_wait_in_engine(ring, 4), -EINVAL);
	prep_wait(f, out, 2, 5)->fd = -1;
	assert_int_equal(submit_wait_in_engine(ring, 5), -EBADF);
	prep_wait(f, out, 2, 6)->fd = ring->ring_fd;
	assert_int_equal(submit_wait_in_engine(ring, 6), -EINVAL);
	prep_wait(f, out, 2, 7)->rw_flags = 1;
	assert_int_equal(submit_wait_in_engine(ring, 7), -EINVAL);
	/* A registered epoll instance. */
	assert_int_equal(io_uring_register_files(ring, &f->epfd, 1), 0);
	sqe = prep_wait(f, out, 2, 8);
	sqe->fd = 0;
	sqe->flags |= IOSQE_FIXED_FILE;
	assert_int_equal(submit_wait_in_engine(ring, 8), 1);
}

static void test_probe_reports_it(void **state)
{
	struct epoll_fixture *f = *state;
	struct io_uring_probe *p = io_uring_get_probe_ring(&f->ring);

	assert_non_null(p);
	assert_true(io_uring_opcode_supported(p, OP_EPOLL_WAIT));
	io_uring_free_probe(p);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_wait_parks_until_an_event),
		T(test_async_wait_parks_until_an_event),
		T(test_waiting_wait_is_cancelled),
		T(test_errors),
		T(test_probe_reports_it),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
