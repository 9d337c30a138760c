/* SPDX-License-Identifier: MIT */
/*
 * Work blocked in a system call of a worker: a SPLICE into a full blocking
 * socket, the open of a FIFO without a writer. Cancellation interrupts it
 * (the cancel itself reports -EALREADY, as for any running io-wq work) and
 * the request completes with what the call returned; teardown interrupts
 * it and returns.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/socket.h>
#include "helpers.h"

/*
 * What a call interrupted by a cancellation reports. The kernel lets its
 * internal restart code (-ERESTARTSYS, 512) out of SPLICE and OPENAT;
 * uring-alike reports the -EINTR the call returned.
 */
#ifdef TEST_KERNEL
#define INTERRUPTED	(-512)
#else
#define INTERRUPTED	(-EINTR)
#endif

#define SPLICE_UD	1
#define CANCEL_UD	2

struct blocked {
	int pipe[2];		/* data to splice */
	int sock[2];		/* sock[0] is full, nobody reads sock[1] */
	char dir[PATH_MAX];
	char fifo[PATH_MAX];
};

static void fill_nonblocking(int fd)
{
	static char junk[4096];
	int flags = fcntl(fd, F_GETFL);

	assert_int_equal(fcntl(fd, F_SETFL, flags | O_NONBLOCK), 0);
	while (write(fd, junk, sizeof(junk)) > 0)
		;
	while (write(fd, junk, 1) > 0)
		;
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(fcntl(fd, F_SETFL, flags), 0);
}

static void make_full_socket(struct blocked *b)
{
	static char data[4096];

	assert_int_equal(pipe(b->pipe), 0);
	assert_int_equal(write(b->pipe[1], data, sizeof(data)), sizeof(data));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, b->sock), 0);
	fill_nonblocking(b->sock[0]);
}

static void close_full_socket(struct blocked *b)
{
	close(b->pipe[0]);
	close(b->pipe[1]);
	close(b->sock[0]);
	close(b->sock[1]);
}

static void prep_splice_to(struct io_uring *ring, struct blocked *b,
			   unsigned len)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);

	io_uring_prep_splice(sqe, b->pipe[0], -1, b->sock[0], -1, len, 0);
	sqe->flags |= IOSQE_ASYNC;
	sqe->user_data = SPLICE_UD;
}

static void make_fifo(struct blocked *b)
{
	assert_int_equal(make_tmpdir(b->dir), 0);
	join_path(b->fifo, b->dir, "fifo");
	assert_int_equal(mkfifo(b->fifo, 0600), 0);
}

/* A blocking open: it waits for a writer that never comes. */
static void prep_fifo_open(struct io_uring *ring, struct blocked *b)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);

	io_uring_prep_openat(sqe, AT_FDCWD, b->fifo, O_RDONLY | O_CLOEXEC, 0);
	sqe->flags |= IOSQE_ASYNC;
	sqe->user_data = SPLICE_UD;
}

/*
 * Cancels SPLICE_UD once its worker is in the call; returns the result of
 * the cancelled request. A cancel that finds it still queued is the
 * kernel's outcome too (0, -ECANCELED).
 */
static int cancel_running(struct io_uring *ring)
{
	int res[3] = { INT_MIN, INT_MIN, INT_MIN };
	struct io_uring_sqe *sqe;

	assert_int_equal(io_uring_submit(ring), 1);
	sleep_ms(20);		/* let the worker enter the call */
	sqe = must_get_sqe(ring);
	io_uring_prep_cancel64(sqe, SPLICE_UD, 0);
	sqe->user_data = CANCEL_UD;
	assert_int_equal(io_uring_submit(ring), 1);
	for (int i = 0; i < 2; i++) {
		struct test_cqe c;

		assert_int_equal(reap_in_engine(ring, &c), 0);
		assert_true(c.user_data == SPLICE_UD ||
			    c.user_data == CANCEL_UD);
		res[c.user_data] = c.res;
	}
	if (res[CANCEL_UD] == 0)
		assert_int_equal(res[SPLICE_UD], -ECANCELED);
	else
		assert_int_equal(res[CANCEL_UD], -EALREADY);
	return res[SPLICE_UD];
}

static void test_cancel_splice_into_full_socket(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct blocked b;
	int res;

	make_full_socket(&b);
	prep_splice_to(ring, &b, 4096);
	res = cancel_running(ring);
	assert_true(res == INTERRUPTED || res == -ECANCELED);
	close_full_socket(&b);
}

/* A call interrupted after moving part of its data reports that part. */
static void test_cancel_splice_reports_what_moved(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	static char data[1 << 16];
	const unsigned len = 16 * sizeof(data);
	struct blocked b;
	int res;

	assert_int_equal(pipe(b.pipe), 0);
	assert_true(fcntl(b.pipe[1], F_SETPIPE_SZ, len) >= (int) len);
	for (unsigned done = 0; done < len; done += sizeof(data))
		assert_int_equal(write(b.pipe[1], data, sizeof(data)),
				 sizeof(data));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, b.sock), 0);
	prep_splice_to(ring, &b, len);
	res = cancel_running(ring);
	assert_true(res > 0 && (unsigned) res < len);
	close_full_socket(&b);
}

static void test_cancel_fifo_open(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct blocked b;
	int res;

	make_fifo(&b);
	prep_fifo_open(ring, &b);
	res = cancel_running(ring);
	assert_true(res == INTERRUPTED || res == -ECANCELED);
	remove_tmpdir(b.dir);
}

/* Sync cancel waits for what it cannot stop at once: here, not forever. */
static void test_sync_cancel_fifo_open(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct io_uring_sync_cancel_reg reg = {
		.addr = SPLICE_UD,
		.timeout = { .tv_sec = -1, .tv_nsec = -1 },
	};
	struct test_cqe c;
	struct blocked b;

	make_fifo(&b);
	prep_fifo_open(ring, &b);
	assert_int_equal(io_uring_submit(ring), 1);
	sleep_ms(20);
	assert_int_equal(io_uring_register_sync_cancel(ring, &reg), 0);
	assert_int_equal(reap_in_engine(ring, &c), 0);
	assert_true(c.user_data == SPLICE_UD);
	assert_true(c.res == INTERRUPTED || c.res == -ECANCELED);
	remove_tmpdir(b.dir);
}

/* Teardown with the work still blocked returns, and leaves no thread. */
static void test_exit_with_splice_blocked(void **state)
{
	struct io_uring ring;
	struct blocked b;
	int before = count_threads();

	(void) state;
	make_full_socket(&b);
	assert_int_equal(io_uring_queue_init(4, &ring, 0), 0);
	prep_splice_to(&ring, &b, 4096);
	assert_int_equal(io_uring_submit(&ring), 1);
	sleep_ms(20);
	io_uring_queue_exit(&ring);
	/* Idle workers of the process may have left meanwhile. */
	assert_true(wait_thread_count(before) <= before);
	close_full_socket(&b);
}

static void test_exit_with_fifo_open_blocked(void **state)
{
	struct io_uring ring;
	struct blocked b;
	int before = count_threads();

	(void) state;
	make_fifo(&b);
	assert_int_equal(io_uring_queue_init(4, &ring, 0), 0);
	prep_fifo_open(&ring, &b);
	assert_int_equal(io_uring_submit(&ring), 1);
	sleep_ms(20);
	io_uring_queue_exit(&ring);
	/* Idle workers of the process may have left meanwhile. */
	assert_true(wait_thread_count(before) <= before);
	remove_tmpdir(b.dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
		T(test_cancel_splice_into_full_socket),
		T(test_cancel_splice_reports_what_moved),
		T(test_cancel_fifo_open),
		T(test_sync_cancel_fifo_open),
#undef T
		cmocka_unit_test(test_exit_with_splice_blocked),
		cmocka_unit_test(test_exit_with_fifo_open_blocked),
	};

	alarm(60);	/* work that is never interrupted would hang */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
