/* SPDX-License-Identifier: MIT */
/*
 * PIPE: a pipe's two descriptors written to the application's int[2], or,
 * with sqe->file_index, its two ends installed as direct descriptors. Inline:
 * making a pipe never waits.
 *
 * As the kernel: a given slot (file_index - 1) takes the read end and the
 * slot after it the write end; IORING_FILE_INDEX_ALLOC allocates both. The
 * array holds the two slots. Direct ends are never inherited, so O_CLOEXEC
 * is refused there (-EINVAL). Whatever failed leaves nothing behind: no
 * descriptor, no filled slot.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include "engine/filetable.h"
#include "engine/pipe.h"
#include "engine/req.h"
#include "engine/uaccess.h"

/* pipe2()'s flag for a watch-queue pipe: O_EXCL, which no pipe takes
 * otherwise (glibc does not name it). */
#ifndef O_NOTIFICATION_PIPE
#define O_NOTIFICATION_PIPE	O_EXCL
#endif
#define PIPE_FLAGS	(O_CLOEXEC | O_NONBLOCK | O_DIRECT | O_NOTIFICATION_PIPE)

struct ua_pipe {
	__u64	fds;		/* the application's int[2] */
	int	flags;
	__u32	file_slot;	/* 0: descriptors, else sqe->file_index */
};
#define pipe_of(req)	ua_cmd(req, struct ua_pipe)

int ua_pipe_prep(struct ua_req *req, const struct io_uring_sqe *sqe)
{
	struct ua_pipe *p = pipe_of(req);

	if (sqe->fd)
		return -EINVAL;
	p->fds = sqe->addr;
	p->flags = (int) sqe->pipe_flags;
	if (p->flags & ~PIPE_FLAGS)
		return -EINVAL;
	p->file_slot = sqe->file_index;
	return 0;
}

static int pipe_fds(struct ua_req *req, int ends[2])
{
	if (!ua_copy_to_user(pipe_of(req)->fds, ends, 2 * sizeof(int)))
		return 0;
	close(ends[0]);
	close(ends[1]);
	return -EFAULT;
}

/* The slot of the write end: the next one, or another allocation. */
static __u32 next_slot(__u32 file_slot)
{
	return file_slot == IORING_FILE_INDEX_ALLOC ? file_slot : file_slot + 1;
}

/* The slot an end went to, or -errno: ua_files_install() reports only
 * the slots it allocated. */
static int install_end(struct ua_req *req, int fd, __u32 file_slot)
{
	int ret = ua_files_install(req->ctx, fd, file_slot);

	if (ret < 0 || file_slot == IORING_FILE_INDEX_ALLOC)
		return ret;
	return (int) (file_slot - 1);
}

static int pipe_direct(struct ua_req *req, int ends[2])
{
	struct ua_pipe *p = pipe_of(req);
	int slots[2];

	slots[0] = install_end(req, ends[0], p->file_slot);
	if (slots[0] < 0) {
		close(ends[1]);
		return slots[0];
	}
	slots[1] = install_end(req, ends[1], next_slot(p->file_slot));
	if (slots[1] < 0) {
		ua_files_remove(req->ctx, (unsigned) slots[0]);
		return slots[1];
	}
	if (!ua_copy_to_user(p->fds, slots, sizeof(slots)))
		return 0;
	ua_files_remove(req->ctx, (unsigned) slots[0]);
	ua_files_remove(req->ctx, (unsigned) slots[1]);
	return -EFAULT;
}

int ua_pipe(struct ua_req *req, unsigned issue_flags)
{
	struct ua_pipe *p = pipe_of(req);
	int ends[2], ret;

	(void) issue_flags;
	if (p->file_slot && (p->flags & O_CLOEXEC))
		ret = -EINVAL;
	else if (pipe2(ends, p->file_slot ? p->flags | O_CLOEXEC : p->flags))
		ret = -errno;
	else
		ret = p->file_slot ? pipe_direct(req, ends) : pipe_fds(req, ends);
	req->res = ret;
	req->failed = ret < 0;
	return UA_DONE;
}
