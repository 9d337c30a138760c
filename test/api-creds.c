/* SPDX-License-Identifier: MIT */
/*
 * A request runs with the credentials of the thread that submitted it
 * (IORING_FEAT_CUR_PERSONALITY), inline or by a worker, whatever thread
 * started that worker; an SQPOLL ring's requests run with its creator's.
 * Its own process: the first test needs a process without workers.
 */
#include <sys/fsuid.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "helpers.h"

#define OTHER_ID	1000

static int ring_setup(void **state)
{
	struct io_uring *ring = calloc(1, sizeof(*ring));

	if (!ring || io_uring_queue_init(8, ring, 0) < 0)
		return -1;
	*state = ring;
	return 0;
}

static int ring_teardown(void **state)
{
	io_uring_queue_exit(*state);
	free(*state);
	return 0;
}

/* openat of path with flags and sqe_flags; the result. */
static int open_flags(struct io_uring *ring, const char *path,
		      unsigned sqe_flags)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct io_uring_cqe *cqe;
	int res;

	io_uring_prep_openat(sqe, AT_FDCWD, path, O_RDONLY, 0);
	sqe->flags = (__u8) sqe_flags;
	/* On an SQPOLL ring the count also takes in an earlier SQE whose
	 * CQE came before the thread moved the SQ head past it, as on the
	 * kernel. */
	assert_true(io_uring_submit(ring) >= 1);
	assert_int_equal(io_uring_wait_cqe(ring, &cqe), 0);
	res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	if (res >= 0)
		close(res);
	return res;
}

static void test_feature_reported(void **state)
{
	struct io_uring *ring = *state;

	assert_true(ring->features & IORING_FEAT_CUR_PERSONALITY);
}

/* A worker started by a thread with another file system user id serves
 * the thread's later requests, made as root, as root. First: no worker
 * may exist yet. */
static void test_worker_started_by_other_ids(void **state)
{
	struct io_uring *ring = *state;
	char dir[PATH_MAX], file[PATH_MAX];

	if (getuid() != 0) {
		skip();
		return;
	}
	make_private_file(dir, file, 0755);
	setfsuid(OTHER_ID);
	assert_int_equal(open_flags(ring, file, IOSQE_ASYNC), -EACCES);
	setfsuid(0);
	assert_true(open_flags(ring, file, IOSQE_ASYNC) >= 0);
	assert_true(open_flags(ring, file, 0) >= 0);
	remove_tmpdir(dir);
}

/* A thread that took another file system user id has its requests run
 * with it, by a worker too. */
static void test_worker_takes_submitter_ids(void **state)
{
	struct io_uring *ring = *state;
	char dir[PATH_MAX], file[PATH_MAX];

	if (getuid() != 0) {
		skip();
		return;
	}
	make_private_file(dir, file, 0755);
	assert_true(open_flags(ring, file, IOSQE_ASYNC) >= 0);
	setfsuid(OTHER_ID);
	assert_int_equal(open_flags(ring, file, IOSQE_ASYNC), -EACCES);
	assert_int_equal(open_flags(ring, file, 0), -EACCES);
	setfsuid(0);
	assert_true(open_flags(ring, file, IOSQE_ASYNC) >= 0);
	remove_tmpdir(dir);
}

/* An SQPOLL ring runs its requests with its creator's credentials, not
 * those of the thread that fills its SQ. */
static void test_sqpoll_runs_as_creator(void **state)
{
	struct io_uring ring;
	char dir[PATH_MAX], file[PATH_MAX];

	(void) state;
	if (getuid() != 0) {
		skip();
		return;
	}
	make_private_file(dir, file, 0755);
	assert_int_equal(io_uring_queue_init(8, &ring, IORING_SETUP_SQPOLL), 0);
	setfsuid(OTHER_ID);
	assert_true(open_flags(&ring, file, IOSQE_ASYNC) >= 0);
	assert_true(open_flags(&ring, file, 0) >= 0);
	setfsuid(0);
	io_uring_queue_exit(&ring);
	remove_tmpdir(dir);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, ring_setup, ring_teardown)
	const struct CMUnitTest tests[] = {
		/* First: it needs a process without workers. */
		T(test_worker_started_by_other_ids),
		T(test_worker_takes_submitter_ids),
		T(test_feature_reported),
		T(test_sqpoll_runs_as_creator),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
