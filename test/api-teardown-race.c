/* SPDX-License-Identifier: MIT */
/*
 * io_uring_queue_exit racing io_uring_enter and io_uring_register on other
 * threads (this program is also run under AddressSanitizer and
 * ThreadSanitizer). A call that took the ring before it was released
 * completes normally, one after fails with -EBADF, as when the descriptor
 * is closed; nothing crashes, and a call waiting in the ring when it is
 * released keeps it alive until it returns.
 *
 * Each thread calls until it sees -EBADF, and records any other error for
 * the main thread to assert on (cmocka's assertions are not thread-safe).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include "helpers.h"

#define ROUNDS		200
#define NR_CALLERS	3
#define PROBE_SIZE	(sizeof(struct io_uring_probe) + \
			 256 * sizeof(struct io_uring_probe_op))

enum call_kind { SUBMIT_AND_REAP, REGISTER_PROBE, WAIT_WITH_TIMEOUT };

struct caller {
	pthread_t		thread;
	int			fd;
	enum call_kind		kind;
	atomic_uint		*started;
	int			bad_res;
	struct io_uring_probe	*probe;
};

/* A wait for one CQE that never comes, for a millisecond. */
static int wait_a_little(int fd)
{
	struct __kernel_timespec ts = { .tv_nsec = 1000 * 1000 };
	struct io_uring_getevents_arg arg = { .ts = (__u64) (uintptr_t) &ts };

	return io_uring_enter2((unsigned) fd, 0, 1,
			       IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG,
			       (sigset_t *) &arg, sizeof(arg));
}

static int call_once(struct caller *c)
{
	switch (c->kind) {
	case SUBMIT_AND_REAP:	/* the SQ is empty: submits nothing */
		return io_uring_enter((unsigned) c->fd, 1, 0,
				      IORING_ENTER_GETEVENTS, NULL);
	case REGISTER_PROBE:	/* the kernel wants it zeroed */
		memset(c->probe, 0, PROBE_SIZE);
		return io_uring_register((unsigned) c->fd, IORING_REGISTER_PROBE,
					 c->probe, 256);
	case WAIT_WITH_TIMEOUT:
		return wait_a_little(c->fd);
	}
	return -EINVAL;
}

static bool expected(const struct caller *c, int ret)
{
	return ret >= 0 || (c->kind == WAIT_WITH_TIMEOUT && ret == -ETIME);
}

static void *caller_main(void *arg)
{
	struct caller *c = arg;
	bool counted = false;
	int ret;

	while ((ret = call_once(c)) != -EBADF) {
		if (!expected(c, ret)) {
			c->bad_res = ret;
			break;
		}
		if (!counted) {
			atomic_fetch_add(c->started, 1);
			counted = true;
		}
	}
	if (!counted)
		atomic_fetch_add(c->started, 1);
	return NULL;
}

struct exiter {
	struct io_uring		*ring;
	atomic_uint		*started;
	unsigned		wait_for;
};

static void *exiter_main(void *arg)
{
	struct exiter *e = arg;

	while (atomic_load(e->started) < e->wait_for)
		sched_yield();
	io_uring_queue_exit(e->ring);
	return NULL;
}

/*
 * Callers hammer the ring while it exits: from the thread that set it up,
 * or, with owner_calls, from another thread while the one that set it up
 * is among the callers (running callers[NR_CALLERS], a kind of its own).
 */
static void race_one_exit(struct caller *callers, bool owner_calls)
{
	unsigned nr = owner_calls ? NR_CALLERS + 1 : NR_CALLERS;
	struct io_uring ring;
	struct exiter e = { .ring = &ring, .wait_for = nr };
	pthread_t exiter;
	atomic_uint started;

	atomic_init(&started, 0);
	e.started = &started;
	assert_int_equal(io_uring_queue_init(8, &ring, 0), 0);
	for (unsigned i = 0; i < nr; i++) {
		callers[i].fd = ring.ring_fd;
		callers[i].started = &started;
	}
	for (unsigned i = 0; i < NR_CALLERS; i++)
		assert_int_equal(pthread_create(&callers[i].thread, NULL,
						caller_main, &callers[i]), 0);
	/* Every caller is in its loop: the exit lands among their calls. */
	if (owner_calls) {
		assert_int_equal(pthread_create(&exiter, NULL, exiter_main, &e),
				 0);
		caller_main(&callers[NR_CALLERS]);
		pthread_join(exiter, NULL);
	} else {
		exiter_main(&e);
	}
	for (unsigned i = 0; i < nr; i++) {
		if (i < NR_CALLERS)
			pthread_join(callers[i].thread, NULL);
		assert_int_equal(callers[i].bad_res, 0);
	}
}

static void race_exits(bool owner_calls)
{
	struct caller callers[NR_CALLERS + 1];
	int fds;

	warm_up_ring();
	fds = count_open_fds();

	memset(callers, 0, sizeof(callers));
	for (unsigned i = 0; i <= NR_CALLERS; i++) {
		callers[i].kind = (enum call_kind) (i % NR_CALLERS);
		callers[i].probe = malloc(PROBE_SIZE);
		assert_non_null(callers[i].probe);
	}
	for (unsigned round = 0; round < ROUNDS; round++) {
		/* The ring's own thread alternates its kind of call. */
		callers[NR_CALLERS].kind = round % 2 ? WAIT_WITH_TIMEOUT
						     : SUBMIT_AND_REAP;
		race_one_exit(callers, owner_calls);
	}
	for (unsigned i = 0; i <= NR_CALLERS; i++)
		free(callers[i].probe);
	/* Every ring went, whichever thread let go of it last. */
	assert_int_equal(wait_fd_count(fds), fds);
}

static void test_exit_racing_enter_and_register(void **state)
{
	(void) state;
	race_exits(false);
}

static void test_exit_on_another_thread_than_the_rings(void **state)
{
	(void) state;
	race_exits(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_racing_enter_and_register),
		cmocka_unit_test(test_exit_on_another_thread_than_the_rings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
