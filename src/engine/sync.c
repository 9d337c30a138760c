/* SPDX-License-Identifier: MIT */
/*
 * FSYNC, SYNC_FILE_RANGE, FALLOCATE, FADVISE. Like the kernel, the first
 * three always run in a worker (they wait for the device); FADVISE runs
 * inline for the advice values that only set a flag on the file.
 * Reserved SQE fields must be zero (-EINVAL), as the kernel checks them.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include "engine/req.h"
#include "engine/sync.h"

struct ua_sync {
	__u64	off;
	__u64	len;
	__u32	flags;		/* fsync, sync_file_range, fallocate mode, advice */
};
#define sync_of(req)	ua_cmd(req, struct ua_sync)

static int done(struct ua_req *req, int ret)
{
	req->res = ret < 0 ? -errno : ret;
	req->failed = req->res < 0;
	return UA_DONE;
}

int ua_fsync_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	if (sqe->fsync_flags & ~IORING_FSYNC_DATASYNC)
		return -EINVAL;
	sync_of(req)->flags = sqe->fsync_flags;
	sync_of(req)->off = sqe->off;
	sync_of(req)->len = sqe->len;
	return 0;
}

/* The whole file is synced: a superset of the range the SQE may name. */
int ua_fsync(struct ua_req *req, unsigned issue_flags)
{
	if (issue_flags & UA_ISSUE_NONBLOCK)
		return UA_PUNT;
	if (sync_of(req)->flags & IORING_FSYNC_DATASYNC)
		return done(req, fdatasync(req->fd));
	return done(req, fsync(req->fd));
}

int ua_sfr_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	sync_of(req)->off = sqe->off;
	sync_of(req)->len = sqe->len;
	sync_of(req)->flags = sqe->sync_range_flags;
	return 0;
}

int ua_sync_file_range(struct ua_req *req, unsigned issue_flags)
{
	if (issue_flags & UA_ISSUE_NONBLOCK)
		return UA_PUNT;
	return done(req, sync_file_range(req->fd, (off_t) sync_of(req)->off,
					 (off_t) sync_of(req)->len,
					 sync_of(req)->flags));
}

int ua_fallocate_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	sync_of(req)->off = sqe->off;
	sync_of(req)->len = sqe->addr;
	sync_of(req)->flags = sqe->len;	/* the mode */
	return 0;
}

int ua_fallocate(struct ua_req *req, unsigned issue_flags)
{
	if (issue_flags & UA_ISSUE_NONBLOCK)
		return UA_PUNT;
	return done(req, fallocate(req->fd, (int) sync_of(req)->flags,
				   (off_t) sync_of(req)->off,
				   (off_t) sync_of(req)->len));
}

int ua_fadvise_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	sync_of(req)->off = sqe->off;
	/* A 64-bit length travels in addr (io_uring_prep_fadvise64). */
	sync_of(req)->len = sqe->addr ? sqe->addr : sqe->len;
	sync_of(req)->flags = sqe->fadvise_advice;
	return 0;
}

static bool advice_never_blocks(unsigned advice)
{
	return advice == POSIX_FADV_NORMAL || advice == POSIX_FADV_RANDOM ||
	       advice == POSIX_FADV_SEQUENTIAL;
}

int ua_fadvise(struct ua_req *req, unsigned issue_flags)
{
	int err;

	if ((issue_flags & UA_ISSUE_NONBLOCK) &&
	    !advice_never_blocks(sync_of(req)->flags))
		return UA_PUNT;
	/* posix_fadvise returns the error number instead of setting errno. */
	err = posix_fadvise(req->fd, (off_t) sync_of(req)->off,
			    (off_t) sync_of(req)->len,
			    (int) sync_of(req)->flags);
	req->res = -err;
	req->failed = err != 0;
	return UA_DONE;
}
