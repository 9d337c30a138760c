/* SPDX-License-Identifier: MIT */
/*
 * OPENAT, OPENAT2 and CLOSE, with and without direct descriptors (opened
 * straight into the fixed-file table), FILES_UPDATE, the allocation range
 * of IORING_FILE_INDEX_ALLOC, and FIXED_FD_INSTALL.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/stat.h>
#include "helpers.h"

/* Newer than liburing 2.3: the SQE is written by hand. */
#define OP_FIXED_FD_INSTALL	54
#define FIXED_FD_NO_CLOEXEC	(1U << 0)

static int run(struct io_uring *ring, struct io_uring_sqe *sqe, __u64 ud)
{
	sqe->user_data = ud;
	return submit_one_and_wait(ring, ud);
}

static void make_file(struct fixture *f, const char *name, unsigned seed,
		      char *path)
{
	int fd = make_pattern_file(f->dir, name, 4096, seed, O_RDONLY);

	assert_true(fd >= 0);
	close(fd);
	join_path(path, f->dir, name);
}

static void assert_fd_holds(int fd, unsigned seed)
{
	char buf[64];

	assert_int_equal(pread(fd, buf, sizeof(buf), 0), sizeof(buf));
	assert_true(check_pattern(buf, sizeof(buf), 0, seed));
}

static void assert_slot_holds(struct io_uring *ring, int slot, unsigned seed)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);
	char buf[64];

	io_uring_prep_read(sqe, slot, buf, sizeof(buf), 0);
	sqe->flags |= IOSQE_FIXED_FILE;
	assert_int_equal(run(ring, sqe, 500 + slot), sizeof(buf));
	assert_true(check_pattern(buf, sizeof(buf), 0, seed));
}

static void prep_openat_alloc(struct io_uring_sqe *sqe, const char *path,
			      int flags)
{
	io_uring_prep_openat(sqe, AT_FDCWD, path, flags, 0);
	sqe->file_index = IORING_FILE_INDEX_ALLOC;
}

static void test_openat_and_close(void **state)
{
	struct fixture *f = *state;
	struct io_uring_sqe *sqe;
	char path[PATH_MAX];
	int fd;

	make_file(f, "a", 1, path);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_openat(sqe, AT_FDCWD, path, O_RDONLY, 0);
	fd = run(&f->ring, sqe, 1);
	assert_true(fd >= 0);
	assert_fd_holds(fd, 1);
	/* The open did not leave O_NONBLOCK behind, nor close-on-exec. */
	assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);

	sqe = must_get_sqe(&f->ring);
	io_uring_prep_close(sqe, fd);
	assert_int_equal(run(&f->ring, sqe, 2), 0);
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_close(sqe, fd);
	assert_int_equal(run(&f->ring, sqe, 3), -EBADF);

	sqe = must_get_sqe(&f->ring);
	io_uring_prep_openat(sqe, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
	fd = run(&f->ring, sqe, 4);
	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	close(fd);
}

/* O_CREAT opens run in a worker; the path was copied at submission. */
static void test_openat_create_with_reused_path(void **state)
{
	struct fixture *f = *state;
	struct io_uring_sqe *sqe;
	char path[PATH_MAX], check[PATH_MAX];
	struct test_cqe c;
	struct stat st;
	int fd;

	umask(022);
	join_path(path, f->dir, "created");
	strcpy(check, path);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_openat(sqe, AT_FDCWD, path, O_CREAT | O_EXCL | O_WRONLY,
			     0640);
	sqe->user_data = 5;
	assert_int_equal(io_uring_submit(&f->ring), 1);
	memset(path, 'x', 64);	/* the engine must not look again */
	assert_int_equal(reap_one(&f->ring, &c), 0);
	assert_true(c.user_data == 5);
	fd = c.res;
	assert_true(fd >= 0);
	assert_int_equal(stat(check, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(write(fd, "hi", 2), 2);
	close(fd);

	sqe = must_get_sqe(&f->ring);
	io_uring_prep_openat(sqe, AT_FDCWD, check, O_CREAT | O_EXCL | O_WRONLY,
			     0640);
	assert_int_equal(run(&f->ring, sqe, 6), -EEXIST);
}

static void test_openat_errors(void **state)
{
	struct fixture *f = *state;
	struct io_uring_sqe *sqe;
	char path[PATH_MAX], *long_path;

	make_file(f, "a", 1, path);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_openat(sqe, AT_FDCWD, "/nonexistent/x", O_RDONLY, 0);
	assert_int_equal(run(&f->ring, sqe, 1), -ENOENT);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_openat(sqe, -1, "relative", O_RDONLY, 0);
	assert_int_equal(run(&f->ring, sqe, 2), -EBADF);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_openat(sqe, AT_FDCWD, path, O_RDONLY, 0);
	sqe->flags |= IOSQE_FIXED_FILE;
	assert_int_equal(run(&f->ring, sqe, 3), -EBADF);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_openat(sqe, AT_FDCWD, path, O_RDONLY, 0);
	sqe->buf_index = 1;
	assert_int_equal(run(&f->ring, sqe, 4), -EINVAL);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_openat(sqe, AT_FDCWD, path, O_WRONLY | O_DIRECTORY, 0);
	assert_int_equal(run(&f->ring, sqe, 5), -ENOTDIR);
	/* The path is read at submission: a bad one fails the request. */
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_openat(sqe, AT_FDCWD, (const char *) 8, O_RDONLY, 0);
	assert_int_equal(run(&f->ring, sqe, 7), -EFAULT);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_openat(sqe, AT_FDCWD, (const char *) 8,
			     O_CREAT | O_WRONLY, 0600);
	assert_int_equal(run(&f->ring, sqe, 8), -EFAULT);
	long_path = malloc(2 * PATH_MAX);
	assert_non_null(long_path);
	memset(long_path, 'a', 2 * PATH_MAX - 1);
	long_path[2 * PATH_MAX - 1] = '\0';
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_openat(sqe, AT_FDCWD, long_path, O_CREAT | O_WRONLY, 0600);
	assert_int_equal(run(&f->ring, sqe, 9), -ENAMETOOLONG);
	free(long_path);
	/* openat(2) ignores unknown flags; so does OPENAT. */
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_openat(sqe, AT_FDCWD, path, O_RDONLY | (1 << 30), 0);
	close(run(&f->ring, sqe, 10));
}

static void test_openat2(void **state)
{
	struct fixture *f = *state;
	struct {
		struct open_how how;
		__u64 extra;
	} big = { { .flags = O_RDONLY }, 0 };
	struct open_how how = { .flags = O_RDONLY,
				.resolve = RESOLVE_NO_SYMLINKS };
	struct io_uring_sqe *sqe;
	char path[PATH_MAX], link[PATH_MAX];
	int fd;

	make_file(f, "a", 2, path);
	join_path(link, f->dir, "link");
	assert_int_equal(symlink(path, link), 0);

	sqe = must_get_sqe(&f->ring);
	io_uring_prep_openat2(sqe, AT_FDCWD, path, &how);
	fd = run(&f->ring, sqe, 1);
	assert_true(fd >= 0);
	assert_fd_holds(fd, 2);
	close(fd);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_openat2(sqe, AT_FDCWD, link, &how);
	assert_int_equal(run(&f->ring, sqe, 2), -ELOOP);
	/* openat2(2) refuses what openat(2) ignores. */
	how.resolve = 0;
	how.mode = 0644;
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_openat2(sqe, AT_FDCWD, path, &how);
	assert_int_equal(run(&f->ring, sqe, 3), -EINVAL);

	/* A bigger struct is fine with a zero tail, not with anything else. */
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_openat2(sqe, AT_FDCWD, path, &big.how);
	sqe->len = sizeof(big);
	fd = run(&f->ring, sqe, 4);
	assert_true(fd >= 0);
	close(fd);
	big.extra = 1;
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_openat2(sqe, AT_FDCWD, path, &big.how);
	sqe->len = sizeof(big);
	assert_int_equal(run(&f->ring, sqe, 5), -E2BIG);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_openat2(sqe, AT_FDCWD, path, &big.how);
	sqe->len = 16;
	assert_int_equal(run(&f->ring, sqe, 6), -EINVAL);
}

static void test_open_direct(void **state)
{
	struct fixture *f = *state;
	struct open_how how = { .flags = O_RDONLY };
	struct io_uring_sqe *sqe;
	char a[PATH_MAX], b[PATH_MAX];
	int before = count_open_fds();

	make_file(f, "a", 1, a);
	make_file(f, "b", 2, b);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_openat_direct(sqe, AT_FDCWD, a, O_RDONLY, 0, 0);
	assert_int_equal(run(&f->ring, sqe, 1), -ENXIO);

	assert_int_equal(io_uring_register_files_sparse(&f->ring, 4), 0);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_openat_direct(sqe, AT_FDCWD, a, O_RDONLY, 0, 2);
	assert_int_equal(run(&f->ring, sqe, 2), 0);
	assert_slot_holds(&f->ring, 2, 1);
	/* Into an occupied slot: replaces it. */
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_openat2_direct(sqe, AT_FDCWD, b, &how, 2);
	assert_int_equal(run(&f->ring, sqe, 3), 0);
	assert_slot_holds(&f->ring, 2, 2);
	/* Created files open directly too (from a worker). */
	join_path(b, f->dir, "new");
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_openat_direct(sqe, AT_FDCWD, b, O_CREAT | O_RDWR, 0600, 3);
	assert_int_equal(run(&f->ring, sqe, 4), 0);

	sqe = must_get_sqe(&f->ring);
	io_uring_prep_openat_direct(sqe, AT_FDCWD, a, O_RDONLY | O_CLOEXEC, 0, 0);
	assert_int_equal(run(&f->ring, sqe, 5), -EINVAL);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_openat_direct(sqe, AT_FDCWD, a, O_RDONLY, 0, 4);
	assert_int_equal(run(&f->ring, sqe, 6), -EINVAL);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_openat_direct(sqe, AT_FDCWD, "/nonexistent", O_RDONLY, 0, 0);
	assert_int_equal(run(&f->ring, sqe, 7), -ENOENT);

	/* Allocation: the lowest free slots, then -ENFILE. */
	for (int want = 0; want < 2; want++) {
		sqe = must_get_sqe(&f->ring);
		prep_openat_alloc(sqe, a, O_RDONLY);
		assert_int_equal(run(&f->ring, sqe, 8), want);
		assert_slot_holds(&f->ring, want, 1);
	}
	sqe = must_get_sqe(&f->ring);
	prep_openat_alloc(sqe, a, O_RDONLY);
	assert_int_equal(run(&f->ring, sqe, 9), -ENFILE);

	assert_int_equal(io_uring_unregister_files(&f->ring), 0);
	assert_int_equal(wait_fd_count(before), before);
}

static void test_alloc_without_table_is_enfile(void **state)
{
	struct fixture *f = *state;
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);
	char a[PATH_MAX];

	make_file(f, "a", 1, a);
	prep_openat_alloc(sqe, a, O_RDONLY);
	assert_int_equal(run(&f->ring, sqe, 1), -ENFILE);
}

static void test_alloc_range(void **state)
{
	struct fixture *f = *state;
	struct io_uring_file_index_range range = { .off = 0, .len = 0 };
	int ring_fd = f->ring.ring_fd;
	struct io_uring_sqe *sqe;
	char a[PATH_MAX];

	make_file(f, "a", 1, a);
	/* Without a table only the empty range fits. */
	assert_int_equal(io_uring_register_file_alloc_range(&f->ring, 0, 0), 0);
	assert_int_equal(io_uring_register_file_alloc_range(&f->ring, 0, 1),
			 -EINVAL);
	assert_int_equal(io_uring_register_files_sparse(&f->ring, 8), 0);
	assert_int_equal(io_uring_register_file_alloc_range(&f->ring, 7, 2),
			 -EINVAL);
	assert_int_equal(io_uring_register_file_alloc_range(&f->ring, 2, ~0u),
			 -EOVERFLOW);
	assert_int_equal(io_uring_register(ring_fd,
					   IORING_REGISTER_FILE_ALLOC_RANGE,
					   &range, 1), -EINVAL);
	assert_int_equal(io_uring_register(ring_fd,
					   IORING_REGISTER_FILE_ALLOC_RANGE,
					   NULL, 0), -EINVAL);
	range.resv = 1;
	assert_int_equal(io_uring_register(ring_fd,
					   IORING_REGISTER_FILE_ALLOC_RANGE,
					   &range, 0), -EINVAL);

	assert_int_equal(io_uring_register_file_alloc_range(&f->ring, 2, 3), 0);
	for (int want = 2; want < 5; want++) {
		sqe = must_get_sqe(&f->ring);
		prep_openat_alloc(sqe, a, O_RDONLY);
		assert_int_equal(run(&f->ring, sqe, 10 + want), want);
	}
	sqe = must_get_sqe(&f->ring);
	prep_openat_alloc(sqe, a, O_RDONLY);
	assert_int_equal(run(&f->ring, sqe, 20), -ENFILE);
	/* A slot freed inside the range is found again. */
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_close_direct(sqe, 3);
	assert_int_equal(run(&f->ring, sqe, 21), 0);
	sqe = must_get_sqe(&f->ring);
	prep_openat_alloc(sqe, a, O_RDONLY);
	assert_int_equal(run(&f->ring, sqe, 22), 3);
	/* A new table allocates from all of it again. */
	assert_int_equal(io_uring_unregister_files(&f->ring), 0);
	assert_int_equal(io_uring_register_files_sparse(&f->ring, 8), 0);
	sqe = must_get_sqe(&f->ring);
	prep_openat_alloc(sqe, a, O_RDONLY);
	assert_int_equal(run(&f->ring, sqe, 23), 0);
}

/* A slot filled outside the range (by an update) never moves the
 * allocation there: it still looks only inside the range. */
static void test_alloc_range_ignores_slots_outside(void **state)
{
	struct fixture *f = *state;
	struct io_uring_sqe *sqe;
	char a[PATH_MAX];
	int fd;

	make_file(f, "a", 1, a);
	fd = open(a, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(io_uring_register_files_sparse(&f->ring, 8), 0);
	assert_int_equal(io_uring_register_file_alloc_range(&f->ring, 4, 2), 0);
	assert_int_equal(io_uring_register_files_update(&f->ring, 1, &fd, 1), 1);
	for (int want = 4; want < 6; want++) {
		sqe = must_get_sqe(&f->ring);
		prep_openat_alloc(sqe, a, O_RDONLY);
		assert_int_equal(run(&f->ring, sqe, want), want);
	}
	assert_int_equal(io_uring_register_files_update(&f->ring, 7, &fd, 1), 1);
	sqe = must_get_sqe(&f->ring);
	prep_openat_alloc(sqe, a, O_RDONLY);
	assert_int_equal(run(&f->ring, sqe, 6), -ENFILE);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_close_direct(sqe, 4);
	assert_int_equal(run(&f->ring, sqe, 7), 0);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_close_direct(sqe, 1);
	assert_int_equal(run(&f->ring, sqe, 8), 0);
	sqe = must_get_sqe(&f->ring);
	prep_openat_alloc(sqe, a, O_RDONLY);
	assert_int_equal(run(&f->ring, sqe, 9), 4);
	close(fd);
}

static void test_close_errors(void **state)
{
	struct fixture *f = *state;
	struct io_uring_sqe *sqe;
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_close_direct(sqe, 0);
	assert_int_equal(run(&f->ring, sqe, 1), -ENXIO);
	assert_int_equal(io_uring_register_files_sparse(&f->ring, 2), 0);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_close_direct(sqe, 1);
	assert_int_equal(run(&f->ring, sqe, 2), -EBADF);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_close_direct(sqe, 2);
	assert_int_equal(run(&f->ring, sqe, 3), -EINVAL);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_close_direct(sqe, 0);
	sqe->fd = fd;
	assert_int_equal(run(&f->ring, sqe, 4), -EINVAL);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_close(sqe, fd);
	sqe->flags |= IOSQE_FIXED_FILE;
	assert_int_equal(run(&f->ring, sqe, 5), -EBADF);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_close(sqe, fd);
	sqe->off = 1;
	assert_int_equal(run(&f->ring, sqe, 6), -EINVAL);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_close(sqe, f->ring.ring_fd);
	assert_int_equal(run(&f->ring, sqe, 7), -EBADF);
	assert_true(fcntl(fd, F_GETFD) >= 0);	/* nothing closed it */
	close(fd);
}

static void test_files_update_op(void **state)
{
	struct fixture *f = *state;
	int a = make_pattern_file(f->dir, "a", 4096, 1, O_RDONLY);
	int b = make_pattern_file(f->dir, "b", 4096, 2, O_RDONLY);
	int fds[2] = { a, -1 };
	struct io_uring_sqe *sqe;

	assert_true(a >= 0 && b >= 0);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_files_update(sqe, fds, 1, 0);
	assert_int_equal(run(&f->ring, sqe, 1), -ENXIO);
	assert_int_equal(io_uring_register_files(&f->ring, fds, 2), 0);

	fds[0] = b;
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_files_update(sqe, fds, 1, 1);
	assert_int_equal(run(&f->ring, sqe, 2), 1);
	assert_slot_holds(&f->ring, 0, 1);
	assert_slot_holds(&f->ring, 1, 2);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_files_update(sqe, fds, 0, 0);
	assert_int_equal(run(&f->ring, sqe, 3), -EINVAL);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_files_update(sqe, fds, 2, 1);
	assert_int_equal(run(&f->ring, sqe, 4), -EINVAL);

	/* Allocating: each descriptor is replaced by the slot it got. */
	assert_int_equal(io_uring_unregister_files(&f->ring), 0);
	assert_int_equal(io_uring_register_files_sparse(&f->ring, 3), 0);
	fds[0] = b;
	fds[1] = a;
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_files_update(sqe, fds, 2, IORING_FILE_INDEX_ALLOC);
	assert_int_equal(run(&f->ring, sqe, 5), 2);
	assert_int_equal(fds[0], 0);
	assert_int_equal(fds[1], 1);
	assert_slot_holds(&f->ring, 0, 2);
	assert_slot_holds(&f->ring, 1, 1);
	fds[0] = a;
	fds[1] = b;
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_files_update(sqe, fds, 2, IORING_FILE_INDEX_ALLOC);
	assert_int_equal(run(&f->ring, sqe, 6), 1);	/* one slot left */
	assert_int_equal(fds[0], 2);
	close(a);
	close(b);
}

static void prep_install(struct io_uring_sqe *sqe, int slot, unsigned flags)
{
	io_uring_prep_rw(OP_FIXED_FD_INSTALL, sqe, slot, NULL, 0, 0);
	sqe->flags = IOSQE_FIXED_FILE;
	sqe->rw_flags = (int) flags;	/* sqe->install_fd_flags */
}

static void test_fixed_fd_install(void **state)
{
	struct fixture *f = *state;
	int a = make_pattern_file(f->dir, "a", 4096, 3, O_RDONLY);
	int fds[2] = { a, -1 }, fd;
	struct io_uring_sqe *sqe;

	assert_true(a >= 0);
	assert_int_equal(io_uring_register_files(&f->ring, fds, 2), 0);
	close(a);
	sqe = must_get_sqe(&f->ring);
	prep_install(sqe, 0, 0);
	fd = run(&f->ring, sqe, 1);
	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	assert_fd_holds(fd, 3);
	close(fd);
	sqe = must_get_sqe(&f->ring);
	prep_install(sqe, 0, FIXED_FD_NO_CLOEXEC);
	fd = run(&f->ring, sqe, 2);
	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	close(fd);

	sqe = must_get_sqe(&f->ring);
	prep_install(sqe, 1, 0);
	assert_int_equal(run(&f->ring, sqe, 3), -EBADF);
	sqe = must_get_sqe(&f->ring);
	prep_install(sqe, 0, 2);
	assert_int_equal(run(&f->ring, sqe, 4), -EINVAL);
	sqe = must_get_sqe(&f->ring);
	prep_install(sqe, 0, 0);
	sqe->flags = 0;
	assert_int_equal(run(&f->ring, sqe, 5), -EBADF);
	sqe = must_get_sqe(&f->ring);
	prep_install(sqe, 0, 0);
	sqe->off = 1;
	assert_int_equal(run(&f->ring, sqe, 6), -EINVAL);
}

/*
 * Open a file straight into a slot, read it and close the slot, in one
 * chain: each link's fixed file is looked up when its turn comes.
 */
static void test_linked_open_read_close(void **state)
{
	struct fixture *f = *state;
	struct io_uring_sqe *sqe;
	char path[PATH_MAX], buf[64];
	struct test_cqe c;

	make_file(f, "a", 4, path);
	assert_int_equal(io_uring_register_files_sparse(&f->ring, 2), 0);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_openat_direct(sqe, AT_FDCWD, path, O_RDONLY, 0, 1);
	sqe->flags |= IOSQE_IO_LINK;
	sqe->user_data = 1;
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_read(sqe, 1, buf, sizeof(buf), 0);
	sqe->flags |= IOSQE_FIXED_FILE | IOSQE_IO_LINK;
	sqe->user_data = 2;
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_close_direct(sqe, 1);
	sqe->user_data = 3;
	assert_int_equal(io_uring_submit(&f->ring), 3);
	for (__u64 ud = 1; ud <= 3; ud++) {
		assert_int_equal(reap_one(&f->ring, &c), 0);
		assert_true(c.user_data == ud);
		assert_int_equal(c.res, ud == 2 ? (int) sizeof(buf) : 0);
	}
	assert_true(check_pattern(buf, sizeof(buf), 0, 4));
	/* The slot is empty again: a fixed read on it fails at its issue. */
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_read(sqe, 1, buf, sizeof(buf), 0);
	sqe->flags |= IOSQE_FIXED_FILE;
	assert_int_equal(run(&f->ring, sqe, 4), -EBADF);
}

/* The probe reports the operations of this file. */
static void test_probe_reports_ops(void **state)
{
	struct fixture *f = *state;
	struct io_uring_probe *p = io_uring_get_probe_ring(&f->ring);
	const int ops[] = { IORING_OP_OPENAT, IORING_OP_OPENAT2,
			    IORING_OP_CLOSE, IORING_OP_FILES_UPDATE,
			    OP_FIXED_FD_INSTALL };

	assert_non_null(p);
	for (unsigned i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		assert_true(io_uring_opcode_supported(p, ops[i]));
	io_uring_free_probe(p);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_openat_and_close),
		T(test_openat_create_with_reused_path),
		T(test_openat_errors),
		T(test_openat2),
		T(test_open_direct),
		T(test_alloc_without_table_is_enfile),
		T(test_alloc_range),
		T(test_alloc_range_ignores_slots_outside),
		T(test_close_errors),
		T(test_files_update_op),
		T(test_fixed_fd_install),
		T(test_linked_open_read_close),
		T(test_probe_reports_ops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
