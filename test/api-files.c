/* SPDX-License-Identifier: MIT */
/*
 * Registered files: io_uring_register_files() and its variants, updates,
 * unregistering, resource tags, and IOSQE_FIXED_FILE on every operation
 * that takes a file, with the kernel's limits and error codes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include "helpers.h"

#define MAX_FIXED_FILES		(1u << 20)

/* A file holding a pattern; the caller closes it. */
static int pattern_fd(struct fixture *f, const char *name, unsigned seed)
{
	int fd = make_pattern_file(f->dir, name, 8192, seed, O_RDWR);

	assert_true(fd >= 0);
	return fd;
}

/* Reads 64 bytes at offset 0 of fixed slot `slot`; returns the result. */
static int read_slot(struct io_uring *ring, int slot, char *buf, __u64 ud)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);

	io_uring_prep_read(sqe, slot, buf, 64, 0);
	sqe->flags |= IOSQE_FIXED_FILE;
	sqe->user_data = ud;
	return submit_one_and_wait(ring, ud);
}

/* Slot `slot` reads back the pattern of seed. */
static void assert_slot_holds(struct io_uring *ring, int slot, unsigned seed)
{
	char buf[64];

	assert_int_equal(read_slot(ring, slot, buf, 1000 + slot), 64);
	assert_true(check_pattern(buf, 64, 0, seed));
}

static void assert_slot_empty(struct io_uring *ring, int slot)
{
	char buf[64];

	assert_int_equal(read_slot(ring, slot, buf, 2000 + slot), -EBADF);
}

/* The table keeps its own reference: the application may close its fd. */
static void test_registered_file_outlives_app_descriptor(void **state)
{
	struct fixture *f = *state;
	int fds[3] = { pattern_fd(f, "a", 1), -1, pattern_fd(f, "c", 3) };

	assert_int_equal(io_uring_register_files(&f->ring, fds, 3), 0);
	close(fds[0]);
	close(fds[2]);
	assert_slot_holds(&f->ring, 0, 1);
	assert_slot_empty(&f->ring, 1);
	assert_slot_holds(&f->ring, 2, 3);
	assert_int_equal(io_uring_unregister_files(&f->ring), 0);
	assert_slot_empty(&f->ring, 0);
}

static void test_fixed_file_bad_index_is_ebadf(void **state)
{
	struct fixture *f = *state;
	int fd = pattern_fd(f, "a", 1);
	char buf[64];

	/* No table at all. */
	assert_int_equal(read_slot(&f->ring, 0, buf, 1), -EBADF);
	assert_int_equal(io_uring_register_files(&f->ring, &fd, 1), 0);
	assert_int_equal(read_slot(&f->ring, 1, buf, 2), -EBADF);
	assert_int_equal(read_slot(&f->ring, -1, buf, 3), -EBADF);
	assert_int_equal(read_slot(&f->ring, 1 << 30, buf, 4), -EBADF);
	assert_int_equal(read_slot(&f->ring, 0, buf, 5), 64);
	close(fd);
}

static void test_register_errors(void **state)
{
	struct fixture *f = *state;
	int fd = pattern_fd(f, "a", 1), fds[2] = { fd, fd };
	int closed = dup(fd), ring_fd = f->ring.ring_fd;
	struct rlimit rl;

	close(closed);
	assert_int_equal(io_uring_register(ring_fd, IORING_REGISTER_FILES,
					   fds, 0), -EINVAL);
	assert_int_equal(io_uring_register(ring_fd, IORING_REGISTER_FILES,
					   NULL, 1), -EFAULT);
	assert_int_equal(io_uring_register(ring_fd, IORING_REGISTER_FILES,
					   fds, MAX_FIXED_FILES + 1), -EMFILE);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < MAX_FIXED_FILES)
		assert_int_equal(io_uring_register(ring_fd, IORING_REGISTER_FILES,
						   fds, (unsigned) rl.rlim_cur + 1),
				 -EMFILE);
	assert_int_equal(io_uring_register_files(&f->ring, &closed, 1), -EBADF);
	assert_int_equal(io_uring_register_files(&f->ring, &ring_fd, 1), -EBADF);
	/* The same file twice is fine; a second table is not. */
	assert_int_equal(io_uring_register_files(&f->ring, fds, 2), 0);
	assert_int_equal(io_uring_register_files(&f->ring, fds, 2), -EBUSY);
	assert_int_equal(io_uring_register_files_sparse(&f->ring, 2), -EBUSY);
	assert_int_equal(io_uring_register(ring_fd, IORING_UNREGISTER_FILES,
					   fds, 0), -EINVAL);
	assert_int_equal(io_uring_unregister_files(&f->ring), 0);
	assert_int_equal(io_uring_unregister_files(&f->ring), -ENXIO);
	close(fd);
}

/* A failed registration leaves no table behind. */
static void test_failed_register_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	int fd = pattern_fd(f, "a", 1), closed = dup(fd);
	int fds[3] = { fd, -1, closed };

	close(closed);
	assert_int_equal(io_uring_register_files(&f->ring, fds, 3), -EBADF);
	assert_int_equal(io_uring_unregister_files(&f->ring), -ENXIO);
	assert_int_equal(io_uring_register_files(&f->ring, fds, 2), 0);
	assert_slot_holds(&f->ring, 0, 1);
	close(fd);
}

static void test_register_files2_errors(void **state)
{
	struct fixture *f = *state;
	int fd = pattern_fd(f, "a", 1);
	struct io_uring_rsrc_register rr = {
		.nr = 1,
		.data = (__u64) (uintptr_t) &fd,
	};
	int ring_fd = f->ring.ring_fd;

	assert_int_equal(io_uring_register(ring_fd, IORING_REGISTER_FILES2,
					   &rr, sizeof(rr) - 1), -EINVAL);
	rr.nr = 0;
	assert_int_equal(io_uring_register(ring_fd, IORING_REGISTER_FILES2,
					   &rr, sizeof(rr)), -EINVAL);
	rr.nr = 1;
	rr.resv2 = 1;
	assert_int_equal(io_uring_register(ring_fd, IORING_REGISTER_FILES2,
					   &rr, sizeof(rr)), -EINVAL);
	rr.resv2 = 0;
	rr.flags = 2;
	assert_int_equal(io_uring_register(ring_fd, IORING_REGISTER_FILES2,
					   &rr, sizeof(rr)), -EINVAL);
	/* Sparse takes no descriptors. */
	rr.flags = IORING_RSRC_REGISTER_SPARSE;
	assert_int_equal(io_uring_register(ring_fd, IORING_REGISTER_FILES2,
					   &rr, sizeof(rr)), -EINVAL);
	rr.flags = 0;
	assert_int_equal(io_uring_register(ring_fd, IORING_REGISTER_FILES2,
					   &rr, sizeof(rr)), 0);
	assert_slot_holds(&f->ring, 0, 1);
	close(fd);
}

static void test_sparse_table_starts_empty(void **state)
{
	struct fixture *f = *state;
	int fd = pattern_fd(f, "a", 7);

	assert_int_equal(io_uring_register_files_sparse(&f->ring, 4), 0);
	assert_slot_empty(&f->ring, 0);
	assert_slot_empty(&f->ring, 3);
	assert_int_equal(io_uring_register_files_update(&f->ring, 3, &fd, 1), 1);
	assert_slot_holds(&f->ring, 3, 7);
	assert_slot_empty(&f->ring, 4);
	close(fd);
}

static void test_update_replaces_skips_and_clears(void **state)
{
	struct fixture *f = *state;
	int a = pattern_fd(f, "a", 1), b = pattern_fd(f, "b", 2);
	int c = pattern_fd(f, "c", 3), d = pattern_fd(f, "d", 4);
	int fds[3] = { a, b, c };
	int up[3] = { d, IORING_REGISTER_FILES_SKIP, -1 };

	assert_int_equal(io_uring_register_files(&f->ring, fds, 3), 0);
	assert_int_equal(io_uring_register_files_update(&f->ring, 0, up, 3), 3);
	assert_slot_holds(&f->ring, 0, 4);
	assert_slot_holds(&f->ring, 1, 2);
	assert_slot_empty(&f->ring, 2);
	/* Partial: the second slot gets a closed descriptor, is emptied, and
	 * the update stops there, reporting one slot done. */
	close(c);
	up[0] = a;
	up[1] = c;
	up[2] = d;
	assert_int_equal(io_uring_register_files_update(&f->ring, 0, up, 3), 1);
	assert_slot_holds(&f->ring, 0, 1);
	assert_slot_empty(&f->ring, 1);
	assert_slot_empty(&f->ring, 2);
	/* Nothing done: the error itself. */
	assert_int_equal(io_uring_register_files_update(&f->ring, 1, &c, 1),
			 -EBADF);
	close(a);
	close(b);
	close(d);
}

static void test_update_errors(void **state)
{
	struct fixture *f = *state;
	int fd = pattern_fd(f, "a", 1), ring_fd = f->ring.ring_fd;
	struct io_uring_files_update up = { .offset = 0,
					    .fds = (__u64) (uintptr_t) &fd };
	__u64 tag = 5;

	assert_int_equal(io_uring_register_files_update(&f->ring, 0, &fd, 1),
			 -ENXIO);
	assert_int_equal(io_uring_register_files_sparse(&f->ring, 2), 0);
	assert_int_equal(io_uring_register_files_update(&f->ring, 2, &fd, 1),
			 -EINVAL);
	assert_int_equal(io_uring_register_files_update(&f->ring, 1, &fd, 2),
			 -EINVAL);
	assert_int_equal(io_uring_register_files_update(&f->ring, ~0u, &fd, 2),
			 -EOVERFLOW);
	assert_int_equal(io_uring_register(ring_fd, IORING_REGISTER_FILES_UPDATE,
					   &up, 0), -EINVAL);
	up.resv = 1;
	assert_int_equal(io_uring_register(ring_fd, IORING_REGISTER_FILES_UPDATE,
					   &up, 1), -EINVAL);
	assert_int_equal(io_uring_register_files_update(&f->ring, 0, &ring_fd, 1),
			 -EBADF);
	/* A tag needs a file: not with -1 or SKIP. */
	up.resv = -1;
	assert_int_equal(io_uring_register_files_update_tag(&f->ring, 0,
							    (int *) &up.resv,
							    &tag, 1), -EINVAL);
	up.resv = IORING_REGISTER_FILES_SKIP;
	assert_int_equal(io_uring_register_files_update_tag(&f->ring, 0,
							    (int *) &up.resv,
							    &tag, 1), -EINVAL);
	assert_int_equal(io_uring_register_files_update_tag(&f->ring, 0, &fd,
							    &tag, 0), -EINVAL);
	close(fd);
}

/* Waits for `nr` CQEs and checks they are exactly the tags wanted[]. */
static void expect_tags(struct io_uring *ring, const __u64 *wanted, int nr)
{
	bool seen[16] = { false };

	assert_true(nr <= 16);
	for (int i = 0; i < nr; i++) {
		struct test_cqe c;
		int j;

		assert_int_equal(reap_one(ring, &c), 0);
		assert_int_equal(c.res, 0);
		assert_int_equal(c.flags, 0);
		for (j = 0; j < nr; j++)
			if (wanted[j] == c.user_data && !seen[j])
				break;
		assert_true(j < nr);
		seen[j] = true;
	}
}

static void test_tags_post_when_files_leave(void **state)
{
	struct fixture *f = *state;
	int a = pattern_fd(f, "a", 1), b = pattern_fd(f, "b", 2);
	int fds[3] = { a, b, -1 };
	__u64 tags[3] = { 11, 0, 0 }, new_tag = 33, zero_tag = 0;

	assert_int_equal(io_uring_register_files_tags(&f->ring, fds, tags, 3), 0);
	assert_true(cq_is_empty(&f->ring));
	/* Replacing slot 0 releases tag 11; the new file carries tag 33. */
	assert_int_equal(io_uring_register_files_update_tag(&f->ring, 0, &b,
							    &new_tag, 1), 1);
	expect_tags(&f->ring, (const __u64[]) { 11 }, 1);
	/* Slot 1 had no tag: emptying it posts nothing; the NOP is next. */
	fds[0] = -1;
	assert_int_equal(io_uring_register_files_update_tag(&f->ring, 1, fds,
							    &zero_tag, 1), 1);
	io_uring_prep_nop(must_get_sqe(&f->ring));
	assert_int_equal(submit_one_and_wait(&f->ring, 0), 0);
	/* Unregistering releases what is left. */
	assert_int_equal(io_uring_unregister_files(&f->ring), 0);
	expect_tags(&f->ring, (const __u64[]) { 33 }, 1);
	assert_true(cq_is_empty(&f->ring));
	close(a);
	close(b);
}

static void test_tag_without_file_is_einval(void **state)
{
	struct fixture *f = *state;
	int fds[2] = { -1, -1 };
	__u64 tags[2] = { 0, 9 };

	assert_int_equal(io_uring_register_files_tags(&f->ring, fds, tags, 2),
			 -EINVAL);
	assert_int_equal(io_uring_unregister_files(&f->ring), -ENXIO);
}

/*
 * Every operation that takes a file takes a fixed one, and the table's
 * file is the one used (the application's descriptor is closed).
 */
static void test_every_file_op_takes_a_fixed_file(void **state)
{
	struct fixture *f = *state;
	int fd = make_empty_file(f->dir, "w");
	char data[64], back[64];
	struct iovec iov = { data, sizeof(data) };
	struct io_uring_sqe *sqe;

	assert_true(fd >= 0);
	fill_pattern(data, sizeof(data), 0, 5);
	assert_int_equal(io_uring_register_files(&f->ring, &fd, 1), 0);

	sqe = must_get_sqe(&f->ring);
	io_uring_prep_fallocate(sqe, 0, 0, 0, 8192);
	sqe->flags |= IOSQE_FIXED_FILE;
	sqe->user_data = 1;
	assert_int_equal(submit_one_and_wait(&f->ring, 1), 0);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_writev(sqe, 0, &iov, 1, 0);
	sqe->flags |= IOSQE_FIXED_FILE;
	sqe->user_data = 2;
	assert_int_equal(submit_one_and_wait(&f->ring, 2), 64);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_write(sqe, 0, data, 64, 64);
	sqe->flags |= IOSQE_FIXED_FILE;
	sqe->user_data = 3;
	assert_int_equal(submit_one_and_wait(&f->ring, 3), 64);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_fsync(sqe, 0, IORING_FSYNC_DATASYNC);
	sqe->flags |= IOSQE_FIXED_FILE;
	sqe->user_data = 4;
	assert_int_equal(submit_one_and_wait(&f->ring, 4), 0);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_sync_file_range(sqe, 0, 128, 0, SYNC_FILE_RANGE_WRITE);
	sqe->flags |= IOSQE_FIXED_FILE;
	sqe->user_data = 5;
	assert_int_equal(submit_one_and_wait(&f->ring, 5), 0);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_fadvise(sqe, 0, 0, 128, POSIX_FADV_DONTNEED);
	sqe->flags |= IOSQE_FIXED_FILE;
	sqe->user_data = 6;
	assert_int_equal(submit_one_and_wait(&f->ring, 6), 0);

	close(fd);	/* from here on only the table's reference remains */
	iov.iov_base = back;
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_readv(sqe, 0, &iov, 1, 64);
	sqe->flags |= IOSQE_FIXED_FILE;
	sqe->user_data = 7;
	assert_int_equal(submit_one_and_wait(&f->ring, 7), 64);
	assert_true(check_pattern(back, 64, 0, 5));
	memset(back, 0, sizeof(back));
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_read(sqe, 0, back, 64, 0);
	sqe->flags |= IOSQE_FIXED_FILE | IOSQE_ASYNC;
	sqe->user_data = 8;
	assert_int_equal(submit_one_and_wait(&f->ring, 8), 64);
	assert_true(check_pattern(back, 64, 0, 5));
}

/* Fixed buffers and fixed files together. */
static void test_fixed_file_with_fixed_buffer(void **state)
{
	struct fixture *f = *state;
	int fd = pattern_fd(f, "a", 6);
	static char buf[4096];
	struct iovec iov = { buf, sizeof(buf) };
	struct io_uring_sqe *sqe;

	assert_int_equal(io_uring_register_buffers(&f->ring, &iov, 1), 0);
	assert_int_equal(io_uring_register_files(&f->ring, &fd, 1), 0);
	close(fd);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_read_fixed(sqe, 0, buf, 4096, 4096, 0);
	sqe->flags |= IOSQE_FIXED_FILE;
	sqe->user_data = 9;
	assert_int_equal(submit_one_and_wait(&f->ring, 9), 4096);
	assert_true(check_pattern(buf, 4096, 4096, 6));
}

/* The table's descriptors go when the table goes. */
static void test_descriptors_balance(void **state)
{
	struct fixture *f = *state;
	int before = count_open_fds(), fd = pattern_fd(f, "a", 1);
	int fds[4] = { fd, fd, fd, fd };
	__u64 tags[4] = { 1, 2, 3, 4 };

	assert_int_equal(io_uring_register_files_tags(&f->ring, fds, tags, 4), 0);
	close(fd);
	assert_slot_holds(&f->ring, 2, 1);
	assert_int_equal(io_uring_unregister_files(&f->ring), 0);
	expect_tags(&f->ring, tags, 4);
	assert_int_equal(wait_fd_count(before), before);
}

/* Tables come and go without waiting: many rounds, all descriptors back. */
static void test_register_unregister_churn(void **state)
{
	struct fixture *f = *state;
	int before = count_open_fds(), fd = pattern_fd(f, "a", 1);

	for (int i = 0; i < 200; i++) {
		__u64 tag = 100 + i;
		struct test_cqe c;

		assert_int_equal(io_uring_register_files_tags(&f->ring, &fd,
							      &tag, 1), 0);
		assert_slot_holds(&f->ring, 0, 1);
		assert_int_equal(io_uring_unregister_files(&f->ring), 0);
		assert_int_equal(reap_one(&f->ring, &c), 0);
		assert_true(c.user_data == tag);
	}
	close(fd);
	assert_int_equal(wait_fd_count(before), before);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_registered_file_outlives_app_descriptor),
		T(test_fixed_file_bad_index_is_ebadf),
		T(test_register_errors),
		T(test_failed_register_leaves_nothing),
		T(test_register_files2_errors),
		T(test_sparse_table_starts_empty),
		T(test_update_replaces_skips_and_clears),
		T(test_update_errors),
		T(test_tags_post_when_files_leave),
		T(test_tag_without_file_is_einval),
		T(test_every_file_op_takes_a_fixed_file),
		T(test_fixed_file_with_fixed_buffer),
		T(test_descriptors_balance),
		T(test_register_unregister_churn),
	};

	alarm(60);	/* an update that waited for I/O would hang */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
