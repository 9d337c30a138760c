/* SPDX-License-Identifier: MIT */
/*
 * Registered ring descriptors: io_uring_register_ring_fd(),
 * io_uring_unregister_ring_fd(), io_uring_close_ring_fd(), the raw
 * IORING_REGISTER_RING_FDS / IORING_UNREGISTER_RING_FDS with the kernel's
 * limits and errors, and calls naming a ring by its registered index
 * (IORING_ENTER_REGISTERED_RING, IORING_REGISTER_USE_REGISTERED_RING).
 * Each thread has its own table of 16 entries.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include "helpers.h"

#ifdef LIBURING_BEFORE_2_15
SKIP_BEFORE_2_15_MAIN()
#else

#define REG_MAX		16	/* the kernel's IO_RINGFD_REG_MAX */

static int ring_fds(struct io_uring *ring, unsigned op,
		    struct io_uring_rsrc_update *up, unsigned nr)
{
	return io_uring_register((unsigned) ring->ring_fd, op, up, nr);
}

/* Registers fd at offset (-1U: any free index); the index, or -errno. */
static int register_at(struct io_uring *ring, int fd, unsigned offset)
{
	struct io_uring_rsrc_update up = {
		.offset = offset,
		.data = (__u64) fd,
	};
	int ret = ring_fds(ring, IORING_REGISTER_RING_FDS, &up, 1);

	return ret == 1 ? (int) up.offset : ret;
}

static int unregister_at(struct io_uring *ring, unsigned offset)
{
	struct io_uring_rsrc_update up = { .offset = offset };

	return ring_fds(ring, IORING_UNREGISTER_RING_FDS, &up, 1);
}

static int enter_registered(unsigned idx, unsigned flags)
{
	return io_uring_enter(idx, 0, 0, flags | IORING_ENTER_REGISTERED_RING,
			      NULL);
}

/* A probe through registered index idx: 0 or -errno. */
static int probe_registered(unsigned idx)
{
	struct io_uring_probe *p = calloc(1, sizeof(*p) + 256 *
					  sizeof(struct io_uring_probe_op));
	int ret;

	assert_non_null(p);
	ret = io_uring_register(idx, IORING_REGISTER_PROBE |
				IORING_REGISTER_USE_REGISTERED_RING, p, 256);
	if (!ret)
		assert_true(io_uring_opcode_supported(p, IORING_OP_NOP));
	free(p);
	return ret;
}

static void nop_round_trip(struct io_uring *ring, __u64 ud)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);
	struct test_cqe c;

	io_uring_prep_nop(sqe);
	sqe->user_data = ud;
	assert_int_equal(io_uring_submit_and_wait(ring, 1), 1);
	assert_int_equal(reap_one(ring, &c), 0);
	assert_int_equal(c.user_data, ud);
	assert_int_equal(c.res, 0);
}

static void test_feature_bit_says_registered_rings_work(void **state)
{
	assert_true(fixture_ring(state)->features & IORING_FEAT_REG_REG_RING);
}

static void test_register_ring_fd_then_submit_through_the_index(void **state)
{
	struct io_uring *ring = fixture_ring(state);

	assert_int_equal(io_uring_register_ring_fd(ring), 1);
	assert_true(ring->enter_ring_fd >= 0 && ring->enter_ring_fd < REG_MAX);
	assert_int_equal(io_uring_register_ring_fd(ring), -EEXIST);
	nop_round_trip(ring, 7);
	/* Registration too goes through the index now. */
	assert_int_equal(io_uring_register_files_sparse(ring, 4), 0);
	assert_int_equal(io_uring_unregister_files(ring), 0);
	assert_int_equal(io_uring_unregister_ring_fd(ring), 1);
	assert_int_equal(ring->enter_ring_fd, ring->ring_fd);
	assert_int_equal(io_uring_unregister_ring_fd(ring), -EINVAL);
	nop_round_trip(ring, 8);
}

static void test_close_ring_fd_keeps_the_ring(void **state)
{
	struct io_uring *ring = fixture_ring(state);

	assert_int_equal(io_uring_close_ring_fd(ring), -EINVAL);
	assert_int_equal(io_uring_register_ring_fd(ring), 1);
	assert_int_equal(io_uring_close_ring_fd(ring), 1);
	assert_int_equal(ring->ring_fd, -1);
	assert_int_equal(io_uring_close_ring_fd(ring), -EBADF);
	nop_round_trip(ring, 9);
	assert_int_equal(probe_registered((unsigned) ring->enter_ring_fd), 0);
	/* io_uring_queue_exit() (the teardown) unregisters and frees it. */
}

static void test_raw_register_limits_and_errors(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct io_uring_rsrc_update up[REG_MAX + 1];
	int p[2];

	memset(up, 0, sizeof(up));
	assert_int_equal(ring_fds(ring, IORING_REGISTER_RING_FDS, up, 0), -EINVAL);
	assert_int_equal(ring_fds(ring, IORING_REGISTER_RING_FDS, up, REG_MAX + 1),
			 -EINVAL);
	up[0].offset = -1U;
	up[0].data = (__u64) ring->ring_fd;
	up[0].resv = 1;
	assert_int_equal(ring_fds(ring, IORING_REGISTER_RING_FDS, up, 1), -EINVAL);
	assert_int_equal(register_at(ring, ring->ring_fd, REG_MAX), -EINVAL);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(register_at(ring, p[0], -1U), -EOPNOTSUPP);
	close(p[0]);
	assert_int_equal(register_at(ring, p[0], -1U), -EBADF);
	close(p[1]);
	assert_int_equal(register_at(ring, ring->ring_fd, 3), 3);
	assert_int_equal(register_at(ring, ring->ring_fd, 3), -EBUSY);
	assert_int_equal(register_at(ring, ring->ring_fd, -1U), 0);
	assert_int_equal(unregister_at(ring, 0), 1);
	assert_int_equal(unregister_at(ring, 3), 1);
}

/* Entries are done in order; the count of those done, else the error. */
static void test_raw_register_stops_at_a_bad_entry(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct io_uring_rsrc_update up[2] = {
		{ .offset = 5, .data = (__u64) ring->ring_fd },
		{ .offset = REG_MAX, .data = (__u64) ring->ring_fd },
	};

	assert_int_equal(ring_fds(ring, IORING_REGISTER_RING_FDS, up, 2), 1);
	assert_int_equal(up[0].offset, 5);
	assert_int_equal(enter_registered(5, IORING_ENTER_GETEVENTS), 0);
	assert_int_equal(unregister_at(ring, 5), 1);
}

static void test_sixteen_entries_then_ebusy(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct io_uring_rsrc_update up[REG_MAX];
	unsigned i;

	for (i = 0; i < REG_MAX; i++)
		up[i] = (struct io_uring_rsrc_update) {
			.offset = -1U, .data = (__u64) ring->ring_fd,
		};
	assert_int_equal(ring_fds(ring, IORING_REGISTER_RING_FDS, up, REG_MAX),
			 REG_MAX);
	for (i = 0; i < REG_MAX; i++)
		assert_int_equal(up[i].offset, i);
	assert_int_equal(register_at(ring, ring->ring_fd, -1U), -EBUSY);
	for (i = 0; i < REG_MAX; i++)
		up[i] = (struct io_uring_rsrc_update) { .offset = i };
	assert_int_equal(ring_fds(ring, IORING_UNREGISTER_RING_FDS, up, REG_MAX),
			 REG_MAX);
	assert_int_equal(register_at(ring, ring->ring_fd, -1U), 0);
	assert_int_equal(unregister_at(ring, 0), 1);
}

static void test_raw_unregister_errors(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct io_uring_rsrc_update up = { .offset = 2, .data = 1 };

	assert_int_equal(ring_fds(ring, IORING_UNREGISTER_RING_FDS, &up, 0),
			 -EINVAL);
	assert_int_equal(ring_fds(ring, IORING_UNREGISTER_RING_FDS, &up,
				  REG_MAX + 1), -EINVAL);
	assert_int_equal(ring_fds(ring, IORING_UNREGISTER_RING_FDS, &up, 1),
			 -EINVAL);
	assert_int_equal(unregister_at(ring, REG_MAX), -EINVAL);
	/* An empty entry is no error. */
	assert_int_equal(unregister_at(ring, 2), 1);
}

static void test_calls_through_an_index(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	int idx = register_at(ring, ring->ring_fd, 6);

	assert_int_equal(idx, 6);
	assert_int_equal(enter_registered(6, IORING_ENTER_GETEVENTS), 0);
	assert_int_equal(probe_registered(6), 0);
	assert_int_equal(enter_registered(REG_MAX, 0), -EINVAL);
	assert_int_equal(probe_registered(REG_MAX), -EINVAL);
	assert_int_equal(enter_registered(7, 0), -EBADF);
	assert_int_equal(probe_registered(7), -EBADF);
	/* A call through an index may unregister that very index. */
	struct io_uring_rsrc_update up = { .offset = 6 };
	assert_int_equal(io_uring_register(6, IORING_UNREGISTER_RING_FDS |
					   IORING_REGISTER_USE_REGISTERED_RING,
					   &up, 1), 1);
	assert_int_equal(enter_registered(6, 0), -EBADF);
	assert_int_equal(probe_registered(6), -EBADF);
}

struct thread_args {
	struct io_uring *ring;
	int enter_before, probe_before, idx, enter_after;
};

static void *other_thread(void *arg)
{
	struct thread_args *a = arg;

	a->enter_before = enter_registered(0, 0);
	a->probe_before = probe_registered(0);
	a->idx = register_at(a->ring, a->ring->ring_fd, -1U);
	a->enter_after = enter_registered((unsigned) a->idx,
					  IORING_ENTER_GETEVENTS);
	return NULL;
}

/* Each thread has its own table: the owner's index means nothing in a new
 * thread, which has none yet (-EINVAL), and gets its own entries. */
static void test_tables_are_per_thread(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct thread_args a = { .ring = ring };
	pthread_t t;

	assert_int_equal(register_at(ring, ring->ring_fd, 0), 0);
	assert_int_equal(pthread_create(&t, NULL, other_thread, &a), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(a.enter_before, -EINVAL);
	assert_int_equal(a.probe_before, -EINVAL);
	assert_int_equal(a.idx, 0);
	assert_int_equal(a.enter_after, 0);
	/* Ours is untouched by the other thread's. */
	assert_int_equal(enter_registered(0, IORING_ENTER_GETEVENTS), 0);
	assert_int_equal(unregister_at(ring, 0), 1);
}

static void *register_and_exit(void *arg)
{
	struct io_uring *ring = arg;

	assert_int_equal(register_at(ring, ring->ring_fd, -1U), 0);
	return NULL;
}

/*
 * A thread's entries go when it exits: a ring it had registered is torn
 * down by io_uring_queue_exit() afterwards, descriptors and all.
 */
static void test_thread_exit_drops_its_entries(void **state)
{
	struct io_uring ring;
	pthread_t t;
	int fds;

	(void) state;
	warm_up_ring();
	fds = count_open_fds();
	assert_int_equal(io_uring_queue_init(4, &ring, 0), 0);
	assert_int_equal(pthread_create(&t, NULL, register_and_exit, &ring), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	nop_round_trip(&ring, 11);
	io_uring_queue_exit(&ring);
	assert_int_equal(wait_fd_count(fds), fds);
}

static void *queue_exit_thread(void *arg)
{
	io_uring_queue_exit(arg);
	return NULL;
}

/*
 * io_uring_queue_exit() in another thread than the one that registered the
 * ring: the ring lives on in that thread's entry, and goes, descriptors and
 * all, when the entry does.
 */
static void test_queue_exit_in_another_thread(void **state)
{
	struct io_uring ring;
	struct io_uring_rsrc_update up;
	pthread_t t;
	int fds, idx;

	(void) state;
	warm_up_ring();
	fds = count_open_fds();
	assert_int_equal(io_uring_queue_init(4, &ring, 0), 0);
	assert_int_equal(io_uring_register_ring_fd(&ring), 1);
	idx = ring.enter_ring_fd;
	assert_int_equal(pthread_create(&t, NULL, queue_exit_thread, &ring), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	up = (struct io_uring_rsrc_update) { .offset = (__u32) idx };
	assert_int_equal(io_uring_register((unsigned) idx,
					   IORING_UNREGISTER_RING_FDS |
					   IORING_REGISTER_USE_REGISTERED_RING,
					   &up, 1), 1);
	assert_int_equal(wait_fd_count(fds), fds);
}

/* After close_ring_fd, the number names the ring no more. */
static void test_closed_descriptor_number_is_no_ring(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	int fd = ring->ring_fd, p[2];

	assert_int_equal(io_uring_register_ring_fd(ring), 1);
	assert_int_equal(io_uring_close_ring_fd(ring), 1);
	assert_int_equal(io_uring_enter((unsigned) fd, 0, 0,
					IORING_ENTER_GETEVENTS, NULL), -EBADF);
	assert_int_equal(pipe(p), 0);
	if (p[0] != fd)
		assert_int_equal(dup2(p[0], fd), fd);
	assert_int_equal(io_uring_enter((unsigned) fd, 0, 0,
					IORING_ENTER_GETEVENTS, NULL),
			 -EOPNOTSUPP);
	close(fd);
	close(p[0]);
	close(p[1]);
	nop_round_trip(ring, 10);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(test_feature_bit_says_registered_rings_work),
		T(test_register_ring_fd_then_submit_through_the_index),
		T(test_close_ring_fd_keeps_the_ring),
		T(test_raw_register_limits_and_errors),
		T(test_raw_register_stops_at_a_bad_entry),
		T(test_sixteen_entries_then_ebusy),
		T(test_raw_unregister_errors),
		T(test_calls_through_an_index),
		T(test_tables_are_per_thread),
		T(test_closed_descriptor_number_is_no_ring),
		T(test_thread_exit_drops_its_entries),
		T(test_queue_exit_in_another_thread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif
