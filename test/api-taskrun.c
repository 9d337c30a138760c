/* SPDX-License-Identifier: MIT */
/*
 * The task-run setup flags: SINGLE_ISSUER's one submitter, DEFER_TASKRUN's
 * readiness run by that submitter inside its waits, and the kernel's
 * checks of both.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <poll.h>
#include <pthread.h>
#include <sys/syscall.h>
#include "helpers.h"

#define DEFER	(IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN)

static int init(struct io_uring *ring, unsigned flags)
{
	struct io_uring_params p;

	memset(&p, 0, sizeof(p));
	p.flags = flags;
	return io_uring_queue_init_params(8, ring, &p);
}

static void test_flag_rules(void **state)
{
	struct io_uring ring;

	(void) state;
	assert_int_equal(init(&ring, IORING_SETUP_DEFER_TASKRUN), -EINVAL);
	assert_int_equal(init(&ring, IORING_SETUP_TASKRUN_FLAG), -EINVAL);
	assert_int_equal(init(&ring, IORING_SETUP_COOP_TASKRUN |
				     IORING_SETUP_TASKRUN_FLAG), 0);
	io_uring_queue_exit(&ring);
	assert_int_equal(init(&ring, DEFER | IORING_SETUP_TASKRUN_FLAG), 0);
	io_uring_queue_exit(&ring);
}

struct other {
	struct io_uring *ring;
	int submit, getevents, reg;
};

static void *other_thread(void *arg)
{
	struct other *o = arg;
	unsigned vals[2] = { 0, 0 };

	io_uring_prep_nop(io_uring_get_sqe(o->ring));
	o->submit = io_uring_submit(o->ring);
	o->getevents = io_uring_enter(o->ring->ring_fd, 0, 0,
				      IORING_ENTER_GETEVENTS, NULL);
	o->reg = io_uring_register_iowq_max_workers(o->ring, vals);
	return NULL;
}

static void from_other_thread(unsigned flags, struct other *o)
{
	struct io_uring ring;
	pthread_t t;

	assert_int_equal(init(&ring, flags), 0);
	o->ring = &ring;
	assert_int_equal(pthread_create(&t, NULL, other_thread, o), 0);
	pthread_join(t, NULL);
	io_uring_queue_exit(&ring);
}

/* Only the creating thread submits or registers; with DEFER_TASKRUN only
 * it waits too. */
static void test_single_issuer(void **state)
{
	struct other o;

	(void) state;
	from_other_thread(IORING_SETUP_SINGLE_ISSUER, &o);
	assert_int_equal(o.submit, -EEXIST);
	assert_int_equal(o.getevents, 0);
	assert_int_equal(o.reg, -EEXIST);
	from_other_thread(DEFER, &o);
	assert_int_equal(o.submit, -EEXIST);
	assert_int_equal(o.getevents, -EEXIST);
	assert_int_equal(o.reg, -EEXIST);
}

/* Debian's liburing 2.3 declares io_uring_enable_rings but does not
 * export it: on the kernel, make the system call. */
static int enable_rings(struct io_uring *ring)
{
#ifdef TEST_KERNEL
	return syscall(__NR_io_uring_register, ring->ring_fd,
		       IORING_REGISTER_ENABLE_RINGS, NULL, 0) ? -errno : 0;
#else
	return io_uring_enable_rings(ring);
#endif
}

/* With R_DISABLED, the thread that enables the ring is its submitter. */
static void *enable_and_submit(void *arg)
{
	struct io_uring *ring = arg;
	struct io_uring_cqe *cqe;

	assert_int_equal(enable_rings(ring), 0);
	io_uring_prep_nop(io_uring_get_sqe(ring));
	assert_int_equal(io_uring_submit_and_wait(ring, 1), 1);
	assert_int_equal(io_uring_peek_cqe(ring, &cqe), 0);
	io_uring_cqe_seen(ring, cqe);
	return NULL;
}

static void test_enabling_thread_submits(void **state)
{
	struct io_uring ring;
	pthread_t t;

	(void) state;
	assert_int_equal(init(&ring, DEFER | IORING_SETUP_R_DISABLED), 0);
	assert_int_equal(pthread_create(&t, NULL, enable_and_submit, &ring), 0);
	pthread_join(t, NULL);
	io_uring_prep_nop(io_uring_get_sqe(&ring));
	assert_int_equal(io_uring_submit(&ring), -EEXIST);
	io_uring_queue_exit(&ring);
}

static void run_pipe_traffic(unsigned flags)
{
	struct io_uring ring;
	struct test_cqe c;
	char buf[8];
	int fds[2], i;

	assert_int_equal(init(&ring, flags), 0);
	assert_int_equal(pipe(fds), 0);
	io_uring_prep_poll_multishot(io_uring_get_sqe(&ring), fds[0], POLLIN);
	io_uring_sqe_set_data64(&ring.sq.sqes[0], 1);
	assert_int_equal(io_uring_submit(&ring), 1);
	for (i = 0; i < 10; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		io_uring_prep_read(sqe, fds[0], buf, sizeof(buf), 0);
		sqe->user_data = 2;
		assert_int_equal(io_uring_submit(&ring), 1);
		assert_int_equal(write(fds[1], "abc", 3), 3);
		/* The poll's CQE and the read's, in either order. */
		assert_int_equal(reap_in_engine(&ring, &c), 0);
		if (c.user_data == 1) {
			assert_true(c.flags & IORING_CQE_F_MORE);
			assert_int_equal(reap_in_engine(&ring, &c), 0);
		} else {
			struct test_cqe p;

			assert_int_equal(reap_in_engine(&ring, &p), 0);
			assert_true(p.user_data == 1);
		}
		assert_true(c.user_data == 2);
		assert_int_equal(c.res, 3);
	}
	io_uring_queue_exit(&ring);
	close(fds[0]);
	close(fds[1]);
}

/* Readiness is processed while the submitter waits, in every mode. */
static void test_traffic_in_every_mode(void **state)
{
	(void) state;
	run_pipe_traffic(0);
	run_pipe_traffic(IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG);
	run_pipe_traffic(IORING_SETUP_SINGLE_ISSUER);
	run_pipe_traffic(DEFER);
}

/* DEFER_TASKRUN with TASKRUN_FLAG: the SQ flag makes a plain peek enter
 * and run what is ready. */
static void test_defer_peek_sees_taskrun(void **state)
{
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	char buf[4];
	int fds[2];

	(void) state;
	assert_int_equal(init(&ring, DEFER | IORING_SETUP_TASKRUN_FLAG), 0);
	assert_int_equal(pipe(fds), 0);
	io_uring_prep_read(io_uring_get_sqe(&ring), fds[0], buf, sizeof(buf), 0);
	assert_int_equal(io_uring_submit(&ring), 1);
	assert_int_equal(io_uring_peek_cqe(&ring, &cqe), -EAGAIN);
	assert_int_equal(write(fds[1], "z", 1), 1);
	assert_true(*ring.sq.kflags & IORING_SQ_TASKRUN);
	assert_int_equal(io_uring_peek_cqe(&ring, &cqe), 0);
	assert_int_equal(cqe->res, 1);
	io_uring_cqe_seen(&ring, cqe);
	io_uring_queue_exit(&ring);
	close(fds[0]);
	close(fds[1]);
}

/* A worker's completion wakes a DEFER_TASKRUN submitter waiting for
 * readiness that never comes. */
static void test_defer_wait_sees_worker_completion(void **state)
{
	struct io_uring ring;
	struct test_cqe c;
	char buf[4];
	int fds[2];
	struct io_uring_sqe *sqe;

	(void) state;
	assert_int_equal(init(&ring, DEFER), 0);
	assert_int_equal(pipe(fds), 0);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, fds[0], buf, sizeof(buf), 0);
	sqe->user_data = 1;
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_nop(sqe);
	sqe->flags = IOSQE_ASYNC;
	sqe->user_data = 2;
	assert_int_equal(io_uring_submit(&ring), 2);
	assert_int_equal(reap_in_engine(&ring, &c), 0);
	assert_true(c.user_data == 2);
	io_uring_queue_exit(&ring);
	close(fds[0]);
	close(fds[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flag_rules),
		cmocka_unit_test(test_single_issuer),
		cmocka_unit_test(test_enabling_thread_submits),
		cmocka_unit_test(test_traffic_in_every_mode),
		cmocka_unit_test(test_defer_peek_sees_taskrun),
		cmocka_unit_test(test_defer_wait_sees_worker_completion),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
