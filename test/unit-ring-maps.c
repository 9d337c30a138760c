/* SPDX-License-Identifier: MIT */
/*
 * The memory of a ring the library sets up is mapped once: the user side
 * points into the engine's maps rather than map the rings' file a second
 * time, and a ring without an SQ array maps one page for its SQ ring, as
 * the kernel's. The maps stay until the teardown, and a resize gives the
 * user side maps of its own again.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "helpers.h"
#include "engine/ctx.h"

/* How many maps of the process show the file of inode ino. */
static int maps_of_inode(unsigned long ino)
{
	char line[512];
	unsigned long inode;
	FILE *f = fopen("/proc/self/maps", "r");
	int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %*s %*s %*s %lu", &inode) == 1 &&
		    inode == ino)
			n++;
	fclose(f);
	return n;
}

static unsigned long rings_inode(struct ua_ctx *ctx)
{
	struct stat st;

	assert_int_equal(fstat(ua_ring_map_fd(ctx), &st), 0);
	return (unsigned long) st.st_ino;
}

static void nop_round_trip(struct io_uring *ring)
{
	struct io_uring_cqe *cqe;

	io_uring_prep_nop(io_uring_get_sqe(ring));
	assert_int_equal(io_uring_submit_and_wait(ring, 1), 1);
	assert_int_equal(io_uring_peek_cqe(ring, &cqe), 0);
	io_uring_cqe_seen(ring, cqe);
}

static void test_rings_mapped_once(void **state)
{
	struct io_uring ring;
	struct ua_ctx *ctx;

	(void) state;
	assert_int_equal(io_uring_queue_init(4096, &ring, 0), 0);
	ctx = ua_ctx_lookup(ring.ring_fd);
	assert_non_null(ctx);
	assert_ptr_equal(ring.sq.ring_ptr, ctx->sq_map);
	assert_ptr_equal(ring.cq.ring_ptr, ctx->cq_map);
	assert_ptr_equal(ring.sq.sqes, ctx->sqes);
	assert_int_equal(maps_of_inode(rings_inode(ctx)), 3);
	/* liburing sets rings up without an SQ array where it can. */
	assert_true(ring.flags & IORING_SETUP_NO_SQARRAY);
	assert_int_equal(ring.sq.ring_sz, (size_t) sysconf(_SC_PAGESIZE));
	nop_round_trip(&ring);
	assert_int_equal(io_uring_ring_dontfork(&ring), 0);
	io_uring_queue_exit(&ring);
}

/* The SQ array, asked for, is mapped with the SQ ring. */
static void test_rings_with_sq_array(void **state)
{
	struct io_uring_params p;
	struct io_uring ring;
	struct ua_ctx *ctx;

	(void) state;
	/* A raw setup keeps the array; its user side maps the file. */
	memset(&p, 0, sizeof(p));
	ring.ring_fd = io_uring_setup(4096, &p);
	assert_true(ring.ring_fd >= 0);
	ctx = ua_ctx_lookup(ring.ring_fd);
	assert_non_null(ctx);
	assert_true(ctx->sq_map_sz >= p.sq_off.array + 4096 * sizeof(unsigned));
	assert_int_equal(io_uring_queue_mmap(ring.ring_fd, &p, &ring), 0);
	nop_round_trip(&ring);
	io_uring_queue_exit(&ring);
}

/* After a resize the user side maps the new rings itself; the first maps
 * stay the engine's until the teardown. */
static void test_resize_then_exit(void **state)
{
	struct io_uring_params p;
	struct io_uring ring;
	struct ua_ctx *ctx;

	(void) state;
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SINGLE_ISSUER;
	assert_int_equal(io_uring_queue_init_params(64, &ring, &p), 0);
	ctx = ua_ctx_lookup(ring.ring_fd);
	nop_round_trip(&ring);
	memset(&p, 0, sizeof(p));
	p.sq_entries = 256;
	p.cq_entries = 512;
	p.flags = IORING_SETUP_CQSIZE;
	assert_int_equal(io_uring_resize_rings(&ring, &p), 0);
	assert_ptr_not_equal(ring.cq.ring_ptr, ctx->cq_map);
	nop_round_trip(&ring);
	io_uring_queue_exit(&ring);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rings_mapped_once),
		cmocka_unit_test(test_rings_with_sq_array),
		cmocka_unit_test(test_resize_then_exit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
