/* SPDX-License-Identifier: MIT */
/*
 * Threads (this program is also run under ThreadSanitizer): several threads
 * each driving their own ring; one ring whose reads wait on pipes another
 * thread writes; and one ring whose SQ side and CQ side are driven by two
 * different threads, as liburing allows.
 *
 * cmocka's assertions are not thread-safe, so worker threads record the
 * first failing line and the main thread asserts on it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include "helpers.h"

#define CHECK(w, cond)						\
	do {							\
		if (!(cond)) {					\
			(w)->failed_line = __LINE__;		\
			goto out;				\
		}						\
	} while (0)

#define NR_THREADS	4
#define ITERATIONS	300
#define FILE_LEN	(256 * 1024)

struct own_ring_worker {
	pthread_t thread;
	pthread_barrier_t *barrier;
	unsigned id;
	int fd;
	int failed_line;
};

static int reap(struct io_uring *ring, struct test_cqe *c)
{
	return reap_one(ring, c);
}

static void *own_ring_loop(void *arg)
{
	struct own_ring_worker *w = arg;
	struct io_uring ring;
	char buf[512];
	int ring_ok = 0;

	ring_ok = io_uring_queue_init(8, &ring, 0) == 0;
	/* All rings exist at once: the threads really run side by side. */
	pthread_barrier_wait(w->barrier);
	CHECK(w, ring_ok);
	for (unsigned i = 0; i < ITERATIONS; i++) {
		unsigned long long off = ((unsigned long long) i * 4099 + w->id * 977)
					 % (FILE_LEN - sizeof(buf));
		__u64 nop_ud = ((__u64) w->id << 32) | (2 * i);
		__u64 read_ud = nop_ud + 1;
		struct io_uring_sqe *sqe;
		int got_nop = 0, got_read = 0;

		sqe = io_uring_get_sqe(&ring);
		CHECK(w, sqe != NULL);
		io_uring_prep_nop(sqe);
		sqe->user_data = nop_ud;
		sqe = io_uring_get_sqe(&ring);
		CHECK(w, sqe != NULL);
		io_uring_prep_read(sqe, w->fd, buf, sizeof(buf), off);
		sqe->user_data = read_ud;
		CHECK(w, io_uring_submit(&ring) == 2);
		for (int n = 0; n < 2; n++) {
			struct test_cqe c;

			CHECK(w, reap(&ring, &c) == 0);
			if (c.user_data == nop_ud) {
				CHECK(w, !got_nop && c.res == 0);
				got_nop = 1;
			} else {
				CHECK(w, c.user_data == read_ud && !got_read);
				CHECK(w, c.res == (int) sizeof(buf));
				got_read = 1;
			}
		}
		CHECK(w, check_pattern(buf, sizeof(buf), off, 6));
		CHECK(w, io_uring_cq_ready(&ring) == 0);
	}
out:
	pthread_barrier_wait(w->barrier);
	if (ring_ok)
		io_uring_queue_exit(&ring);
	return NULL;
}

static void test_threads_with_own_rings(void **state)
{
	struct fixture *f = *state;
	struct own_ring_worker w[NR_THREADS];
	pthread_barrier_t barrier;
	int fd = make_pattern_file(f->dir, "f", FILE_LEN, 6, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pthread_barrier_init(&barrier, NULL, NR_THREADS), 0);
	for (unsigned i = 0; i < NR_THREADS; i++) {
		w[i].barrier = &barrier;
		w[i].id = i;
		w[i].fd = fd;
		w[i].failed_line = 0;
		assert_int_equal(pthread_create(&w[i].thread, NULL, own_ring_loop,
						 &w[i]), 0);
	}
	for (unsigned i = 0; i < NR_THREADS; i++) {
		assert_int_equal(pthread_join(w[i].thread, NULL), 0);
		assert_int_equal(w[i].failed_line, 0);
	}
	pthread_barrier_destroy(&barrier);
	close(fd);
}

#define NR_PIPES	8
#define ROUNDS		50

struct pipe_writer {
	int fds[NR_PIPES];
	pthread_barrier_t *barrier;
	int failed_line;
};

static void *pipe_writer_loop(void *arg)
{
	struct pipe_writer *w = arg;

	for (unsigned r = 0; r < ROUNDS; r++) {
		/* Wait until the reads of this round are submitted. */
		pthread_barrier_wait(w->barrier);
		for (unsigned k = 0; k < NR_PIPES; k++) {
			unsigned j = (k * 3 + r) % NR_PIPES;
			char msg[32];
			int len = snprintf(msg, sizeof(msg), "r%u-p%u", r, j);

			/* On failure keep going: the barrier needs us. */
			if (write(w->fds[j], msg, (size_t) len) != len)
				w->failed_line = __LINE__;
		}
	}
	return NULL;
}

static void test_reads_completed_by_writer_thread(void **state)
{
	struct fixture *f = *state;
	int p[NR_PIPES][2];
	char bufs[NR_PIPES][32];
	pthread_barrier_t barrier;
	struct pipe_writer w = { .barrier = &barrier };
	pthread_t t;

	assert_int_equal(pthread_barrier_init(&barrier, NULL, 2), 0);
	for (unsigned j = 0; j < NR_PIPES; j++) {
		assert_int_equal(pipe(p[j]), 0);
		w.fds[j] = p[j][1];
	}
	assert_int_equal(pthread_create(&t, NULL, pipe_writer_loop, &w), 0);
	for (unsigned r = 0; r < ROUNDS; r++) {
		unsigned char seen[NR_PIPES] = { 0 };

		memset(bufs, 0, sizeof(bufs));
		for (unsigned j = 0; j < NR_PIPES; j++) {
			struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

			io_uring_prep_read(sqe, p[j][0], bufs[j], sizeof(bufs[j]), 0);
			sqe->user_data = j;
		}
		assert_int_equal(io_uring_submit(&f->ring), NR_PIPES);
		pthread_barrier_wait(&barrier);
		for (unsigned n = 0; n < NR_PIPES; n++) {
			struct test_cqe c;
			char want[32];
			int len;

			assert_int_equal(reap(&f->ring, &c), 0);
			assert_true(c.user_data < NR_PIPES);
			assert_int_equal(seen[c.user_data], 0);
			seen[c.user_data] = 1;
			len = snprintf(want, sizeof(want), "r%u-p%u", r,
				       (unsigned) c.user_data);
			assert_int_equal(c.res, len);
			assert_memory_equal(bufs[c.user_data], want, (size_t) len);
		}
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(w.failed_line, 0);
	pthread_barrier_destroy(&barrier);
	for (unsigned j = 0; j < NR_PIPES; j++) {
		close(p[j][0]);
		close(p[j][1]);
	}
}

#define SPLIT_NOPS	5000

struct submitter {
	struct io_uring *ring;
	int failed_line;
};

/* Only touches the SQ side of the ring. */
static void *submit_loop(void *arg)
{
	struct submitter *s = arg;
	unsigned queued = 0;

	while (queued < SPLIT_NOPS) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(s->ring);

		if (sqe) {
			io_uring_prep_nop(sqe);
			sqe->user_data = queued++;
			if (queued < SPLIT_NOPS && (queued % 5))
				continue;
		}
		CHECK(s, io_uring_submit(s->ring) >= 0);
	}
	CHECK(s, io_uring_submit(s->ring) >= 0);
	CHECK(s, io_uring_sq_ready(s->ring) == 0);
out:
	return NULL;
}

static void test_split_submitter_and_reaper_threads(void **state)
{
	struct fixture *f = *state;
	struct submitter s = { .ring = &f->ring };
	static unsigned char seen[SPLIT_NOPS];
	pthread_t t;

	memset(seen, 0, sizeof(seen));
	assert_int_equal(pthread_create(&t, NULL, submit_loop, &s), 0);
	for (unsigned n = 0; n < SPLIT_NOPS; n++) {
		struct test_cqe c;

		assert_int_equal(reap(&f->ring, &c), 0);
		assert_true(c.user_data < SPLIT_NOPS);
		assert_int_equal(seen[c.user_data], 0);
		seen[c.user_data] = 1;
		assert_int_equal(c.res, 0);
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(s.failed_line, 0);
	assert_true(cq_is_empty(&f->ring));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_threads_with_own_rings),
		T(test_reads_completed_by_writer_thread),
		T(test_split_submitter_and_reaper_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
