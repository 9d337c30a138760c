/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the copies from and to application memory
 * (src/engine/uaccess.c): whole or -EFAULT, never a fault, for ranges that
 * start, end or cross into unreadable or unwritable pages; copies larger
 * than a pipe holds; several threads copying at once; a forked child
 * copying while its parent does; no descriptor is left once no ring holds
 * the copies' resources. The group runs once in a child where
 * process_vm_readv/writev fail with EPERM and cmocka's SIGSEGV handler is
 * in place (the pipe fallback), once in a child where pipe2 fails too and
 * the engine's fault guard is in place (a plain memcpy, no system call),
 * then in the parent under the guard, where a handler put over the
 * engine's that passes faults on still gives -EFAULT.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "helpers.h"
#include "engine/uaccess.h"

#define PAGE		4096
#define BIG		(1u << 20)	/* more than a pipe holds */
#define NR_THREADS	4
#define NR_ROUNDS	2000

static char *pages;	/* [rw][none][ro][rw] */

/* The engine's SIGSEGV and SIGBUS handler, as a ring installs it. */
static struct sigaction engine_segv, engine_bus;
static bool with_guard;

/*
 * The copies trust the engine's guard only inside a call of the
 * application's (io_uring_enter, io_uring_register): each test, and each
 * thread, copies inside one. cmocka puts its own SIGSEGV handler in place
 * around every test, so that the guard is not the engine's then: the
 * guarded runs put it back.
 */
static void call_begin(void)
{
	if (with_guard) {
		sigaction(SIGSEGV, &engine_segv, NULL);
		sigaction(SIGBUS, &engine_bus, NULL);
	}
	ua_uaccess_begin();
}

static void call_end(void)
{
	ua_uaccess_end();
}

static __u64 uptr(const void *p)
{
	return (__u64) (uintptr_t) p;
}

/* The group runs as if a ring existed. */
static int group_setup(void **state)
{
	(void) state;
	ua_uaccess_get();
	pages = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pages == MAP_FAILED)
		return -1;
	memset(pages, 'a', PAGE);
	return mprotect(pages + PAGE, PAGE, PROT_NONE) ||
	       mprotect(pages + 2 * PAGE, PAGE, PROT_READ);
}

static int group_teardown(void **state)
{
	(void) state;
	ua_uaccess_put();
	return 0;
}

static void test_reads_whole_or_efault(void **state)
{
	char buf[64];

	(void) state;
	memset(buf, 0, sizeof(buf));
	assert_int_equal(ua_copy_from_user(buf, uptr(pages + PAGE - 64), 64), 0);
	assert_memory_equal(buf, pages, 64);
	assert_int_equal(ua_copy_from_user(buf, uptr(pages + PAGE - 32), 64), -EFAULT);
	assert_int_equal(ua_copy_from_user(buf, uptr(pages + PAGE), 8), -EFAULT);
	assert_int_equal(ua_copy_from_user(buf, 0, 8), -EFAULT);
	assert_int_equal(ua_copy_from_user(buf, 0x10, 8), -EFAULT);
	assert_int_equal(ua_copy_from_user(buf, UINT64_MAX - 4, 8), -EFAULT);
	assert_int_equal(ua_copy_from_user(buf, 0, 0), 0);
	/* The read-only page reads. */
	assert_int_equal(ua_copy_from_user(buf, uptr(pages + 2 * PAGE), 8), 0);
}

static void test_writes_whole_or_efault(void **state)
{
	char buf[64];

	(void) state;
	memset(buf, 'z', sizeof(buf));
	assert_int_equal(ua_copy_to_user(uptr(pages + 8), buf, 64), 0);
	assert_memory_equal(pages + 8, buf, 64);
	assert_int_equal(ua_copy_to_user(uptr(pages + PAGE - 32), buf, 64), -EFAULT);
	assert_int_equal(ua_copy_to_user(uptr(pages + 2 * PAGE), buf, 8), -EFAULT);
	assert_int_equal(ua_copy_to_user(0x10, buf, 8), -EFAULT);
	/* A failed copy leaves nothing behind: the next one is exact. */
	memset(buf, 'y', sizeof(buf));
	assert_int_equal(ua_copy_to_user(uptr(pages + 100), buf, 64), 0);
	assert_memory_equal(pages + 100, buf, 64);
	memset(pages, 'a', PAGE);
}

static void test_strings(void **state)
{
	char buf[PATH_MAX], *dup = NULL;
	char *end = pages + PAGE;

	(void) state;
	memcpy(end - 4, "abc", 4);
	assert_int_equal(ua_strncpy_from_user(buf, uptr(end - 4), sizeof(buf)), 3);
	assert_string_equal(buf, "abc");
	assert_int_equal(ua_strncpy_from_user(buf, uptr(end - 4), 2), 2);
	end[-1] = 'd';
	assert_int_equal(ua_strncpy_from_user(buf, uptr(end - 4), sizeof(buf)), -EFAULT);
	assert_int_equal(ua_strndup_from_user(&dup, uptr(end - 4)), -EFAULT);
	end[-1] = '\0';
	assert_int_equal(ua_strndup_from_user(&dup, uptr(end - 4)), 0);
	assert_string_equal(dup, "abc");
	free(dup);
	end[-4] = '\0';
	assert_int_equal(ua_strndup_from_user(&dup, uptr(end - 4)), -ENOENT);
	memset(pages, 'a', PAGE);
	/* PATH_MAX bytes with no NUL, then fewer before the none page. */
	assert_int_equal(ua_strndup_from_user(&dup, uptr(pages)), -ENAMETOOLONG);
	assert_int_equal(ua_strndup_from_user(&dup, uptr(pages + 1)), -EFAULT);
}

static void test_path_too_long(void **state)
{
	char *path = malloc(2 * PATH_MAX), *dup = NULL;

	(void) state;
	assert_non_null(path);
	memset(path, 'p', 2 * PATH_MAX - 1);
	path[2 * PATH_MAX - 1] = '\0';
	assert_int_equal(ua_strndup_from_user(&dup, uptr(path)), -ENAMETOOLONG);
	path[PATH_MAX - 1] = '\0';
	assert_int_equal(ua_strndup_from_user(&dup, uptr(path)), 0);
	assert_int_equal(strlen(dup), PATH_MAX - 1);
	free(dup);
	free(path);
}

static void test_big_copies(void **state)
{
	unsigned char *src = malloc(BIG), *dst = malloc(BIG);

	(void) state;
	assert_true(src && dst);
	for (size_t i = 0; i < BIG; i++)
		src[i] = (unsigned char) (i * 7 + (i >> 12));
	memset(dst, 0, BIG);
	assert_int_equal(ua_copy_from_user(dst, uptr(src), BIG), 0);
	assert_memory_equal(dst, src, BIG);
	memset(dst, 0, BIG);
	assert_int_equal(ua_copy_to_user(uptr(dst), src, BIG), 0);
	assert_memory_equal(dst, src, BIG);
	free(src);
	free(dst);
}

/* Each thread copies its own pattern back and forth; any mix-up between
 * copies (a shared pipe) shows as a foreign byte. */
static void *copy_loop(void *arg)
{
	unsigned char id = (unsigned char) (uintptr_t) arg;
	unsigned char src[300], mid[300], out[300];
	long bad = 0;

	call_begin();
	memset(src, id, sizeof(src));
	for (int i = 0; i < NR_ROUNDS; i++) {
		size_t len = 1 + (size_t) (i * 37) % sizeof(src);

		if (ua_copy_from_user(mid, uptr(src), len) ||
		    ua_copy_to_user(uptr(out), mid, len) ||
		    memcmp(out, src, len))
			bad++;
		if (ua_copy_from_user(mid, uptr(pages + PAGE - 8), 16) != -EFAULT)
			bad++;
	}
	call_end();
	return (void *) bad;
}

static void test_threads(void **state)
{
	pthread_t t[NR_THREADS];
	void *bad;

	(void) state;
	for (uintptr_t i = 0; i < NR_THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, copy_loop,
						(void *) (i + 1)), 0);
	for (int i = 0; i < NR_THREADS; i++) {
		assert_int_equal(pthread_join(t[i], &bad), 0);
		assert_null(bad);
	}
}

/* Parent and child copy at once: each must see only its own bytes. */
static void test_fork(void **state)
{
	pid_t pid;
	int status;

	(void) state;
	assert_null(copy_loop((void *) 1));	/* the pipe exists, if used */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(copy_loop((void *) 2) ? 1 : 0);
	assert_null(copy_loop((void *) 3));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_no_ring_keeps_no_descriptor(void **state)
{
	char buf[16];
	int fds;

	(void) state;
	assert_int_equal(ua_copy_from_user(buf, uptr(pages), sizeof(buf)), 0);
	ua_uaccess_put();
	fds = count_open_fds();
	assert_int_equal(ua_copy_from_user(buf, uptr(pages), sizeof(buf)), 0);
	assert_int_equal(ua_copy_to_user(uptr(pages), buf, sizeof(buf)), 0);
	assert_int_equal(count_open_fds(), fds);
	ua_uaccess_get();
}

/* A handler of the application's put over the engine's after the thread
 * asked, which passes on the faults it does not own, as runtimes do. */
static struct sigaction replaced;
static int passed_on;

static void pass_on(int sig, siginfo_t *si, void *uc)
{
	passed_on++;
	replaced.sa_sigaction(sig, si, uc);
}

static void test_handler_over_guard_passes_fault_on(void **state)
{
	struct sigaction sa = { .sa_sigaction = pass_on, .sa_flags = SA_SIGINFO };
	char buf[16];

	(void) state;
	assert_int_equal(ua_copy_from_user(buf, uptr(pages), sizeof(buf)), 0);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &replaced);
	assert_int_equal(ua_copy_from_user(buf, uptr(pages + PAGE), 8), -EFAULT);
	assert_int_equal(passed_on, 1);
}

/* Fails the given system calls with EPERM, as a container's profile does. */
static void deny(const int *nrs, unsigned n)
{
	struct sock_filter filter[8];
	struct sock_fprog prog = { .len = 0, .filter = filter };
	unsigned i;

	filter[prog.len++] = (struct sock_filter)
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr));
	for (i = 0; i < n; i++)
		filter[prog.len++] = (struct sock_filter)
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned) nrs[i],
				 (__u8) (n - i), 0);
	filter[prog.len++] = (struct sock_filter)
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	filter[prog.len++] = (struct sock_filter)
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
		perror("seccomp");
		exit(1);
	}
}

static const int process_vm[] = {
	__NR_process_vm_readv, __NR_process_vm_writev,
};
static const int process_vm_and_pipe[] = {
	__NR_process_vm_readv, __NR_process_vm_writev, __NR_pipe2,
};

#define IN_CALL(test)						\
static void test##_in_call(void **state)			\
{								\
	call_begin();						\
	test(state);						\
	call_end();						\
}
IN_CALL(test_reads_whole_or_efault)
IN_CALL(test_writes_whole_or_efault)
IN_CALL(test_strings)
IN_CALL(test_path_too_long)
IN_CALL(test_big_copies)
IN_CALL(test_threads)
IN_CALL(test_fork)
IN_CALL(test_no_ring_keeps_no_descriptor)
IN_CALL(test_handler_over_guard_passes_fault_on)

#define COPY_TESTS \
	cmocka_unit_test(test_reads_whole_or_efault_in_call), \
	cmocka_unit_test(test_writes_whole_or_efault_in_call), \
	cmocka_unit_test(test_strings_in_call), \
	cmocka_unit_test(test_path_too_long_in_call), \
	cmocka_unit_test(test_big_copies_in_call), \
	cmocka_unit_test(test_threads_in_call), \
	cmocka_unit_test(test_fork_in_call)

static int run_group(void)
{
	const struct CMUnitTest tests[] = {
		COPY_TESTS,
		cmocka_unit_test(test_no_ring_keeps_no_descriptor_in_call),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

static int run_group_guarded(void)
{
	const struct CMUnitTest tests[] = {
		COPY_TESTS,
		cmocka_unit_test(test_no_ring_keeps_no_descriptor_in_call),
		cmocka_unit_test(test_handler_over_guard_passes_fault_on_in_call),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/* Under the guard, a copy is a memcpy(): no system call copies. */
static int run_group_without_copy_syscalls(void)
{
	const struct CMUnitTest tests[] = { COPY_TESTS };

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/* Runs a group in a child where the given system calls fail. */
static int in_child(int (*group)(void), const int *nrs, unsigned n,
		    const char *what)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return 1;
	if (pid == 0) {
		deny(nrs, n);
		exit(group() ? 1 : 0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		fprintf(stderr, "the run %s failed\n", what);
		return 1;
	}
	return 0;
}

int main(void)
{
	struct sigaction before;

	sigaction(SIGSEGV, NULL, &before);
	ua_uaccess_get();
	sigaction(SIGSEGV, NULL, &engine_segv);
	sigaction(SIGBUS, NULL, &engine_bus);
	ua_uaccess_put();
	/* Under cmocka's handler: the pipe. */
	if (in_child(run_group, process_vm, 2, "without process_vm_readv"))
		return 1;
	/* Sanitizer builds have no guard: the ring changed nothing. */
	with_guard = engine_segv.sa_sigaction != before.sa_sigaction;
	if (with_guard &&
	    in_child(run_group_without_copy_syscalls, process_vm_and_pipe, 3,
		     "under the guard, without process_vm_readv and pipe2"))
		return 1;
	return with_guard ? run_group_guarded() : run_group();
}
