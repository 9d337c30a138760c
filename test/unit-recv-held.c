/* SPDX-License-Identifier: MIT */
/*
 * A multishot receive holds its last CQE back until the next receive tells
 * whether data was left behind it. When that next receive meets a buffer at
 * address 0 (which a RECVMSG takes, and names in its -ENOBUFS), the held
 * CQE goes first, into overflow if the CQ filled up meanwhile, and the
 * -ENOBUFS naming the buffer is the last. The CQ is filled at that moment
 * by wrapping ua_kbuf_get (-Wl,--wrap=ua_kbuf_get, see the Makefile): other
 * threads' completions could do the same.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/socket.h>
#include "helpers.h"
#include "engine/ctx.h"

#define FILLER_UD	99

static bool fill_cq_at_null;

void *__real_ua_kbuf_get(struct ua_req *req, size_t *len,
			 struct ua_kbuf_sel *sel);
void *__wrap_ua_kbuf_get(struct ua_req *req, size_t *len,
			 struct ua_kbuf_sel *sel);

void *__wrap_ua_kbuf_get(struct ua_req *req, size_t *len,
			 struct ua_kbuf_sel *sel)
{
	void *buf = __real_ua_kbuf_get(req, len, sel);

	if (fill_cq_at_null && !buf && (req->cflags & IORING_CQE_F_BUFFER))
		while (ua_cq_room_now(req->ctx))
			ua_post_cqe(req->ctx, FILLER_UD, 0, 0);
	return buf;
}

static void provide(struct io_uring *ring, void *addr, int bid)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);
	struct test_cqe c;

	io_uring_prep_provide_buffers(sqe, addr, 64, 1, 7, bid);
	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(reap_one(ring, &c), 0);
	assert_int_equal(c.res, 0);
}

static void test_held_cqe_then_buffer_at_null(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct msghdr msg = { 0 };
	struct io_uring_sqe *sqe;
	unsigned char data[80];
	struct test_cqe c, got[2];
	char buf[64];
	int sv[2], n = 0;

	fill_pattern(data, sizeof(data), 0, 1);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[1], data, sizeof(data)), (int) sizeof(data));
	provide(ring, buf, 0);
	provide(ring, NULL, 3);
	sqe = must_get_sqe(ring);
	io_uring_prep_recvmsg(sqe, sv[0], &msg, 0);
	sqe->ioprio |= IORING_RECV_MULTISHOT;
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = 7;
	sqe->user_data = 1;
	fill_cq_at_null = true;
	assert_int_equal(io_uring_submit(ring), 1);
	fill_cq_at_null = false;
	for (;;) {
		assert_int_equal(reap_one(ring, &c), 0);
		if (c.user_data == FILLER_UD)
			continue;
		assert_int_equal(c.user_data, 1);
		assert_true(n < 2);
		got[n++] = c;
		if (!(c.flags & IORING_CQE_F_MORE))
			break;
	}
	assert_true(cq_is_empty(ring));
	/* The full buffer's CQE, held, then the one naming the buffer at 0. */
	assert_int_equal(n, 2);
	assert_int_equal(got[0].res, 64);
	assert_int_equal(got[0].flags & ~IORING_CQE_F_SOCK_NONEMPTY,
			 IORING_CQE_F_BUFFER | IORING_CQE_F_MORE);
	assert_int_equal(got[1].res, -ENOBUFS);
	assert_int_equal(got[1].flags,
			 IORING_CQE_F_BUFFER | 3u << IORING_CQE_BUFFER_SHIFT);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_held_cqe_then_buffer_at_null,
						fixture_setup, fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
