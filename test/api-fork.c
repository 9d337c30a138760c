/* SPDX-License-Identifier: MIT */
/*
 * fork() with rings: the child can let go of the rings it inherited, make
 * and use its own, and exit; the parent's rings go on as if nothing had
 * happened, and the child never completes anything of the parent's. Each
 * child runs with an alarm, so a hang ends as a failure, not a stuck test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "helpers.h"

#define CHILD_ALARM_SECS	20
#define NR_CONNECTIONS		5

/* ThreadSanitizer refuses threads in the child of a threaded process
 * unless told otherwise; the children here are what is under test. It does
 * not model fork() either: the child handler re-initialising the locks and
 * conditions parent threads last used looks to it like a race with them. */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UA_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__) || defined(UA_TSAN)
#define UNDER_TSAN 1
const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
	return "die_after_fork=0";
}

const char *__tsan_default_suppressions(void);
const char *__tsan_default_suppressions(void)
{
	return "race:atfork_child\n";
}
#endif

/* In a child cmocka cannot be used: a failed check exits with status 1. */
#define CHILD_CHECK(cond)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "child: %s:%d: %s\n", __FILE__,	\
				__LINE__, #cond);			\
			_exit(1);					\
		}							\
	} while (0)

static struct __kernel_timespec ms(long n)
{
	struct __kernel_timespec ts = { .tv_sec = n / 1000,
					.tv_nsec = (n % 1000) * 1000000L };
	return ts;
}

/*
 * The sanitizers' allocators, unlike glibc's malloc, are not made safe for
 * fork(): a parent thread allocating at that moment (one the ring has just
 * started, still setting itself up) leaves its lock taken in the child,
 * and the child's next new thread waits for it forever. Under a sanitizer
 * only, let the parent's threads get going first.
 */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UA_ASAN 1
#endif
#endif

static void settle_before_fork(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(UA_ASAN) || defined(UNDER_TSAN)
	sleep_ms(100);
#endif
}

static pid_t fork_child(void)
{
	pid_t pid;

	settle_before_fork();
	pid = fork();

	assert_true(pid >= 0);
	if (!pid)
		alarm(CHILD_ALARM_SECS);
	return pid;
}

static void assert_child_ok(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* A reap with a deadline, usable in a child. */
static int child_reap(struct io_uring *ring, struct test_cqe *c)
{
	struct __kernel_timespec ts = ms(10000);
	struct io_uring_cqe *cqe;
	int ret = io_uring_wait_cqe_timeout(ring, &cqe, &ts);

	if (ret < 0)
		return ret;
	c->user_data = cqe->user_data;
	c->res = cqe->res;
	c->flags = cqe->flags;
	io_uring_cqe_seen(ring, cqe);
	return 0;
}

/* The next SQE, its user_data set (NULL if the SQ is full). */
static struct io_uring_sqe *sqe_with_data(struct io_uring *ring, __u64 ud)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (sqe)
		io_uring_sqe_set_data64(sqe, ud);
	return sqe;
}

/* What a child does with a ring of its own: a timeout, then a NOP. */
static void child_uses_new_ring(void)
{
	struct __kernel_timespec ts = ms(1);
	struct io_uring ring;
	struct test_cqe c;

	CHILD_CHECK(io_uring_queue_init(4, &ring, 0) == 0);
	io_uring_prep_timeout(sqe_with_data(&ring, 1), &ts, 0, 0);
	CHILD_CHECK(io_uring_submit(&ring) == 1);
	CHILD_CHECK(child_reap(&ring, &c) == 0);
	CHILD_CHECK(c.user_data == 1 && c.res == -ETIME);
	io_uring_prep_nop(io_uring_get_sqe(&ring));
	CHILD_CHECK(io_uring_submit(&ring) == 1);
	CHILD_CHECK(child_reap(&ring, &c) == 0);
	CHILD_CHECK(c.res == 0);
	io_uring_queue_exit(&ring);
}

/* The parent waits for a RECV and a TIMEOUT; the child lets go of the
 * ring and uses its own. The parent then gets its real RECV completion,
 * and nothing the child's exit could have posted. */
static void test_child_exit_leaves_parent_requests_alone(void **state)
{
	struct __kernel_timespec long_ts = ms(60000);
	struct io_uring ring;
	struct test_cqe c;
	char buf[16] = { 0 };
	int sv[2];
	pid_t pid;

	(void) state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(io_uring_queue_init(8, &ring, 0), 0);
	io_uring_prep_recv(sqe_with_data(&ring, 1), sv[0], buf, sizeof(buf), 0);
	io_uring_prep_timeout(sqe_with_data(&ring, 2), &long_ts, 0, 0);
	assert_int_equal(io_uring_submit(&ring), 2);

	pid = fork_child();
	if (!pid) {
		io_uring_queue_exit(&ring);
		child_uses_new_ring();
		_exit(0);
	}
	assert_child_ok(pid);
	assert_true(cq_is_empty(&ring));

	assert_int_equal(write(sv[1], "hello", 5), 5);
	assert_int_equal(reap_one(&ring, &c), 0);
	assert_true(c.user_data == 1);
	assert_int_equal(c.res, 5);
	assert_memory_equal(buf, "hello", 5);
	io_uring_prep_timeout_remove(sqe_with_data(&ring, 3), 2, 0);
	assert_int_equal(io_uring_submit(&ring), 1);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(reap_one(&ring, &c), 0);
		if (c.user_data == 2)
			assert_int_equal(c.res, -ECANCELED);
		else
			assert_true(c.user_data == 3 && c.res == 0);
	}
	assert_true(cq_is_empty(&ring));
	io_uring_queue_exit(&ring);
	close(sv[0]);
	close(sv[1]);
}

/* What Asio's notify_fork does in the child: exit the inherited ring
 * (which has run a timeout) and make a new one. */
static void test_child_replaces_ring_after_timeout(void **state)
{
	struct __kernel_timespec ts = ms(1);
	struct io_uring ring;
	pid_t pid;

	(void) state;
	assert_int_equal(io_uring_queue_init(8, &ring, 0), 0);
	io_uring_prep_timeout(sqe_with_data(&ring, 1), &ts, 0, 0);
	assert_int_equal(submit_one_and_wait(&ring, 1), -ETIME);

	pid = fork_child();
	if (!pid) {
		io_uring_queue_exit(&ring);
		child_uses_new_ring();
		_exit(0);
	}
	assert_child_ok(pid);
	/* The parent's ring still works, its timer too. */
	io_uring_prep_timeout(sqe_with_data(&ring, 2), &ts, 0, 0);
	assert_int_equal(submit_one_and_wait(&ring, 2), -ETIME);
	io_uring_queue_exit(&ring);
}

/* The parent forks right after unregistering an eventfd, whose release
 * still waits for a grace period of the parent's: the child's own ring
 * still sets up, works and exits. */
static void test_fork_while_parent_release_pending(void **state)
{
	struct io_uring ring;
	int efd[2];
	pid_t pid;

	(void) state;
	assert_int_equal(io_uring_queue_init(8, &ring, 0), 0);
	for (int i = 0; i < 2; i++) {
		efd[i] = eventfd(0, EFD_CLOEXEC);
		assert_true(efd[i] >= 0);
		assert_int_equal(io_uring_register_eventfd(&ring, efd[i]), 0);
		assert_int_equal(io_uring_unregister_eventfd(&ring), 0);
	}
	pid = fork_child();
	if (!pid) {
		child_uses_new_ring();
		_exit(0);
	}
	assert_child_ok(pid);
	io_uring_queue_exit(&ring);
	close(efd[0]);
	close(efd[1]);
}

/* A child that closes every descriptor it does not need (as daemons do)
 * makes a ring, which may take the numbers the inherited ring's engine
 * used, then exits the inherited ring: its new ring still parks and
 * completes a RECV. */
static void test_child_closes_descriptors_before_exit(void **state)
{
	struct io_uring ring;
	pid_t pid;

	(void) state;
	assert_int_equal(io_uring_queue_init(8, &ring, 0), 0);
	pid = fork_child();
	if (!pid) {
		struct io_uring mine;
		struct test_cqe c;
		char buf[8] = { 0 };
		int sv[2];

		for (int fd = 3; fd < 1024; fd++)
			if (fd != ring.ring_fd)
				close(fd);
		CHILD_CHECK(io_uring_queue_init(4, &mine, 0) == 0);
		CHILD_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
		io_uring_queue_exit(&ring);
		io_uring_prep_recv(sqe_with_data(&mine, 1), sv[0], buf,
				   sizeof(buf), 0);
		CHILD_CHECK(io_uring_submit(&mine) == 1);
		CHILD_CHECK(write(sv[1], "abc", 3) == 3);
		CHILD_CHECK(child_reap(&mine, &c) == 0);
		CHILD_CHECK(c.user_data == 1 && c.res == 3);
		io_uring_queue_exit(&mine);
		_exit(0);
	}
	assert_child_ok(pid);
	io_uring_queue_exit(&ring);
}

/* A child's echo of one connection, on a ring of its own. */
static void child_echo(int conn)
{
	struct io_uring ring;
	struct test_cqe c;
	char buf[64];
	int n;

	CHILD_CHECK(io_uring_queue_init(4, &ring, 0) == 0);
	io_uring_prep_recv(io_uring_get_sqe(&ring), conn, buf, sizeof(buf), 0);
	CHILD_CHECK(io_uring_submit(&ring) == 1);
	CHILD_CHECK(child_reap(&ring, &c) == 0);
	CHILD_CHECK(c.res > 0);
	n = c.res;
	io_uring_prep_send(io_uring_get_sqe(&ring), conn, buf, (size_t) n, 0);
	CHILD_CHECK(io_uring_submit(&ring) == 1);
	CHILD_CHECK(child_reap(&ring, &c) == 0);
	CHILD_CHECK(c.res == n);
	io_uring_queue_exit(&ring);
}

static int listen_loopback(struct sockaddr_in *addr)
{
	socklen_t len = sizeof(*addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *) addr, sizeof(*addr)), 0);
	assert_int_equal(listen(fd, NR_CONNECTIONS), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *) addr, &len), 0);
	return fd;
}

/* Asio's process_per_connection: the parent accepts on its ring, which
 * also has a timer pending, and forks a child per connection, which exits
 * the inherited ring and echoes on a ring of its own. Every connection
 * gets its echo, and the parent's timeout is still its own to remove. */
static void test_process_per_connection(void **state)
{
	struct __kernel_timespec long_ts = ms(60000);
	int clients[NR_CONNECTIONS], lfd;
	pid_t pids[NR_CONNECTIONS];
	struct sockaddr_in addr;
	struct io_uring ring;
	struct test_cqe c;

	(void) state;
#ifdef UNDER_TSAN
	/* A child's thread may get the id of one its parent had, which
	 * ThreadSanitizer reports as an error of its own ("dup thread"). */
	skip();
#endif
	lfd = listen_loopback(&addr);
	assert_int_equal(io_uring_queue_init(8, &ring, 0), 0);
	io_uring_prep_timeout(sqe_with_data(&ring, 100), &long_ts, 0, 0);
	assert_int_equal(io_uring_submit(&ring), 1);
	for (int i = 0; i < NR_CONNECTIONS; i++) {
		clients[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_true(clients[i] >= 0);
		assert_int_equal(connect(clients[i], (struct sockaddr *) &addr,
					 sizeof(addr)), 0);
		io_uring_prep_accept(sqe_with_data(&ring, (__u64) i), lfd,
				     NULL, NULL, SOCK_CLOEXEC);
		assert_int_equal(io_uring_submit(&ring), 1);
		assert_int_equal(reap_one(&ring, &c), 0);
		assert_true(c.user_data == (__u64) i);
		assert_true(c.res >= 0);
		pids[i] = fork_child();
		if (!pids[i]) {
			io_uring_queue_exit(&ring);
			close(lfd);
			child_echo(c.res);
			_exit(0);
		}
		close(c.res);
	}
	for (int i = 0; i < NR_CONNECTIONS; i++) {
		char msg[32], back[32] = { 0 };
		int len = snprintf(msg, sizeof(msg), "echo %d", i);

		assert_int_equal(write(clients[i], msg, (size_t) len), len);
		assert_int_equal(read(clients[i], back, sizeof(back)), len);
		assert_memory_equal(back, msg, (size_t) len);
	}
	for (int i = 0; i < NR_CONNECTIONS; i++) {
		assert_child_ok(pids[i]);
		close(clients[i]);
	}
	assert_true(cq_is_empty(&ring));
	io_uring_prep_timeout_remove(sqe_with_data(&ring, 101), 100, 0);
	assert_int_equal(io_uring_submit(&ring), 1);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(reap_one(&ring, &c), 0);
		assert_int_equal(c.res, c.user_data == 100 ? -ECANCELED : 0);
	}
	io_uring_queue_exit(&ring);
	close(lfd);
}

#ifndef TEST_KERNEL
/* Ours only: the child cannot drive a ring its parent made (the parent's
 * threads do), and is told so with -EEXIST instead of waiting forever. It
 * can still let go of it. */
static void test_child_cannot_drive_inherited_ring(void **state)
{
	struct io_uring ring;
	pid_t pid;

	(void) state;
	assert_int_equal(io_uring_queue_init(8, &ring, 0), 0);
	pid = fork_child();
	if (!pid) {
		struct io_uring_cqe *cqe;
		struct io_uring_probe *probe;

		io_uring_prep_nop(io_uring_get_sqe(&ring));
		CHILD_CHECK(io_uring_submit(&ring) == -EEXIST);
		CHILD_CHECK(io_uring_wait_cqe(&ring, &cqe) == -EEXIST);
		probe = io_uring_get_probe_ring(&ring);
		CHILD_CHECK(probe == NULL);
		io_uring_queue_exit(&ring);
		child_uses_new_ring();
		_exit(0);
	}
	assert_child_ok(pid);
	/* The child's NOP never reached the parent's ring. */
	assert_true(cq_is_empty(&ring));
	io_uring_prep_nop(sqe_with_data(&ring, 7));
	assert_int_equal(submit_one_and_wait(&ring, 7), 0);
	io_uring_queue_exit(&ring);
}
#endif

/*
 * A child of a process whose SQPOLL ring's thread runs makes an SQPOLL
 * ring of its own, attached to the inherited one: a thread cannot be
 * shared across processes, so it gets its own. The parent's ring goes on.
 */
static void test_child_of_sqpoll_process_makes_its_own(void **state)
{
	struct io_uring ring;
	struct test_cqe c;
	pid_t pid;

	(void) state;
#ifdef UNDER_TSAN
	/* The child's new thread may get the id of the parent's submission
	 * thread: ThreadSanitizer's own "dup thread" error. */
	skip();
#endif
	assert_int_equal(io_uring_queue_init(4, &ring, IORING_SETUP_SQPOLL), 0);
	io_uring_prep_nop(sqe_with_data(&ring, 1));
	assert_int_equal(io_uring_submit(&ring), 1);
	assert_int_equal(reap_bounded(&ring, &c, 10), 0);
	pid = fork_child();
	if (pid == 0) {
		struct io_uring_params p;
		struct io_uring child;

		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_SQPOLL | IORING_SETUP_ATTACH_WQ;
		p.wq_fd = (__u32) ring.ring_fd;
		CHILD_CHECK(io_uring_queue_init_params(4, &child, &p) == 0);
		io_uring_prep_nop(sqe_with_data(&child, 2));
		CHILD_CHECK(io_uring_submit(&child) == 1);
		CHILD_CHECK(child_reap(&child, &c) == 0);
		CHILD_CHECK(c.user_data == 2 && c.res == 0);
		io_uring_queue_exit(&child);
		_exit(0);
	}
	assert_child_ok(pid);
	io_uring_prep_nop(sqe_with_data(&ring, 3));
	assert_int_equal(io_uring_submit(&ring), 1);
	assert_int_equal(reap_bounded(&ring, &c, 10), 0);
	assert_true(c.user_data == 3);
	io_uring_queue_exit(&ring);
}

/*
 * Rings made after the fork by the parent and by the child are separate
 * memory, whatever the parent's rings before it left behind: a CQE the
 * child leaves in its ring never shows in the parent's.
 */
static void test_rings_after_fork_do_not_share_memory(void **state)
{
	struct io_uring ring;
	int to_parent[2], to_child[2];
	char byte = 0;
	pid_t pid;

	(void) state;
	assert_int_equal(io_uring_queue_init(8, &ring, 0), 0);
	io_uring_queue_exit(&ring);
	assert_int_equal(pipe(to_parent), 0);
	assert_int_equal(pipe(to_child), 0);
	pid = fork_child();
	if (!pid) {
		CHILD_CHECK(io_uring_queue_init(8, &ring, 0) == 0);
		io_uring_prep_nop(io_uring_get_sqe(&ring));
		CHILD_CHECK(io_uring_submit(&ring) >= 1);
		CHILD_CHECK(write(to_parent[1], "r", 1) == 1);
		CHILD_CHECK(read(to_child[0], &byte, 1) == 1);
		_exit(0);
	}
	assert_int_equal(read(to_parent[0], &byte, 1), 1);
	assert_int_equal(io_uring_queue_init(8, &ring, 0), 0);
	assert_int_equal(io_uring_cq_ready(&ring), 0);
	assert_int_equal(*ring.sq.ktail, 0);
	io_uring_queue_exit(&ring);
	assert_int_equal(write(to_child[1], "x", 1), 1);
	assert_child_ok(pid);
	close(to_parent[0]);
	close(to_parent[1]);
	close(to_child[0]);
	close(to_child[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_child_exit_leaves_parent_requests_alone),
		cmocka_unit_test(test_child_replaces_ring_after_timeout),
		cmocka_unit_test(test_fork_while_parent_release_pending),
		cmocka_unit_test(test_child_closes_descriptors_before_exit),
		cmocka_unit_test(test_process_per_connection),
		cmocka_unit_test(test_child_of_sqpoll_process_makes_its_own),
		cmocka_unit_test(test_rings_after_fork_do_not_share_memory),
#ifndef TEST_KERNEL
		cmocka_unit_test(test_child_cannot_drive_inherited_ring),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
