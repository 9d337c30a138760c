/* SPDX-License-Identifier: MIT */
/*
 * FSYNC (plain and IORING_FSYNC_DATASYNC), FALLOCATE, FADVISE and
 * SYNC_FILE_RANGE: results, visible effects, and argument validation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/uio.h>
#include "helpers.h"

#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE	0x01
#endif
#ifndef FALLOC_FL_PUNCH_HOLE
#define FALLOC_FL_PUNCH_HOLE	0x02
#endif
#ifndef FALLOC_FL_ZERO_RANGE
#define FALLOC_FL_ZERO_RANGE	0x10
#endif

static int data_fd(struct fixture *f, size_t size, int flags)
{
	int fd = make_pattern_file(f->dir, "data", size, 1, flags);

	assert_true(fd >= 0);
	return fd;
}

static int run(struct io_uring *ring, struct io_uring_sqe *sqe, __u64 ud)
{
	sqe->user_data = ud;
	return submit_one_and_wait(ring, ud);
}

static void test_fsync_succeeds(void **state)
{
	struct fixture *f = *state;
	int fd = data_fd(f, 8192, O_RDWR);
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	io_uring_prep_fsync(sqe, fd, 0);
	assert_int_equal(run(&f->ring, sqe, 1), 0);
	close(fd);
}

static void test_fdatasync_succeeds(void **state)
{
	struct fixture *f = *state;
	int fd = data_fd(f, 8192, O_RDWR);
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
	assert_int_equal(run(&f->ring, sqe, 2), 0);
	close(fd);
}

/* fsync(2) works on a read-only descriptor; so does the io_uring op. */
static void test_fsync_on_read_only_fd_succeeds(void **state)
{
	struct fixture *f = *state;
	int fd = data_fd(f, 100, O_RDONLY);
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	io_uring_prep_fsync(sqe, fd, 0);
	assert_int_equal(run(&f->ring, sqe, 3), 0);
	close(fd);
}

/* off/len give a range, as for vfs_fsync_range(). */
static void test_fsync_with_range_succeeds(void **state)
{
	struct fixture *f = *state;
	int fd = data_fd(f, 8192, O_RDWR);
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
	sqe->off = 4096;
	sqe->len = 100;
	assert_int_equal(run(&f->ring, sqe, 4), 0);
	close(fd);
}

/* A write and an fsync in one batch (unlinked: order is not promised). */
static void test_fsync_write_then_sync_batch(void **state)
{
	struct fixture *f = *state;
	int fd = make_empty_file(f->dir, "out");
	static char buf[8192], back[8192];
	struct io_uring_sqe *sqe;
	int got[2] = { 1, 1 };

	assert_true(fd >= 0);
	fill_pattern(buf, sizeof(buf), 0, 7);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_write(sqe, fd, buf, sizeof(buf), 0);
	sqe->user_data = 0;
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_fsync(sqe, fd, 0);
	sqe->user_data = 1;
	assert_int_equal(io_uring_submit(&f->ring), 2);
	for (int i = 0; i < 2; i++) {
		struct test_cqe c;

		assert_int_equal(reap_one(&f->ring, &c), 0);
		assert_true(c.user_data < 2);
		got[c.user_data] = c.res;
	}
	assert_int_equal(got[0], sizeof(buf));
	assert_int_equal(got[1], 0);
	assert_int_equal(pread(fd, back, sizeof(back), 0), sizeof(back));
	assert_memory_equal(back, buf, sizeof(buf));
	close(fd);
}

static void test_fsync_unknown_flags_is_einval(void **state)
{
	struct fixture *f = *state;
	int fd = data_fd(f, 100, O_RDWR);
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	io_uring_prep_fsync(sqe, fd, 2);
	assert_int_equal(run(&f->ring, sqe, 5), -EINVAL);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC | (1u << 31));
	assert_int_equal(run(&f->ring, sqe, 6), -EINVAL);
	close(fd);
}

static void test_fsync_reserved_fields_are_einval(void **state)
{
	struct fixture *f = *state;
	int fd = data_fd(f, 100, O_RDWR);
	struct io_uring_sqe *sqe;

	sqe = must_get_sqe(&f->ring);
	io_uring_prep_fsync(sqe, fd, 0);
	sqe->addr = 1;
	assert_int_equal(run(&f->ring, sqe, 7), -EINVAL);

	sqe = must_get_sqe(&f->ring);
	io_uring_prep_fsync(sqe, fd, 0);
	sqe->buf_index = 1;
	assert_int_equal(run(&f->ring, sqe, 8), -EINVAL);
	close(fd);
}

static void test_fsync_on_pipe_is_einval(void **state)
{
	struct fixture *f = *state;
	int p[2];
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	assert_int_equal(pipe(p), 0);
	io_uring_prep_fsync(sqe, p[0], 0);
	assert_int_equal(run(&f->ring, sqe, 9), -EINVAL);
	close(p[0]);
	close(p[1]);
}

static void test_fallocate_extends_file(void **state)
{
	struct fixture *f = *state;
	int fd = make_empty_file(f->dir, "out");
	char buf[100];
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	assert_true(fd >= 0);
	io_uring_prep_fallocate(sqe, fd, 0, 0, 10000);
	assert_int_equal(run(&f->ring, sqe, 10), 0);
	assert_int_equal(file_size(fd), 10000);
	assert_int_equal(pread(fd, buf, sizeof(buf), 5000), sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
	close(fd);
}

static void test_fallocate_offset_and_len_are_respected(void **state)
{
	struct fixture *f = *state;
	int fd = data_fd(f, 1000, O_RDWR);
	char buf[1000];
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	io_uring_prep_fallocate(sqe, fd, 0, 20000, 5000);
	assert_int_equal(run(&f->ring, sqe, 11), 0);
	assert_int_equal(file_size(fd), 25000);
	assert_int_equal(pread(fd, buf, sizeof(buf), 0), sizeof(buf));
	assert_true(check_pattern(buf, sizeof(buf), 0, 1));
	close(fd);
}

static void test_fallocate_keep_size_allocates_without_growing(void **state)
{
	struct fixture *f = *state;
	int fd = data_fd(f, 100, O_RDWR);
	struct stat before, after;
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	assert_int_equal(fstat(fd, &before), 0);
	io_uring_prep_fallocate(sqe, fd, FALLOC_FL_KEEP_SIZE, 0, 1 << 20);
	assert_int_equal(run(&f->ring, sqe, 12), 0);
	assert_int_equal(fstat(fd, &after), 0);
	assert_int_equal(after.st_size, 100);
	assert_true(after.st_blocks >= (1 << 20) / 512);
	assert_true(after.st_blocks > before.st_blocks);
	close(fd);
}

static void test_fallocate_punch_hole_zeroes_range(void **state)
{
	struct fixture *f = *state;
	int fd = data_fd(f, 3 * 4096, O_RDWR);
	static char buf[3 * 4096];
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	io_uring_prep_fallocate(sqe, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				4096, 4096);
	assert_int_equal(run(&f->ring, sqe, 13), 0);
	assert_int_equal(file_size(fd), 3 * 4096);
	assert_int_equal(pread(fd, buf, sizeof(buf), 0), sizeof(buf));
	assert_true(check_pattern(buf, 4096, 0, 1));
	for (int i = 4096; i < 8192; i++)
		assert_int_equal(buf[i], 0);
	assert_true(check_pattern(buf + 8192, 4096, 8192, 1));
	close(fd);
}

static void test_fallocate_zero_range_zeroes(void **state)
{
	struct fixture *f = *state;
	int fd = data_fd(f, 8192, O_RDWR);
	static char buf[8192];
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	io_uring_prep_fallocate(sqe, fd, FALLOC_FL_ZERO_RANGE, 100, 200);
	assert_int_equal(run(&f->ring, sqe, 14), 0);
	assert_int_equal(pread(fd, buf, sizeof(buf), 0), sizeof(buf));
	assert_true(check_pattern(buf, 100, 0, 1));
	for (int i = 100; i < 300; i++)
		assert_int_equal(buf[i], 0);
	assert_true(check_pattern(buf + 300, 8192 - 300, 300, 1));
	close(fd);
}

static void test_fallocate_zero_len_is_einval(void **state)
{
	struct fixture *f = *state;
	int fd = data_fd(f, 100, O_RDWR);
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	io_uring_prep_fallocate(sqe, fd, 0, 0, 0);
	assert_int_equal(run(&f->ring, sqe, 15), -EINVAL);
	close(fd);
}

static void test_fallocate_read_only_fd_is_ebadf(void **state)
{
	struct fixture *f = *state;
	int fd = data_fd(f, 100, O_RDONLY);
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	io_uring_prep_fallocate(sqe, fd, 0, 0, 20000);
	assert_int_equal(run(&f->ring, sqe, 16), -EBADF);
	assert_int_equal(file_size(fd), 100);
	close(fd);
}

static void test_fallocate_unknown_mode_is_eopnotsupp(void **state)
{
	struct fixture *f = *state;
	int fd = data_fd(f, 100, O_RDWR);
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	io_uring_prep_fallocate(sqe, fd, 0x1000, 0, 20000);
	assert_int_equal(run(&f->ring, sqe, 17), -EOPNOTSUPP);
	assert_int_equal(file_size(fd), 100);
	close(fd);
}

static void test_fallocate_on_pipe_is_espipe(void **state)
{
	struct fixture *f = *state;
	int p[2];
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	assert_int_equal(pipe(p), 0);
	io_uring_prep_fallocate(sqe, p[1], 0, 0, 10);
	assert_int_equal(run(&f->ring, sqe, 18), -ESPIPE);
	close(p[0]);
	close(p[1]);
}

static void test_fallocate_reserved_fields_are_einval(void **state)
{
	struct fixture *f = *state;
	int fd = data_fd(f, 100, O_RDWR);
	struct io_uring_sqe *sqe;

	sqe = must_get_sqe(&f->ring);
	io_uring_prep_fallocate(sqe, fd, 0, 0, 4096);
	sqe->rw_flags = 1;
	assert_int_equal(run(&f->ring, sqe, 19), -EINVAL);

	sqe = must_get_sqe(&f->ring);
	io_uring_prep_fallocate(sqe, fd, 0, 0, 4096);
	sqe->buf_index = 1;
	assert_int_equal(run(&f->ring, sqe, 20), -EINVAL);
	assert_int_equal(file_size(fd), 100);
	close(fd);
}

static void test_fadvise_valid_advice_succeeds(void **state)
{
	struct fixture *f = *state;
	int fd = data_fd(f, 65536, O_RDONLY);
	static const int advice[] = {
		POSIX_FADV_NORMAL, POSIX_FADV_SEQUENTIAL, POSIX_FADV_RANDOM,
		POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED, POSIX_FADV_NOREUSE,
	};
	char buf[100];

	for (unsigned i = 0; i < sizeof(advice) / sizeof(advice[0]); i++) {
		struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

		io_uring_prep_fadvise(sqe, fd, 0, 65536, advice[i]);
		assert_int_equal(run(&f->ring, sqe, 30 + i), 0);
	}
	/* Advice changes no data. */
	assert_int_equal(pread(fd, buf, sizeof(buf), 4000), sizeof(buf));
	assert_true(check_pattern(buf, sizeof(buf), 4000, 1));
	close(fd);
}

static void test_fadvise_unknown_advice_is_einval(void **state)
{
	struct fixture *f = *state;
	int fd = data_fd(f, 100, O_RDONLY);
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	io_uring_prep_fadvise(sqe, fd, 0, 100, 99);
	assert_int_equal(run(&f->ring, sqe, 40), -EINVAL);
	close(fd);
}

static void test_fadvise_on_pipe_is_espipe(void **state)
{
	struct fixture *f = *state;
	int p[2];
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	assert_int_equal(pipe(p), 0);
	io_uring_prep_fadvise(sqe, p[0], 0, 100, POSIX_FADV_WILLNEED);
	assert_int_equal(run(&f->ring, sqe, 41), -ESPIPE);
	close(p[0]);
	close(p[1]);
}

static void test_fadvise_reserved_field_is_einval(void **state)
{
	struct fixture *f = *state;
	int fd = data_fd(f, 100, O_RDONLY);
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	io_uring_prep_fadvise(sqe, fd, 0, 100, POSIX_FADV_NORMAL);
	sqe->buf_index = 1;
	assert_int_equal(run(&f->ring, sqe, 42), -EINVAL);
	close(fd);
}

static void test_sync_file_range_succeeds(void **state)
{
	struct fixture *f = *state;
	int fd = data_fd(f, 65536, O_RDWR);
	static const int flags[] = {
		0,
		SYNC_FILE_RANGE_WRITE,
		SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
			SYNC_FILE_RANGE_WAIT_AFTER,
	};

	for (unsigned i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

		io_uring_prep_sync_file_range(sqe, fd, 4096, 8192, flags[i]);
		assert_int_equal(run(&f->ring, sqe, 50 + i), 0);
	}
	close(fd);
}

/* sync_file_range(2) needs no write access; neither does the op. */
static void test_sync_file_range_on_read_only_fd_succeeds(void **state)
{
	struct fixture *f = *state;
	int fd = data_fd(f, 4096, O_RDONLY);
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	io_uring_prep_sync_file_range(sqe, fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	assert_int_equal(run(&f->ring, sqe, 55), 0);
	close(fd);
}

static void test_sync_file_range_unknown_flags_is_einval(void **state)
{
	struct fixture *f = *state;
	int fd = data_fd(f, 100, O_RDWR);
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	io_uring_prep_sync_file_range(sqe, fd, 100, 0, 0x100);
	assert_int_equal(run(&f->ring, sqe, 56), -EINVAL);
	close(fd);
}

static void test_sync_file_range_on_pipe_is_espipe(void **state)
{
	struct fixture *f = *state;
	int p[2];
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	assert_int_equal(pipe(p), 0);
	io_uring_prep_sync_file_range(sqe, p[0], 100, 0, SYNC_FILE_RANGE_WRITE);
	assert_int_equal(run(&f->ring, sqe, 57), -ESPIPE);
	close(p[0]);
	close(p[1]);
}

static void test_sync_file_range_reserved_fields_are_einval(void **state)
{
	struct fixture *f = *state;
	int fd = data_fd(f, 100, O_RDWR);
	struct io_uring_sqe *sqe;

	sqe = must_get_sqe(&f->ring);
	io_uring_prep_sync_file_range(sqe, fd, 100, 0, 0);
	sqe->addr = 1;
	assert_int_equal(run(&f->ring, sqe, 58), -EINVAL);

	sqe = must_get_sqe(&f->ring);
	io_uring_prep_sync_file_range(sqe, fd, 100, 0, 0);
	sqe->buf_index = 1;
	assert_int_equal(run(&f->ring, sqe, 59), -EINVAL);
	close(fd);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_fsync_succeeds),
		T(test_fdatasync_succeeds),
		T(test_fsync_on_read_only_fd_succeeds),
		T(test_fsync_with_range_succeeds),
		T(test_fsync_write_then_sync_batch),
		T(test_fsync_unknown_flags_is_einval),
		T(test_fsync_reserved_fields_are_einval),
		T(test_fsync_on_pipe_is_einval),
		T(test_fallocate_extends_file),
		T(test_fallocate_offset_and_len_are_respected),
		T(test_fallocate_keep_size_allocates_without_growing),
		T(test_fallocate_punch_hole_zeroes_range),
		T(test_fallocate_zero_range_zeroes),
		T(test_fallocate_zero_len_is_einval),
		T(test_fallocate_read_only_fd_is_ebadf),
		T(test_fallocate_unknown_mode_is_eopnotsupp),
		T(test_fallocate_on_pipe_is_espipe),
		T(test_fallocate_reserved_fields_are_einval),
		T(test_fadvise_valid_advice_succeeds),
		T(test_fadvise_unknown_advice_is_einval),
		T(test_fadvise_on_pipe_is_espipe),
		T(test_fadvise_reserved_field_is_einval),
		T(test_sync_file_range_succeeds),
		T(test_sync_file_range_on_read_only_fd_succeeds),
		T(test_sync_file_range_unknown_flags_is_einval),
		T(test_sync_file_range_on_pipe_is_espipe),
		T(test_sync_file_range_reserved_fields_are_einval),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
