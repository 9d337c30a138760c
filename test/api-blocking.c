/* SPDX-License-Identifier: MIT */
/*
 * Work that cannot finish at submission: reads on empty pipes and writes to
 * full ones complete later, when another thread supplies data or room, and
 * never hold up other requests on the ring.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include "helpers.h"

#define NR_PIPES 64

static int big_setup(void **state)
{
	return fixture_setup_ring(state, NR_PIPES, 0);
}

struct writer {
	int fds[NR_PIPES];
	unsigned n;
	long delay_ms;
	int close_instead;	/* close the fds instead of writing */
};

/* Writes "msg-<i>" to fds[i], last pipe first, after a delay. */
static void *writer_thread(void *arg)
{
	struct writer *w = arg;

	sleep_ms(w->delay_ms);
	for (unsigned k = w->n; k-- > 0;) {
		char msg[16];
		int len = snprintf(msg, sizeof(msg), "msg-%u", k);

		if (w->close_instead) {
			close(w->fds[k]);
			continue;
		}
		if (write(w->fds[k], msg, (size_t) len) != len)
			abort();
		if (w->delay_ms)
			sleep_ms(1);
	}
	return NULL;
}

static void make_pipes(int (*p)[2], unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(pipe(p[i]), 0);
}

static void close_pipes(int (*p)[2], unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		close(p[i][0]);
		close(p[i][1]);
	}
}

static void test_read_on_empty_pipe_completes_when_written(void **state)
{
	struct fixture *f = *state;
	int p[1][2];
	char buf[32] = { 0 };
	struct writer w = { .n = 1, .delay_ms = 30 };
	struct io_uring_sqe *sqe;
	struct test_cqe c;
	pthread_t t;

	make_pipes(p, 1);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_read(sqe, p[0][0], buf, sizeof(buf), 0);
	sqe->user_data = 1;
	assert_int_equal(io_uring_submit(&f->ring), 1);
	/* Nothing to read yet: no completion. */
	assert_true(cq_is_empty(&f->ring));

	w.fds[0] = p[0][1];
	assert_int_equal(pthread_create(&t, NULL, writer_thread, &w), 0);
	assert_int_equal(reap_one(&f->ring, &c), 0);
	assert_int_equal(c.user_data, 1);
	assert_int_equal(c.res, 5);
	assert_memory_equal(buf, "msg-0", 5);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(cq_is_empty(&f->ring));
	close_pipes(p, 1);
}

static void test_readv_on_empty_pipe_completes_when_written(void **state)
{
	struct fixture *f = *state;
	int p[1][2];
	char a[2] = { 0 }, b[30] = { 0 };
	struct iovec iov[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
	struct writer w = { .n = 1, .delay_ms = 30 };
	struct io_uring_sqe *sqe;
	struct test_cqe c;
	pthread_t t;

	make_pipes(p, 1);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_readv(sqe, p[0][0], iov, 2, 0);
	sqe->user_data = 2;
	assert_int_equal(io_uring_submit(&f->ring), 1);
	assert_true(cq_is_empty(&f->ring));

	w.fds[0] = p[0][1];
	assert_int_equal(pthread_create(&t, NULL, writer_thread, &w), 0);
	assert_int_equal(reap_one(&f->ring, &c), 0);
	assert_int_equal(c.user_data, 2);
	assert_int_equal(c.res, 5);
	assert_memory_equal(a, "ms", 2);
	assert_memory_equal(b, "g-0", 3);
	assert_int_equal(pthread_join(t, NULL), 0);
	close_pipes(p, 1);
}

/* Many blocked reads at once: each completes with its own pipe's data. */
static void test_many_blocked_reads_complete_independently(void **state)
{
	struct fixture *f = *state;
	static int p[NR_PIPES][2];
	static char bufs[NR_PIPES][32];
	unsigned char seen[NR_PIPES] = { 0 };
	struct writer w = { .n = NR_PIPES, .delay_ms = 20 };
	pthread_t t;

	make_pipes(p, NR_PIPES);
	memset(bufs, 0, sizeof(bufs));
	for (unsigned i = 0; i < NR_PIPES; i++) {
		struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

		io_uring_prep_read(sqe, p[i][0], bufs[i], sizeof(bufs[i]), 0);
		sqe->user_data = i;
		w.fds[i] = p[i][1];
	}
	assert_int_equal(io_uring_submit(&f->ring), NR_PIPES);
	assert_true(cq_is_empty(&f->ring));
	assert_int_equal(pthread_create(&t, NULL, writer_thread, &w), 0);
	for (unsigned n = 0; n < NR_PIPES; n++) {
		struct test_cqe c;
		char want[16];
		int len;

		assert_int_equal(reap_one(&f->ring, &c), 0);
		assert_true(c.user_data < NR_PIPES);
		assert_int_equal(seen[c.user_data], 0);
		seen[c.user_data] = 1;
		len = snprintf(want, sizeof(want), "msg-%u", (unsigned) c.user_data);
		assert_int_equal(c.res, len);
		assert_memory_equal(bufs[c.user_data], want, (size_t) len);
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(cq_is_empty(&f->ring));
	close_pipes(p, NR_PIPES);
}

/* A blocked read does not hold up a NOP or a file read behind it. */
static void test_blocked_read_does_not_block_others(void **state)
{
	struct fixture *f = *state;
	int p[1][2];
	int fd = make_pattern_file(f->dir, "f", 4096, 2, O_RDONLY);
	char pbuf[16] = { 0 }, fbuf[100];
	struct io_uring_sqe *sqe;
	struct test_cqe c;
	unsigned char seen[3] = { 0 };

	assert_true(fd >= 0);
	make_pipes(p, 1);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_read(sqe, p[0][0], pbuf, sizeof(pbuf), 0);
	sqe->user_data = 0;
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_nop(sqe);
	sqe->user_data = 1;
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_read(sqe, fd, fbuf, sizeof(fbuf), 0);
	sqe->user_data = 2;
	assert_int_equal(io_uring_submit(&f->ring), 3);

	for (int i = 0; i < 2; i++) {
		assert_int_equal(reap_one(&f->ring, &c), 0);
		assert_true(c.user_data == 1 || c.user_data == 2);
		assert_int_equal(seen[c.user_data], 0);
		seen[c.user_data] = 1;
		assert_int_equal(c.res, c.user_data == 1 ? 0 : 100);
	}
	assert_true(check_pattern(fbuf, sizeof(fbuf), 0, 2));
	assert_true(cq_is_empty(&f->ring));

	assert_int_equal(write(p[0][1], "x", 1), 1);
	assert_int_equal(reap_one(&f->ring, &c), 0);
	assert_int_equal(c.user_data, 0);
	assert_int_equal(c.res, 1);
	assert_int_equal(pbuf[0], 'x');
	close_pipes(p, 1);
	close(fd);
}

static void test_read_on_pipe_returns_zero_when_writer_closes(void **state)
{
	struct fixture *f = *state;
	int p[2];
	char buf[16];
	struct writer w = { .n = 1, .delay_ms = 30, .close_instead = 1 };
	struct io_uring_sqe *sqe;
	struct test_cqe c;
	pthread_t t;

	assert_int_equal(pipe(p), 0);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_read(sqe, p[0], buf, sizeof(buf), 0);
	sqe->user_data = 3;
	assert_int_equal(io_uring_submit(&f->ring), 1);
	assert_true(cq_is_empty(&f->ring));
	w.fds[0] = p[1];
	assert_int_equal(pthread_create(&t, NULL, writer_thread, &w), 0);
	assert_int_equal(reap_one(&f->ring, &c), 0);
	assert_int_equal(c.user_data, 3);
	assert_int_equal(c.res, 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	close(p[0]);
}

struct drainer {
	int fd;
	size_t want;
	size_t got;
};

static void *drain_thread(void *arg)
{
	struct drainer *d = arg;
	char buf[4096];

	sleep_ms(30);
	while (d->got < d->want) {
		size_t n = d->want - d->got < sizeof(buf) ? d->want - d->got
							  : sizeof(buf);
		ssize_t r = read(d->fd, buf, n);

		if (r <= 0)
			abort();
		d->got += (size_t) r;
	}
	return NULL;
}

/* Fill the pipe; returns how many bytes it took. */
static size_t fill_pipe(int wfd)
{
	int fl = fcntl(wfd, F_GETFL);
	static char junk[4096];
	size_t total = 0;

	memset(junk, 'j', sizeof(junk));
	assert_int_equal(fcntl(wfd, F_SETFL, fl | O_NONBLOCK), 0);
	for (;;) {
		ssize_t w = write(wfd, junk, sizeof(junk));

		if (w < 0) {
			assert_int_equal(errno, EAGAIN);
			break;
		}
		total += (size_t) w;
	}
	assert_int_equal(fcntl(wfd, F_SETFL, fl), 0);
	return total;
}

static void test_write_to_full_pipe_completes_when_drained(void **state)
{
	struct fixture *f = *state;
	int p[2];
	struct drainer d;
	struct io_uring_sqe *sqe;
	struct test_cqe c;
	char tail[100];
	pthread_t t;

	assert_int_equal(pipe(p), 0);
	d.fd = p[0];
	d.want = fill_pipe(p[1]);
	d.got = 0;
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_write(sqe, p[1], "0123456789", 10, 0);
	sqe->user_data = 4;
	assert_int_equal(io_uring_submit(&f->ring), 1);
	assert_true(cq_is_empty(&f->ring));

	assert_int_equal(pthread_create(&t, NULL, drain_thread, &d), 0);
	assert_int_equal(reap_one(&f->ring, &c), 0);
	assert_int_equal(c.user_data, 4);
	assert_int_equal(c.res, 10);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(read(p[0], tail, sizeof(tail)), 10);
	assert_memory_equal(tail, "0123456789", 10);
	close(p[0]);
	close(p[1]);
}

/* IOSQE_ASYNC on a pipe read: still waits for data, still gets it. */
static void test_async_flagged_pipe_read_waits_for_data(void **state)
{
	struct fixture *f = *state;
	int p[1][2];
	char buf[32] = { 0 };
	struct writer w = { .n = 1, .delay_ms = 30 };
	struct io_uring_sqe *sqe;
	struct test_cqe c;
	pthread_t t;

	make_pipes(p, 1);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_read(sqe, p[0][0], buf, sizeof(buf), 0);
	io_uring_sqe_set_flags(sqe, IOSQE_ASYNC);
	sqe->user_data = 6;
	assert_int_equal(io_uring_submit(&f->ring), 1);
	w.fds[0] = p[0][1];
	assert_int_equal(pthread_create(&t, NULL, writer_thread, &w), 0);
	assert_int_equal(reap_one(&f->ring, &c), 0);
	assert_int_equal(c.user_data, 6);
	assert_int_equal(c.res, 5);
	assert_memory_equal(buf, "msg-0", 5);
	assert_int_equal(pthread_join(t, NULL), 0);
	close_pipes(p, 1);
}

/* Reads queued one after another on one pipe get the data in order. */
static void test_sequential_reads_on_one_pipe(void **state)
{
	struct fixture *f = *state;
	int p[2];
	char buf[8];

	assert_int_equal(pipe(p), 0);
	for (int round = 0; round < 20; round++) {
		struct io_uring_sqe *sqe = must_get_sqe(&f->ring);
		struct test_cqe c;
		char want[16];

		io_uring_prep_read(sqe, p[0], buf, sizeof(buf), 0);
		sqe->user_data = (__u64) round;
		assert_int_equal(io_uring_submit(&f->ring), 1);
		snprintf(want, sizeof(want), "r%02d", round);
		assert_int_equal(write(p[1], want, 3), 3);
		assert_int_equal(reap_one(&f->ring, &c), 0);
		assert_int_equal(c.user_data, round);
		assert_int_equal(c.res, 3);
		assert_memory_equal(buf, want, 3);
	}
	close(p[0]);
	close(p[1]);
}

/*
 * Once submitted, a request no longer reads the SQE or its iovec array
 * (IORING_FEAT_SUBMIT_STABLE): both may be reused while it is in flight.
 */
static void test_iovec_and_sqe_reusable_while_read_blocked(void **state)
{
	struct fixture *f = *state;
	int p[1][2];
	char x[16] = { 0 }, y[16] = { 0 };
	struct iovec iov[1] = { { x, sizeof(x) } };
	struct writer w = { .n = 1, .delay_ms = 30 };
	struct io_uring_sqe *sqe;
	struct test_cqe c;
	pthread_t t;

	assert_true(f->ring.features & IORING_FEAT_SUBMIT_STABLE);
	make_pipes(p, 1);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_readv(sqe, p[0][0], iov, 1, 0);
	sqe->user_data = 7;
	assert_int_equal(io_uring_submit(&f->ring), 1);
	iov[0].iov_base = y;
	iov[0].iov_len = 1;
	memset(sqe, 0xff, sizeof(*sqe));

	w.fds[0] = p[0][1];
	assert_int_equal(pthread_create(&t, NULL, writer_thread, &w), 0);
	assert_int_equal(reap_one(&f->ring, &c), 0);
	assert_int_equal(c.user_data, 7);
	assert_int_equal(c.res, 5);
	assert_memory_equal(x, "msg-0", 5);
	assert_int_equal(y[0], 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	close_pipes(p, 1);
}

/*
 * A write bigger than the room in a pipe completes short, with what fit:
 * the kernel finishes partial writes only for regular files and block
 * devices, and returns them as they are for pipes and sockets.
 */
static void test_write_bigger_than_pipe_room_completes_short(void **state)
{
	struct fixture *f = *state;
	int p[2];
	int cap;
	size_t len;
	char *big;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts = { .tv_sec = 5 };
	int ret, res;

	assert_int_equal(pipe(p), 0);
	cap = fcntl(p[1], F_GETPIPE_SZ);
	assert_true(cap > 0);
	len = (size_t) cap * 4;
	big = malloc(len);
	assert_non_null(big);
	fill_pattern(big, len, 0, 5);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_write(sqe, p[1], big, (unsigned) len, 0);
	sqe->user_data = 8;
	assert_int_equal(io_uring_submit(&f->ring), 1);
	ret = io_uring_wait_cqe_timeout(&f->ring, &cqe, &ts);
	if (ret == -ETIME) {
		/* Drain to unblock a write left waiting for room, then fail. */
		assert_int_equal(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
		for (int i = 0; i < 1000 && io_uring_cq_ready(&f->ring) == 0; i++) {
			while (read(p[0], big, len) > 0)
				;
			sleep_ms(5);
		}
		fail_msg("write to the pipe waited for a reader instead of completing short");
	}
	assert_int_equal(ret, 0);
	assert_int_equal(cqe->user_data, 8);
	res = cqe->res;
	io_uring_cqe_seen(&f->ring, cqe);
	assert_int_equal(res, cap);
	{
		char *back = malloc((size_t) cap);

		assert_non_null(back);
		assert_int_equal(read(p[0], back, (size_t) cap), cap);
		assert_true(check_pattern(back, (size_t) cap, 0, 5));
		free(back);
	}
	free(big);
	close(p[0]);
	close(p[1]);
}

static void test_read_on_socket_completes_when_peer_writes(void **state)
{
	struct fixture *f = *state;
	int sv[2];
	char buf[32] = { 0 };
	struct writer w = { .n = 1, .delay_ms = 30 };
	struct io_uring_sqe *sqe;
	struct test_cqe c;
	pthread_t t;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_read(sqe, sv[0], buf, sizeof(buf), 0);
	sqe->user_data = 9;
	assert_int_equal(io_uring_submit(&f->ring), 1);
	assert_true(cq_is_empty(&f->ring));
	w.fds[0] = sv[1];
	assert_int_equal(pthread_create(&t, NULL, writer_thread, &w), 0);
	assert_int_equal(reap_one(&f->ring, &c), 0);
	assert_int_equal(c.user_data, 9);
	assert_int_equal(c.res, 5);
	assert_memory_equal(buf, "msg-0", 5);
	assert_int_equal(pthread_join(t, NULL), 0);
	close(sv[0]);
	close(sv[1]);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_read_on_empty_pipe_completes_when_written),
		T(test_readv_on_empty_pipe_completes_when_written),
		cmocka_unit_test_setup_teardown(test_many_blocked_reads_complete_independently,
						big_setup, fixture_teardown),
		T(test_blocked_read_does_not_block_others),
		T(test_read_on_pipe_returns_zero_when_writer_closes),
		T(test_write_to_full_pipe_completes_when_drained),
		T(test_async_flagged_pipe_read_waits_for_data),
		T(test_sequential_reads_on_one_pipe),
		T(test_iovec_and_sqe_reusable_while_read_blocked),
		T(test_write_bigger_than_pipe_room_completes_short),
		T(test_read_on_socket_completes_when_peer_writes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
