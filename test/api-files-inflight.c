/* SPDX-License-Identifier: MIT */
/*
 * Replacing and unregistering registered files while reads that block on
 * them (pipes, sockets) are in flight. Neither waits for the reads; each
 * read completes with its own file's data; a replaced file is released
 * (its tag posted, its last descriptor closed) exactly once, after the
 * read that uses it; the process ends with the descriptors it began with.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include "helpers.h"

#define NR_FILES	8	/* half pipes, half sockets */
#define TAG_OLD		1000
#define TAG_NEW		2000
#define TAG_IDLE	3000
#define UD_OLD		100
#define UD_NEW		200

/* One channel: the end the table reads, and the end the test writes. */
struct chan {
	int rd, wr;
};

static void open_chan(struct chan *c, int i)
{
	int fds[2];

	if (i % 2) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC,
					    0, fds), 0);
	} else {
		assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	}
	c->rd = fds[0];
	c->wr = fds[1];
}

/* A message naming the channel, so a read shows which file it used. */
static void msg_for(char *buf, char gen, int i)
{
	snprintf(buf, 16, "%c%02d", gen, i);
}

static void send_msg(struct chan *c, char gen, int i)
{
	char msg[16];

	msg_for(msg, gen, i);
	assert_int_equal(write(c->wr, msg, 3), 3);
}

static void queue_fixed_reads(struct io_uring *ring, char (*bufs)[16],
			      __u64 ud_base)
{
	for (int i = 0; i < NR_FILES; i++) {
		struct io_uring_sqe *sqe = must_get_sqe(ring);

		memset(bufs[i], 0, 16);
		io_uring_prep_read(sqe, i, bufs[i], 16, 0);
		sqe->flags |= IOSQE_FIXED_FILE;
		sqe->user_data = ud_base + i;
	}
	assert_int_equal(io_uring_submit(ring), NR_FILES);
}

/*
 * The peer of a channel whose reading end is no longer open anywhere sees
 * it closed: EPIPE for a pipe or a socket. The kernel drops its last file
 * reference asynchronously, so poll for it a bounded number of times.
 */
static bool reader_gone(struct chan *c)
{
	for (int i = 0; i < 500; i++) {
		ssize_t n = send(c->wr, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == ENOTSOCK)
			n = write(c->wr, "x", 1);
		if (n < 0 && errno == EPIPE)
			return true;
		sleep_ms(10);
	}
	return false;
}

struct reaped {
	int		nr;
	struct test_cqe	cqe[4 * NR_FILES];
};

static void reap(struct io_uring *ring, struct reaped *r, int nr)
{
	for (int i = 0; i < nr; i++)
		assert_int_equal(reap_one(ring, &r->cqe[r->nr++]), 0);
}

/* Position of the CQE with user_data ud; fails if absent or repeated. */
static int find(const struct reaped *r, __u64 ud)
{
	int at = -1;

	for (int i = 0; i < r->nr; i++) {
		if (r->cqe[i].user_data != ud)
			continue;
		assert_int_equal(at, -1);
		at = i;
	}
	assert_true(at >= 0);
	return at;
}

struct inflight {
	struct fixture	*f;
	struct chan	old[NR_FILES], new[NR_FILES], idle;
	char		old_bufs[NR_FILES][16], new_bufs[NR_FILES][16];
	int		fds_before;
};

/* Slots 0..NR_FILES-1 hold the old channels, tagged, with a read parked
 * on each; slot NR_FILES holds an idle channel nobody reads. */
static void start_inflight(struct inflight *t)
{
	struct io_uring *ring = &t->f->ring;
	int fds[NR_FILES + 1];
	__u64 tags[NR_FILES + 1];

	signal(SIGPIPE, SIG_IGN);
	t->fds_before = count_open_fds();
	for (int i = 0; i < NR_FILES; i++) {
		open_chan(&t->old[i], i);
		fds[i] = t->old[i].rd;
		tags[i] = TAG_OLD + i;
	}
	open_chan(&t->idle, 0);
	fds[NR_FILES] = t->idle.rd;
	tags[NR_FILES] = TAG_IDLE;
	assert_int_equal(io_uring_register_files_tags(ring, fds, tags,
						      NR_FILES + 1), 0);
	/* From here on only the table holds the reading ends. */
	for (int i = 0; i < NR_FILES; i++)
		close(t->old[i].rd);
	close(t->idle.rd);
	queue_fixed_reads(ring, t->old_bufs, UD_OLD);
}

/*
 * Completes what start_inflight() began, after the slots were replaced or
 * the table unregistered: the old reads get the old channels' data, each
 * old file is released once, after its read, and nothing else is left.
 */
static void finish_inflight(struct inflight *t, struct reaped *r)
{
	struct io_uring *ring = &t->f->ring;
	char want[16];

	/* Nothing of the old files is released while a read holds it. */
	assert_true(cq_is_empty(ring));
	for (int i = 0; i < NR_FILES; i++)
		send_msg(&t->old[i], 'A', i);
	reap(ring, r, 2 * NR_FILES);
	for (int i = 0; i < NR_FILES; i++) {
		int read_at = find(r, UD_OLD + i);

		assert_int_equal(r->cqe[read_at].res, 3);
		msg_for(want, 'A', i);
		assert_memory_equal(t->old_bufs[i], want, 3);
		assert_true(find(r, TAG_OLD + i) > read_at);
		assert_true(reader_gone(&t->old[i]));
		close(t->old[i].wr);
	}
}

/* Waits for the idle slot's tag, which must come before any busy one's. */
static void expect_idle_release_first(struct io_uring *ring)
{
	struct test_cqe c;

	assert_int_equal(reap_one(ring, &c), 0);
	assert_true(c.user_data == TAG_IDLE);
	assert_int_equal(c.res, 0);
}

static void test_replace_slots_under_blocked_reads(void **state)
{
	struct inflight t = { .f = *state };
	struct io_uring *ring = &t.f->ring;
	struct reaped r = { 0 };
	int fds[NR_FILES + 1];
	__u64 tags[NR_FILES + 1];
	char want[16];

	start_inflight(&t);
	for (int i = 0; i < NR_FILES; i++) {
		open_chan(&t.new[i], i);
		fds[i] = t.new[i].rd;
		tags[i] = TAG_NEW + i;
	}
	fds[NR_FILES] = -1;
	tags[NR_FILES] = 0;
	/* Returns at once, reads still parked on the old files. */
	assert_int_equal(io_uring_register_files_update_tag(ring, 0, fds, tags,
							    NR_FILES + 1),
			 NR_FILES + 1);
	for (int i = 0; i < NR_FILES; i++)
		close(t.new[i].rd);
	expect_idle_release_first(ring);
	assert_true(reader_gone(&t.idle));
	close(t.idle.wr);

	/* New reads use the new files, old ones keep theirs. */
	queue_fixed_reads(ring, t.new_bufs, UD_NEW);
	for (int i = 0; i < NR_FILES; i++)
		send_msg(&t.new[i], 'B', i);
	reap(ring, &r, NR_FILES);
	for (int i = 0; i < NR_FILES; i++) {
		assert_int_equal(r.cqe[find(&r, UD_NEW + i)].res, 3);
		msg_for(want, 'B', i);
		assert_memory_equal(t.new_bufs[i], want, 3);
	}
	finish_inflight(&t, &r);

	assert_int_equal(io_uring_unregister_files(ring), 0);
	r.nr = 0;
	reap(ring, &r, NR_FILES);
	for (int i = 0; i < NR_FILES; i++) {
		find(&r, TAG_NEW + i);
		assert_true(reader_gone(&t.new[i]));
		close(t.new[i].wr);
	}
	assert_int_equal(wait_fd_count(t.fds_before), t.fds_before);
}

static void test_unregister_under_blocked_reads(void **state)
{
	struct inflight t = { .f = *state };
	struct io_uring *ring = &t.f->ring;
	struct reaped r = { 0 };
	struct io_uring_sqe *sqe;
	struct chan again;
	char buf[16];

	start_inflight(&t);
	assert_int_equal(io_uring_unregister_files(ring), 0);
	expect_idle_release_first(ring);
	assert_true(reader_gone(&t.idle));
	close(t.idle.wr);

	/* A new table, while the old one's files are still in use. */
	open_chan(&again, 1);
	assert_int_equal(io_uring_register_files(ring, &again.rd, 1), 0);
	close(again.rd);
	assert_int_equal(write(again.wr, "new", 3), 3);
	sqe = must_get_sqe(ring);
	io_uring_prep_read(sqe, 0, buf, sizeof(buf), 0);
	sqe->flags |= IOSQE_FIXED_FILE;
	sqe->user_data = 0;
	assert_int_equal(submit_one_and_wait(ring, 0), 3);
	assert_memory_equal(buf, "new", 3);

	finish_inflight(&t, &r);
	assert_int_equal(io_uring_unregister_files(ring), 0);
	assert_true(reader_gone(&again));
	close(again.wr);
	assert_int_equal(wait_fd_count(t.fds_before), t.fds_before);
}

/* Closing a direct descriptor under a blocked read is an update too. */
static void test_close_direct_under_blocked_read(void **state)
{
	struct fixture *f = *state;
	int before = count_open_fds();
	__u64 tags[2] = { 77, TAG_IDLE };
	struct reaped r = { 0 };
	struct io_uring_sqe *sqe;
	struct chan c, idle;
	char buf[16];
	int fds[2];

	signal(SIGPIPE, SIG_IGN);
	open_chan(&c, 0);
	open_chan(&idle, 1);
	fds[0] = c.rd;
	fds[1] = idle.rd;
	assert_int_equal(io_uring_register_files_tags(&f->ring, fds, tags, 2), 0);
	close(c.rd);
	close(idle.rd);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_read(sqe, 0, buf, sizeof(buf), 0);
	sqe->flags |= IOSQE_FIXED_FILE;
	sqe->user_data = 1;
	assert_int_equal(io_uring_submit(&f->ring), 1);
	for (int slot = 0; slot < 2; slot++) {
		sqe = must_get_sqe(&f->ring);
		io_uring_prep_close_direct(sqe, slot);
		sqe->user_data = 2 + slot;
	}
	assert_int_equal(io_uring_submit(&f->ring), 2);
	/* The closes, and the idle file's tag (the kernel posts it before
	 * the close's own CQE): the busy file is not released. */
	reap(&f->ring, &r, 3);
	assert_int_equal(r.cqe[find(&r, 2)].res, 0);
	assert_int_equal(r.cqe[find(&r, 3)].res, 0);
	find(&r, TAG_IDLE);
	assert_true(cq_is_empty(&f->ring));
	r.nr = 0;

	assert_int_equal(write(c.wr, "old", 3), 3);
	reap(&f->ring, &r, 2);
	assert_int_equal(r.cqe[find(&r, 1)].res, 3);
	assert_memory_equal(buf, "old", 3);
	assert_true(find(&r, tags[0]) > find(&r, 1));
	assert_true(reader_gone(&c));
	assert_true(reader_gone(&idle));
	close(c.wr);
	close(idle.wr);
	assert_int_equal(wait_fd_count(before), before);
}

/*
 * Cancelling by fixed descriptor: only the requests using that slot's file
 * are cancelled, with the slot named by the cancel flag, by IOSQE_FIXED_FILE
 * on the cancel, or through the synchronous registration call.
 */
static void test_cancel_by_fixed_file(void **state)
{
	struct fixture *f = *state;
	struct io_uring_sync_cancel_reg reg = {
		.fd = 1,
		.flags = IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_FD_FIXED,
		.timeout = { .tv_sec = -1, .tv_nsec = -1 },
	};
	struct reaped r = { 0 };
	struct io_uring_sqe *sqe;
	struct chan c[3];
	char bufs[3][16];
	int fds[3];

	for (int i = 0; i < 3; i++) {
		open_chan(&c[i], i);
		fds[i] = c[i].rd;
	}
	assert_int_equal(io_uring_register_files(&f->ring, fds, 3), 0);
	for (int i = 0; i < 3; i++) {
		sqe = must_get_sqe(&f->ring);
		io_uring_prep_read(sqe, i, bufs[i], sizeof(bufs[i]), 0);
		sqe->flags |= IOSQE_FIXED_FILE;
		sqe->user_data = 10 + i;
	}
	assert_int_equal(io_uring_submit(&f->ring), 3);

	sqe = must_get_sqe(&f->ring);
	io_uring_prep_cancel_fd(sqe, 0, IORING_ASYNC_CANCEL_FD_FIXED);
	sqe->user_data = 20;
	assert_int_equal(io_uring_submit(&f->ring), 1);
	reap(&f->ring, &r, 2);
	assert_int_equal(r.cqe[find(&r, 20)].res, 0);
	assert_int_equal(r.cqe[find(&r, 10)].res, -ECANCELED);

	assert_int_equal(io_uring_register_sync_cancel(&f->ring, &reg), 0);
	reap(&f->ring, &r, 1);
	assert_int_equal(r.cqe[find(&r, 11)].res, -ECANCELED);

	/* A slot without a file, whichever way it is named. */
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_cancel_fd(sqe, 5, 0);
	sqe->flags |= IOSQE_FIXED_FILE;
	sqe->user_data = 21;
	assert_int_equal(submit_one_and_wait(&f->ring, 21), -EBADF);
	reg.fd = 3;
	assert_int_equal(io_uring_register_sync_cancel(&f->ring, &reg), -EBADF);

	assert_true(cq_is_empty(&f->ring));
	assert_int_equal(write(c[2].wr, "two", 3), 3);
	r.nr = 0;
	reap(&f->ring, &r, 1);
	assert_int_equal(r.cqe[find(&r, 12)].res, 3);
	assert_memory_equal(bufs[2], "two", 3);
	for (int i = 0; i < 3; i++) {
		close(c[i].rd);
		close(c[i].wr);
	}
}

/*
 * A ring may make descriptors of its own the first time one of its
 * requests waits for a file (the kernel makes none): one such wait before
 * the tests count, so that their counts cover only the files they open.
 */
static void park_one_poll(struct io_uring *ring)
{
	struct io_uring_cqe *cqe;
	struct chan c;

	open_chan(&c, 0);
	io_uring_prep_poll_add(io_uring_get_sqe(ring), c.rd, POLLIN);
	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(write(c.wr, "x", 1), 1);
	assert_int_equal(io_uring_wait_cqe(ring, &cqe), 0);
	assert_true(cqe->res & POLLIN);
	io_uring_cqe_seen(ring, cqe);
	close(c.rd);
	close(c.wr);
}

static int fixture_setup_big(void **state)
{
	int ret = fixture_setup_ring(state, 64, 0);

	if (!ret)
		park_one_poll(&((struct fixture *) *state)->ring);
	return ret;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup_big, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_replace_slots_under_blocked_reads),
		T(test_unregister_under_blocked_reads),
		T(test_close_direct_under_blocked_read),
		T(test_cancel_by_fixed_file),
	};

	alarm(60);	/* an update that waited for the reads would hang */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
