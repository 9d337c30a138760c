/* SPDX-License-Identifier: MIT */
#ifndef UA_TEST_HELPERS_H
#define UA_TEST_HELPERS_H

/*
 * Small helpers shared by the API tests (test/api-*.c). Header-only, and
 * built on libc, POSIX and the public liburing API only, so every test
 * builds unchanged against the system liburing (make test-kernel) and
 * against uring-alike (make test).
 *
 * Include after <stdarg.h>, <stddef.h>, <setjmp.h>, <stdint.h> and
 * <cmocka.h>: the assert_* macros used here come from cmocka.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <liburing.h>

/*
 * The kernel comparison builds against liburing 2.15 (test/liburing-ref.sh),
 * or against the system's older liburing when that could not be built: the
 * tests of names newer than that then build to a program that says so.
 */
#if defined(TEST_KERNEL) && !defined(IORING_SETUP_SQ_REWIND)
#define LIBURING_BEFORE_2_15 1
#define SKIP_BEFORE_2_15_MAIN()						\
	int main(void)							\
	{								\
		printf("skipped: the kernel comparison needs liburing 2.15 " \
		       "(test/liburing-ref.sh)\n");			\
		return 0;						\
	}
#endif

/* The byte a pattern file holds at offset off (differs per seed). */
static inline unsigned char pattern_byte(unsigned long long off, unsigned seed)
{
	return (unsigned char) ((off * 131u + seed * 29u + (off >> 8)) & 0xff);
}

static inline void fill_pattern(void *buf, size_t len,
				unsigned long long off, unsigned seed)
{
	unsigned char *p = buf;

	for (size_t i = 0; i < len; i++)
		p[i] = pattern_byte(off + i, seed);
}

/* True when buf holds the pattern of file offsets [off, off + len). */
static inline int check_pattern(const void *buf, size_t len,
				unsigned long long off, unsigned seed)
{
	const unsigned char *p = buf;

	for (size_t i = 0; i < len; i++)
		if (p[i] != pattern_byte(off + i, seed))
			return 0;
	return 1;
}

/* A fresh private directory under /tmp; path must hold PATH_MAX bytes. */
/*
 * A thread with a cancellation pending (pthread_cancel(3)) submits what
 * ring holds. io_uring_enter() is no cancellation point: the submit
 * returns its count and the thread is cancelled at its next cancellation
 * point. Returns that count, or -1 when the thread ended inside the
 * submit (the ring may then be left locked: it must not be used again)
 * or was not cancelled at all.
 */
struct cancel_pending_submit {
	struct io_uring	*ring;
	int		submitted;
	bool		returned;
};

static inline void *submit_with_cancel_pending(void *arg)
{
	struct cancel_pending_submit *t = arg;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	pthread_cancel(pthread_self());
	pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
	t->submitted = io_uring_submit(t->ring);
	t->returned = true;
	pthread_testcancel();
	return NULL;
}

static inline int submit_in_cancelled_thread(struct io_uring *ring)
{
	static struct cancel_pending_submit t;
	pthread_t thread;
	void *ret;

	t.ring = ring;
	t.returned = false;
	if (pthread_create(&thread, NULL, submit_with_cancel_pending, &t) ||
	    pthread_join(thread, &ret) || ret != PTHREAD_CANCELED ||
	    !t.returned)
		return -1;
	return t.submitted;
}

static inline int make_tmpdir(char *path)
{
	snprintf(path, PATH_MAX, "/tmp/ua-api-XXXXXX");
	return mkdtemp(path) ? 0 : -errno;
}

/* Remove dir and the plain files in it (the tests make nothing deeper). */
static inline void remove_tmpdir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
	rmdir(path);
}

/* dir/name into out (PATH_MAX bytes); aborts if it does not fit. */
static inline void join_path(char *out, const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);

	if (dl + 1 + nl >= PATH_MAX)
		abort();
	memcpy(out, dir, dl);
	out[dl] = '/';
	memcpy(out + dl + 1, name, nl + 1);
}

/*
 * Create (truncate) dir/name holding size pattern bytes for seed, and
 * return a descriptor opened with flags (O_RDWR, O_RDONLY, ...), or -errno.
 */
static inline int make_pattern_file(const char *dir, const char *name,
				    size_t size, unsigned seed, int flags)
{
	char path[PATH_MAX];
	unsigned char chunk[4096];
	size_t done = 0;
	int fd;

	join_path(path, dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (done < size) {
		size_t n = size - done < sizeof(chunk) ? size - done : sizeof(chunk);
		ssize_t w;

		fill_pattern(chunk, n, done, seed);
		w = pwrite(fd, chunk, n, (off_t) done);
		if (w <= 0) {
			int e = w < 0 ? -errno : -EIO;

			close(fd);
			return e;
		}
		done += (size_t) w;
	}
	close(fd);
	fd = open(path, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Create (truncate) an empty dir/name opened O_RDWR, or -errno. */
static inline int make_empty_file(const char *dir, const char *name)
{
	char path[PATH_MAX];
	int fd;

	join_path(path, dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	return fd < 0 ? -errno : fd;
}

/* A fresh directory of mode dir_mode holding a file "private" that only
 * its owner (root, in the tests that use it) may read; its path in file. */
static inline void make_private_file(char *dir, char *file, mode_t dir_mode)
{
	int fd;

	assert_int_equal(make_tmpdir(dir), 0);
	assert_int_equal(chmod(dir, dir_mode), 0);
	fd = make_empty_file(dir, "private");
	assert_true(fd >= 0);
	close(fd);
	join_path(file, dir, "private");
	assert_int_equal(chmod(file, 0600), 0);
}

static inline long long file_size(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	return (long long) st.st_size;
}

/* Entries in a /proc directory other than "." and "..", or -errno. */
static inline int count_dir_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* Open descriptors of this process (not counting the DIR used to look). */
static inline int count_open_fds(void)
{
	int n = count_dir_entries("/proc/self/fd");

	return n < 0 ? n : n - 1;
}

static inline int count_threads(void)
{
	return count_dir_entries("/proc/self/task");
}

/* Print each thread's tid and name to stderr (for failure diagnostics). */
static inline void print_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		char path[PATH_MAX], comm[64] = "?";
		FILE *fp;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%.32s/comm",
			 de->d_name);
		fp = fopen(path, "r");
		if (fp) {
			if (!fgets(comm, sizeof(comm), fp))
				strcpy(comm, "?\n");
			fclose(fp);
		}
		fprintf(stderr, "  thread %s: %s", de->d_name, comm);
	}
	closedir(d);
}

static inline void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * Wait for the thread count to come down to at most want, polling a bounded
 * number of times (exiting threads leave /proc/self/task asynchronously).
 * Returns the last count seen. A correctness check, not a timing one.
 */
static inline int wait_thread_count(int want)
{
	int n = count_threads();

	for (int i = 0; i < 500 && n > want; i++) {
		sleep_ms(10);
		n = count_threads();
	}
	return n;
}

/*
 * Makes and exits one ring: what uring-alike keeps for the whole process
 * (the readiness service's epoll instance, the workers' eventfd) is made
 * with its first ring, so a descriptor or thread count taken after this
 * measures what later rings leave behind. Harmless on the kernel.
 */
static inline void warm_up_ring(void)
{
	struct io_uring ring;

	assert_int_equal(io_uring_queue_init(2, &ring, 0), 0);
	io_uring_queue_exit(&ring);
}

/* Same for the open descriptor count. */
static inline int wait_fd_count(int want)
{
	int n = count_open_fds();

	for (int i = 0; i < 500 && n != want; i++) {
		sleep_ms(10);
		n = count_open_fds();
	}
	return n;
}

/* A CQE copied out of the ring. */
struct test_cqe {
	__u64 user_data;
	__s32 res;
	__u32 flags;
};

/* Wait for one CQE (at most *ts when given), copy it to *out and mark it
 * seen; 0 or -errno. */
static inline int reap_wait(struct io_uring *ring, struct test_cqe *out,
			    struct __kernel_timespec *ts)
{
	struct io_uring_cqe *cqe;
	int ret;

	out->user_data = 0;
	out->res = INT_MIN;
	out->flags = 0;
	ret = io_uring_wait_cqe_timeout(ring, &cqe, ts);
	if (ret < 0)
		return ret;
	out->user_data = cqe->user_data;
	out->res = cqe->res;
	out->flags = cqe->flags;
	io_uring_cqe_seen(ring, cqe);
	return 0;
}

static inline int reap_one(struct io_uring *ring, struct test_cqe *out)
{
	return reap_wait(ring, out, NULL);
}

/* reap_one, waiting at most secs seconds: long enough to tell a lost CQE
 * (-ETIME) from a slow one, without hanging the test. */
static inline int reap_bounded(struct io_uring *ring, struct test_cqe *out,
			       long secs)
{
	struct __kernel_timespec ts = { .tv_sec = secs };

	return reap_wait(ring, out, &ts);
}

/*
 * Waits inside the engine before reaping. The engine publishes the CQ tail
 * through its own mapping of the ring and the application reads it through
 * another, so ThreadSanitizer sees the release/acquire pair only when the
 * wait happens in the engine (which reads its own mapping). On the kernel
 * it is simply a wait for one CQE.
 */
static inline int reap_in_engine(struct io_uring *ring, struct test_cqe *c)
{
	int ret;

	c->user_data = 0;
	c->res = INT_MIN;
	c->flags = 0;
	ret = io_uring_enter(ring->ring_fd, 0, 1, IORING_ENTER_GETEVENTS, NULL);
	if (ret < 0)
		return ret;
	return reap_one(ring, c);
}

/* Submits the one SQE prepared, reaps one CQE, which must carry ud. */
static inline int submit_wait_in_engine(struct io_uring *ring, __u64 ud)
{
	struct test_cqe c;

	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(reap_in_engine(ring, &c), 0);
	assert_true(c.user_data == ud);
	return c.res;
}

/* Nothing (else) completed: peek finds an empty CQ. */
static inline int cq_is_empty(struct io_uring *ring)
{
	struct io_uring_cqe *cqe = NULL;

	return io_uring_peek_cqe(ring, &cqe) == -EAGAIN && cqe == NULL;
}

/*
 * Submit the SQEs already filled in, check the count, wait for one CQE and
 * return its res; user_data must be ud.
 */
static inline int submit_one_and_wait(struct io_uring *ring, __u64 ud)
{
	struct test_cqe c;

	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(reap_one(ring, &c), 0);
	assert_true(c.user_data == ud);
	return c.res;
}

/* Get an SQE, failing the test when the SQ is full. */
static inline struct io_uring_sqe *must_get_sqe(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	assert_non_null(sqe);
	return sqe;
}

/*
 * Per-test fixture: a fresh ring and a fresh temp directory. Use with
 * cmocka_unit_test_setup_teardown(test, fixture_setup, fixture_teardown),
 * or call fixture_setup_ring() from a setup function for other sizes.
 */
struct fixture {
	struct io_uring ring;
	char dir[PATH_MAX];
};

static inline struct io_uring *fixture_ring(void **state)
{
	return &((struct fixture *) *state)->ring;
}

static inline int fixture_setup_ring(void **state, unsigned entries,
				     unsigned flags)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (make_tmpdir(f->dir) < 0 ||
	    io_uring_queue_init(entries, &f->ring, flags) < 0) {
		remove_tmpdir(f->dir);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static inline int fixture_setup(void **state)
{
	return fixture_setup_ring(state, 8, 0);
}

static inline int fixture_teardown(void **state)
{
	struct fixture *f = *state;

	io_uring_queue_exit(&f->ring);
	remove_tmpdir(f->dir);
	free(f);
	return 0;
}

/*
 * A ring of nentries provided buffers for group bgid, registered in fresh
 * page-aligned memory and left empty: made by hand, as liburing 2.3 (no
 * io_uring_setup_buf_ring) must.
 */
static inline struct io_uring_buf_ring *test_buf_ring(struct io_uring *ring,
						      unsigned nentries,
						      int bgid)
{
	size_t size = nentries * sizeof(struct io_uring_buf);
	struct io_uring_buf_reg reg;
	struct io_uring_buf_ring *br;

	br = mmap(NULL, size, PROT_READ | PROT_WRITE,
		  MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	assert_true(br != MAP_FAILED);
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (unsigned long) br;
	reg.ring_entries = nentries;
	reg.bgid = (__u16) bgid;
	assert_int_equal(io_uring_register_buf_ring(ring, &reg, 0), 0);
	io_uring_buf_ring_init(br);
	return br;
}

#endif /* UA_TEST_HELPERS_H */
