/* SPDX-License-Identifier: MIT */
/*
 * POLL_ADD, POLL_REMOVE, poll updates, and reads and writes of pipes and
 * sockets that wait for readiness: results as the kernel gives them, and no
 * thread held per waiting request.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include "helpers.h"

static int setup_ring(void **state)
{
	return fixture_setup_ring(state, 64, 0);
}

static void submit_n(struct io_uring *ring, int n)
{
	assert_int_equal(io_uring_submit(ring), n);
}

static void write_byte(int fd)
{
	assert_int_equal(write(fd, "x", 1), 1);
}

static void read_byte(int fd)
{
	char c;

	assert_int_equal(read(fd, &c, 1), 1);
}

static struct io_uring_sqe *poll_add(struct io_uring *ring, int fd,
				     unsigned mask, __u64 ud, bool multi)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);

	if (multi)
		io_uring_prep_poll_multishot(sqe, fd, mask);
	else
		io_uring_prep_poll_add(sqe, fd, mask);
	sqe->user_data = ud;
	return sqe;
}

/* The SQE just prepared, to set fields the prep helper leaves alone. */
static struct io_uring_sqe *last_sqe(struct io_uring *ring)
{
	return &ring->sq.sqes[(ring->sq.sqe_tail - 1) & ring->sq.ring_mask];
}

static void test_poll_ready_completes_at_once(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	int fds[2];

	assert_int_equal(pipe(fds), 0);
	write_byte(fds[1]);
	poll_add(ring, fds[0], POLLIN, 1, false);
	assert_int_equal(submit_wait_in_engine(ring, 1), POLLIN);
	/* Never ready: the write end is not readable; ask for what it is. */
	poll_add(ring, fds[1], POLLOUT, 2, false);
	assert_int_equal(submit_wait_in_engine(ring, 2), POLLOUT);
	close(fds[0]);
	close(fds[1]);
}

static void test_poll_waits_for_data(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct test_cqe c;
	int fds[2];

	assert_int_equal(pipe(fds), 0);
	poll_add(ring, fds[0], POLLIN, 7, false);
	submit_n(ring, 1);
	assert_true(cq_is_empty(ring));
	write_byte(fds[1]);
	assert_int_equal(reap_in_engine(ring, &c), 0);
	assert_true(c.user_data == 7);
	assert_int_equal(c.res, POLLIN);
	assert_int_equal(c.flags & IORING_CQE_F_MORE, 0);
	close(fds[0]);
	close(fds[1]);
}

/* Asked or not, a peer's shutdown shows as POLLRDHUP, its close as POLLHUP. */
static void test_poll_reports_hangups(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct test_cqe c;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	poll_add(ring, sv[0], POLLIN, 1, false);
	submit_n(ring, 1);
	assert_int_equal(shutdown(sv[1], SHUT_WR), 0);
	assert_int_equal(reap_in_engine(ring, &c), 0);
	assert_int_equal(c.res, POLLIN | POLLRDHUP);
	close(sv[1]);
	poll_add(ring, sv[0], POLLOUT, 2, false);
	assert_int_equal(submit_wait_in_engine(ring, 2),
			 POLLOUT | POLLHUP | POLLRDHUP);
	close(sv[0]);
}

/* One CQE with F_MORE per wakeup, until removed: then -ECANCELED, no MORE. */
static void test_poll_multishot_until_removed(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct test_cqe c, d;
	int fds[2], i;

	assert_int_equal(pipe(fds), 0);
	poll_add(ring, fds[0], POLLIN, 9, true);
	submit_n(ring, 1);
	for (i = 0; i < 5; i++) {
		assert_true(cq_is_empty(ring));
		write_byte(fds[1]);
		assert_int_equal(reap_in_engine(ring, &c), 0);
		assert_true(c.user_data == 9);
		assert_int_equal(c.res, POLLIN);
		assert_true(c.flags & IORING_CQE_F_MORE);
		read_byte(fds[0]);
	}
	io_uring_prep_poll_remove(must_get_sqe(ring), 9);
	io_uring_sqe_set_data64(last_sqe(ring), 10);
	submit_n(ring, 1);
	assert_int_equal(reap_in_engine(ring, &c), 0);
	assert_int_equal(reap_in_engine(ring, &d), 0);
	if (c.user_data != 10) {
		struct test_cqe t = c;

		c = d;
		d = t;
	}
	assert_true(c.user_data == 10 && c.res == 0);
	assert_true(d.user_data == 9 && d.res == -ECANCELED);
	assert_int_equal(d.flags & IORING_CQE_F_MORE, 0);
	close(fds[0]);
	close(fds[1]);
}

static void test_poll_errors(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct io_uring_sqe *sqe;
	int fds[2];

	assert_int_equal(pipe(fds), 0);
	io_uring_prep_poll_remove(must_get_sqe(ring), 12345);
	io_uring_sqe_set_data64(last_sqe(ring), 1);
	assert_int_equal(submit_wait_in_engine(ring, 1), -ENOENT);
	/* Multishot polls always post: they cannot skip their CQEs. */
	poll_add(ring, fds[0], POLLIN, 2, true);
	sqe = last_sqe(ring);
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	assert_int_equal(submit_wait_in_engine(ring, 2), -EINVAL);
	/* IORING_POLL_ADD_LEVEL is refused by POLL_ADD on the kernel. */
	poll_add(ring, fds[0], POLLIN, 3, false);
	(last_sqe(ring))->len = IORING_POLL_ADD_LEVEL;
	assert_int_equal(submit_wait_in_engine(ring, 3), -EINVAL);
	poll_add(ring, fds[0], POLLIN, 4, false);
	(last_sqe(ring))->addr = 1;
	assert_int_equal(submit_wait_in_engine(ring, 4), -EINVAL);
	/* A multishot flag alone is no update. */
	io_uring_prep_poll_update(must_get_sqe(ring), 5, 0, 0,
				  IORING_POLL_ADD_MULTI);
	io_uring_sqe_set_data64(last_sqe(ring), 5);
	assert_int_equal(submit_wait_in_engine(ring, 5), -EINVAL);
	close(fds[1]);
	close(fds[0]);
	poll_add(ring, fds[0], POLLIN, 6, false);
	assert_int_equal(submit_wait_in_engine(ring, 6), -EBADF);
}

/* Any number of polls on one descriptor: one write wakes them all. */
static void test_many_polls_on_one_fd(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	unsigned long seen = 0;
	struct test_cqe c;
	int fds[2], i;

	assert_int_equal(pipe(fds), 0);
	for (i = 0; i < 32; i++)
		poll_add(ring, fds[0], POLLIN, (__u64) i, false);
	submit_n(ring, 32);
	assert_true(cq_is_empty(ring));
	write_byte(fds[1]);
	for (i = 0; i < 32; i++) {
		assert_int_equal(reap_in_engine(ring, &c), 0);
		assert_int_equal(c.res, POLLIN);
		assert_true(c.user_data < 32);
		seen |= 1ul << c.user_data;
	}
	assert_true(seen == 0xfffffffful);
	assert_true(cq_is_empty(ring));
	close(fds[0]);
	close(fds[1]);
}

static void update(struct io_uring *ring, __u64 old, __u64 new_ud,
		   unsigned mask, unsigned flags, __u64 ud)
{
	io_uring_prep_poll_update(must_get_sqe(ring), old, new_ud, mask, flags);
	io_uring_sqe_set_data64(last_sqe(ring), ud);
	submit_n(ring, 1);
}

static void test_poll_update(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct test_cqe c, d;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* New user_data: the poll completes under its new name. */
	poll_add(ring, sv[0], POLLIN, 1, false);
	submit_n(ring, 1);
	update(ring, 1, 2, 0, IORING_POLL_UPDATE_USER_DATA, 100);
	assert_int_equal(reap_in_engine(ring, &c), 0);
	assert_true(c.user_data == 100 && c.res == 0);
	assert_true(cq_is_empty(ring));
	write_byte(sv[1]);
	assert_int_equal(reap_in_engine(ring, &c), 0);
	assert_true(c.user_data == 2 && c.res == POLLIN);
	read_byte(sv[0]);
	/* New events: POLLOUT is ready, so it completes with that. */
	poll_add(ring, sv[0], POLLIN, 3, false);
	submit_n(ring, 1);
	update(ring, 3, 0, POLLOUT, IORING_POLL_UPDATE_EVENTS, 101);
	assert_int_equal(reap_in_engine(ring, &c), 0);
	assert_int_equal(reap_in_engine(ring, &d), 0);
	if (c.user_data != 101) {
		struct test_cqe t = c;

		c = d;
		d = t;
	}
	assert_true(c.user_data == 101 && c.res == 0);
	assert_true(d.user_data == 3 && d.res == POLLOUT);
	close(sv[0]);
	close(sv[1]);
}

/* A read of an empty pipe waits for data, and gets it. */
static void test_read_waits_for_pipe(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	char buf[16] = { 0 };
	struct test_cqe c;
	int fds[2];

	assert_int_equal(pipe(fds), 0);
	io_uring_prep_read(must_get_sqe(ring), fds[0], buf, sizeof(buf), 0);
	io_uring_sqe_set_data64(last_sqe(ring), 5);
	submit_n(ring, 1);
	assert_true(cq_is_empty(ring));
	assert_int_equal(write(fds[1], "hello", 5), 5);
	assert_int_equal(reap_in_engine(ring, &c), 0);
	assert_true(c.user_data == 5);
	assert_int_equal(c.res, 5);
	assert_memory_equal(buf, "hello", 5);
	close(fds[0]);
	close(fds[1]);
}

/* A write to a full socket waits for room, then writes. */
static void test_write_waits_for_room(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	static char big[1 << 20], sink[1 << 16];
	struct test_cqe c;
	int sv[2], flags;
	ssize_t n;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	flags = fcntl(sv[0], F_GETFL);
	fcntl(sv[0], F_SETFL, flags | O_NONBLOCK);
	while (write(sv[0], big, sizeof(big)) > 0)
		;
	fcntl(sv[0], F_SETFL, flags);
	io_uring_prep_write(must_get_sqe(ring), sv[0], "abc", 3, 0);
	io_uring_sqe_set_data64(last_sqe(ring), 6);
	submit_n(ring, 1);
	assert_true(cq_is_empty(ring));
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	do {
		n = read(sv[1], sink, sizeof(sink));
	} while (n > 0);
	assert_int_equal(reap_in_engine(ring, &c), 0);
	assert_true(c.user_data == 6);
	assert_int_equal(c.res, 3);
	close(sv[0]);
	close(sv[1]);
}

/* A hundred idle pipes hold no hundred threads. */
static void test_waiting_reads_hold_no_threads(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	int fds[48][2], before, i;
	char buf[48];
	struct test_cqe c;

	before = count_threads();
	for (i = 0; i < 48; i++) {
		assert_int_equal(pipe(fds[i]), 0);
		io_uring_prep_read(must_get_sqe(ring), fds[i][0], &buf[i], 1, 0);
		io_uring_sqe_set_data64(last_sqe(ring), (__u64) i);
	}
	submit_n(ring, 48);
	assert_true(count_threads() <= before + 2);
	for (i = 0; i < 48; i++)
		write_byte(fds[i][1]);
	for (i = 0; i < 48; i++) {
		assert_int_equal(reap_in_engine(ring, &c), 0);
		assert_int_equal(c.res, 1);
		assert_int_equal(buf[c.user_data], 'x');
	}
	for (i = 0; i < 48; i++) {
		close(fds[i][0]);
		close(fds[i][1]);
	}
}

/* Teardown with reads still waiting: no hang, nothing left behind. */
static void test_exit_with_parked_requests(void **state)
{
	struct io_uring ring;
	int fds[2], before, i;
	char buf[4];

	(void) state;
	assert_int_equal(pipe(fds), 0);
	before = count_open_fds();
	assert_int_equal(io_uring_queue_init(8, &ring, 0), 0);
	for (i = 0; i < 4; i++)
		io_uring_prep_read(io_uring_get_sqe(&ring), fds[0], &buf[i], 1, 0);
	poll_add(&ring, fds[0], POLLIN, 9, true);
	assert_int_equal(io_uring_submit(&ring), 5);
	io_uring_queue_exit(&ring);
	assert_int_equal(wait_fd_count(before), before);
	close(fds[0]);
	close(fds[1]);
}

/*
 * Removal racing wakeups: a thread keeps writing while multishot polls are
 * armed and removed. Every poll ends with exactly one CQE without F_MORE,
 * whatever the interleaving, and -EALREADY only ever means "try again".
 */
struct writer {
	int fd;
	int stop;	/* atomic */
};

static void *write_loop(void *arg)
{
	struct writer *w = arg;
	int i;

	for (i = 0; i < 2000000 && !__atomic_load_n(&w->stop, __ATOMIC_RELAXED); i++)
		if (write(w->fd, "x", 1) < 0)
			sched_yield();
	return NULL;
}

static void test_remove_races_wakeups(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct writer w;
	pthread_t thr;
	char sink[4096];
	int sv[2], round;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	w.fd = sv[1];
	w.stop = 0;
	assert_int_equal(pthread_create(&thr, NULL, write_loop, &w), 0);
	for (round = 0; round < 300; round++) {
		__u64 ud = 1000 + (__u64) round;
		bool removed = false, ended = false;
		struct test_cqe c;

		poll_add(ring, sv[0], POLLIN, ud, true);
		submit_n(ring, 1);
		while (read(sv[0], sink, sizeof(sink)) > 0)
			;
		update(ring, ud, 0, 0, 0, 1);
		while (!ended || !removed) {
			assert_int_equal(reap_in_engine(ring, &c), 0);
			if (c.user_data == 1) {
				assert_true(c.res == 0 || c.res == -EALREADY ||
					    (c.res == -ENOENT && ended));
				if (c.res == -EALREADY && !ended)
					update(ring, ud, 0, 0, 0, 1);
				else
					removed = true;
				continue;
			}
			assert_true(c.user_data == ud);
			assert_false(ended);
			if (c.flags & IORING_CQE_F_MORE) {
				assert_true(c.res & POLLIN);
				continue;
			}
			/* Removed, or (as on the kernel) ended by a CQE that
			 * found the CQ full while the writer floods. */
			assert_true(c.res == -ECANCELED || (c.res & POLLIN));
			ended = true;
		}
	}
	__atomic_store_n(&w.stop, 1, __ATOMIC_RELAXED);
	pthread_join(thr, NULL);
	close(sv[0]);
	close(sv[1]);
}

/* ASYNC_CANCEL reaches parked reads and polls, by user_data and by fd. */
static void test_async_cancel_parked(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct test_cqe c[3];
	char buf[4];
	int fds[2], i, seen = 0;

	assert_int_equal(pipe(fds), 0);
	io_uring_prep_read(must_get_sqe(ring), fds[0], buf, sizeof(buf), 0);
	last_sqe(ring)->user_data = 1;
	poll_add(ring, fds[0], POLLIN, 2, true);
	submit_n(ring, 2);
	io_uring_prep_cancel64(must_get_sqe(ring), 1, 0);
	last_sqe(ring)->user_data = 3;
	submit_n(ring, 1);
	for (i = 0; i < 2; i++) {
		assert_int_equal(reap_in_engine(ring, &c[i]), 0);
		if (c[i].user_data == 1)
			assert_int_equal(c[i].res, -ECANCELED);
		else
			assert_true(c[i].user_data == 3 && c[i].res == 0);
		seen |= 1 << c[i].user_data;
	}
	assert_int_equal(seen, (1 << 1) | (1 << 3));
	io_uring_prep_cancel_fd(must_get_sqe(ring), fds[0], 0);
	last_sqe(ring)->user_data = 4;
	submit_n(ring, 1);
	for (i = 0; i < 2; i++) {
		assert_int_equal(reap_in_engine(ring, &c[i]), 0);
		if (c[i].user_data == 2) {
			assert_int_equal(c[i].res, -ECANCELED);
			assert_int_equal(c[i].flags & IORING_CQE_F_MORE, 0);
		} else {
			assert_true(c[i].user_data == 4 && c[i].res == 0);
		}
	}
	assert_true(cq_is_empty(ring));
	close(fds[0]);
	close(fds[1]);
}

/*
 * A read waits on a pipe whose descriptor is then closed, and a new pipe
 * gets its number: a read of the new pipe completes with its data, and
 * the first read, whose file is gone, still waits until cancelled.
 */
static void test_read_on_reused_number(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct test_cqe c;
	char a[8], b[8];
	int p[2], q[2], i, seen = 0;

	assert_int_equal(pipe(p), 0);
	io_uring_prep_read(must_get_sqe(ring), p[0], a, sizeof(a), 0);
	last_sqe(ring)->user_data = 1;
	submit_n(ring, 1);
	close(p[0]);
	assert_int_equal(pipe(q), 0);
	assert_int_equal(q[0], p[0]);
	io_uring_prep_read(must_get_sqe(ring), q[0], b, sizeof(b), 0);
	last_sqe(ring)->user_data = 2;
	submit_n(ring, 1);
	write_byte(q[1]);
	assert_int_equal(reap_bounded(ring, &c, 10), 0);
	assert_true(c.user_data == 2 && c.res == 1);
	assert_true(cq_is_empty(ring));
	io_uring_prep_cancel64(must_get_sqe(ring), 1, 0);
	last_sqe(ring)->user_data = 3;
	submit_n(ring, 1);
	for (i = 0; i < 2; i++) {
		assert_int_equal(reap_in_engine(ring, &c), 0);
		if (c.user_data == 1)
			assert_int_equal(c.res, -ECANCELED);
		else
			assert_true(c.user_data == 3 && c.res == 0);
		seen |= 1 << c.user_data;
	}
	assert_int_equal(seen, (1 << 1) | (1 << 3));
	close(q[0]);
	close(q[1]);
	close(p[1]);
}

/* A link timeout cancels a read that waits for a pipe that stays empty. */
static void test_link_timeout_on_parked_read(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct __kernel_timespec ts = { .tv_sec = 0, .tv_nsec = 20000000 };
	struct test_cqe c[2];
	char buf[4];
	int fds[2], i;

	assert_int_equal(pipe(fds), 0);
	io_uring_prep_read(must_get_sqe(ring), fds[0], buf, sizeof(buf), 0);
	last_sqe(ring)->user_data = 1;
	last_sqe(ring)->flags |= IOSQE_IO_LINK;
	io_uring_prep_link_timeout(must_get_sqe(ring), &ts, 0);
	last_sqe(ring)->user_data = 2;
	submit_n(ring, 2);
	for (i = 0; i < 2; i++) {
		assert_int_equal(reap_in_engine(ring, &c[i]), 0);
		if (c[i].user_data == 1)
			assert_int_equal(c[i].res, -ECANCELED);
		else
			assert_true(c[i].user_data == 2 && c[i].res == -ETIME);
	}
	close(fds[0]);
	close(fds[1]);
}

/* A read linked after a write on a pipe runs once the write is done. */
static void test_link_write_then_read_pipe(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct test_cqe c;
	char buf[8] = { 0 };
	int fds[2];

	assert_int_equal(pipe(fds), 0);
	/* Exactly the bytes that come: a short read would break the link. */
	io_uring_prep_read(must_get_sqe(ring), fds[0], buf, 2, 0);
	last_sqe(ring)->user_data = 1;
	last_sqe(ring)->flags |= IOSQE_IO_LINK;
	io_uring_prep_write(must_get_sqe(ring), fds[1], "ok", 2, 0);
	last_sqe(ring)->user_data = 2;
	submit_n(ring, 2);
	assert_true(cq_is_empty(ring));
	assert_int_equal(write(fds[1], "go", 2), 2);
	assert_int_equal(reap_in_engine(ring, &c), 0);
	assert_true(c.user_data == 1 && c.res == 2);
	assert_memory_equal(buf, "go", 2);
	assert_int_equal(reap_in_engine(ring, &c), 0);
	assert_true(c.user_data == 2 && c.res == 2);
	assert_int_equal(read(fds[0], buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "ok", 2);
	close(fds[0]);
	close(fds[1]);
}

/* The submitter alone runs readiness: the order of runs is the test's. */
static int setup_defer_ring(void **state)
{
	return fixture_setup_ring(state, 64, IORING_SETUP_SINGLE_ISSUER |
					     IORING_SETUP_DEFER_TASKRUN);
}

/*
 * Removes the multishot polls 1 and 2 and counts the readiness CQEs each
 * posted until its -ECANCELED, which is its last.
 */
static void remove_and_count(struct io_uring *ring, int seen[3])
{
	int cancelled = 0;
	struct test_cqe c;

	io_uring_prep_poll_remove(must_get_sqe(ring), 1);
	io_uring_sqe_set_data64(last_sqe(ring), 11);
	io_uring_prep_poll_remove(must_get_sqe(ring), 2);
	io_uring_sqe_set_data64(last_sqe(ring), 12);
	submit_n(ring, 2);
	while (cancelled < 2) {
		assert_int_equal(reap_in_engine(ring, &c), 0);
		if (c.user_data >= 11) {
			assert_int_equal(c.res, 0);
			continue;
		}
		assert_true(c.user_data == 1 || c.user_data == 2);
		if (c.res == -ECANCELED) {
			cancelled++;
			continue;
		}
		assert_int_equal(c.res, POLLIN);
		seen[c.user_data]++;
	}
}

/* Polls 1 and 2 each report POLLIN once, and no more before removal. */
static void expect_one_report_each(struct io_uring *ring, int seen[3])
{
	struct test_cqe c;

	while (!seen[1] || !seen[2]) {
		assert_int_equal(reap_in_engine(ring, &c), 0);
		assert_true(c.user_data == 1 || c.user_data == 2);
		assert_int_equal(c.res, POLLIN);
		assert_true(c.flags & IORING_CQE_F_MORE);
		seen[c.user_data]++;
	}
	remove_and_count(ring, seen);
	assert_int_equal(seen[1], 1);
	assert_int_equal(seen[2], 1);
}

/*
 * A multishot poll joining another on a pipe that was readable before
 * either armed: each reports the readiness once, the one it found at
 * arming, and nothing more until the pipe is written again. together:
 * both in one submission, else one after the other.
 */
static void joined_polls_report_once(struct io_uring *ring, bool together)
{
	int seen[3] = { 0 }, fds[2];

	assert_int_equal(pipe(fds), 0);
	write_byte(fds[1]);
	poll_add(ring, fds[0], POLLIN, 1, true);
	if (!together)
		submit_n(ring, 1);
	poll_add(ring, fds[0], POLLIN, 2, true);
	submit_n(ring, together ? 2 : 1);
	expect_one_report_each(ring, seen);
	close(fds[0]);
	close(fds[1]);
}

static void test_joined_multishot_reports_once(void **state)
{
	joined_polls_report_once(fixture_ring(state), false);
}

static void test_joined_multishot_in_one_submit(void **state)
{
	joined_polls_report_once(fixture_ring(state), true);
}

/*
 * A multishot poll joining another on a pipe written after the first one's
 * last report, the write not yet acted on (with DEFER_TASKRUN, until the
 * next wait): the write is the first poll's to report; the joiner reports
 * the readiness it finds at arming, once.
 */
static void test_joiner_not_told_of_earlier_change(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	int seen[3] = { 0 }, fds[2];
	struct test_cqe c;

	assert_int_equal(pipe(fds), 0);
	poll_add(ring, fds[0], POLLIN, 1, true);
	submit_n(ring, 1);
	write_byte(fds[1]);
	assert_int_equal(reap_in_engine(ring, &c), 0);
	assert_true(c.user_data == 1 && c.res == POLLIN);
	read_byte(fds[0]);
	write_byte(fds[1]);
	poll_add(ring, fds[0], POLLIN, 2, true);
	submit_n(ring, 1);
	expect_one_report_each(ring, seen);
	close(fds[0]);
	close(fds[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_ring, fixture_teardown)
		T(test_poll_ready_completes_at_once),
		T(test_poll_waits_for_data),
		T(test_poll_reports_hangups),
		T(test_poll_multishot_until_removed),
		T(test_poll_errors),
		T(test_many_polls_on_one_fd),
		T(test_poll_update),
		T(test_read_waits_for_pipe),
		T(test_write_waits_for_room),
		T(test_waiting_reads_hold_no_threads),
		cmocka_unit_test(test_exit_with_parked_requests),
		T(test_remove_races_wakeups),
		T(test_async_cancel_parked),
		T(test_read_on_reused_number),
		T(test_link_timeout_on_parked_read),
		T(test_link_write_then_read_pipe),
		T(test_joined_multishot_reports_once),
#undef T
#define D(fn) cmocka_unit_test_setup_teardown(fn, setup_defer_ring, \
					     fixture_teardown)
		D(test_joined_multishot_reports_once),
		D(test_joined_multishot_in_one_submit),
		D(test_joiner_not_told_of_earlier_change),
#undef D
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
