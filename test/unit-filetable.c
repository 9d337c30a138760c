/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the fixed-file table (src/engine/filetable.c), driven
 * through the engine's own lookup and put, as the submit and completion
 * paths use them.
 *
 * The stress runs lookups and puts on several threads against a thread
 * that keeps replacing the slots: a held node's descriptor must stay open
 * and name the same file for as long as it is held, every replaced file
 * must be released exactly once (its tag seen once), and every descriptor
 * must be gone at the end. As in unit-percpu-ref.c, the group runs once in
 * a child forced into RCU's fence fallback and once in the parent.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "rcu-modes.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include "helpers.h"
#include "engine/ctx.h"
#include "engine/rcu.h"

#define NR_SLOTS		4
#define NR_FILES		6
#define NR_LOOKERS		3
#define NR_UPDATES		6000
#define TAG_BASE		100000

struct stress {
	struct io_uring		ring;
	struct ua_ctx		*ctx;
	char			dir[PATH_MAX];
	int			files[NR_FILES];
	ino_t			inos[NR_FILES];
	atomic_bool		stop;
	atomic_ulong		errors;
	atomic_ulong		lookups;
};

static ino_t ino_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : st.st_ino;
}

static bool known_ino(struct stress *s, ino_t ino)
{
	for (int i = 0; i < NR_FILES; i++)
		if (s->inos[i] == ino)
			return true;
	return false;
}

/* What a request does: take the slot's file at issue, use it, put it. */
static void *looker(void *arg)
{
	struct stress *s = arg;
	struct ua_req req = { .ctx = s->ctx };
	unsigned n = 0;

	while (!atomic_load(&s->stop)) {
		ino_t first;

		req.fd = (int) (n++ % NR_SLOTS);
		if (ua_req_assign_fixed_file(&req))
			continue;	/* an empty slot, between updates */
		first = ino_of(req.fd);
		if (!known_ino(s, first))
			atomic_fetch_add(&s->errors, 1);
		/* Hold it while the updater retires it: now and then across
		 * a grace period (the deferred kill waits about 1 ms). */
		if (n % 64 == 0)
			sleep_ms(2);
		else
			sched_yield();
		if (ino_of(req.fd) != first)
			atomic_fetch_add(&s->errors, 1);
		ua_req_put_fixed_file(&req);
		atomic_fetch_add(&s->lookups, 1);
	}
	return NULL;
}

static void setup_stress(struct stress *s)
{
	struct io_uring_params p = { .flags = IORING_SETUP_CQSIZE,
				     .cq_entries = 2 * NR_UPDATES };
	char name[16];

	assert_int_equal(make_tmpdir(s->dir), 0);
	for (int i = 0; i < NR_FILES; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		s->files[i] = make_pattern_file(s->dir, name, 64, i, O_RDONLY);
		assert_true(s->files[i] >= 0);
		s->inos[i] = ino_of(s->files[i]);
	}
	assert_int_equal(io_uring_queue_init_params(64, &s->ring, &p), 0);
	s->ctx = ua_ctx_lookup(s->ring.ring_fd);
	assert_non_null(s->ctx);
	atomic_init(&s->stop, false);
	atomic_init(&s->errors, 0);
	atomic_init(&s->lookups, 0);
}

static void teardown_stress(struct stress *s)
{
	io_uring_queue_exit(&s->ring);
	for (int i = 0; i < NR_FILES; i++)
		close(s->files[i]);
	remove_tmpdir(s->dir);
}

/* Counts each tag's CQE; a tag seen twice, or never, is an error. */
static void check_tags(struct stress *s, unsigned nr)
{
	unsigned char *seen = calloc(nr, 1);
	struct test_cqe c;

	assert_non_null(seen);
	for (unsigned i = 0; i < nr; i++) {
		assert_int_equal(reap_one(&s->ring, &c), 0);
		assert_true(c.user_data >= TAG_BASE &&
			    c.user_data < TAG_BASE + nr);
		assert_int_equal(seen[c.user_data - TAG_BASE]++, 0);
	}
	assert_true(cq_is_empty(&s->ring));
	free(seen);
}

/* Descriptors open once a ring has existed: the process's own (the
 * poller's) are made with its first ring and kept. */
static int count_fds_after_a_ring(void)
{
	struct io_uring ring;

	assert_int_equal(io_uring_queue_init(2, &ring, 0), 0);
	io_uring_queue_exit(&ring);
	return count_open_fds();
}

static void test_lookups_against_updates(void **state)
{
	struct stress s;
	pthread_t threads[NR_LOOKERS];
	int before = count_fds_after_a_ring(), fds[NR_SLOTS];
	__u64 tags[NR_SLOTS];
	unsigned nr_tags = 0;

	(void) state;
	setup_stress(&s);
	for (int i = 0; i < NR_SLOTS; i++) {
		fds[i] = s.files[i];
		tags[i] = TAG_BASE + nr_tags++;
	}
	assert_int_equal(io_uring_register_files_tags(&s.ring, fds, tags,
						      NR_SLOTS), 0);
	for (int i = 0; i < NR_LOOKERS; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, looker, &s), 0);
	for (unsigned u = 0; u < NR_UPDATES - NR_SLOTS; u++) {
		int slot = (int) (u % NR_SLOTS);
		int fd = u % 7 == 6 ? -1 : s.files[u % NR_FILES];
		__u64 tag = fd < 0 ? 0 : TAG_BASE + nr_tags;

		assert_int_equal(io_uring_register_files_update_tag(&s.ring,
								    slot, &fd,
								    &tag, 1), 1);
		nr_tags += fd >= 0;
		if (u % 64 == 0)
			sched_yield();
	}
	atomic_store(&s.stop, true);
	for (int i = 0; i < NR_LOOKERS; i++)
		pthread_join(threads[i], NULL);
	assert_int_equal(io_uring_unregister_files(&s.ring), 0);

	check_tags(&s, nr_tags);
	assert_int_equal(atomic_load(&s.errors), 0);
	assert_true(atomic_load(&s.lookups) > 0);
	teardown_stress(&s);
	assert_int_equal(wait_fd_count(before), before);
}

/* Every retired node's grace period has ended (an end may start another). */
static void wait_retired(struct ua_ctx *ctx)
{
	bool pending;

	do {
		ua_rcu_barrier();
		pthread_mutex_lock(&ctx->files.lock);
		pending = ctx->files.nodes.gp_pending;
		pthread_mutex_unlock(&ctx->files.lock);
	} while (pending);
}

/*
 * Released nodes go back to the pool and are used again: over 400 updates
 * the nodes ever allocated stay within the table's plus one round's (how
 * many a round needs depends on how many grace periods end during it).
 */
static void test_updates_recycle_nodes(void **state)
{
	struct stress s;

	(void) state;
	setup_stress(&s);
	assert_int_equal(io_uring_register_files_sparse(&s.ring, 2), 0);
	for (int round = 0; round < 4; round++) {
		for (int u = 0; u < 100; u++)
			assert_int_equal(io_uring_register_files_update(
					&s.ring, u % 2, &s.files[u % NR_FILES], 1), 1);
		wait_retired(s.ctx);	/* the retired nodes come back */
	}
	assert_true(s.ctx->files.nodes.nr_nodes <= 2 + 100);
	teardown_stress(&s);
}

/* A lookup holding a node keeps it, and its descriptor, past unregister. */
static void test_held_node_survives_unregister(void **state)
{
	struct stress s;
	struct ua_req req;
	__u64 tag = TAG_BASE;
	struct test_cqe c;
	int fd;

	(void) state;
	setup_stress(&s);
	req = (struct ua_req) { .ctx = s.ctx, .fd = 0 };
	assert_int_equal(io_uring_register_files_tags(&s.ring, &s.files[2],
						      &tag, 1), 0);
	assert_int_equal(ua_req_assign_fixed_file(&req), 0);
	fd = req.fd;
	assert_true(fd != s.files[2]);	/* the table's own duplicate */
	assert_int_equal(io_uring_unregister_files(&s.ring), 0);
	wait_retired(s.ctx);
	assert_true(cq_is_empty(&s.ring));
	assert_true(ino_of(fd) == s.inos[2]);
	ua_req_put_fixed_file(&req);
	assert_int_equal(reap_one(&s.ring, &c), 0);
	assert_true(c.user_data == TAG_BASE);
	assert_int_equal(fcntl(fd, F_GETFD), -1);	/* closed on release */
	teardown_stress(&s);
}

/* The kept node's descriptor number, or -1 when none is kept. */
static int kept_fd(struct ua_ctx *ctx)
{
	struct ua_rsrc_node *kept;
	int fd = -1;

	pthread_mutex_lock(&ctx->files.lock);
	kept = ctx->files.nodes.kept;
	if (kept)
		fd = ua_file_node_fd((struct ua_file_node *) kept);
	pthread_mutex_unlock(&ctx->files.lock);
	return fd;
}

/* The descriptor number slot 0's node holds. */
static int slot0_fd(struct ua_ctx *ctx)
{
	struct ua_req req = { .ctx = ctx, .fd = 0 };
	int fd;

	assert_int_equal(ua_req_assign_fixed_file(&req), 0);
	fd = req.fd;
	ua_req_put_fixed_file(&req);
	return fd;
}

/*
 * A node released at a grace period's end keeps its descriptor number for
 * the next update, which puts its file there in one dup3() and so drops
 * the file the number held: the pipe whose read end left the table has
 * no reader once its number is reused. A kept number nobody takes is
 * closed two periods later. Which period an update falls in is up to the RCU
 * thread: an update is tried until one finds a node kept.
 */
static void test_update_reuses_released_descriptor(void **state)
{
	struct stress s;
	int old[2], fd = -1, reused = -1;
	ino_t pipe_ino;

	(void) state;
	setup_stress(&s);
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(io_uring_register_files_sparse(&s.ring, 1), 0);
	for (int tries = 0; tries < 1000 && reused < 0; tries++) {
		assert_int_equal(pipe2(old, O_CLOEXEC), 0);
		pipe_ino = ino_of(old[0]);
		assert_int_equal(io_uring_register_files_update(&s.ring, 0,
								&old[0], 1), 1);
		close(old[0]);
		assert_int_equal(io_uring_register_files_update(&s.ring, 0,
								&s.files[0], 1), 1);
		/* Once a period has ended after the update: old[0]'s node
		 * may need the next one, so the newest kept node is taken
		 * only when it is that node. */
		ua_rcu_barrier();
		fd = kept_fd(s.ctx);
		if (fd >= 0 && ino_of(fd) == pipe_ino) {
			assert_int_equal(io_uring_register_files_update(
					&s.ring, 0, &s.files[1], 1), 1);
			if (slot0_fd(s.ctx) == fd)
				reused = fd;
		}
		if (reused < 0)
			close(old[1]);
	}
	assert_true(reused >= 0);
	assert_true(ino_of(reused) == s.inos[1]);
	assert_int_equal(write(old[1], "x", 1), -1);
	assert_int_equal(errno, EPIPE);
	close(old[1]);
	wait_retired(s.ctx);
	assert_int_equal(kept_fd(s.ctx), -1);
	teardown_stress(&s);
}

/* The kind of file a request on slot 0 starts with. */
static int slot0_kind(struct ua_ctx *ctx)
{
	struct ua_req req = { .ctx = ctx, .fd = 0,
			      .file_kind = UA_FILE_UNKNOWN };
	int kind;

	assert_int_equal(ua_req_assign_fixed_file(&req), 0);
	kind = req.file_kind;
	ua_req_put_fixed_file(&req);
	return kind;
}

/*
 * A read of a fixed pipe that waited for data found the file a stream;
 * the slot's node remembers it, so the requests after start knowing it.
 * A file updated into the slot starts unknown again.
 */
static void test_node_remembers_stream(void **state)
{
	struct stress s;
	struct io_uring_sqe *sqe;
	struct test_cqe c;
	int p[2];
	char b;

	(void) state;
	setup_stress(&s);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(io_uring_register_files(&s.ring, &p[0], 1), 0);
	assert_int_equal(slot0_kind(s.ctx), UA_FILE_UNKNOWN);
	sqe = io_uring_get_sqe(&s.ring);
	io_uring_prep_read(sqe, 0, &b, 1, 0);
	sqe->flags |= IOSQE_FIXED_FILE;
	assert_int_equal(io_uring_submit(&s.ring), 1);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(reap_one(&s.ring, &c), 0);
	assert_int_equal(c.res, 1);
	assert_int_equal(slot0_kind(s.ctx), UA_FILE_STREAM);
	assert_int_equal(io_uring_register_files_update(&s.ring, 0,
							&s.files[0], 1), 1);
	assert_int_equal(slot0_kind(s.ctx), UA_FILE_UNKNOWN);
	close(p[0]);
	close(p[1]);
	teardown_stress(&s);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_lookups_against_updates),
	cmocka_unit_test(test_updates_recycle_nodes),
	cmocka_unit_test(test_held_node_survives_unregister),
	cmocka_unit_test(test_update_reuses_released_descriptor),
	cmocka_unit_test(test_node_remembers_stream),
};

int main(void)
{
	return run_in_both_rcu_modes("filetable, fence fallback", "filetable, default mode",
				     tests, sizeof(tests) / sizeof(tests[0]));
}
