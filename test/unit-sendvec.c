/* SPDX-License-Identifier: MIT */
/*
 * A vectorized SEND (IORING_SEND_VECTORIZED) of a few iovecs keeps its
 * copy of them in the request: steady state allocates nothing per send.
 * malloc is wrapped (-Wl,--wrap=malloc, see the Makefile) to count the
 * engine's calls.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include "helpers.h"

static unsigned long nr_mallocs;

void *__real_malloc(size_t size);
void *__wrap_malloc(size_t size);

void *__wrap_malloc(size_t size)
{
	__atomic_add_fetch(&nr_mallocs, 1, __ATOMIC_RELAXED);
	return __real_malloc(size);
}

#define BATCH		8
#define ROUNDS		4

/* BATCH vectorized sends of "ab" "cde" "f" on fd, all reaped; the peer
 * gets them in order. */
static void send_batch(struct io_uring *ring, int fd, int peer)
{
	static char a[] = "ab", c[] = "cde", f[] = "f";
	const struct iovec iov[3] = { { a, 2 }, { c, 3 }, { f, 1 } };
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	char got[6 * BATCH];
	unsigned i;

	for (i = 0; i < BATCH; i++) {
		sqe = must_get_sqe(ring);
		io_uring_prep_send(sqe, fd, iov, 3, 0);
		sqe->ioprio |= IORING_SEND_VECTORIZED;
	}
	assert_int_equal(io_uring_submit_and_wait(ring, BATCH), BATCH);
	for (i = 0; i < BATCH; i++) {
		assert_int_equal(io_uring_wait_cqe(ring, &cqe), 0);
		assert_int_equal(cqe->res, 6);
		io_uring_cqe_seen(ring, cqe);
	}
	assert_int_equal(recv(peer, got, sizeof(got), MSG_WAITALL),
			 sizeof(got));
	for (i = 0; i < BATCH; i++)
		assert_memory_equal(got + 6 * i, "abcdef", 6);
}

static void test_short_vectorized_send_allocates_nothing(void **state)
{
	struct io_uring ring;
	unsigned long before;
	int sv[2], round;

	(void) state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(io_uring_queue_init(2 * BATCH, &ring, 0), 0);
	/* Warm up: the request cache exists. */
	send_batch(&ring, sv[0], sv[1]);

	before = __atomic_load_n(&nr_mallocs, __ATOMIC_RELAXED);
	for (round = 0; round < ROUNDS; round++)
		send_batch(&ring, sv[0], sv[1]);
	assert_int_equal(__atomic_load_n(&nr_mallocs, __ATOMIC_RELAXED),
			 before);
	io_uring_queue_exit(&ring);
	close(sv[0]);
	close(sv[1]);
}

/*
 * A short vectorized SEND with MSG_WAITALL that finds the socket full
 * waits for room with its iovecs where they are, and sends all of them,
 * in order, once the peer reads.
 */
static void test_short_vectorized_send_waits_for_room(void **state)
{
	static char a[4096], b[4096], c[4096];
	const struct iovec iov[3] = { { a, sizeof(a) }, { b, sizeof(b) },
				      { c, sizeof(c) } };
	char filler[4096], got[sizeof(a) + sizeof(b) + sizeof(c)];
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	size_t queued = 0, n;
	ssize_t r;
	int sv[2];

	(void) state;
	fill_pattern(a, sizeof(a), 0, 1);
	fill_pattern(b, sizeof(b), sizeof(a), 1);
	fill_pattern(c, sizeof(c), sizeof(a) + sizeof(b), 1);
	memset(filler, 'x', sizeof(filler));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	while ((r = send(sv[0], filler, sizeof(filler), MSG_DONTWAIT)) > 0)
		queued += (size_t) r;
	assert_int_equal(io_uring_queue_init(4, &ring, 0), 0);
	sqe = must_get_sqe(&ring);
	io_uring_prep_send(sqe, sv[0], iov, 3, MSG_WAITALL);
	sqe->ioprio |= IORING_SEND_VECTORIZED;
	assert_int_equal(io_uring_submit(&ring), 1);

	while (queued) {
		n = queued < sizeof(filler) ? queued : sizeof(filler);
		r = recv(sv[1], filler, n, 0);
		assert_true(r > 0);
		queued -= (size_t) r;
	}
	assert_int_equal(recv(sv[1], got, sizeof(got), MSG_WAITALL),
			 sizeof(got));
	assert_true(check_pattern(got, sizeof(got), 0, 1));
	assert_int_equal(io_uring_wait_cqe(&ring, &cqe), 0);
	assert_int_equal(cqe->res, sizeof(got));
	io_uring_cqe_seen(&ring, cqe);
	io_uring_queue_exit(&ring);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_short_vectorized_send_allocates_nothing),
		cmocka_unit_test(test_short_vectorized_send_waits_for_room),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
