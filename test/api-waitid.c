/* SPDX-License-Identifier: MIT */
/*
 * WAITID: a child's state change now, or waited for; the siginfo_t the
 * kernel fills; errors; cancellation of a wait.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "helpers.h"

#ifdef LIBURING_BEFORE_2_15
/* liburing 2.3 has no helper for it (2.15 has): the SQE by hand. */
#define OP_WAITID	50

static void io_uring_prep_waitid(struct io_uring_sqe *sqe, idtype_t idtype,
				 id_t id, siginfo_t *infop, int options,
				 unsigned int flags)
{
	io_uring_prep_rw(OP_WAITID, sqe, (int) id, NULL, (unsigned) idtype, 0);
	sqe->rw_flags = (int) flags;
	sqe->file_index = (unsigned) options;
	sqe->addr2 = (unsigned long) infop;
}
#else
#define OP_WAITID	IORING_OP_WAITID
#endif

/*
 * A child that exits with status 7 once a byte is written to *release. It
 * is made by a bare clone(): fork() would run the engine's fork handlers
 * (and the sanitizers'), which are not what this file tests; the child
 * only makes system calls.
 */
static pid_t child_waiting(int *release)
{
	int p[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe(p), 0);
	pid = (pid_t) syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0);
	assert_true(pid >= 0);
	if (!pid) {
		/* Only the parent's end keeps the pipe open: if the parent
		 * dies, the read ends and so does the child. */
		syscall(SYS_close, p[1]);
		syscall(SYS_exit_group,
			syscall(SYS_read, p[0], &c, 1) == 1 ? 7 : 1);
	}
	close(p[0]);
	*release = p[1];
	return pid;
}

static void release_child(int release)
{
	assert_int_equal(write(release, "x", 1), 1);
	close(release);
}

static struct io_uring_sqe *prep(struct io_uring *ring, idtype_t type, id_t id,
				 siginfo_t *si, int options, __u64 ud)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);

	io_uring_prep_waitid(sqe, type, id, si, options, 0);
	sqe->user_data = ud;
	return sqe;
}

static void assert_zeroed(const siginfo_t *si)
{
	assert_int_equal(si->si_signo, 0);
	assert_int_equal(si->si_code, 0);
	assert_int_equal(si->si_pid, 0);
	assert_int_equal(si->si_status, 0);
}

static void test_no_child(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	siginfo_t si;

	memset(&si, 0x55, sizeof(si));
	prep(ring, P_ALL, 0, &si, WEXITED, 1);
	assert_int_equal(submit_wait_in_engine(ring, 1), -ECHILD);
	assert_zeroed(&si);
}

static void test_wait_for_exit(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	int release;
	pid_t pid = child_waiting(&release);
	struct test_cqe c;
	siginfo_t si;

	/* Nothing yet: WNOHANG answers 0 with nothing filled in. */
	memset(&si, 0x55, sizeof(si));
	prep(ring, P_PID, (id_t) pid, &si, WEXITED | WNOHANG, 1);
	assert_int_equal(submit_wait_in_engine(ring, 1), 0);
	assert_zeroed(&si);
	/* Without it the request waits for the exit. */
	memset(&si, 0x55, sizeof(si));
	prep(ring, P_PID, (id_t) pid, &si, WEXITED | WNOWAIT, 2);
	assert_int_equal(io_uring_submit(ring), 1);
	assert_true(cq_is_empty(ring));
	release_child(release);
	assert_int_equal(reap_in_engine(ring, &c), 0);
	assert_int_equal(c.user_data, 2);
	assert_int_equal(c.res, 0);
	assert_int_equal(si.si_signo, SIGCHLD);
	assert_int_equal(si.si_pid, pid);
	assert_int_equal(si.si_code, CLD_EXITED);
	assert_int_equal(si.si_status, 7);
	/* WNOWAIT left it to be waited for again, now without waiting. */
	memset(&si, 0, sizeof(si));
	prep(ring, P_ALL, 0, &si, WEXITED, 3);
	assert_int_equal(submit_wait_in_engine(ring, 3), 0);
	assert_int_equal(si.si_pid, pid);
	prep(ring, P_PID, (id_t) pid, &si, WEXITED, 4);
	assert_int_equal(submit_wait_in_engine(ring, 4), -ECHILD);
}

/* Without a siginfo_t it still reaps; with one it cannot write, the child
 * is reaped and the request fails with -EFAULT, as on the kernel. */
static void test_infop(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	int release;
	pid_t pid = child_waiting(&release);

	release_child(release);
	prep(ring, P_PID, (id_t) pid, NULL, WEXITED, 1);
	assert_int_equal(submit_wait_in_engine(ring, 1), 0);
	assert_int_equal(waitpid(pid, NULL, WNOHANG), -1);
	pid = child_waiting(&release);
	release_child(release);
	prep(ring, P_PID, (id_t) pid, (siginfo_t *) 16, WEXITED, 2);
	assert_int_equal(submit_wait_in_engine(ring, 2), -EFAULT);
	assert_int_equal(waitpid(pid, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static void test_errors(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	siginfo_t si;

	prep(ring, P_ALL, 0, &si, 0, 1);
	assert_int_equal(submit_wait_in_engine(ring, 1), -EINVAL);
	prep(ring, P_ALL, 0, &si, WEXITED | 0x100, 2);
	assert_int_equal(submit_wait_in_engine(ring, 2), -EINVAL);
	prep(ring, (idtype_t) 9, 0, &si, WEXITED, 3);
	assert_int_equal(submit_wait_in_engine(ring, 3), -EINVAL);
	prep(ring, P_ALL, 0, &si, WEXITED, 4)->rw_flags = 1;
	assert_int_equal(submit_wait_in_engine(ring, 4), -EINVAL);
	prep(ring, P_ALL, 0, &si, WEXITED, 5)->addr = 1;
	assert_int_equal(submit_wait_in_engine(ring, 5), -EINVAL);
}

/* A wait for a child that does not exit ends with -ECANCELED, whether it
 * was looked at inline first or not (IOSQE_ASYNC). */
static void cancel_wait(void **state, __u8 sqe_flags)
{
	struct io_uring *ring = fixture_ring(state);
	int release;
	pid_t pid = child_waiting(&release);
	struct io_uring_sqe *sqe;
	struct test_cqe c;
	siginfo_t si;
	int seen = 0;

	prep(ring, P_PID, (id_t) pid, &si, WEXITED, 1)->flags |= sqe_flags;
	assert_int_equal(io_uring_submit(ring), 1);
	sqe = must_get_sqe(ring);
	io_uring_prep_cancel64(sqe, 1, 0);
	sqe->user_data = 2;
	assert_int_equal(io_uring_submit(ring), 1);
	while (seen != 3) {
		assert_int_equal(reap_in_engine(ring, &c), 0);
		seen |= 1 << (c.user_data - 1);
		if (c.user_data == 1)
			assert_int_equal(c.res, -ECANCELED);
	}
	release_child(release);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
}

static void test_wait_is_cancelled(void **state)
{
	cancel_wait(state, 0);
}

static void test_async_wait_is_cancelled(void **state)
{
	cancel_wait(state, IOSQE_ASYNC);
}

static void test_probe_reports_it(void **state)
{
	struct io_uring_probe *p = io_uring_get_probe_ring(fixture_ring(state));

	assert_non_null(p);
	assert_true(io_uring_opcode_supported(p, OP_WAITID));
	io_uring_free_probe(p);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_no_child),
		T(test_wait_for_exit),
		T(test_infop),
		T(test_errors),
		T(test_wait_is_cancelled),
		T(test_async_wait_is_cancelled),
		T(test_probe_reports_it),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
