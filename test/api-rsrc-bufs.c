/* SPDX-License-Identifier: MIT */
/*
 * Registered buffers beyond io_uring_register_buffers(): sparse tables,
 * tags (a CQE when a buffer leaves the table), updates with and without
 * tags, and cloning between rings (with offsets, DST_REPLACE, a registered
 * source), each with the kernel's errors. A READ_FIXED in flight keeps its
 * buffer after the table lets it go.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/uio.h>
#include "helpers.h"

#ifdef LIBURING_BEFORE_2_15
SKIP_BEFORE_2_15_MAIN()
#else

#define NR_BUFS	4
#define BUF_LEN	4096
#define MSG_LEN	64

struct bufs {
	struct io_uring ring, other;
	char *buf[NR_BUFS];
	struct iovec iov[NR_BUFS];
	int pipe[2];
};

static int bufs_setup(void **state)
{
	struct bufs *b = calloc(1, sizeof(*b));

	if (!b || io_uring_queue_init(8, &b->ring, 0) < 0 ||
	    io_uring_queue_init(8, &b->other, 0) < 0 || pipe(b->pipe) < 0)
		return -1;
	for (int i = 0; i < NR_BUFS; i++) {
		if (posix_memalign((void **) &b->buf[i], 4096, BUF_LEN))
			return -1;
		memset(b->buf[i], 0, BUF_LEN);
		b->iov[i].iov_base = b->buf[i];
		b->iov[i].iov_len = BUF_LEN;
	}
	*state = b;
	return 0;
}

static int bufs_teardown(void **state)
{
	struct bufs *b = *state;

	io_uring_queue_exit(&b->ring);
	io_uring_queue_exit(&b->other);
	close(b->pipe[0]);
	close(b->pipe[1]);
	for (int i = 0; i < NR_BUFS; i++)
		free(b->buf[i]);
	free(b);
	return 0;
}

static void prep_read(struct io_uring *ring, struct bufs *b, void *addr,
		      int index, __u64 ud)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);

	io_uring_prep_read_fixed(sqe, b->pipe[0], addr, MSG_LEN, 0, index);
	sqe->user_data = ud;
}

/* A READ_FIXED of MSG_LEN pattern bytes from the pipe into addr, through
 * registered buffer index: its result. */
static int read_fixed(struct io_uring *ring, struct bufs *b, void *addr,
		      int index)
{
	char msg[MSG_LEN];
	int ret;

	fill_pattern(msg, MSG_LEN, 0, (unsigned) index + 1);
	assert_int_equal(write(b->pipe[1], msg, MSG_LEN), MSG_LEN);
	prep_read(ring, b, addr, index, 99);
	ret = submit_one_and_wait(ring, 99);
	if (ret == MSG_LEN)
		assert_true(check_pattern(addr, MSG_LEN, 0, (unsigned) index + 1));
	else	/* nothing read: empty the pipe for the next one */
		assert_int_equal(read(b->pipe[0], msg, MSG_LEN), MSG_LEN);
	return ret;
}

/* The next CQE, a tag's (res 0, no flags): its user_data. */
static __u64 next_tag(struct io_uring *ring)
{
	struct test_cqe c;

	assert_int_equal(reap_bounded(ring, &c, 5), 0);
	assert_int_equal(c.res, 0);
	assert_int_equal(c.flags, 0);
	return c.user_data;
}

static void test_rsrc_tags_feature_reported(void **state)
{
	struct bufs *b = *state;

	assert_true(b->ring.features & IORING_FEAT_RSRC_TAGS);
}

static void test_sparse_table_is_empty_until_updated(void **state)
{
	struct bufs *b = *state;

	assert_int_equal(io_uring_register_buffers_sparse(&b->ring, NR_BUFS), 0);
	assert_int_equal(read_fixed(&b->ring, b, b->buf[1], 1), -EFAULT);
	assert_int_equal(io_uring_register_buffers_sparse(&b->ring, NR_BUFS),
			 -EBUSY);
	assert_int_equal(io_uring_register_buffers_update_tag(&b->ring, 1,
							      &b->iov[1], NULL,
							      1), 1);
	assert_int_equal(read_fixed(&b->ring, b, b->buf[1], 1), MSG_LEN);
	assert_int_equal(read_fixed(&b->ring, b, b->buf[1], 2), -EFAULT);
	assert_int_equal(io_uring_register_buffers_sparse(&b->other, 0),
			 -EINVAL);
}

static void test_update_needs_a_table_in_range(void **state)
{
	struct bufs *b = *state;

	assert_int_equal(io_uring_register_buffers_update_tag(&b->ring, 0,
							      b->iov, NULL, 1),
			 -ENXIO);
	assert_int_equal(io_uring_register_buffers(&b->ring, b->iov, 2), 0);
	assert_int_equal(io_uring_register_buffers_update_tag(&b->ring, 1,
							      b->iov, NULL, 2),
			 -EINVAL);
	assert_int_equal(io_uring_register_buffers_update_tag(&b->ring, ~0u,
							      b->iov, NULL, 2),
			 -EOVERFLOW);
}

static void test_tag_on_an_empty_slot_is_refused(void **state)
{
	struct bufs *b = *state;
	struct iovec iov[2] = { b->iov[0], { NULL, 0 } };
	__u64 tags[2] = { 1, 2 };

	assert_int_equal(io_uring_register_buffers_tags(&b->ring, iov, tags, 2),
			 -EINVAL);
	tags[1] = 0;
	assert_int_equal(io_uring_register_buffers_tags(&b->ring, iov, tags, 2),
			 0);
	tags[0] = 3;
	assert_int_equal(io_uring_register_buffers_update_tag(&b->ring, 1,
							      &iov[1], tags, 1),
			 -EINVAL);
	assert_true(cq_is_empty(&b->ring));
}

/* The kernel frees a table from its last slot: tags post in that order. */
static void test_unregister_posts_each_tag(void **state)
{
	struct bufs *b = *state;
	__u64 tags[NR_BUFS] = { 10, 0, 12, 13 };

	assert_int_equal(io_uring_register_buffers_tags(&b->ring, b->iov, tags,
							NR_BUFS), 0);
	assert_int_equal(read_fixed(&b->ring, b, b->buf[2], 2), MSG_LEN);
	assert_true(cq_is_empty(&b->ring));
	assert_int_equal(io_uring_unregister_buffers(&b->ring), 0);
	assert_true(next_tag(&b->ring) == 13);
	assert_true(next_tag(&b->ring) == 12);
	assert_true(next_tag(&b->ring) == 10);
}

static void test_update_posts_the_replaced_tag(void **state)
{
	struct bufs *b = *state;
	__u64 tags[2] = { 20, 21 }, new_tag = 30;

	assert_int_equal(io_uring_register_buffers_tags(&b->ring, b->iov, tags,
							2), 0);
	assert_int_equal(io_uring_register_buffers_update_tag(&b->ring, 1,
							      &b->iov[3],
							      &new_tag, 1), 1);
	assert_true(next_tag(&b->ring) == 21);
	assert_int_equal(read_fixed(&b->ring, b, b->buf[1], 1), -EFAULT);
	assert_int_equal(read_fixed(&b->ring, b, b->buf[3], 1), MSG_LEN);
	assert_int_equal(io_uring_unregister_buffers(&b->ring), 0);
	assert_true(next_tag(&b->ring) == 30);
	assert_true(next_tag(&b->ring) == 20);
}

/* The first entry that fails ends the update and leaves its slot as it
 * was; the count says how many were done. */
static void test_update_stops_at_a_bad_entry(void **state)
{
	struct bufs *b = *state;
	struct iovec iov[2] = { b->iov[2], { NULL, 5 } };

	assert_int_equal(io_uring_register_buffers(&b->ring, b->iov, 2), 0);
	assert_int_equal(io_uring_register_buffers_update_tag(&b->ring, 0, iov,
							      NULL, 2), 1);
	assert_int_equal(read_fixed(&b->ring, b, b->buf[2], 0), MSG_LEN);
	assert_int_equal(read_fixed(&b->ring, b, b->buf[1], 1), MSG_LEN);
	assert_int_equal(io_uring_register_buffers_update_tag(&b->ring, 1,
							      &iov[1], NULL, 1),
			 -EFAULT);
}

/* Unregistering never waits for a read using the buffer, whose tag posts
 * only when that read is done with it. */
static void test_read_in_flight_keeps_its_buffer(void **state)
{
	struct bufs *b = *state;
	char msg[MSG_LEN];
	struct test_cqe c;
	__u64 tag = 40;

	assert_int_equal(io_uring_register_buffers_tags(&b->ring, b->iov, &tag,
							1), 0);
	prep_read(&b->ring, b, b->buf[0], 0, 7);
	assert_int_equal(io_uring_submit(&b->ring), 1);
	assert_int_equal(io_uring_unregister_buffers(&b->ring), 0);
	fill_pattern(msg, MSG_LEN, 0, 5);
	assert_int_equal(write(b->pipe[1], msg, MSG_LEN), MSG_LEN);
	assert_int_equal(reap_bounded(&b->ring, &c, 5), 0);
	assert_true(c.user_data == 7);
	assert_int_equal(c.res, MSG_LEN);
	assert_true(check_pattern(b->buf[0], MSG_LEN, 0, 5));
	assert_true(next_tag(&b->ring) == 40);
}

static void test_clone_errors(void **state)
{
	struct bufs *b = *state;

	assert_int_equal(io_uring_clone_buffers(&b->other, &b->ring), -ENXIO);
	assert_int_equal(io_uring_register_buffers(&b->ring, b->iov, 2), 0);
	assert_int_equal(io_uring_clone_buffers_offset(&b->other, &b->ring, 0,
						       0, 3, 0), -EINVAL);
	assert_int_equal(io_uring_clone_buffers_offset(&b->other, &b->ring, 0,
						       1, 2, 0), -EOVERFLOW);
	assert_int_equal(io_uring_clone_buffers_offset(&b->other, &b->ring, 1,
						       0, 0, 0), -EINVAL);
	assert_int_equal(io_uring_clone_buffers_offset(&b->other, &b->ring,
						       1u << 14, 0, 1, 0),
			 -EINVAL);
	assert_int_equal(__io_uring_clone_buffers(&b->other, &b->ring, 1u << 4),
			 -EINVAL);
	assert_int_equal(io_uring_clone_buffers(&b->ring, &b->ring), -EBUSY);
	assert_int_equal(io_uring_clone_buffers(&b->other, &b->ring), 0);
	assert_int_equal(io_uring_clone_buffers(&b->other, &b->ring), -EBUSY);
}

/* The source named by a descriptor that is no ring, or none at all. */
static void test_clone_from_a_non_ring(void **state)
{
	struct bufs *b = *state;
	struct io_uring_clone_buffers buf = { .src_fd = (__u32) b->pipe[0] };

	assert_int_equal(io_uring_register(b->other.ring_fd,
					   IORING_REGISTER_CLONE_BUFFERS, &buf,
					   1), -EOPNOTSUPP);
	buf.src_fd = 100000;
	assert_int_equal(io_uring_register(b->other.ring_fd,
					   IORING_REGISTER_CLONE_BUFFERS, &buf,
					   1), -EBADF);
	buf.src_fd = (__u32) b->ring.ring_fd;
	buf.pad[2] = 1;
	assert_int_equal(io_uring_register(b->other.ring_fd,
					   IORING_REGISTER_CLONE_BUFFERS, &buf,
					   1), -EINVAL);
}

/* A clone is the source's buffer in a node of dst's own: untagged, and
 * still there when the source lets its own go. */
static void test_clone_outlives_the_source_table(void **state)
{
	struct bufs *b = *state;
	__u64 tags[2] = { 50, 51 };

	assert_int_equal(io_uring_register_buffers_tags(&b->ring, b->iov, tags,
							2), 0);
	assert_int_equal(io_uring_clone_buffers(&b->other, &b->ring), 0);
	assert_int_equal(io_uring_unregister_buffers(&b->ring), 0);
	assert_true(next_tag(&b->ring) == 51);
	assert_true(next_tag(&b->ring) == 50);
	assert_int_equal(read_fixed(&b->other, b, b->buf[1], 1), MSG_LEN);
	assert_int_equal(io_uring_unregister_buffers(&b->other), 0);
	assert_int_equal(read_fixed(&b->other, b, b->buf[0], 0), -EFAULT);
	assert_true(cq_is_empty(&b->other));
}

/* DST_REPLACE with offsets: the range takes the source's buffers, the
 * rest of dst stays, and the table grows to hold the range. */
static void test_clone_replace_with_offsets(void **state)
{
	struct bufs *b = *state;
	__u64 tags[NR_BUFS] = { 60, 61, 62, 63 };

	assert_int_equal(io_uring_register_buffers(&b->ring, b->iov, 2), 0);
	assert_int_equal(io_uring_register_buffers_tags(&b->other, b->iov, tags,
							NR_BUFS), 0);
	assert_int_equal(io_uring_clone_buffers_offset(&b->other, &b->ring, 1,
						       1, 1,
						       IORING_REGISTER_DST_REPLACE),
			 0);
	assert_true(next_tag(&b->other) == 61);
	assert_int_equal(read_fixed(&b->other, b, b->buf[0], 0), MSG_LEN);
	assert_int_equal(read_fixed(&b->other, b, b->buf[1], 1), MSG_LEN);
	assert_int_equal(read_fixed(&b->other, b, b->buf[2], 2), MSG_LEN);
	assert_int_equal(read_fixed(&b->other, b, b->buf[3], 3), MSG_LEN);
	assert_int_equal(io_uring_clone_buffers_offset(&b->other, &b->ring, 5,
						       0, 2,
						       IORING_REGISTER_DST_REPLACE),
			 0);
	assert_int_equal(read_fixed(&b->other, b, b->buf[3], 3), MSG_LEN);
	assert_int_equal(read_fixed(&b->other, b, b->buf[0], 4), -EFAULT);
	assert_int_equal(read_fixed(&b->other, b, b->buf[0], 5), MSG_LEN);
	assert_int_equal(read_fixed(&b->other, b, b->buf[1], 6), MSG_LEN);
	assert_int_equal(read_fixed(&b->other, b, b->buf[0], 7), -EFAULT);
	assert_true(cq_is_empty(&b->other));
}

/* A ring may replace its own slots with its own buffers. */
static void test_clone_onto_itself(void **state)
{
	struct bufs *b = *state;

	assert_int_equal(io_uring_register_buffers(&b->ring, b->iov, 2), 0);
	assert_int_equal(io_uring_clone_buffers_offset(&b->ring, &b->ring, 1,
						       0, 1,
						       IORING_REGISTER_DST_REPLACE),
			 0);
	assert_int_equal(read_fixed(&b->ring, b, b->buf[0], 1), MSG_LEN);
	assert_int_equal(read_fixed(&b->ring, b, b->buf[1], 1), -EFAULT);
}

static void test_clone_from_a_registered_ring(void **state)
{
	struct bufs *b = *state;

	assert_int_equal(io_uring_register_buffers(&b->ring, b->iov, 2), 0);
	assert_int_equal(io_uring_register_ring_fd(&b->ring), 1);
	assert_int_equal(__io_uring_clone_buffers(&b->other, &b->ring,
						  IORING_REGISTER_SRC_REGISTERED),
			 0);
	assert_int_equal(read_fixed(&b->other, b, b->buf[1], 1), MSG_LEN);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, bufs_setup, bufs_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_rsrc_tags_feature_reported),
		T(test_sparse_table_is_empty_until_updated),
		T(test_update_needs_a_table_in_range),
		T(test_tag_on_an_empty_slot_is_refused),
		T(test_unregister_posts_each_tag),
		T(test_update_posts_the_replaced_tag),
		T(test_update_stops_at_a_bad_entry),
		T(test_read_in_flight_keeps_its_buffer),
		T(test_clone_errors),
		T(test_clone_from_a_non_ring),
		T(test_clone_outlives_the_source_table),
		T(test_clone_replace_with_offsets),
		T(test_clone_onto_itself),
		T(test_clone_from_a_registered_ring),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif
