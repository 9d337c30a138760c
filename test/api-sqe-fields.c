/* SPDX-License-Identifier: MIT */
/*
 * SQE fields an op does not use must be zero: the kernel fails the request
 * with -EINVAL (ioprio on an op that takes none, and each prep function's
 * own checks), and cancels what is linked after it. The table below walks
 * every implemented op and every such field, on the kernel and on us.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include "helpers.h"

/* The kernel's numbers for opcodes newer than the system liburing. */
#define OP_FIXED_FD_INSTALL	54
#define OP_BIND			56
#define OP_LISTEN		57
#define OP_FTRUNCATE		55
#define OP_PIPE			62
#define OP_EPOLL_WAIT		59
#define OP_WAITID		50

#define HANG_SECS	5

enum field {
	F_IOPRIO, F_OFF, F_ADDR, F_LEN, F_OP_FLAGS, F_BUF_INDEX, F_FILE_INDEX,
	F_ADDR3, F_PAD2, NR_FIELDS
};

static const char *const field_names[NR_FIELDS] = {
	"ioprio", "off", "addr", "len", "rw_flags", "buf_index",
	"splice_fd_in", "addr3", "__pad2",
};

static void set_field(struct io_uring_sqe *sqe, enum field f)
{
	switch (f) {
	case F_IOPRIO: sqe->ioprio = 1; break;
	case F_OFF: sqe->off = 1; break;
	case F_ADDR: sqe->addr = 1; break;
	case F_LEN: sqe->len = 1; break;
	case F_OP_FLAGS: sqe->rw_flags = 1; break;
	case F_BUF_INDEX: sqe->buf_index = 1; break;
	case F_FILE_INDEX: sqe->splice_fd_in = 1; break;
	case F_ADDR3: sqe->addr3 = 1; break;
	case F_PAD2: sqe->__pad2[0] = 1; break;
	case NR_FIELDS: break;
	}
}

#define B(f)		(1u << F_##f)

/* What the ops run on: a regular file (no socket op gets further than
 * -ENOTSOCK), pipes, an epoll instance. */
static struct {
	int	file, pipe[2], pipe2[2], epfd;
	char	buf[64];
	struct __kernel_timespec ts;
	struct open_how how;
	int	upd_fd;
	int	pipe_fds[2];
	struct statx stx;
	int	ready_epfd;	/* watches env.pipe[0], which holds data */
	struct epoll_event events[2];
} env;

static void p_nop(struct io_uring_sqe *s) { io_uring_prep_nop(s); }
static void p_fsync(struct io_uring_sqe *s) { io_uring_prep_fsync(s, env.file, 0); }
static void p_poll_add(struct io_uring_sqe *s) { io_uring_prep_poll_add(s, env.pipe[1], POLLOUT); }
static void p_poll_remove(struct io_uring_sqe *s) { io_uring_prep_poll_remove(s, 12345); }
static void p_sfr(struct io_uring_sqe *s) { io_uring_prep_sync_file_range(s, env.file, 64, 0, 0); }
static void p_sendmsg(struct io_uring_sqe *s)
{
	static struct msghdr m;

	io_uring_prep_sendmsg(s, env.file, &m, 0);
}
static void p_recvmsg(struct io_uring_sqe *s)
{
	static struct msghdr m;

	io_uring_prep_recvmsg(s, env.file, &m, 0);
}
static void p_timeout(struct io_uring_sqe *s) { io_uring_prep_timeout(s, &env.ts, 0, 0); }
static void p_timeout_remove(struct io_uring_sqe *s) { io_uring_prep_timeout_remove(s, 12345, 0); }
static void p_accept(struct io_uring_sqe *s) { io_uring_prep_accept(s, env.file, NULL, NULL, 0); }
static void p_cancel(struct io_uring_sqe *s) { io_uring_prep_cancel64(s, 12345, 0); }
static void p_link_timeout(struct io_uring_sqe *s) { io_uring_prep_link_timeout(s, &env.ts, 0); }
static void p_connect(struct io_uring_sqe *s)
{
	static struct sockaddr_storage ss = { .ss_family = AF_INET };

	io_uring_prep_connect(s, env.file, (struct sockaddr *) &ss, 16);
}
static void p_fallocate(struct io_uring_sqe *s) { io_uring_prep_fallocate(s, env.file, 0, 0, 4096); }
static void p_openat(struct io_uring_sqe *s) { io_uring_prep_openat(s, AT_FDCWD, "/dev/null", O_RDONLY, 0); }
static void p_close(struct io_uring_sqe *s) { io_uring_prep_close(s, 999999); }
static void p_files_update(struct io_uring_sqe *s) { io_uring_prep_files_update(s, &env.upd_fd, 1, 0); }
static void p_fadvise(struct io_uring_sqe *s) { io_uring_prep_fadvise(s, env.file, 0, 64, 0); }
static void p_recv(struct io_uring_sqe *s) { io_uring_prep_recv(s, env.file, env.buf, 64, 0); }
static void p_openat2(struct io_uring_sqe *s) { io_uring_prep_openat2(s, AT_FDCWD, "/dev/null", &env.how); }
static void p_epoll_ctl(struct io_uring_sqe *s) { io_uring_prep_epoll_ctl(s, env.epfd, env.pipe[0], EPOLL_CTL_DEL, NULL); }
static void p_splice(struct io_uring_sqe *s) { io_uring_prep_splice(s, env.file, 0, env.pipe[1], -1, 8, 0); }
static void p_provide(struct io_uring_sqe *s) { io_uring_prep_provide_buffers(s, env.buf, 16, 1, 3, 0); }
static void p_remove(struct io_uring_sqe *s) { io_uring_prep_remove_buffers(s, 1, 3); }
static void p_tee(struct io_uring_sqe *s) { io_uring_prep_tee(s, env.pipe[0], env.pipe2[1], 8, 0); }
static void p_shutdown(struct io_uring_sqe *s) { io_uring_prep_shutdown(s, env.file, SHUT_RD); }
static void p_socket(struct io_uring_sqe *s) { io_uring_prep_socket(s, AF_INET, SOCK_STREAM, 0, 0); }
static void p_bind(struct io_uring_sqe *s)
{
	static struct sockaddr_storage ss = { .ss_family = AF_INET };

	io_uring_prep_rw(OP_BIND, s, env.file, &ss, 0, 16);
}
static void p_listen(struct io_uring_sqe *s) { io_uring_prep_rw(OP_LISTEN, s, env.file, NULL, 4, 0); }
static void p_fd_install(struct io_uring_sqe *s)
{
	io_uring_prep_rw(OP_FIXED_FD_INSTALL, s, 0, NULL, 0, 0);
	s->flags |= IOSQE_FIXED_FILE;
}
static void p_statx(struct io_uring_sqe *s) { io_uring_prep_statx(s, AT_FDCWD, "/dev/null", 0, STATX_SIZE, &env.stx); }
static void p_madvise(struct io_uring_sqe *s) { io_uring_prep_madvise(s, NULL, 0, MADV_NORMAL); }
static void p_renameat(struct io_uring_sqe *s) { io_uring_prep_rename(s, "/nonexistent/a", "/nonexistent/b"); }
static void p_unlinkat(struct io_uring_sqe *s) { io_uring_prep_unlink(s, "/nonexistent/a", 0); }
static void p_mkdirat(struct io_uring_sqe *s) { io_uring_prep_mkdir(s, "/", 0700); }
static void p_symlinkat(struct io_uring_sqe *s) { io_uring_prep_symlink(s, "x", "/"); }
static void p_linkat(struct io_uring_sqe *s) { io_uring_prep_link(s, "/nonexistent/a", "/nonexistent/b", 0); }
static void p_fsetxattr(struct io_uring_sqe *s) { io_uring_prep_fsetxattr(s, env.file, "user.t", "v", XATTR_REPLACE, 1); }
static void p_setxattr(struct io_uring_sqe *s) { io_uring_prep_setxattr(s, "user.t", "v", "/nonexistent/a", 0, 1); }
static void p_fgetxattr(struct io_uring_sqe *s) { io_uring_prep_fgetxattr(s, env.file, "user.none", env.buf, 64); }
static void p_getxattr(struct io_uring_sqe *s) { io_uring_prep_getxattr(s, "user.none", env.buf, "/nonexistent/a", 64); }
static void p_ftruncate(struct io_uring_sqe *s) { io_uring_prep_rw(OP_FTRUNCATE, s, env.file, NULL, 0, 64); }
static void p_pipe(struct io_uring_sqe *s) { io_uring_prep_rw(OP_PIPE, s, 0, env.pipe_fds, 0, 0); }
static void p_waitid(struct io_uring_sqe *s)
{
	io_uring_prep_rw(OP_WAITID, s, 0, NULL, P_ALL, 0);
	s->file_index = WEXITED | WNOHANG;
}
static void p_epoll_wait(struct io_uring_sqe *s) { io_uring_prep_rw(OP_EPOLL_WAIT, s, env.ready_epfd, env.events, 2, 0); }

struct op_case {
	const char	*name;
	void		(*prep)(struct io_uring_sqe *sqe);
	unsigned	zero;		/* B(...): fields that must be zero */
};

#define SYNC_ZERO	(B(IOPRIO) | B(ADDR) | B(BUF_INDEX) | B(FILE_INDEX))
#define TIMEOUT_ZERO	(B(IOPRIO) | B(BUF_INDEX) | B(FILE_INDEX) | B(ADDR3) | B(PAD2))

/* The kernel's checks (Linux 6.18). Ops not here take every field. */
static const struct op_case cases[] = {
	{ "NOP", p_nop, B(IOPRIO) },
	{ "FSYNC", p_fsync, SYNC_ZERO },
	{ "POLL_ADD", p_poll_add, B(IOPRIO) | B(OFF) | B(ADDR) | B(BUF_INDEX) },
	{ "POLL_REMOVE", p_poll_remove, B(IOPRIO) | B(BUF_INDEX) | B(FILE_INDEX) },
	{ "SYNC_FILE_RANGE", p_sfr, SYNC_ZERO },
	{ "SENDMSG", p_sendmsg, B(OFF) | B(FILE_INDEX) },
	{ "RECVMSG", p_recvmsg, B(OFF) | B(FILE_INDEX) },
	{ "TIMEOUT", p_timeout, TIMEOUT_ZERO },
	{ "TIMEOUT_REMOVE", p_timeout_remove, TIMEOUT_ZERO | B(LEN) },
	{ "ACCEPT", p_accept, B(LEN) | B(BUF_INDEX) },
	{ "ASYNC_CANCEL", p_cancel, B(IOPRIO) | B(OFF) | B(FILE_INDEX) },
	{ "LINK_TIMEOUT", p_link_timeout, TIMEOUT_ZERO | B(OFF) },
	{ "CONNECT", p_connect, B(IOPRIO) | B(LEN) | B(OP_FLAGS) | B(BUF_INDEX) |
				B(FILE_INDEX) },
	{ "FALLOCATE", p_fallocate, B(IOPRIO) | B(OP_FLAGS) | B(BUF_INDEX) |
				    B(FILE_INDEX) },
	{ "OPENAT", p_openat, B(IOPRIO) | B(BUF_INDEX) },
	{ "CLOSE", p_close, B(IOPRIO) | B(OFF) | B(ADDR) | B(LEN) | B(OP_FLAGS) |
			    B(BUF_INDEX) },
	{ "FILES_UPDATE", p_files_update, B(IOPRIO) | B(OP_FLAGS) | B(FILE_INDEX) },
	{ "FADVISE", p_fadvise, B(IOPRIO) | B(BUF_INDEX) | B(FILE_INDEX) },
	{ "RECV", p_recv, B(OFF) },	/* splice_fd_in: a multishot's total */
	{ "OPENAT2", p_openat2, B(IOPRIO) | B(BUF_INDEX) },
	{ "EPOLL_CTL", p_epoll_ctl, B(IOPRIO) | B(BUF_INDEX) | B(FILE_INDEX) },
	{ "SPLICE", p_splice, B(IOPRIO) },
	{ "PROVIDE_BUFFERS", p_provide, B(IOPRIO) | B(OP_FLAGS) | B(FILE_INDEX) },
	{ "REMOVE_BUFFERS", p_remove, B(IOPRIO) | B(OFF) | B(ADDR) | B(LEN) |
				      B(OP_FLAGS) | B(FILE_INDEX) },
	{ "TEE", p_tee, B(IOPRIO) | B(OFF) | B(ADDR) },
	{ "SHUTDOWN", p_shutdown, B(IOPRIO) | B(OFF) | B(ADDR) | B(OP_FLAGS) |
				  B(BUF_INDEX) | B(FILE_INDEX) },
	{ "SOCKET", p_socket, B(IOPRIO) | B(ADDR) | B(OP_FLAGS) | B(BUF_INDEX) },
	{ "BIND", p_bind, B(IOPRIO) | B(LEN) | B(OP_FLAGS) | B(BUF_INDEX) |
			  B(FILE_INDEX) },
	{ "LISTEN", p_listen, B(IOPRIO) | B(OFF) | B(ADDR) | B(OP_FLAGS) |
			      B(BUF_INDEX) | B(FILE_INDEX) },
	{ "FIXED_FD_INSTALL", p_fd_install, B(IOPRIO) | B(OFF) | B(ADDR) | B(LEN) |
					    B(BUF_INDEX) | B(FILE_INDEX) | B(ADDR3) },
	{ "STATX", p_statx, B(IOPRIO) | B(BUF_INDEX) | B(FILE_INDEX) },
	{ "MADVISE", p_madvise, B(IOPRIO) | B(BUF_INDEX) | B(FILE_INDEX) },
	{ "RENAMEAT", p_renameat, B(IOPRIO) | B(BUF_INDEX) | B(FILE_INDEX) },
	{ "UNLINKAT", p_unlinkat, B(IOPRIO) | B(OFF) | B(LEN) | B(BUF_INDEX) |
				  B(FILE_INDEX) },
	{ "MKDIRAT", p_mkdirat, B(IOPRIO) | B(OFF) | B(OP_FLAGS) | B(BUF_INDEX) |
				B(FILE_INDEX) },
	{ "SYMLINKAT", p_symlinkat, B(IOPRIO) | B(LEN) | B(OP_FLAGS) |
				    B(BUF_INDEX) | B(FILE_INDEX) },
	{ "LINKAT", p_linkat, B(IOPRIO) | B(BUF_INDEX) | B(FILE_INDEX) },
	{ "FSETXATTR", p_fsetxattr, B(IOPRIO) },
	{ "SETXATTR", p_setxattr, B(IOPRIO) },
	{ "FGETXATTR", p_fgetxattr, B(IOPRIO) },
	{ "GETXATTR", p_getxattr, B(IOPRIO) },
	{ "FTRUNCATE", p_ftruncate, B(IOPRIO) | B(ADDR) | B(LEN) | B(OP_FLAGS) |
				    B(BUF_INDEX) | B(FILE_INDEX) | B(ADDR3) },
	{ "PIPE", p_pipe, B(IOPRIO) | B(OFF) | B(ADDR3) },
	{ "WAITID", p_waitid, B(IOPRIO) | B(ADDR) | B(OP_FLAGS) | B(BUF_INDEX) |
			      B(ADDR3) },
	{ "EPOLL_WAIT", p_epoll_wait, B(IOPRIO) | B(OFF) | B(OP_FLAGS) |
				      B(BUF_INDEX) | B(FILE_INDEX) },
};

/*
 * Submits the op (user_data 1) with a NOP linked on either side: after
 * it, or before it for a LINK_TIMEOUT, which guards what precedes it.
 * Returns the op's result; *linked gets the NOP's. A descriptor an op
 * opened is closed.
 */
static int submit_case(struct io_uring *ring, const struct op_case *c,
		       int field, int *linked)
{
	bool lt = c->prep == p_link_timeout;
	struct io_uring_sqe *sqe;
	struct test_cqe cqe;
	int res = INT_MIN;

	if (lt) {
		sqe = must_get_sqe(ring);
		io_uring_prep_nop(sqe);
		sqe->flags = IOSQE_IO_LINK;
		sqe->user_data = 2;
	}
	sqe = must_get_sqe(ring);
	c->prep(sqe);
	sqe->user_data = 1;
	if (field >= 0)
		set_field(sqe, (enum field) field);
	if (!lt) {
		sqe->flags |= IOSQE_IO_LINK;
		sqe = must_get_sqe(ring);
		io_uring_prep_nop(sqe);
		sqe->user_data = 2;
	}
	assert_int_equal(io_uring_submit(ring), 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(reap_bounded(ring, &cqe, HANG_SECS), 0);
		if (cqe.user_data == 1)
			res = cqe.res;
		else
			*linked = cqe.res;
	}
	if (res >= 0 && (c->prep == p_openat || c->prep == p_openat2 ||
			 c->prep == p_socket || c->prep == p_fd_install))
		close(res);
	if (res == 0 && c->prep == p_pipe) {
		close(env.pipe_fds[0]);
		close(env.pipe_fds[1]);
	}
	return res;
}

static int setup(void **state)
{
	char path[] = "/tmp/ua-api-fields-XXXXXX";
	int slots[1];

	if (fixture_setup(state))
		return -1;
	env.file = mkstemp(path);
	if (env.file < 0 || pwrite(env.file, env.buf, 64, 0) != 64)
		return -1;
	unlink(path);
	if (pipe(env.pipe) || pipe(env.pipe2))
		return -1;
	if (write(env.pipe[1], "0123456789abcdef", 16) != 16)
		return -1;
	env.epfd = epoll_create1(0);
	env.ready_epfd = epoll_create1(0);
	env.events[0].events = EPOLLIN;
	if (epoll_ctl(env.ready_epfd, EPOLL_CTL_ADD, env.pipe[0], env.events))
		return -1;
	env.ts.tv_nsec = 1000000;
	env.how.flags = O_RDONLY;
	env.upd_fd = -1;
	slots[0] = env.file;
	return io_uring_register_files(fixture_ring(state), slots, 1) ? -1 : 0;
}

static int teardown(void **state)
{
	close(env.file);
	close(env.pipe[0]);
	close(env.pipe[1]);
	close(env.pipe2[0]);
	close(env.pipe2[1]);
	close(env.epfd);
	close(env.ready_epfd);
	return fixture_teardown(state);
}

static void test_fields_that_must_be_zero(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	unsigned wrong = 0;
	int linked;

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct op_case *c = &cases[i];
		int res = submit_case(ring, c, -1, &linked);

		/* A baseline the fields can make fail. */
		if (res == -EINVAL)
			fail_msg("%s: the plain request fails with -EINVAL", c->name);
		for (int f = 0; f < NR_FIELDS; f++) {
			if (!(c->zero & (1u << f)))
				continue;
			res = submit_case(ring, c, f, &linked);
			if (res != -EINVAL || linked != -ECANCELED) {
				print_message("%s with %s set: %d, linked %d\n",
					      c->name, field_names[f], res, linked);
				wrong++;
			}
		}
	}
	assert_int_equal(wrong, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fields_that_must_be_zero,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
