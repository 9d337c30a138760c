/* SPDX-License-Identifier: MIT */
/*
 * Provided buffers beyond receives: READ and READV with IOSQE_BUFFER_SELECT
 * on files, pipes and sockets (when a buffer is used, and when it goes back
 * to its group), SEND from a provided buffer, IORING_REGISTER_PBUF_STATUS, rings the engine allocates
 * (IOU_PBUF_RING_MMAP) and rings consumed incrementally (IOU_PBUF_RING_INC).
 * Every expected value is what Linux 6.18 does.
 *
 * liburing 2.3 knows none of the newer names: the flags, the status
 * structure and the register opcode are spelled out here, and on the
 * kernel the register call is the raw system call.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include "helpers.h"

#define PBUF_RING_MMAP		1u
#define PBUF_RING_INC		2u
#define REGISTER_PBUF_STATUS	26u
#define CQE_F_BUF_MORE		(1u << 4)
#define OFF_PBUF_RING		0x80000000ULL
#define OFF_PBUF_SHIFT		16

struct pbuf_status {
	__u32 buf_group;
	__u32 head;
	__u32 resv[8];
};

#define BUF_LEN		64
#define NR_BUFS		8

static char bufs[NR_BUFS][BUF_LEN];

static int setup_ring(void **state)
{
	return fixture_setup_ring(state, 32, 0);
}

static int raw_register(struct io_uring *ring, unsigned op, void *arg,
			unsigned nr)
{
#ifdef TEST_KERNEL
	return syscall(__NR_io_uring_register, ring->ring_fd, op, arg, nr) ?
	       -errno : 0;
#else
	return io_uring_register((unsigned) ring->ring_fd, op, arg, nr);
#endif
}

/* The engine's head of group bgid's ring, or -errno. */
static int ring_head(struct io_uring *ring, int bgid)
{
#ifdef TEST_KERNEL
	struct pbuf_status st;
	int ret;

	memset(&st, 0, sizeof(st));
	st.buf_group = (__u32) bgid;
	ret = raw_register(ring, REGISTER_PBUF_STATUS, &st, 1);
	return ret ? ret : (int) st.head;
#else
	uint16_t head;
	int ret = io_uring_buf_ring_head(ring, bgid, &head);

	return ret ? ret : head;
#endif
}

/* struct io_uring_buf_reg's flags were "pad" in liburing 2.3. */
static void reg_set_flags(struct io_uring_buf_reg *reg, __u16 flags)
{
	memcpy((char *) reg + offsetof(struct io_uring_buf_reg, bgid) +
	       sizeof(reg->bgid), &flags, sizeof(flags));
}

static int register_ring(struct io_uring *ring, void *addr, unsigned entries,
			 int bgid, unsigned flags)
{
	struct io_uring_buf_reg reg;

	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (unsigned long) addr;
	reg.ring_entries = entries;
	reg.bgid = (__u16) bgid;
	reg_set_flags(&reg, (__u16) flags);
	return io_uring_register_buf_ring(ring, &reg, 0);
}

static void *map_engine_ring(struct io_uring *ring, int bgid)
{
	void *br = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_POPULATE, ring->ring_fd,
			(off_t) (OFF_PBUF_RING | ((__u64) bgid << OFF_PBUF_SHIFT)));

	assert_true(br != MAP_FAILED);
	return br;
}

/* Fills a ring with the NR_BUFS buffers of bufs[], bid i at bufs[i]. */
static void fill(struct io_uring_buf_ring *br)
{
	unsigned i;

	io_uring_buf_ring_init(br);
	for (i = 0; i < NR_BUFS; i++)
		io_uring_buf_ring_add(br, bufs[i], BUF_LEN, (unsigned short) i,
				      io_uring_buf_ring_mask(NR_BUFS), (int) i);
	io_uring_buf_ring_advance(br, NR_BUFS);
}

/* A ring in the application's memory, registered and filled. */
static struct io_uring_buf_ring *app_ring(struct io_uring *ring, int bgid,
					  unsigned flags)
{
	struct io_uring_buf_ring *br;

	br = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		  MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	assert_true(br != MAP_FAILED);
	assert_int_equal(register_ring(ring, br, NR_BUFS, bgid, flags), 0);
	fill(br);
	return br;
}

static struct io_uring_sqe *prep_read_select(struct io_uring *ring, int fd,
					     unsigned len, __u64 off, int bgid,
					     __u64 ud)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);

	io_uring_prep_read(sqe, fd, NULL, len, off);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = (__u16) bgid;
	sqe->user_data = ud;
	return sqe;
}

static struct io_uring_sqe *recv_select(struct io_uring *ring, int fd,
					int bgid, bool multishot)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);

	if (multishot)
		io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
	else
		io_uring_prep_recv(sqe, fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = (__u16) bgid;
	return sqe;
}

static void run(struct io_uring *ring, struct test_cqe *c)
{
	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(reap_in_engine(ring, c), 0);
}

static int bid_of(const struct test_cqe *c)
{
	return (c->flags & IORING_CQE_F_BUFFER) ?
	       (int) (c->flags >> IORING_CQE_BUFFER_SHIFT) : -1;
}

/* A file of 200 pattern bytes, opened for reading. */
static int pattern_file(char *dir, int flags)
{
	int fd;

	assert_int_equal(make_tmpdir(dir), 0);
	fd = make_pattern_file(dir, "data", 200, 3, flags);
	assert_true(fd >= 0);
	return fd;
}

/*
 * A file does not poll: its buffer is taken before the read and named by
 * the CQE whatever the result, even end of file or a failed read. Errors
 * found before a buffer is chosen (a bad descriptor, no buffer) name none.
 */
static void test_read_file(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	char dir[PATH_MAX];
	int fd = pattern_file(dir, O_RDONLY), wfd, badfd;
	struct io_uring_buf_ring *br = app_ring(ring, 1, 0);
	struct test_cqe c;

	assert_int_equal(ring_head(ring, 1), 0);
	prep_read_select(ring, fd, 100, 0, 1, 1);
	run(ring, &c);
	assert_int_equal(c.res, BUF_LEN);	/* at most the buffer */
	assert_int_equal(bid_of(&c), 0);
	assert_true(check_pattern(bufs[0], BUF_LEN, 0, 3));
	assert_int_equal(ring_head(ring, 1), 1);

	prep_read_select(ring, fd, 0, 180, 1, 2);	/* 0: the whole buffer */
	run(ring, &c);
	assert_int_equal(c.res, 20);
	assert_int_equal(bid_of(&c), 1);
	assert_true(check_pattern(bufs[1], 20, 180, 3));

	prep_read_select(ring, fd, 10, 500, 1, 3);
	run(ring, &c);
	assert_int_equal(c.res, 0);
	assert_int_equal(bid_of(&c), 2);

	wfd = make_pattern_file(dir, "wo", 10, 1, O_WRONLY);
	assert_true(wfd >= 0);
	prep_read_select(ring, wfd, 10, 0, 1, 4);
	run(ring, &c);
	assert_int_equal(c.res, -EBADF);
	assert_int_equal(bid_of(&c), 3);
	assert_int_equal(ring_head(ring, 1), 4);

	badfd = dup(wfd);
	close(badfd);
	prep_read_select(ring, badfd, 10, 0, 1, 5);
	run(ring, &c);
	assert_int_equal(c.res, -EBADF);
	assert_int_equal(bid_of(&c), -1);
	prep_read_select(ring, fd, 10, 0, 77, 6);
	run(ring, &c);
	assert_int_equal(c.res, -ENOBUFS);
	assert_int_equal(bid_of(&c), -1);
	assert_int_equal(ring_head(ring, 1), 4);

	/* The address is not used: the data goes to the buffer. */
	{
		struct io_uring_sqe *sqe = must_get_sqe(ring);
		char other[16];

		memset(other, 0, sizeof(other));
		io_uring_prep_read(sqe, fd, other, sizeof(other), 16);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = 1;
		run(ring, &c);
		assert_int_equal(c.res, 16);
		assert_int_equal(bid_of(&c), 4);
		assert_true(check_pattern(bufs[4], 16, 16, 3));
		assert_int_equal(other[0], 0);
	}
	assert_int_equal(io_uring_unregister_buf_ring(ring, 1), 0);
	munmap(br, 4096);
	close(wfd);
	close(fd);
	remove_tmpdir(dir);
}

/* READV names its limit with exactly one iovec. */
static void test_readv(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	char dir[PATH_MAX];
	int fd = pattern_file(dir, O_RDONLY);
	struct io_uring_buf_ring *br = app_ring(ring, 2, 0);
	struct iovec iov[2] = { { NULL, 30 }, { NULL, 30 } };
	struct io_uring_sqe *sqe;
	struct test_cqe c;
	unsigned nr;

	sqe = must_get_sqe(ring);
	io_uring_prep_readv(sqe, fd, iov, 1, 8);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = 2;
	run(ring, &c);
	assert_int_equal(c.res, 30);
	assert_int_equal(bid_of(&c), 0);
	assert_true(check_pattern(bufs[0], 30, 8, 3));
	for (nr = 0; nr <= 2; nr += 2) {
		sqe = must_get_sqe(ring);
		io_uring_prep_readv(sqe, fd, iov, nr, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = 2;
		run(ring, &c);
		assert_int_equal(c.res, -EINVAL);
		assert_int_equal(bid_of(&c), -1);
	}
	sqe = must_get_sqe(ring);
	io_uring_prep_readv(sqe, fd, NULL, 1, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = 2;
	run(ring, &c);
	assert_int_equal(c.res, -EFAULT);
	assert_int_equal(ring_head(ring, 2), 1);
	io_uring_unregister_buf_ring(ring, 2);
	munmap(br, 4096);
	close(fd);
	remove_tmpdir(dir);
}

/* Only reads select buffers: a write or a fixed-buffer read refuses. */
static void test_select_refused(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct io_uring_buf_ring *br = app_ring(ring, 3, 0);
	struct io_uring_sqe *sqe;
	struct test_cqe c;
	int p[2];

	assert_int_equal(pipe(p), 0);
	sqe = must_get_sqe(ring);
	io_uring_prep_write(sqe, p[1], NULL, 4, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = 3;
	run(ring, &c);
	assert_int_equal(c.res, -EOPNOTSUPP);
	sqe = must_get_sqe(ring);
	io_uring_prep_read_fixed(sqe, p[0], NULL, 4, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = 3;
	run(ring, &c);
	assert_int_equal(c.res, -EOPNOTSUPP);
	assert_int_equal(ring_head(ring, 3), 0);
	io_uring_unregister_buf_ring(ring, 3);
	munmap(br, 4096);
	close(p[0]);
	close(p[1]);
}

/*
 * A pipe polls: a read waiting for data holds no buffer, and one that
 * fails gives it back. The end of the stream uses one, as the kernel does.
 */
static void test_read_pipe(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct io_uring_buf_ring *br = app_ring(ring, 4, 0);
	struct io_uring_sqe *sqe;
	struct test_cqe c;
	int p[2];

	assert_int_equal(pipe(p), 0);
	prep_read_select(ring, p[0], 0, 0, 4, 1);
	assert_int_equal(io_uring_submit(ring), 1);
	sleep_ms(20);
	assert_true(cq_is_empty(ring));
	assert_int_equal(ring_head(ring, 4), 0);
	assert_int_equal(write(p[1], "hello", 5), 5);
	assert_int_equal(reap_in_engine(ring, &c), 0);
	assert_int_equal(c.res, 5);
	assert_int_equal(bid_of(&c), 0);
	assert_memory_equal(bufs[0], "hello", 5);
	assert_int_equal(ring_head(ring, 4), 1);

	sqe = prep_read_select(ring, p[0], 0, 0, 4, 2);
	sqe->rw_flags = RWF_NOWAIT;
	run(ring, &c);
	assert_int_equal(c.res, -EAGAIN);
	assert_int_equal(bid_of(&c), -1);

	prep_read_select(ring, p[1], 0, 0, 4, 3);	/* the write end */
	run(ring, &c);
	assert_int_equal(c.res, -EBADF);
	assert_int_equal(bid_of(&c), -1);
	assert_int_equal(ring_head(ring, 4), 1);

	close(p[1]);
	prep_read_select(ring, p[0], 0, 0, 4, 4);
	run(ring, &c);
	assert_int_equal(c.res, 0);
	assert_int_equal(bid_of(&c), 1);
	assert_int_equal(ring_head(ring, 4), 2);
	io_uring_unregister_buf_ring(ring, 4);
	munmap(br, 4096);
	close(p[0]);
}

/* Buffers given with PROVIDE_BUFFERS: same rules, and no status. */
static void test_read_provided_list(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	char dir[PATH_MAX];
	int fd = pattern_file(dir, O_RDONLY);
	struct pbuf_status st;
	struct test_cqe c;

	io_uring_prep_provide_buffers(must_get_sqe(ring), bufs, BUF_LEN, 2, 7, 0);
	run(ring, &c);
	assert_int_equal(c.res, 0);
	prep_read_select(ring, fd, 0, 500, 7, 1);
	run(ring, &c);
	assert_int_equal(c.res, 0);
	assert_int_equal(bid_of(&c), 0);
	prep_read_select(ring, fd, 0, 64, 7, 2);
	run(ring, &c);
	assert_int_equal(c.res, BUF_LEN);
	assert_int_equal(bid_of(&c), 1);
	assert_true(check_pattern(bufs[1], BUF_LEN, 64, 3));
	prep_read_select(ring, fd, 0, 0, 7, 3);
	run(ring, &c);
	assert_int_equal(c.res, -ENOBUFS);

	assert_int_equal(ring_head(ring, 7), -EINVAL);	/* not a ring */
	assert_int_equal(ring_head(ring, 99), -ENOENT);
	memset(&st, 0, sizeof(st));
	st.buf_group = 7;
	st.resv[3] = 1;
	assert_int_equal(raw_register(ring, REGISTER_PBUF_STATUS, &st, 1), -EINVAL);
	st.resv[3] = 0;
	assert_int_equal(raw_register(ring, REGISTER_PBUF_STATUS, &st, 2), -EINVAL);
	assert_int_equal(raw_register(ring, REGISTER_PBUF_STATUS, NULL, 1), -EINVAL);
	close(fd);
	remove_tmpdir(dir);
}

/* Registration checks, in the kernel's order. */
static void test_register_errors(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	void *mem = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE,
			 MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);

	assert_true(mem != MAP_FAILED);
	assert_int_equal(register_ring(ring, mem, 4, 1, 4), -EINVAL);
	assert_int_equal(register_ring(ring, NULL, 4, 1, 0), -EFAULT);
	assert_int_equal(register_ring(ring, (char *) mem + 16, 4, 1, 0), -EINVAL);
	assert_int_equal(register_ring(ring, NULL, 3, 1, PBUF_RING_MMAP), -EINVAL);
	munmap((char *) mem + 4096, 4096);
	assert_int_equal(register_ring(ring, (char *) mem + 4096, 4, 1, 0), -EFAULT);
	assert_int_equal(register_ring(ring, mem, 4, 1, 0), 0);
	assert_int_equal(register_ring(ring, NULL, 4, 1, PBUF_RING_MMAP), -EEXIST);
	assert_int_equal(io_uring_unregister_buf_ring(ring, 1), 0);
	munmap(mem, 4096);
}

/* IOU_PBUF_RING_MMAP: the engine allocates the ring; the application maps
 * it from the ring descriptor, at the group's offset. */
static void test_mmap_ring(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct io_uring_buf_ring *br;
	struct test_cqe c;
	int sv[2];

	assert_int_equal(register_ring(ring, NULL, NR_BUFS, 5, PBUF_RING_MMAP), 0);
	br = map_engine_ring(ring, 5);
	fill(br);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[0], "xyz", 3), 3);
	recv_select(ring, sv[1], 5, false);
	run(ring, &c);
	assert_int_equal(c.res, 3);
	assert_int_equal(bid_of(&c), 0);
	assert_memory_equal(bufs[0], "xyz", 3);
	assert_int_equal(ring_head(ring, 5), 1);
	munmap(br, 4096);

	/* A new registration starts from a zeroed ring. */
	assert_int_equal(io_uring_unregister_buf_ring(ring, 5), 0);
	assert_int_equal(register_ring(ring, NULL, NR_BUFS, 5, PBUF_RING_MMAP), 0);
	br = map_engine_ring(ring, 5);
	assert_int_equal(br->tail, 0);
	assert_int_equal(br->bufs[0].addr, 0);
	munmap(br, 4096);
	assert_int_equal(io_uring_unregister_buf_ring(ring, 5), 0);
	close(sv[0]);
	close(sv[1]);
}

#define BUF_FLAGS(c)	((c).flags & (IORING_CQE_F_BUFFER | CQE_F_BUF_MORE | \
				      IORING_CQE_F_MORE))

/*
 * IOU_PBUF_RING_INC: a receive takes only what it uses of the head buffer
 * and says so with IORING_CQE_F_BUF_MORE; the engine writes the entry's
 * new address and length back, and moves the head once it is used up.
 */
static void test_inc_recv(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct io_uring_buf_ring *br = app_ring(ring, 6, PBUF_RING_INC);
	char data[80];
	struct test_cqe c;
	int sv[2];

	fill_pattern(data, sizeof(data), 0, 5);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[0], data, 10), 10);
	recv_select(ring, sv[1], 6, false);
	run(ring, &c);
	assert_int_equal(c.res, 10);
	assert_int_equal(BUF_FLAGS(c), IORING_CQE_F_BUFFER | CQE_F_BUF_MORE);
	assert_int_equal(bid_of(&c), 0);
	assert_int_equal(ring_head(ring, 6), 0);
	assert_true(br->bufs[0].addr == (unsigned long) (bufs[0] + 10));
	assert_int_equal(br->bufs[0].len, BUF_LEN - 10);

	assert_int_equal(write(sv[0], data + 10, 70), 70);
	recv_select(ring, sv[1], 6, false);
	run(ring, &c);
	assert_int_equal(c.res, BUF_LEN - 10);
	assert_int_equal(BUF_FLAGS(c), IORING_CQE_F_BUFFER);
	assert_int_equal(bid_of(&c), 0);
	assert_true(check_pattern(bufs[0], BUF_LEN, 0, 5));
	assert_int_equal(ring_head(ring, 6), 1);
	recv_select(ring, sv[1], 6, false);
	run(ring, &c);
	assert_int_equal(c.res, 16);
	assert_int_equal(BUF_FLAGS(c), IORING_CQE_F_BUFFER | CQE_F_BUF_MORE);
	assert_int_equal(bid_of(&c), 1);
	assert_true(check_pattern(bufs[1], 16, BUF_LEN, 5));
	io_uring_unregister_buf_ring(ring, 6);
	munmap(br, 4096);
	close(sv[0]);
	close(sv[1]);
}

/* A multishot receive on an incremental ring keeps filling one buffer. */
static void test_inc_multishot(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct io_uring_buf_ring *br = app_ring(ring, 8, PBUF_RING_INC);
	char data[100];
	struct test_cqe c;
	int sv[2];

	fill_pattern(data, sizeof(data), 0, 6);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[0], data, 10), 10);
	recv_select(ring, sv[1], 8, true);
	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(reap_in_engine(ring, &c), 0);
	assert_int_equal(c.res, 10);
	assert_int_equal(BUF_FLAGS(c), IORING_CQE_F_BUFFER | CQE_F_BUF_MORE |
				       IORING_CQE_F_MORE);
	assert_int_equal(write(sv[0], data + 10, 90), 90);
	assert_int_equal(reap_in_engine(ring, &c), 0);
	assert_int_equal(c.res, BUF_LEN - 10);
	assert_int_equal(BUF_FLAGS(c), IORING_CQE_F_BUFFER | IORING_CQE_F_MORE);
	assert_int_equal(bid_of(&c), 0);
	assert_int_equal(reap_in_engine(ring, &c), 0);
	assert_int_equal(c.res, 100 - BUF_LEN);
	assert_int_equal(BUF_FLAGS(c), IORING_CQE_F_BUFFER | CQE_F_BUF_MORE |
				       IORING_CQE_F_MORE);
	assert_int_equal(bid_of(&c), 1);
	assert_true(check_pattern(bufs[0], BUF_LEN, 0, 6));
	assert_true(check_pattern(bufs[1], 100 - BUF_LEN, BUF_LEN, 6));
	close(sv[0]);		/* the stream ends: so does the request */
	assert_int_equal(reap_in_engine(ring, &c), 0);
	assert_int_equal(c.res, 0);
	assert_int_equal(c.flags & IORING_CQE_F_MORE, 0);
	io_uring_unregister_buf_ring(ring, 8);
	munmap(br, 4096);
	close(sv[1]);
}

/* A file read on an incremental ring takes the length it asks for. */
static void test_inc_file(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	char dir[PATH_MAX];
	int fd = pattern_file(dir, O_RDONLY);
	struct io_uring_buf_ring *br = app_ring(ring, 9, PBUF_RING_INC);
	struct test_cqe c;

	prep_read_select(ring, fd, 10, 0, 9, 1);
	run(ring, &c);
	assert_int_equal(c.res, 10);
	assert_int_equal(BUF_FLAGS(c), IORING_CQE_F_BUFFER | CQE_F_BUF_MORE);
	assert_int_equal(br->bufs[0].len, BUF_LEN - 10);
	prep_read_select(ring, fd, 0, 190, 9, 2);	/* 10 bytes left */
	run(ring, &c);
	assert_int_equal(c.res, 10);
	assert_int_equal(BUF_FLAGS(c), IORING_CQE_F_BUFFER);
	assert_int_equal(bid_of(&c), 0);
	assert_true(check_pattern(bufs[0], 10, 0, 3));
	assert_true(check_pattern(bufs[0] + 10, 10, 190, 3));
	assert_int_equal(ring_head(ring, 9), 1);
	io_uring_unregister_buf_ring(ring, 9);
	munmap(br, 4096);
	close(fd);
	remove_tmpdir(dir);
}

static void prep_send_select(struct io_uring *ring, int fd, unsigned len,
			     int bgid)
{
	struct io_uring_sqe *sqe = must_get_sqe(ring);

	io_uring_prep_send(sqe, fd, NULL, len, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = (__u16) bgid;
}

/*
 * SEND sends from a provided buffer (at most len bytes of it). The buffer
 * is taken before the send and named whatever the result; a descriptor
 * that is no socket fails first and takes none; a missing group is
 * -ENOENT here, not -ENOBUFS. SENDMSG does not select.
 */
static void test_send_select(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct io_uring_buf_ring *br;
	struct io_uring_sqe *sqe;
	struct msghdr msg;
	struct test_cqe c;
	char got[BUF_LEN];
	int sv[2], p[2];

	br = app_ring(ring, 11, 0);
	memset(bufs[0], 'a', BUF_LEN);
	memset(bufs[1], 'b', BUF_LEN);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	prep_send_select(ring, sv[0], 0, 11);
	run(ring, &c);
	assert_int_equal(c.res, BUF_LEN);
	assert_int_equal(bid_of(&c), 0);
	assert_int_equal(read(sv[1], got, sizeof(got)), BUF_LEN);
	assert_memory_equal(got, bufs[0], BUF_LEN);
	prep_send_select(ring, sv[0], 5, 11);
	run(ring, &c);
	assert_int_equal(c.res, 5);
	assert_int_equal(bid_of(&c), 1);
	assert_int_equal(read(sv[1], got, sizeof(got)), 5);
	assert_memory_equal(got, "bbbbb", 5);

	prep_send_select(ring, sv[0], 0, 12);
	run(ring, &c);
	assert_int_equal(c.res, -ENOENT);
	assert_int_equal(pipe(p), 0);
	prep_send_select(ring, p[1], 0, 11);
	run(ring, &c);
	assert_int_equal(c.res, -ENOTSOCK);
	assert_int_equal(bid_of(&c), -1);
	memset(&msg, 0, sizeof(msg));
	sqe = must_get_sqe(ring);
	io_uring_prep_sendmsg(sqe, sv[0], &msg, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = 11;
	run(ring, &c);
	assert_int_equal(c.res, -EOPNOTSUPP);
	assert_int_equal(ring_head(ring, 11), 2);

	close(sv[1]);
	prep_send_select(ring, sv[0], 0, 11);
	run(ring, &c);
	assert_int_equal(c.res, -EPIPE);
	assert_int_equal(bid_of(&c), 2);
	assert_int_equal(ring_head(ring, 11), 3);
	io_uring_unregister_buf_ring(ring, 11);
	munmap(br, 4096);
	close(sv[0]);
	close(p[0]);
	close(p[1]);
}

/* A send that waits for room has already taken its buffer. */
static void test_send_select_waits(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct io_uring_buf_ring *br = app_ring(ring, 13, 0);
	static char drain[1 << 16];
	struct test_cqe c;
	int sv[2];

	memset(bufs[0], 'q', BUF_LEN);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	while (write(sv[0], drain, sizeof(drain)) > 0)
		;
	prep_send_select(ring, sv[0], 0, 13);
	assert_int_equal(io_uring_submit(ring), 1);
	sleep_ms(20);
	assert_true(cq_is_empty(ring));
	assert_int_equal(ring_head(ring, 13), 1);
	while (read(sv[1], drain, sizeof(drain)) == (ssize_t) sizeof(drain))
		;
	assert_int_equal(reap_in_engine(ring, &c), 0);
	assert_int_equal(c.res, BUF_LEN);
	assert_int_equal(bid_of(&c), 0);

	/* With IORING_RECVSEND_POLL_FIRST it waits before choosing one. */
	while (write(sv[0], drain, sizeof(drain)) > 0)
		;
	{
		struct io_uring_sqe *sqe = must_get_sqe(ring);

		io_uring_prep_send(sqe, sv[0], NULL, 0, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = 13;
		sqe->ioprio = IORING_RECVSEND_POLL_FIRST;
		sqe->user_data = 5;
	}
	assert_int_equal(io_uring_submit(ring), 1);
	sleep_ms(20);
	assert_int_equal(ring_head(ring, 13), 1);
	io_uring_prep_cancel64(must_get_sqe(ring), 5, 0);
	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(reap_in_engine(ring, &c), 0);
	if (c.user_data != 5)
		assert_int_equal(reap_in_engine(ring, &c), 0);
	assert_int_equal(c.user_data, 5);
	assert_int_equal(c.res, -ECANCELED);
	assert_int_equal(bid_of(&c), -1);
	assert_int_equal(ring_head(ring, 13), 1);
	io_uring_unregister_buf_ring(ring, 13);
	munmap(br, 4096);
	close(sv[0]);
	close(sv[1]);
}

/* The SQE's optlen field (the union liburing 2.3 calls splice_fd_in). */
static void sqe_set_optlen(struct io_uring_sqe *sqe, __u32 optlen)
{
	memcpy((char *) sqe + 44, &optlen, sizeof(optlen));
}

/*
 * A multishot RECV given a total in optlen ends, with a CQE without
 * IORING_CQE_F_MORE, once it has received at least that much; len still
 * caps each receive. RECVMSG and one-shot receives refuse the total.
 */
static void test_multishot_total(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct io_uring_buf_ring *br = app_ring(ring, 14, 0);
	struct io_uring_sqe *sqe;
	struct msghdr msg;
	struct test_cqe c;
	char data[100];
	int sv[2], i;

	memset(data, 'm', sizeof(data));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[0], data, sizeof(data)), (ssize_t) sizeof(data));
	sqe = must_get_sqe(ring);
	io_uring_prep_recv_multishot(sqe, sv[1], NULL, 10, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = 14;
	sqe_set_optlen(sqe, 25);
	assert_int_equal(io_uring_submit(ring), 1);
	for (i = 0; i < 3; i++) {
		assert_int_equal(reap_in_engine(ring, &c), 0);
		assert_int_equal(c.res, 10);
		assert_int_equal(bid_of(&c), i);
		assert_int_equal(!!(c.flags & IORING_CQE_F_MORE), i < 2);
	}

	/* Less than the total now: the request stays until it is reached. */
	sqe = must_get_sqe(ring);
	io_uring_prep_recv_multishot(sqe, sv[1], NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = 14;
	sqe_set_optlen(sqe, 100);
	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(reap_in_engine(ring, &c), 0);
	assert_int_equal(c.res, BUF_LEN);
	assert_true(c.flags & IORING_CQE_F_MORE);
	assert_int_equal(reap_in_engine(ring, &c), 0);
	assert_int_equal(c.res, 70 - BUF_LEN);
	assert_true(c.flags & IORING_CQE_F_MORE);
	assert_int_equal(write(sv[0], data, 40), 40);
	assert_int_equal(reap_in_engine(ring, &c), 0);
	assert_int_equal(c.res, 40);
	assert_int_equal(c.flags & IORING_CQE_F_MORE, 0);

	sqe = must_get_sqe(ring);
	io_uring_prep_recv(sqe, sv[1], NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = 14;
	sqe_set_optlen(sqe, 25);
	run(ring, &c);
	assert_int_equal(c.res, -EINVAL);
	memset(&msg, 0, sizeof(msg));
	sqe = must_get_sqe(ring);
	io_uring_prep_recvmsg_multishot(sqe, sv[1], &msg, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = 14;
	sqe_set_optlen(sqe, 25);
	run(ring, &c);
	assert_int_equal(c.res, -EINVAL);
	io_uring_unregister_buf_ring(ring, 14);
	munmap(br, 4096);
	close(sv[0]);
	close(sv[1]);
}

/* A multishot receive sent to a worker (IOSQE_ASYNC) still waits for more
 * data once the socket is empty, rather than ending. */
static void test_multishot_async(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct io_uring_buf_ring *br = app_ring(ring, 15, 0);
	struct test_cqe c;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[0], "one", 3), 3);
	recv_select(ring, sv[1], 15, true)->flags |= IOSQE_ASYNC;
	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(reap_in_engine(ring, &c), 0);
	assert_int_equal(c.res, 3);
	assert_true(c.flags & IORING_CQE_F_MORE);
	assert_int_equal(write(sv[0], "two!", 4), 4);
	assert_int_equal(reap_in_engine(ring, &c), 0);
	assert_int_equal(c.res, 4);
	assert_true(c.flags & IORING_CQE_F_MORE);
	assert_memory_equal(bufs[1], "two!", 4);
	close(sv[0]);
	assert_int_equal(reap_in_engine(ring, &c), 0);
	assert_int_equal(c.res, 0);
	assert_int_equal(c.flags & IORING_CQE_F_MORE, 0);
	io_uring_unregister_buf_ring(ring, 15);
	munmap(br, 4096);
	close(sv[1]);
}

#ifndef TEST_KERNEL
/* io_uring_setup_buf_ring with IOU_PBUF_RING_MMAP (liburing 2.6), and a
 * documented difference: engine-allocated rings share one file, so a
 * ring larger than 4096 entries overlaps the next group's, and group
 * n + 32768's ring group n's; such a ring is refused when the other group
 * has one. */
static void test_setup_mmap_ring(void **state)
{
	struct io_uring *ring = fixture_ring(state);
	struct io_uring_buf_ring *br;
	struct test_cqe c;
	int err = 0, sv[2];

	br = io_uring_setup_buf_ring(ring, NR_BUFS, 10, IOU_PBUF_RING_MMAP, &err);
	assert_non_null(br);
	io_uring_buf_ring_add(br, bufs[2], BUF_LEN, 2,
			      io_uring_buf_ring_mask(NR_BUFS), 0);
	io_uring_buf_ring_advance(br, 1);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[0], "ok", 2), 2);
	recv_select(ring, sv[1], 10, false);
	run(ring, &c);
	assert_int_equal(c.res, 2);
	assert_int_equal(bid_of(&c), 2);
	assert_int_equal(register_ring(ring, NULL, 8192, 9, PBUF_RING_MMAP), -EINVAL);
	assert_int_equal(io_uring_free_buf_ring(ring, br, NR_BUFS, 10), 0);
	assert_int_equal(register_ring(ring, NULL, 8192, 9, PBUF_RING_MMAP), 0);
	assert_int_equal(io_uring_unregister_buf_ring(ring, 9), 0);
	/* Groups n and n + 32768 would map the same pages. */
	assert_int_equal(register_ring(ring, NULL, 8, 1, PBUF_RING_MMAP), 0);
	assert_int_equal(register_ring(ring, NULL, 8, 32769, PBUF_RING_MMAP), -EINVAL);
	assert_int_equal(io_uring_unregister_buf_ring(ring, 1), 0);
	close(sv[0]);
	close(sv[1]);
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_ring, fixture_teardown)
		T(test_read_file),
		T(test_readv),
		T(test_select_refused),
		T(test_read_pipe),
		T(test_read_provided_list),
		T(test_register_errors),
		T(test_mmap_ring),
		T(test_inc_recv),
		T(test_inc_multishot),
		T(test_inc_file),
		T(test_send_select),
		T(test_send_select_waits),
		T(test_multishot_total),
		T(test_multishot_async),
#ifndef TEST_KERNEL
		T(test_setup_mmap_ring),
#endif
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
