/* SPDX-License-Identifier: MIT */
/*
 * STATX, RENAMEAT, UNLINKAT, MKDIRAT, SYMLINKAT, LINKAT and FTRUNCATE.
 *
 * The paths are copied when the request is prepared, with getname()'s
 * errors, as the kernel copies them: the application may free its strings
 * once io_uring_enter returns. The calls then run in a worker. None of
 * them has a form that fails instead of waiting for the disk (a directory
 * lookup, a journal), and the kernel sends every one of them to io-wq too.
 * A registered file is no directory to start from: IOSQE_FIXED_FILE on a
 * path operation is -EBADF, as in the kernel.
 */
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "engine/fs.h"
#include "engine/req.h"
#include "engine/uaccess.h"

/* The path operations; newpath is NULL where there is one path. */
struct ua_fs {
	char		*oldpath, *newpath;	/* private copies */
	int		old_dfd, new_dfd;
	int		flags;
	__u32		mask;			/* MKDIRAT's mode, STATX's mask */
	__u64		statxbuf;		/* the application's */
};
#define fs_of(req)	ua_cmd(req, struct ua_fs)

/* FTRUNCATE: the new length. */
#define truncate_len_of(req)	ua_cmd(req, __u64)

static int done(struct ua_req *req, int ret)
{
	req->res = ret < 0 ? -errno : ret;
	req->failed = req->res < 0;
	return UA_DONE;
}

/* What every path operation checks first. */
static int fs_prep_begin(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	struct ua_fs *fs = fs_of(req);

	fs->oldpath = fs->newpath = NULL;
	fs->old_dfd = fs->new_dfd = sqe->fd;
	fs->flags = 0;
	if (req->sqe_flags & IOSQE_FIXED_FILE)
		return -EBADF;
	return 0;
}

/* Both paths, the old one first: the kernel's order of errors. */
static int copy_two_paths(struct ua_req *req, const struct io_uring_sqe *sqe,
			  int old_flags)
{
	struct ua_fs *fs = fs_of(req);
	int ret = ua_getname_uflags(&fs->oldpath, sqe->addr, old_flags);

	return ret ? ret : ua_strndup_from_user(&fs->newpath, sqe->addr2);
}

void ua_fs_cleanup(struct ua_req *req)
{
	free(fs_of(req)->oldpath);
	free(fs_of(req)->newpath);
	fs_of(req)->oldpath = fs_of(req)->newpath = NULL;
}

int ua_statx_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	struct ua_fs *fs = fs_of(req);
	int ret = fs_prep_begin(req, sqe);

	if (ret)
		return ret;
	fs->mask = sqe->len;
	fs->flags = (int) sqe->statx_flags;
	fs->statxbuf = sqe->addr2;
	return ua_getname_uflags(&fs->oldpath, sqe->addr, fs->flags);
}

/* The flags the kernel's statx of a path takes. */
#define STATX_AT_FLAGS	(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | \
			 AT_EMPTY_PATH | AT_STATX_SYNC_TYPE)

/*
 * The buffer is written by the call, as the kernel writes it (-EFAULT).
 * The kernel looks the copied path up even when it is empty; statx(2) with
 * an empty path and a descriptor takes a shorter way that does not check
 * the flags, so they are checked here.
 */
int ua_statx(struct ua_req *req, unsigned issue_flags)
{
	struct ua_fs *fs = fs_of(req);

	if (issue_flags & UA_ISSUE_NONBLOCK)
		return UA_PUNT;
	if (fs->flags & ~STATX_AT_FLAGS) {
		errno = EINVAL;
		return done(req, -1);
	}
	/* The system call itself: the application's buffer may be NULL
	 * (-EFAULT), which glibc's statx() declares it never is. */
	return done(req, (int) syscall(SYS_statx, fs->old_dfd, fs->oldpath,
				       fs->flags, fs->mask,
				       (uintptr_t) fs->statxbuf));
}

int ua_renameat_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	struct ua_fs *fs = fs_of(req);
	int ret = fs_prep_begin(req, sqe);

	if (ret)
		return ret;
	fs->new_dfd = (int) sqe->len;
	fs->flags = (int) sqe->rename_flags;
	return copy_two_paths(req, sqe, 0);
}

int ua_renameat(struct ua_req *req, unsigned issue_flags)
{
	struct ua_fs *fs = fs_of(req);

	if (issue_flags & UA_ISSUE_NONBLOCK)
		return UA_PUNT;
	return done(req, renameat2(fs->old_dfd, fs->oldpath, fs->new_dfd,
				   fs->newpath, (unsigned) fs->flags));
}

int ua_unlinkat_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	struct ua_fs *fs = fs_of(req);
	int ret = fs_prep_begin(req, sqe);

	if (ret)
		return ret;
	fs->flags = (int) sqe->unlink_flags;
	if (fs->flags & ~AT_REMOVEDIR)
		return -EINVAL;
	return ua_strndup_from_user(&fs->oldpath, sqe->addr);
}

int ua_unlinkat(struct ua_req *req, unsigned issue_flags)
{
	struct ua_fs *fs = fs_of(req);

	if (issue_flags & UA_ISSUE_NONBLOCK)
		return UA_PUNT;
	return done(req, unlinkat(fs->old_dfd, fs->oldpath, fs->flags));
}

int ua_mkdirat_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	struct ua_fs *fs = fs_of(req);
	int ret = fs_prep_begin(req, sqe);

	if (ret)
		return ret;
	fs->mask = sqe->len;		/* the mode */
	return ua_strndup_from_user(&fs->oldpath, sqe->addr);
}

int ua_mkdirat(struct ua_req *req, unsigned issue_flags)
{
	struct ua_fs *fs = fs_of(req);

	if (issue_flags & UA_ISSUE_NONBLOCK)
		return UA_PUNT;
	return done(req, mkdirat(fs->old_dfd, fs->oldpath, (mode_t) fs->mask));
}

/* The target (addr) is any string; the link (addr2) is made in sqe->fd. */
int ua_symlinkat_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	int ret = fs_prep_begin(req, sqe);

	return ret ? ret : copy_two_paths(req, sqe, 0);
}

int ua_symlinkat(struct ua_req *req, unsigned issue_flags)
{
	struct ua_fs *fs = fs_of(req);

	if (issue_flags & UA_ISSUE_NONBLOCK)
		return UA_PUNT;
	return done(req, symlinkat(fs->oldpath, fs->new_dfd, fs->newpath));
}

/* With AT_EMPTY_PATH the old path may be empty (sqe->fd itself). */
int ua_linkat_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	struct ua_fs *fs = fs_of(req);
	int ret = fs_prep_begin(req, sqe);

	if (ret)
		return ret;
	fs->new_dfd = (int) sqe->len;
	fs->flags = (int) sqe->hardlink_flags;
	return copy_two_paths(req, sqe, fs->flags);
}

int ua_linkat(struct ua_req *req, unsigned issue_flags)
{
	struct ua_fs *fs = fs_of(req);

	if (issue_flags & UA_ISSUE_NONBLOCK)
		return UA_PUNT;
	return done(req, linkat(fs->old_dfd, fs->oldpath, fs->new_dfd,
				fs->newpath, fs->flags));
}

int ua_ftruncate_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	*truncate_len_of(req) = sqe->off;
	return 0;
}

/* A negative length is the call's -EINVAL, as the kernel's. */
int ua_ftruncate(struct ua_req *req, unsigned issue_flags)
{
	if (issue_flags & UA_ISSUE_NONBLOCK)
		return UA_PUNT;
	return done(req, ftruncate(req->fd, (off_t) *truncate_len_of(req)));
}
