/* SPDX-License-Identifier: MIT */
/*
 * Registered buffers: io_uring_register_buffers()/unregister_buffers(),
 * READ_FIXED and WRITE_FIXED data, and the errors for a bad buffer index or
 * an address outside the registered buffer (the kernel says -EFAULT).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include "helpers.h"

#define BUF_LEN	65536

struct bufs {
	struct fixture *f;
	char *buf[2];
	struct iovec iov[2];
};

static int bufs_setup(void **state)
{
	struct bufs *b = calloc(1, sizeof(*b));

	if (!b || fixture_setup((void **) &b->f) < 0)
		return -1;
	for (int i = 0; i < 2; i++) {
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

	fixture_teardown((void **) &b->f);
	free(b->buf[0]);
	free(b->buf[1]);
	free(b);
	return 0;
}

static struct io_uring *ring_of(struct bufs *b)
{
	return &b->f->ring;
}

static void register_both(struct bufs *b)
{
	assert_int_equal(io_uring_register_buffers(ring_of(b), b->iov, 2), 0);
}

static int run(struct io_uring *ring, struct io_uring_sqe *sqe, __u64 ud)
{
	sqe->user_data = ud;
	return submit_one_and_wait(ring, ud);
}

static void test_write_fixed_then_read_fixed_round_trip(void **state)
{
	struct bufs *b = *state;
	struct io_uring *ring = ring_of(b);
	int fd = make_empty_file(b->f->dir, "f");
	struct io_uring_sqe *sqe;

	assert_true(fd >= 0);
	register_both(b);
	fill_pattern(b->buf[0], BUF_LEN, 0, 3);
	sqe = must_get_sqe(ring);
	io_uring_prep_write_fixed(sqe, fd, b->buf[0], BUF_LEN, 0, 0);
	assert_int_equal(run(ring, sqe, 1), BUF_LEN);
	assert_int_equal(file_size(fd), BUF_LEN);

	sqe = must_get_sqe(ring);
	io_uring_prep_read_fixed(sqe, fd, b->buf[1], BUF_LEN, 0, 1);
	assert_int_equal(run(ring, sqe, 2), BUF_LEN);
	assert_true(check_pattern(b->buf[1], BUF_LEN, 0, 3));
	close(fd);
}

static void test_read_fixed_inside_buffer_at_offset(void **state)
{
	struct bufs *b = *state;
	struct io_uring *ring = ring_of(b);
	int fd = make_pattern_file(b->f->dir, "f", 100000, 4, O_RDONLY);
	struct io_uring_sqe *sqe;

	assert_true(fd >= 0);
	register_both(b);
	sqe = must_get_sqe(ring);
	io_uring_prep_read_fixed(sqe, fd, b->buf[1] + 100, 200, 5000, 1);
	assert_int_equal(run(ring, sqe, 3), 200);
	assert_true(check_pattern(b->buf[1] + 100, 200, 5000, 4));
	assert_int_equal(b->buf[1][99], 0);
	assert_int_equal(b->buf[1][300], 0);
	close(fd);
}

static void test_read_fixed_up_to_end_of_buffer(void **state)
{
	struct bufs *b = *state;
	struct io_uring *ring = ring_of(b);
	int fd = make_pattern_file(b->f->dir, "f", 100000, 4, O_RDONLY);
	struct io_uring_sqe *sqe;

	assert_true(fd >= 0);
	register_both(b);
	sqe = must_get_sqe(ring);
	io_uring_prep_read_fixed(sqe, fd, b->buf[0] + BUF_LEN - 10, 10, 7, 0);
	assert_int_equal(run(ring, sqe, 4), 10);
	assert_true(check_pattern(b->buf[0] + BUF_LEN - 10, 10, 7, 4));
	close(fd);
}

static void test_read_fixed_short_at_eof(void **state)
{
	struct bufs *b = *state;
	struct io_uring *ring = ring_of(b);
	int fd = make_pattern_file(b->f->dir, "f", 1000, 4, O_RDONLY);
	struct io_uring_sqe *sqe;

	assert_true(fd >= 0);
	register_both(b);
	sqe = must_get_sqe(ring);
	io_uring_prep_read_fixed(sqe, fd, b->buf[0], 4096, 900, 0);
	assert_int_equal(run(ring, sqe, 5), 100);
	assert_true(check_pattern(b->buf[0], 100, 900, 4));
	sqe = must_get_sqe(ring);
	io_uring_prep_read_fixed(sqe, fd, b->buf[0], 4096, 1000, 0);
	assert_int_equal(run(ring, sqe, 6), 0);
	close(fd);
}

static void test_fixed_at_current_position_advances_it(void **state)
{
	struct bufs *b = *state;
	struct io_uring *ring = ring_of(b);
	int fd = make_pattern_file(b->f->dir, "f", 10000, 4, O_RDWR);
	struct io_uring_sqe *sqe;

	assert_true(fd >= 0);
	register_both(b);
	assert_int_equal(lseek(fd, 500, SEEK_SET), 500);
	sqe = must_get_sqe(ring);
	io_uring_prep_read_fixed(sqe, fd, b->buf[0], 100, (__u64) -1, 0);
	assert_int_equal(run(ring, sqe, 7), 100);
	assert_true(check_pattern(b->buf[0], 100, 500, 4));
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 600);

	memset(b->buf[1], 'Q', 50);
	sqe = must_get_sqe(ring);
	io_uring_prep_write_fixed(sqe, fd, b->buf[1], 50, (__u64) -1, 1);
	assert_int_equal(run(ring, sqe, 8), 50);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 650);
	assert_int_equal(pread(fd, b->buf[0], 50, 600), 50);
	assert_memory_equal(b->buf[0], b->buf[1], 50);
	close(fd);
}

static void test_buf_index_out_of_range_is_efault(void **state)
{
	struct bufs *b = *state;
	struct io_uring *ring = ring_of(b);
	int fd = make_pattern_file(b->f->dir, "f", 4096, 4, O_RDWR);
	struct io_uring_sqe *sqe;

	assert_true(fd >= 0);
	register_both(b);
	sqe = must_get_sqe(ring);
	io_uring_prep_read_fixed(sqe, fd, b->buf[0], 100, 0, 2);
	assert_int_equal(run(ring, sqe, 9), -EFAULT);
	sqe = must_get_sqe(ring);
	io_uring_prep_write_fixed(sqe, fd, b->buf[0], 100, 0, 5);
	assert_int_equal(run(ring, sqe, 10), -EFAULT);
	sqe = must_get_sqe(ring);
	io_uring_prep_read_fixed(sqe, fd, b->buf[0], 100, 0, 0xffff);
	assert_int_equal(run(ring, sqe, 11), -EFAULT);
	assert_int_equal(file_size(fd), 4096);
	close(fd);
}

static void test_address_outside_registered_buffer_is_efault(void **state)
{
	struct bufs *b = *state;
	struct io_uring *ring = ring_of(b);
	int fd = make_pattern_file(b->f->dir, "f", 4096, 4, O_RDWR);
	static char other[100];
	struct io_uring_sqe *sqe;

	assert_true(fd >= 0);
	register_both(b);
	/* buf[0]'s address with index 1. */
	sqe = must_get_sqe(ring);
	io_uring_prep_read_fixed(sqe, fd, b->buf[0], 100, 0, 1);
	assert_int_equal(run(ring, sqe, 12), -EFAULT);
	/* Memory that was never registered. */
	sqe = must_get_sqe(ring);
	io_uring_prep_write_fixed(sqe, fd, other, sizeof(other), 0, 0);
	assert_int_equal(run(ring, sqe, 13), -EFAULT);
	/* Starts inside, runs past the end. */
	sqe = must_get_sqe(ring);
	io_uring_prep_read_fixed(sqe, fd, b->buf[0] + BUF_LEN - 10, 11, 0, 0);
	assert_int_equal(run(ring, sqe, 14), -EFAULT);
	/* Starts one byte before the buffer. */
	sqe = must_get_sqe(ring);
	io_uring_prep_write_fixed(sqe, fd, (void *) ((uintptr_t) b->buf[1] - 1),
				  10, 0, 1);
	assert_int_equal(run(ring, sqe, 15), -EFAULT);
	assert_int_equal(file_size(fd), 4096);
	close(fd);
}

static void test_fixed_op_without_registered_buffers_is_efault(void **state)
{
	struct bufs *b = *state;
	struct io_uring *ring = ring_of(b);
	int fd = make_pattern_file(b->f->dir, "f", 4096, 4, O_RDWR);
	struct io_uring_sqe *sqe;

	assert_true(fd >= 0);
	sqe = must_get_sqe(ring);
	io_uring_prep_read_fixed(sqe, fd, b->buf[0], 100, 0, 0);
	assert_int_equal(run(ring, sqe, 16), -EFAULT);
	sqe = must_get_sqe(ring);
	io_uring_prep_write_fixed(sqe, fd, b->buf[0], 100, 0, 0);
	assert_int_equal(run(ring, sqe, 17), -EFAULT);
	close(fd);
}

static void test_fixed_op_after_unregister_is_efault(void **state)
{
	struct bufs *b = *state;
	struct io_uring *ring = ring_of(b);
	int fd = make_pattern_file(b->f->dir, "f", 4096, 4, O_RDWR);
	struct io_uring_sqe *sqe;

	assert_true(fd >= 0);
	register_both(b);
	sqe = must_get_sqe(ring);
	io_uring_prep_read_fixed(sqe, fd, b->buf[0], 100, 0, 0);
	assert_int_equal(run(ring, sqe, 18), 100);
	assert_int_equal(io_uring_unregister_buffers(ring), 0);
	sqe = must_get_sqe(ring);
	io_uring_prep_read_fixed(sqe, fd, b->buf[0], 100, 0, 0);
	assert_int_equal(run(ring, sqe, 19), -EFAULT);
	close(fd);
}

static void test_write_fixed_to_read_only_fd_is_ebadf(void **state)
{
	struct bufs *b = *state;
	struct io_uring *ring = ring_of(b);
	int fd = make_pattern_file(b->f->dir, "f", 4096, 4, O_RDONLY);
	struct io_uring_sqe *sqe;

	assert_true(fd >= 0);
	register_both(b);
	sqe = must_get_sqe(ring);
	io_uring_prep_write_fixed(sqe, fd, b->buf[0], 100, 0, 0);
	assert_int_equal(run(ring, sqe, 20), -EBADF);
	close(fd);
}

static void test_fixed_op_on_bad_fd_is_ebadf(void **state)
{
	struct bufs *b = *state;
	struct io_uring *ring = ring_of(b);
	struct io_uring_sqe *sqe;

	register_both(b);
	sqe = must_get_sqe(ring);
	io_uring_prep_read_fixed(sqe, -1, b->buf[0], 100, 0, 0);
	assert_int_equal(run(ring, sqe, 21), -EBADF);
	sqe = must_get_sqe(ring);
	io_uring_prep_write_fixed(sqe, -1, b->buf[0], 100, 0, 0);
	assert_int_equal(run(ring, sqe, 22), -EBADF);
}

static void test_register_twice_is_ebusy(void **state)
{
	struct bufs *b = *state;
	struct io_uring *ring = ring_of(b);

	register_both(b);
	assert_int_equal(io_uring_register_buffers(ring, b->iov, 2), -EBUSY);
	assert_int_equal(io_uring_register_buffers(ring, b->iov, 1), -EBUSY);
	/* The first registration is still in force. */
	assert_int_equal(io_uring_unregister_buffers(ring), 0);
}

static void test_unregister_without_buffers_is_enxio(void **state)
{
	struct bufs *b = *state;
	struct io_uring *ring = ring_of(b);

	assert_int_equal(io_uring_unregister_buffers(ring), -ENXIO);
	register_both(b);
	assert_int_equal(io_uring_unregister_buffers(ring), 0);
	assert_int_equal(io_uring_unregister_buffers(ring), -ENXIO);
	/* And a new registration is possible again. */
	register_both(b);
	assert_int_equal(io_uring_unregister_buffers(ring), 0);
}

static void test_register_zero_buffers_is_einval(void **state)
{
	struct bufs *b = *state;

	assert_int_equal(io_uring_register_buffers(ring_of(b), b->iov, 0), -EINVAL);
}

static void test_register_bad_iovec_is_efault(void **state)
{
	struct bufs *b = *state;
	struct io_uring *ring = ring_of(b);
	struct iovec bad = { NULL, 4096 };
	struct iovec empty = { b->buf[0], 0 };

	assert_int_equal(io_uring_register_buffers(ring, &bad, 1), -EFAULT);
	assert_int_equal(io_uring_register_buffers(ring, &empty, 1), -EFAULT);
	/* A failed registration leaves none behind. */
	assert_int_equal(io_uring_unregister_buffers(ring), -ENXIO);
}

static void test_many_fixed_reads_in_one_batch(void **state)
{
	struct bufs *b = *state;
	struct io_uring *ring = ring_of(b);
	int fd = make_pattern_file(b->f->dir, "f", 8 * 4096, 5, O_RDONLY);
	unsigned char seen[8] = { 0 };

	assert_true(fd >= 0);
	register_both(b);
	for (unsigned i = 0; i < 8; i++) {
		struct io_uring_sqe *sqe = must_get_sqe(ring);

		/* Reversed: chunk i lands at the slot for 7 - i. */
		io_uring_prep_read_fixed(sqe, fd, b->buf[i & 1] + (7 - i) * 4096,
					 4096, i * 4096ull, (int) (i & 1));
		sqe->user_data = i;
	}
	assert_int_equal(io_uring_submit(ring), 8);
	for (unsigned n = 0; n < 8; n++) {
		struct test_cqe c;

		assert_int_equal(reap_one(ring, &c), 0);
		assert_true(c.user_data < 8);
		assert_int_equal(seen[c.user_data], 0);
		seen[c.user_data] = 1;
		assert_int_equal(c.res, 4096);
	}
	for (unsigned i = 0; i < 8; i++)
		assert_true(check_pattern(b->buf[i & 1] + (7 - i) * 4096, 4096,
					  i * 4096ull, 5));
	close(fd);
}

/*
 * Unregister while a READ_FIXED waits for a pipe: it returns at once, the
 * waiting read keeps the buffer it was issued with and completes into it,
 * and a READ_FIXED submitted afterwards finds no buffer. Parked, the read
 * took its buffer when it was first tried, at submission. async: it waits
 * on a worker, which looks the buffer up when it starts the read, and
 * that may be after the unregister, in the kernel as here: then it fails.
 */
static void unregister_with_read_pending(struct bufs *b, bool async)
{
	struct io_uring *ring = ring_of(b);
	struct io_uring_sqe *sqe;
	struct test_cqe c;
	int p[2], pending_res = INT_MIN, late_res = INT_MIN;

	assert_int_equal(pipe(p), 0);
	register_both(b);
	sqe = must_get_sqe(ring);
	io_uring_prep_read_fixed(sqe, p[0], b->buf[1] + 10, 100, 0, 1);
	sqe->user_data = 30;
	if (async)
		sqe->flags |= IOSQE_ASYNC;
	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(io_uring_unregister_buffers(ring), 0);
	if (!async)
		assert_true(cq_is_empty(ring));

	sqe = must_get_sqe(ring);
	io_uring_prep_read_fixed(sqe, p[0], b->buf[1], 100, 0, 1);
	sqe->user_data = 31;
	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(write(p[1], "pending", 7), 7);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(reap_one(ring, &c), 0);
		assert_true(c.user_data == 30 || c.user_data == 31);
		*(c.user_data == 30 ? &pending_res : &late_res) = c.res;
	}
	assert_int_equal(late_res, -EFAULT);
	if (!async || pending_res != -EFAULT) {
		assert_int_equal(pending_res, 7);
		assert_memory_equal(b->buf[1] + 10, "pending", 7);
	}
	close(p[0]);
	close(p[1]);
}

static void test_unregister_with_parked_read_fixed(void **state)
{
	unregister_with_read_pending(*state, false);
}

static void test_unregister_with_async_read_fixed(void **state)
{
	unregister_with_read_pending(*state, true);
}

static int register_one(struct io_uring *ring, void *base, size_t len)
{
	struct iovec iov = { base, len };

	return io_uring_register_buffers(ring, &iov, 1);
}

/* The kernel pins the pages for writing: memory it cannot write is -EFAULT. */
static void test_register_memory_not_writable_is_efault(void **state)
{
	struct bufs *b = *state;
	struct io_uring *ring = ring_of(b);
	long page = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, (size_t) (4 * page), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(m != MAP_FAILED);
	assert_int_equal(munmap(m + 3 * page, (size_t) page), 0);
	assert_int_equal(mprotect(m + page, (size_t) page, PROT_NONE), 0);
	assert_int_equal(mprotect(m + 2 * page, (size_t) page, PROT_READ), 0);

	assert_int_equal(register_one(ring, m + page, 10), -EFAULT);
	assert_int_equal(register_one(ring, m + 2 * page, 10), -EFAULT);
	assert_int_equal(register_one(ring, m + 3 * page, 10), -EFAULT);
	/* Writable at the start, not further on. */
	assert_int_equal(register_one(ring, m, (size_t) (2 * page)), -EFAULT);
	assert_int_equal(register_one(ring, (void *) (uintptr_t) page, 10),
			 -EFAULT);
	assert_int_equal(io_uring_unregister_buffers(ring), -ENXIO);
	/* The writable page alone is fine. */
	assert_int_equal(register_one(ring, m, (size_t) page), 0);
	assert_int_equal(io_uring_unregister_buffers(ring), 0);
	munmap(m, (size_t) (3 * page));
}

/* The kernel's limits: 1 GiB a buffer, 16384 buffers; a wrapping range. */
static void test_register_limits(void **state)
{
	struct bufs *b = *state;
	struct io_uring *ring = ring_of(b);
	struct iovec *many = calloc(16385, sizeof(*many));

	assert_non_null(many);
	assert_int_equal(register_one(ring, b->buf[0], (1ul << 30) + 1),
			 -EFAULT);
	assert_int_equal(register_one(ring, (void *) -4096L, 8192), -EOVERFLOW);
	for (unsigned i = 0; i < 16385; i++)
		many[i] = b->iov[i & 1];
	assert_int_equal(io_uring_register_buffers(ring, many, 16385), -EINVAL);
	assert_int_equal(io_uring_register_buffers(ring, many, 16384), 0);
	assert_int_equal(io_uring_unregister_buffers(ring), 0);
	free(many);
}

/* A NULL base of length 0 leaves its slot empty. */
static void test_empty_slot_is_efault(void **state)
{
	struct bufs *b = *state;
	struct io_uring *ring = ring_of(b);
	struct iovec iov[2] = { { NULL, 0 }, b->iov[1] };
	int fd = make_pattern_file(b->f->dir, "f", 4096, 4, O_RDONLY);
	struct io_uring_sqe *sqe;

	assert_true(fd >= 0);
	assert_int_equal(io_uring_register_buffers(ring, iov, 2), 0);
	sqe = must_get_sqe(ring);
	io_uring_prep_read_fixed(sqe, fd, b->buf[0], 100, 0, 0);
	assert_int_equal(run(ring, sqe, 40), -EFAULT);
	sqe = must_get_sqe(ring);
	io_uring_prep_read_fixed(sqe, fd, b->buf[1], 100, 0, 1);
	assert_int_equal(run(ring, sqe, 41), 100);
	close(fd);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, bufs_setup, bufs_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_write_fixed_then_read_fixed_round_trip),
		T(test_read_fixed_inside_buffer_at_offset),
		T(test_read_fixed_up_to_end_of_buffer),
		T(test_read_fixed_short_at_eof),
		T(test_fixed_at_current_position_advances_it),
		T(test_buf_index_out_of_range_is_efault),
		T(test_address_outside_registered_buffer_is_efault),
		T(test_fixed_op_without_registered_buffers_is_efault),
		T(test_fixed_op_after_unregister_is_efault),
		T(test_write_fixed_to_read_only_fd_is_ebadf),
		T(test_fixed_op_on_bad_fd_is_ebadf),
		T(test_register_twice_is_ebusy),
		T(test_unregister_without_buffers_is_enxio),
		T(test_register_zero_buffers_is_einval),
		T(test_register_bad_iovec_is_efault),
		T(test_many_fixed_reads_in_one_batch),
		T(test_unregister_with_parked_read_fixed),
		T(test_unregister_with_async_read_fixed),
		T(test_register_memory_not_writable_is_efault),
		T(test_register_limits),
		T(test_empty_slot_is_efault),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
