/* SPDX-License-Identifier: MIT */
/*
 * IORING_SETUP_SQPOLL: a submission thread consumes the SQ without
 * io_uring_enter(); IORING_SQ_NEED_WAKEUP once it idles, woken by
 * io_uring_submit(); io_uring_sqring_wait(); sharing the thread with
 * IORING_SETUP_ATTACH_WQ; the setup errors (SQ_AFF, ATTACH_WQ, task-run
 * flags); links, fixed files, teardown while busy (fork: api-fork.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <sched.h>
#include "helpers.h"

#define LONG_IDLE_MS	10000	/* the thread stays up for the whole test */

static int sqpoll_init(struct io_uring *ring, unsigned entries,
		       unsigned flags, unsigned idle_ms)
{
	struct io_uring_params p;

	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SQPOLL | flags;
	p.sq_thread_idle = idle_ms;
	return io_uring_queue_init_params(entries, ring, &p);
}

static int setup_with(unsigned flags, unsigned cpu, int wq_fd,
		      struct io_uring_params *out)
{
	struct io_uring_params p;
	int fd;

	memset(&p, 0, sizeof(p));
	p.flags = flags;
	p.sq_thread_cpu = cpu;
	p.wq_fd = (__u32) wq_fd;
	fd = io_uring_setup(4, &p);
	if (out)
		*out = p;
	if (fd >= 0) {
		struct io_uring ring;

		/* Released as a ring, not just closed (uring-alike). */
		assert_int_equal(io_uring_queue_mmap(fd, &p, &ring), 0);
		io_uring_queue_exit(&ring);
		return 0;
	}
	return fd;
}

/* Publishes what was prepared by a tail store alone: no io_uring_enter(). */
static void publish_tail_only(struct io_uring *ring)
{
	io_uring_smp_store_release(ring->sq.ktail, ring->sq.sqe_tail);
	ring->sq.sqe_head = ring->sq.sqe_tail;
}

/* Polls the CQ without entering, a bounded number of times. */
static int wait_cq_ready_no_enter(struct io_uring *ring, unsigned want)
{
	for (int i = 0; i < 5000; i++) {
		if (io_uring_cq_ready(ring) >= want)
			return 0;
		sleep_ms(1);
	}
	return -ETIME;
}

static int wait_need_wakeup(struct io_uring *ring)
{
	for (int i = 0; i < 5000; i++) {
		if (IO_URING_READ_ONCE(*ring->sq.kflags) & IORING_SQ_NEED_WAKEUP)
			return 0;
		sleep_ms(1);
	}
	return -ETIME;
}

static void prep_nop(struct io_uring *ring, __u64 ud)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);

	io_uring_prep_nop(sqe);
	sqe->user_data = ud;
}

/* Submits one NOP (waking the thread if it sleeps) and reaps it. */
static void nop_round_trip(struct io_uring *ring, __u64 ud)
{
	struct test_cqe c;

	prep_nop(ring, ud);
	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(reap_bounded(ring, &c, 5), 0);
	assert_true(c.user_data == ud);
	assert_int_equal(c.res, 0);
}

static void test_setup_reports_sqpoll_nonfixed(void **state)
{
	struct io_uring_params p;

	(void) state;
	assert_int_equal(setup_with(IORING_SETUP_SQPOLL, 0, 0, &p), 0);
	assert_true(p.features & IORING_FEAT_SQPOLL_NONFIXED);
}

static void test_thread_consumes_sq_without_enter(void **state)
{
	struct io_uring ring;

	(void) state;
	assert_int_equal(sqpoll_init(&ring, 8, 0, LONG_IDLE_MS), 0);
	/* Awake from here on, for LONG_IDLE_MS. */
	nop_round_trip(&ring, 1);
	prep_nop(&ring, 2);
	prep_nop(&ring, 3);
	publish_tail_only(&ring);
	assert_int_equal(wait_cq_ready_no_enter(&ring, 2), 0);
	assert_int_equal(io_uring_sq_ready(&ring), 0);
	io_uring_cq_advance(&ring, 2);
	io_uring_queue_exit(&ring);
}

static void test_need_wakeup_after_idle_and_submit_wakes(void **state)
{
	struct io_uring ring;
	int round;

	(void) state;
	assert_int_equal(sqpoll_init(&ring, 8, 0, 5), 0);
	for (round = 0; round < 3; round++) {
		assert_int_equal(wait_need_wakeup(&ring), 0);
		nop_round_trip(&ring, 10 + (unsigned) round);
	}
	io_uring_queue_exit(&ring);
}

/* An enter names SQEs to submit: the thread submits them, and the call
 * returns the count it was given, as the kernel's does. */
static void test_enter_echoes_to_submit(void **state)
{
	struct io_uring ring;

	(void) state;
	assert_int_equal(sqpoll_init(&ring, 8, 0, LONG_IDLE_MS), 0);
	assert_int_equal(io_uring_enter(ring.ring_fd, 5, 0, 0, NULL), 5);
	assert_int_equal(io_uring_enter(ring.ring_fd, 0, 0,
					IORING_ENTER_SQ_WAIT, NULL), 0);
	nop_round_trip(&ring, 1);
	io_uring_queue_exit(&ring);
}

static void test_sqring_wait_makes_room(void **state)
{
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	int ret, i;

	(void) state;
	assert_int_equal(sqpoll_init(&ring, 4, 0, LONG_IDLE_MS), 0);
	nop_round_trip(&ring, 100);
	for (i = 0; i < 4; i++)
		prep_nop(&ring, (unsigned) i);
	assert_null(io_uring_get_sqe(&ring));
	/* liburing counts what the thread has not consumed yet. */
	ret = io_uring_submit(&ring);
	assert_true(ret >= 0 && ret <= 4);
	/* The kernel's wait also ends when the task has a signal or task
	 * work pending, with 0 and maybe no room yet: it is waited again. */
	for (i = 0; i < 1000 && !io_uring_sq_space_left(&ring); i++)
		assert_int_equal(io_uring_sqring_wait(&ring), 0);
	assert_true(io_uring_sq_space_left(&ring) > 0);
	assert_int_equal(io_uring_wait_cqe_nr(&ring, &cqe, 4), 0);
	io_uring_cq_advance(&ring, 4);
	io_uring_queue_exit(&ring);
}

static void test_sqring_wait_without_sqpoll_returns_at_once(void **state)
{
	struct io_uring ring;

	(void) state;
	assert_int_equal(io_uring_queue_init(2, &ring, 0), 0);
	prep_nop(&ring, 1);
	prep_nop(&ring, 2);
	assert_int_equal(io_uring_sqring_wait(&ring), 0);
	io_uring_queue_exit(&ring);
}

/* The thread count once threads of earlier rings have left: first in
 * the program, before anything could start a worker that idles on. */
static int settled_thread_count(void)
{
	int n = count_threads(), prev = -1;

	for (int i = 0; i < 500 && n != prev; i++) {
		sleep_ms(10);
		prev = n;
		n = count_threads();
	}
	return n;
}

static void test_attach_wq_shares_the_thread(void **state)
{
	struct io_uring a, b, c;
	struct io_uring_params p;
	int base;

	(void) state;
	warm_up_ring();
	base = settled_thread_count();
	assert_int_equal(sqpoll_init(&a, 4, 0, 0), 0);
	nop_round_trip(&a, 0);
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SQPOLL | IORING_SETUP_ATTACH_WQ;
	p.wq_fd = (__u32) a.ring_fd;
	assert_int_equal(io_uring_queue_init_params(4, &b, &p), 0);
	nop_round_trip(&a, 1);
	nop_round_trip(&b, 2);
	assert_int_equal(count_threads(), base + 1);
	/* One that does not attach has a thread of its own. */
	assert_int_equal(sqpoll_init(&c, 4, 0, 0), 0);
	nop_round_trip(&c, 3);
	assert_int_equal(count_threads(), base + 2);
	/* The first ring gone, the second keeps the shared thread. */
	io_uring_queue_exit(&a);
	nop_round_trip(&b, 4);
	io_uring_queue_exit(&b);
	io_uring_queue_exit(&c);
	assert_int_equal(wait_thread_count(base), base);
}

static void test_attach_wq_errors(void **state)
{
	struct io_uring plain, sq;
	int pfd[2];

	(void) state;
	assert_int_equal(io_uring_queue_init(4, &plain, 0), 0);
	assert_int_equal(sqpoll_init(&sq, 4, 0, 0), 0);
	assert_int_equal(pipe(pfd), 0);
	/* Not an open descriptor. */
	assert_int_equal(setup_with(IORING_SETUP_SQPOLL | IORING_SETUP_ATTACH_WQ,
				    0, -1, NULL), -ENXIO);
	assert_int_equal(setup_with(IORING_SETUP_ATTACH_WQ, 0, -1, NULL),
			 -ENXIO);
	/* Not a ring. */
	assert_int_equal(setup_with(IORING_SETUP_SQPOLL | IORING_SETUP_ATTACH_WQ,
				    0, pfd[0], NULL), -EINVAL);
	assert_int_equal(setup_with(IORING_SETUP_ATTACH_WQ, 0, pfd[0], NULL),
			 -EINVAL);
	/* A ring without a submission thread to share. */
	assert_int_equal(setup_with(IORING_SETUP_SQPOLL | IORING_SETUP_ATTACH_WQ,
				    0, plain.ring_fd, NULL), -EINVAL);
	/* Without SQPOLL any ring will do. */
	assert_int_equal(setup_with(IORING_SETUP_ATTACH_WQ, 0, plain.ring_fd,
				    NULL), 0);
	assert_int_equal(setup_with(IORING_SETUP_ATTACH_WQ, 0, sq.ring_fd,
				    NULL), 0);
	/* Attached, the thread's CPU is the group's: sq_thread_cpu is not
	 * looked at. */
	assert_int_equal(setup_with(IORING_SETUP_SQPOLL | IORING_SETUP_ATTACH_WQ |
				    IORING_SETUP_SQ_AFF, 4096, sq.ring_fd, NULL),
			 0);
	close(pfd[0]);
	close(pfd[1]);
	io_uring_queue_exit(&sq);
	io_uring_queue_exit(&plain);
}

static int allowed_cpu(void)
{
	cpu_set_t set;

	assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &set))
			return cpu;
	return -1;
}

static void test_sq_aff_errors(void **state)
{
	struct io_uring ring;
	int cpu = allowed_cpu();

	(void) state;
	assert_true(cpu >= 0);
	assert_int_equal(setup_with(IORING_SETUP_SQ_AFF, (unsigned) cpu, 0,
				    NULL), -EINVAL);
	assert_int_equal(setup_with(IORING_SETUP_SQPOLL | IORING_SETUP_SQ_AFF,
				    4096, 0, NULL), -EINVAL);
	assert_int_equal(setup_with(IORING_SETUP_SQPOLL | IORING_SETUP_SQ_AFF,
				    (unsigned) -1, 0, NULL), -EINVAL);
	/* Without SQ_AFF, sq_thread_cpu is not looked at. */
	assert_int_equal(setup_with(IORING_SETUP_SQPOLL, 4096, 0, NULL), 0);
	assert_int_equal(sqpoll_init(&ring, 4, IORING_SETUP_SQ_AFF, 0), 0);
	io_uring_queue_exit(&ring);
	{
		struct io_uring_params p;

		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_SQPOLL | IORING_SETUP_SQ_AFF;
		p.sq_thread_cpu = (unsigned) cpu;
		assert_int_equal(io_uring_queue_init_params(4, &ring, &p), 0);
		nop_round_trip(&ring, 7);
		io_uring_queue_exit(&ring);
	}
}

/* Task-run flags say how the submitting task is interrupted: the
 * submission thread is no such task. */
static void test_sqpoll_refuses_taskrun_flags(void **state)
{
	(void) state;
	assert_int_equal(setup_with(IORING_SETUP_SQPOLL |
				    IORING_SETUP_COOP_TASKRUN, 0, 0, NULL),
			 -EINVAL);
	assert_int_equal(setup_with(IORING_SETUP_SQPOLL |
				    IORING_SETUP_COOP_TASKRUN |
				    IORING_SETUP_TASKRUN_FLAG, 0, 0, NULL),
			 -EINVAL);
	assert_int_equal(setup_with(IORING_SETUP_SQPOLL |
				    IORING_SETUP_SINGLE_ISSUER |
				    IORING_SETUP_DEFER_TASKRUN, 0, 0, NULL),
			 -EINVAL);
	assert_int_equal(setup_with(IORING_SETUP_SQPOLL |
				    IORING_SETUP_SINGLE_ISSUER, 0, 0, NULL), 0);
}

static void test_linked_requests(void **state)
{
	char dir[PATH_MAX], buf[64] = { 0 };
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct test_cqe c;
	int fd;

	(void) state;
	assert_int_equal(make_tmpdir(dir), 0);
	fd = make_empty_file(dir, "f");
	assert_true(fd >= 0);
	assert_int_equal(sqpoll_init(&ring, 8, 0, LONG_IDLE_MS), 0);
	sqe = must_get_sqe(&ring);
	io_uring_prep_write(sqe, fd, "sqpoll", 6, 0);
	sqe->flags |= IOSQE_IO_LINK;
	sqe->user_data = 1;
	sqe = must_get_sqe(&ring);
	/* Exactly what is there: a short read would break the chain. */
	io_uring_prep_read(sqe, fd, buf, 6, 0);
	sqe->flags |= IOSQE_IO_LINK;
	sqe->user_data = 2;
	prep_nop(&ring, 3);
	io_uring_submit(&ring);
	for (__u64 ud = 1; ud <= 3; ud++) {
		assert_int_equal(reap_bounded(&ring, &c, 5), 0);
		assert_true(c.user_data == ud);
		assert_int_equal(c.res, ud == 3 ? 0 : 6);
	}
	assert_memory_equal(buf, "sqpoll", 6);
	/* A failed link cancels the rest of its chain. */
	sqe = must_get_sqe(&ring);
	io_uring_prep_read(sqe, -1, buf, 1, 0);
	sqe->flags |= IOSQE_IO_LINK;
	sqe->user_data = 4;
	prep_nop(&ring, 5);
	io_uring_submit(&ring);
	assert_int_equal(reap_bounded(&ring, &c, 5), 0);
	assert_true(c.user_data == 4);
	assert_int_equal(c.res, -EBADF);
	assert_int_equal(reap_bounded(&ring, &c, 5), 0);
	assert_true(c.user_data == 5);
	assert_int_equal(c.res, -ECANCELED);
	io_uring_queue_exit(&ring);
	close(fd);
	remove_tmpdir(dir);
}

static void test_fixed_files(void **state)
{
	char dir[PATH_MAX], buf[256];
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct test_cqe c;
	int fd;

	(void) state;
	assert_int_equal(make_tmpdir(dir), 0);
	fd = make_pattern_file(dir, "f", 4096, 3, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(sqpoll_init(&ring, 8, 0, 0), 0);
	assert_int_equal(io_uring_register_files(&ring, &fd, 1), 0);
	sqe = must_get_sqe(&ring);
	io_uring_prep_read(sqe, 0, buf, sizeof(buf), 1000);
	sqe->flags |= IOSQE_FIXED_FILE;
	sqe->user_data = 9;
	io_uring_submit(&ring);
	assert_int_equal(reap_bounded(&ring, &c, 5), 0);
	assert_true(c.user_data == 9);
	assert_int_equal(c.res, sizeof(buf));
	assert_true(check_pattern(buf, sizeof(buf), 1000, 3));
	/* A plain descriptor too (IORING_FEAT_SQPOLL_NONFIXED). */
	sqe = must_get_sqe(&ring);
	io_uring_prep_read(sqe, fd, buf, sizeof(buf), 0);
	sqe->user_data = 10;
	io_uring_submit(&ring);
	assert_int_equal(reap_bounded(&ring, &c, 5), 0);
	assert_int_equal(c.res, sizeof(buf));
	assert_true(check_pattern(buf, sizeof(buf), 0, 3));
	io_uring_queue_exit(&ring);
	close(fd);
	remove_tmpdir(dir);
}

/* The ring goes while the thread consumes its SQEs and a read waits on
 * an empty pipe: no hang, no crash, and the thread goes with it. */
static void test_teardown_while_busy(void **state)
{
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	char buf[8];
	int pfd[2], base, i;

	(void) state;
	warm_up_ring();
	base = count_threads();
	assert_int_equal(pipe(pfd), 0);
	for (int round = 0; round < 20; round++) {
		assert_int_equal(sqpoll_init(&ring, 64, 0, LONG_IDLE_MS), 0);
		sqe = must_get_sqe(&ring);
		io_uring_prep_read(sqe, pfd[0], buf, sizeof(buf), 0);
		io_uring_submit(&ring);
		for (i = 0; i < 63; i++)
			prep_nop(&ring, (unsigned) i);
		io_uring_submit(&ring);
		io_uring_queue_exit(&ring);
	}
	close(pfd[0]);
	close(pfd[1]);
	assert_true(wait_thread_count(base) <= base);
}

/* A disabled ring's thread takes nothing until the ring is enabled. */
static void test_disabled_ring_starts_on_enable(void **state)
{
	struct io_uring ring;
	struct test_cqe c;

	(void) state;
	assert_int_equal(sqpoll_init(&ring, 4, IORING_SETUP_R_DISABLED, 0), 0);
	prep_nop(&ring, 1);
	assert_int_equal(io_uring_enter(ring.ring_fd, 1, 0,
					IORING_ENTER_SQ_WAKEUP, NULL), -EBADFD);
	assert_int_equal(io_uring_register(ring.ring_fd,
					   IORING_REGISTER_ENABLE_RINGS, NULL, 0),
			 0);
	assert_int_equal(io_uring_submit(&ring), 1);
	assert_int_equal(reap_bounded(&ring, &c, 5), 0);
	assert_true(c.user_data == 1);
	io_uring_queue_exit(&ring);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_attach_wq_shares_the_thread),
		cmocka_unit_test(test_setup_reports_sqpoll_nonfixed),
		cmocka_unit_test(test_thread_consumes_sq_without_enter),
		cmocka_unit_test(test_need_wakeup_after_idle_and_submit_wakes),
		cmocka_unit_test(test_enter_echoes_to_submit),
		cmocka_unit_test(test_sqring_wait_makes_room),
		cmocka_unit_test(test_sqring_wait_without_sqpoll_returns_at_once),
		cmocka_unit_test(test_attach_wq_errors),
		cmocka_unit_test(test_sq_aff_errors),
		cmocka_unit_test(test_sqpoll_refuses_taskrun_flags),
		cmocka_unit_test(test_linked_requests),
		cmocka_unit_test(test_fixed_files),
		cmocka_unit_test(test_teardown_while_busy),
		cmocka_unit_test(test_disabled_ring_starts_on_enable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
