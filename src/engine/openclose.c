/* SPDX-License-Identifier: MIT */
/*
 * OPENAT, OPENAT2, CLOSE and FIXED_FD_INSTALL, with direct descriptors.
 *
 * An open first runs inline as the kernel runs it: openat2() with
 * RESOLVE_CACHED, which fails with -EAGAIN instead of leaving the dentry
 * cache, and O_NONBLOCK, so that a FIFO or a device cannot hold up the
 * submitter (the flag is taken off again unless the application asked for
 * it). -EAGAIN, and the flags that always take the slow path (O_CREAT,
 * O_TRUNC, O_TMPFILE), send the open to a worker, after the path has been
 * copied: the application may reuse its buffer once submission returns.
 *
 * A direct open (sqe->file_index) opens close-on-exec and hands the new
 * descriptor to the fixed-file table (ua_files_install), which keeps it as
 * the slot's own; no descriptor is left in the application's hands.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "engine/filetable.h"
#include "engine/openclose.h"
#include "engine/req.h"
#include "engine/ring.h"
#include "engine/uaccess.h"
#include "engine/sys.h"

/* OPENAT, OPENAT2: struct open_how's fields, and where the file goes. */
struct ua_open {
	__u64		path;		/* the application's string */
	char		*path_copy;	/* private copy, made before a punt */
	__u64		flags, mode, resolve;
	int		dfd;
	__u32		file_slot;	/* 0: a descriptor, else sqe->file_index */
	bool		openat2;
};
#define open_of(req)	ua_cmd(req, struct ua_open)

/* CLOSE: a descriptor, or (file_slot != 0) the fixed slot file_slot - 1. */
struct ua_close {
	int		fd;
	__u32		file_slot;
};
#define close_of(req)	ua_cmd(req, struct ua_close)

/* FIXED_FD_INSTALL: its flags. */
#define install_flags_of(req)	ua_cmd(req, __u32)

/* The kernel's __O_TMPFILE, without the O_DIRECTORY glibc folds into it. */
#define TMPFILE_BIT		(O_TMPFILE & ~O_DIRECTORY)
/* The flags openat(2) takes (the kernel's VALID_OPEN_FLAGS, less
 * O_LARGEFILE, which the 64-bit kernel adds by itself). */
#define VALID_OPEN_FLAGS	(O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | \
				 O_TRUNC | O_APPEND | O_NONBLOCK | O_SYNC | \
				 O_DSYNC | FASYNC | O_DIRECT | O_DIRECTORY | \
				 O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_PATH | \
				 O_TMPFILE)
#define O_PATH_FLAGS		(O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC)
#define OPEN_HOW_SIZE_VER0	24

/* Set when the kernel has no openat2(): every open then takes a worker. */
static bool no_openat2;

static int open_prep_common(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	struct ua_open *o = open_of(req);

	if (req->sqe_flags & IOSQE_FIXED_FILE)
		return -EBADF;
	o->dfd = sqe->fd;
	o->path = sqe->addr;
	o->file_slot = sqe->file_index;
	/* A direct descriptor is never inherited: the flag means nothing. */
	if (o->file_slot && (o->flags & O_CLOEXEC))
		return -EINVAL;
	return 0;
}

/* What openat(2) makes of its flags and mode before it opens. */
int ua_openat_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	struct ua_open *o = open_of(req);
	__u64 flags = sqe->open_flags & VALID_OPEN_FLAGS;
	__u64 mode = sqe->len & 07777;

	o->path_copy = NULL;
	if (flags & O_PATH)
		flags &= O_PATH_FLAGS;
	if (!(flags & (O_CREAT | TMPFILE_BIT)))
		mode = 0;
	o->flags = flags;
	o->mode = mode;
	o->resolve = 0;
	o->openat2 = false;
	return open_prep_common(req, sqe);
}

/* struct open_how at sqe->addr2, sqe->len bytes of it; a larger struct
 * than ours is accepted only with zeroes in what we do not know (the
 * kernel's copy_struct_from_user(), its errors in its order). */
int ua_openat2_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	struct ua_open *o = open_of(req);
	struct open_how how;
	int ret;

	o->path_copy = NULL;
	if (sqe->len < OPEN_HOW_SIZE_VER0)
		return -EINVAL;
	if (sqe->len > sizeof(how)) {
		ret = ua_check_zeroed_user(sqe->addr2 + sizeof(how),
					   sqe->len - sizeof(how));
		if (ret <= 0)
			return ret ? ret : -E2BIG;
	}
	memset(&how, 0, sizeof(how));
	if (ua_copy_from_user(&how, sqe->addr2,
			      sqe->len < sizeof(how) ? sqe->len : sizeof(how)))
		return -EFAULT;
	o->flags = how.flags;
	o->mode = how.mode;
	o->resolve = how.resolve;
	o->openat2 = true;
	return open_prep_common(req, sqe);
}

static const char *open_path(const struct ua_open *o)
{
	return o->path_copy ? o->path_copy : (const char *) (uintptr_t) o->path;
}

static long sys_openat2(int dfd, const char *path, struct open_how *how)
{
	return ua_sys_openat2(dfd, path, how);
}

static __u64 open_flags(const struct ua_open *o)
{
	return o->file_slot ? o->flags | O_CLOEXEC : o->flags;
}

/*
 * The inline attempt: a descriptor or -errno, with *punt set when a worker
 * must open instead. -EAGAIN punts unless the application itself asked for
 * RESOLVE_CACHED, in which case it is the result, as in the kernel.
 */
static int open_cached(struct ua_req *req, bool *punt)
{
	struct ua_open *o = open_of(req);
	struct open_how how = {
		.flags = open_flags(o),
		.mode = o->mode,
		.resolve = o->resolve | RESOLVE_CACHED,
	};
	bool add_nonblock = !(how.flags & (O_NONBLOCK | O_PATH));
	long fd;

	if (add_nonblock)
		how.flags |= O_NONBLOCK;
	fd = sys_openat2(o->dfd, open_path(o), &how);
	if (fd < 0) {
		int err = errno;

		if (err == ENOSYS)
			__atomic_store_n(&no_openat2, true, __ATOMIC_RELAXED);
		/* Not cached, or a kernel that refuses what we added: the
		 * worker asks again exactly as the application did. */
		*punt = err == ENOSYS || err == EINVAL ||
			(err == EAGAIN && !(o->resolve & RESOLVE_CACHED));
		return -err;
	}
	/* F_SETFL changes only the status flags, and of those only
	 * O_NONBLOCK differs from what the file was opened with. */
	if (add_nonblock && fcntl((int) fd, F_SETFL,
				  (int) (how.flags & ~(__u64) O_NONBLOCK)) < 0) {
		syscall(SYS_close, (int) fd);
		*punt = true;
		return -EAGAIN;
	}
	return (int) fd;
}

static int open_blocking(struct ua_req *req)
{
	struct ua_open *o = open_of(req);
	struct open_how how = {
		.flags = open_flags(o),
		.mode = o->mode,
		.resolve = o->resolve,
	};
	long fd;

	if (o->openat2)
		fd = sys_openat2(o->dfd, open_path(o), &how);
	else
		fd = openat(o->dfd, open_path(o), (int) how.flags,
			    (mode_t) how.mode);
	return fd < 0 ? -errno : (int) fd;
}

/* These always leave the dentry cache (the kernel never tries them inline). */
static bool must_block(const struct ua_open *o)
{
	return (o->flags & (O_CREAT | O_TRUNC | TMPFILE_BIT)) ||
	       __atomic_load_n(&no_openat2, __ATOMIC_RELAXED);
}

int ua_openat(struct ua_req *req, unsigned issue_flags)
{
	struct ua_open *o = open_of(req);
	bool punt = false;
	int ret;

	if (issue_flags & UA_ISSUE_NONBLOCK) {
		if (must_block(o))
			return UA_PUNT;
		ret = open_cached(req, &punt);
		if (punt)
			return UA_PUNT;
	} else {
		ret = open_blocking(req);
	}
	if (ret >= 0 && o->file_slot)
		ret = ua_files_install(req->ctx, ret, o->file_slot);
	req->res = ret;
	req->failed = ret < 0;
	return UA_DONE;
}

/* The path is copied as the kernel's getname() copies it, with its
 * errors (-EFAULT, -ENAMETOOLONG, -ENOENT for an empty one). */
int ua_open_prepare_async(struct ua_req *req)
{
	struct ua_open *o = open_of(req);

	if (o->path_copy)
		return 0;
	return ua_strndup_from_user(&o->path_copy, o->path);
}

void ua_open_cleanup(struct ua_req *req)
{
	free(open_of(req)->path_copy);
	open_of(req)->path_copy = NULL;
}

int ua_close_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	if (req->sqe_flags & IOSQE_FIXED_FILE)
		return -EBADF;
	close_of(req)->fd = sqe->fd;
	close_of(req)->file_slot = sqe->file_index;
	if (close_of(req)->file_slot && close_of(req)->fd)
		return -EINVAL;
	return 0;
}

/* Inline: close() only waits for a flush, which the kernel runs inline too
 * for most files. A ring cannot be closed this way, as in the kernel. */
int ua_close(struct ua_req *req, unsigned issue_flags)
{
	struct ua_close *c = close_of(req);
	int ret;

	(void) issue_flags;
	if (c->file_slot)
		ret = ua_files_remove(req->ctx, c->file_slot - 1);
	else if (ua_ctx_lookup(c->fd))
		ret = -EBADF;
	else	/* not the C library's close(), a cancellation point */
		ret = syscall(SYS_close, c->fd) < 0 ? -errno : 0;
	req->res = ret;
	req->failed = ret < 0;
	return UA_DONE;
}

int ua_fixed_fd_install_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	if (!(req->sqe_flags & IOSQE_FIXED_FILE))
		return -EBADF;
	if (sqe->install_fd_flags & ~IORING_FIXED_FD_NO_CLOEXEC)
		return -EINVAL;
	*install_flags_of(req) = sqe->install_fd_flags;
	return 0;
}

/* A regular descriptor for the slot's file; close-on-exec unless asked. */
int ua_fixed_fd_install(struct ua_req *req, unsigned issue_flags)
{
	int cmd = *install_flags_of(req) & IORING_FIXED_FD_NO_CLOEXEC ?
		  F_DUPFD : F_DUPFD_CLOEXEC;
	int fd = fcntl(req->fd, cmd, 0);

	(void) issue_flags;
	req->res = fd < 0 ? -errno : fd;
	req->failed = fd < 0;
	return UA_DONE;
}
