/* SPDX-License-Identifier: MIT */
/*
 * Bad application pointers: every address the ring reads or writes for the
 * application (in SQEs, and in io_uring_enter, io_uring_register and
 * io_uring_setup arguments) given as NULL, as a small integer and as a
 * PROT_NONE page, and where the ring writes back, as a read-only page. The
 * result is the kernel's error, never a crash. Every expected value is what
 * Linux 6.18 does.
 *
 * The whole group runs twice: first in a child process where
 * process_vm_readv and process_vm_writev fail with EPERM, as in a
 * container's seccomp profile, then in the test process itself.
 *
 * liburing 2.3 lacks some newer names: they are spelled out here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include "helpers.h"
#include "seccomp-filter.h"

#define OP_BIND			56
#define REGISTER_PBUF_STATUS	26u
#ifndef UIO_MAXIOV
#define UIO_MAXIOV		1024
#endif

#define NR_BAD	3
static void *bad[NR_BAD];	/* NULL, a small integer, a PROT_NONE page */
static char *ro_page;		/* zeroes, read-only, before a writable page */
static char *rw_after_ro;	/* the writable page after ro_page */
static char *rw_before_none;	/* a writable page before bad[2] */

static int map_pages(void **state)
{
	char *p = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void) state;
	if (p == MAP_FAILED)
		return -1;
	/* [rw][none][ro][rw] */
	rw_before_none = p;
	bad[0] = NULL;
	bad[1] = (void *) 0x10;
	bad[2] = p + 4096;
	ro_page = p + 2 * 4096;
	rw_after_ro = p + 3 * 4096;
	if (mprotect(bad[2], 4096, PROT_NONE) || mprotect(ro_page, 4096, PROT_READ))
		return -1;
	return 0;
}

static int submit_and_reap(struct io_uring *ring, unsigned nr,
			   struct test_cqe *out)
{
	assert_int_equal(io_uring_submit(ring), (int) nr);
	for (unsigned i = 0; i < nr; i++)
		assert_int_equal(reap_in_engine(ring, &out[i]), 0);
	return 0;
}

/* Result of the one SQE prepared, tagged 1. */
static int one(struct io_uring *ring, struct io_uring_sqe *sqe)
{
	sqe->user_data = 1;
	return submit_wait_in_engine(ring, 1);
}

/* ---- SQE fields ---- */

static void test_timeout_timespec(void **state)
{
	struct io_uring *ring = fixture_ring(state);

	for (int i = 0; i < NR_BAD; i++) {
		struct io_uring_sqe *sqe = must_get_sqe(ring);

		io_uring_prep_timeout(sqe, bad[i], 0, 0);
		assert_int_equal(one(ring, sqe), -EFAULT);
	}
}

static void test_link_timeout_timespec(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct test_cqe c[2];

	for (int i = 0; i < NR_BAD; i++) {
		struct io_uring_sqe *sqe = must_get_sqe(ring);

		io_uring_prep_nop(sqe);
		sqe->flags |= IOSQE_IO_LINK;
		sqe->user_data = 1;
		sqe = must_get_sqe(ring);
		io_uring_prep_link_timeout(sqe, bad[i], 0);
		sqe->user_data = 2;
		submit_and_reap(ring, 2, c);
		for (int j = 0; j < 2; j++)
			assert_int_equal(c[j].res, c[j].user_data == 1 ?
					 -ECANCELED : -EFAULT);
	}
}

static void test_timeout_update_timespec(void **state)
{
	struct io_uring *ring = fixture_ring(state);

	for (int i = 0; i < NR_BAD; i++) {
		struct io_uring_sqe *sqe = must_get_sqe(ring);

		io_uring_prep_timeout_update(sqe, bad[i], 1234, 0);
		assert_int_equal(one(ring, sqe), -EFAULT);
	}
}

static void test_epoll_ctl_event(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	int epfd = epoll_create1(EPOLL_CLOEXEC), efd = eventfd(0, EFD_CLOEXEC);

	assert_true(epfd >= 0 && efd >= 0);
	for (int i = 0; i < NR_BAD; i++) {
		struct io_uring_sqe *sqe = must_get_sqe(ring);

		io_uring_prep_epoll_ctl(sqe, epfd, efd, EPOLL_CTL_ADD, bad[i]);
		assert_int_equal(one(ring, sqe), -EFAULT);
	}
	close(efd);
	close(epfd);
}

static void test_connect_bind_sendto_address(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	int tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	char byte = 'x';

	assert_true(tcp >= 0 && udp >= 0);
	for (int i = 0; i < NR_BAD; i++) {
		struct io_uring_sqe *sqe = must_get_sqe(ring);

		io_uring_prep_connect(sqe, tcp, bad[i],
				      sizeof(struct sockaddr_in));
		assert_int_equal(one(ring, sqe), -EFAULT);

		sqe = must_get_sqe(ring);
		io_uring_prep_rw(OP_BIND, sqe, tcp, bad[i], 0,
				 sizeof(struct sockaddr_in));
		assert_int_equal(one(ring, sqe), -EFAULT);

		/* No address at all: the socket's peer, and it has none. */
		sqe = must_get_sqe(ring);
		io_uring_prep_send(sqe, udp, &byte, 1, 0);
		sqe->addr2 = (unsigned long) bad[i];
		sqe->addr_len = sizeof(struct sockaddr_in);
		assert_int_equal(one(ring, sqe), bad[i] ? -EFAULT : -EDESTADDRREQ);
	}
	close(udp);
	close(tcp);
}

/* O_CREAT always takes the slow path, which copies the path first. */
static void test_openat_path(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	static const int flags[] = { O_RDONLY, O_CREAT | O_WRONLY };

	for (int i = 0; i < NR_BAD; i++) {
		for (int j = 0; j < 2; j++) {
			struct io_uring_sqe *sqe = must_get_sqe(ring);

			io_uring_prep_openat(sqe, AT_FDCWD, bad[i],
					     flags[j], 0600);
			assert_int_equal(one(ring, sqe), -EFAULT);
		}
	}
}

/* A path whose NUL is the last byte before an unreadable page is read
 * whole; one that runs into the page is -EFAULT. */
static void test_openat_path_at_page_end(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	char *end = bad[2];
	struct io_uring_sqe *sqe;
	int ret;

	memcpy(end - 10, "/dev/null", 10);
	sqe = must_get_sqe(ring);
	io_uring_prep_openat(sqe, AT_FDCWD, end - 10, O_RDONLY | O_CREAT, 0600);
	ret = one(ring, sqe);
	assert_true(ret >= 0);
	close(ret);

	memcpy(end - 9, "/dev/null", 9);	/* no NUL before the page */
	sqe = must_get_sqe(ring);
	io_uring_prep_openat(sqe, AT_FDCWD, end - 9, O_RDONLY | O_CREAT, 0600);
	assert_int_equal(one(ring, sqe), -EFAULT);
}

static void test_openat2_how(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct io_uring_sqe *sqe;

	for (int i = 0; i < NR_BAD; i++) {
		sqe = must_get_sqe(ring);
		io_uring_prep_openat2(sqe, AT_FDCWD, "/dev/null", bad[i]);
		assert_int_equal(one(ring, sqe), -EFAULT);
	}
	/* A larger struct than the kernel's, its tail unreadable. */
	memset((char *) bad[2] - sizeof(struct open_how), 0,
	       sizeof(struct open_how));
	sqe = must_get_sqe(ring);
	io_uring_prep_openat2(sqe, AT_FDCWD, "/dev/null",
			      (void *) ((char *) bad[2] - sizeof(struct open_how)));
	sqe->len = sizeof(struct open_how) + 8;
	assert_int_equal(one(ring, sqe), -EFAULT);
}

static void test_files_update_array(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct io_uring_sqe *sqe;

	assert_int_equal(io_uring_register_files_sparse(ring, 4), 0);
	for (int i = 0; i < NR_BAD; i++) {
		sqe = must_get_sqe(ring);
		io_uring_prep_files_update(sqe, bad[i], 1, 0);
		assert_int_equal(one(ring, sqe), -EFAULT);
	}
	/* With a slot allocated per descriptor, its index is written back:
	 * into a read-only array, that fails and the slot is emptied. */
	sqe = must_get_sqe(ring);
	io_uring_prep_files_update(sqe, (int *) ro_page, 1,
				   IORING_FILE_INDEX_ALLOC);
	assert_int_equal(one(ring, sqe), -EFAULT);
	sqe = must_get_sqe(ring);
	io_uring_prep_close_direct(sqe, 0);
	assert_int_equal(one(ring, sqe), -EBADF);
}

/* ---- msghdr and iovec ---- */

static void check_msg_ops(struct io_uring *ring, int fd, struct msghdr *msg,
			  int expect)
{
	for (int async = 0; async < 2; async++) {
		for (int send = 0; send < 2; send++) {
			struct io_uring_sqe *sqe = must_get_sqe(ring);

			if (send)
				io_uring_prep_sendmsg(sqe, fd, msg, 0);
			else
				io_uring_prep_recvmsg(sqe, fd, msg, 0);
			if (async)
				sqe->flags |= IOSQE_ASYNC;
			assert_int_equal(one(ring, sqe), expect);
		}
	}
}

static void test_msghdr(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	for (int i = 0; i < NR_BAD; i++)
		check_msg_ops(ring, sv[0], bad[i], -EFAULT);
	close(sv[0]);
	close(sv[1]);
}

static void test_msghdr_iovecs(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct msghdr msg;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	for (int i = 0; i < NR_BAD; i++) {
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = bad[i];
		msg.msg_iovlen = 1;
		check_msg_ops(ring, sv[0], &msg, -EFAULT);
	}
	/* Too many iovecs: refused before they are read. */
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = bad[2];
	msg.msg_iovlen = UIO_MAXIOV + 1;
	check_msg_ops(ring, sv[0], &msg, -EMSGSIZE);
	msg.msg_iovlen = (size_t) 1 << 60;	/* its size overflows */
	check_msg_ops(ring, sv[0], &msg, -EMSGSIZE);
	close(sv[0]);
	close(sv[1]);
}

static void check_vec_ops(struct io_uring *ring, int fd, struct iovec *iov,
			  unsigned nr, int expect)
{
	for (int async = 0; async < 2; async++) {
		for (int write = 0; write < 2; write++) {
			struct io_uring_sqe *sqe = must_get_sqe(ring);

			if (write)
				io_uring_prep_writev(sqe, fd, iov, nr, 0);
			else
				io_uring_prep_readv(sqe, fd, iov, nr, 0);
			if (async)
				sqe->flags |= IOSQE_ASYNC;
			assert_int_equal(one(ring, sqe), expect);
		}
	}
}

static void test_iovecs(void **state)
{
	struct fixture *f = *state;
	int fd = make_pattern_file(f->dir, "f", 4096, 1, O_RDWR);

	assert_true(fd >= 0);
	for (int i = 0; i < NR_BAD; i++)
		check_vec_ops(&f->ring, fd, bad[i], 1, -EFAULT);
	close(fd);
}

/* The count is checked before the array is read: one iovec, a million
 * claimed, is -EINVAL and nothing past the one is touched. */
static void test_too_many_iovecs(void **state)
{
	struct fixture *f = *state;
	int fd = make_pattern_file(f->dir, "f", 4096, 1, O_RDWR);
	struct iovec *iov = (struct iovec *) ((char *) bad[2] - sizeof(*iov));

	assert_true(fd >= 0);
	iov->iov_base = rw_before_none;
	iov->iov_len = 16;
	check_vec_ops(&f->ring, fd, iov, 1u << 20, -EINVAL);
	check_vec_ops(&f->ring, fd, iov, UIO_MAXIOV + 1, -EINVAL);
	close(fd);
}

/* A chain member's iovecs are read at submission: a bad array fails the
 * member, and its head is cancelled. */
static void test_iovecs_in_chain(void **state)
{
	struct fixture *f = *state;
	int fd = make_pattern_file(f->dir, "f", 4096, 1, O_RDWR);
	struct test_cqe c[2];

	assert_true(fd >= 0);
	for (int i = 0; i < NR_BAD; i++) {
		struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

		io_uring_prep_nop(sqe);
		sqe->flags |= IOSQE_IO_LINK;
		sqe->user_data = 1;
		sqe = must_get_sqe(&f->ring);
		io_uring_prep_readv(sqe, fd, bad[i], 1, 0);
		sqe->user_data = 2;
		submit_and_reap(&f->ring, 2, c);
		for (int j = 0; j < 2; j++)
			assert_int_equal(c[j].res, c[j].user_data == 1 ?
					 -ECANCELED : -EFAULT);
	}
	close(fd);
}

/* The io_uring_recvmsg_out header goes at the start of the provided
 * buffer; here that is the end of a read-only page, the payload room the
 * writable page after it. */
static void test_recvmsg_multishot_header_unwritable(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct io_uring_buf_ring *br = test_buf_ring(ring, 1, 7);
	struct io_uring_recvmsg_out *out =
		(void *) (rw_after_ro - sizeof(struct io_uring_recvmsg_out));
	struct io_uring_sqe *sqe;
	struct msghdr msg;
	struct test_cqe c;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
	io_uring_buf_ring_add(br, out, sizeof(*out) + 4096, 0, 0, 0);
	io_uring_buf_ring_advance(br, 1);
	memset(&msg, 0, sizeof(msg));
	sqe = must_get_sqe(ring);
	io_uring_prep_recvmsg_multishot(sqe, sv[0], &msg, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = 7;
	sqe->user_data = 1;
	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(write(sv[1], "hello", 5), 5);
	assert_int_equal(reap_in_engine(ring, &c), 0);
	assert_int_equal(c.res, -EFAULT);
	assert_false(c.flags & IORING_CQE_F_MORE);
	close(sv[0]);
	close(sv[1]);
}

/* ---- io_uring_enter ---- */

static int enter_ext(struct io_uring *ring, unsigned min, const void *arg,
		     size_t size)
{
	return io_uring_enter2((unsigned) ring->ring_fd, 0, min,
			       IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG,
			       (sigset_t *) arg, size);
}

static void test_enter_ext_arg(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct io_uring_getevents_arg arg;

	for (int i = 0; i < NR_BAD; i++)
		assert_int_equal(enter_ext(ring, 0, bad[i], sizeof(arg)), -EFAULT);
	memset(&arg, 0, sizeof(arg));
	assert_int_equal(enter_ext(ring, 0, NULL, 0), -EINVAL);
	assert_int_equal(enter_ext(ring, 0, &arg, sizeof(arg) + 8), -EINVAL);
	assert_int_equal(enter_ext(ring, 0, &arg, sizeof(arg)), 0);
}

static void test_enter_timespec_and_sigmask(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct __kernel_timespec ts = { 5, 0 };
	struct io_uring_getevents_arg arg;

	for (int i = 1; i < NR_BAD; i++) {
		memset(&arg, 0, sizeof(arg));
		arg.ts = (unsigned long) bad[i];
		assert_int_equal(enter_ext(ring, 1, &arg, sizeof(arg)), -EFAULT);
		/* The mask is read only by a wait that sleeps. */
		arg.ts = (unsigned long) &ts;
		arg.sigmask = (unsigned long) bad[i];
		arg.sigmask_sz = _NSIG / 8;
		assert_int_equal(enter_ext(ring, 0, &arg, sizeof(arg)), 0);
		assert_int_equal(enter_ext(ring, 1, &arg, sizeof(arg)), -EFAULT);
		arg.sigmask_sz = 2 * (_NSIG / 8);
		assert_int_equal(enter_ext(ring, 1, &arg, sizeof(arg)), -EINVAL);
		/* The plain sigset argument. */
		assert_int_equal(io_uring_enter((unsigned) ring->ring_fd, 0, 1,
						IORING_ENTER_GETEVENTS, bad[i]),
				 -EFAULT);
	}
}

/* ---- io_uring_register ---- */

static int reg(struct io_uring *ring, unsigned op, void *arg, unsigned nr)
{
	return io_uring_register((unsigned) ring->ring_fd, op, arg, nr);
}

struct reg_case {
	unsigned	op, nr;
	int		null_res;	/* NULL: the kernel checks it first */
};

static const struct reg_case reg_cases[] = {
	{ IORING_REGISTER_FILES, 1, -EFAULT },
	{ IORING_REGISTER_BUFFERS, 1, -EFAULT },
	{ IORING_REGISTER_FILES_UPDATE, 1, -EFAULT },
	{ IORING_REGISTER_FILES2, sizeof(struct io_uring_rsrc_register), -EFAULT },
	{ IORING_REGISTER_FILES_UPDATE2, sizeof(struct io_uring_rsrc_update2), -EFAULT },
	{ IORING_REGISTER_PROBE, 4, -EINVAL },
	{ IORING_REGISTER_EVENTFD, 1, -EFAULT },
	{ IORING_REGISTER_EVENTFD_ASYNC, 1, -EFAULT },
	{ IORING_REGISTER_PBUF_RING, 1, -EINVAL },
	{ IORING_UNREGISTER_PBUF_RING, 1, -EINVAL },
	{ REGISTER_PBUF_STATUS, 1, -EINVAL },
	{ IORING_REGISTER_SYNC_CANCEL, 1, -EINVAL },
	{ IORING_REGISTER_IOWQ_MAX_WORKERS, 2, -EINVAL },
	{ IORING_REGISTER_FILE_ALLOC_RANGE, 0, -EINVAL },
	{ IORING_REGISTER_BUFFERS2, sizeof(struct io_uring_rsrc_register), -EFAULT },
	{ IORING_REGISTER_BUFFERS_UPDATE, sizeof(struct io_uring_rsrc_update2), -EFAULT },
	{ IORING_REGISTER_CLONE_BUFFERS, 1, -EINVAL },
};

static void test_register_args(void **state)
{
	struct io_uring *ring = fixture_ring(state);

	for (size_t c = 0; c < sizeof(reg_cases) / sizeof(reg_cases[0]); c++) {
		const struct reg_case *rc = &reg_cases[c];

		assert_int_equal(reg(ring, rc->op, NULL, rc->nr), rc->null_res);
		if (rc->op == IORING_REGISTER_PROBE)	/* too many ops */
			assert_int_equal(reg(ring, rc->op, ro_page, 257), -EINVAL);
		for (int i = 1; i < NR_BAD; i++)
			assert_int_equal(reg(ring, rc->op, bad[i], rc->nr), -EFAULT);
	}
}

/* What is written back into a read-only argument is -EFAULT. */
static void test_register_write_back(void **state)
{
	struct io_uring *ring = fixture_ring(state);

	assert_int_equal(reg(ring, IORING_REGISTER_PROBE, ro_page, 4), -EFAULT);
	assert_int_equal(reg(ring, IORING_REGISTER_IOWQ_MAX_WORKERS, ro_page, 2),
			 -EFAULT);
	test_buf_ring(ring, 1, 0);	/* the group ro_page's zeroes name */
	assert_int_equal(reg(ring, REGISTER_PBUF_STATUS, ro_page, 1), -EFAULT);
}

/* The arrays the structures point at. */
static void test_register_file_arrays(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct io_uring_rsrc_register rr;
	struct io_uring_rsrc_update2 up;

	for (int i = 1; i < NR_BAD; i++) {
		memset(&rr, 0, sizeof(rr));
		rr.nr = 2;
		rr.data = (unsigned long) bad[i];
		assert_int_equal(reg(ring, IORING_REGISTER_FILES2, &rr, sizeof(rr)),
				 -EFAULT);
		rr.data = 0;
		rr.flags = IORING_RSRC_REGISTER_SPARSE;
		rr.tags = (unsigned long) bad[i];
		assert_int_equal(reg(ring, IORING_REGISTER_FILES2, &rr, sizeof(rr)),
				 -EFAULT);
	}
	assert_int_equal(io_uring_register_files_sparse(ring, 2), 0);
	for (int i = 0; i < NR_BAD; i++) {
		memset(&up, 0, sizeof(up));
		up.nr = 1;
		up.data = (unsigned long) bad[i];
		assert_int_equal(reg(ring, IORING_REGISTER_FILES_UPDATE2, &up,
				     sizeof(up)), -EFAULT);
		if (!bad[i])
			continue;	/* no tags */
		up.data = (unsigned long) ro_page;	/* fd 0 */
		up.tags = (unsigned long) bad[i];
		assert_int_equal(reg(ring, IORING_REGISTER_FILES_UPDATE2, &up,
				     sizeof(up)), -EFAULT);
	}
}

/* Arrays that run into an unreadable page: an update uses the entries
 * before it, a registration fails whole. */
static void test_register_file_arrays_in_part(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	int *end = bad[2], fds[200];
	struct io_uring_rsrc_update2 up;
	__u64 tags[200];

	for (int i = 0; i < 200; i++) {
		fds[i] = i % 3 ? -1 : 0;
		tags[i] = i % 3 ? 0 : (__u64) i + 1;
	}
	assert_int_equal(io_uring_register_files_tags(ring, fds, tags, 200), 0);
	memcpy(end - 100, fds, 100 * sizeof(int));
	memset(&up, 0, sizeof(up));
	up.nr = 101;
	up.data = (unsigned long) (end - 100);
	assert_int_equal(reg(ring, IORING_REGISTER_FILES_UPDATE2, &up,
			     sizeof(up)), 100);
	assert_int_equal(io_uring_unregister_files(ring), 0);
	assert_int_equal(io_uring_register_files(ring, end - 100, 200), -EFAULT);
}

/* ---- io_uring_setup ---- */

static void test_setup_params(void **state)
{
	int fds = count_open_fds();

	(void) state;
	for (int i = 0; i < NR_BAD; i++)
		assert_int_equal(io_uring_setup(4, bad[i]), -EFAULT);
	/* Read, but not written back: no ring is left behind. */
	assert_int_equal(io_uring_setup(4, (void *) ro_page), -EFAULT);
	assert_int_equal(count_open_fds(), fds);
}

/* ---- the two runs ---- */

#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

static int run_group(void)
{
	const struct CMUnitTest tests[] = {
		T(test_timeout_timespec),
		T(test_link_timeout_timespec),
		T(test_timeout_update_timespec),
		T(test_epoll_ctl_event),
		T(test_connect_bind_sendto_address),
		T(test_openat_path),
		T(test_openat_path_at_page_end),
		T(test_openat2_how),
		T(test_files_update_array),
		T(test_msghdr),
		T(test_msghdr_iovecs),
		T(test_iovecs),
		T(test_too_many_iovecs),
		T(test_iovecs_in_chain),
		T(test_recvmsg_multishot_header_unwritable),
		T(test_enter_ext_arg),
		T(test_enter_timespec_and_sigmask),
		T(test_register_args),
		T(test_register_write_back),
		T(test_register_file_arrays),
		T(test_register_file_arrays_in_part),
		cmocka_unit_test(test_setup_params),
	};

	return cmocka_run_group_tests(tests, map_pages, NULL);
}

int main(void)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return 1;
	if (pid == 0) {
		seccomp_deny_process_vm();
		exit(run_group() ? 1 : 0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		fprintf(stderr, "the run without process_vm_readv failed\n");
		return 1;
	}
	return run_group();
}
