/* SPDX-License-Identifier: MIT */
/*
 * Engine unit tests: properties the public API cannot see. The engine's
 * state is reached through its own lookup from the ring descriptor.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/resource.h>
#include "helpers.h"
#include "engine/ctx.h"

static unsigned count_slabs(struct ua_ctx *ctx)
{
	struct ua_req_slab *s;
	unsigned n = 0;

	for (s = ctx->slabs; s; s = s->next)
		n++;
	return n;
}

static void submit_nops(struct io_uring *ring, unsigned nr)
{
	struct io_uring_cqe *cqe;
	unsigned i;

	for (i = 0; i < nr; i++) {
		io_uring_prep_nop(io_uring_get_sqe(ring));
		assert_int_equal(io_uring_submit_and_wait(ring, 1), 1);
		assert_int_equal(io_uring_peek_cqe(ring, &cqe), 0);
		io_uring_cqe_seen(ring, cqe);
	}
}

/* After warm-up, requests come from the cache: the slab count is flat. */
static void test_steady_state_allocates_nothing(void **state)
{
	struct io_uring ring;
	struct ua_ctx *ctx;
	unsigned slabs;

	(void) state;
	assert_int_equal(io_uring_queue_init(32, &ring, 0), 0);
	ctx = ua_ctx_lookup(ring.ring_fd);
	assert_non_null(ctx);
	submit_nops(&ring, 100);
	slabs = count_slabs(ctx);
	submit_nops(&ring, 100000);
	assert_int_equal(count_slabs(ctx), slabs);
	io_uring_queue_exit(&ring);
}

/* NOPs and page-cache reads never start a worker thread. */
static void test_cached_io_stays_inline(void **state)
{
	char dir[PATH_MAX], buf[4096];
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	struct ua_ctx *ctx;
	int fd, i;

	(void) state;
	assert_int_equal(make_tmpdir(dir), 0);
	fd = make_pattern_file(dir, "f", 1 << 20, 3, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, sizeof(buf), 0), sizeof(buf));
	assert_int_equal(io_uring_queue_init(8, &ring, 0), 0);
	ctx = ua_ctx_lookup(ring.ring_fd);
	submit_nops(&ring, 1000);
	for (i = 0; i < 1000; i++) {
		io_uring_prep_read(io_uring_get_sqe(&ring), fd, buf,
				   sizeof(buf), (i % 256) * 4096ULL);
		assert_int_equal(io_uring_submit_and_wait(&ring, 1), 1);
		assert_int_equal(io_uring_peek_cqe(&ring, &cqe), 0);
		assert_int_equal(cqe->res, sizeof(buf));
		io_uring_cqe_seen(&ring, cqe);
	}
	assert_null(ctx->wq.workers);
	io_uring_queue_exit(&ring);
	close(fd);
	remove_tmpdir(dir);
}

/* Threads that may run work of a ring: all but the RCU callback helper,
 * which comes and goes with other rings' teardown. */
static int count_threads_but_rcu_helper(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		char path[PATH_MAX], comm[32] = "";
		FILE *fp;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%.32s/comm",
			 de->d_name);
		fp = fopen(path, "r");
		if (!fp)
			continue;	/* exited meanwhile */
		if (!fgets(comm, sizeof(comm), fp) ||
		    strncmp(comm, "ua-rcu-cb", 9))
			n++;
		fclose(fp);
	}
	closedir(d);
	return n;
}

/* Positional buffered writes (here 64 KiB, new blocks) complete in the
 * submitter, whether or not the filesystem takes RWF_NOWAIT writes: no
 * worker thread, no handoff. */
static void test_buffered_writes_stay_inline(void **state)
{
	static char buf[65536];
	char dir[PATH_MAX], path[PATH_MAX + 8];
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	int fd, i, threads;

	(void) state;
	memset(buf, 'w', sizeof(buf));
	assert_int_equal(make_tmpdir(dir), 0);
	snprintf(path, sizeof(path), "%s/w", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(io_uring_queue_init(8, &ring, 0), 0);
	threads = count_threads_but_rcu_helper();
	for (i = 0; i < 256; i++) {
		io_uring_prep_write(io_uring_get_sqe(&ring), fd, buf,
				    sizeof(buf), (i % 64) * 65536ULL);
		assert_int_equal(io_uring_submit_and_wait(&ring, 1), 1);
		assert_int_equal(io_uring_peek_cqe(&ring, &cqe), 0);
		assert_int_equal(cqe->res, sizeof(buf));
		io_uring_cqe_seen(&ring, cqe);
	}
	/* A worker, once started, idles in the pool for seconds; a service
	 * thread of an earlier test may have gone meanwhile. */
	assert_true(count_threads_but_rcu_helper() <= threads);
	io_uring_queue_exit(&ring);
	close(fd);
	remove_tmpdir(dir);
}

/* The number of a file written blocking inline, closed and reused for a
 * full pipe: a write to it waits for room without holding the submitter. */
static void test_reused_number_of_inline_written_file(void **state)
{
	char dir[PATH_MAX], buf[4096], path[PATH_MAX + 8];
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	int fd, p[2], flags;
	size_t filled = 0;
	ssize_t n;

	(void) state;
	memset(buf, 'w', sizeof(buf));
	assert_int_equal(make_tmpdir(dir), 0);
	snprintf(path, sizeof(path), "%s/w", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(io_uring_queue_init(8, &ring, 0), 0);
	for (int i = 0; i < 4; i++) {
		io_uring_prep_write(io_uring_get_sqe(&ring), fd, buf,
				    sizeof(buf), 0);
		assert_int_equal(io_uring_submit_and_wait(&ring, 1), 1);
		assert_int_equal(io_uring_peek_cqe(&ring, &cqe), 0);
		assert_int_equal(cqe->res, sizeof(buf));
		io_uring_cqe_seen(&ring, cqe);
	}
	assert_int_equal(pipe(p), 0);
	assert_int_equal(dup2(p[1], fd), fd);	/* closes the file */
	remove_tmpdir(dir);
	close(p[1]);
	flags = fcntl(fd, F_GETFL);
	assert_int_equal(fcntl(fd, F_SETFL, flags | O_NONBLOCK), 0);
	while ((n = write(fd, buf, sizeof(buf))) > 0)
		filled += (size_t) n;
	assert_int_equal(fcntl(fd, F_SETFL, flags), 0);

	io_uring_prep_write(io_uring_get_sqe(&ring), fd, buf, sizeof(buf), 0);
	assert_int_equal(io_uring_submit(&ring), 1);
	assert_int_equal(io_uring_peek_cqe(&ring, &cqe), -EAGAIN);
	/* Only what the test wrote: the pipe's one writer besides the
	 * worker is this thread, so a read past it could wait forever. */
	while (filled > 0) {
		n = read(p[0], buf, filled < sizeof(buf) ? filled : sizeof(buf));
		assert_true(n > 0);
		filled -= (size_t) n;
	}
	assert_int_equal(io_uring_wait_cqe(&ring, &cqe), 0);
	assert_int_equal(cqe->res, sizeof(buf));
	io_uring_cqe_seen(&ring, cqe);
	assert_int_equal(read(p[0], buf, sizeof(buf)), sizeof(buf));
	io_uring_queue_exit(&ring);
	close(fd);
	close(p[0]);
}

/* A tail far past the head is capped at the ring size: no overrun, no loop. */
static void test_corrupt_sq_tail_is_bounded(void **state)
{
	struct io_uring ring;
	unsigned head;
	int ret;

	(void) state;
	assert_int_equal(io_uring_queue_init(8, &ring, 0), 0);
	memset(ring.sq.sqes, 0, 8 * sizeof(struct io_uring_sqe));
	head = *ring.sq.khead;
	io_uring_smp_store_release(ring.sq.ktail, head + 1000000);
	ret = io_uring_enter(ring.ring_fd, 1000000, 0, 0, NULL);
	assert_int_equal(ret, 8);
	assert_int_equal(*ring.sq.khead, head + 8);
	io_uring_queue_exit(&ring);
}

/* A CQ head moved past the tail reads as "full": CQEs overflow, none is
 * written over, and they all arrive once the head is sane again. */
static void test_corrupt_cq_head_is_treated_as_full(void **state)
{
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	unsigned head, i;

	(void) state;
	assert_int_equal(io_uring_queue_init(4, &ring, 0), 0);
	head = *ring.cq.khead;
	io_uring_smp_store_release(ring.cq.khead, head + 100);
	for (i = 0; i < 4; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		io_uring_prep_nop(sqe);
		sqe->user_data = i;
	}
	assert_int_equal(io_uring_submit(&ring), 4);
	assert_int_equal(*ring.cq.ktail, head);
	assert_true(io_uring_cq_has_overflow(&ring));
	io_uring_smp_store_release(ring.cq.khead, head);
	for (i = 0; i < 4; i++) {
		assert_int_equal(io_uring_wait_cqe(&ring, &cqe), 0);
		assert_int_equal(cqe->user_data, i);
		io_uring_cqe_seen(&ring, cqe);
	}
	io_uring_queue_exit(&ring);
}

/* A descriptor number reused by a new ring drops the ring that was
 * closed without a release, instead of handing out its state. */
static void test_closed_ring_number_is_reclaimed(void **state)
{
	struct io_uring_params p;
	struct ua_ctx *old;
	int fd, fd2;

	(void) state;
	memset(&p, 0, sizeof(p));
	fd = io_uring_setup(4, &p);
	assert_true(fd >= 0);
	old = ua_ctx_lookup(fd);
	assert_non_null(old);
	close(fd);
	memset(&p, 0, sizeof(p));
	fd2 = io_uring_setup(4, &p);
	assert_int_equal(fd2, fd);
	assert_ptr_not_equal(ua_ctx_lookup(fd2), NULL);
	assert_int_equal(io_uring_enter(fd2, 0, 0, 0, NULL), 0);
	io_uring_register(fd2, 0x55410001u, NULL, 0);
	close(fd2);
	assert_null(ua_ctx_lookup(fd2));
}

/* ThreadSanitizer's runtime makes threads wait on locks of its own. */
#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif

/* Voluntary context switches of the calling thread: a sleep counts one
 * (not counted under ThreadSanitizer, whose own waits count too). */
static long thread_sleeps(void)
{
#ifdef UNDER_TSAN
	return 0;
#else
	struct rusage ru;

	assert_int_equal(getrusage(RUSAGE_THREAD, &ru), 0);
	return ru.ru_nvcsw;
#endif
}

/* Whether a thread waits for the (glibc) mutex. */
static bool mutex_has_waiter(pthread_mutex_t *m)
{
	return __atomic_load_n(&m->__data.__lock, __ATOMIC_ACQUIRE) > 1;
}

/*
 * A worker that a signal does not free (here: it waits for buf_lock, which
 * this thread holds) is cancelled. The canceller returns at once, without
 * sleeping: the interrupt is sent again from the timer, so no canceller,
 * and no LINK_TIMEOUT expiring on the timer's thread, waits on a worker.
 * The read reaches the worker through a link from a read of gate[0], so
 * that nothing is submitted while buf_lock is held here.
 */
static void test_cancel_of_stuck_worker_does_not_wait(void **state)
{
	struct ua_cancel_data cd = { .data = 2 };
	static char bufs[4][64], gate_buf[1];
	int gate[2], data[2], ret;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	struct ua_req_list out;
	struct io_uring ring;
	struct ua_ctx *ctx;
	long before;

	(void) state;
	assert_int_equal(io_uring_queue_init(8, &ring, 0), 0);
	ctx = ua_ctx_lookup(ring.ring_fd);
	io_uring_prep_provide_buffers(io_uring_get_sqe(&ring), bufs, 64, 4, 7, 0);
	assert_int_equal(io_uring_submit_and_wait(&ring, 1), 1);
	assert_int_equal(io_uring_peek_cqe(&ring, &cqe), 0);
	assert_int_equal(cqe->res, 0);
	io_uring_cqe_seen(&ring, cqe);
	assert_int_equal(pipe(gate), 0);
	assert_int_equal(pipe(data), 0);
	assert_int_equal(write(data[1], "x", 1), 1);

	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, gate[0], gate_buf, 1, 0);
	sqe->flags |= IOSQE_IO_LINK;
	sqe->user_data = 1;
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, data[0], NULL, 64, 0);
	sqe->flags |= IOSQE_ASYNC | IOSQE_BUFFER_SELECT;
	sqe->buf_group = 7;
	sqe->user_data = 2;
	assert_int_equal(io_uring_submit(&ring), 2);
	pthread_mutex_lock(&ctx->buf_lock);
	assert_int_equal(write(gate[1], "g", 1), 1);
	while (!mutex_has_waiter(&ctx->buf_lock))
		sched_yield();
	/* The thread that handed the read to the worker has let go of the
	 * pool's lock: only a sleep of the cancellation itself is counted. */
	while (pthread_mutex_trylock(&ctx->wq.lock))
		sched_yield();
	pthread_mutex_unlock(&ctx->wq.lock);

	ua_list_init(&out);
	before = thread_sleeps();
	ret = ua_iowq_cancel(ctx, &cd, &out);
	/* A canceller that waited on the worker would sleep a dozen times
	 * (pauses doubling from 10 us, for up to 100 ms); one or two are a lock it
	 * met taken by another engine thread (the timer's, the pool's). */
	assert_true(thread_sleeps() - before <= 2);
	assert_int_equal(ret, -EALREADY);
	assert_null(ua_list_pop(&out));
	pthread_mutex_unlock(&ctx->buf_lock);

	for (int i = 0; i < 2; i++) {
		assert_int_equal(io_uring_wait_cqe(&ring, &cqe), 0);
		assert_int_equal(cqe->res, 1);
		io_uring_cqe_seen(&ring, cqe);
	}
	close(gate[0]);
	close(gate[1]);
	close(data[0]);
	close(data[1]);
	io_uring_queue_exit(&ring);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_steady_state_allocates_nothing),
		cmocka_unit_test(test_cached_io_stays_inline),
		cmocka_unit_test(test_buffered_writes_stay_inline),
		cmocka_unit_test(test_reused_number_of_inline_written_file),
		cmocka_unit_test(test_corrupt_sq_tail_is_bounded),
		cmocka_unit_test(test_corrupt_cq_head_is_treated_as_full),
		cmocka_unit_test(test_closed_ring_number_is_reclaimed),
		cmocka_unit_test(test_cancel_of_stuck_worker_does_not_wait),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
