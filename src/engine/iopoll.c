/* SPDX-License-Identifier: MIT */
/*
 * IORING_SETUP_IOPOLL: completions that the application reaps by polling.
 *
 * On the kernel, a read or write of an IOPOLL ring is issued to a device
 * the application then polls: its CQE appears only when an
 * io_uring_enter() with IORING_ENTER_GETEVENTS (liburing's wait and peek
 * calls enter for it) finds it finished. Here the transfer runs as any
 * other (inline, batched, or on a worker: O_DIRECT, so the kernel does
 * the polling of the device, if any); a request marked UA_REQ_IOPOLL that
 * finishes is held in the ring's list instead of being posted, and the
 * next GETEVENTS posts what is held, so the application sees the
 * kernel's order of events: no CQE of such a transfer before it enters.
 * What the held request releases (the next link) is issued then, as the
 * kernel issues it when the request is reaped.
 *
 * As the kernel: only operations that can be polled are accepted on such
 * a ring (others fail with -EINVAL), and a read or write whose file was
 * not opened O_DIRECT, or whose filesystem cannot poll, fails with
 * -EOPNOTSUPP (both posted at once: nothing was issued).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include "engine/iopoll.h"
#include "engine/req.h"

static bool is_transfer(unsigned opcode)
{
	switch (opcode) {
	case IORING_OP_READV:
	case IORING_OP_WRITEV:
	case IORING_OP_READ_FIXED:
	case IORING_OP_WRITE_FIXED:
	case IORING_OP_READ:
	case IORING_OP_WRITE:
	case IORING_OP_READV_FIXED:
	case IORING_OP_WRITEV_FIXED:
		return true;
	default:
		return false;
	}
}

/* The kernel's operations with an iopoll handler, or that complete at
 * once without one. */
bool ua_iopoll_op_allowed(unsigned opcode)
{
	switch (opcode) {
	case IORING_OP_NOP:
	case IORING_OP_FILES_UPDATE:
	case IORING_OP_PROVIDE_BUFFERS:
	case IORING_OP_REMOVE_BUFFERS:
	case IORING_OP_MSG_RING:
	case IORING_OP_URING_CMD:
		return true;
	default:
		return is_transfer(opcode);
	}
}

/* Filesystems whose files have the kernel's iopoll method: the ones built
 * on its block-device direct I/O. A block device has it too. */
static bool fs_polls(int fd)
{
	struct statfs sfs;

	if (fstatfs(fd, &sfs) < 0)
		return false;
	switch ((unsigned long) sfs.f_type) {
	case EXT4_SUPER_MAGIC:
	case XFS_SUPER_MAGIC:
	case BTRFS_SUPER_MAGIC:
		return true;
	default:
		return false;
	}
}

static bool file_polls(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	struct stat st;

	if (fl < 0 || !(fl & O_DIRECT) || fstat(fd, &st) < 0)
		return false;
	if (S_ISBLK(st.st_mode))
		return true;
	return S_ISREG(st.st_mode) && fs_polls(fd);
}

/*
 * A request of an IOPOLL ring about to be issued, its file assigned: a
 * transfer on a file that polls is marked to be held once done; on any
 * other file it fails with the kernel's -EOPNOTSUPP.
 */
int ua_iopoll_prepare(struct ua_req *req)
{
	if (!is_transfer(req->opcode))
		return 0;
	if (!file_polls(req->fd))
		return -EOPNOTSUPP;
	req->state |= UA_REQ_IOPOLL;
	return 0;
}
