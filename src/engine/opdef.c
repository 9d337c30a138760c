/* SPDX-License-Identifier: MIT */
/*
 * The opcode table. Adding an operation is one entry here plus its prep and
 * issue functions; the probe and the submit path read nothing else.
 */
#include <errno.h>
#include <poll.h>
#include "engine/advise.h"
#include "engine/cancel.h"
#include "engine/epoll.h"
#include "engine/filetable.h"
#include "engine/fs.h"
#include "engine/futex.h"
#include "engine/kbuf.h"
#include "engine/net.h"
#include "engine/msg_ring.h"
#include "engine/nop.h"
#include "engine/openclose.h"
#include "engine/pipe.h"
#include "engine/poll_op.h"
#include "engine/read_mshot.h"
#include "engine/recv_zc.h"
#include "engine/req.h"
#include "engine/rw.h"
#include "engine/splice.h"
#include "engine/sync.h"
#include "engine/timeout.h"
#include "engine/uring_cmd.h"
#include "engine/waitid.h"
#include "engine/xattr.h"
#include "engine/opdef.h"

/* The fields each op requires to be zero, as the kernel's prep functions
 * check them (Linux 6.18, each checked against it by test/api-sqe-fields.c). */
#define Z(x)		(1u << UA_SQE_##x)
#define SYNC_ZERO	(Z(IOPRIO) | Z(ADDR) | Z(BUF_INDEX) | Z(FILE_INDEX))
#define TIMEOUT_ZERO	(Z(IOPRIO) | Z(BUF_INDEX) | Z(FILE_INDEX) | \
			 Z(ADDR3) | Z(PAD2))
#define OPEN_ZERO	(Z(IOPRIO) | Z(BUF_INDEX))

/* Path operations: their paths are copied at prep and freed here. */
#define FS_COMMON \
	.cleanup = ua_fs_cleanup
#define PATH_ZERO	(Z(IOPRIO) | Z(BUF_INDEX) | Z(FILE_INDEX))
#define XATTR_COMMON \
	.cleanup = ua_xattr_cleanup, .zero_fields = Z(IOPRIO)

#define NET_COMMON \
	.needs_file = 1, .prepare_async = ua_sr_prepare_async, \
	.cleanup = ua_sr_cleanup

#define RW_COMMON \
	.needs_file = 1, .aio_batch = 1, .ring_fd_res = -EINVAL, \
	.prepare_async = ua_rw_prepare_async, .cleanup = ua_rw_cleanup

const struct ua_opdef ua_opdefs[IORING_OP_LAST] = {
	[IORING_OP_NOP] = {
		.name = "NOP", .prep = ua_nop_prep, .issue = ua_nop,
		.zero_fields = Z(IOPRIO),
	},
	[IORING_OP_READV] = {
		.name = "READV", .prep = ua_rw_prep, .issue = ua_read,
		.poll_events = POLLIN, .buffer_select = 1, RW_COMMON,
	},
	[IORING_OP_WRITEV] = {
		.name = "WRITEV", .prep = ua_rw_prep, .issue = ua_write,
		.poll_events = POLLOUT, .hash_reg_file = 1, RW_COMMON,
	},
	[IORING_OP_FSYNC] = {
		.name = "FSYNC", .prep = ua_fsync_prep, .issue = ua_fsync,
		.needs_file = 1, .never_waits_on_stream = 1,
		.ring_fd_res = -EINVAL,
		.zero_fields = SYNC_ZERO,
	},
	[IORING_OP_READ_FIXED] = {
		.name = "READ_FIXED", .prep = ua_rw_fixed_prep,
		.issue = ua_read, .poll_events = POLLIN, RW_COMMON,
	},
	[IORING_OP_WRITE_FIXED] = {
		.name = "WRITE_FIXED", .prep = ua_rw_fixed_prep,
		.issue = ua_write, .poll_events = POLLOUT,
		.hash_reg_file = 1, RW_COMMON,
	},
	[IORING_OP_POLL_ADD] = {
		.name = "POLL_ADD", .prep = ua_poll_add_prep,
		.issue = ua_poll_add, .needs_file = 1,
		.zero_fields = Z(IOPRIO) | Z(OFF) | Z(ADDR) | Z(BUF_INDEX),
	},
	[IORING_OP_POLL_REMOVE] = {
		.name = "POLL_REMOVE", .prep = ua_poll_remove_prep,
		.issue = ua_poll_remove,
		.zero_fields = Z(IOPRIO) | Z(BUF_INDEX) | Z(FILE_INDEX),
	},
	[IORING_OP_SYNC_FILE_RANGE] = {
		.name = "SYNC_FILE_RANGE", .prep = ua_sfr_prep,
		.issue = ua_sync_file_range, .needs_file = 1,
		.never_waits_on_stream = 1,
		.ring_fd_res = -ESPIPE,
		.zero_fields = SYNC_ZERO,
	},
	[IORING_OP_FALLOCATE] = {
		.name = "FALLOCATE", .prep = ua_fallocate_prep,
		.issue = ua_fallocate, .needs_file = 1, .hash_reg_file = 1,
		.ring_fd_res = -ENODEV,
		.zero_fields = Z(IOPRIO) | Z(OP_FLAGS) | Z(BUF_INDEX) |
			Z(FILE_INDEX),
	},
	[IORING_OP_OPENAT] = {
		.name = "OPENAT", .prep = ua_openat_prep, .issue = ua_openat,
		.prepare_async = ua_open_prepare_async,
		.cleanup = ua_open_cleanup,
		.zero_fields = OPEN_ZERO,
	},
	[IORING_OP_CLOSE] = {
		.name = "CLOSE", .prep = ua_close_prep, .issue = ua_close,
		.zero_fields = Z(IOPRIO) | Z(OFF) | Z(ADDR) | Z(LEN) |
			Z(OP_FLAGS) | Z(BUF_INDEX),
	},
	[IORING_OP_FILES_UPDATE] = {
		.name = "FILES_UPDATE", .prep = ua_files_update_prep,
		.issue = ua_files_update_op,
		.zero_fields = Z(IOPRIO) | Z(OP_FLAGS) | Z(FILE_INDEX),
	},
	[IORING_OP_READ] = {
		.name = "READ", .prep = ua_rw_prep, .issue = ua_read,
		.poll_events = POLLIN, .buffer_select = 1, RW_COMMON,
	},
	[IORING_OP_WRITE] = {
		.name = "WRITE", .prep = ua_rw_prep, .issue = ua_write,
		.poll_events = POLLOUT, .hash_reg_file = 1, RW_COMMON,
	},
	[IORING_OP_TIMEOUT] = {
		.name = "TIMEOUT", .prep = ua_timeout_prep, .issue = ua_timeout,
		.zero_fields = TIMEOUT_ZERO,
	},
	[IORING_OP_TIMEOUT_REMOVE] = {
		.name = "TIMEOUT_REMOVE", .prep = ua_timeout_remove_prep,
		.issue = ua_timeout_remove,
		.zero_fields = TIMEOUT_ZERO | Z(LEN),
	},
	[IORING_OP_ASYNC_CANCEL] = {
		.name = "ASYNC_CANCEL", .prep = ua_async_cancel_prep,
		.issue = ua_async_cancel,
		.zero_fields = Z(IOPRIO) | Z(OFF) | Z(FILE_INDEX),
	},
	[IORING_OP_LINK_TIMEOUT] = {
		.name = "LINK_TIMEOUT", .prep = ua_link_timeout_prep,
		.issue = ua_link_timeout,
		.zero_fields = TIMEOUT_ZERO | Z(OFF),
	},
	[IORING_OP_SENDMSG] = {
		.name = "SENDMSG", .prep = ua_sr_prep, .issue = ua_send,
		.poll_events = POLLOUT, NET_COMMON,
		.zero_fields = Z(OFF) | Z(FILE_INDEX),
	},
	[IORING_OP_RECVMSG] = {
		.name = "RECVMSG", .prep = ua_sr_prep, .issue = ua_recv,
		.poll_events = POLLIN, .buffer_select = 1, NET_COMMON,
		.zero_fields = Z(OFF) | Z(FILE_INDEX),
	},
	[IORING_OP_ACCEPT] = {
		.name = "ACCEPT", .prep = ua_accept_prep, .issue = ua_accept,
		.poll_events = POLLIN, .needs_file = 1,
		.zero_fields = Z(LEN) | Z(BUF_INDEX),
	},
	[IORING_OP_CONNECT] = {
		.name = "CONNECT", .prep = ua_connect_prep,
		.issue = ua_connect, .poll_events = POLLOUT, .needs_file = 1,
		.zero_fields = Z(IOPRIO) | Z(LEN) | Z(OP_FLAGS) | Z(BUF_INDEX) |
			Z(FILE_INDEX),
	},
	[IORING_OP_FADVISE] = {
		.name = "FADVISE", .prep = ua_fadvise_prep,
		.issue = ua_fadvise, .needs_file = 1,
		.zero_fields = Z(IOPRIO) | Z(BUF_INDEX) | Z(FILE_INDEX),
	},
	[IORING_OP_SEND] = {
		.name = "SEND", .prep = ua_sr_prep, .issue = ua_send,
		.poll_events = POLLOUT, .needs_file = 1,
		.buffer_select = 1, .cleanup = ua_sr_cleanup,
	},
	[IORING_OP_RECV] = {
		.name = "RECV", .prep = ua_sr_prep, .issue = ua_recv,
		.poll_events = POLLIN, .needs_file = 1, .buffer_select = 1,
		/* optlen (FILE_INDEX) is a multishot RECV's total. */
		.zero_fields = Z(OFF),
	},
	[IORING_OP_EPOLL_CTL] = {
		.name = "EPOLL_CTL", .prep = ua_epoll_ctl_prep,
		.issue = ua_epoll_ctl,
		.zero_fields = Z(IOPRIO) | Z(BUF_INDEX) | Z(FILE_INDEX),
	},
	[IORING_OP_SPLICE] = {
		.name = "SPLICE", .prep = ua_splice_prep, .issue = ua_splice,
		.needs_file = 1,
		.ring_fd_res = -EINVAL,
		.zero_fields = Z(IOPRIO),
	},
	[IORING_OP_TEE] = {
		.name = "TEE", .prep = ua_splice_prep, .issue = ua_splice,
		.needs_file = 1,
		.ring_fd_res = -EINVAL,
		.zero_fields = Z(IOPRIO) | Z(OFF) | Z(ADDR),
	},
	[IORING_OP_PROVIDE_BUFFERS] = {
		.name = "PROVIDE_BUFFERS", .prep = ua_provide_buffers_prep,
		.issue = ua_provide_buffers,
		.zero_fields = Z(IOPRIO) | Z(OP_FLAGS) | Z(FILE_INDEX),
	},
	[IORING_OP_REMOVE_BUFFERS] = {
		.name = "REMOVE_BUFFERS", .prep = ua_remove_buffers_prep,
		.issue = ua_provide_buffers,
		.zero_fields = Z(IOPRIO) | Z(OFF) | Z(ADDR) | Z(LEN) |
			Z(OP_FLAGS) | Z(FILE_INDEX),
	},
	[IORING_OP_SHUTDOWN] = {
		.name = "SHUTDOWN", .prep = ua_shutdown_prep,
		.issue = ua_shutdown, .needs_file = 1,
		.zero_fields = Z(IOPRIO) | Z(OFF) | Z(ADDR) | Z(OP_FLAGS) |
			Z(BUF_INDEX) | Z(FILE_INDEX),
	},
	[IORING_OP_SOCKET] = {
		.name = "SOCKET", .prep = ua_socket_prep, .issue = ua_socket,
		.zero_fields = Z(IOPRIO) | Z(ADDR) | Z(OP_FLAGS) | Z(BUF_INDEX),
	},
	/* Takes IOSQE_BUFFER_SELECT as far as its prep, which refuses it
	 * with the kernel's -EINVAL. Only a socket's TX timestamps wait, for
	 * its error queue. */
	[IORING_OP_URING_CMD] = {
		.name = "URING_CMD", .prep = ua_uring_cmd_prep,
		.issue = ua_uring_cmd, .poll_events = POLLERR, .needs_file = 1,
		.buffer_select = 1, .zero_fields = Z(IOPRIO),
	},
	/* Zero-copy sends: their notification follows the send's CQE
	 * (UA_REQ_NOTIF). */
	[IORING_OP_SEND_ZC] = {
		.name = "SEND_ZC", .prep = ua_sr_prep, .issue = ua_send,
		.poll_events = POLLOUT, NET_COMMON,
		.zero_fields = Z(ADDR3) | Z(PAD2),
	},
	[IORING_OP_SENDMSG_ZC] = {
		.name = "SENDMSG_ZC", .prep = ua_sr_prep, .issue = ua_send,
		.poll_events = POLLOUT, NET_COMMON,
		.zero_fields = Z(ADDR3) | Z(PAD2),
	},
	[IORING_OP_FTRUNCATE] = {
		.name = "FTRUNCATE", .prep = ua_ftruncate_prep,
		.issue = ua_ftruncate, .needs_file = 1, .hash_reg_file = 1,
		.ring_fd_res = -EINVAL,
		.zero_fields = Z(IOPRIO) | Z(ADDR) | Z(LEN) | Z(OP_FLAGS) |
			Z(BUF_INDEX) | Z(FILE_INDEX) | Z(ADDR3),
	},
	[IORING_OP_BIND] = {
		.name = "BIND", .prep = ua_bind_prep, .issue = ua_bind,
		.needs_file = 1,
		.zero_fields = Z(IOPRIO) | Z(LEN) | Z(OP_FLAGS) | Z(BUF_INDEX) |
			Z(FILE_INDEX),
	},
	[IORING_OP_LISTEN] = {
		.name = "LISTEN", .prep = ua_listen_prep, .issue = ua_listen,
		.needs_file = 1,
		.zero_fields = Z(IOPRIO) | Z(OFF) | Z(ADDR) | Z(OP_FLAGS) |
			Z(BUF_INDEX) | Z(FILE_INDEX),
	},
	[IORING_OP_OPENAT2] = {
		.name = "OPENAT2", .prep = ua_openat2_prep, .issue = ua_openat,
		.prepare_async = ua_open_prepare_async,
		.cleanup = ua_open_cleanup,
		.zero_fields = OPEN_ZERO,
	},
	[IORING_OP_STATX] = {
		.name = "STATX", .prep = ua_statx_prep, .issue = ua_statx,
		FS_COMMON, .zero_fields = PATH_ZERO,
	},
	[IORING_OP_MADVISE] = {
		.name = "MADVISE", .prep = ua_madvise_prep, .issue = ua_madvise,
		.zero_fields = Z(IOPRIO) | Z(BUF_INDEX) | Z(FILE_INDEX),
	},
	[IORING_OP_RENAMEAT] = {
		.name = "RENAMEAT", .prep = ua_renameat_prep,
		.issue = ua_renameat, FS_COMMON, .zero_fields = PATH_ZERO,
	},
	[IORING_OP_UNLINKAT] = {
		.name = "UNLINKAT", .prep = ua_unlinkat_prep,
		.issue = ua_unlinkat, FS_COMMON,
		.zero_fields = PATH_ZERO | Z(OFF) | Z(LEN),
	},
	[IORING_OP_MKDIRAT] = {
		.name = "MKDIRAT", .prep = ua_mkdirat_prep, .issue = ua_mkdirat,
		FS_COMMON, .zero_fields = PATH_ZERO | Z(OFF) | Z(OP_FLAGS),
	},
	[IORING_OP_SYMLINKAT] = {
		.name = "SYMLINKAT", .prep = ua_symlinkat_prep,
		.issue = ua_symlinkat, FS_COMMON,
		.zero_fields = PATH_ZERO | Z(LEN) | Z(OP_FLAGS),
	},
	[IORING_OP_LINKAT] = {
		.name = "LINKAT", .prep = ua_linkat_prep, .issue = ua_linkat,
		FS_COMMON, .zero_fields = PATH_ZERO,
	},
	[IORING_OP_MSG_RING] = {
		.name = "MSG_RING", .prep = ua_msg_ring_prep,
		.issue = ua_msg_ring, .needs_file = 1, .zero_fields = Z(IOPRIO),
	},
	[IORING_OP_FSETXATTR] = {
		.name = "FSETXATTR", .prep = ua_fsetxattr_prep,
		.issue = ua_fsetxattr, .needs_file = 1, XATTR_COMMON,
		.ring_fd_res = -EPERM,
	},
	[IORING_OP_SETXATTR] = {
		.name = "SETXATTR", .prep = ua_setxattr_prep,
		.issue = ua_setxattr, XATTR_COMMON,
	},
	[IORING_OP_FGETXATTR] = {
		.name = "FGETXATTR", .prep = ua_fgetxattr_prep,
		.issue = ua_fgetxattr, .needs_file = 1, XATTR_COMMON,
	},
	[IORING_OP_GETXATTR] = {
		.name = "GETXATTR", .prep = ua_getxattr_prep,
		.issue = ua_getxattr, XATTR_COMMON,
	},
	[IORING_OP_WAITID] = {
		.name = "WAITID", .prep = ua_waitid_prep, .issue = ua_waitid,
		.zero_fields = Z(IOPRIO) | Z(ADDR) | Z(OP_FLAGS) | Z(BUF_INDEX) |
			Z(ADDR3),
	},
	/* The kernel checks what the futex ops leave unused (their prep). */
	[IORING_OP_FUTEX_WAIT] = {
		.name = "FUTEX_WAIT", .prep = ua_futex_wait_prep,
		.issue = ua_futex_wait,
		.zero_fields = Z(IOPRIO) | Z(LEN) | Z(OP_FLAGS) | Z(BUF_INDEX) |
			Z(FILE_INDEX),
	},
	[IORING_OP_FUTEX_WAKE] = {
		.name = "FUTEX_WAKE", .prep = ua_futex_wake_prep,
		.issue = ua_futex_wake,
		.zero_fields = Z(IOPRIO) | Z(LEN) | Z(OP_FLAGS) | Z(BUF_INDEX) |
			Z(FILE_INDEX),
	},
	[IORING_OP_FUTEX_WAITV] = {
		.name = "FUTEX_WAITV", .prep = ua_futex_waitv_prep,
		.issue = ua_futex_wait, .cleanup = ua_futex_cleanup,
		.zero_fields = Z(IOPRIO) | Z(OFF) | Z(OP_FLAGS) | Z(BUF_INDEX) |
			Z(FILE_INDEX) | Z(ADDR3),
	},
	[IORING_OP_FIXED_FD_INSTALL] = {
		.name = "FIXED_FD_INSTALL", .prep = ua_fixed_fd_install_prep,
		.issue = ua_fixed_fd_install, .needs_file = 1,
		.zero_fields = Z(IOPRIO) | Z(OFF) | Z(ADDR) | Z(LEN) |
			Z(BUF_INDEX) | Z(FILE_INDEX) | Z(ADDR3),
	},
	/* No zero-copy receive queue can be registered: fails at prep. */
	[IORING_OP_RECV_ZC] = {
		.name = "RECV_ZC", .prep = ua_recv_zc_prep,
	},
	[IORING_OP_EPOLL_WAIT] = {
		.name = "EPOLL_WAIT", .prep = ua_epoll_wait_prep,
		.issue = ua_epoll_wait, .poll_events = POLLIN, .needs_file = 1,
		.zero_fields = Z(IOPRIO) | Z(OFF) | Z(OP_FLAGS) | Z(BUF_INDEX) |
			Z(FILE_INDEX),
	},
	[IORING_OP_READ_MULTISHOT] = {
		.name = "READ_MULTISHOT", .prep = ua_read_mshot_prep,
		.issue = ua_read_mshot, .poll_events = POLLIN,
		.needs_file = 1, .buffer_select = 1, .ring_fd_res = -EINVAL,
	},
	/* Not batched: io_submit() would read the iovecs again, where the
	 * kernel's copy at submission is what counts. */
	[IORING_OP_READV_FIXED] = {
		.name = "READV_FIXED", .prep = ua_rwv_fixed_prep,
		.issue = ua_read, .poll_events = POLLIN, .needs_file = 1,
		.ring_fd_res = -EINVAL, .prepare_async = ua_rw_prepare_async,
		.cleanup = ua_rw_cleanup,
	},
	[IORING_OP_WRITEV_FIXED] = {
		.name = "WRITEV_FIXED", .prep = ua_rwv_fixed_prep,
		.issue = ua_write, .poll_events = POLLOUT, .hash_reg_file = 1,
		.needs_file = 1, .ring_fd_res = -EINVAL,
		.prepare_async = ua_rw_prepare_async, .cleanup = ua_rw_cleanup,
	},
	[IORING_OP_PIPE] = {
		.name = "PIPE", .prep = ua_pipe_prep, .issue = ua_pipe,
		.zero_fields = Z(IOPRIO) | Z(OFF) | Z(ADDR3),
	},
};
