/* SPDX-License-Identifier: MIT */
/*
 * Errors: bad descriptors, wrong access modes, bad buffers, unknown opcodes
 * and SQE flags, how io_uring_submit() counts a batch with a failing SQE
 * (with and without IORING_SETUP_SUBMIT_ALL), and an out-of-range SQ index.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <sys/uio.h>
#include "helpers.h"

static int closed_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	close(fd);
	return fd;
}

static void prep_op_on_fd(struct io_uring_sqe *sqe, int op, int fd,
			  void *buf, struct iovec *iov)
{
	switch (op) {
	case IORING_OP_READ:
		io_uring_prep_read(sqe, fd, buf, 16, 0);
		break;
	case IORING_OP_WRITE:
		io_uring_prep_write(sqe, fd, buf, 16, 0);
		break;
	case IORING_OP_READV:
		io_uring_prep_readv(sqe, fd, iov, 1, 0);
		break;
	case IORING_OP_WRITEV:
		io_uring_prep_writev(sqe, fd, iov, 1, 0);
		break;
	case IORING_OP_FSYNC:
		io_uring_prep_fsync(sqe, fd, 0);
		break;
	case IORING_OP_FALLOCATE:
		io_uring_prep_fallocate(sqe, fd, 0, 0, 4096);
		break;
	case IORING_OP_FADVISE:
		io_uring_prep_fadvise(sqe, fd, 0, 4096, POSIX_FADV_NORMAL);
		break;
	case IORING_OP_SYNC_FILE_RANGE:
		io_uring_prep_sync_file_range(sqe, fd, 4096, 0,
					      SYNC_FILE_RANGE_WRITE);
		break;
	default:
		fail();
	}
}

static const int fd_ops[] = {
	IORING_OP_READ, IORING_OP_WRITE, IORING_OP_READV, IORING_OP_WRITEV,
	IORING_OP_FSYNC, IORING_OP_FALLOCATE, IORING_OP_FADVISE,
	IORING_OP_SYNC_FILE_RANGE,
};
#define NR_FD_OPS (sizeof(fd_ops) / sizeof(fd_ops[0]))

static void check_every_op_gives_ebadf(struct io_uring *ring, int fd)
{
	char buf[16];
	struct iovec iov = { buf, sizeof(buf) };

	for (unsigned i = 0; i < NR_FD_OPS; i++) {
		struct io_uring_sqe *sqe = must_get_sqe(ring);

		prep_op_on_fd(sqe, fd_ops[i], fd, buf, &iov);
		sqe->user_data = 100 + i;
		assert_int_equal(submit_one_and_wait(ring, 100 + i), -EBADF);
	}
}

static void test_fd_minus_one_is_ebadf_for_every_op(void **state)
{
	struct fixture *f = *state;

	check_every_op_gives_ebadf(&f->ring, -1);
}

static void test_closed_fd_is_ebadf_for_every_op(void **state)
{
	struct fixture *f = *state;

	check_every_op_gives_ebadf(&f->ring, closed_fd());
}

static void test_write_to_read_only_fd_is_ebadf(void **state)
{
	struct fixture *f = *state;
	int fd = make_pattern_file(f->dir, "ro", 4096, 1, O_RDONLY);
	char buf[16] = "0123456789abcdef", back[16];
	struct iovec iov = { buf, sizeof(buf) };
	struct io_uring_sqe *sqe;

	assert_true(fd >= 0);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_write(sqe, fd, buf, sizeof(buf), 0);
	sqe->user_data = 1;
	assert_int_equal(submit_one_and_wait(&f->ring, 1), -EBADF);

	sqe = must_get_sqe(&f->ring);
	io_uring_prep_writev(sqe, fd, &iov, 1, 0);
	sqe->user_data = 2;
	assert_int_equal(submit_one_and_wait(&f->ring, 2), -EBADF);

	assert_int_equal(pread(fd, back, sizeof(back), 0), sizeof(back));
	assert_true(check_pattern(back, sizeof(back), 0, 1));
	close(fd);
}

static void test_read_from_write_only_fd_is_ebadf(void **state)
{
	struct fixture *f = *state;
	int fd = make_pattern_file(f->dir, "wo", 4096, 1, O_WRONLY);
	char buf[16];
	struct iovec iov = { buf, sizeof(buf) };
	struct io_uring_sqe *sqe;

	assert_true(fd >= 0);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_read(sqe, fd, buf, sizeof(buf), 0);
	sqe->user_data = 3;
	assert_int_equal(submit_one_and_wait(&f->ring, 3), -EBADF);

	sqe = must_get_sqe(&f->ring);
	io_uring_prep_readv(sqe, fd, &iov, 1, 0);
	sqe->user_data = 4;
	assert_int_equal(submit_one_and_wait(&f->ring, 4), -EBADF);
	close(fd);
}

static void test_null_buffer_with_length_is_efault(void **state)
{
	struct fixture *f = *state;
	int fd = make_pattern_file(f->dir, "f", 4096, 1, O_RDWR);
	struct io_uring_sqe *sqe;

	assert_true(fd >= 0);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_read(sqe, fd, NULL, 10, 0);
	sqe->user_data = 5;
	assert_int_equal(submit_one_and_wait(&f->ring, 5), -EFAULT);

	sqe = must_get_sqe(&f->ring);
	io_uring_prep_write(sqe, fd, NULL, 10, 0);
	sqe->user_data = 6;
	assert_int_equal(submit_one_and_wait(&f->ring, 6), -EFAULT);
	assert_int_equal(file_size(fd), 4096);
	close(fd);
}

static void test_null_iovec_array_is_efault(void **state)
{
	struct fixture *f = *state;
	int fd = make_pattern_file(f->dir, "f", 4096, 1, O_RDWR);
	struct io_uring_sqe *sqe;

	assert_true(fd >= 0);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_readv(sqe, fd, NULL, 1, 0);
	sqe->user_data = 7;
	assert_int_equal(submit_one_and_wait(&f->ring, 7), -EFAULT);

	sqe = must_get_sqe(&f->ring);
	io_uring_prep_writev(sqe, fd, NULL, 1, 0);
	sqe->user_data = 8;
	assert_int_equal(submit_one_and_wait(&f->ring, 8), -EFAULT);
	close(fd);
}

static void test_iovec_with_null_base_is_efault(void **state)
{
	struct fixture *f = *state;
	int fd = make_pattern_file(f->dir, "f", 4096, 1, O_RDWR);
	struct iovec iov = { NULL, 10 };
	struct io_uring_sqe *sqe;

	assert_true(fd >= 0);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_readv(sqe, fd, &iov, 1, 0);
	sqe->user_data = 9;
	assert_int_equal(submit_one_and_wait(&f->ring, 9), -EFAULT);

	sqe = must_get_sqe(&f->ring);
	io_uring_prep_writev(sqe, fd, &iov, 1, 0);
	sqe->user_data = 10;
	assert_int_equal(submit_one_and_wait(&f->ring, 10), -EFAULT);
	close(fd);
}

static void test_unknown_opcode_is_einval_in_cqe(void **state)
{
	struct fixture *f = *state;
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);
	struct test_cqe c;

	io_uring_prep_nop(sqe);
	sqe->opcode = 250;
	sqe->user_data = 0x1234567890ULL;
	assert_int_equal(io_uring_submit(&f->ring), 1);
	assert_int_equal(reap_one(&f->ring, &c), 0);
	assert_true(c.user_data == 0x1234567890ULL);
	assert_int_equal(c.res, -EINVAL);
	assert_int_equal(c.flags, 0);
	assert_true(cq_is_empty(&f->ring));
}

static void test_unknown_sqe_flag_is_einval(void **state)
{
	struct fixture *f = *state;
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	io_uring_prep_nop(sqe);
	sqe->flags = 1u << 7;
	sqe->user_data = 11;
	assert_int_equal(submit_one_and_wait(&f->ring, 11), -EINVAL);
}

/* Unknown flag on a write: it fails before any data moves. */
static void test_unknown_sqe_flag_on_write_writes_nothing(void **state)
{
	struct fixture *f = *state;
	int fd = make_empty_file(f->dir, "f");
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	assert_true(fd >= 0);
	io_uring_prep_write(sqe, fd, "abcd", 4, 0);
	sqe->flags = 1u << 7;
	sqe->user_data = 12;
	assert_int_equal(submit_one_and_wait(&f->ring, 12), -EINVAL);
	assert_int_equal(file_size(fd), 0);
	close(fd);
}

static void test_read_on_directory_is_eisdir(void **state)
{
	struct fixture *f = *state;
	int fd = open(f->dir, O_RDONLY | O_DIRECTORY);
	char buf[16];
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	assert_true(fd >= 0);
	io_uring_prep_read(sqe, fd, buf, sizeof(buf), 0);
	sqe->user_data = 13;
	assert_int_equal(submit_one_and_wait(&f->ring, 13), -EISDIR);
	close(fd);
}

/* An O_PATH descriptor is no file to do I/O on. */
static void test_o_path_fd_is_ebadf(void **state)
{
	struct fixture *f = *state;
	int real = make_pattern_file(f->dir, "f", 4096, 1, O_RDONLY);
	char path[PATH_MAX], buf[16];
	struct io_uring_sqe *sqe;
	int fd;

	assert_true(real >= 0);
	join_path(path, f->dir, "f");
	fd = open(path, O_PATH);
	assert_true(fd >= 0);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_read(sqe, fd, buf, sizeof(buf), 0);
	sqe->user_data = 14;
	assert_int_equal(submit_one_and_wait(&f->ring, 14), -EBADF);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_fsync(sqe, fd, 0);
	sqe->user_data = 15;
	assert_int_equal(submit_one_and_wait(&f->ring, 15), -EBADF);
	close(fd);
	close(real);
}

static void test_write_beyond_max_file_size_is_efbig(void **state)
{
	struct fixture *f = *state;
	int fd = make_empty_file(f->dir, "f");
	struct io_uring_sqe *sqe = must_get_sqe(&f->ring);

	assert_true(fd >= 0);
	io_uring_prep_write(sqe, fd, "abcd", 4, 1ULL << 50);
	sqe->user_data = 16;
	assert_int_equal(submit_one_and_wait(&f->ring, 16), -EFBIG);
	assert_int_equal(file_size(fd), 0);
	close(fd);
}

/* offset + length past the largest loff_t. */
static void test_offset_overflowing_loff_t_is_einval(void **state)
{
	struct fixture *f = *state;
	int fd = make_pattern_file(f->dir, "f", 4096, 1, O_RDWR);
	char buf[16];
	struct io_uring_sqe *sqe;

	assert_true(fd >= 0);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_read(sqe, fd, buf, sizeof(buf), (1ULL << 63) - 5);
	sqe->user_data = 17;
	assert_int_equal(submit_one_and_wait(&f->ring, 17), -EINVAL);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_write(sqe, fd, buf, sizeof(buf), (1ULL << 63) - 5);
	sqe->user_data = 18;
	assert_int_equal(submit_one_and_wait(&f->ring, 18), -EINVAL);
	close(fd);
}

static void test_enter_unknown_flag_is_einval(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(io_uring_enter(f->ring.ring_fd, 0, 0, 1u << 31, NULL),
			 -EINVAL);
}

static void test_enter_and_register_on_non_ring_fd(void **state)
{
	int p[2];

	(void) state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(io_uring_enter(p[0], 0, 0, 0, NULL), -EOPNOTSUPP);
	assert_int_equal(io_uring_register(p[0], IORING_UNREGISTER_BUFFERS,
					   NULL, 0), -EOPNOTSUPP);
	assert_int_equal(io_uring_enter(closed_fd(), 0, 0, 0, NULL), -EBADF);
	assert_int_equal(io_uring_register(closed_fd(), IORING_UNREGISTER_BUFFERS,
					   NULL, 0), -EBADF);
	close(p[0]);
	close(p[1]);
}

static void test_register_unknown_opcode_is_einval(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(io_uring_register(f->ring.ring_fd, 200, NULL, 0), -EINVAL);
}

/* The kernel's opcode and flag, past the system liburing's header. */
#define SEND_MSG_RING_OPCODE	31u
#define MSG_RING_FLAGS_PASS	(1u << 1)

static int send_msg_ring(int target, __u64 ud, __u32 len, __u32 cqe_flags)
{
	struct io_uring_sqe sqe;

	memset(&sqe, 0, sizeof(sqe));
	sqe.opcode = IORING_OP_MSG_RING;
	sqe.fd = target;
	sqe.off = ud;
	sqe.len = len;
	if (cqe_flags) {
		sqe.msg_ring_flags = MSG_RING_FLAGS_PASS;
		sqe.file_index = cqe_flags;
	}
	return io_uring_register(-1, SEND_MSG_RING_OPCODE, &sqe, 1);
}

/*
 * Descriptor -1 names no ring: it selects the registrations that need none.
 * The kernel takes only SEND_MSG_RING there, a MSG_RING data message posted
 * straight into the target ring; everything else is -EINVAL, and so is an
 * opcode past the last one whatever the descriptor.
 */
static void test_register_without_a_ring(void **state)
{
	struct fixture *f = *state;
	struct io_uring_cqe *cqe;
	struct io_uring_sqe sqe;
	int p[2];

	assert_int_equal(io_uring_register(-1, IORING_REGISTER_PROBE, NULL, 0),
			 -EINVAL);
	assert_int_equal(io_uring_register(-1, IORING_UNREGISTER_BUFFERS,
					   NULL, 0), -EINVAL);
	assert_int_equal(io_uring_register(closed_fd(), 200, NULL, 0), -EINVAL);
	assert_int_equal(io_uring_register(-1, SEND_MSG_RING_OPCODE, NULL, 1),
			 -EINVAL);
	memset(&sqe, 0, sizeof(sqe));
	sqe.opcode = IORING_OP_MSG_RING;
	sqe.fd = f->ring.ring_fd;
	assert_int_equal(io_uring_register(-1, SEND_MSG_RING_OPCODE, &sqe, 2),
			 -EINVAL);
	sqe.addr = 1;		/* IORING_MSG_SEND_FD: no ring to send from */
	assert_int_equal(io_uring_register(-1, SEND_MSG_RING_OPCODE, &sqe, 1),
			 -EINVAL);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(send_msg_ring(p[0], 1, 2, 0), -EBADFD);
	assert_int_equal(send_msg_ring(closed_fd(), 1, 2, 0), -EBADF);
	close(p[0]);
	close(p[1]);

	assert_int_equal(send_msg_ring(f->ring.ring_fd, 0x55, 7, 0), 0);
	/* Passed flags, clear of the ones liburing itself acts on
	 * (IORING_CQE_F_SKIP, IORING_CQE_F_32). */
	assert_int_equal(send_msg_ring(f->ring.ring_fd, 0x56, 8, 0x0bc0), 0);
	assert_int_equal(io_uring_wait_cqe(&f->ring, &cqe), 0);
	assert_int_equal(cqe->user_data, 0x55);
	assert_int_equal(cqe->res, 7);
	assert_int_equal(cqe->flags, 0);
	io_uring_cqe_seen(&f->ring, cqe);
	assert_int_equal(io_uring_wait_cqe(&f->ring, &cqe), 0);
	assert_int_equal(cqe->user_data, 0x56);
	assert_int_equal(cqe->res, 8);
	assert_int_equal(cqe->flags, 0x0bc0);
	io_uring_cqe_seen(&f->ring, cqe);
}

static void queue_nops(struct io_uring *ring, unsigned n, int bad)
{
	for (unsigned i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = must_get_sqe(ring);

		io_uring_prep_nop(sqe);
		if ((int) i == bad)
			sqe->opcode = 250;
		sqe->user_data = i;
	}
}

static void expect_cqe(struct io_uring *ring, __u64 ud, int res)
{
	struct test_cqe c;

	assert_int_equal(reap_one(ring, &c), 0);
	assert_true(c.user_data == ud);
	assert_int_equal(c.res, res);
}

/*
 * Without SUBMIT_ALL the kernel stops at the SQE that fails at prep time:
 * submit returns the count up to and including it (it is consumed and gets
 * its error CQE); the rest stay in the SQ for the next submit.
 */
static void test_submit_stops_after_failed_sqe(void **state)
{
	struct fixture *f = *state;

	queue_nops(&f->ring, 4, 1);
	assert_int_equal(io_uring_submit(&f->ring), 2);
	assert_int_equal(io_uring_sq_ready(&f->ring), 2);
	assert_int_equal(io_uring_cq_ready(&f->ring), 2);
	expect_cqe(&f->ring, 0, 0);
	expect_cqe(&f->ring, 1, -EINVAL);
	assert_true(cq_is_empty(&f->ring));

	assert_int_equal(io_uring_submit(&f->ring), 2);
	assert_int_equal(io_uring_sq_ready(&f->ring), 0);
	expect_cqe(&f->ring, 2, 0);
	expect_cqe(&f->ring, 3, 0);
	assert_true(cq_is_empty(&f->ring));
}

static void test_submit_failed_first_sqe_returns_one(void **state)
{
	struct fixture *f = *state;

	queue_nops(&f->ring, 3, 0);
	assert_int_equal(io_uring_submit(&f->ring), 1);
	assert_int_equal(io_uring_sq_ready(&f->ring), 2);
	expect_cqe(&f->ring, 0, -EINVAL);
	assert_true(cq_is_empty(&f->ring));
	assert_int_equal(io_uring_submit(&f->ring), 2);
	expect_cqe(&f->ring, 1, 0);
	expect_cqe(&f->ring, 2, 0);
}

static void test_submit_failed_last_sqe_counts_all(void **state)
{
	struct fixture *f = *state;

	queue_nops(&f->ring, 3, 2);
	assert_int_equal(io_uring_submit(&f->ring), 3);
	assert_int_equal(io_uring_sq_ready(&f->ring), 0);
	expect_cqe(&f->ring, 0, 0);
	expect_cqe(&f->ring, 1, 0);
	expect_cqe(&f->ring, 2, -EINVAL);
}

static int submit_all_setup(void **state)
{
	return fixture_setup_ring(state, 8, IORING_SETUP_SUBMIT_ALL);
}

/* A ring with an SQ array: since liburing 2.15, io_uring_queue_init()
 * sets rings up without one (IORING_SETUP_NO_SQARRAY) where it can. */
static int sq_array_setup(void **state)
{
	struct io_uring_params p;
	struct fixture *f;
	unsigned i;
	int fd;

	if (fixture_setup(state))
		return -1;
	f = *state;
	io_uring_queue_exit(&f->ring);
	memset(&p, 0, sizeof(p));
	fd = io_uring_setup(8, &p);
	if (fd < 0 || io_uring_queue_mmap(fd, &p, &f->ring))
		return -1;
	for (i = 0; i < f->ring.sq.ring_entries; i++)
		f->ring.sq.array[i] = i;
	return 0;
}

static void test_submit_all_continues_past_failed_sqe(void **state)
{
	struct fixture *f = *state;

	queue_nops(&f->ring, 4, 1);
	assert_int_equal(io_uring_submit(&f->ring), 4);
	assert_int_equal(io_uring_sq_ready(&f->ring), 0);
	expect_cqe(&f->ring, 0, 0);
	expect_cqe(&f->ring, 1, -EINVAL);
	expect_cqe(&f->ring, 2, 0);
	expect_cqe(&f->ring, 3, 0);
	assert_true(cq_is_empty(&f->ring));
}

/*
 * An SQ array entry naming a slot >= sq entries: the kernel consumes it
 * (SQ head moves), counts it in sq.kdropped, posts no CQE, and
 * io_uring_enter() returns 0 (nothing submitted).
 *
 * liburing fills sq.array with the identity mapping once at setup and never
 * writes it again, so the test restores the entry it corrupts.
 */
static void test_out_of_range_sq_index_is_dropped(void **state)
{
	struct fixture *f = *state;
	struct io_uring *ring = &f->ring;
	unsigned tail = *ring->sq.ktail, head = *ring->sq.khead;
	unsigned slot = tail & ring->sq.ring_mask;
	unsigned dropped = *ring->sq.kdropped;
	struct io_uring_sqe *sqe;

	assert_int_equal(head, tail);
	io_uring_prep_nop(&ring->sq.sqes[slot]);
	ring->sq.sqes[slot].user_data = 77;
	ring->sq.array[slot] = ring->sq.ring_entries + 92;
	io_uring_smp_store_release(ring->sq.ktail, tail + 1);

	assert_int_equal(io_uring_enter(ring->ring_fd, 1, 0, 0, NULL), 0);
	assert_int_equal(io_uring_smp_load_acquire(ring->sq.khead), tail + 1);
	assert_int_equal(*ring->sq.kdropped, dropped + 1);
	assert_int_equal(io_uring_cq_ready(ring), 0);
	assert_true(cq_is_empty(ring));

	/* Put things back as liburing keeps them, and the ring still works. */
	ring->sq.array[slot] = slot;
	ring->sq.sqe_head = ring->sq.sqe_tail = tail + 1;
	sqe = must_get_sqe(ring);
	io_uring_prep_nop(sqe);
	sqe->user_data = 78;
	assert_int_equal(submit_one_and_wait(ring, 78), 0);
	assert_int_equal(*ring->sq.kdropped, dropped + 1);
	assert_true(cq_is_empty(ring));
}

/*
 * A dropped index in the middle of a batch ends that submission like a
 * failed SQE does: enter returns the count before it, the SQ head moves past
 * the dropped entry, and the SQEs after it stay queued for the next enter.
 */
static void test_out_of_range_sq_index_mid_batch_stops_submit(void **state)
{
	struct fixture *f = *state;
	struct io_uring *ring = &f->ring;
	unsigned tail = *ring->sq.ktail;
	unsigned mask = ring->sq.ring_mask;

	for (unsigned i = 0; i < 3; i++) {
		unsigned slot = (tail + i) & mask;

		io_uring_prep_nop(&ring->sq.sqes[slot]);
		ring->sq.sqes[slot].user_data = 200 + i;
	}
	ring->sq.array[(tail + 1) & mask] = 0xffffffffu;
	io_uring_smp_store_release(ring->sq.ktail, tail + 3);

	assert_int_equal(io_uring_enter(ring->ring_fd, 3, 0, 0, NULL), 1);
	assert_int_equal(io_uring_smp_load_acquire(ring->sq.khead), tail + 2);
	assert_int_equal(*ring->sq.kdropped, 1);
	expect_cqe(ring, 200, 0);
	assert_true(cq_is_empty(ring));

	/* The third is still there; asking for more than is queued is fine. */
	assert_int_equal(io_uring_enter(ring->ring_fd, 5, 0, 0, NULL), 1);
	assert_int_equal(io_uring_smp_load_acquire(ring->sq.khead), tail + 3);
	assert_int_equal(*ring->sq.kdropped, 1);
	expect_cqe(ring, 202, 0);
	assert_true(cq_is_empty(ring));
	assert_int_equal(io_uring_enter(ring->ring_fd, 1, 0, 0, NULL), 0);

	ring->sq.array[(tail + 1) & mask] = (tail + 1) & mask;
	ring->sq.sqe_head = ring->sq.sqe_tail = tail + 3;
}

/* Errors never stop later, independent requests in the same batch. */
static void test_error_cqe_does_not_affect_neighbours(void **state)
{
	struct fixture *f = *state;
	int fd = make_pattern_file(f->dir, "f", 4096, 1, O_RDONLY);
	char buf[100];
	struct io_uring_sqe *sqe;
	unsigned char seen[3] = { 0 };

	assert_true(fd >= 0);
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_read(sqe, -1, buf, sizeof(buf), 0);
	sqe->user_data = 0;
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_read(sqe, fd, buf, sizeof(buf), 0);
	sqe->user_data = 1;
	sqe = must_get_sqe(&f->ring);
	io_uring_prep_write(sqe, fd, buf, sizeof(buf), 0);
	sqe->user_data = 2;
	assert_int_equal(io_uring_submit(&f->ring), 3);
	for (int i = 0; i < 3; i++) {
		struct test_cqe c;

		assert_int_equal(reap_one(&f->ring, &c), 0);
		assert_true(c.user_data < 3);
		assert_int_equal(seen[c.user_data], 0);
		seen[c.user_data] = 1;
		if (c.user_data == 1)
			assert_int_equal(c.res, 100);
		else
			assert_int_equal(c.res, -EBADF);
	}
	assert_true(check_pattern(buf, sizeof(buf), 0, 1));
	close(fd);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_fd_minus_one_is_ebadf_for_every_op),
		T(test_closed_fd_is_ebadf_for_every_op),
		T(test_write_to_read_only_fd_is_ebadf),
		T(test_read_from_write_only_fd_is_ebadf),
		T(test_null_buffer_with_length_is_efault),
		T(test_null_iovec_array_is_efault),
		T(test_iovec_with_null_base_is_efault),
		T(test_read_on_directory_is_eisdir),
		T(test_o_path_fd_is_ebadf),
		T(test_write_beyond_max_file_size_is_efbig),
		T(test_offset_overflowing_loff_t_is_einval),
		T(test_unknown_opcode_is_einval_in_cqe),
		T(test_unknown_sqe_flag_is_einval),
		T(test_unknown_sqe_flag_on_write_writes_nothing),
		T(test_submit_stops_after_failed_sqe),
		T(test_submit_failed_first_sqe_returns_one),
		T(test_submit_failed_last_sqe_counts_all),
		cmocka_unit_test_setup_teardown(test_submit_all_continues_past_failed_sqe,
						submit_all_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_out_of_range_sq_index_is_dropped,
						sq_array_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_out_of_range_sq_index_mid_batch_stops_submit,
						sq_array_setup, fixture_teardown),
		T(test_error_cqe_does_not_affect_neighbours),
		T(test_enter_unknown_flag_is_einval),
		T(test_enter_and_register_on_non_ring_fd),
		T(test_register_unknown_opcode_is_einval),
		T(test_register_without_a_ring),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
