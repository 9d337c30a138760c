/* SPDX-License-Identifier: MIT */
/*
 * GETXATTR, SETXATTR, FGETXATTR, FSETXATTR.
 *
 * What the kernel copies when it prepares the request is copied then, with
 * its errors in its order: the attribute's name (-ERANGE when empty or
 * longer than XATTR_NAME_MAX), a SETXATTR's value (-E2BIG past
 * XATTR_SIZE_MAX) and the path. The call runs in a worker, as the kernel
 * runs it in io-wq; a GETXATTR's value is written by the call itself.
 * The kernel refuses IOSQE_FIXED_FILE on all four (-EBADF).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/xattr.h>
#include <linux/limits.h>
#include "engine/req.h"
#include "engine/uaccess.h"
#include "engine/xattr.h"

struct ua_xattr {
	char		*name;		/* XATTR_NAME_MAX + 1 bytes */
	char		*path;		/* GETXATTR, SETXATTR */
	void		*value;		/* SETXATTR: the copy of the value */
	__u64		uvalue;		/* GETXATTR: the application's buffer */
	__u32		size;
	int		flags;
};
#define xattr_of(req)	ua_cmd(req, struct ua_xattr)

static int done(struct ua_req *req, long ret)
{
	req->res = ret < 0 ? -errno : (__s32) ret;
	req->failed = req->res < 0;
	return UA_DONE;
}

/* The kernel's import_xattr_name(). */
static int copy_name(struct ua_req *req, __u64 uname)
{
	struct ua_xattr *x = xattr_of(req);
	long len;

	x->name = malloc(XATTR_NAME_MAX + 1);
	if (!x->name)
		return -ENOMEM;
	len = ua_strncpy_from_user(x->name, uname, XATTR_NAME_MAX + 1);
	if (!len || len == XATTR_NAME_MAX + 1)
		return -ERANGE;
	return len < 0 ? (int) len : 0;
}

static int xattr_prep_begin(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	struct ua_xattr *x = xattr_of(req);

	x->name = x->path = NULL;
	x->value = NULL;
	x->uvalue = sqe->addr2;
	x->size = sqe->len;
	x->flags = (int) sqe->xattr_flags;
	if (req->sqe_flags & IOSQE_FIXED_FILE)
		return -EBADF;
	return 0;
}

int ua_fgetxattr_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	int ret = xattr_prep_begin(req, sqe);

	if (ret)
		return ret;
	if (xattr_of(req)->flags)
		return -EINVAL;
	return copy_name(req, sqe->addr);
}

/* The path (addr3) is looked up following symbolic links. */
int ua_getxattr_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	int ret = ua_fgetxattr_prep(req, sqe);

	return ret ? ret : ua_strndup_from_user(&xattr_of(req)->path, sqe->addr3);
}

/* The kernel's setxattr_copy(): flags, name, then the value. */
int ua_fsetxattr_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	struct ua_xattr *x = xattr_of(req);
	int ret = xattr_prep_begin(req, sqe);

	if (ret)
		return ret;
	if (x->flags & ~(XATTR_CREATE | XATTR_REPLACE))
		return -EINVAL;
	ret = copy_name(req, sqe->addr);
	if (ret || !x->size)
		return ret;
	if (x->size > XATTR_SIZE_MAX)
		return -E2BIG;
	x->value = malloc(x->size);
	if (!x->value)
		return -ENOMEM;
	return ua_copy_from_user(x->value, x->uvalue, x->size);
}

int ua_setxattr_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	int ret = ua_fsetxattr_prep(req, sqe);

	return ret ? ret : ua_strndup_from_user(&xattr_of(req)->path, sqe->addr3);
}

void ua_xattr_cleanup(struct ua_req *req)
{
	struct ua_xattr *x = xattr_of(req);

	free(x->name);
	free(x->path);
	free(x->value);
	x->name = x->path = NULL;
	x->value = NULL;
}

int ua_getxattr(struct ua_req *req, unsigned issue_flags)
{
	struct ua_xattr *x = xattr_of(req);

	if (issue_flags & UA_ISSUE_NONBLOCK)
		return UA_PUNT;
	return done(req, getxattr(x->path, x->name,
				  (void *) (uintptr_t) x->uvalue, x->size));
}

int ua_fgetxattr(struct ua_req *req, unsigned issue_flags)
{
	struct ua_xattr *x = xattr_of(req);

	if (issue_flags & UA_ISSUE_NONBLOCK)
		return UA_PUNT;
	return done(req, fgetxattr(req->fd, x->name,
				   (void *) (uintptr_t) x->uvalue, x->size));
}

int ua_setxattr(struct ua_req *req, unsigned issue_flags)
{
	struct ua_xattr *x = xattr_of(req);

	if (issue_flags & UA_ISSUE_NONBLOCK)
		return UA_PUNT;
	return done(req, setxattr(x->path, x->name, x->value, x->size,
				  x->flags));
}

int ua_fsetxattr(struct ua_req *req, unsigned issue_flags)
{
	struct ua_xattr *x = xattr_of(req);

	if (issue_flags & UA_ISSUE_NONBLOCK)
		return UA_PUNT;
	return done(req, fsetxattr(req->fd, x->name, x->value, x->size,
				   x->flags));
}
