/* SPDX-License-Identifier: MIT */
/*
 * io_uring_queue_exit() with work in flight or completions unreaped: it
 * returns, and leaves the process with the descriptors and threads it had
 * before the ring existed (once its first ring has). Thread counts drop asynchronously, so they are
 * polled a bounded number of times: a correctness check, not a timing one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <sys/uio.h>
#include "helpers.h"

#define NR_PIPES 16

struct baseline {
	int fds;
	int threads;
};

/* Taken once a ring has existed (warm_up_ring). */
static struct baseline take_baseline(void)
{
	struct baseline b;

	warm_up_ring();
	b.fds = count_open_fds();
	b.threads = count_threads();
	assert_true(b.fds > 0);
	assert_true(b.threads > 0);
	return b;
}

static void check_back_to(struct baseline b)
{
	int threads;

	assert_int_equal(wait_fd_count(b.fds), b.fds);
	/* Fewer is fine: idle workers of the process leave on their own. */
	threads = wait_thread_count(b.threads);
	if (threads > b.threads)
		print_threads();
	assert_true(threads <= b.threads);
}

static void test_exit_idle_ring_leaves_nothing(void **state)
{
	struct baseline b;
	struct io_uring ring;

	(void) state;
	b = take_baseline();
	assert_int_equal(io_uring_queue_init(8, &ring, 0), 0);
	io_uring_queue_exit(&ring);
	check_back_to(b);
}

static void test_exit_with_reads_pending_on_empty_pipes(void **state)
{
	static int p[NR_PIPES][2];
	static char bufs[NR_PIPES][16];
	struct baseline b;
	struct io_uring ring;

	(void) state;
	b = take_baseline();
	assert_int_equal(io_uring_queue_init(NR_PIPES, &ring, 0), 0);
	for (unsigned i = 0; i < NR_PIPES; i++) {
		struct io_uring_sqe *sqe;

		assert_int_equal(pipe(p[i]), 0);
		sqe = must_get_sqe(&ring);
		io_uring_prep_read(sqe, p[i][0], bufs[i], sizeof(bufs[i]), 0);
		sqe->user_data = i;
	}
	assert_int_equal(io_uring_submit(&ring), NR_PIPES);
	assert_true(cq_is_empty(&ring));
	io_uring_queue_exit(&ring);
	for (unsigned i = 0; i < NR_PIPES; i++) {
		close(p[i][0]);
		close(p[i][1]);
	}
	check_back_to(b);
}

/* Reads forced to a worker (IOSQE_ASYNC) and still blocked at exit. */
static void test_exit_with_async_reads_pending(void **state)
{
	static int p[NR_PIPES][2];
	static char bufs[NR_PIPES][16];
	struct baseline b;
	struct io_uring ring;

	(void) state;
	b = take_baseline();
	assert_int_equal(io_uring_queue_init(NR_PIPES, &ring, 0), 0);
	for (unsigned i = 0; i < NR_PIPES; i++) {
		struct io_uring_sqe *sqe;

		assert_int_equal(pipe(p[i]), 0);
		sqe = must_get_sqe(&ring);
		io_uring_prep_read(sqe, p[i][0], bufs[i], sizeof(bufs[i]), 0);
		io_uring_sqe_set_flags(sqe, IOSQE_ASYNC);
		sqe->user_data = i;
	}
	assert_int_equal(io_uring_submit(&ring), NR_PIPES);
	io_uring_queue_exit(&ring);
	for (unsigned i = 0; i < NR_PIPES; i++) {
		close(p[i][0]);
		close(p[i][1]);
	}
	check_back_to(b);
}

/* Pipes closed first, ring torn down after. */
static void test_exit_after_closing_pipes_of_pending_reads(void **state)
{
	int p[2];
	char buf[16];
	struct baseline b;
	struct io_uring ring;
	struct io_uring_sqe *sqe;

	(void) state;
	b = take_baseline();
	assert_int_equal(io_uring_queue_init(4, &ring, 0), 0);
	assert_int_equal(pipe(p), 0);
	sqe = must_get_sqe(&ring);
	io_uring_prep_read(sqe, p[0], buf, sizeof(buf), 0);
	sqe->user_data = 1;
	assert_int_equal(io_uring_submit(&ring), 1);
	close(p[0]);
	close(p[1]);
	io_uring_queue_exit(&ring);
	check_back_to(b);
}

static void test_exit_with_unreaped_and_overflowed_cqes(void **state)
{
	struct baseline b;
	struct io_uring ring;

	(void) state;
	b = take_baseline();
	assert_int_equal(io_uring_queue_init(4, &ring, 0), 0);
	for (unsigned round = 0; round < 10; round++) {
		for (unsigned i = 0; i < 4; i++)
			io_uring_prep_nop(must_get_sqe(&ring));
		assert_int_equal(io_uring_submit(&ring), 4);
	}
	assert_true(io_uring_cq_has_overflow(&ring));
	io_uring_queue_exit(&ring);
	check_back_to(b);
}

static void test_exit_with_file_work_and_buffers_registered(void **state)
{
	char dir[PATH_MAX];
	static char buf[1 << 20];
	struct iovec iov = { buf, sizeof(buf) };
	struct baseline b;
	struct io_uring ring;
	int fd;

	(void) state;
	assert_int_equal(make_tmpdir(dir), 0);
	fd = make_pattern_file(dir, "f", 4 << 20, 3, O_RDWR);
	assert_true(fd >= 0);
	b = take_baseline();
	assert_int_equal(io_uring_queue_init(8, &ring, 0), 0);
	assert_int_equal(io_uring_register_buffers(&ring, &iov, 1), 0);
	for (unsigned i = 0; i < 4; i++) {
		struct io_uring_sqe *sqe = must_get_sqe(&ring);

		io_uring_prep_read_fixed(sqe, fd, buf + i * (sizeof(buf) / 4),
					 sizeof(buf) / 4, i * 65536ull, 0);
	}
	for (unsigned i = 0; i < 4; i++)
		io_uring_prep_fsync(must_get_sqe(&ring), fd, 0);
	assert_int_equal(io_uring_submit(&ring), 8);
	io_uring_queue_exit(&ring);
	check_back_to(b);
	close(fd);
	remove_tmpdir(dir);
}

/* Setting up and tearing down many rings leaks nothing. */
static void test_repeated_init_exit_leaks_nothing(void **state)
{
	struct baseline b;

	(void) state;
	b = take_baseline();
	for (int i = 0; i < 50; i++) {
		struct io_uring ring;
		int p[2];
		char buf[4];
		struct io_uring_sqe *sqe;

		assert_int_equal(io_uring_queue_init(4, &ring, 0), 0);
		assert_int_equal(pipe(p), 0);
		sqe = must_get_sqe(&ring);
		io_uring_prep_read(sqe, p[0], buf, sizeof(buf), 0);
		io_uring_prep_nop(must_get_sqe(&ring));
		assert_int_equal(io_uring_submit(&ring), 2);
		io_uring_queue_exit(&ring);
		close(p[0]);
		close(p[1]);
	}
	check_back_to(b);
}

static void *noop_thread(void *arg)
{
	return arg;
}

int main(void)
{
	pthread_t t;

	/*
	 * Sanitizer runtimes (TSan) start a background thread of their own at
	 * the first pthread_create(); start it now, before any baseline.
	 */
	if (pthread_create(&t, NULL, noop_thread, NULL) == 0)
		pthread_join(t, NULL);

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_idle_ring_leaves_nothing),
		cmocka_unit_test(test_exit_with_reads_pending_on_empty_pipes),
		cmocka_unit_test(test_exit_with_async_reads_pending),
		cmocka_unit_test(test_exit_after_closing_pipes_of_pending_reads),
		cmocka_unit_test(test_exit_with_unreaped_and_overflowed_cqes),
		cmocka_unit_test(test_exit_with_file_work_and_buffers_registered),
		cmocka_unit_test(test_repeated_init_exit_leaks_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
