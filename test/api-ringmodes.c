/* SPDX-License-Identifier: MIT */
/*
 * Ring-memory modes: CQE_MIXED rings, where a CQE flagged IORING_CQE_F_32
 * takes two 16-byte slots and never straddles the ring's end (a padding
 * CQE flagged IORING_CQE_F_SKIP fills the last slot first); the 128-byte
 * SQE opcodes and SQ modes the 6.18 kernel does not know; NO_MMAP rings,
 * in the application's memory, and REGISTERED_FD_ONLY ones; resizing a
 * ring's queues.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "helpers.h"

#ifdef LIBURING_BEFORE_2_15
SKIP_BEFORE_2_15_MAIN()
#else

static int setup_raw(unsigned entries, unsigned flags, unsigned cq_entries)
{
	struct io_uring_params p;
	int fd;

	memset(&p, 0, sizeof(p));
	p.flags = flags;
	p.cq_entries = cq_entries;
	fd = io_uring_setup(entries, &p);
	if (fd >= 0)
		close(fd);
	return fd < 0 ? fd : 0;
}

/* A CQE_MIXED ring of 4 SQ and 4 CQ slots. */
static void init_mixed(struct io_uring *ring)
{
	struct io_uring_params p;

	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_CQE_MIXED | IORING_SETUP_CQSIZE;
	p.cq_entries = 4;
	assert_int_equal(io_uring_queue_init_params(4, ring, &p), 0);
	assert_int_equal(p.cq_entries, 4);
	assert_true(ring->flags & IORING_SETUP_CQE_MIXED);
}

/* big: IORING_NOP_CQE32, with big_cqe words ud * 16 and ud * 16 + 1. */
static void queue_nop(struct io_uring *ring, __u64 ud, bool big)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);

	io_uring_prep_nop(sqe);
	sqe->user_data = ud;
	if (big) {
		sqe->nop_flags = IORING_NOP_CQE32;
		sqe->off = ud * 16;
		sqe->addr = ud * 16 + 1;
	}
}

static void submit_nops(struct io_uring *ring, unsigned nr)
{
	assert_int_equal(io_uring_submit(ring), (int) nr);
}

/* The CQ slot at position pos: its user_data and flags. */
static void expect_slot(struct io_uring *ring, unsigned pos, __u64 ud,
			__u32 flags)
{
	struct io_uring_cqe *cqe = &ring->cq.cqes[pos & ring->cq.ring_mask];

	assert_true(cqe->user_data == ud);
	assert_int_equal(cqe->res, 0);
	assert_int_equal(cqe->flags, flags);
	if (flags & IORING_CQE_F_32) {
		assert_true(cqe->big_cqe[0] == ud * 16);
		assert_true(cqe->big_cqe[1] == ud * 16 + 1);
	}
}

static unsigned cq_tail(struct io_uring *ring)
{
	return io_uring_smp_load_acquire(ring->cq.ktail);
}

static void test_cqe_mixed_setup_rules(void **state)
{
	struct io_uring_params p;
	struct io_uring ring;

	(void) state;
	assert_int_equal(setup_raw(4, IORING_SETUP_CQE_MIXED |
				      IORING_SETUP_CQE32, 0), -EINVAL);
	/* Room for one 32-byte CQE at least. */
	assert_int_equal(setup_raw(1, IORING_SETUP_CQE_MIXED |
				      IORING_SETUP_CQSIZE, 1), -EOVERFLOW);
	assert_int_equal(setup_raw(1, IORING_SETUP_CQE_MIXED |
				      IORING_SETUP_CQSIZE, 2), 0);
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_CQE_MIXED;
	assert_int_equal(io_uring_queue_init_params(4, &ring, &p), 0);
	assert_int_equal(p.cq_entries, 8);
	assert_int_equal(io_uring_cqe_shift(&ring), 0);
	io_uring_queue_exit(&ring);
}

/* A NOP_CQE32 needs big CQEs: CQE32 or CQE_MIXED. */
static void nop_cqe32_elsewhere(void)
{
	struct io_uring ring;
	struct test_cqe c;

	assert_int_equal(io_uring_queue_init(4, &ring, 0), 0);
	queue_nop(&ring, 1, true);
	submit_nops(&ring, 1);
	assert_int_equal(reap_one(&ring, &c), 0);
	assert_int_equal(c.res, -EINVAL);
	io_uring_queue_exit(&ring);
	/* A CQE32 ring's CQEs are all big: none is flagged. */
	assert_int_equal(io_uring_queue_init(4, &ring, IORING_SETUP_CQE32), 0);
	queue_nop(&ring, 1, true);
	submit_nops(&ring, 1);
	assert_int_equal(reap_one(&ring, &c), 0);
	assert_int_equal(c.res, 0);
	assert_int_equal(c.flags, 0);
	io_uring_queue_exit(&ring);
}

/* A NOP_CQE32's CQE takes two slots and says so; a plain one takes one. */
static void test_mixed_ring_big_and_small_cqes(void **state)
{
	struct io_uring_cqe *cqe;
	struct io_uring ring;

	(void) state;
	init_mixed(&ring);
	queue_nop(&ring, 1, false);
	queue_nop(&ring, 2, true);
	queue_nop(&ring, 3, false);
	submit_nops(&ring, 3);
	assert_int_equal(cq_tail(&ring), 4);
	assert_int_equal(io_uring_cq_ready(&ring), 4);
	expect_slot(&ring, 0, 1, 0);
	expect_slot(&ring, 1, 2, IORING_CQE_F_32);
	expect_slot(&ring, 3, 3, 0);
	assert_int_equal(io_uring_peek_cqe(&ring, &cqe), 0);
	assert_true(cqe->user_data == 1);
	assert_int_equal(io_uring_cqe_nr(cqe), 1);
	io_uring_cqe_seen(&ring, cqe);
	assert_int_equal(io_uring_peek_cqe(&ring, &cqe), 0);
	assert_true(cqe->user_data == 2);
	assert_int_equal(io_uring_cqe_nr(cqe), 2);
	io_uring_cqe_seen(&ring, cqe);
	assert_int_equal(*ring.cq.khead, 3);
	assert_int_equal(io_uring_peek_cqe(&ring, &cqe), 0);
	assert_true(cqe->user_data == 3);
	io_uring_cqe_seen(&ring, cqe);
	io_uring_queue_exit(&ring);
	nop_cqe32_elsewhere();
}

/*
 * A big CQE due in the last slot: the slot gets a padding CQE, the big one
 * goes to the start. The iterator shows the padding; peek and wait pass
 * over it.
 */
static void test_big_cqe_at_ring_end_is_padded(void **state)
{
	struct io_uring_cqe *cqe, *batch[4];
	struct io_uring ring;
	unsigned pos, seen = 0;

	(void) state;
	init_mixed(&ring);
	queue_nop(&ring, 1, false);
	queue_nop(&ring, 2, false);
	queue_nop(&ring, 3, false);
	submit_nops(&ring, 3);
	io_uring_cq_advance(&ring, 3);
	queue_nop(&ring, 4, true);
	submit_nops(&ring, 1);
	assert_int_equal(cq_tail(&ring), 6);
	expect_slot(&ring, 3, 0, IORING_CQE_F_SKIP);
	expect_slot(&ring, 4, 4, IORING_CQE_F_32);
	io_uring_for_each_cqe(&ring, pos, cqe)
		seen |= 1u << (cqe->user_data ? 1 : 0);
	assert_int_equal(seen, 3);
	assert_int_equal(io_uring_peek_batch_cqe(&ring, batch, 4), 1);
	assert_true(batch[0]->user_data == 4);
	assert_int_equal(*ring.cq.khead, 4);
	assert_int_equal(io_uring_wait_cqe(&ring, &cqe), 0);
	assert_true(cqe->user_data == 4);
	io_uring_cqe_seen(&ring, cqe);
	assert_int_equal(*ring.cq.khead, 6);
	io_uring_queue_exit(&ring);
}

/*
 * With one free slot, at the end: the padding takes it and the big CQE
 * overflows, to come out at the start of the ring once there is room.
 */
static void test_big_cqe_overflows_after_padding(void **state)
{
	struct io_uring ring;

	(void) state;
	init_mixed(&ring);
	queue_nop(&ring, 1, false);
	queue_nop(&ring, 2, false);
	queue_nop(&ring, 3, false);
	submit_nops(&ring, 3);
	io_uring_cq_advance(&ring, 3);
	queue_nop(&ring, 4, false);
	queue_nop(&ring, 5, false);
	queue_nop(&ring, 6, false);
	submit_nops(&ring, 3);		/* slots 3, 0, 1 */
	io_uring_cq_advance(&ring, 1);
	queue_nop(&ring, 7, false);	/* slot 2: the last free is 3 */
	submit_nops(&ring, 1);
	queue_nop(&ring, 8, true);
	submit_nops(&ring, 1);
	assert_int_equal(cq_tail(&ring), 8);
	expect_slot(&ring, 7, 0, IORING_CQE_F_SKIP);
	assert_true(io_uring_cq_has_overflow(&ring));
	io_uring_cq_advance(&ring, 4);
	assert_true(io_uring_get_events(&ring) >= 0);
	assert_false(io_uring_cq_has_overflow(&ring));
	assert_int_equal(cq_tail(&ring), 10);
	expect_slot(&ring, 8, 8, IORING_CQE_F_32);
	io_uring_queue_exit(&ring);
}

/* Two free slots, not contiguous: padding, then the big CQE overflows. */
static void test_big_cqe_needs_contiguous_slots(void **state)
{
	struct io_uring ring;

	(void) state;
	init_mixed(&ring);
	queue_nop(&ring, 1, false);
	queue_nop(&ring, 2, false);
	queue_nop(&ring, 3, false);
	submit_nops(&ring, 3);
	io_uring_cq_advance(&ring, 1);	/* free: slots 3 and 0 */
	queue_nop(&ring, 4, true);
	submit_nops(&ring, 1);
	expect_slot(&ring, 3, 0, IORING_CQE_F_SKIP);
	assert_true(io_uring_cq_has_overflow(&ring));
	io_uring_cq_advance(&ring, 3);
	assert_true(io_uring_get_events(&ring) >= 0);
	assert_int_equal(cq_tail(&ring), 6);
	expect_slot(&ring, 4, 4, IORING_CQE_F_32);
	io_uring_queue_exit(&ring);
}

/* A count timeout counts slots: one big CQE meets a count of two. */
static void test_count_timeout_counts_slots(void **state)
{
	struct __kernel_timespec ts = { .tv_sec = 60 };
	struct io_uring_sqe *sqe;
	struct io_uring ring;
	struct test_cqe c;

	(void) state;
	init_mixed(&ring);
	sqe = must_get_sqe(&ring);
	io_uring_prep_timeout(sqe, &ts, 2, 0);
	sqe->user_data = 100;
	submit_nops(&ring, 1);
	queue_nop(&ring, 1, true);
	submit_nops(&ring, 1);
	assert_int_equal(reap_one(&ring, &c), 0);
	assert_true(c.user_data == 1);
	assert_int_equal(reap_one(&ring, &c), 0);
	assert_true(c.user_data == 100);
	assert_int_equal(c.res, 0);
	io_uring_queue_exit(&ring);
}

static void expect_nop_result(unsigned flags, int opcode, int res)
{
	struct io_uring_sqe *sqe;
	struct io_uring ring;
	struct test_cqe c;

	assert_int_equal(io_uring_queue_init(4, &ring, flags), 0);
	sqe = must_get_sqe(&ring);
	io_uring_prep_nop(sqe);
	sqe->opcode = (__u8) opcode;
	sqe->user_data = 9;
	submit_nops(&ring, 1);
	assert_int_equal(reap_one(&ring, &c), 0);
	assert_int_equal(c.res, res);
	io_uring_queue_exit(&ring);
}

/*
 * The 6.18 kernel knows no 128-byte opcode nor SQE_MIXED or SQ_REWIND:
 * the opcodes fail as unknown ones, on any ring, and the probe ends
 * before them.
 */
static void test_sqe_mixed_modes_are_unknown(void **state)
{
	struct io_uring_probe *probe = io_uring_get_probe();

	(void) state;
	assert_non_null(probe);
	assert_true(probe->last_op < IORING_OP_NOP128);
	assert_false(io_uring_opcode_supported(probe, IORING_OP_NOP128));
	assert_false(io_uring_opcode_supported(probe, IORING_OP_URING_CMD128));
	io_uring_free_probe(probe);
	assert_int_equal(setup_raw(4, IORING_SETUP_SQE_MIXED, 0), -EINVAL);
	assert_int_equal(setup_raw(4, IORING_SETUP_SQE_MIXED |
				      IORING_SETUP_NO_SQARRAY, 0), -EINVAL);
	assert_int_equal(setup_raw(4, IORING_SETUP_SQ_REWIND |
				      IORING_SETUP_NO_SQARRAY, 0), -EINVAL);
	expect_nop_result(0, IORING_OP_NOP128, -EINVAL);
	expect_nop_result(IORING_SETUP_SQE128, IORING_OP_NOP128, -EINVAL);
	expect_nop_result(IORING_SETUP_SQE128, IORING_OP_URING_CMD128,
			  -EINVAL);
	expect_nop_result(0, IORING_OP_URING_CMD128, -EINVAL);
}

static size_t page_sz(void)
{
	return (size_t) sysconf(_SC_PAGESIZE);
}

static void *map_pages(size_t nr, int flags)
{
	void *p = mmap(NULL, nr * page_sz(), PROT_READ | PROT_WRITE,
		       flags | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	return p;
}

/* NOPs through a ring, several times around it. */
static void run_nops(struct io_uring *ring, unsigned nr)
{
	struct test_cqe c;
	unsigned i;

	for (i = 0; i < nr; i++) {
		queue_nop(ring, i + 1, false);
		submit_nops(ring, 1);
		assert_int_equal(reap_one(ring, &c), 0);
		assert_true(c.user_data == i + 1);
		assert_int_equal(c.res, 0);
	}
}

static bool inside(const void *p, const void *buf, size_t size)
{
	return (const char *) p >= (const char *) buf &&
	       (const char *) p < (const char *) buf + size;
}

/* The application's buffer holds the SQEs, then the rings: the CQEs are
 * found there, and the call says how much of it the ring took. */
static void test_no_mmap_ring_in_app_buffer(void **state)
{
	size_t size = 16 * page_sz();
	void *buf = map_pages(16, MAP_SHARED);
	struct io_uring_params p;
	struct io_uring ring;
	int used;

	(void) state;
	memset(&p, 0, sizeof(p));
	used = io_uring_queue_init_mem(8, &ring, &p, buf, size);
	assert_true(used > 0 && (size_t) used <= size);
	assert_int_equal((size_t) used % page_sz(), 0);
	assert_true(ring.flags & IORING_SETUP_NO_MMAP);
	assert_true(ring.sq.sqes == buf);
	assert_true(inside(ring.cq.cqes, buf, (size_t) used));
	assert_true(inside(ring.cq.khead, buf, (size_t) used));
	assert_int_equal(*ring.sq.kring_entries, 8);
	assert_int_equal(*ring.cq.kring_entries, 16);
	run_nops(&ring, 40);
	io_uring_queue_exit(&ring);
	/* Private memory works too, and so does a ring with an SQ array. */
	buf = map_pages(16, MAP_PRIVATE);
	memset(&p, 0, sizeof(p));
	assert_true(io_uring_queue_init_mem(4, &ring, &p, buf, size) > 0);
	run_nops(&ring, 10);
	io_uring_queue_exit(&ring);
	munmap(buf, size);
}

/* Without a buffer, the library maps the memory itself. */
static void test_no_mmap_ring_in_library_memory(void **state)
{
	struct io_uring_params p;
	struct io_uring ring;

	(void) state;
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_NO_MMAP;
	assert_int_equal(io_uring_queue_init_params(8, &ring, &p), 0);
	run_nops(&ring, 20);
	io_uring_queue_exit(&ring);
}

static int setup_no_mmap(void *sqes, void *rings, unsigned entries,
			 unsigned flags, struct io_uring_params *p)
{
	int fd;

	memset(p, 0, sizeof(*p));
	p->flags = IORING_SETUP_NO_MMAP | flags;
	p->sq_off.user_addr = (__u64) (uintptr_t) sqes;
	p->cq_off.user_addr = (__u64) (uintptr_t) rings;
	fd = io_uring_setup(entries, p);
	if (fd >= 0)
		close(fd);
	return fd < 0 ? fd : 0;
}

/* The offsets io_uring_setup() returns point into the given memory. */
static void test_no_mmap_offsets_point_into_app_memory(void **state)
{
	char *mem = map_pages(2, MAP_PRIVATE);
	char *rings = mem + page_sz();
	struct io_uring_params p;

	(void) state;
	memset(mem, 0xab, 2 * page_sz());
	assert_int_equal(setup_no_mmap(mem, rings, 4, 0, &p), 0);
	/* The header starts zeroed, whatever the memory held. */
	assert_int_equal(*(unsigned *) (rings + p.sq_off.head), 0);
	assert_int_equal(*(unsigned *) (rings + p.sq_off.tail), 0);
	assert_int_equal(*(unsigned *) (rings + p.cq_off.head), 0);
	assert_int_equal(*(unsigned *) (rings + p.cq_off.tail), 0);
	assert_int_equal(*(unsigned *) (rings + p.sq_off.flags), 0);
	assert_int_equal(*(unsigned *) (rings + p.cq_off.overflow), 0);
	assert_int_equal(p.sq_entries, 4);
	assert_int_equal(p.cq_entries, 8);
	assert_true(p.sq_off.user_addr == (__u64) (uintptr_t) mem);
	assert_true(p.cq_off.user_addr == (__u64) (uintptr_t) rings);
	assert_int_equal(*(unsigned *) (rings + p.sq_off.ring_mask), 3);
	assert_int_equal(*(unsigned *) (rings + p.sq_off.ring_entries), 4);
	assert_int_equal(*(unsigned *) (rings + p.cq_off.ring_mask), 7);
	assert_int_equal(*(unsigned *) (rings + p.cq_off.ring_entries), 8);
	assert_true(p.cq_off.cqes + 8 * sizeof(struct io_uring_cqe) <=
		    p.sq_off.array);
	assert_true(p.sq_off.array + 4 * sizeof(unsigned) <= page_sz());
	assert_int_equal(setup_no_mmap(mem, rings, 4, IORING_SETUP_NO_SQARRAY,
				       &p), 0);
	assert_int_equal(p.sq_off.array, 0);
	munmap(mem, 2 * page_sz());
}

/*
 * The kernel pins the pages for writing: unaligned memory is -EINVAL,
 * memory not mapped writable in full -EFAULT, and a buffer too small for
 * the ring -ENOMEM before any setup.
 */
static void test_no_mmap_bad_memory(void **state)
{
	char *mem = map_pages(8, MAP_PRIVATE);
	size_t pg = page_sz();
	struct io_uring_params p;
	struct io_uring ring;

	(void) state;
	assert_int_equal(setup_no_mmap(mem + 64, mem + pg, 4, 0, &p), -EINVAL);
	assert_int_equal(setup_no_mmap(mem, mem + pg + 64, 4, 0, &p), -EINVAL);
	assert_int_equal(setup_no_mmap(NULL, mem + pg, 4, 0, &p), -EFAULT);
	assert_int_equal(setup_no_mmap(mem, NULL, 4, 0, &p), -EFAULT);
	assert_int_equal(munmap(mem + 7 * pg, pg), 0);
	assert_int_equal(setup_no_mmap(mem, mem + 7 * pg, 4, 0, &p), -EFAULT);
	assert_int_equal(setup_no_mmap(mem + 7 * pg, mem, 4, 0, &p), -EFAULT);
	/* 256 CQEs spill into the unmapped page; so do 128 SQEs. */
	assert_int_equal(setup_no_mmap(mem, mem + 6 * pg, 128, 0, &p), -EFAULT);
	assert_int_equal(setup_no_mmap(mem + 6 * pg, mem, 128, 0, &p), -EFAULT);
	assert_int_equal(mprotect(mem + 5 * pg, pg, PROT_READ), 0);
	assert_int_equal(setup_no_mmap(mem, mem + 5 * pg, 4, 0, &p), -EFAULT);
	assert_int_equal(setup_no_mmap(mem + 5 * pg, mem, 4, 0, &p), -EFAULT);
	memset(&p, 0, sizeof(p));
	assert_int_equal(io_uring_queue_init_mem(8, &ring, &p, mem, pg),
			 -ENOMEM);
	memset(&p, 0, sizeof(p));
	assert_int_equal(io_uring_queue_init_mem(8, &ring, &p, mem + 64,
						 4 * pg), -EINVAL);
	munmap(mem, 7 * pg);
}

/* A REGISTERED_FD_ONLY ring in 16 pages of its own. */
static int init_registered_only(struct io_uring *ring, void **mem)
{
	struct io_uring_params p;

	*mem = map_pages(16, MAP_SHARED);
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_REGISTERED_FD_ONLY;
	return io_uring_queue_init_mem(8, ring, &p, *mem, 16 * page_sz());
}

static void exit_registered_only(struct io_uring *ring, void *mem)
{
	io_uring_queue_exit(ring);
	munmap(mem, 16 * page_sz());
}

/*
 * The ring has no descriptor: setup returns its index among the calling
 * thread's registered rings, through which it is entered and registered
 * with; its exit frees the index.
 */
static void test_registered_fd_only_ring(void **state)
{
	struct io_uring_probe *probe;
	struct io_uring ring, again, anchor;
	struct io_uring_params p;
	void *mem, *mem2;
	int fds;

	(void) state;
	/* A ring of its own keeps the descriptors the engine opens with
	 * the process's first ring open throughout. */
	assert_int_equal(io_uring_queue_init(2, &anchor, 0), 0);
	fds = count_open_fds();
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_REGISTERED_FD_ONLY;
	assert_int_equal(io_uring_setup(4, &p), -EINVAL);	/* needs NO_MMAP */
	assert_true(init_registered_only(&ring, &mem) > 0);
	assert_int_equal(ring.ring_fd, -1);
	assert_true(ring.enter_ring_fd >= 0 && ring.enter_ring_fd < 16);
	assert_int_equal(count_open_fds(), fds);
	run_nops(&ring, 20);
	probe = io_uring_get_probe_ring(&ring);
	assert_non_null(probe);
	assert_true(io_uring_opcode_supported(probe, IORING_OP_NOP));
	io_uring_free_probe(probe);
	/* The index is the thread's: entering it plainly names no ring. */
	assert_true(io_uring_enter((unsigned) ring.enter_ring_fd, 0, 0, 0,
				   NULL) < 0);
	assert_true(init_registered_only(&again, &mem2) > 0);
	assert_int_not_equal(again.enter_ring_fd, ring.enter_ring_fd);
	exit_registered_only(&again, mem2);
	exit_registered_only(&ring, mem);
	assert_int_equal(count_open_fds(), fds);
	io_uring_queue_exit(&anchor);
}

/* With the thread's 16 entries taken, setup fails with -EBUSY and leaves
 * no ring behind. */
static void test_registered_fd_only_table_full(void **state)
{
	struct io_uring rings[16], ring;
	void *mem;
	int i, fds;

	(void) state;
	for (i = 0; i < 16; i++) {
		assert_int_equal(io_uring_queue_init(2, &rings[i], 0), 0);
		assert_int_equal(io_uring_register_ring_fd(&rings[i]), 1);
	}
	fds = count_open_fds();
	assert_int_equal(init_registered_only(&ring, &mem), -EBUSY);
	assert_int_equal(count_open_fds(), fds);
	io_uring_queue_exit(&rings[3]);
	assert_true(init_registered_only(&ring, &mem) > 0);
	run_nops(&ring, 4);
	exit_registered_only(&ring, mem);
	for (i = 0; i < 16; i++)
		if (i != 3)
			io_uring_queue_exit(&rings[i]);
}

#define DEFER_FLAGS	(IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SINGLE_ISSUER)

static void init_flags(struct io_uring *ring, unsigned entries, unsigned flags)
{
	struct io_uring_params p;

	memset(&p, 0, sizeof(p));
	p.flags = flags;
	assert_int_equal(io_uring_queue_init_params(entries, ring, &p), 0);
}

static int resize(struct io_uring *ring, unsigned sq, unsigned cq,
		  unsigned flags, struct io_uring_params *out)
{
	struct io_uring_params p;
	int ret;

	memset(&p, 0, sizeof(p));
	p.sq_entries = sq;
	p.cq_entries = cq;
	p.flags = flags;
	ret = io_uring_resize_rings(ring, &p);
	if (out)
		*out = p;
	return ret;
}

/* Only a DEFER_TASKRUN ring, with setup's sizing rules, CQSIZE and CLAMP
 * the only flags. */
static void test_resize_rules(void **state)
{
	struct io_uring_params p;
	struct io_uring ring;

	(void) state;
	init_flags(&ring, 8, 0);
	assert_int_equal(resize(&ring, 16, 0, 0, NULL), -EINVAL);
	io_uring_queue_exit(&ring);
	init_flags(&ring, 8, IORING_SETUP_SINGLE_ISSUER |
			     IORING_SETUP_COOP_TASKRUN);
	assert_int_equal(resize(&ring, 16, 0, 0, NULL), -EINVAL);
	io_uring_queue_exit(&ring);

	init_flags(&ring, 8, DEFER_FLAGS);
	assert_int_equal(resize(&ring, 16, 0, IORING_SETUP_SQPOLL, NULL),
			 -EINVAL);
	assert_int_equal(resize(&ring, 16, 0, IORING_SETUP_NO_SQARRAY, NULL),
			 -EINVAL);
	assert_int_equal(resize(&ring, 0, 0, 0, NULL), -EINVAL);
	assert_int_equal(resize(&ring, 100000, 0, 0, NULL), -EINVAL);
	assert_int_equal(resize(&ring, 16, 8, IORING_SETUP_CQSIZE, NULL),
			 -EINVAL);
	assert_int_equal(resize(&ring, 16, 0, IORING_SETUP_CQSIZE, NULL),
			 -EINVAL);
	assert_int_equal(io_uring_register(ring.ring_fd,
					   IORING_REGISTER_RESIZE_RINGS,
					   NULL, 1), -EINVAL);
	assert_int_equal(io_uring_register(ring.ring_fd,
					   IORING_REGISTER_RESIZE_RINGS,
					   (void *) 8, 1), -EFAULT);
	memset(&p, 0, sizeof(p));
	p.sq_entries = 8;
	assert_int_equal(io_uring_register(ring.ring_fd,
					   IORING_REGISTER_RESIZE_RINGS,
					   &p, 2), -EINVAL);
	assert_int_equal(resize(&ring, 5, 0, 0, &p), 0);
	assert_int_equal(p.sq_entries, 8);
	assert_int_equal(p.cq_entries, 16);
	assert_int_equal(*ring.sq.kring_entries, 8);
	assert_int_equal(*ring.cq.kring_entries, 16);
	run_nops(&ring, 40);
	assert_int_equal(resize(&ring, 100000, 0, IORING_SETUP_CLAMP, &p), 0);
	assert_int_equal(p.sq_entries, 32768);
	assert_int_equal(p.cq_entries, 65536);
	run_nops(&ring, 4);
	io_uring_queue_exit(&ring);
}

/* SQEs published but not submitted, and CQEs not seen, stay. */
static void test_resize_keeps_pending_entries(void **state)
{
	struct io_uring_params p;
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	__u64 want = 2;

	(void) state;
	init_flags(&ring, 4, DEFER_FLAGS);
	queue_nop(&ring, 1, false);
	queue_nop(&ring, 2, false);
	queue_nop(&ring, 3, false);
	submit_nops(&ring, 3);
	assert_int_equal(io_uring_peek_cqe(&ring, &cqe), 0);
	io_uring_cqe_seen(&ring, cqe);
	queue_nop(&ring, 4, false);
	queue_nop(&ring, 5, false);
	io_uring_smp_store_release(ring.sq.ktail, ring.sq.sqe_tail);
	ring.sq.sqe_head = ring.sq.sqe_tail;
	assert_int_equal(resize(&ring, 16, 64, IORING_SETUP_CQSIZE, &p), 0);
	assert_int_equal(p.sq_entries, 16);
	assert_int_equal(p.cq_entries, 64);
	assert_int_equal(*ring.cq.kring_entries, 64);
	assert_int_equal(io_uring_cq_ready(&ring), 2);
	assert_int_equal(*ring.sq.ktail - *ring.sq.khead, 2);
	assert_int_equal(io_uring_submit_and_wait(&ring, 4), 2);
	while (!io_uring_peek_cqe(&ring, &cqe)) {
		assert_true(cqe->user_data == want++);
		io_uring_cqe_seen(&ring, cqe);
	}
	assert_true(want == 6);
	io_uring_queue_exit(&ring);
}

/* CQEs waiting that the new ring could not hold: -EOVERFLOW, after the
 * parameters were written back, and the ring stays as it was. CQEs in
 * overflow stay there, and come out after. */
static void test_resize_overflow(void **state)
{
	struct io_uring_params p;
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	__u64 want[] = { 10, 20, 21, 22, 23 };
	unsigned i = 0;

	(void) state;
	init_flags(&ring, 4, DEFER_FLAGS);
	run_nops(&ring, 2);
	queue_nop(&ring, 1, false);
	queue_nop(&ring, 2, false);
	queue_nop(&ring, 3, false);
	submit_nops(&ring, 3);
	assert_int_equal(resize(&ring, 1, 2, IORING_SETUP_CQSIZE, &p),
			 -EOVERFLOW);
	assert_int_equal(p.sq_entries, 1);
	assert_int_equal(p.cq_entries, 2);
	assert_int_equal(*ring.cq.kring_entries, 8);
	assert_int_equal(io_uring_cq_ready(&ring), 3);
	io_uring_cq_advance(&ring, 3);
	assert_int_equal(resize(&ring, 1, 2, IORING_SETUP_CQSIZE, &p), 0);
	assert_int_equal(*ring.cq.kring_entries, 2);
	queue_nop(&ring, 10, false);
	assert_int_equal(io_uring_submit_and_wait(&ring, 1), 1);
	for (i = 0; i < 4; i++) {
		queue_nop(&ring, 20 + i, false);
		submit_nops(&ring, 1);
	}
	assert_true(io_uring_cq_has_overflow(&ring));
	assert_int_equal(resize(&ring, 4, 0, 0, NULL), 0);
	assert_int_equal(io_uring_cq_ready(&ring), 2);
	assert_true(io_uring_cq_has_overflow(&ring));
	for (i = 0; !io_uring_peek_cqe(&ring, &cqe); i++) {
		assert_true(i < 5);
		assert_true(cqe->user_data == want[i]);
		io_uring_cqe_seen(&ring, cqe);
	}
	assert_int_equal(i, 5);
	io_uring_queue_exit(&ring);
}

/* Requests in flight across a resize post into the new ring: a read
 * parked on a pipe and one a worker blocks in. */
static void test_resize_with_requests_in_flight(void **state)
{
	struct io_uring_sqe *sqe;
	struct io_uring ring;
	struct test_cqe c;
	char buf[2][8];
	int p[2][2], i;

	(void) state;
	init_flags(&ring, 4, DEFER_FLAGS);
	for (i = 0; i < 2; i++) {
		assert_int_equal(pipe(p[i]), 0);
		sqe = must_get_sqe(&ring);
		io_uring_prep_read(sqe, p[i][0], buf[i], sizeof(buf[i]), 0);
		sqe->user_data = (__u64) i + 1;
		if (i)
			sqe->flags |= IOSQE_ASYNC;
	}
	submit_nops(&ring, 2);
	assert_int_equal(resize(&ring, 64, 0, 0, NULL), 0);
	for (i = 0; i < 2; i++) {
		assert_int_equal(write(p[i][1], "resized", 8), 8);
		assert_int_equal(reap_one(&ring, &c), 0);
		assert_true(c.user_data == (__u64) i + 1);
		assert_int_equal(c.res, 8);
		assert_string_equal(buf[i], "resized");
		close(p[i][0]);
		close(p[i][1]);
	}
	run_nops(&ring, 100);
	io_uring_queue_exit(&ring);
}

/* The ring keeps its entry sizes. */
static void test_resize_keeps_entry_sizes(void **state)
{
	struct io_uring ring;
	struct io_uring_cqe *cqe;

	(void) state;
	init_flags(&ring, 4, DEFER_FLAGS | IORING_SETUP_SQE128 |
			     IORING_SETUP_CQE32);
	assert_int_equal(resize(&ring, 8, 0, 0, NULL), 0);
	run_nops(&ring, 20);
	io_uring_queue_exit(&ring);
	init_flags(&ring, 4, DEFER_FLAGS | IORING_SETUP_CQE_MIXED);
	assert_int_equal(resize(&ring, 8, 0, 0, NULL), 0);
	queue_nop(&ring, 5, true);
	assert_int_equal(io_uring_submit_and_wait(&ring, 1), 1);
	assert_int_equal(io_uring_peek_cqe(&ring, &cqe), 0);
	assert_true(cqe->user_data == 5);
	assert_int_equal(cqe->flags, IORING_CQE_F_32);
	assert_true(cqe->big_cqe[0] == 80);
	io_uring_cqe_seen(&ring, cqe);
	io_uring_queue_exit(&ring);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cqe_mixed_setup_rules),
		cmocka_unit_test(test_mixed_ring_big_and_small_cqes),
		cmocka_unit_test(test_big_cqe_at_ring_end_is_padded),
		cmocka_unit_test(test_big_cqe_overflows_after_padding),
		cmocka_unit_test(test_big_cqe_needs_contiguous_slots),
		cmocka_unit_test(test_count_timeout_counts_slots),
		cmocka_unit_test(test_sqe_mixed_modes_are_unknown),
		cmocka_unit_test(test_no_mmap_ring_in_app_buffer),
		cmocka_unit_test(test_no_mmap_ring_in_library_memory),
		cmocka_unit_test(test_no_mmap_offsets_point_into_app_memory),
		cmocka_unit_test(test_no_mmap_bad_memory),
		cmocka_unit_test(test_registered_fd_only_ring),
		cmocka_unit_test(test_registered_fd_only_table_full),
		cmocka_unit_test(test_resize_rules),
		cmocka_unit_test(test_resize_keeps_pending_entries),
		cmocka_unit_test(test_resize_overflow),
		cmocka_unit_test(test_resize_with_requests_in_flight),
		cmocka_unit_test(test_resize_keeps_entry_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif
