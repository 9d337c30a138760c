/* SPDX-License-Identifier: MIT */
/*
 * The application's SIGSEGV and SIGBUS stay the application's while rings
 * exist: a handler it installs after setting up a ring does not see the
 * ring's bad pointers (those still give -EFAULT, with or without
 * process_vm_readv, and in a thread that blocks SIGSEGV), a fault of its own reaches the handler it installed
 * before the ring, or the default action, and once the last ring is gone
 * the dispositions are the ones it set. Each case runs in a child process,
 * which owns its dispositions; the child's exit status tells the result.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "helpers.h"
#include "seccomp-filter.h"

#define HANDLED		7	/* exit status of a child whose handler ran */

static char *none_page;	/* PROT_NONE */

static void map_none_page(void)
{
	none_page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	if (none_page == MAP_FAILED)
		exit(1);
}

/* Runs child() in a child process; returns its wait status. */
static int in_child(void (*child)(void))
{
	struct rlimit no_core = { 0, 0 };
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		/* The child starts from the defaults, not the test runner's. */
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		setrlimit(RLIMIT_CORE, &no_core);
		map_none_page();
		child();
		exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void assert_exited(int status, int code)
{
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), code);
}

static void touch_none_page(void)
{
	*(volatile char *) none_page = 1;
}

/* A handler that ends the process: it must not run for the ring's copies,
 * and a fault of the application's must reach it at the right address. */
static void exit_if_none_page(int sig, siginfo_t *si, void *uc)
{
	(void) uc;
	_exit(sig == SIGSEGV && si->si_addr == none_page ? HANDLED : 2);
}

static void exit_handled(int sig)
{
	_exit(sig == SIGSEGV ? HANDLED : 2);
}

static void install(int sig, void (*action)(int, siginfo_t *, void *))
{
	struct sigaction sa = { .sa_sigaction = action, .sa_flags = SA_SIGINFO };

	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL))
		exit(1);
}

static void ring_or_exit(struct io_uring *ring)
{
	if (io_uring_queue_init(8, ring, 0))
		exit(1);
}

static int result_of_one(struct io_uring *ring)
{
	struct io_uring_cqe *cqe;
	int res;

	if (io_uring_submit(ring) != 1 || io_uring_wait_cqe(ring, &cqe))
		exit(1);
	res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return res;
}

/* Bad pointers the ring reads and writes, with a handler of the
 * application's in place that ends the process if it ever runs. */
static void bad_pointers_after_own_handler(void)
{
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	int fds[1] = { -1 };

	ring_or_exit(&ring);
	install(SIGSEGV, exit_if_none_page);
	install(SIGBUS, exit_if_none_page);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_timeout(sqe, (struct __kernel_timespec *) none_page, 0, 0);
	if (result_of_one(&ring) != -EFAULT)
		exit(3);
	if (io_uring_register_files(&ring, fds, 1) ||
	    io_uring_register_files_update(&ring, 0, (int *) none_page, 1) !=
	    -EFAULT)
		exit(4);
	io_uring_queue_exit(&ring);
}

static void test_own_handler_after_ring(void **state)
{
	(void) state;
	assert_exited(in_child(bad_pointers_after_own_handler), 0);
}

/* Signals set up anew along with a new ring: the copies see them. */
static void bad_pointer_after_own_handler_and_new_ring(void)
{
	struct __kernel_timespec ts = { 0, 1000 };
	struct io_uring ring, other;
	struct io_uring_sqe *sqe;

	ring_or_exit(&ring);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_timeout(sqe, &ts, 0, 0);
	if (result_of_one(&ring) != -ETIME)
		exit(3);
	install(SIGSEGV, exit_if_none_page);
	ring_or_exit(&other);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_timeout(sqe, (struct __kernel_timespec *) none_page, 0, 0);
	if (result_of_one(&ring) != -EFAULT)
		exit(4);
	io_uring_queue_exit(&other);
	io_uring_queue_exit(&ring);
}

static void test_own_handler_with_new_ring(void **state)
{
	(void) state;
	assert_exited(in_child(bad_pointer_after_own_handler_and_new_ring), 0);
}

/* A thread that blocks SIGSEGV would not be sent it: the kernel would
 * kill the process instead. */
static void bad_pointers_with_faults_blocked(void)
{
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	sigset_t all;

	ring_or_exit(&ring);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_timeout(sqe, (struct __kernel_timespec *) none_page, 0, 0);
	if (result_of_one(&ring) != -EFAULT)
		exit(3);
	io_uring_queue_exit(&ring);
}

static void test_faults_blocked(void **state)
{
	(void) state;
	assert_exited(in_child(bad_pointers_with_faults_blocked), 0);
}

static void bad_pointers_after_own_handler_no_process_vm(void)
{
	seccomp_deny_process_vm();
	bad_pointers_after_own_handler();
}

static void test_own_handler_after_ring_no_process_vm(void **state)
{
	(void) state;
	assert_exited(in_child(bad_pointers_after_own_handler_no_process_vm), 0);
}

static void own_fault_with_handler_before_ring(void)
{
	struct io_uring ring;

	install(SIGSEGV, exit_if_none_page);
	ring_or_exit(&ring);
	touch_none_page();
}

static void test_own_fault_reaches_handler(void **state)
{
	(void) state;
	assert_exited(in_child(own_fault_with_handler_before_ring), HANDLED);
}

static void own_fault_with_plain_handler_before_ring(void)
{
	struct io_uring ring;

	signal(SIGSEGV, exit_handled);
	ring_or_exit(&ring);
	touch_none_page();
}

static void test_own_fault_reaches_plain_handler(void **state)
{
	(void) state;
	assert_exited(in_child(own_fault_with_plain_handler_before_ring),
		      HANDLED);
}

static void own_fault_without_handler(void)
{
	struct io_uring ring;

	ring_or_exit(&ring);
	touch_none_page();
}

static void test_own_fault_default_action(void **state)
{
	int status;

	(void) state;
	status = in_child(own_fault_without_handler);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSEGV);
}

static void own_raise_without_handler(void)
{
	struct io_uring ring;

	ring_or_exit(&ring);
	raise(SIGSEGV);
}

static void test_own_raise_default_action(void **state)
{
	int status;

	(void) state;
	status = in_child(own_raise_without_handler);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSEGV);
}

static void own_dispositions_back_without_rings(void)
{
	struct sigaction segv, bus;
	struct io_uring ring;

	install(SIGSEGV, exit_if_none_page);
	ring_or_exit(&ring);
	io_uring_queue_exit(&ring);
	if (sigaction(SIGSEGV, NULL, &segv) || sigaction(SIGBUS, NULL, &bus))
		exit(1);
	if (segv.sa_sigaction != exit_if_none_page || bus.sa_handler != SIG_DFL)
		exit(3);
}

static void test_own_dispositions_back_without_rings(void **state)
{
	(void) state;
	assert_exited(in_child(own_dispositions_back_without_rings), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_own_handler_after_ring),
		cmocka_unit_test(test_own_handler_after_ring_no_process_vm),
		cmocka_unit_test(test_own_handler_with_new_ring),
		cmocka_unit_test(test_faults_blocked),
		cmocka_unit_test(test_own_fault_reaches_handler),
		cmocka_unit_test(test_own_fault_reaches_plain_handler),
		cmocka_unit_test(test_own_fault_default_action),
		cmocka_unit_test(test_own_raise_default_action),
		cmocka_unit_test(test_own_dispositions_back_without_rings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
