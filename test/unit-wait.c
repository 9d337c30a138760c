/* SPDX-License-Identifier: MIT */
/*
 * The wait loop where epoll_pwait2 is missing (older kernels) or denied
 * (seccomp): a seccomp filter makes it fail with ENOSYS, counting the
 * attempts, and a waiter that runs readiness itself (DEFER_TASKRUN) must
 * still get its completions and its timeout, asking for epoll_pwait2 once
 * rather than spinning on it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include "helpers.h"

#if defined(__x86_64__)
#define FILTER_ARCH	AUDIT_ARCH_X86_64
#define SET_RESULT(uc, v) ((uc)->uc_mcontext.gregs[REG_RAX] = (v))
#elif defined(__aarch64__)
#define FILTER_ARCH	AUDIT_ARCH_AARCH64
#define SET_RESULT(uc, v) ((uc)->uc_mcontext.regs[0] = (unsigned long) (v))
#endif

#if defined(FILTER_ARCH) && defined(__NR_epoll_pwait2)
static volatile sig_atomic_t pwait2_calls;

/* The denied call returns -ENOSYS, as where the kernel lacks it. */
static void on_sigsys(int sig, siginfo_t *si, void *ctx)
{
	(void) sig;
	(void) si;
	pwait2_calls++;
	SET_RESULT((ucontext_t *) ctx, -ENOSYS);
}

static int deny_epoll_pwait2(void)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, FILTER_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_epoll_pwait2, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {
		.len = sizeof(code) / sizeof(code[0]), .filter = code,
	};
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	if (sigaction(SIGSYS, &sa, NULL) ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		return -1;
	return 0;
}

static int wait_for(struct io_uring *ring, unsigned nr, long ms)
{
	struct __kernel_timespec ts = { .tv_sec = ms / 1000,
					.tv_nsec = (ms % 1000) * 1000000L };
	struct io_uring_cqe *cqe;

	return io_uring_wait_cqes(ring, &cqe, nr, &ts, NULL);
}

/* In a child: the filter stays there. 0 when all went as on the kernel. */
static int check_without_epoll_pwait2(void)
{
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	char buf[4];
	int p[2];

	if (deny_epoll_pwait2() || pipe(p) ||
	    io_uring_queue_init(4, &ring, IORING_SETUP_SINGLE_ISSUER |
					  IORING_SETUP_DEFER_TASKRUN))
		return 1;
	io_uring_prep_read(io_uring_get_sqe(&ring), p[0], buf, 4, 0);
	if (io_uring_submit(&ring) != 1)
		return 2;
	/* Nothing ready: the deadline ends the wait. */
	if (wait_for(&ring, 1, 20) != -ETIME)
		return 3;
	/* Data comes: the waiter runs the read and reaps it. */
	if (write(p[1], "data", 4) != 4 || wait_for(&ring, 1, 10000) != 0 ||
	    io_uring_peek_cqe(&ring, &cqe) || cqe->res != 4)
		return 4;
	io_uring_cqe_seen(&ring, cqe);
	if (wait_for(&ring, 1, 20) != -ETIME)
		return 5;
	/* Asked once, then never again: no spinning on ENOSYS. */
	if (pwait2_calls != 1)
		return 6;
	io_uring_queue_exit(&ring);
	return 0;
}

static void test_wait_without_epoll_pwait2(void **state)
{
	int status;
	pid_t pid;

	(void) state;
	pid = fork();
	assert_true(pid >= 0);
	if (!pid)
		_exit(check_without_epoll_pwait2());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}
#else
static void test_wait_without_epoll_pwait2(void **state)
{
	(void) state;
	skip();
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wait_without_epoll_pwait2),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
