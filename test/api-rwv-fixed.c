/* SPDX-License-Identifier: MIT */
/*
 * READV_FIXED and WRITEV_FIXED: vectored transfers whose iovecs all lie
 * inside one registered buffer, with the kernel's results and errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <string.h>
#include <sys/uio.h>
#include "helpers.h"

#define OP_READV_FIXED	60
#define OP_WRITEV_FIXED	61
#define REG_LEN		8192

struct rwv_fixture {
	struct fixture	f;
	char		*buf, *other;
	int		fd;
};

static int rwv_setup(void **state)
{
	struct rwv_fixture *x = calloc(1, sizeof(*x));
	struct iovec reg[2];
	char path[PATH_MAX];
	void *mem;

	if (!x || make_tmpdir(x->f.dir) < 0 ||
	    io_uring_queue_init(8, &x->f.ring, 0) < 0)
		return -1;
	if (posix_memalign(&mem, 4096, REG_LEN + 4096))
		return -1;
	x->buf = mem;
	x->other = x->buf + REG_LEN;
	reg[0] = (struct iovec) { x->buf, REG_LEN };
	reg[1] = (struct iovec) { x->other, 4096 };
	if (io_uring_register_buffers(&x->f.ring, reg, 2))
		return -1;
	join_path(path, x->f.dir, "data");
	x->fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	*state = x;
	return x->fd < 0 ? -1 : 0;
}

static int rwv_teardown(void **state)
{
	struct rwv_fixture *x = *state;

	close(x->fd);
	io_uring_queue_exit(&x->f.ring);
	remove_tmpdir(x->f.dir);
	free(x->buf);
	free(x);
	return 0;
}

/* The system liburing (2.3) has no helpers: their fields, by hand. */
static void prep(struct io_uring_sqe *sqe, bool write, int fd,
		 const struct iovec *iov, unsigned nr, __u64 off, int index)
{
#ifdef TEST_KERNEL
	io_uring_prep_rw(write ? OP_WRITEV_FIXED : OP_READV_FIXED, sqe, fd, iov,
			 nr, off);
	sqe->buf_index = (__u16) index;
#else
	if (write)
		io_uring_prep_writev_fixed(sqe, fd, iov, nr, off, 0, index);
	else
		io_uring_prep_readv_fixed(sqe, fd, iov, nr, off, 0, index);
#endif
	sqe->user_data = 1;
}

static int run(struct io_uring *ring, bool write, int fd,
	       const struct iovec *iov, unsigned nr, __u64 off, int index)
{
	prep(must_get_sqe(ring), write, fd, iov, nr, off, index);
	return submit_wait_in_engine(ring, 1);
}

static void test_write_then_read_back(void **state)
{
	struct rwv_fixture *x = *state;
	struct io_uring *ring = &x->f.ring;
	char *b = x->buf;
	struct iovec w[3] = {
		{ b, 10 }, { b + 100, 20 }, { b + REG_LEN - 192, 192 },
	};
	struct iovec r[2] = { { b + 4000, 15 }, { b + 5000, 300 } };
	char want[222];

	fill_pattern(b, REG_LEN, 0, 3);
	memcpy(want, b, 10);
	memcpy(want + 10, b + 100, 20);
	memcpy(want + 30, b + REG_LEN - 192, 192);
	assert_int_equal(run(ring, true, x->fd, w, 3, 0, 0), 222);
	memset(b, 0, REG_LEN);
	assert_int_equal(run(ring, false, x->fd, r, 2, 0, 0), 222);
	assert_memory_equal(b + 4000, want, 15);
	assert_memory_equal(b + 5000, want + 15, 207);
	/* The second buffer, by its own index. */
	r[0] = (struct iovec) { x->other, 4 };
	assert_int_equal(run(ring, false, x->fd, r, 1, 0, 1), 4);
	assert_memory_equal(x->other, want, 4);
	assert_int_equal(run(ring, false, x->fd, r, 0, 0, 1), 0);
}

static void test_pipe(void **state)
{
	struct rwv_fixture *x = *state;
	struct iovec v[2] = { { x->buf, 2 }, { x->buf + 10, 10 } };
	int p[2];

	assert_int_equal(pipe(p), 0);
	memcpy(x->buf, "ab", 2);
	memcpy(x->buf + 10, "cde", 3);
	v[1].iov_len = 3;
	assert_int_equal(run(&x->f.ring, true, p[1], v, 2, 0, 0), 5);
	memset(x->buf, 0, 16);
	v[1].iov_len = 10;
	assert_int_equal(run(&x->f.ring, false, p[0], v, 2, 0, 0), 5);
	assert_memory_equal(x->buf, "ab", 2);
	assert_memory_equal(x->buf + 10, "cde", 3);
	close(p[0]);
	close(p[1]);
}

/* Every iovec, even an empty one, inside the buffer named: -EFAULT. */
static void test_iovecs_outside_the_buffer(void **state)
{
	struct rwv_fixture *x = *state;
	struct io_uring *ring = &x->f.ring;
	char *b = x->buf;
	struct iovec past[2] = { { b, 4 }, { b + REG_LEN - 2, 4 } };
	struct iovec before = { b - 1, 4 }, empty = { NULL, 0 };
	struct iovec other = { x->other, 4 };

	assert_int_equal(run(ring, false, x->fd, past, 2, 0, 0), -EFAULT);
	assert_int_equal(run(ring, true, x->fd, past, 2, 0, 0), -EFAULT);
	assert_int_equal(run(ring, false, x->fd, &before, 1, 0, 0), -EFAULT);
	assert_int_equal(run(ring, false, x->fd, &empty, 1, 0, 0), -EFAULT);
	assert_int_equal(run(ring, false, x->fd, &other, 1, 0, 0), -EFAULT);
	assert_int_equal(run(ring, false, x->fd, &other, 1, 0, 5), -EFAULT);
	assert_int_equal(io_uring_unregister_buffers(ring), 0);
	assert_int_equal(run(ring, false, x->fd, past, 1, 0, 0), -EFAULT);
}

/* The array as readv(2) takes it: -EINVAL past UIO_MAXIOV or for a length
 * past SSIZE_MAX, -EFAULT when unreadable; no provided buffers. */
static void test_array_errors(void **state)
{
	struct rwv_fixture *x = *state;
	struct io_uring *ring = &x->f.ring;
	struct iovec huge = { x->buf, (size_t) -1 }, v = { x->buf, 4 };
	struct io_uring_sqe *sqe;

	assert_int_equal(run(ring, false, x->fd, &v, 1025, 0, 0), -EINVAL);
	assert_int_equal(run(ring, false, x->fd, &huge, 1, 0, 0), -EINVAL);
	assert_int_equal(run(ring, false, x->fd, (const void *) 8, 1, 0, 0),
			 -EFAULT);
	sqe = must_get_sqe(ring);
	prep(sqe, false, x->fd, &v, 1, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	assert_int_equal(submit_wait_in_engine(ring, 1), -EOPNOTSUPP);
	assert_int_equal(run(ring, false, 999, &v, 1, 0, 0), -EBADF);
}

/* The iovecs are copied at submission: a change after it is not seen,
 * even by a request issued later (linked behind an IOSQE_ASYNC NOP). */
static void test_iovecs_copied_at_submission(void **state)
{
	struct rwv_fixture *x = *state;
	struct io_uring *ring = &x->f.ring;
	struct iovec w = { x->buf, 64 }, *r = malloc(sizeof(*r));
	struct io_uring_sqe *sqe;
	struct test_cqe c[2];

	assert_non_null(r);
	assert_int_equal(run(ring, true, x->fd, &w, 1, 0, 0), 64);
	*r = (struct iovec) { x->buf, 7 };
	sqe = must_get_sqe(ring);
	io_uring_prep_nop(sqe);
	sqe->flags = IOSQE_IO_LINK | IOSQE_ASYNC;
	sqe->user_data = 2;
	prep(must_get_sqe(ring), false, x->fd, r, 1, 0, 0);
	assert_int_equal(io_uring_submit(ring), 2);
	r->iov_len = 3;
	assert_int_equal(reap_in_engine(ring, &c[0]), 0);
	assert_int_equal(reap_in_engine(ring, &c[1]), 0);
	assert_int_equal(c[0].user_data, 2);
	assert_int_equal(c[1].user_data, 1);
	assert_int_equal(c[1].res, 7);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, rwv_setup, rwv_teardown)
		T(test_write_then_read_back),
		T(test_pipe),
		T(test_iovecs_outside_the_buffer),
		T(test_array_errors),
		T(test_iovecs_copied_at_submission),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
