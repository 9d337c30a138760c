/* SPDX-License-Identifier: MIT */
/*
 * ACCEPT on a blocking listener (no O_NONBLOCK, as liburing's examples make
 * them) that another thread accepts on too: whoever takes a connection, the
 * ring is never held up. When the other thread wins, the ACCEPT stays
 * pending while the ring goes on completing other work (a NOP, a READ that
 * waits for readiness), then takes the next connection or is cancelled.
 * Each round races once, with the ACCEPT submitted before the connection
 * (it waits for readiness) or after it (it finds the connection there);
 * a ring that blocks in accept4() hangs, and alarm() ends the test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <semaphore.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>
#include "helpers.h"

#define ROUNDS		400
#define ACCEPT_UD	1
#define REPORT_UD	2
#define NOP_UD		3
#define CANCEL_UD	4

/*
 * The other thread: one blocking accept() per go, reported by a byte. It
 * calls accept() a varying while after the ring's move (fire), so that
 * over the rounds its accept() lands anywhere in the ring's: between the
 * ring's look at the listener and its accept4(), say.
 */
struct rival {
	int listen_fd;
	int report[2];		/* a pipe: one byte per connection taken */
	sem_t go;
	bool stop;
	bool waiting;		/* awake, waiting for fire */
	bool fire;		/* the ring's move is made: count from now */
	long delay_ns;
	pthread_t thread;
};

struct race {
	struct io_uring *ring;
	struct rival rival;
	struct sockaddr_in addr;
	char report_byte;
};

static long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/* Busy: a sleep would take far longer than the ring's moves. */
static void wait_fire(struct rival *r)
{
	long start, delay_ns = __atomic_load_n(&r->delay_ns, __ATOMIC_RELAXED);

	__atomic_store_n(&r->waiting, true, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&r->fire, __ATOMIC_ACQUIRE))
		;
	start = now_ns();
	while (now_ns() - start < delay_ns)
		;
}

static void *rival_main(void *arg)
{
	struct rival *r = arg;
	int fd;

	for (;;) {
		while (sem_wait(&r->go))
			;
		if (__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE))
			return NULL;
		wait_fire(r);
		fd = accept(r->listen_fd, NULL, NULL);
		if (fd >= 0)
			close(fd);
		if (write(r->report[1], "x", 1) != 1)
			abort();
	}
}

static int blocking_listener(struct sockaddr_in *addr)
{
	socklen_t len = sizeof(*addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *) addr, len), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *) addr, &len), 0);
	assert_false(fcntl(fd, F_GETFL) & O_NONBLOCK);
	return fd;
}

/* Closed with a reset: thousands of rounds leave no TIME_WAIT behind. */
static int connect_client(const struct sockaddr_in *addr)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	assert_int_equal(connect(fd, (const struct sockaddr *) addr,
				 sizeof(*addr)), 0);
	return fd;
}

static void race_start(struct race *rc, struct io_uring *ring)
{
	struct rival *r = &rc->rival;

	rc->ring = ring;
	r->listen_fd = blocking_listener(&rc->addr);
	assert_int_equal(pipe2(r->report, O_CLOEXEC), 0);
	assert_int_equal(sem_init(&r->go, 0, 0), 0);
	r->stop = false;
	assert_int_equal(pthread_create(&r->thread, NULL, rival_main, r), 0);
}

static void race_end(struct race *rc)
{
	struct rival *r = &rc->rival;

	__atomic_store_n(&r->stop, true, __ATOMIC_RELEASE);
	assert_int_equal(sem_post(&r->go), 0);
	assert_int_equal(pthread_join(r->thread, NULL), 0);
	sem_destroy(&r->go);
	close(r->report[0]);
	close(r->report[1]);
	close(r->listen_fd);
}

static void submit(struct io_uring *ring, int nr)
{
	assert_int_equal(io_uring_submit(ring), nr);
}

static void prep_accept(struct race *rc)
{
	struct io_uring_sqe *sqe = must_get_sqe(rc->ring);

	io_uring_prep_accept(sqe, rc->rival.listen_fd, NULL, NULL, SOCK_CLOEXEC);
	sqe->user_data = ACCEPT_UD;
}

static struct test_cqe reap(struct io_uring *ring)
{
	struct test_cqe c;

	assert_int_equal(reap_in_engine(ring, &c), 0);
	return c;
}

/* The rival took the connection: the ring still completes other work. */
static void nop_completes(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);
	struct test_cqe c;

	io_uring_prep_nop(sqe);
	sqe->user_data = NOP_UD;
	submit(ring, 1);
	c = reap(ring);
	assert_true(c.user_data == NOP_UD);
	assert_int_equal(c.res, 0);
}

/*
 * The pending ACCEPT is cancelled. The kernel finds it waiting for
 * readiness. uring-alike may find it running in a worker, on its way to
 * wait there or in accept4() when the rival took the connection between
 * the worker's look and its call: then, as for any work it interrupts,
 * -EALREADY, and the request ends with -ECANCELED or the call's -EINTR.
 */
static void cancel_accept(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);
	struct test_cqe c, cancel = { 0 }, acc = { 0 };

	io_uring_prep_cancel64(sqe, ACCEPT_UD, 0);
	sqe->user_data = CANCEL_UD;
	submit(ring, 1);
	for (int i = 0; i < 2; i++) {
		c = reap(ring);
		if (c.user_data == CANCEL_UD)
			cancel = c;
		else if (c.user_data == ACCEPT_UD)
			acc = c;
		else
			fail_msg("unexpected CQE %llu", (unsigned long long) c.user_data);
	}
#ifdef TEST_KERNEL
	assert_int_equal(cancel.res, 0);
#endif
	if (cancel.res == -EALREADY) {
		assert_true(acc.res == -ECANCELED || acc.res == -EINTR);
	} else {
		assert_int_equal(cancel.res, 0);
		assert_int_equal(acc.res, -ECANCELED);
	}
}

/*
 * One connection, raced for by the rival's accept() and the ring's ACCEPT,
 * submitted before or after it connects; the loser gets a second one or,
 * for the ring every other time, is cancelled. The rival is told to go
 * when the ring's move is made, after delay_ns.
 */
static void race_round(struct race *rc, bool accept_first, bool cancel,
		       long delay_ns)
{
	struct io_uring *ring = rc->ring;
	struct io_uring_sqe *sqe = must_get_sqe(ring);
	struct test_cqe c;
	int c1, c2 = -1;

	io_uring_prep_read(sqe, rc->rival.report[0], &rc->report_byte, 1, 0);
	sqe->user_data = REPORT_UD;
	if (accept_first)
		prep_accept(rc);
	submit(ring, accept_first ? 2 : 1);
	/* Atomic: the rival's last round ended with a pipe write, which
	 * ThreadSanitizer does not take for an order. */
	__atomic_store_n(&rc->rival.delay_ns, delay_ns, __ATOMIC_RELAXED);
	__atomic_store_n(&rc->rival.fire, false, __ATOMIC_RELAXED);
	__atomic_store_n(&rc->rival.waiting, false, __ATOMIC_RELAXED);
	assert_int_equal(sem_post(&rc->rival.go), 0);
	while (!__atomic_load_n(&rc->rival.waiting, __ATOMIC_ACQUIRE))
		sched_yield();
	if (accept_first) {
		__atomic_store_n(&rc->rival.fire, true, __ATOMIC_RELEASE);
		c1 = connect_client(&rc->addr);
	} else {
		c1 = connect_client(&rc->addr);
		prep_accept(rc);
		__atomic_store_n(&rc->rival.fire, true, __ATOMIC_RELEASE);
		submit(ring, 1);
	}
	c = reap(ring);
	if (c.user_data == ACCEPT_UD) {
		assert_true(c.res >= 0);
		close(c.res);
		c2 = connect_client(&rc->addr);		/* for the rival */
		c = reap(ring);
		assert_true(c.user_data == REPORT_UD);
		assert_int_equal(c.res, 1);
	} else {
		assert_true(c.user_data == REPORT_UD);
		assert_int_equal(c.res, 1);
		nop_completes(ring);
		if (cancel) {
			cancel_accept(ring);
		} else {
			c2 = connect_client(&rc->addr);
			c = reap(ring);
			assert_true(c.user_data == ACCEPT_UD);
			assert_true(c.res >= 0);
			close(c.res);
		}
	}
	assert_true(cq_is_empty(ring));
	close(c1);
	if (c2 >= 0)
		close(c2);
}

static void run_rounds(void **state)
{
	struct race rc;

	alarm(60);	/* an engine thread blocked in accept4() hangs */
	race_start(&rc, fixture_ring(state));
	/* The rival's accept() sweeps the ring's: up to 10 us after an
	 * ACCEPT finds the connection there, up to 50 us after the
	 * connection wakes one that waits for it. */
	for (int i = 0; i < ROUNDS; i++)
		race_round(&rc, i & 1, i & 2,
			   (i & 1 ? 50000L : 10000L) * (i % 97) / 97);
	race_end(&rc);
	alarm(0);
}

static void test_race(void **state)
{
	run_rounds(state);
}

/* Readiness runs only in the thread that waits: nothing else can. */
static void test_race_defer_taskrun(void **state)
{
	run_rounds(state);
}

static int setup_ring(void **state)
{
	return fixture_setup_ring(state, 16, 0);
}

static int setup_defer_ring(void **state)
{
	return fixture_setup_ring(state, 16, IORING_SETUP_SINGLE_ISSUER |
					     IORING_SETUP_DEFER_TASKRUN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_race, setup_ring,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_race_defer_taskrun,
						setup_defer_ring,
						fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
