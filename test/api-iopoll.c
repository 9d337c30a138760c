/* SPDX-License-Identifier: MIT */
/*
 * IORING_SETUP_IOPOLL: a transfer's CQE appears only once the application
 * enters with IORING_ENTER_GETEVENTS; operations that cannot be polled
 * fail with -EINVAL, and transfers on files that cannot be polled (not
 * O_DIRECT, pipes, sockets) with -EOPNOTSUPP.
 *
 * Transfers that reach the disk are writes and reads at end of file: on a
 * device without poll queues the kernel fails polled reads of data with
 * -EOPNOTSUPP (uring-alike(7)).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <poll.h>
#include <sys/socket.h>
#include "helpers.h"

#define BLOCK	4096

struct iopoll_state {
	struct io_uring	ring;
	char		dir[PATH_MAX];
	int		dfd;		/* a file opened O_DIRECT */
	void		*buf;		/* BLOCK bytes, aligned */
};

static int setup(void **state)
{
	struct iopoll_state *s = calloc(1, sizeof(*s));
	char path[PATH_MAX];
	int fd;

	assert_non_null(s);
	assert_int_equal(io_uring_queue_init(8, &s->ring, IORING_SETUP_IOPOLL),
			 0);
	assert_int_equal(make_tmpdir(s->dir), 0);
	fd = make_empty_file(s->dir, "direct");
	assert_true(fd >= 0);
	close(fd);
	join_path(path, s->dir, "direct");
	s->dfd = open(path, O_RDWR | O_DIRECT | O_CLOEXEC);
	assert_int_equal(posix_memalign(&s->buf, BLOCK, BLOCK), 0);
	memset(s->buf, 'x', BLOCK);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	struct iopoll_state *s = *state;

	io_uring_queue_exit(&s->ring);
	if (s->dfd >= 0)
		close(s->dfd);
	remove_tmpdir(s->dir);
	free(s->buf);
	free(s);
	return 0;
}

/* Where the temporary directory cannot do O_DIRECT, nothing polls. */
static void need_direct(struct iopoll_state *s)
{
	if (s->dfd < 0)
		skip();
}

/* Hands what was prepared to the engine without GETEVENTS. */
static void submit_no_getevents(struct io_uring *ring, unsigned nr)
{
	io_uring_smp_store_release(ring->sq.ktail, ring->sq.sqe_tail);
	ring->sq.sqe_head = ring->sq.sqe_tail;
	assert_int_equal(io_uring_enter(ring->ring_fd, nr, 0, 0, NULL),
			 (int) nr);
}

static struct io_uring_sqe *prep(struct io_uring *ring, __u64 ud)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);

	sqe->user_data = ud;
	return sqe;
}

/*
 * A transfer is waited for without a timeout: the kernel's GETEVENTS on an
 * IOPOLL ring may return before anything completed (a transfer it handed
 * to a worker is not on its poll list yet), and liburing's timed wait
 * then says -ETIME at once; the untimed one enters again.
 */
static void reap_transfer(struct io_uring *ring, struct test_cqe *c)
{
	assert_int_equal(reap_one(ring, c), 0);
}

/* Submitted without GETEVENTS, then waited for: its result. */
static int one_result(struct io_uring *ring, __u64 ud)
{
	struct test_cqe c;

	submit_no_getevents(ring, 1);
	assert_int_equal(reap_bounded(ring, &c, 5), 0);
	assert_true(c.user_data == ud);
	return c.res;
}

static void test_transfer_cqe_only_after_getevents(void **state)
{
	struct iopoll_state *s = *state;
	struct test_cqe c;

	need_direct(s);
	io_uring_prep_write(prep(&s->ring, 1), s->dfd, s->buf, BLOCK, 0);
	submit_no_getevents(&s->ring, 1);
	assert_int_equal(io_uring_cq_ready(&s->ring), 0);
	reap_transfer(&s->ring, &c);
	assert_true(c.user_data == 1);
	assert_int_equal(c.res, BLOCK);

	/* RWF_HIPRI, refused on other rings, asks for nothing more here. */
	io_uring_prep_write(prep(&s->ring, 3), s->dfd, s->buf, BLOCK, 0);
	s->ring.sq.sqes[(s->ring.sq.sqe_tail - 1) & s->ring.sq.ring_mask].rw_flags =
		RWF_HIPRI;
	submit_no_getevents(&s->ring, 1);
	reap_transfer(&s->ring, &c);
	assert_true(c.user_data == 3);
	assert_int_equal(c.res, BLOCK);

	/* A read at end of file too. */
	io_uring_prep_read(prep(&s->ring, 2), s->dfd, s->buf, BLOCK, BLOCK);
	submit_no_getevents(&s->ring, 1);
	assert_int_equal(io_uring_cq_ready(&s->ring), 0);
	reap_transfer(&s->ring, &c);
	assert_true(c.user_data == 2);
	assert_int_equal(c.res, 0);
}

/* What a polled transfer links to starts when the transfer is reaped. */
static void test_link_after_transfer_waits_for_getevents(void **state)
{
	struct iopoll_state *s = *state;
	struct io_uring_sqe *sqe;
	struct test_cqe c;

	need_direct(s);
	sqe = prep(&s->ring, 1);
	io_uring_prep_write(sqe, s->dfd, s->buf, BLOCK, 0);
	sqe->flags |= IOSQE_IO_LINK;
	io_uring_prep_nop(prep(&s->ring, 2));
	submit_no_getevents(&s->ring, 2);
	assert_int_equal(io_uring_cq_ready(&s->ring), 0);
	reap_transfer(&s->ring, &c);
	assert_true(c.user_data == 1);
	assert_int_equal(c.res, BLOCK);
	reap_transfer(&s->ring, &c);
	assert_true(c.user_data == 2);
	assert_int_equal(c.res, 0);
}

static void test_files_that_cannot_poll(void **state)
{
	struct iopoll_state *s = *state;
	char path[PATH_MAX], byte;
	int fd, pfd[2], sv[2];

	/* Not O_DIRECT. */
	join_path(path, s->dir, "direct");
	fd = open(path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	io_uring_prep_read(prep(&s->ring, 1), fd, s->buf, BLOCK, 0);
	assert_int_equal(one_result(&s->ring, 1), -EOPNOTSUPP);
	close(fd);

	assert_int_equal(pipe(pfd), 0);
	assert_int_equal(write(pfd[1], "p", 1), 1);
	io_uring_prep_read(prep(&s->ring, 2), pfd[0], &byte, 1, 0);
	assert_int_equal(one_result(&s->ring, 2), -EOPNOTSUPP);
	close(pfd[0]);
	close(pfd[1]);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[1], "s", 1), 1);
	io_uring_prep_read(prep(&s->ring, 3), sv[0], &byte, 1, 0);
	assert_int_equal(one_result(&s->ring, 3), -EOPNOTSUPP);
	io_uring_prep_write(prep(&s->ring, 4), sv[0], "w", 1, 0);
	assert_int_equal(one_result(&s->ring, 4), -EOPNOTSUPP);
	close(sv[0]);
	close(sv[1]);

	io_uring_prep_read(prep(&s->ring, 5), -1, s->buf, BLOCK, 0);
	assert_int_equal(one_result(&s->ring, 5), -EBADF);
}

/* Failed before any transfer: posted at once, as by the kernel. */
static void test_refusal_needs_no_getevents(void **state)
{
	struct iopoll_state *s = *state;
	char byte;
	int pfd[2];

	assert_int_equal(pipe(pfd), 0);
	io_uring_prep_read(prep(&s->ring, 1), pfd[0], &byte, 1, 0);
	submit_no_getevents(&s->ring, 1);
	assert_int_equal(io_uring_cq_ready(&s->ring), 1);
	io_uring_cq_advance(&s->ring, 1);
	close(pfd[0]);
	close(pfd[1]);
}

static void test_operations_that_cannot_poll(void **state)
{
	struct iopoll_state *s = *state;
	struct __kernel_timespec ts = { .tv_nsec = 1000 };
	struct io_uring_sqe *sqe;
	struct test_cqe c;
	char byte;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	io_uring_prep_recv(prep(&s->ring, 1), sv[0], &byte, 1, 0);
	assert_int_equal(one_result(&s->ring, 1), -EINVAL);
	io_uring_prep_poll_add(prep(&s->ring, 2), sv[0], POLLIN);
	assert_int_equal(one_result(&s->ring, 2), -EINVAL);
	io_uring_prep_fsync(prep(&s->ring, 3), sv[0], 0);
	assert_int_equal(one_result(&s->ring, 3), -EINVAL);
	io_uring_prep_timeout(prep(&s->ring, 4), &ts, 0, 0);
	assert_int_equal(one_result(&s->ring, 4), -EINVAL);
	io_uring_prep_close(prep(&s->ring, 5), 1000);
	assert_int_equal(one_result(&s->ring, 5), -EINVAL);
	io_uring_prep_cancel64(prep(&s->ring, 6), 42, 0);
	assert_int_equal(one_result(&s->ring, 6), -EINVAL);
	close(sv[0]);
	close(sv[1]);

	/* A NOP may be polled: it completes at once. */
	io_uring_prep_nop(prep(&s->ring, 7));
	assert_int_equal(one_result(&s->ring, 7), 0);

	/* A LINK_TIMEOUT cannot: it fails the chain it ends. */
	sqe = prep(&s->ring, 8);
	io_uring_prep_nop(sqe);
	sqe->flags |= IOSQE_IO_LINK;
	io_uring_prep_link_timeout(prep(&s->ring, 9), &ts, 0);
	submit_no_getevents(&s->ring, 2);
	assert_int_equal(reap_bounded(&s->ring, &c, 5), 0);
	assert_true(c.user_data == 8);
	assert_int_equal(c.res, -ECANCELED);
	assert_int_equal(reap_bounded(&s->ring, &c, 5), 0);
	assert_true(c.user_data == 9);
	assert_int_equal(c.res, -EINVAL);
}

/* Teardown with a transfer never reaped: it is posted and freed. */
static void test_exit_with_unreaped_transfer(void **state)
{
	struct iopoll_state *s = *state;
	struct io_uring ring;

	need_direct(s);
	assert_int_equal(io_uring_queue_init(4, &ring, IORING_SETUP_IOPOLL), 0);
	io_uring_prep_write(prep(&ring, 1), s->dfd, s->buf, BLOCK, 0);
	submit_no_getevents(&ring, 1);
	io_uring_queue_exit(&ring);
}

/* With SQPOLL too: the submission thread submits and reaps. */
static void test_sqpoll_ring_polls_too(void **state)
{
	struct iopoll_state *s = *state;
	struct io_uring ring;
	struct test_cqe c;

	need_direct(s);
	assert_int_equal(io_uring_queue_init(4, &ring, IORING_SETUP_IOPOLL |
					     IORING_SETUP_SQPOLL), 0);
	io_uring_prep_write(prep(&ring, 1), s->dfd, s->buf, BLOCK, 0);
	assert_int_equal(io_uring_submit(&ring), 1);
	reap_transfer(&ring, &c);
	assert_true(c.user_data == 1);
	assert_int_equal(c.res, BLOCK);
	io_uring_queue_exit(&ring);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_transfer_cqe_only_after_getevents,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_link_after_transfer_waits_for_getevents,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_files_that_cannot_poll,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusal_needs_no_getevents,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_operations_that_cannot_poll,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_with_unreaped_transfer,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_sqpoll_ring_polls_too,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
