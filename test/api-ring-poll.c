/* SPDX-License-Identifier: MIT */
/*
 * The ring descriptor as poll(2), select(2), epoll(7), io_uring's own
 * POLL_ADD and read(2) see it: readable exactly while CQEs wait to be
 * consumed, writable while the SQ has room, and not a file to read.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/select.h>
#include "helpers.h"

static int setup(void **state)
{
	return fixture_setup_ring(state, 8, 0);
}

static int teardown(void **state)
{
	return fixture_teardown(state);
}

/* The events poll() reports for the ring now, without waiting. */
static short ring_revents(struct io_uring *ring, short events)
{
	struct pollfd pfd = { .fd = ring->ring_fd, .events = events };

	assert_true(poll(&pfd, 1, 0) >= 0);
	return pfd.revents;
}

static void post_nop(struct io_uring *ring, __u64 ud)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);

	io_uring_prep_nop(sqe);
	sqe->user_data = ud;
	assert_int_equal(io_uring_submit(ring), 1);
}

/* Consumes the CQEs with the header's inline functions only, as an event
 * loop that goes straight back to poll() does. */
static unsigned consume_inline(struct io_uring *ring)
{
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;

	io_uring_for_each_cqe(ring, head, cqe)
		seen++;
	io_uring_cq_advance(ring, seen);
	return seen;
}

static void test_poll_follows_cq(void **state)
{
	struct io_uring *ring = fixture_ring(state);

	assert_int_equal(ring_revents(ring, POLLIN), 0);
	post_nop(ring, 1);
	/* A NOP completes before io_uring_submit() returns. */
	assert_int_equal(ring_revents(ring, POLLIN), POLLIN);
	assert_int_equal(consume_inline(ring), 1);
	assert_int_equal(ring_revents(ring, POLLIN), 0);
	/* Again: the descriptor turns readable each time. */
	post_nop(ring, 2);
	post_nop(ring, 3);
	assert_int_equal(ring_revents(ring, POLLIN), POLLIN);
	assert_int_equal(consume_inline(ring), 2);
	assert_int_equal(ring_revents(ring, POLLIN), 0);
}

static void test_pollout_while_sq_has_room(void **state)
{
	struct io_uring *ring = fixture_ring(state);

	assert_int_equal(ring_revents(ring, POLLOUT), POLLOUT);
	post_nop(ring, 1);
	assert_int_equal(ring_revents(ring, POLLIN | POLLOUT),
			 POLLIN | POLLOUT);
	assert_int_equal(consume_inline(ring), 1);
	assert_int_equal(ring_revents(ring, POLLIN | POLLOUT), POLLOUT);
}

/* A poll() that blocks is woken by a completion posted while it sleeps. */
static void test_poll_sleeps_until_cqe(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct __kernel_timespec ts = { .tv_nsec = 20 * 1000 * 1000 };
	struct pollfd pfd = { .fd = ring->ring_fd, .events = POLLIN };
	struct io_uring_cqe *cqe;

	io_uring_prep_timeout(must_get_sqe(ring), &ts, 0, 0);
	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(ring_revents(ring, POLLIN), 0);
	assert_int_equal(poll(&pfd, 1, -1), 1);
	assert_int_equal(pfd.revents, POLLIN);
	assert_int_equal(io_uring_peek_cqe(ring, &cqe), 0);
	assert_int_equal(cqe->res, -ETIME);
	io_uring_cqe_seen(ring, cqe);
	assert_int_equal(ring_revents(ring, POLLIN), 0);
}

static int epoll_ready(int epfd)
{
	struct epoll_event ev;

	return epoll_wait(epfd, &ev, 1, 0);
}

static void test_epoll_follows_cq(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct epoll_event ev = { .events = EPOLLIN };
	int epfd = epoll_create1(EPOLL_CLOEXEC);

	assert_true(epfd >= 0);
	ev.data.fd = ring->ring_fd;
	assert_int_equal(epoll_ctl(epfd, EPOLL_CTL_ADD, ring->ring_fd, &ev), 0);
	assert_int_equal(epoll_ready(epfd), 0);
	post_nop(ring, 1);
	assert_int_equal(epoll_ready(epfd), 1);
	/* Level-triggered: still ready while the CQE is not consumed. */
	assert_int_equal(epoll_ready(epfd), 1);
	assert_int_equal(consume_inline(ring), 1);
	assert_int_equal(epoll_ready(epfd), 0);
	post_nop(ring, 2);
	assert_int_equal(epoll_ready(epfd), 1);
	assert_int_equal(consume_inline(ring), 1);
	assert_int_equal(epoll_ready(epfd), 0);
	close(epfd);
}

static int select_readable(int fd)
{
	struct timeval tv = { 0, 0 };
	fd_set rfds;

	FD_ZERO(&rfds);
	FD_SET(fd, &rfds);
	return select(fd + 1, &rfds, NULL, NULL, &tv);
}

static void test_select_follows_cq(void **state)
{
	struct io_uring *ring = fixture_ring(state);

	assert_int_equal(select_readable(ring->ring_fd), 0);
	post_nop(ring, 1);
	assert_int_equal(select_readable(ring->ring_fd), 1);
	assert_int_equal(consume_inline(ring), 1);
	assert_int_equal(select_readable(ring->ring_fd), 0);
}

/* Another ring's POLL_ADD on the descriptor completes with the first CQE
 * of the ring it names, not before. */
static void test_poll_add_on_ring_fd(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct io_uring other;
	struct io_uring_cqe *cqe;

	assert_int_equal(io_uring_queue_init(4, &other, 0), 0);
	io_uring_prep_poll_add(must_get_sqe(&other), ring->ring_fd, POLLIN);
	assert_int_equal(io_uring_submit(&other), 1);
	assert_int_equal(io_uring_peek_cqe(&other, &cqe), -EAGAIN);
	post_nop(ring, 1);
	assert_int_equal(io_uring_wait_cqe(&other, &cqe), 0);
	assert_int_equal(cqe->res, POLLIN);
	io_uring_cqe_seen(&other, cqe);
	io_uring_queue_exit(&other);
}

/* The kernel's ring file has no read(): the call fails before any size or
 * readiness is looked at. */
static void test_read_fails(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	char small[4];

	errno = 0;
	assert_int_equal(read(ring->ring_fd, small, sizeof(small)), -1);
	assert_int_equal(errno, EINVAL);
	post_nop(ring, 1);
	errno = 0;
	assert_int_equal(read(ring->ring_fd, small, sizeof(small)), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(ring_revents(ring, POLLIN), POLLIN);
}

/* A page that is no longer mapped. */
static void *unmapped_page(void)
{
	long size = sysconf(_SC_PAGESIZE);
	void *p = mmap(NULL, (size_t) size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	assert_int_equal(munmap(p, (size_t) size), 0);
	return p;
}

/* With a ring open, poll() and select() on memory that is not there fail
 * as the system calls do, before any descriptor is looked at. */
static void test_bad_arrays_fail_with_efault(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	void *bad = unmapped_page();

	post_nop(ring, 1);
	errno = 0;
	assert_int_equal(poll(bad, 1, 0), -1);
	assert_int_equal(errno, EFAULT);
	errno = 0;
	assert_int_equal(select(ring->ring_fd + 1, bad, NULL, NULL, NULL), -1);
	assert_int_equal(errno, EFAULT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_poll_follows_cq, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_pollout_while_sq_has_room,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_poll_sleeps_until_cqe,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_epoll_follows_cq, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_select_follows_cq, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_poll_add_on_ring_fd,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_fails, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_arrays_fail_with_efault,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
