/* SPDX-License-Identifier: MIT */
/* eventfd registration: errors, signalling, async mode, disabling, churn. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include "helpers.h"

static int setup(void **state)
{
	return fixture_setup_ring(state, 64, 0);
}

static int teardown(void **state)
{
	return fixture_teardown(state);
}

/* Reads and resets the counter; 0 when it was never signalled. */
static eventfd_t drain(int efd)
{
	eventfd_t v = 0;

	if (eventfd_read(efd, &v) < 0)
		return 0;
	return v;
}

static void nops_and_reap(struct io_uring *ring, unsigned nr)
{
	unsigned i;

	for (i = 0; i < nr; i++)
		io_uring_prep_nop(io_uring_get_sqe(ring));
	assert_int_equal(io_uring_submit_and_wait(ring, nr), (int) nr);
	io_uring_cq_advance(ring, nr);
}

static void test_register_errors(void **state)
{
	struct fixture *f = *state;
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(io_uring_register_eventfd(&f->ring, p[0]), -EINVAL);
	assert_int_equal(io_uring_register_eventfd(&f->ring, 1000), -EBADF);
	assert_int_equal(io_uring_unregister_eventfd(&f->ring), -ENXIO);
	assert_int_equal(io_uring_register_eventfd(&f->ring, efd), 0);
	assert_int_equal(io_uring_register_eventfd(&f->ring, efd), -EBUSY);
	assert_int_equal(io_uring_register_eventfd_async(&f->ring, efd), -EBUSY);
	/* Busy is reported before the new descriptor is even looked at. */
	assert_int_equal(io_uring_register_eventfd(&f->ring, p[0]), -EBUSY);
	assert_int_equal(io_uring_register_eventfd(&f->ring, 1000), -EBUSY);
	assert_int_equal(io_uring_unregister_eventfd(&f->ring), 0);
	assert_int_equal(io_uring_unregister_eventfd(&f->ring), -ENXIO);
	close(p[0]);
	close(p[1]);
	close(efd);
}

/* One batch of inline completions signals once; none after unregister. */
static void test_signal_once_per_batch(void **state)
{
	struct fixture *f = *state;
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	assert_int_equal(io_uring_register_eventfd(&f->ring, efd), 0);
	nops_and_reap(&f->ring, 32);
	assert_int_equal(drain(efd), 1);
	assert_int_equal(io_uring_unregister_eventfd(&f->ring), 0);
	nops_and_reap(&f->ring, 4);
	assert_int_equal(drain(efd), 0);
	close(efd);
}

static void test_disabled_flag_suppresses_signal(void **state)
{
	struct fixture *f = *state;
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	assert_int_equal(io_uring_register_eventfd(&f->ring, efd), 0);
	assert_true(io_uring_cq_eventfd_enabled(&f->ring));
	assert_int_equal(io_uring_cq_eventfd_toggle(&f->ring, false), 0);
	assert_false(io_uring_cq_eventfd_enabled(&f->ring));
	nops_and_reap(&f->ring, 1);
	assert_int_equal(drain(efd), 0);
	assert_int_equal(io_uring_cq_eventfd_toggle(&f->ring, true), 0);
	nops_and_reap(&f->ring, 1);
	assert_int_equal(drain(efd), 1);
	close(efd);
}

/* Async: completions posted inline by the submitter do not signal; work
 * finished by a worker thread (fsync always is) does. */
static void test_async_signals_only_worker_completions(void **state)
{
	struct fixture *f = *state;
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	int fd = make_pattern_file(f->dir, "f", 4096, 1, O_RDWR);

	assert_int_equal(io_uring_register_eventfd_async(&f->ring, efd), 0);
	nops_and_reap(&f->ring, 8);
	assert_int_equal(drain(efd), 0);
	io_uring_prep_fsync(io_uring_get_sqe(&f->ring), fd, 0);
	assert_int_equal(io_uring_submit_and_wait(&f->ring, 1), 1);
	io_uring_cq_advance(&f->ring, 1);
	assert_int_equal(drain(efd), 1);
	close(fd);
	close(efd);
}

/* The registration keeps its own reference: once the application closes
 * its eventfd, a file that takes the same number is never written. */
static void test_reused_number_is_never_written(void **state)
{
	struct fixture *f = *state;
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), p[2];
	char c;

	assert_int_equal(io_uring_register_eventfd(&f->ring, efd), 0);
	close(efd);
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	assert_true(p[0] == efd || p[1] == efd);
	nops_and_reap(&f->ring, 4);
	assert_int_equal(read(p[0], &c, 1), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(io_uring_unregister_eventfd(&f->ring), 0);
	close(p[0]);
	close(p[1]);
}

struct churn {
	int pipe_w;
	int stop;	/* atomic */
};

/* Feeds the pipe that the parked reads wait on, so completions keep
 * arriving from worker threads while the main thread churns eventfds. */
static void *feeder(void *arg)
{
	struct churn *c = arg;

	while (!__atomic_load_n(&c->stop, __ATOMIC_RELAXED)) {
		if (write(c->pipe_w, "x", 1) < 0 && errno != EAGAIN)
			break;
		sleep_ms(1);
	}
	return NULL;
}

/* Register/unregister in a loop while workers complete reads: every
 * round that saw a completion while registered saw a signal. */
static void test_churn_with_worker_completions(void **state)
{
	struct fixture *f = *state;
	struct churn c = { .stop = 0 };
	struct io_uring_cqe *cqe;
	pthread_t thread;
	char buf[1];
	int p[2], round;

	assert_int_equal(pipe(p), 0);
	c.pipe_w = p[1];
	assert_int_equal(pthread_create(&thread, NULL, feeder, &c), 0);
	for (round = 0; round < 50; round++) {
		int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

		assert_int_equal(io_uring_register_eventfd(&f->ring, efd), 0);
		io_uring_prep_read(io_uring_get_sqe(&f->ring), p[0], buf, 1, 0);
		assert_int_equal(io_uring_submit_and_wait(&f->ring, 1), 1);
		assert_int_equal(io_uring_peek_cqe(&f->ring, &cqe), 0);
		assert_int_equal(cqe->res, 1);
		io_uring_cqe_seen(&f->ring, cqe);
		assert_int_equal(io_uring_unregister_eventfd(&f->ring), 0);
		assert_true(drain(efd) >= 1);
		close(efd);
	}
	__atomic_store_n(&c.stop, 1, __ATOMIC_RELAXED);
	pthread_join(thread, NULL);
	close(p[0]);
	close(p[1]);
}

/* Re-registering the same eventfd, then another one: each registration
 * signals its own eventfd only, and after teardown the process holds
 * exactly the descriptors it held before the ring existed. */
static void test_reregister_same_then_other(void **state)
{
	int a = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	int b = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	int fds_before = count_open_fds();
	struct io_uring ring;

	(void) state;
	assert_int_equal(io_uring_queue_init(8, &ring, 0), 0);
	assert_int_equal(io_uring_register_eventfd(&ring, a), 0);
	assert_int_equal(io_uring_unregister_eventfd(&ring), 0);
	assert_int_equal(io_uring_register_eventfd(&ring, a), 0);
	nops_and_reap(&ring, 2);
	assert_int_equal(drain(a), 1);
	assert_int_equal(io_uring_unregister_eventfd(&ring), 0);
	assert_int_equal(io_uring_register_eventfd(&ring, b), 0);
	nops_and_reap(&ring, 2);
	assert_int_equal(drain(a), 0);
	assert_int_equal(drain(b), 1);
	io_uring_queue_exit(&ring);
	assert_int_equal(wait_fd_count(fds_before), fds_before);
	close(a);
	close(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_register_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signal_once_per_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disabled_flag_suppresses_signal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_signals_only_worker_completions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reused_number_is_never_written, setup, teardown),
		cmocka_unit_test_setup_teardown(test_churn_with_worker_completions, setup, teardown),
		cmocka_unit_test(test_reregister_same_then_other),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
