/* SPDX-License-Identifier: MIT */
/*
 * READ, WRITE, READV, WRITEV: bytes moved, data, short reads at EOF, the
 * file position with offset -1, rw_flags, and reads/writes on pipes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include "helpers.h"

#define FILE_SIZE	(65536 + 123)
#define POS_CUR		((__u64) -1)

static int pattern_fd(struct fixture *f, int flags)
{
	int fd = make_pattern_file(f->dir, "data", FILE_SIZE, 1, flags);

	assert_true(fd >= 0);
	return fd;
}

static off_t file_pos(int fd)
{
	return lseek(fd, 0, SEEK_CUR);
}

static void test_read_returns_bytes_and_data(void **state)
{
	struct fixture *f = *state;
	int fd = pattern_fd(f, O_RDONLY);
	static char buf[4096];
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	io_uring_prep_read(sqe, fd, buf, sizeof(buf), 8192);
	sqe->user_data = 11;
	assert_int_equal(submit_one_and_wait(&f->ring, 11), sizeof(buf));
	assert_true(check_pattern(buf, sizeof(buf), 8192, 1));
	close(fd);
}

static void test_write_returns_bytes_and_lands_in_file(void **state)
{
	struct fixture *f = *state;
	int fd = make_empty_file(f->dir, "out");
	static char buf[5000], back[5000];
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	assert_true(fd >= 0);
	fill_pattern(buf, sizeof(buf), 1000, 2);
	io_uring_prep_write(sqe, fd, buf, sizeof(buf), 1000);
	sqe->user_data = 12;
	assert_int_equal(submit_one_and_wait(&f->ring, 12), sizeof(buf));
	assert_int_equal(file_size(fd), 6000);
	assert_int_equal(pread(fd, back, sizeof(back), 1000), sizeof(back));
	assert_memory_equal(back, buf, sizeof(buf));
	close(fd);
}

static void test_readv_scatters_in_order(void **state)
{
	struct fixture *f = *state;
	int fd = pattern_fd(f, O_RDONLY);
	static char a[100], b[4096], c[1];
	struct iovec iov[3] = {
		{ a, sizeof(a) }, { b, sizeof(b) }, { c, sizeof(c) },
	};
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	io_uring_prep_readv(sqe, fd, iov, 3, 77);
	sqe->user_data = 13;
	assert_int_equal(submit_one_and_wait(&f->ring, 13), 100 + 4096 + 1);
	assert_true(check_pattern(a, sizeof(a), 77, 1));
	assert_true(check_pattern(b, sizeof(b), 177, 1));
	assert_true(check_pattern(c, sizeof(c), 177 + 4096, 1));
	close(fd);
}

static void test_writev_gathers_in_order(void **state)
{
	struct fixture *f = *state;
	int fd = make_empty_file(f->dir, "out");
	static char a[3000], b[10], c[4096], back[3000 + 10 + 4096];
	struct iovec iov[3] = {
		{ a, sizeof(a) }, { b, sizeof(b) }, { c, sizeof(c) },
	};
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	assert_true(fd >= 0);
	fill_pattern(a, sizeof(a), 0, 3);
	fill_pattern(b, sizeof(b), 3000, 3);
	fill_pattern(c, sizeof(c), 3010, 3);
	io_uring_prep_writev(sqe, fd, iov, 3, 0);
	sqe->user_data = 14;
	assert_int_equal(submit_one_and_wait(&f->ring, 14), sizeof(back));
	assert_int_equal(pread(fd, back, sizeof(back), 0), sizeof(back));
	assert_true(check_pattern(back, sizeof(back), 0, 3));
	close(fd);
}

static void test_read_past_eof_is_short_then_zero(void **state)
{
	struct fixture *f = *state;
	int fd = pattern_fd(f, O_RDONLY);
	static char buf[4096];
	struct io_uring_sqe *sqe;

	sqe = must_get_sqe(&f->ring);
	io_uring_prep_read(sqe, fd, buf, sizeof(buf), FILE_SIZE - 100);
	sqe->user_data = 1;
	assert_int_equal(submit_one_and_wait(&f->ring, 1), 100);
	assert_true(check_pattern(buf, 100, FILE_SIZE - 100, 1));

	sqe = must_get_sqe(&f->ring);
	io_uring_prep_read(sqe, fd, buf, sizeof(buf), FILE_SIZE);
	sqe->user_data = 2;
	assert_int_equal(submit_one_and_wait(&f->ring, 2), 0);

	sqe = must_get_sqe(&f->ring);
	io_uring_prep_read(sqe, fd, buf, sizeof(buf), FILE_SIZE + 5000);
	sqe->user_data = 3;
	assert_int_equal(submit_one_and_wait(&f->ring, 3), 0);
	close(fd);
}

static void test_readv_past_eof_fills_first_iovecs(void **state)
{
	struct fixture *f = *state;
	int fd = pattern_fd(f, O_RDONLY);
	static char a[50], b[4096];
	struct iovec iov[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	memset(b, 0xee, sizeof(b));
	io_uring_prep_readv(sqe, fd, iov, 2, FILE_SIZE - 60);
	sqe->user_data = 4;
	assert_int_equal(submit_one_and_wait(&f->ring, 4), 60);
	assert_true(check_pattern(a, 50, FILE_SIZE - 60, 1));
	assert_true(check_pattern(b, 10, FILE_SIZE - 10, 1));
	assert_int_equal((unsigned char) b[10], 0xee);
	close(fd);
}

static void test_zero_length_read_returns_zero(void **state)
{
	struct fixture *f = *state;
	int fd = pattern_fd(f, O_RDONLY);
	char buf[1];
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	io_uring_prep_read(sqe, fd, buf, 0, 0);
	sqe->user_data = 5;
	assert_int_equal(submit_one_and_wait(&f->ring, 5), 0);
	close(fd);
}

static void test_readv_zero_iovecs_returns_zero(void **state)
{
	struct fixture *f = *state;
	int fd = pattern_fd(f, O_RDONLY);
	struct iovec iov = { NULL, 0 };
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	io_uring_prep_readv(sqe, fd, &iov, 0, 0);
	sqe->user_data = 6;
	assert_int_equal(submit_one_and_wait(&f->ring, 6), 0);
	close(fd);
}

static void test_readv_more_than_uio_maxiov_is_einval(void **state)
{
	struct fixture *f = *state;
	int fd = pattern_fd(f, O_RDONLY);
	static struct iovec iov[1025];
	static char buf[1025];
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	for (int i = 0; i < 1025; i++) {
		iov[i].iov_base = &buf[i];
		iov[i].iov_len = 1;
	}
	io_uring_prep_readv(sqe, fd, iov, 1025, 0);
	sqe->user_data = 7;
	assert_int_equal(submit_one_and_wait(&f->ring, 7), -EINVAL);
	close(fd);
}

static void test_readv_1024_iovecs_is_fine(void **state)
{
	struct fixture *f = *state;
	int fd = pattern_fd(f, O_RDONLY);
	static struct iovec iov[1024];
	static char buf[1024];
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	for (int i = 0; i < 1024; i++) {
		iov[i].iov_base = &buf[1023 - i];	/* reversed */
		iov[i].iov_len = 1;
	}
	io_uring_prep_readv(sqe, fd, iov, 1024, 500);
	sqe->user_data = 8;
	assert_int_equal(submit_one_and_wait(&f->ring, 8), 1024);
	for (int i = 0; i < 1024; i++)
		assert_int_equal((unsigned char) buf[1023 - i],
				 pattern_byte(500 + (unsigned) i, 1));
	close(fd);
}

static void test_read_at_current_position_advances_it(void **state)
{
	struct fixture *f = *state;
	int fd = pattern_fd(f, O_RDONLY);
	static char buf[500];
	struct io_uring_sqe *sqe;

	assert_int_equal(lseek(fd, 1000, SEEK_SET), 1000);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_read(sqe, fd, buf, sizeof(buf), POS_CUR);
	sqe->user_data = 1;
	assert_int_equal(submit_one_and_wait(&f->ring, 1), 500);
	assert_true(check_pattern(buf, 500, 1000, 1));
	assert_int_equal(file_pos(fd), 1500);

	sqe = must_get_sqe(&f->ring);
	io_uring_prep_read(sqe, fd, buf, sizeof(buf), POS_CUR);
	sqe->user_data = 2;
	assert_int_equal(submit_one_and_wait(&f->ring, 2), 500);
	assert_true(check_pattern(buf, 500, 1500, 1));
	assert_int_equal(file_pos(fd), 2000);
	close(fd);
}

static void test_readv_at_current_position_advances_it(void **state)
{
	struct fixture *f = *state;
	int fd = pattern_fd(f, O_RDONLY);
	static char a[10], b[20];
	struct iovec iov[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	assert_int_equal(lseek(fd, 300, SEEK_SET), 300);
	io_uring_prep_readv(sqe, fd, iov, 2, POS_CUR);
	sqe->user_data = 3;
	assert_int_equal(submit_one_and_wait(&f->ring, 3), 30);
	assert_true(check_pattern(a, 10, 300, 1));
	assert_true(check_pattern(b, 20, 310, 1));
	assert_int_equal(file_pos(fd), 330);
	close(fd);
}

static void test_read_at_current_position_stops_at_eof(void **state)
{
	struct fixture *f = *state;
	int fd = pattern_fd(f, O_RDONLY);
	static char buf[4096];
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	assert_int_equal(lseek(fd, FILE_SIZE - 7, SEEK_SET), FILE_SIZE - 7);
	io_uring_prep_read(sqe, fd, buf, sizeof(buf), POS_CUR);
	sqe->user_data = 4;
	assert_int_equal(submit_one_and_wait(&f->ring, 4), 7);
	assert_int_equal(file_pos(fd), FILE_SIZE);
	close(fd);
}

static void test_write_at_current_position_advances_it(void **state)
{
	struct fixture *f = *state;
	int fd = make_empty_file(f->dir, "out");
	static char buf[100], back[200];
	struct io_uring_sqe *sqe;

	assert_true(fd >= 0);
	assert_int_equal(lseek(fd, 10, SEEK_SET), 10);
	fill_pattern(buf, sizeof(buf), 10, 4);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_write(sqe, fd, buf, sizeof(buf), POS_CUR);
	sqe->user_data = 5;
	assert_int_equal(submit_one_and_wait(&f->ring, 5), 100);
	assert_int_equal(file_pos(fd), 110);

	fill_pattern(buf, sizeof(buf), 110, 4);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_write(sqe, fd, buf, sizeof(buf), POS_CUR);
	sqe->user_data = 6;
	assert_int_equal(submit_one_and_wait(&f->ring, 6), 100);
	assert_int_equal(file_pos(fd), 210);

	assert_int_equal(pread(fd, back, 200, 10), 200);
	assert_true(check_pattern(back, 200, 10, 4));
	close(fd);
}

static void test_explicit_offset_leaves_position_alone(void **state)
{
	struct fixture *f = *state;
	int fd = pattern_fd(f, O_RDWR);
	static char buf[64];
	struct io_uring_sqe *sqe;

	assert_int_equal(lseek(fd, 3, SEEK_SET), 3);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_read(sqe, fd, buf, sizeof(buf), 100);
	sqe->user_data = 7;
	assert_int_equal(submit_one_and_wait(&f->ring, 7), 64);
	assert_int_equal(file_pos(fd), 3);

	sqe = must_get_sqe(&f->ring);
	io_uring_prep_write(sqe, fd, buf, sizeof(buf), 5000);
	sqe->user_data = 8;
	assert_int_equal(submit_one_and_wait(&f->ring, 8), 64);
	assert_int_equal(file_pos(fd), 3);
	close(fd);
}

static void test_negative_offset_other_than_minus_one_is_einval(void **state)
{
	struct fixture *f = *state;
	int fd = pattern_fd(f, O_RDWR);
	static char buf[16];
	struct io_uring_sqe *sqe;

	sqe = must_get_sqe(&f->ring);
	io_uring_prep_read(sqe, fd, buf, sizeof(buf), (__u64) -2);
	sqe->user_data = 1;
	assert_int_equal(submit_one_and_wait(&f->ring, 1), -EINVAL);

	sqe = must_get_sqe(&f->ring);
	io_uring_prep_write(sqe, fd, buf, sizeof(buf), (__u64) -2);
	sqe->user_data = 2;
	assert_int_equal(submit_one_and_wait(&f->ring, 2), -EINVAL);
	close(fd);
}

static void test_writev2_rwf_append_appends(void **state)
{
	struct fixture *f = *state;
	int fd = pattern_fd(f, O_RDWR);
	static char buf[300], back[300];
	struct iovec iov = { buf, sizeof(buf) };
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	fill_pattern(buf, sizeof(buf), 0, 9);
	io_uring_prep_writev2(sqe, fd, &iov, 1, 0, RWF_APPEND);
	sqe->user_data = 3;
	assert_int_equal(submit_one_and_wait(&f->ring, 3), 300);
	assert_int_equal(file_size(fd), FILE_SIZE + 300);
	assert_int_equal(pread(fd, back, 300, FILE_SIZE), 300);
	assert_memory_equal(back, buf, 300);
	/* The start of the file is untouched. */
	assert_int_equal(pread(fd, back, 300, 0), 300);
	assert_true(check_pattern(back, 300, 0, 1));
	close(fd);
}

static void test_write_on_o_append_fd_appends(void **state)
{
	struct fixture *f = *state;
	int fd = pattern_fd(f, O_WRONLY | O_APPEND);
	static char buf[10];
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	memset(buf, 'z', sizeof(buf));
	io_uring_prep_write(sqe, fd, buf, sizeof(buf), 0);
	sqe->user_data = 4;
	assert_int_equal(submit_one_and_wait(&f->ring, 4), 10);
	assert_int_equal(file_size(fd), FILE_SIZE + 10);
	close(fd);
}

static void test_writev2_rwf_dsync_writes(void **state)
{
	struct fixture *f = *state;
	int fd = make_empty_file(f->dir, "out");
	static char buf[4096], back[4096];
	struct iovec iov = { buf, sizeof(buf) };
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	assert_true(fd >= 0);
	fill_pattern(buf, sizeof(buf), 0, 5);
	io_uring_prep_writev2(sqe, fd, &iov, 1, 0, RWF_DSYNC);
	sqe->user_data = 5;
	assert_int_equal(submit_one_and_wait(&f->ring, 5), 4096);
	assert_int_equal(pread(fd, back, sizeof(back), 0), 4096);
	assert_memory_equal(back, buf, sizeof(buf));
	close(fd);
}

/* RWF_HIPRI needs an IOPOLL ring: on a normal ring the kernel says EINVAL. */
static void test_rwf_hipri_on_normal_ring_is_einval(void **state)
{
	struct fixture *f = *state;
	int fd = pattern_fd(f, O_RDONLY);
	static char buf[100];
	struct iovec iov = { buf, sizeof(buf) };
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	io_uring_prep_readv2(sqe, fd, &iov, 1, 0, RWF_HIPRI);
	sqe->user_data = 6;
	assert_int_equal(submit_one_and_wait(&f->ring, 6), -EINVAL);
	close(fd);
}

static void test_unknown_rw_flag_is_eopnotsupp(void **state)
{
	struct fixture *f = *state;
	int fd = pattern_fd(f, O_RDWR);
	static char buf[100];
	struct iovec iov = { buf, sizeof(buf) };
	struct io_uring_sqe *sqe;

	sqe = must_get_sqe(&f->ring);
	io_uring_prep_readv2(sqe, fd, &iov, 1, 0, 1 << 30);
	sqe->user_data = 7;
	assert_int_equal(submit_one_and_wait(&f->ring, 7), -EOPNOTSUPP);

	sqe = must_get_sqe(&f->ring);
	io_uring_prep_write(sqe, fd, buf, sizeof(buf), 0);
	sqe->rw_flags = 1 << 30;
	sqe->user_data = 8;
	assert_int_equal(submit_one_and_wait(&f->ring, 8), -EOPNOTSUPP);
	/* Nothing was written. */
	assert_int_equal(file_size(fd), FILE_SIZE);
	assert_int_equal(pread(fd, buf, sizeof(buf), 0), sizeof(buf));
	assert_true(check_pattern(buf, sizeof(buf), 0, 1));
	close(fd);
}

static void test_large_write_then_read_back(void **state)
{
	struct fixture *f = *state;
	int fd = make_empty_file(f->dir, "big");
	size_t len = 4u << 20;
	char *buf = malloc(len), *back = malloc(len);
	struct io_uring_sqe *sqe;

	assert_true(fd >= 0);
	assert_non_null(buf);
	assert_non_null(back);
	fill_pattern(buf, len, 0, 6);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_write(sqe, fd, buf, (unsigned) len, 0);
	sqe->user_data = 9;
	assert_int_equal(submit_one_and_wait(&f->ring, 9), len);

	memset(back, 0, len);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_read(sqe, fd, back, (unsigned) len, 0);
	sqe->user_data = 10;
	assert_int_equal(submit_one_and_wait(&f->ring, 10), len);
	assert_true(check_pattern(back, len, 0, 6));
	free(buf);
	free(back);
	close(fd);
}

static void test_batch_of_reads_each_gets_its_data(void **state)
{
	struct fixture *f = *state;
	int fd = pattern_fd(f, O_RDONLY);
	static char bufs[8][512];
	unsigned char seen[8] = { 0 };

	for (unsigned i = 0; i < 8; i++) {
		struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

		io_uring_prep_read(sqe, fd, bufs[i], 512, i * 4099ull);
		sqe->user_data = i;
	}
	assert_int_equal(io_uring_submit(&f->ring), 8);
	for (unsigned n = 0; n < 8; n++) {
		struct test_cqe c;

		assert_int_equal(reap_one(&f->ring, &c), 0);
		assert_true(c.user_data < 8);
		assert_int_equal(seen[c.user_data], 0);
		seen[c.user_data] = 1;
		assert_int_equal(c.res, 512);
		assert_true(check_pattern(bufs[c.user_data], 512,
					  c.user_data * 4099ull, 1));
	}
	assert_true(cq_is_empty(&f->ring));
	close(fd);
}

/* Pipes have no position: the kernel ignores the offset (even -1 or 77). */
static void test_pipe_read_ignores_offset(void **state)
{
	struct fixture *f = *state;
	int p[2];
	char buf[16] = { 0 };
	struct io_uring_sqe *sqe;

	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "hello", 5), 5);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_read(sqe, p[0], buf, sizeof(buf), 77);
	sqe->user_data = 1;
	assert_int_equal(submit_one_and_wait(&f->ring, 1), 5);
	assert_memory_equal(buf, "hello", 5);

	assert_int_equal(write(p[1], "world!", 6), 6);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_read(sqe, p[0], buf, sizeof(buf), POS_CUR);
	sqe->user_data = 2;
	assert_int_equal(submit_one_and_wait(&f->ring, 2), 6);
	assert_memory_equal(buf, "world!", 6);
	close(p[0]);
	close(p[1]);
}

static void test_pipe_write_ignores_offset(void **state)
{
	struct fixture *f = *state;
	int p[2];
	char buf[16] = { 0 };
	struct iovec iov[2] = { { "ab", 2 }, { "cde", 3 } };
	struct io_uring_sqe *sqe;

	assert_int_equal(pipe(p), 0);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_write(sqe, p[1], "xyz", 3, 12345);
	sqe->user_data = 3;
	assert_int_equal(submit_one_and_wait(&f->ring, 3), 3);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_writev(sqe, p[1], iov, 2, POS_CUR);
	sqe->user_data = 4;
	assert_int_equal(submit_one_and_wait(&f->ring, 4), 5);
	assert_int_equal(read(p[0], buf, sizeof(buf)), 8);
	assert_memory_equal(buf, "xyzabcde", 8);
	close(p[0]);
	close(p[1]);
}

/* Make a pattern file whose pages are (as far as possible) not cached. */
static int uncached_pattern_fd(struct fixture *f, size_t size, unsigned seed)
{
	int fd = make_pattern_file(f->dir, "cold", size, seed, O_RDWR);

	assert_true(fd >= 0);
	assert_int_equal(fsync(fd), 0);
	assert_int_equal(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
	return fd;
}

static void test_uncached_read_returns_all_data(void **state)
{
	struct fixture *f = *state;
	size_t len = 2u << 20;
	int fd = uncached_pattern_fd(f, len, 11);
	char *buf = malloc(len);
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	assert_non_null(buf);
	io_uring_prep_read(sqe, fd, buf, (unsigned) len, 0);
	sqe->user_data = 1;
	assert_int_equal(submit_one_and_wait(&f->ring, 1), len);
	assert_true(check_pattern(buf, len, 0, 11));
	free(buf);
	close(fd);
}

static void test_uncached_readv_returns_all_data(void **state)
{
	struct fixture *f = *state;
	size_t len = 1u << 20;
	int fd = uncached_pattern_fd(f, 2 * len, 12);
	char *a = malloc(len), *b = malloc(len);
	struct iovec iov[2] = { { a, len }, { b, len } };
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	assert_non_null(a);
	assert_non_null(b);
	io_uring_prep_readv(sqe, fd, iov, 2, 0);
	sqe->user_data = 2;
	assert_int_equal(submit_one_and_wait(&f->ring, 2), 2 * len);
	assert_true(check_pattern(a, len, 0, 12));
	assert_true(check_pattern(b, len, len, 12));
	free(a);
	free(b);
	close(fd);
}

/*
 * Only the first page is cached: a regular-file read is not cut short at
 * the cached part; the kernel returns the whole range.
 */
static void test_partly_cached_read_is_not_short(void **state)
{
	struct fixture *f = *state;
	size_t len = 1u << 20;
	int fd = uncached_pattern_fd(f, 2 * len, 13);
	char *buf = malloc(len);
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	assert_non_null(buf);
	assert_int_equal(posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM), 0);
	assert_int_equal(pread(fd, buf, 4096, 0), 4096);
	io_uring_prep_read(sqe, fd, buf, (unsigned) len, 0);
	sqe->user_data = 3;
	assert_int_equal(submit_one_and_wait(&f->ring, 3), len);
	assert_true(check_pattern(buf, len, 0, 13));
	free(buf);
	close(fd);
}

/* A buffer whose second page is inaccessible: the bytes before it count. */
static void test_read_into_partly_unmapped_buffer_is_short(void **state)
{
	struct fixture *f = *state;
	int fd = pattern_fd(f, O_RDWR);
	char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct io_uring_sqe *sqe;

	assert_true(m != MAP_FAILED);
	assert_int_equal(mprotect(m + 4096, 4096, PROT_NONE), 0);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_read(sqe, fd, m, 8192, 0);
	sqe->user_data = 4;
	assert_int_equal(submit_one_and_wait(&f->ring, 4), 4096);
	assert_true(check_pattern(m, 4096, 0, 1));

	sqe = must_get_sqe(&f->ring);
	io_uring_prep_read(sqe, fd, m + 4000, 8192, 100);
	sqe->user_data = 5;
	assert_int_equal(submit_one_and_wait(&f->ring, 5), 96);
	assert_true(check_pattern(m + 4000, 96, 100, 1));

	/* Writing from it stops at the same place. */
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_write(sqe, fd, m, 8192, 0);
	sqe->user_data = 6;
	assert_int_equal(submit_one_and_wait(&f->ring, 6), 4096);
	assert_int_equal(file_size(fd), FILE_SIZE);
	munmap(m, 8192);
	close(fd);
}

/* Reads at the file position in one batch each take a different chunk. */
static void test_batched_reads_at_position_take_distinct_chunks(void **state)
{
	struct fixture *f = *state;
	int fd = pattern_fd(f, O_RDONLY);
	static char bufs[4][100];
	unsigned char chunk_seen[4] = { 0 };

	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	for (unsigned i = 0; i < 4; i++) {
		struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

		io_uring_prep_read(sqe, fd, bufs[i], 100, POS_CUR);
		sqe->user_data = i;
	}
	assert_int_equal(io_uring_submit(&f->ring), 4);
	for (unsigned n = 0; n < 4; n++) {
		struct test_cqe c;
		unsigned chunk = 4;

		assert_int_equal(reap_one(&f->ring, &c), 0);
		assert_true(c.user_data < 4);
		assert_int_equal(c.res, 100);
		for (unsigned k = 0; k < 4; k++)
			if (check_pattern(bufs[c.user_data], 100, k * 100ull, 1))
				chunk = k;
		assert_true(chunk < 4);
		assert_int_equal(chunk_seen[chunk], 0);
		chunk_seen[chunk] = 1;
	}
	assert_int_equal(file_pos(fd), 400);
	close(fd);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

/*
 * io_uring_enter() is no cancellation point: a thread with a cancellation
 * pending submits a READ and a WRITE of a regular file and a CLOSE, all
 * made inline, gets the count back and is cancelled only at its next
 * cancellation point. The ring is the thread's own, never touched again
 * should a cancelled submitter leave it locked.
 */
static void test_file_io_is_no_cancellation_point(void **state)
{
	struct fixture *f = *state;
	static struct io_uring ring;
	static char buf[4096];
	int fd = pattern_fd(f, O_RDWR), spare = dup(fd);
	struct io_uring_cqe *cqe;
	int i;

	assert_true(spare >= 0);
	assert_int_equal(io_uring_queue_init(8, &ring, 0), 0);
	io_uring_prep_read(io_uring_get_sqe(&ring), fd, buf, sizeof(buf), 0);
	io_uring_prep_write(io_uring_get_sqe(&ring), fd, "ab", 2, 8192);
	io_uring_prep_close(io_uring_get_sqe(&ring), spare);
	assert_int_equal(submit_in_cancelled_thread(&ring), 3);
	for (i = 0; i < 3; i++) {
		assert_int_equal(io_uring_wait_cqe(&ring, &cqe), 0);
		assert_true(cqe->res >= 0);
		io_uring_cqe_seen(&ring, cqe);
	}
	assert_true(check_pattern(buf, sizeof(buf), 0, 1));
	assert_int_equal(fcntl(spare, F_GETFD), -1);
	io_uring_queue_exit(&ring);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_read_returns_bytes_and_data),
		T(test_file_io_is_no_cancellation_point),
		T(test_write_returns_bytes_and_lands_in_file),
		T(test_readv_scatters_in_order),
		T(test_writev_gathers_in_order),
		T(test_read_past_eof_is_short_then_zero),
		T(test_readv_past_eof_fills_first_iovecs),
		T(test_zero_length_read_returns_zero),
		T(test_readv_zero_iovecs_returns_zero),
		T(test_readv_more_than_uio_maxiov_is_einval),
		T(test_readv_1024_iovecs_is_fine),
		T(test_read_at_current_position_advances_it),
		T(test_readv_at_current_position_advances_it),
		T(test_read_at_current_position_stops_at_eof),
		T(test_write_at_current_position_advances_it),
		T(test_explicit_offset_leaves_position_alone),
		T(test_negative_offset_other_than_minus_one_is_einval),
		T(test_writev2_rwf_append_appends),
		T(test_write_on_o_append_fd_appends),
		T(test_writev2_rwf_dsync_writes),
		T(test_rwf_hipri_on_normal_ring_is_einval),
		T(test_unknown_rw_flag_is_eopnotsupp),
		T(test_large_write_then_read_back),
		T(test_batch_of_reads_each_gets_its_data),
		T(test_uncached_read_returns_all_data),
		T(test_uncached_readv_returns_all_data),
		T(test_partly_cached_read_is_not_short),
		T(test_read_into_partly_unmapped_buffer_is_short),
		T(test_batched_reads_at_position_take_distinct_chunks),
		T(test_pipe_read_ignores_offset),
		T(test_pipe_write_ignores_offset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
