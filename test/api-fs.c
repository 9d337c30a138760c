/* SPDX-License-Identifier: MIT */
/*
 * Path operations (STATX, RENAMEAT, UNLINKAT, MKDIRAT, SYMLINKAT, LINKAT),
 * extended attributes (GETXATTR, SETXATTR, FGETXATTR, FSETXATTR),
 * FTRUNCATE, MADVISE, FADVISE's 64-bit form and PIPE: results, errors in
 * the kernel's order, and what is copied at submission.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/xattr.h>
#include "helpers.h"

#ifdef LIBURING_BEFORE_2_15
/* liburing 2.3 has no helpers for these (2.15 has): the SQE by hand. */
#define OP_FTRUNCATE	55
#define OP_PIPE		62

static void io_uring_prep_ftruncate(struct io_uring_sqe *sqe, int fd,
				    loff_t len)
{
	io_uring_prep_rw(OP_FTRUNCATE, sqe, fd, 0, 0, (__u64) len);
}

static void io_uring_prep_madvise64(struct io_uring_sqe *sqe, void *addr,
				    off_t length, int advice)
{
	io_uring_prep_rw(IORING_OP_MADVISE, sqe, -1, addr, 0, (__u64) length);
	sqe->fadvise_advice = (__u32) advice;
}

static void io_uring_prep_fadvise64(struct io_uring_sqe *sqe, int fd,
				    __u64 offset, off_t len, int advice)
{
	io_uring_prep_rw(IORING_OP_FADVISE, sqe, fd, NULL, 0, offset);
	sqe->addr = (__u64) len;
	sqe->fadvise_advice = (__u32) advice;
}

static void io_uring_prep_pipe(struct io_uring_sqe *sqe, int *fds,
			       int pipe_flags)
{
	io_uring_prep_rw(OP_PIPE, sqe, 0, fds, 0, 0);
	sqe->rw_flags = pipe_flags;
}

static void io_uring_prep_pipe_direct(struct io_uring_sqe *sqe, int *fds,
				      int pipe_flags, unsigned file_index)
{
	io_uring_prep_pipe(sqe, fds, pipe_flags);
	sqe->file_index = file_index == IORING_FILE_INDEX_ALLOC ?
			  file_index : file_index + 1;
}
#else
#define OP_FTRUNCATE	IORING_OP_FTRUNCATE
#define OP_PIPE		IORING_OP_PIPE
#endif

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE	(1 << 0)
#endif

static struct io_uring_sqe *last_sqe(struct io_uring *ring)
{
	return &ring->sq.sqes[(ring->sq.sqe_tail - 1) & ring->sq.ring_mask];
}

static int run(struct io_uring *ring, struct io_uring_sqe *sqe, __u64 ud)
{
	sqe->user_data = ud;
	return submit_one_and_wait(ring, ud);
}

/* dir/name into out (PATH_MAX bytes), which it returns. */
static const char *path_in(struct fixture *f, const char *name, char *out)
{
	join_path(out, f->dir, name);
	return out;
}

static void make_file(struct fixture *f, const char *name, size_t size)
{
	int fd = make_pattern_file(f->dir, name, size, 1, O_RDONLY);

	assert_true(fd >= 0);
	close(fd);
}

/* ---- STATX ---- */

static void test_statx(void **state)
{
	struct fixture *f = *state;
	struct io_uring *ring = &f->ring;
	char p[PATH_MAX];
	struct statx stx;
	int fd;

	make_file(f, "a", 1000);
	path_in(f, "a", p);
	memset(&stx, 0, sizeof(stx));
	io_uring_prep_statx(must_get_sqe(ring), AT_FDCWD, p, 0, STATX_SIZE,
			    &stx);
	assert_int_equal(run(ring, last_sqe(ring), 1), 0);
	assert_int_equal(stx.stx_size, 1000);
	/* The descriptor itself, through AT_EMPTY_PATH. */
	fd = open(p, O_RDONLY | O_CLOEXEC);
	memset(&stx, 0, sizeof(stx));
	io_uring_prep_statx(must_get_sqe(ring), fd, "", AT_EMPTY_PATH,
			    STATX_SIZE, &stx);
	assert_int_equal(run(ring, last_sqe(ring), 2), 0);
	assert_int_equal(stx.stx_size, 1000);
	io_uring_prep_statx(must_get_sqe(ring), fd, "", 0, STATX_SIZE, &stx);
	assert_int_equal(run(ring, last_sqe(ring), 3), -ENOENT);
	io_uring_prep_statx(must_get_sqe(ring), AT_FDCWD, path_in(f, "none", p),
			    0, STATX_SIZE, &stx);
	assert_int_equal(run(ring, last_sqe(ring), 4), -ENOENT);
	/* The path is copied first: its error comes before the flags'. */
	io_uring_prep_statx(must_get_sqe(ring), fd, "", 0x80000000,
			    STATX_SIZE, &stx);
	assert_int_equal(run(ring, last_sqe(ring), 5), -ENOENT);
	io_uring_prep_statx(must_get_sqe(ring), fd, "",
			    AT_EMPTY_PATH | 0x80000000, STATX_SIZE, &stx);
	assert_int_equal(run(ring, last_sqe(ring), 5), -EINVAL);
	io_uring_prep_statx(must_get_sqe(ring), fd, "", AT_EMPTY_PATH,
			    STATX_SIZE, NULL);
	assert_int_equal(run(ring, last_sqe(ring), 6), -EFAULT);
	io_uring_prep_statx(must_get_sqe(ring), fd, NULL, AT_EMPTY_PATH,
			    STATX_SIZE, &stx);
	assert_int_equal(run(ring, last_sqe(ring), 7), -EFAULT);
	/* A registered file is no directory to start from. */
	io_uring_prep_statx(must_get_sqe(ring), 0, "", AT_EMPTY_PATH,
			    STATX_SIZE, &stx);
	last_sqe(ring)->flags |= IOSQE_FIXED_FILE;
	assert_int_equal(run(ring, last_sqe(ring), 8), -EBADF);
	close(fd);
}

/* ---- RENAMEAT, UNLINKAT, MKDIRAT, SYMLINKAT, LINKAT ---- */

static void test_renameat(void **state)
{
	struct fixture *f = *state;
	struct io_uring *ring = &f->ring;
	char a[PATH_MAX], b[PATH_MAX];
	struct stat st;

	make_file(f, "a", 10);
	make_file(f, "b", 20);
	path_in(f, "a", a);
	path_in(f, "b", b);
	io_uring_prep_renameat(must_get_sqe(ring), AT_FDCWD, a, AT_FDCWD, b,
			       RENAME_NOREPLACE);
	assert_int_equal(run(ring, last_sqe(ring), 1), -EEXIST);
	io_uring_prep_renameat(must_get_sqe(ring), AT_FDCWD, a, AT_FDCWD, b,
			       1u << 10);
	assert_int_equal(run(ring, last_sqe(ring), 2), -EINVAL);
	io_uring_prep_rename(must_get_sqe(ring), a, b);
	assert_int_equal(run(ring, last_sqe(ring), 3), 0);
	assert_int_equal(stat(a, &st), -1);
	assert_int_equal(stat(b, &st), 0);
	assert_int_equal(st.st_size, 10);
	io_uring_prep_rename(must_get_sqe(ring), a, b);
	assert_int_equal(run(ring, last_sqe(ring), 4), -ENOENT);
	io_uring_prep_rename(must_get_sqe(ring), "", b);
	assert_int_equal(run(ring, last_sqe(ring), 5), -ENOENT);
	io_uring_prep_rename(must_get_sqe(ring), b, NULL);
	assert_int_equal(run(ring, last_sqe(ring), 6), -EFAULT);
}

static void test_unlinkat_and_mkdirat(void **state)
{
	struct fixture *f = *state;
	struct io_uring *ring = &f->ring;
	char d[PATH_MAX], a[PATH_MAX];
	struct stat st;

	path_in(f, "d", d);
	io_uring_prep_mkdir(must_get_sqe(ring), d, 0700);
	assert_int_equal(run(ring, last_sqe(ring), 1), 0);
	assert_int_equal(stat(d, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	io_uring_prep_mkdirat(must_get_sqe(ring), AT_FDCWD, d, 0700);
	assert_int_equal(run(ring, last_sqe(ring), 2), -EEXIST);
	io_uring_prep_unlink(must_get_sqe(ring), d, 0);
	assert_int_equal(run(ring, last_sqe(ring), 3), -EISDIR);
	/* Unknown flags are refused before the path is even read. */
	io_uring_prep_unlink(must_get_sqe(ring), NULL, 0x8000);
	assert_int_equal(run(ring, last_sqe(ring), 4), -EINVAL);
	io_uring_prep_unlinkat(must_get_sqe(ring), AT_FDCWD, d, AT_REMOVEDIR);
	assert_int_equal(run(ring, last_sqe(ring), 5), 0);
	assert_int_equal(stat(d, &st), -1);
	make_file(f, "a", 1);
	io_uring_prep_unlink(must_get_sqe(ring), path_in(f, "a", a), 0);
	assert_int_equal(run(ring, last_sqe(ring), 6), 0);
	io_uring_prep_unlink(must_get_sqe(ring), a, 0);
	assert_int_equal(run(ring, last_sqe(ring), 7), -ENOENT);
}

static void test_symlinkat_and_linkat(void **state)
{
	struct fixture *f = *state;
	struct io_uring *ring = &f->ring;
	char a[PATH_MAX], s[PATH_MAX], l[PATH_MAX], got[16] = { 0 };
	struct stat st;

	make_file(f, "a", 5);
	path_in(f, "a", a);
	path_in(f, "s", s);
	path_in(f, "l", l);
	io_uring_prep_symlink(must_get_sqe(ring), "a", s);
	assert_int_equal(run(ring, last_sqe(ring), 1), 0);
	assert_int_equal(readlink(s, got, sizeof(got)), 1);
	assert_string_equal(got, "a");
	io_uring_prep_symlinkat(must_get_sqe(ring), "a", AT_FDCWD, s);
	assert_int_equal(run(ring, last_sqe(ring), 2), -EEXIST);
	io_uring_prep_symlink(must_get_sqe(ring), "", l);
	assert_int_equal(run(ring, last_sqe(ring), 3), -ENOENT);
	io_uring_prep_link(must_get_sqe(ring), a, l, 0);
	assert_int_equal(run(ring, last_sqe(ring), 4), 0);
	assert_int_equal(stat(a, &st), 0);
	assert_int_equal(st.st_nlink, 2);
	io_uring_prep_linkat(must_get_sqe(ring), AT_FDCWD, a, AT_FDCWD, l, 0);
	assert_int_equal(run(ring, last_sqe(ring), 5), -EEXIST);
	io_uring_prep_linkat(must_get_sqe(ring), AT_FDCWD, a, AT_FDCWD,
			     path_in(f, "m", l), 1);
	assert_int_equal(run(ring, last_sqe(ring), 6), -EINVAL);
	/* The old path is copied first: an empty one is -ENOENT before the
	 * flags are looked at, unless AT_EMPTY_PATH allows it. */
	io_uring_prep_linkat(must_get_sqe(ring), AT_FDCWD, "", AT_FDCWD, l, 1);
	assert_int_equal(run(ring, last_sqe(ring), 7), -ENOENT);
	io_uring_prep_linkat(must_get_sqe(ring), AT_FDCWD, a, AT_FDCWD, "",
			     AT_EMPTY_PATH);
	assert_int_equal(run(ring, last_sqe(ring), 8), -ENOENT);
	io_uring_prep_link(must_get_sqe(ring), a, l, 0);
	last_sqe(ring)->flags |= IOSQE_FIXED_FILE;
	assert_int_equal(run(ring, last_sqe(ring), 9), -EBADF);
}

/*
 * Paths, names and a SETXATTR's value are copied when the request is
 * submitted: a request linked behind a read of an empty pipe runs after
 * the application has overwritten them, and uses the originals.
 */
static void test_arguments_copied_at_submission(void **state)
{
	struct fixture *f = *state;
	struct io_uring *ring = &f->ring;
	char *from = calloc(1, PATH_MAX), *to = calloc(1, PATH_MAX);
	char name[16] = "user.copied", value[8] = "kept", buf[8];
	char a[PATH_MAX], b[PATH_MAX];
	struct test_cqe c;
	struct stat st;
	int p[2], i;

	make_file(f, "a", 3);
	assert_int_equal(pipe(p), 0);
	strcpy(from, path_in(f, "a", a));
	strcpy(to, path_in(f, "b", b));
	io_uring_prep_read(must_get_sqe(ring), p[0], buf, 1, 0);
	last_sqe(ring)->flags |= IOSQE_IO_LINK;
	last_sqe(ring)->user_data = 1;
	io_uring_prep_rename(must_get_sqe(ring), from, to);
	last_sqe(ring)->flags |= IOSQE_IO_LINK;
	last_sqe(ring)->user_data = 2;
	io_uring_prep_setxattr(must_get_sqe(ring), name, value, to, 0, 4);
	last_sqe(ring)->user_data = 3;
	assert_int_equal(io_uring_submit(ring), 3);
	memset(from, 'x', PATH_MAX - 1);
	free(from);
	memset(to, 'y', PATH_MAX - 1);
	free(to);
	strcpy(name, "user.other");
	strcpy(value, "lost");
	assert_int_equal(write(p[1], "g", 1), 1);
	for (i = 0; i < 3; i++) {
		assert_int_equal(reap_in_engine(ring, &c), 0);
		assert_int_equal(c.user_data, i + 1);
		assert_int_equal(c.res, i ? 0 : 1);
	}
	assert_int_equal(stat(b, &st), 0);
	assert_int_equal(getxattr(b, "user.copied", buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "kept", 4);
	close(p[0]);
	close(p[1]);
}

/* ---- extended attributes ---- */

static void skip_without_user_xattrs(const char *path)
{
	if (setxattr(path, "user.probe", "", 0, 0) && errno == ENOTSUP)
		skip();
}

static void test_xattrs(void **state)
{
	struct fixture *f = *state;
	struct io_uring *ring = &f->ring;
	char a[PATH_MAX], buf[16] = { 0 };
	int fd;

	make_file(f, "a", 1);
	path_in(f, "a", a);
	skip_without_user_xattrs(a);
	io_uring_prep_setxattr(must_get_sqe(ring), "user.x", "value", a, 0, 5);
	assert_int_equal(run(ring, last_sqe(ring), 1), 0);
	io_uring_prep_getxattr(must_get_sqe(ring), "user.x", buf, a, sizeof(buf));
	assert_int_equal(run(ring, last_sqe(ring), 2), 5);
	assert_memory_equal(buf, "value", 5);
	/* A zero size asks for the size only. */
	io_uring_prep_getxattr(must_get_sqe(ring), "user.x", NULL, a, 0);
	assert_int_equal(run(ring, last_sqe(ring), 3), 5);
	io_uring_prep_getxattr(must_get_sqe(ring), "user.x", buf, a, 2);
	assert_int_equal(run(ring, last_sqe(ring), 4), -ERANGE);
	fd = open(a, O_RDWR | O_CLOEXEC);
	io_uring_prep_fsetxattr(must_get_sqe(ring), fd, "user.y", "fd", 0, 2);
	assert_int_equal(run(ring, last_sqe(ring), 5), 0);
	io_uring_prep_fgetxattr(must_get_sqe(ring), fd, "user.y", buf,
				sizeof(buf));
	assert_int_equal(run(ring, last_sqe(ring), 6), 2);
	assert_memory_equal(buf, "fd", 2);
	io_uring_prep_fsetxattr(must_get_sqe(ring), fd, "user.y", "n", XATTR_CREATE,
				1);
	assert_int_equal(run(ring, last_sqe(ring), 7), -EEXIST);
	io_uring_prep_fsetxattr(must_get_sqe(ring), fd, "user.z", "n",
				XATTR_REPLACE, 1);
	assert_int_equal(run(ring, last_sqe(ring), 8), -ENODATA);
	io_uring_prep_fgetxattr(must_get_sqe(ring), fd, "user.z", buf,
				sizeof(buf));
	assert_int_equal(run(ring, last_sqe(ring), 9), -ENODATA);
	close(fd);
}

static void test_xattr_errors(void **state)
{
	struct fixture *f = *state;
	struct io_uring *ring = &f->ring;
	char a[PATH_MAX], buf[16], name[300];
	int fd;

	make_file(f, "a", 1);
	path_in(f, "a", a);
	skip_without_user_xattrs(a);
	fd = open(a, O_RDWR | O_CLOEXEC);
	io_uring_prep_fgetxattr(must_get_sqe(ring), fd, "user.x", buf, 16);
	last_sqe(ring)->xattr_flags = 1;
	assert_int_equal(run(ring, last_sqe(ring), 1), -EINVAL);
	io_uring_prep_fsetxattr(must_get_sqe(ring), fd, "user.x", "v", 4, 1);
	assert_int_equal(run(ring, last_sqe(ring), 2), -EINVAL);
	/* Names: empty or longer than XATTR_NAME_MAX. */
	io_uring_prep_fgetxattr(must_get_sqe(ring), fd, "", buf, 16);
	assert_int_equal(run(ring, last_sqe(ring), 3), -ERANGE);
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	memcpy(name, "user.", 5);
	io_uring_prep_fsetxattr(must_get_sqe(ring), fd, name, "v", 0, 1);
	assert_int_equal(run(ring, last_sqe(ring), 4), -ERANGE);
	io_uring_prep_getxattr(must_get_sqe(ring), NULL, buf, a, 16);
	assert_int_equal(run(ring, last_sqe(ring), 5), -EFAULT);
	/* Values: past XATTR_SIZE_MAX, or unreadable. */
	io_uring_prep_fsetxattr(must_get_sqe(ring), fd, "user.x", "v", 0,
				65537);
	assert_int_equal(run(ring, last_sqe(ring), 6), -E2BIG);
	io_uring_prep_fsetxattr(must_get_sqe(ring), fd, "user.x", NULL, 0, 4);
	assert_int_equal(run(ring, last_sqe(ring), 7), -EFAULT);
	/* Paths. */
	io_uring_prep_getxattr(must_get_sqe(ring), "user.x", buf, "", 16);
	assert_int_equal(run(ring, last_sqe(ring), 8), -ENOENT);
	io_uring_prep_setxattr(must_get_sqe(ring), "user.x", "v", NULL, 0, 1);
	assert_int_equal(run(ring, last_sqe(ring), 9), -EFAULT);
	/* Descriptors: registered files are refused, as by the kernel. */
	io_uring_prep_fgetxattr(must_get_sqe(ring), -1, "user.x", buf, 16);
	assert_int_equal(run(ring, last_sqe(ring), 10), -EBADF);
	io_uring_prep_fsetxattr(must_get_sqe(ring), 0, "user.x", "v", 0, 1);
	last_sqe(ring)->flags |= IOSQE_FIXED_FILE;
	assert_int_equal(run(ring, last_sqe(ring), 11), -EBADF);
	io_uring_prep_fsetxattr(must_get_sqe(ring), ring->ring_fd, "user.x",
				"v", 0, 1);
	assert_int_equal(run(ring, last_sqe(ring), 12), -EPERM);
	close(fd);
}

/* ---- FTRUNCATE ---- */

static void test_ftruncate(void **state)
{
	struct fixture *f = *state;
	struct io_uring *ring = &f->ring;
	int fd = make_pattern_file(f->dir, "a", 100, 1, O_RDWR);
	int ro = make_pattern_file(f->dir, "b", 100, 1, O_RDONLY);
	int p[2];

	assert_true(fd >= 0 && ro >= 0);
	io_uring_prep_ftruncate(must_get_sqe(ring), fd, 4096);
	assert_int_equal(run(ring, last_sqe(ring), 1), 0);
	assert_int_equal(file_size(fd), 4096);
	io_uring_prep_ftruncate(must_get_sqe(ring), fd, 7);
	assert_int_equal(run(ring, last_sqe(ring), 2), 0);
	assert_int_equal(file_size(fd), 7);
	io_uring_prep_ftruncate(must_get_sqe(ring), fd, -1);
	assert_int_equal(run(ring, last_sqe(ring), 3), -EINVAL);
	io_uring_prep_ftruncate(must_get_sqe(ring), ro, 1);
	assert_int_equal(run(ring, last_sqe(ring), 4), -EINVAL);
	assert_int_equal(pipe(p), 0);
	io_uring_prep_ftruncate(must_get_sqe(ring), p[1], 1);
	assert_int_equal(run(ring, last_sqe(ring), 5), -EINVAL);
	io_uring_prep_ftruncate(must_get_sqe(ring), ring->ring_fd, 1);
	assert_int_equal(run(ring, last_sqe(ring), 6), -EINVAL);
	io_uring_prep_ftruncate(must_get_sqe(ring), -1, 1);
	assert_int_equal(run(ring, last_sqe(ring), 7), -EBADF);
	close(p[0]);
	close(p[1]);
	close(fd);
	close(ro);
}

/* ---- MADVISE, and the 64-bit length forms of both advice ops ---- */

static void test_madvise(void **state)
{
	struct fixture *f = *state;
	struct io_uring *ring = &f->ring;
	long page = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, (size_t) page * 2, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd;

	assert_true(m != MAP_FAILED);
	/* MADV_DONTNEED on private anonymous memory: it reads as zero. */
	m[0] = 1;
	m[page] = 1;
	io_uring_prep_madvise(must_get_sqe(ring), m, (__u32) page,
			      MADV_DONTNEED);
	assert_int_equal(run(ring, last_sqe(ring), 1), 0);
	assert_int_equal(m[0], 0);
	assert_int_equal(m[page], 1);
	io_uring_prep_madvise64(must_get_sqe(ring), m, page * 2, MADV_DONTNEED);
	assert_int_equal(run(ring, last_sqe(ring), 2), 0);
	assert_int_equal(m[page], 0);
	io_uring_prep_madvise(must_get_sqe(ring), m + 1, (__u32) page,
			      MADV_DONTNEED);
	assert_int_equal(run(ring, last_sqe(ring), 3), -EINVAL);
	io_uring_prep_madvise(must_get_sqe(ring), m, (__u32) page, 9999);
	assert_int_equal(run(ring, last_sqe(ring), 4), -EINVAL);
	munmap(m, (size_t) page * 2);
	fd = make_pattern_file(f->dir, "a", 8192, 1, O_RDONLY);
	assert_true(fd >= 0);
	io_uring_prep_fadvise64(must_get_sqe(ring), fd, 0, 1ll << 33,
				POSIX_FADV_DONTNEED);
	assert_int_equal(run(ring, last_sqe(ring), 5), 0);
	io_uring_prep_fadvise64(must_get_sqe(ring), fd, 0, 8192, 99);
	assert_int_equal(run(ring, last_sqe(ring), 6), -EINVAL);
	close(fd);
}

/* ---- PIPE ---- */

static void test_pipe(void **state)
{
	struct fixture *f = *state;
	struct io_uring *ring = &f->ring;
	int fds[2] = { -1, -1 }, before;
	char buf[4];

	io_uring_prep_pipe(must_get_sqe(ring), fds, 0);
	assert_int_equal(run(ring, last_sqe(ring), 1), 0);
	assert_int_equal(write(fds[1], "abc", 3), 3);
	assert_int_equal(read(fds[0], buf, sizeof(buf)), 3);
	assert_int_equal(fcntl(fds[0], F_GETFD) & FD_CLOEXEC, 0);
	close(fds[0]);
	close(fds[1]);
	io_uring_prep_pipe(must_get_sqe(ring), fds, O_CLOEXEC | O_NONBLOCK);
	assert_int_equal(run(ring, last_sqe(ring), 2), 0);
	assert_true(fcntl(fds[1], F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(fds[0], F_GETFL) & O_NONBLOCK);
	assert_int_equal(read(fds[0], buf, sizeof(buf)), -1);
	assert_int_equal(errno, EAGAIN);
	close(fds[0]);
	close(fds[1]);
	io_uring_prep_pipe(must_get_sqe(ring), fds, O_RDWR);
	assert_int_equal(run(ring, last_sqe(ring), 3), -EINVAL);
	io_uring_prep_pipe(must_get_sqe(ring), fds, 0);
	last_sqe(ring)->fd = 3;
	assert_int_equal(run(ring, last_sqe(ring), 4), -EINVAL);
	/* An array it cannot write: no descriptor is left behind. */
	before = count_open_fds();
	io_uring_prep_pipe(must_get_sqe(ring), (int *) 16, 0);
	assert_int_equal(run(ring, last_sqe(ring), 5), -EFAULT);
	assert_int_equal(count_open_fds(), before);
}

static void test_pipe_direct(void **state)
{
	struct fixture *f = *state;
	struct io_uring *ring = &f->ring;
	int fds[2] = { -1, -1 };
	char buf[4];

	io_uring_prep_pipe_direct(must_get_sqe(ring), fds, 0, 0);
	assert_int_equal(run(ring, last_sqe(ring), 1), -ENXIO);
	io_uring_prep_pipe_direct(must_get_sqe(ring), fds, 0,
				  IORING_FILE_INDEX_ALLOC);
	assert_int_equal(run(ring, last_sqe(ring), 2), -ENFILE);
	assert_int_equal(io_uring_register_files_sparse(ring, 4), 0);
	/* A given slot takes the read end, the one after it the write end;
	 * the array names the slots. */
	io_uring_prep_pipe_direct(must_get_sqe(ring), fds, 0, 1);
	assert_int_equal(run(ring, last_sqe(ring), 3), 0);
	assert_int_equal(fds[0], 1);
	assert_int_equal(fds[1], 2);
	io_uring_prep_write(must_get_sqe(ring), 2, "xyz", 3, 0);
	last_sqe(ring)->flags |= IOSQE_FIXED_FILE;
	assert_int_equal(run(ring, last_sqe(ring), 4), 3);
	io_uring_prep_read(must_get_sqe(ring), 1, buf, sizeof(buf), 0);
	last_sqe(ring)->flags |= IOSQE_FIXED_FILE;
	assert_int_equal(run(ring, last_sqe(ring), 5), 3);
	assert_memory_equal(buf, "xyz", 3);
	/* Allocated: slots 3 and 0 are all that is left, in that order. */
	io_uring_prep_pipe_direct(must_get_sqe(ring), fds, 0,
				  IORING_FILE_INDEX_ALLOC);
	assert_int_equal(run(ring, last_sqe(ring), 6), 0);
	assert_int_equal(fds[0], 3);
	assert_int_equal(fds[1], 0);
	io_uring_prep_pipe_direct(must_get_sqe(ring), fds, 0,
				  IORING_FILE_INDEX_ALLOC);
	assert_int_equal(run(ring, last_sqe(ring), 7), -ENFILE);
	io_uring_prep_pipe_direct(must_get_sqe(ring), fds, O_CLOEXEC,
				  IORING_FILE_INDEX_ALLOC);
	assert_int_equal(run(ring, last_sqe(ring), 8), -EINVAL);
	/* The write end's slot does not exist: the read end's is emptied. */
	io_uring_prep_close_direct(must_get_sqe(ring), 3);
	assert_int_equal(run(ring, last_sqe(ring), 9), 0);
	io_uring_prep_pipe_direct(must_get_sqe(ring), fds, 0, 3);
	assert_int_equal(run(ring, last_sqe(ring), 10), -EINVAL);
	io_uring_prep_close_direct(must_get_sqe(ring), 3);
	assert_int_equal(run(ring, last_sqe(ring), 11), -EBADF);
}

/* The probe reports the operations of this file. */
static void test_probe_reports_ops(void **state)
{
	struct fixture *f = *state;
	struct io_uring_probe *p = io_uring_get_probe_ring(&f->ring);
	const int ops[] = { IORING_OP_STATX, IORING_OP_MADVISE,
			    IORING_OP_RENAMEAT, IORING_OP_UNLINKAT,
			    IORING_OP_MKDIRAT, IORING_OP_SYMLINKAT,
			    IORING_OP_LINKAT, IORING_OP_FSETXATTR,
			    IORING_OP_SETXATTR, IORING_OP_FGETXATTR,
			    IORING_OP_GETXATTR, OP_FTRUNCATE, OP_PIPE };

	assert_non_null(p);
	for (unsigned i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		assert_true(io_uring_opcode_supported(p, ops[i]));
	io_uring_free_probe(p);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_statx),
		T(test_renameat),
		T(test_unlinkat_and_mkdirat),
		T(test_symlinkat_and_linkat),
		T(test_arguments_copied_at_submission),
		T(test_xattrs),
		T(test_xattr_errors),
		T(test_ftruncate),
		T(test_madvise),
		T(test_pipe),
		T(test_pipe_direct),
		T(test_probe_reports_ops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
