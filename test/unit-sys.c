/* SPDX-License-Identifier: MIT */
/*
 * The engine's system boundary (sys.c): each wrapper with its system call
 * there, missing (ENOSYS) and refused (EPERM). A probe's answer lasts for
 * the process, and so does a seccomp filter: each case runs in a child.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "helpers.h"
#include "seccomp-filter.h"
#include "engine/sys.h"

#define CHECK(cond) do { if (!(cond)) return __LINE__; } while (0)

/* Runs check in a child, under the calls denied with err (none if 0);
 * the child reports the line of the first check that failed. */
static void run_in_child(int (*check)(void), int err)
{
	const struct denial deny[] = {
		{ SYS_epoll_pwait2, err }, { SYS_kcmp, err },
		{ SYS_close_range, err }, { SYS_membarrier, err },
		{ SYS_openat2, err }, { SYS_io_setup, err },
		{ SYS_memfd_create, err }, { SYS_process_vm_readv, err },
		{ SYS_futex_waitv, err }, DENIAL_END
	};
	int status, line;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		if (err && seccomp_deny(deny) < 0)
			_exit(2);
		line = check();
		if (line)
			fprintf(stderr, "check failed: unit-sys.c:%d\n", line);
		_exit(line ? 1 : 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Under make test-seccomp, the calls may already be refused. */
static bool filtered(void)
{
	char line[128];
	FILE *f = fopen("/proc/self/status", "r");
	bool ret = false;

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "Seccomp:", 8))
			ret = atoi(line + 8) != 0;
	if (f)
		fclose(f);
	return ret;
}

/* A wait with a timeout times out, and an event wakes it. */
static int check_epoll(void)
{
	struct timespec ts = { 0, 1 };
	struct epoll_event ev = { .events = EPOLLIN };
	int epfd = epoll_create1(EPOLL_CLOEXEC), efd = eventfd(0, EFD_CLOEXEC);

	CHECK(epfd >= 0 && efd >= 0);
	CHECK(epoll_ctl(epfd, EPOLL_CTL_ADD, efd, &ev) == 0);
	CHECK(ua_sys_epoll_pwait2(epfd, &ev, 1, &ts, NULL) == 0);
	CHECK(eventfd_write(efd, 1) == 0);
	CHECK(ua_sys_epoll_pwait2(epfd, &ev, 1, NULL, NULL) == 1);
	return 0;
}

/* Three numbers in a run, all closed. */
static int check_close_range(void)
{
	for (int fd = 500; fd < 503; fd++)
		CHECK(dup2(0, fd) == fd);
	ua_sys_close_range(500, 502);
	for (int fd = 500; fd < 503; fd++)
		CHECK(fcntl(fd, F_GETFD) < 0 && errno == EBADF);
	return 0;
}

/* The ring's memory: a close-on-exec file that maps shared. */
static int check_memfd(void)
{
	int fd = ua_sys_memfd_create("[io_uring]", MFD_CLOEXEC);
	char *p, c = 0;

	CHECK(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC));
	CHECK(ftruncate(fd, 4096) == 0);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED);
	p[100] = 'x';
	CHECK(pread(fd, &c, 1, 100) == 1 && c == 'x');
	return 0;
}

static int check_plain_openat2(void)
{
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC };
	long fd = ua_sys_openat2(AT_FDCWD, "/dev/null", &how);

	CHECK(fd >= 0 && (fcntl((int) fd, F_GETFD) & FD_CLOEXEC));
	/* What openat ignores and openat2 refuses. */
	how.mode = 0644;
	CHECK(ua_sys_openat2(AT_FDCWD, "/dev/null", &how) < 0 && errno == EINVAL);
	how = (struct open_how) { .flags = O_PATH | O_RDWR };
	CHECK(ua_sys_openat2(AT_FDCWD, "/dev/null", &how) < 0 && errno == EINVAL);
	how = (struct open_how) { .flags = O_RDONLY | (1ULL << 40) };
	CHECK(ua_sys_openat2(AT_FDCWD, "/dev/null", &how) < 0 && errno == EINVAL);
	return 0;
}

/* Every fallback, and errno left alone by the probes. */
static int check_fallbacks(void)
{
	struct open_how how = { .flags = O_RDONLY, .resolve = RESOLVE_NO_SYMLINKS };
	aio_context_t aio = 0;
	int line;

	errno = 1234;
	CHECK(!ua_sys_same_file(0, 0) && errno == 1234);
	CHECK(!ua_sys_membarrier_ready());
	CHECK(ua_sys_openat2(AT_FDCWD, "/dev/null", &how) < 0 && errno == ENOSYS);
	CHECK(ua_sys_io_setup(1, &aio) < 0 && errno == ENOSYS && !aio);
	CHECK(!ua_sys_process_vm_allowed());
	errno = 1234;
	CHECK(!ua_sys_futex_waitv_ready() && errno == 1234);
	line = check_epoll();
	line = line ? line : check_close_range();
	line = line ? line : check_memfd();
	return line ? line : check_plain_openat2();
}

/* A word that no longer holds the value: the wait ends at once. */
static int check_futex_waitv(void)
{
	uint32_t word = 1;
	struct futex_waitv w = {
		.val = 0, .uaddr = (uintptr_t) &word, .flags = 2 | 128,
	};

	CHECK(ua_sys_futex_waitv_ready());
	CHECK(ua_sys_futex_waitv(&w, 1) < 0 && errno == EAGAIN);
	return 0;
}

/* Every call there: each wrapper does what the call does. */
static int check_calls(void)
{
	struct open_how how = { .flags = O_RDONLY, .resolve = RESOLVE_NO_SYMLINKS };
	aio_context_t aio = 0;
	int fd = dup(0), line;

	CHECK(ua_sys_same_file(0, fd) && !ua_sys_same_file(0, -1));
	CHECK(ua_sys_membarrier_ready() && ua_sys_membarrier() == 0);
	CHECK(ua_sys_openat2(AT_FDCWD, "/dev/null", &how) >= 0);
	CHECK(ua_sys_io_setup(1, &aio) == 0 && aio);
	CHECK(ua_sys_process_vm_allowed());
	line = check_futex_waitv();
	line = line ? line : check_epoll();
	line = line ? line : check_close_range();
	line = line ? line : check_memfd();
	return line ? line : check_plain_openat2();
}

static void test_calls_missing(void **state)
{
	(void) state;
	run_in_child(check_fallbacks, ENOSYS);
}

static void test_calls_refused(void **state)
{
	(void) state;
	run_in_child(check_fallbacks, EPERM);
}

static void test_calls_present(void **state)
{
	(void) state;
	if (filtered())
		skip();
	run_in_child(check_calls, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_calls_missing),
		cmocka_unit_test(test_calls_refused),
		cmocka_unit_test(test_calls_present),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
