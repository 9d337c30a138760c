/* SPDX-License-Identifier: MIT */
/*
 * MSG_RING between two rings of the process: data messages (with the
 * sender's CQE flags or not), fixed files sent into a slot or a free one,
 * the kernel's errors (a disabled target, a descriptor that is not a ring,
 * bad fields), a target whose CQ has overflowed, a message to oneself, the
 * synchronous variant sent by no ring, and targets torn down while
 * messages are on their way.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include "helpers.h"

#ifndef IORING_MSG_RING_FLAGS_PASS
/* The system liburing of the kernel run predates these (liburing 2.15's). */
#define IORING_MSG_RING_FLAGS_PASS	(1U << 1)
#define IORING_REGISTER_SEND_MSG_RING	31

static inline void io_uring_prep_msg_ring_cqe_flags(struct io_uring_sqe *sqe,
						    int fd, unsigned int len,
						    __u64 data,
						    unsigned int flags,
						    unsigned int cqe_flags)
{
	io_uring_prep_rw(IORING_OP_MSG_RING, sqe, fd, NULL, len, data);
	sqe->msg_ring_flags = IORING_MSG_RING_FLAGS_PASS | flags;
	sqe->file_index = cqe_flags;
}

static inline void io_uring_prep_msg_ring_fd(struct io_uring_sqe *sqe, int fd,
					     int source_fd, int target_fd,
					     __u64 data, unsigned int flags)
{
	io_uring_prep_rw(IORING_OP_MSG_RING, sqe, fd,
			 (void *) (uintptr_t) IORING_MSG_SEND_FD, 0, data);
	sqe->addr3 = (__u64) source_fd;
	if ((unsigned int) target_fd == IORING_FILE_INDEX_ALLOC)
		target_fd--;
	sqe->file_index = (unsigned int) target_fd + 1;
	sqe->msg_ring_flags = flags;
}

static inline void io_uring_prep_msg_ring_fd_alloc(struct io_uring_sqe *sqe,
						   int fd, int source_fd,
						   __u64 data,
						   unsigned int flags)
{
	io_uring_prep_msg_ring_fd(sqe, fd, source_fd,
				  (int) IORING_FILE_INDEX_ALLOC, data, flags);
}

static inline int io_uring_register_sync_msg(struct io_uring_sqe *sqe)
{
	return io_uring_register((unsigned) -1, IORING_REGISTER_SEND_MSG_RING,
				 sqe, 1);
}
#endif

#define MSG_UD		0x5eed0001ULL	/* the sender's request */

struct rings {
	struct io_uring src, dst;
	int pipe[2];
};

static int setup_rings(void **state)
{
	struct rings *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	assert_int_equal(io_uring_queue_init(8, &r->src, 0), 0);
	assert_int_equal(io_uring_queue_init(8, &r->dst, 0), 0);
	assert_int_equal(pipe(r->pipe), 0);
	*state = r;
	return 0;
}

static int teardown_rings(void **state)
{
	struct rings *r = *state;

	io_uring_queue_exit(&r->src);
	io_uring_queue_exit(&r->dst);
	close(r->pipe[0]);
	close(r->pipe[1]);
	free(r);
	return 0;
}

/* Submits the SQE prepared on ring and returns its result. (On an SQPOLL
 * ring, io_uring_submit counts what the thread has not taken yet.) */
static int send_one(struct io_uring *ring)
{
	struct test_cqe c;

	assert_true(io_uring_submit(ring) >= 0);
	assert_int_equal(reap_in_engine(ring, &c), 0);
	assert_true(c.user_data == MSG_UD);
	return c.res;
}

static struct io_uring_sqe *msg_sqe(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	assert_non_null(sqe);
	return sqe;
}

static struct io_uring_sqe *msg_data(struct io_uring *ring, int fd,
				     unsigned len, __u64 data)
{
	struct io_uring_sqe *sqe = msg_sqe(ring);

	io_uring_prep_msg_ring(sqe, fd, len, data, 0);
	sqe->user_data = MSG_UD;
	return sqe;
}

static struct io_uring_sqe *msg_fd(struct io_uring *ring, int fd, int src_slot, int dst_slot,
		   __u64 data, unsigned flags)
{
	struct io_uring_sqe *sqe = msg_sqe(ring);

	if ((unsigned) dst_slot == IORING_FILE_INDEX_ALLOC)
		io_uring_prep_msg_ring_fd_alloc(sqe, fd, src_slot, data, flags);
	else
		io_uring_prep_msg_ring_fd(sqe, fd, src_slot, dst_slot, data,
					  flags);
	sqe->user_data = MSG_UD;
	return sqe;
}

static void expect_cqe(struct io_uring *ring, __u64 ud, int res, unsigned flags)
{
	struct test_cqe c;

	assert_int_equal(reap_in_engine(ring, &c), 0);
	assert_true(c.user_data == ud);
	assert_int_equal(c.res, res);
	assert_int_equal(c.flags, flags);
}

static void test_data(void **state)
{
	struct rings *r = *state;

	msg_data(&r->src, r->dst.ring_fd, 17, 0x1234);
	assert_int_equal(send_one(&r->src), 0);
	expect_cqe(&r->dst, 0x1234, 17, 0);
	/* len is the target's res as is, a negative one included. */
	msg_data(&r->src, r->dst.ring_fd, (unsigned) -5, 0x1235);
	assert_int_equal(send_one(&r->src), 0);
	expect_cqe(&r->dst, 0x1235, -5, 0);
	/* Sent from a worker, as IOSQE_ASYNC asks. */
	msg_data(&r->src, r->dst.ring_fd, 2, 0x1236)->flags |= IOSQE_ASYNC;
	assert_int_equal(send_one(&r->src), 0);
	expect_cqe(&r->dst, 0x1236, 2, 0);
	assert_true(cq_is_empty(&r->src));
	assert_true(cq_is_empty(&r->dst));
}

static void test_cqe_skip(void **state)
{
	struct rings *r = *state;
	struct io_uring_sqe *sqe = msg_sqe(&r->src);

	/* Nothing to skip in a data message: the kernel refuses it. */
	io_uring_prep_msg_ring(sqe, r->dst.ring_fd, 1, 0x77,
			       IORING_MSG_RING_CQE_SKIP);
	sqe->user_data = MSG_UD;
	assert_int_equal(send_one(&r->src), -EINVAL);
	assert_true(cq_is_empty(&r->dst));

	/* A file sent with it is installed, the target told nothing. */
	assert_int_equal(io_uring_register_files(&r->src, &r->pipe[1], 1), 0);
	assert_int_equal(io_uring_register_files_sparse(&r->dst, 1), 0);
	msg_fd(&r->src, r->dst.ring_fd, 0, (int) IORING_FILE_INDEX_ALLOC, 0x78,
	       IORING_MSG_RING_CQE_SKIP);
	assert_int_equal(send_one(&r->src), 0);	/* the slot allocated */
	assert_true(cq_is_empty(&r->dst));
	msg_fd(&r->src, r->dst.ring_fd, 0, (int) IORING_FILE_INDEX_ALLOC, 0x79,
	       0);
	assert_int_equal(send_one(&r->src), -ENFILE);
	assert_true(cq_is_empty(&r->dst));
}

static void test_flags_pass(void **state)
{
	struct rings *r = *state;
	struct io_uring_sqe *sqe = msg_sqe(&r->src);

	/* Bits liburing does not read itself (IORING_CQE_F_32, F_SKIP). */
	io_uring_prep_msg_ring_cqe_flags(sqe, r->dst.ring_fd, 3, 0x42, 0,
					 0x0bc0);
	sqe->user_data = MSG_UD;
	assert_int_equal(send_one(&r->src), 0);
	expect_cqe(&r->dst, 0x42, 3, 0x0bc0);

	/* Without FLAGS_PASS the field must be zero. */
	sqe = msg_sqe(&r->src);
	io_uring_prep_msg_ring(sqe, r->dst.ring_fd, 3, 0x43, 0);
	sqe->file_index = 1;
	sqe->user_data = MSG_UD;
	assert_int_equal(send_one(&r->src), -EINVAL);
	assert_true(cq_is_empty(&r->dst));
}

/* Writes a byte through fixed file slot of ring, reads it from rd. */
static void write_through_slot(struct io_uring *ring, int slot, int rd)
{
	struct io_uring_sqe *sqe = msg_sqe(ring);
	char c = 'x', got = 0;
	struct test_cqe cqe;

	io_uring_prep_write(sqe, slot, &c, 1, 0);
	sqe->flags |= IOSQE_FIXED_FILE;
	sqe->user_data = 9;
	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(reap_one(ring, &cqe), 0);
	assert_int_equal(cqe.res, 1);
	assert_int_equal(read(rd, &got, 1), 1);
	assert_int_equal(got, 'x');
}

static void test_send_fd(void **state)
{
	struct rings *r = *state;

	/* No table on the target, then on the source. */
	msg_fd(&r->src, r->dst.ring_fd, 0, 0, 1, 0);
	assert_int_equal(send_one(&r->src), -EBADF);
	assert_int_equal(io_uring_register_files(&r->src, r->pipe, 2), 0);
	msg_fd(&r->src, r->dst.ring_fd, 1, 0, 1, 0);
	assert_int_equal(send_one(&r->src), -ENXIO);
	assert_int_equal(io_uring_register_files_sparse(&r->dst, 3), 0);

	/* Into slot 2: the target's CQE says 0, the file works there. */
	msg_fd(&r->src, r->dst.ring_fd, 1, 2, 0x100, 0);
	assert_int_equal(send_one(&r->src), 0);
	expect_cqe(&r->dst, 0x100, 0, 0);
	write_through_slot(&r->dst, 2, r->pipe[0]);

	/* Allocated: both CQEs name the slot. */
	msg_fd(&r->src, r->dst.ring_fd, 1, (int) IORING_FILE_INDEX_ALLOC,
	       0x101, 0);
	assert_int_equal(send_one(&r->src), 0);
	expect_cqe(&r->dst, 0x101, 0, 0);
	msg_fd(&r->src, r->dst.ring_fd, 1, (int) IORING_FILE_INDEX_ALLOC,
	       0x102, 0);
	assert_int_equal(send_one(&r->src), 1);
	expect_cqe(&r->dst, 0x102, 1, 0);
	write_through_slot(&r->dst, 1, r->pipe[0]);
	msg_fd(&r->src, r->dst.ring_fd, 1, (int) IORING_FILE_INDEX_ALLOC,
	       0x103, 0);
	assert_int_equal(send_one(&r->src), -ENFILE);

	/* The kernel's other errors, the target told nothing. */
	msg_fd(&r->src, r->dst.ring_fd, 1, 3, 1, 0);	/* no slot 3 */
	assert_int_equal(send_one(&r->src), -EINVAL);
	msg_fd(&r->src, r->dst.ring_fd, 5, 0, 1, 0);	/* no source slot 5 */
	assert_int_equal(send_one(&r->src), -EBADF);
	msg_fd(&r->src, r->src.ring_fd, 1, 0, 1, 0);	/* to itself */
	assert_int_equal(send_one(&r->src), -EINVAL);
	msg_fd(&r->src, r->dst.ring_fd, 1, 0, 1, 0)->len = 1;
	assert_int_equal(send_one(&r->src), -EINVAL);
	{
		int empty = -1;

		assert_int_equal(io_uring_register_files_update(&r->src, 1,
								&empty, 1), 1);
	}
	msg_fd(&r->src, r->dst.ring_fd, 1, 0, 1, 0);	/* an empty slot */
	assert_int_equal(send_one(&r->src), -EBADF);
	assert_true(cq_is_empty(&r->dst));
}

static void test_disabled_target(void **state)
{
	struct rings *r = *state;
	struct io_uring off;

	assert_int_equal(io_uring_queue_init(4, &off, IORING_SETUP_R_DISABLED),
			 0);
	msg_data(&r->src, off.ring_fd, 1, 2);
	assert_int_equal(send_one(&r->src), -EBADFD);
	assert_int_equal(io_uring_register_files(&r->src, r->pipe, 1), 0);
	assert_int_equal(io_uring_register_files_sparse(&off, 1), 0);
	msg_fd(&r->src, off.ring_fd, 0, 0, 1, 0);
	assert_int_equal(send_one(&r->src), -EBADFD);
	io_uring_queue_exit(&off);
}

/* A message to a ring whose CQ overflowed queues behind what waits there. */
static void test_overflowed_target(void **state)
{
	struct rings *r = *state;
	struct io_uring small;
	unsigned i, cq_entries;

	assert_int_equal(io_uring_queue_init(2, &small, 0), 0);
	cq_entries = *small.cq.kring_entries;
	for (i = 0; i < cq_entries + 2; i++) {
		struct io_uring_sqe *sqe = msg_sqe(&small);

		io_uring_prep_nop(sqe);
		io_uring_sqe_set_data64(sqe, 0);
		assert_int_equal(io_uring_submit(&small), 1);
	}
	assert_true(*small.sq.kflags & IORING_SQ_CQ_OVERFLOW);
	msg_data(&r->src, small.ring_fd, 7, 0x99);
	assert_int_equal(send_one(&r->src), 0);
	assert_int_equal(io_uring_register_files(&r->src, r->pipe, 1), 0);
	assert_int_equal(io_uring_register_files_sparse(&small, 1), 0);
	msg_fd(&r->src, small.ring_fd, 0, (int) IORING_FILE_INDEX_ALLOC, 0x9a,
	       0);
	assert_int_equal(send_one(&r->src), 0);
	for (i = 0; i < cq_entries + 2; i++)
		expect_cqe(&small, 0, 0, 0);
	expect_cqe(&small, 0x99, 7, 0);
	expect_cqe(&small, 0x9a, 0, 0);
	assert_int_equal(*small.cq.koverflow, 0);
	io_uring_queue_exit(&small);
}

static void test_bad_target(void **state)
{
	struct rings *r = *state;
	struct io_uring_sqe *sqe;

	msg_data(&r->src, r->pipe[0], 1, 2);		/* not a ring */
	assert_int_equal(send_one(&r->src), -EBADFD);
	msg_data(&r->src, 1000, 1, 2);			/* not open */
	assert_int_equal(send_one(&r->src), -EBADF);
	msg_data(&r->src, -1, 1, 2);
	assert_int_equal(send_one(&r->src), -EBADF);

	/* A fixed file is looked up, and is never a ring. */
	assert_int_equal(io_uring_register_files(&r->src, r->pipe, 1), 0);
	msg_data(&r->src, 0, 1, 2)->flags |= IOSQE_FIXED_FILE;
	assert_int_equal(send_one(&r->src), -EBADFD);
	msg_data(&r->src, 1, 1, 2)->flags |= IOSQE_FIXED_FILE;
	assert_int_equal(send_one(&r->src), -EBADF);

	/* Bad fields: command, flags, buf_index, ioprio. */
	sqe = msg_sqe(&r->src);
	io_uring_prep_msg_ring(sqe, r->dst.ring_fd, 1, 2, 0);
	sqe->addr = 2;
	sqe->user_data = MSG_UD;
	assert_int_equal(send_one(&r->src), -EINVAL);
	sqe = msg_sqe(&r->src);
	io_uring_prep_msg_ring(sqe, r->dst.ring_fd, 1, 2, 1U << 2);
	sqe->user_data = MSG_UD;
	assert_int_equal(send_one(&r->src), -EINVAL);
	sqe = msg_sqe(&r->src);
	io_uring_prep_msg_ring(sqe, r->dst.ring_fd, 1, 2, 0);
	sqe->buf_index = 1;
	sqe->user_data = MSG_UD;
	assert_int_equal(send_one(&r->src), -EINVAL);
	sqe = msg_sqe(&r->src);
	io_uring_prep_msg_ring(sqe, r->dst.ring_fd, 1, 2, 0);
	sqe->ioprio = 1;
	sqe->user_data = MSG_UD;
	assert_int_equal(send_one(&r->src), -EINVAL);
	sqe = msg_sqe(&r->src);
	io_uring_prep_msg_ring(sqe, r->dst.ring_fd, 1, 2, 0);
	sqe->addr3 = 1;
	sqe->user_data = MSG_UD;
	assert_int_equal(send_one(&r->src), -EINVAL);
	assert_true(cq_is_empty(&r->dst));
}

/* To its own ring: the message's CQE, then the sender's. */
static void test_to_self(void **state)
{
	struct rings *r = *state;

	msg_data(&r->src, r->src.ring_fd, 9, 0x5e1f);
	assert_int_equal(io_uring_submit(&r->src), 1);
	expect_cqe(&r->src, 0x5e1f, 9, 0);
	expect_cqe(&r->src, MSG_UD, 0, 0);
}

static int sync_msg(int fd, unsigned cmd, unsigned flags, __u64 data)
{
	struct io_uring_sqe sqe;

	memset(&sqe, 0, sizeof(sqe));
	io_uring_prep_msg_ring(&sqe, fd, 5, data, flags);
	sqe.addr = cmd;
	return io_uring_register_sync_msg(&sqe);
}

static void test_sync(void **state)
{
	struct rings *r = *state;
	struct io_uring_sqe sqe;
	struct io_uring off;

	assert_int_equal(sync_msg(r->dst.ring_fd, IORING_MSG_DATA, 0, 0x51), 0);
	expect_cqe(&r->dst, 0x51, 5, 0);
	memset(&sqe, 0, sizeof(sqe));
	io_uring_prep_msg_ring_cqe_flags(&sqe, r->dst.ring_fd, 6, 0x52, 0, 0x40);
	assert_int_equal(io_uring_register_sync_msg(&sqe), 0);
	expect_cqe(&r->dst, 0x52, 6, 0x40);

	/* The kernel's checks. */
	assert_int_equal(sync_msg(r->dst.ring_fd, IORING_MSG_SEND_FD, 0, 1),
			 -EINVAL);
	assert_int_equal(sync_msg(r->dst.ring_fd, IORING_MSG_DATA,
				  IORING_MSG_RING_CQE_SKIP, 1), -EINVAL);
	assert_int_equal(sync_msg(r->pipe[0], IORING_MSG_DATA, 0, 1), -EBADFD);
	assert_int_equal(sync_msg(1000, IORING_MSG_DATA, 0, 1), -EBADF);
	assert_int_equal(io_uring_queue_init(4, &off, IORING_SETUP_R_DISABLED),
			 0);
	assert_int_equal(sync_msg(off.ring_fd, IORING_MSG_DATA, 0, 1), -EBADFD);
	io_uring_queue_exit(&off);
	memset(&sqe, 0, sizeof(sqe));
	io_uring_prep_msg_ring(&sqe, r->dst.ring_fd, 1, 1, 0);
	sqe.flags = IOSQE_IO_LINK;
	assert_int_equal(io_uring_register_sync_msg(&sqe), -EINVAL);
	sqe.flags = 0;
	sqe.opcode = IORING_OP_NOP;
	assert_int_equal(io_uring_register_sync_msg(&sqe), -EINVAL);
	sqe.opcode = IORING_OP_MSG_RING;
	assert_int_equal(io_uring_register((unsigned) -1,
					   IORING_REGISTER_SEND_MSG_RING,
					   &sqe, 2), -EINVAL);
	assert_int_equal(io_uring_register((unsigned) -1,
					   IORING_REGISTER_SEND_MSG_RING,
					   NULL, 1), -EINVAL);
	assert_int_equal(io_uring_register((unsigned) -1,
					   IORING_REGISTER_SEND_MSG_RING,
					   (void *) 8, 1), -EFAULT);
	/* Only with no ring. */
	assert_int_equal(io_uring_register(r->src.ring_fd,
					   IORING_REGISTER_SEND_MSG_RING,
					   &sqe, 1), -EINVAL);
	assert_true(cq_is_empty(&r->dst));
}

struct sender {
	int fd;
	int res;
};

static void *send_from_thread(void *arg)
{
	struct sender *s = arg;
	struct io_uring ring;

	if (io_uring_queue_init(2, &ring, 0))
		return NULL;
	msg_data(&ring, s->fd, 11, 0xde7e);
	s->res = send_one(&ring);
	io_uring_queue_exit(&ring);
	return NULL;
}

/* A DEFER_TASKRUN target gets a message from another thread's ring. */
static void test_defer_taskrun_target(void **state)
{
	struct io_uring_params p;
	struct io_uring target;
	struct sender s = { .res = 1 };
	struct test_cqe c;
	pthread_t t;

	(void) state;
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
	assert_int_equal(io_uring_queue_init_params(4, &target, &p), 0);
	s.fd = target.ring_fd;
	assert_int_equal(pthread_create(&t, NULL, send_from_thread, &s), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(s.res, 0);
	assert_int_equal(reap_in_engine(&target, &c), 0);
	assert_true(c.user_data == 0xde7e);
	assert_int_equal(c.res, 11);
	io_uring_queue_exit(&target);
}

/* IOPOLL rings send and take messages (completions reaped by waiting). */
static void test_iopoll_rings(void **state)
{
	struct io_uring a, b;
	struct test_cqe c;

	(void) state;
	assert_int_equal(io_uring_queue_init(4, &a, IORING_SETUP_IOPOLL), 0);
	assert_int_equal(io_uring_queue_init(4, &b, IORING_SETUP_IOPOLL), 0);
	msg_data(&a, b.ring_fd, 4, 0x10b);
	assert_int_equal(send_one(&a), 0);
	assert_int_equal(reap_in_engine(&b, &c), 0);
	assert_true(c.user_data == 0x10b);
	assert_int_equal(c.res, 4);
	io_uring_queue_exit(&a);
	io_uring_queue_exit(&b);
}

/*
 * Targets torn down while messages to them are in flight, from a plain
 * ring, an SQPOLL ring and the synchronous variant: each message is
 * delivered or fails as one to a closed descriptor would, and nothing
 * crashes or hangs.
 */
#define TEARDOWN_ROUNDS	200
#define TEARDOWN_MSGS	8

static void *exit_target(void *arg)
{
	io_uring_queue_exit(arg);
	return NULL;
}

static bool send_result_ok(int res)
{
	return res == 0 || res == -EBADF || res == -EBADFD;
}

/* Sends a batch of messages to fd, and one by the synchronous variant:
 * whether they all arrived. */
static bool send_batch(struct io_uring *src, int fd)
{
	bool all = true;
	struct test_cqe c;
	int i, res;

	for (i = 0; i < TEARDOWN_MSGS; i++)
		msg_data(src, fd, 1, 1);
	assert_true(io_uring_submit(src) >= 0);
	res = sync_msg(fd, IORING_MSG_DATA, 0, 1);
	assert_true(send_result_ok(res));
	all = res == 0;
	for (i = 0; i < TEARDOWN_MSGS; i++) {
		assert_int_equal(reap_in_engine(src, &c), 0);
		assert_true(send_result_ok(c.res));
		all = all && c.res == 0;
	}
	return all;
}

/* Messages keep going to the target until its descriptor is gone. */
static void race_round(struct io_uring *src)
{
	struct io_uring target;
	pthread_t t;
	int fd;

	assert_int_equal(io_uring_queue_init(4, &target, 0), 0);
	fd = target.ring_fd;
	msg_data(src, fd, 1, 1);
	assert_int_equal(send_one(src), 0);	/* it was alive */
	assert_int_equal(pthread_create(&t, NULL, exit_target, &target), 0);
	while (send_batch(src, fd))
		;
	assert_int_equal(pthread_join(t, NULL), 0);
}

static void test_target_teardown(void **state)
{
	struct io_uring src;
	struct io_uring_params p;
	int i;

	(void) state;
	assert_int_equal(io_uring_queue_init(16, &src, 0), 0);
	for (i = 0; i < TEARDOWN_ROUNDS; i++)
		race_round(&src);
	io_uring_queue_exit(&src);

	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SQPOLL;
	p.sq_thread_idle = 100;
	assert_int_equal(io_uring_queue_init_params(16, &src, &p), 0);
	for (i = 0; i < TEARDOWN_ROUNDS; i++)
		race_round(&src);
	io_uring_queue_exit(&src);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup_rings, teardown_rings)
	const struct CMUnitTest tests[] = {
		T(test_data),
		T(test_cqe_skip),
		T(test_flags_pass),
		T(test_send_fd),
		T(test_disabled_target),
		T(test_overflowed_target),
		T(test_bad_target),
		T(test_to_self),
		T(test_sync),
		cmocka_unit_test(test_defer_taskrun_target),
		cmocka_unit_test(test_iopoll_rings),
		cmocka_unit_test(test_target_teardown),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
