/* SPDX-License-Identifier: MIT */
/* Direct descriptors from SOCKET and ACCEPT: created straight into the
 * fixed-file table and used through IOSQE_FIXED_FILE. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "helpers.h"

static int setup(void **state)
{
	return fixture_setup_ring(state, 8, 0);
}

static int teardown(void **state)
{
	return fixture_teardown(state);
}

static int run(struct io_uring *ring)
{
	struct io_uring_cqe *cqe;
	int res;

	assert_int_equal(io_uring_submit_and_wait(ring, 1), 1);
	assert_int_equal(io_uring_peek_cqe(ring, &cqe), 0);
	res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return res;
}

static void test_socket_direct(void **state)
{
	struct fixture *f = *state;
	int before = count_open_fds();

	/* No table: the kernel refuses, and no descriptor is left behind. */
	io_uring_prep_socket_direct(io_uring_get_sqe(&f->ring), AF_INET,
				    SOCK_STREAM, 0, 0, 0);
	assert_int_equal(run(&f->ring), -ENXIO);
	assert_int_equal(count_open_fds(), before);
	assert_int_equal(io_uring_register_files_sparse(&f->ring, 4), 0);
	io_uring_prep_socket_direct(io_uring_get_sqe(&f->ring), AF_INET,
				    SOCK_STREAM, 0, 2, 0);
	assert_int_equal(run(&f->ring), 0);
	/* Allocation resumes after the slot last installed, as the kernel's. */
	io_uring_prep_socket_direct_alloc(io_uring_get_sqe(&f->ring), AF_INET,
					  SOCK_STREAM, 0, 0);
	assert_int_equal(run(&f->ring), 3);
	/* SOCK_CLOEXEC makes no sense for a direct descriptor. */
	io_uring_prep_socket_direct(io_uring_get_sqe(&f->ring), AF_INET,
				    SOCK_STREAM | SOCK_CLOEXEC, 0, 1, 0);
	assert_int_equal(run(&f->ring), -EINVAL);
}

/* A connection accepted into slot 1 is read through IOSQE_FIXED_FILE. */
static void test_accept_direct_then_recv_fixed(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	struct io_uring_sqe *sqe;
	int lfd, cfd;
	char buf[8] = { 0 };

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *) &sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *) &sa, &len), 0);
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(cfd, (struct sockaddr *) &sa, sizeof(sa)), 0);
	assert_int_equal(io_uring_register_files_sparse(&f->ring, 4), 0);

	io_uring_prep_accept_direct(io_uring_get_sqe(&f->ring), lfd, NULL,
				    NULL, 0, 1);
	assert_int_equal(run(&f->ring), 0);
	assert_int_equal(write(cfd, "ping", 4), 4);
	sqe = io_uring_get_sqe(&f->ring);
	io_uring_prep_recv(sqe, 1, buf, sizeof(buf), 0);
	sqe->flags |= IOSQE_FIXED_FILE;
	assert_int_equal(run(&f->ring), 4);
	assert_memory_equal(buf, "ping", 4);

	/* With IORING_FILE_INDEX_ALLOC the CQE names the slot taken. */
	close(cfd);
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(cfd, (struct sockaddr *) &sa, sizeof(sa)), 0);
	sqe = io_uring_get_sqe(&f->ring);
	io_uring_prep_accept(sqe, lfd, NULL, NULL, 0);
	sqe->file_index = IORING_FILE_INDEX_ALLOC;	/* 2.3's helper can't say it */
	assert_int_equal(run(&f->ring), 2);	/* after slot 1, last installed */
	close(cfd);
	close(lfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_socket_direct, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accept_direct_then_recv_fixed,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
