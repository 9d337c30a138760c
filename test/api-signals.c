/* SPDX-License-Identifier: MIT */
/* Waiting with a signal mask: the mask is in force for the wait only. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include "helpers.h"

static volatile sig_atomic_t handled;

static void on_usr1(int sig)
{
	(void) sig;
	handled++;
}

static int setup(void **state)
{
	static struct io_uring ring;
	struct sigaction sa;
	sigset_t usr1;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	handled = 0;
	*state = &ring;
	return io_uring_queue_init(4, &ring, 0);
}

static int teardown(void **state)
{
	io_uring_queue_exit(*state);
	return 0;
}

/* A pending signal the wait's mask lets through ends the wait: -EINTR. */
static void test_mask_unblocking_pending_signal_is_eintr(void **state)
{
	struct __kernel_timespec ts = { .tv_sec = 5 };
	struct io_uring_cqe *cqe;
	sigset_t none;

	sigemptyset(&none);
	raise(SIGUSR1);
	assert_int_equal(io_uring_wait_cqes(*state, &cqe, 1, &ts, &none), -EINTR);
	assert_int_equal(handled, 1);
}

/* A mask that keeps the signal blocked leaves it pending: the wait times
 * out, and the caller's own mask is back in force afterwards. */
static void test_mask_keeping_signal_blocked_times_out(void **state)
{
	struct __kernel_timespec ts = { .tv_nsec = 20 * 1000 * 1000 };
	struct io_uring_cqe *cqe;
	sigset_t usr1, pending, now;

	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	raise(SIGUSR1);
	assert_int_equal(io_uring_wait_cqes(*state, &cqe, 1, &ts, &usr1), -ETIME);
	assert_int_equal(handled, 0);
	sigpending(&pending);
	assert_true(sigismember(&pending, SIGUSR1));
	sigprocmask(SIG_BLOCK, NULL, &now);
	assert_true(sigismember(&now, SIGUSR1));
	/* Let the handler run before the next test. */
	sigprocmask(SIG_UNBLOCK, &usr1, NULL);
	assert_int_equal(handled, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_mask_unblocking_pending_signal_is_eintr, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_mask_keeping_signal_blocked_times_out, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
