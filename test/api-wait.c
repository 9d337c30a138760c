/* SPDX-License-Identifier: MIT */
/*
 * Waiting and reaping: timeouts, peeking, batches, iteration, and the
 * SQ/CQ counters.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include "helpers.h"

static void queue_nops(struct io_uring *ring, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = must_get_sqe(ring);

		io_uring_prep_nop(sqe);
		sqe->user_data = i;
	}
}

static struct __kernel_timespec ms_ts(long ms)
{
	struct __kernel_timespec ts = { .tv_sec = ms / 1000,
					.tv_nsec = (ms % 1000) * 1000000L };
	return ts;
}

/* A pipe and a read of up to len bytes queued on its (empty) read end. */
struct pending_read {
	int p[2];
	char buf[64];
};

static void queue_pipe_read(struct io_uring *ring, struct pending_read *r,
			    __u64 ud)
{
	struct io_uring_sqe *sqe;

	assert_int_equal(pipe(r->p), 0);
	memset(r->buf, 0, sizeof(r->buf));
	sqe = must_get_sqe(ring);
	io_uring_prep_read(sqe, r->p[0], r->buf, sizeof(r->buf), 0);
	sqe->user_data = ud;
}

/* Complete the pending read by writing to the pipe, and reap it. */
static void finish_pipe_read(struct io_uring *ring, struct pending_read *r,
			     __u64 ud)
{
	struct test_cqe c;

	assert_int_equal(write(r->p[1], "done", 4), 4);
	assert_int_equal(reap_one(ring, &c), 0);
	assert_true(c.user_data == ud);
	assert_int_equal(c.res, 4);
	assert_memory_equal(r->buf, "done", 4);
	close(r->p[0]);
	close(r->p[1]);
}

static void test_peek_on_empty_cq_is_eagain(void **state)
{
	struct fixture *f = *state;
	struct io_uring_cqe *cqe = (void *) 1;

	assert_int_equal(io_uring_peek_cqe(&f->ring, &cqe), -EAGAIN);
	assert_null(cqe);
}

static void test_wait_timeout_with_nothing_in_flight_is_etime(void **state)
{
	struct fixture *f = *state;
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts = ms_ts(10);

	assert_int_equal(io_uring_wait_cqe_timeout(&f->ring, &cqe, &ts), -ETIME);
	ts = ms_ts(0);
	assert_int_equal(io_uring_wait_cqe_timeout(&f->ring, &cqe, &ts), -ETIME);
	ts = ms_ts(10);
	assert_int_equal(io_uring_wait_cqes(&f->ring, &cqe, 2, &ts, NULL), -ETIME);
}

static void test_wait_timeout_with_blocked_read_is_etime(void **state)
{
	struct fixture *f = *state;
	struct pending_read r;
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts = ms_ts(20);

	queue_pipe_read(&f->ring, &r, 9);
	assert_int_equal(io_uring_submit(&f->ring), 1);
	assert_int_equal(io_uring_wait_cqe_timeout(&f->ring, &cqe, &ts), -ETIME);
	assert_true(cq_is_empty(&f->ring));
	finish_pipe_read(&f->ring, &r, 9);
}

static void test_wait_timeout_returns_ready_cqe(void **state)
{
	struct fixture *f = *state;
	struct io_uring_cqe *cqe = NULL;
	struct __kernel_timespec ts = ms_ts(5000);

	queue_nops(&f->ring, 1);
	assert_int_equal(io_uring_submit(&f->ring), 1);
	assert_int_equal(io_uring_wait_cqe_timeout(&f->ring, &cqe, &ts), 0);
	assert_non_null(cqe);
	assert_int_equal(cqe->user_data, 0);
	io_uring_cqe_seen(&f->ring, cqe);
}

static void test_submit_and_wait_timeout_with_nothing_is_etime(void **state)
{
	struct fixture *f = *state;
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts = ms_ts(10);

	assert_int_equal(io_uring_submit_and_wait_timeout(&f->ring, &cqe, 1, &ts,
							  NULL), -ETIME);
}

static void test_submit_and_wait_timeout_returns_submitted(void **state)
{
	struct fixture *f = *state;
	struct io_uring_cqe *cqe = NULL;
	struct __kernel_timespec ts = ms_ts(5000);

	queue_nops(&f->ring, 3);
	assert_int_equal(io_uring_submit_and_wait_timeout(&f->ring, &cqe, 3, &ts,
							  NULL), 3);
	assert_non_null(cqe);
	assert_int_equal(cqe->user_data, 0);
	assert_int_equal(io_uring_cq_ready(&f->ring), 3);
	io_uring_cq_advance(&f->ring, 3);
}

/*
 * Submitting work that does not finish within the timeout: the call still
 * returns the number submitted (liburing 2.3 on the kernel), and no CQE.
 */
static void test_submit_and_wait_timeout_expiring_returns_submitted(void **state)
{
	struct fixture *f = *state;
	struct pending_read r;
	struct io_uring_cqe *cqe = (void *) 1;
	struct __kernel_timespec ts = ms_ts(20);

	queue_pipe_read(&f->ring, &r, 5);
	assert_int_equal(io_uring_submit_and_wait_timeout(&f->ring, &cqe, 1, &ts,
							  NULL), 1);
	assert_null(cqe);
	assert_int_equal(io_uring_sq_ready(&f->ring), 0);
	assert_true(cq_is_empty(&f->ring));
	finish_pipe_read(&f->ring, &r, 5);
}

static void test_wait_cqes_waits_for_all(void **state)
{
	struct fixture *f = *state;
	struct io_uring_cqe *cqe = NULL;

	queue_nops(&f->ring, 3);
	assert_int_equal(io_uring_submit(&f->ring), 3);
	assert_int_equal(io_uring_wait_cqes(&f->ring, &cqe, 3, NULL, NULL), 0);
	assert_non_null(cqe);
	assert_int_equal(cqe->user_data, 0);
	assert_int_equal(io_uring_cq_ready(&f->ring), 3);
	io_uring_cq_advance(&f->ring, 3);
}

/*
 * When the timeout expires with fewer than wait_nr CQEs but at least one,
 * the kernel reports success, not -ETIME: the caller gets the first CQE.
 */
static void test_wait_cqes_timeout_with_some_ready_returns_zero(void **state)
{
	struct fixture *f = *state;
	struct io_uring_cqe *cqe = NULL;
	struct __kernel_timespec ts = ms_ts(20);

	queue_nops(&f->ring, 3);
	assert_int_equal(io_uring_submit_and_wait(&f->ring, 3), 3);
	assert_int_equal(io_uring_wait_cqes(&f->ring, &cqe, 4, &ts, NULL), 0);
	assert_non_null(cqe);
	assert_int_equal(cqe->user_data, 0);
	assert_int_equal(io_uring_cq_ready(&f->ring), 3);
	io_uring_cq_advance(&f->ring, 3);
}

/* The same at the system-call level: io_uring_enter2() with EXT_ARG. */
static void test_enter_ext_arg_timeout_with_some_ready_returns_zero(void **state)
{
	struct fixture *f = *state;
	struct __kernel_timespec ts = ms_ts(20);
	struct io_uring_getevents_arg arg;

	assert_true(f->ring.features & IORING_FEAT_EXT_ARG);
	memset(&arg, 0, sizeof(arg));
	arg.sigmask_sz = _NSIG / 8;
	arg.ts = (__u64) (uintptr_t) &ts;
	queue_nops(&f->ring, 3);
	assert_int_equal(io_uring_submit_and_wait(&f->ring, 3), 3);
	assert_int_equal(io_uring_enter2(f->ring.ring_fd, 0, 4,
					 IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG,
					 (sigset_t *) &arg, sizeof(arg)), 0);
	assert_int_equal(io_uring_cq_ready(&f->ring), 3);
	io_uring_cq_advance(&f->ring, 3);
	/* With the CQ empty, the timeout is reported. */
	assert_int_equal(io_uring_enter2(f->ring.ring_fd, 0, 1,
					 IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG,
					 (sigset_t *) &arg, sizeof(arg)), -ETIME);
}

static void test_wait_cqe_nr_waits_for_n(void **state)
{
	struct fixture *f = *state;
	struct io_uring_cqe *cqe = NULL;

	queue_nops(&f->ring, 4);
	assert_int_equal(io_uring_submit(&f->ring), 4);
	assert_int_equal(io_uring_wait_cqe_nr(&f->ring, &cqe, 4), 0);
	assert_non_null(cqe);
	assert_int_equal(io_uring_cq_ready(&f->ring), 4);
	io_uring_cq_advance(&f->ring, 4);
	assert_true(cq_is_empty(&f->ring));
}

static void test_submit_and_wait_returns_submitted(void **state)
{
	struct fixture *f = *state;

	queue_nops(&f->ring, 5);
	assert_int_equal(io_uring_submit_and_wait(&f->ring, 5), 5);
	assert_int_equal(io_uring_cq_ready(&f->ring), 5);
	io_uring_cq_advance(&f->ring, 5);
}

static void test_peek_batch_respects_count_and_does_not_consume(void **state)
{
	struct fixture *f = *state;
	struct io_uring_cqe *cqes[10];
	unsigned char seen[5] = { 0 };

	queue_nops(&f->ring, 5);
	assert_int_equal(io_uring_submit_and_wait(&f->ring, 5), 5);
	assert_int_equal(io_uring_peek_batch_cqe(&f->ring, cqes, 3), 3);
	assert_int_equal(io_uring_cq_ready(&f->ring), 5);
	assert_int_equal(io_uring_peek_batch_cqe(&f->ring, cqes, 10), 5);
	for (unsigned i = 0; i < 5; i++) {
		assert_true(cqes[i]->user_data < 5);
		assert_int_equal(seen[cqes[i]->user_data], 0);
		seen[cqes[i]->user_data] = 1;
	}
	io_uring_cq_advance(&f->ring, 5);
	assert_int_equal(io_uring_peek_batch_cqe(&f->ring, cqes, 10), 0);
}

static void test_for_each_cqe_visits_all_then_advance(void **state)
{
	struct fixture *f = *state;
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;
	unsigned char seen[6] = { 0 };

	queue_nops(&f->ring, 6);
	assert_int_equal(io_uring_submit_and_wait(&f->ring, 6), 6);
	io_uring_for_each_cqe(&f->ring, head, cqe) {
		assert_true(cqe->user_data < 6);
		assert_int_equal(seen[cqe->user_data], 0);
		seen[cqe->user_data] = 1;
		n++;
	}
	assert_int_equal(n, 6);
	/* Iterating consumed nothing. */
	assert_int_equal(io_uring_cq_ready(&f->ring), 6);
	io_uring_cq_advance(&f->ring, n);
	assert_int_equal(io_uring_cq_ready(&f->ring), 0);
	assert_true(cq_is_empty(&f->ring));
}

static void test_get_events_with_nothing_returns_zero(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(io_uring_get_events(&f->ring), 0);
	assert_true(cq_is_empty(&f->ring));
}

struct delayed_write {
	int fd;
	long delay_ms;
};

static void *delayed_writer(void *arg)
{
	struct delayed_write *w = arg;

	sleep_ms(w->delay_ms);
	if (write(w->fd, "late", 4) != 4)
		abort();
	return NULL;
}

/* A long timeout returns as soon as the CQE is posted by another thread. */
static void test_wait_timeout_returns_cqe_posted_later(void **state)
{
	struct fixture *f = *state;
	struct pending_read r;
	struct io_uring_cqe *cqe = NULL;
	struct __kernel_timespec ts = ms_ts(10000);
	struct delayed_write w;
	pthread_t t;

	queue_pipe_read(&f->ring, &r, 7);
	assert_int_equal(io_uring_submit(&f->ring), 1);
	w.fd = r.p[1];
	w.delay_ms = 30;
	assert_int_equal(pthread_create(&t, NULL, delayed_writer, &w), 0);
	assert_int_equal(io_uring_wait_cqe_timeout(&f->ring, &cqe, &ts), 0);
	assert_non_null(cqe);
	assert_int_equal(cqe->user_data, 7);
	assert_int_equal(cqe->res, 4);
	assert_memory_equal(r.buf, "late", 4);
	io_uring_cqe_seen(&f->ring, cqe);
	assert_int_equal(pthread_join(t, NULL), 0);
	close(r.p[0]);
	close(r.p[1]);
}

/* io_uring_submit_and_wait(1) blocks until the blocked read completes. */
static void test_submit_and_wait_blocks_until_completion(void **state)
{
	struct fixture *f = *state;
	struct pending_read r;
	struct delayed_write w;
	struct test_cqe c;
	pthread_t t;

	queue_pipe_read(&f->ring, &r, 8);
	w.fd = r.p[1];
	w.delay_ms = 30;
	assert_int_equal(pthread_create(&t, NULL, delayed_writer, &w), 0);
	assert_int_equal(io_uring_submit_and_wait(&f->ring, 1), 1);
	assert_int_equal(io_uring_cq_ready(&f->ring), 1);
	assert_int_equal(reap_one(&f->ring, &c), 0);
	assert_int_equal(c.user_data, 8);
	assert_int_equal(c.res, 4);
	assert_int_equal(pthread_join(t, NULL), 0);
	close(r.p[0]);
	close(r.p[1]);
}

/*
 * The modes a wait runs in: asleep on the CQ alone, or, while a request is
 * parked on readiness or with DEFER_TASKRUN, running readiness as well.
 * The kernel's answers do not depend on it.
 */
static void in_each_wait_mode(void (*check)(struct io_uring *ring))
{
	static const unsigned setups[] = {
		0, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
	};

	for (unsigned i = 0; i < 2; i++) {
		for (int park = 0; park < 2; park++) {
			struct io_uring ring;
			struct pending_read r;

			assert_int_equal(io_uring_queue_init(8, &ring, setups[i]), 0);
			if (park) {
				queue_pipe_read(&ring, &r, 99);
				assert_int_equal(io_uring_submit(&ring), 1);
			}
			check(&ring);
			if (park)
				finish_pipe_read(&ring, &r, 99);
			io_uring_queue_exit(&ring);
		}
	}
}

static int enter_ext_arg(struct io_uring *ring, unsigned min_complete,
			 struct __kernel_timespec *ts)
{
	struct io_uring_getevents_arg arg;

	memset(&arg, 0, sizeof(arg));
	arg.sigmask_sz = _NSIG / 8;
	arg.ts = (__u64) (uintptr_t) ts;
	return io_uring_enter2(ring->ring_fd, 0, min_complete,
			       IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG,
			       (sigset_t *) &arg, sizeof(arg));
}

/* A deadline that passes with fewer CQEs than asked for, but some: 0. */
static void deadline_with_a_cqe_ready(struct io_uring *ring)
{
	struct __kernel_timespec ts = ms_ts(10);

	queue_nops(ring, 1);
	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(enter_ext_arg(ring, 2, &ts), 0);
	assert_int_equal(io_uring_cq_ready(ring), 1);
	io_uring_cq_advance(ring, 1);
	assert_int_equal(enter_ext_arg(ring, 1, &ts), -ETIME);
}

static void test_deadline_with_cqes_ready_succeeds_in_each_mode(void **state)
{
	(void) state;
	in_each_wait_mode(deadline_with_a_cqe_ready);
}

static void on_sigusr1(int sig)
{
	(void) sig;
}

/* Waits under a mask that lets a pending SIGUSR1 through at once. */
static int wait_with_signal_pending(struct io_uring *ring, unsigned min_complete)
{
	sigset_t block, wait_mask;
	int ret;

	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, &block, &wait_mask), 0);
	sigdelset(&wait_mask, SIGUSR1);
	assert_int_equal(pthread_kill(pthread_self(), SIGUSR1), 0);
	ret = io_uring_enter(ring->ring_fd, 0, min_complete,
			     IORING_ENTER_GETEVENTS, &wait_mask);
	assert_int_equal(pthread_sigmask(SIG_UNBLOCK, &block, NULL), 0);
	return ret;
}

/* A signal that ends a wait with fewer CQEs than asked for, but some: 0. */
static void signal_with_a_cqe_ready(struct io_uring *ring)
{
	queue_nops(ring, 1);
	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(wait_with_signal_pending(ring, 2), 0);
	assert_int_equal(io_uring_cq_ready(ring), 1);
	io_uring_cq_advance(ring, 1);
	assert_int_equal(wait_with_signal_pending(ring, 1), -EINTR);
}

static void test_signal_with_cqes_ready_succeeds_in_each_mode(void **state)
{
	struct sigaction sa, old;

	(void) state;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigusr1;
	assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
	in_each_wait_mode(signal_with_a_cqe_ready);
	assert_int_equal(sigaction(SIGUSR1, &old, NULL), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_peek_on_empty_cq_is_eagain),
		T(test_wait_timeout_with_nothing_in_flight_is_etime),
		T(test_wait_timeout_with_blocked_read_is_etime),
		T(test_wait_timeout_returns_ready_cqe),
		T(test_submit_and_wait_timeout_with_nothing_is_etime),
		T(test_submit_and_wait_timeout_returns_submitted),
		T(test_submit_and_wait_timeout_expiring_returns_submitted),
		T(test_wait_cqes_waits_for_all),
		T(test_wait_cqes_timeout_with_some_ready_returns_zero),
		T(test_enter_ext_arg_timeout_with_some_ready_returns_zero),
		T(test_wait_cqe_nr_waits_for_n),
		T(test_submit_and_wait_returns_submitted),
		T(test_peek_batch_respects_count_and_does_not_consume),
		T(test_for_each_cqe_visits_all_then_advance),
		T(test_get_events_with_nothing_returns_zero),
		T(test_wait_timeout_returns_cqe_posted_later),
		T(test_submit_and_wait_blocks_until_completion),
		cmocka_unit_test(test_deadline_with_cqes_ready_succeeds_in_each_mode),
		cmocka_unit_test(test_signal_with_cqes_ready_succeeds_in_each_mode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
