/* SPDX-License-Identifier: MIT */
/*
 * FUTEX_WAIT, FUTEX_WAKE and FUTEX_WAITV: the checks of flags and fields,
 * a word that no longer holds the value, a ring wait woken by an ordinary
 * futex(FUTEX_WAKE) from the application and counted by it, a ring wake
 * that wakes ring waits and a thread's futex(FUTEX_WAIT) and counts them,
 * masks, the index FUTEX_WAITV reports, cancellation and teardown.
 *
 * The waits run a second time in a child where futex_waitv(2) is refused
 * (as a sandbox or a kernel before 5.16 would): the waits there hold
 * workers instead of watchers, and what does not depend on that must hold.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "helpers.h"
#include "seccomp-filter.h"

#ifdef LIBURING_BEFORE_2_15
SKIP_BEFORE_2_15_MAIN()
#else

#ifndef FUTEX2_SIZE_U32
#define FUTEX2_SIZE_U8		0x00
#define FUTEX2_SIZE_U16		0x01
#define FUTEX2_SIZE_U32		0x02
#define FUTEX2_SIZE_U64		0x03
#define FUTEX2_NUMA		0x04
#define FUTEX2_PRIVATE		128
#endif
#ifndef SYS_futex_waitv
#define SYS_futex_waitv		449
#endif

#define ANY		FUTEX_BITSET_MATCH_ANY
#define PRIV		(FUTEX2_SIZE_U32 | FUTEX2_PRIVATE)

static struct io_uring_sqe *prep_wait(struct io_uring *ring, uint32_t *word,
				      uint64_t val, uint64_t mask,
				      uint32_t flags, __u64 ud)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);

	io_uring_prep_futex_wait(sqe, word, val, mask, flags, 0);
	sqe->user_data = ud;
	return sqe;
}

static struct io_uring_sqe *prep_wake(struct io_uring *ring, uint32_t *word,
				      uint64_t nr, uint64_t mask,
				      uint32_t flags, __u64 ud)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);

	io_uring_prep_futex_wake(sqe, word, nr, mask, flags, 0);
	sqe->user_data = ud;
	return sqe;
}

static long futex_wake(uint32_t *word, int nr, bool private)
{
	return syscall(SYS_futex, word, FUTEX_WAKE |
		       (private ? FUTEX_PRIVATE_FLAG : 0), nr, NULL, NULL, 0);
}

/* The one CQE of ud, which must come. */
static int reap_ud(struct io_uring *ring, __u64 ud)
{
	struct test_cqe c;

	assert_int_equal(reap_bounded(ring, &c, 10), 0);
	assert_true(c.user_data == ud);
	return c.res;
}

static int submit_and_reap(struct io_uring *ring, __u64 ud)
{
	assert_int_equal(io_uring_submit(ring), 1);
	return reap_ud(ring, ud);
}

static void test_probe_lists_futex_ops(void **state)
{
	struct io_uring_probe *p = io_uring_get_probe_ring(fixture_ring(state));

	assert_non_null(p);
	assert_true(io_uring_opcode_supported(p, IORING_OP_FUTEX_WAIT));
	assert_true(io_uring_opcode_supported(p, IORING_OP_FUTEX_WAKE));
	assert_true(io_uring_opcode_supported(p, IORING_OP_FUTEX_WAITV));
	io_uring_free_probe(p);
}

static void test_wait_value_differs(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	uint32_t word = 3;

	prep_wait(ring, &word, 4, ANY, PRIV, 1);
	assert_int_equal(submit_and_reap(ring, 1), -EAGAIN);
	prep_wait(ring, &word, 4, ANY, FUTEX2_SIZE_U32, 2);
	assert_int_equal(submit_and_reap(ring, 2), -EAGAIN);
}

/* What the kernel refuses with -EINVAL, or cannot read (-EFAULT). */
static void test_wait_checks(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	static const uint32_t bad_flags[] = {
		FUTEX2_SIZE_U8, FUTEX2_SIZE_U16, FUTEX2_SIZE_U64,
		PRIV | 0x10, PRIV | 0x100,
	};
	uint32_t words[2] = { 0, 0 };
	struct io_uring_sqe *sqe;

	for (unsigned i = 0; i < sizeof(bad_flags) / sizeof(bad_flags[0]); i++) {
		prep_wait(ring, words, 0, ANY, bad_flags[i], 1);
		assert_int_equal(submit_and_reap(ring, 1), -EINVAL);
	}
	prep_wait(ring, words, 1ull << 32, ANY, PRIV, 2);
	assert_int_equal(submit_and_reap(ring, 2), -EINVAL);
	prep_wait(ring, words, 0, 1ull << 32, PRIV, 3);
	assert_int_equal(submit_and_reap(ring, 3), -EINVAL);
	prep_wait(ring, words, 0, 0, PRIV, 4);
	assert_int_equal(submit_and_reap(ring, 4), -EINVAL);
	sqe = prep_wait(ring, words, 0, ANY, PRIV, 5);
	sqe->futex_flags = 1;
	assert_int_equal(submit_and_reap(ring, 5), -EINVAL);
	sqe = prep_wait(ring, words, 0, ANY, PRIV, 6);
	sqe->len = 1;
	assert_int_equal(submit_and_reap(ring, 6), -EINVAL);
	sqe = prep_wait(ring, words, 0, ANY, PRIV, 7);
	sqe->ioprio = 1;
	assert_int_equal(submit_and_reap(ring, 7), -EINVAL);
	prep_wait(ring, (uint32_t *) ((char *) words + 1), 0, ANY, PRIV, 8);
	assert_int_equal(submit_and_reap(ring, 8), -EINVAL);
	prep_wait(ring, NULL, 0, ANY, PRIV, 9);
	assert_int_equal(submit_and_reap(ring, 9), -EFAULT);
}

/* Submitted, the wait is a futex waiter: the application's futex wake
 * right after finds it, counts it and completes it, word unchanged. */
static void wait_woken_by_futex_wake(struct io_uring *ring, uint32_t flags)
{
	static uint32_t word;
	bool private = flags & FUTEX2_PRIVATE;

	prep_wait(ring, &word, 0, ANY, flags, 1);
	assert_int_equal(io_uring_submit(ring), 1);
	assert_true(cq_is_empty(ring));
	assert_int_equal(futex_wake(&word, 10, private), 1);
	assert_int_equal(reap_ud(ring, 1), 0);
	assert_int_equal(futex_wake(&word, 10, private), 0);
}

static void test_wait_woken_by_futex_wake(void **state)
{
	wait_woken_by_futex_wake(fixture_ring(state), PRIV);
}

static void test_shared_wait_woken_by_futex_wake(void **state)
{
	wait_woken_by_futex_wake(fixture_ring(state), FUTEX2_SIZE_U32);
}

/* A wake of a shared futex does not reach a private waiter, nor the
 * other way round. */
static void test_private_and_shared_are_apart(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	uint32_t word = 0;

	prep_wait(ring, &word, 0, ANY, PRIV, 1);
	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(futex_wake(&word, 10, false), 0);
	prep_wake(ring, &word, 10, ANY, FUTEX2_SIZE_U32, 2);
	assert_int_equal(submit_and_reap(ring, 2), 0);
	assert_int_equal(futex_wake(&word, 10, true), 1);
	assert_int_equal(reap_ud(ring, 1), 0);
}

/* Three waits on one word: a wake of two completes the two armed first. */
static void test_futex_wake_counts_each_wait(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct test_cqe c[2];
	uint32_t word = 0;

	prep_wait(ring, &word, 0, ANY, PRIV, 1);
	prep_wait(ring, &word, 0, ANY, PRIV, 2);
	prep_wait(ring, &word, 0, ANY, PRIV, 3);
	assert_int_equal(io_uring_submit(ring), 3);
	assert_int_equal(futex_wake(&word, 2, true), 2);
	assert_int_equal(reap_bounded(ring, &c[0], 10), 0);
	assert_int_equal(reap_bounded(ring, &c[1], 10), 0);
	assert_true(c[0].user_data + c[1].user_data == 3);
	assert_true(c[0].res == 0 && c[1].res == 0);
	assert_true(cq_is_empty(ring));
	assert_int_equal(futex_wake(&word, 2, true), 1);
	assert_int_equal(reap_ud(ring, 3), 0);
}

/* The woken waits' CQEs and the wake's, in any order; returns the wake's
 * result. */
static int reap_wake(struct io_uring *ring, __u64 wake_ud, unsigned nr_woken,
		     __u64 *woken)
{
	int res = INT_MIN;
	unsigned n = 0;

	for (unsigned i = 0; i <= nr_woken; i++) {
		struct test_cqe c;

		assert_int_equal(reap_bounded(ring, &c, 10), 0);
		if (c.user_data == wake_ud) {
			res = c.res;
		} else {
			assert_int_equal(c.res, 0);
			woken[n++] = c.user_data;
		}
	}
	assert_int_equal(n, nr_woken);
	return res;
}

static void test_ring_wake_counts_ring_waits(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	uint32_t word = 0;
	__u64 woken[2];

	prep_wait(ring, &word, 0, ANY, PRIV, 1);
	prep_wait(ring, &word, 0, ANY, PRIV, 2);
	prep_wait(ring, &word, 0, ANY, PRIV, 3);
	assert_int_equal(io_uring_submit(ring), 3);
	prep_wake(ring, &word, 2, ANY, PRIV, 9);
	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(reap_wake(ring, 9, 2, woken), 2);
	assert_true(woken[0] != woken[1] && woken[0] < 3 && woken[1] < 3);
	assert_true(cq_is_empty(ring));
	prep_wake(ring, &word, 0, ANY, PRIV, 10);
	assert_int_equal(submit_and_reap(ring, 10), 0);
	assert_int_equal(futex_wake(&word, 10, true), 1);
	assert_int_equal(reap_ud(ring, 3), 0);
}

static uint32_t sleeper_word;

static void *sleeper(void *arg)
{
	(void) arg;
	return (void *) syscall(SYS_futex, &sleeper_word, FUTEX_WAIT_PRIVATE,
				0, NULL, NULL, 0);
}

/* A ring wake wakes a thread's futex(FUTEX_WAIT) and counts it; it is
 * repeated until the thread is asleep. */
static void test_ring_wake_wakes_thread(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	pthread_t t;
	void *ret;
	int res;

	sleeper_word = 0;
	assert_int_equal(pthread_create(&t, NULL, sleeper, NULL), 0);
	do {
		prep_wake(ring, &sleeper_word, 5, ANY, PRIV, 1);
		res = submit_and_reap(ring, 1);
		if (!res)
			sched_yield();
	} while (!res);
	assert_int_equal(res, 1);
	assert_int_equal(pthread_join(t, &ret), 0);
	assert_null(ret);
}

/* A wake reaches the waits whose mask it shares, and only those. */
static void test_wake_mask(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	uint32_t word = 0;
	__u64 woken[1];

	prep_wait(ring, &word, 0, 2, PRIV, 1);
	assert_int_equal(io_uring_submit(ring), 1);
	prep_wake(ring, &word, 5, 1, PRIV, 2);
	assert_int_equal(submit_and_reap(ring, 2), 0);
	assert_true(cq_is_empty(ring));
	prep_wake(ring, &word, 5, 3, PRIV, 3);
	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(reap_wake(ring, 3, 1, woken), 1);
	assert_true(woken[0] == 1);
}

static void test_wake_checks(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	uint32_t words[2] = { 0, 0 };
	struct io_uring_sqe *sqe;

	prep_wake(ring, words, 1, 0, PRIV, 1);
	assert_int_equal(submit_and_reap(ring, 1), -EINVAL);
	prep_wake(ring, words, 1, ANY, FUTEX2_SIZE_U8 | FUTEX2_PRIVATE, 2);
	assert_int_equal(submit_and_reap(ring, 2), -EINVAL);
	prep_wake(ring, words, 1ull << 32, ANY, PRIV, 3);
	assert_int_equal(submit_and_reap(ring, 3), -EINVAL);
	sqe = prep_wake(ring, words, 1, ANY, PRIV, 4);
	sqe->futex_flags = 1;
	assert_int_equal(submit_and_reap(ring, 4), -EINVAL);
	prep_wake(ring, (uint32_t *) ((char *) words + 1), 1, ANY, PRIV, 5);
	assert_int_equal(submit_and_reap(ring, 5), -EINVAL);
	/* A shared futex needs its page; a private one only its address. */
	prep_wake(ring, (uint32_t *) 8, 1, ANY, FUTEX2_SIZE_U32, 6);
	assert_int_equal(submit_and_reap(ring, 6), -EFAULT);
	prep_wake(ring, (uint32_t *) 8, 1, ANY, PRIV, 7);
	assert_int_equal(submit_and_reap(ring, 7), 0);
	prep_wake(ring, words, 0, ANY, PRIV, 8);
	assert_int_equal(submit_and_reap(ring, 8), 0);
}

static void fill_waitv(struct futex_waitv *v, uint32_t *words, unsigned nr)
{
	memset(v, 0, nr * sizeof(*v));
	for (unsigned i = 0; i < nr; i++) {
		v[i].uaddr = (uintptr_t) &words[i];
		v[i].val = words[i];
		v[i].flags = PRIV;
	}
}

static struct io_uring_sqe *prep_waitv(struct io_uring *ring,
				       struct futex_waitv *v, unsigned nr,
				       __u64 ud)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);

	io_uring_prep_futex_waitv(sqe, v, nr, 0);
	sqe->user_data = ud;
	return sqe;
}

/* The result is the index of the word woken, by the application's futex
 * wake or by a ring's. */
static void test_waitv_reports_index(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	uint32_t words[4] = { 0, 1, 2, 3 };
	struct futex_waitv v[4];
	struct test_cqe c[2];

	fill_waitv(v, words, 4);
	prep_waitv(ring, v, 4, 1);
	assert_int_equal(io_uring_submit(ring), 1);
	assert_true(cq_is_empty(ring));
	assert_int_equal(futex_wake(&words[2], 10, true), 1);
	assert_int_equal(reap_ud(ring, 1), 2);
	/* Woken, the others are no longer waited on. */
	assert_int_equal(futex_wake(&words[1], 10, true), 0);

	prep_waitv(ring, v, 4, 2);
	assert_int_equal(io_uring_submit(ring), 1);
	prep_wake(ring, &words[3], 10, ANY, PRIV, 3);
	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(reap_bounded(ring, &c[0], 10), 0);
	assert_int_equal(reap_bounded(ring, &c[1], 10), 0);
	if (c[0].user_data == 2)
		c[1] = c[0];
	else
		assert_true(c[0].user_data == 3 && c[0].res == 1);
	assert_true(c[1].user_data == 2 && c[1].res == 3);
	assert_int_equal(futex_wake(&words[0], 10, true), 0);
}

/* One word twice in the vector: one waiter per entry. */
static void test_waitv_same_word_twice(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	uint32_t words[2] = { 0, 0 };
	struct futex_waitv v[2];
	int res;

	fill_waitv(v, words, 2);
	v[1].uaddr = v[0].uaddr;
	prep_waitv(ring, v, 2, 1);
	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(futex_wake(&words[0], 1, true), 1);
	res = reap_ud(ring, 1);
	assert_true(res == 0 || res == 1);
	assert_int_equal(futex_wake(&words[0], 10, true), 0);
}

static void test_waitv_checks(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	uint32_t words[4] = { 0, 1, 2, 3 };
	struct futex_waitv v[4];
	struct io_uring_sqe *sqe;

	fill_waitv(v, words, 4);
	v[1].val = 7;
	prep_waitv(ring, v, 4, 1);
	assert_int_equal(submit_and_reap(ring, 1), -EAGAIN);
	fill_waitv(v, words, 4);
	prep_waitv(ring, v, 0, 2);
	assert_int_equal(submit_and_reap(ring, 2), -EINVAL);
	prep_waitv(ring, v, 129, 3);
	assert_int_equal(submit_and_reap(ring, 3), -EINVAL);
	v[2].flags = FUTEX2_SIZE_U8;
	prep_waitv(ring, v, 4, 4);
	assert_int_equal(submit_and_reap(ring, 4), -EINVAL);
	fill_waitv(v, words, 4);
	v[2].__reserved = 1;
	prep_waitv(ring, v, 4, 5);
	assert_int_equal(submit_and_reap(ring, 5), -EINVAL);
	fill_waitv(v, words, 4);
	v[3].val = 1ull << 32;
	prep_waitv(ring, v, 4, 6);
	assert_int_equal(submit_and_reap(ring, 6), -EINVAL);
	fill_waitv(v, words, 4);
	v[3].uaddr = 8;
	prep_waitv(ring, v, 4, 7);
	assert_int_equal(submit_and_reap(ring, 7), -EFAULT);
	prep_waitv(ring, (struct futex_waitv *) 8, 4, 8);
	assert_int_equal(submit_and_reap(ring, 8), -EFAULT);
	fill_waitv(v, words, 4);
	sqe = prep_waitv(ring, v, 4, 9);
	sqe->addr3 = 1;
	assert_int_equal(submit_and_reap(ring, 9), -EINVAL);
	sqe = prep_waitv(ring, v, 4, 10);
	sqe->fd = 1;
	assert_int_equal(submit_and_reap(ring, 10), -EINVAL);
}

/* The kernel reports a futex wait it cancels by count: one, and one for
 * all of them with IORING_ASYNC_CANCEL_ALL. */
static void test_cancel(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	uint32_t words[2] = { 0, 0 };
	struct futex_waitv v[2];
	struct io_uring_sqe *sqe;

	fill_waitv(v, words, 2);
	prep_wait(ring, &words[0], 0, ANY, PRIV, 1);
	assert_int_equal(io_uring_submit(ring), 1);
	sqe = must_get_sqe(ring);
	io_uring_prep_cancel64(sqe, 1, 0);
	sqe->user_data = 2;
	assert_int_equal(submit_and_reap(ring, 2), 1);
	assert_int_equal(reap_ud(ring, 1), -ECANCELED);
	assert_int_equal(futex_wake(&words[0], 10, true), 0);

	prep_wait(ring, &words[0], 0, ANY, PRIV, 3);
	prep_waitv(ring, v, 2, 3);
	assert_int_equal(io_uring_submit(ring), 2);
	sqe = must_get_sqe(ring);
	io_uring_prep_cancel64(sqe, 3, IORING_ASYNC_CANCEL_ALL);
	sqe->user_data = 4;
	assert_int_equal(submit_and_reap(ring, 4), 1);
	assert_int_equal(reap_ud(ring, 3), -ECANCELED);
	assert_int_equal(reap_ud(ring, 3), -ECANCELED);
	assert_int_equal(futex_wake(&words[1], 10, true), 0);

	sqe = must_get_sqe(ring);
	io_uring_prep_cancel64(sqe, 3, 0);
	sqe->user_data = 5;
	assert_int_equal(submit_and_reap(ring, 5), -ENOENT);
}

/* A ring torn down with waits pending: nothing left behind that a wake
 * would complete into a ring that is gone. */
static void test_exit_with_waits_pending(void **state)
{
	static uint32_t words[2];
	struct io_uring ring;
	struct futex_waitv v[2];

	(void) state;
	fill_waitv(v, words, 2);
	assert_int_equal(io_uring_queue_init(8, &ring, 0), 0);
	prep_wait(&ring, &words[0], 0, ANY, PRIV, 1);
	prep_waitv(&ring, v, 2, 2);
	assert_int_equal(io_uring_submit(&ring), 2);
	io_uring_queue_exit(&ring);
	futex_wake(&words[0], 10, true);
	futex_wake(&words[1], 10, true);
}

/* The usual protocol, in a thread: change the word, then wake. */
static void *change_and_wake(void *arg)
{
	uint32_t *word = arg;

	__atomic_store_n(word, 1, __ATOMIC_SEQ_CST);
	futex_wake(word, INT_MAX, true);
	return NULL;
}

static void test_wait_woken_by_thread(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	static uint32_t word;
	pthread_t t;

	word = 0;
	prep_wait(ring, &word, 0, ANY, PRIV, 1);
	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(pthread_create(&t, NULL, change_and_wake, &word), 0);
	assert_int_equal(reap_ud(ring, 1), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
}

/* IOSQE_ASYNC: the same checks from a worker, and a wait there that a
 * cancellation ends. */
static void test_async_wait(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	uint32_t word = 0;
	struct io_uring_sqe *sqe;
	struct test_cqe c;

	prep_wait(ring, &word, 1, ANY, PRIV, 1)->flags |= IOSQE_ASYNC;
	assert_int_equal(submit_and_reap(ring, 1), -EAGAIN);
	prep_wait(ring, &word, 0, ANY, PRIV, 2)->flags |= IOSQE_ASYNC;
	assert_int_equal(io_uring_submit(ring), 1);
	sqe = must_get_sqe(ring);
	io_uring_prep_cancel64(sqe, 2, 0);
	sqe->user_data = 3;
	assert_int_equal(io_uring_submit(ring), 1);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(reap_bounded(ring, &c, 10), 0);
		if (c.user_data == 2)
			assert_int_equal(c.res, -ECANCELED);
	}
}

/* Cancelled, whatever runs the wait; the count is not asserted. */
static void test_cancel_completes_wait(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	uint32_t word = 0;
	struct io_uring_sqe *sqe;
	struct test_cqe c;

	prep_wait(ring, &word, 0, ANY, PRIV, 1);
	assert_int_equal(io_uring_submit(ring), 1);
	sqe = must_get_sqe(ring);
	io_uring_prep_cancel64(sqe, 1, 0);
	sqe->user_data = 2;
	assert_int_equal(io_uring_submit(ring), 1);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(reap_bounded(ring, &c, 10), 0);
		if (c.user_data == 1)
			assert_int_equal(c.res, -ECANCELED);
	}
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

/* What holds whether a wait has a watcher or a worker. */
static int run_common(const char *name)
{
	const struct CMUnitTest tests[] = {
		T(test_wait_value_differs),
		T(test_wait_checks),
		T(test_wake_checks),
		T(test_wait_woken_by_thread),
		T(test_async_wait),
		T(test_ring_wake_wakes_thread),
		T(test_cancel_completes_wait),
		T(test_exit_with_waits_pending),
	};

	return _cmocka_run_group_tests(name, tests,
				       sizeof(tests) / sizeof(tests[0]),
				       NULL, NULL);
}

/* In a child that futex_waitv(2) is refused to, as in a sandbox. */
static int run_without_futex_waitv(void)
{
	static const struct denial deny[] = {
		{ SYS_futex_waitv, EPERM }, DENIAL_END,
	};
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return 1;
	if (!pid) {
		if (seccomp_deny(deny)) {
			perror("seccomp");
			_exit(1);
		}
		_exit(run_common("futex without futex_waitv") ? 1 : 0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return 1;
	return WEXITSTATUS(status);
}

/* Refused here already (make test-seccomp's strict profile): the waits
 * that must be queued when the submission returns cannot be checked. */
static bool futex_waitv_refused(void)
{
	long ret = syscall(SYS_futex_waitv, NULL, 0U, 0U, NULL, 0);

	return ret < 0 && (errno == ENOSYS || errno == EPERM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_probe_lists_futex_ops),
		T(test_wait_woken_by_futex_wake),
		T(test_shared_wait_woken_by_futex_wake),
		T(test_private_and_shared_are_apart),
		T(test_futex_wake_counts_each_wait),
		T(test_ring_wake_counts_ring_waits),
		T(test_wake_mask),
		T(test_waitv_reports_index),
		T(test_waitv_same_word_twice),
		T(test_waitv_checks),
		T(test_cancel),
	};
	/* First: the child must not inherit what the parent learnt of
	 * futex_waitv. */
	int failed = run_without_futex_waitv();

	failed |= run_common("futex");
	if (futex_waitv_refused())
		return failed;
	return failed | cmocka_run_group_tests(tests, NULL, NULL);
}
#endif
