/* SPDX-License-Identifier: MIT */
/*
 * Random-SQE fuzzer. Every opcode of the kernel's enum and garbage ones, with
 * random flags, descriptors, fixed indices, addresses, lengths and offsets, on
 * rings with random setup flags and registrations. What it checks is what an
 * application relies on:
 *
 *  - every consumed SQE gets its CQE(s): one final CQE (the last without
 *    IORING_CQE_F_MORE), none after it, none for a user_data never submitted;
 *  - the ring comes back from CQ overflow (io_uring_get_events);
 *  - nothing hangs: after a batch, pending work is cancelled with
 *    IORING_ASYNC_CANCEL_ANY and every CQE must arrive within a deadline;
 *  - descriptors and threads are back to what they were once the ring is gone.
 *
 * Only <liburing.h> and libc: built with -DTEST_KERNEL against the system
 * liburing it checks the same invariants on the kernel's io_uring, so an
 * invariant the kernel breaks is a wrong invariant.
 *
 * All choices come from a PRNG started from --seed N and the iteration, so
 * `--seed S --skip-to I` replays iteration I. Timing decides only when to
 * cancel and when to give up, never what is submitted.
 *
 * Safety of the harness: every descriptor an SQE may write to is the fuzzer's
 * own (files in a private directory, pipes, sockets, eventfds); CLOSE only
 * gets descriptors made for it; every valid buffer is followed by a
 * PROT_NONE page, so an over-long transfer faults instead of overwriting the
 * fuzzer; path names are single components, relative to that directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <liburing.h>

/* The system liburing may predate some of the kernel's ABI constants. */
#ifndef IORING_SETUP_NO_SQARRAY
#define IORING_SETUP_NO_SQARRAY		(1U << 16)
#endif
#ifndef IORING_TIMEOUT_MULTISHOT
#define IORING_TIMEOUT_MULTISHOT	(1U << 6)
#endif
#ifndef IORING_CQE_F_NOTIF
#define IORING_CQE_F_NOTIF		(1U << 3)
#endif
#ifndef IORING_SQ_CQ_OVERFLOW
#define IORING_SQ_CQ_OVERFLOW		(1U << 1)
#endif

/* The kernel's opcode numbers (ABI), as in include/liburing/io_uring.h. */
enum {
	OP_NOP, OP_READV, OP_WRITEV, OP_FSYNC, OP_READ_FIXED, OP_WRITE_FIXED,
	OP_POLL_ADD, OP_POLL_REMOVE, OP_SYNC_FILE_RANGE, OP_SENDMSG,
	OP_RECVMSG, OP_TIMEOUT, OP_TIMEOUT_REMOVE, OP_ACCEPT, OP_ASYNC_CANCEL,
	OP_LINK_TIMEOUT, OP_CONNECT, OP_FALLOCATE, OP_OPENAT, OP_CLOSE,
	OP_FILES_UPDATE, OP_STATX, OP_READ, OP_WRITE, OP_FADVISE, OP_MADVISE,
	OP_SEND, OP_RECV, OP_OPENAT2, OP_EPOLL_CTL, OP_SPLICE,
	OP_PROVIDE_BUFFERS, OP_REMOVE_BUFFERS, OP_TEE, OP_SHUTDOWN,
	OP_RENAMEAT, OP_UNLINKAT, OP_MKDIRAT, OP_SYMLINKAT, OP_LINKAT,
	OP_MSG_RING, OP_FSETXATTR, OP_SETXATTR, OP_FGETXATTR, OP_GETXATTR,
	OP_SOCKET, OP_URING_CMD, OP_SEND_ZC, OP_SENDMSG_ZC, OP_READ_MULTISHOT,
	OP_WAITID, OP_FUTEX_WAIT, OP_FUTEX_WAKE, OP_FUTEX_WAITV,
	OP_FIXED_FD_INSTALL, OP_FTRUNCATE, OP_BIND, OP_LISTEN, OP_RECV_ZC,
	OP_EPOLL_WAIT, OP_READV_FIXED, OP_WRITEV_FIXED, OP_PIPE, OP_NOP128,
	OP_URING_CMD128,
	NR_KNOWN_OPS
};
#ifndef TEST_KERNEL
_Static_assert((int) IORING_OP_PIPE == (int) OP_PIPE &&
	       (int) IORING_OP_LAST == (int) NR_KNOWN_OPS,
	       "the fuzzer's opcode list follows include/liburing/io_uring.h");
#endif

/*
 * The 128-byte opcodes (NOP128, URING_CMD128) are newer than the 6.18
 * kernel, which does not know them: -EINVAL on every ring, one with
 * 128-byte SQEs too. They are drawn among the garbage opcodes, and the
 * other draws stay those of the 64-byte opcodes, so a seed makes the same
 * SQEs as before they were known.
 */
#define NR_DRAWN_OPS	OP_NOP128

static const char *const op_names[NR_KNOWN_OPS] = {
	"NOP", "READV", "WRITEV", "FSYNC", "READ_FIXED", "WRITE_FIXED",
	"POLL_ADD", "POLL_REMOVE", "SYNC_FILE_RANGE", "SENDMSG", "RECVMSG",
	"TIMEOUT", "TIMEOUT_REMOVE", "ACCEPT", "ASYNC_CANCEL", "LINK_TIMEOUT",
	"CONNECT", "FALLOCATE", "OPENAT", "CLOSE", "FILES_UPDATE", "STATX",
	"READ", "WRITE", "FADVISE", "MADVISE", "SEND", "RECV", "OPENAT2",
	"EPOLL_CTL", "SPLICE", "PROVIDE_BUFFERS", "REMOVE_BUFFERS", "TEE",
	"SHUTDOWN", "RENAMEAT", "UNLINKAT", "MKDIRAT", "SYMLINKAT", "LINKAT",
	"MSG_RING", "FSETXATTR", "SETXATTR", "FGETXATTR", "GETXATTR", "SOCKET",
	"URING_CMD", "SEND_ZC", "SENDMSG_ZC", "READ_MULTISHOT", "WAITID",
	"FUTEX_WAIT", "FUTEX_WAKE", "FUTEX_WAITV", "FIXED_FD_INSTALL",
	"FTRUNCATE", "BIND", "LISTEN", "RECV_ZC", "EPOLL_WAIT", "READV_FIXED",
	"WRITEV_FIXED", "PIPE", "NOP128", "URING_CMD128",
};

/* Classes of input that can be switched off (--no-NAME). */
enum {
	C_BAD_POINTERS, C_BAD_FDS, C_RING_FD, C_BLOCKING, C_DRAIN, C_KBUF,
	C_GARBAGE_OPS, C_LINKS, C_ASYNC, C_REREGISTER, NR_CLASSES
};
static const char *const class_names[NR_CLASSES] = {
	"bad-pointers", "bad-fds", "ring-fd", "blocking", "drain", "kbuf",
	"garbage-ops", "links", "async", "reregister",
};

/* ------------------------------------------------------------------ */
/* Options and global state                                            */

static struct {
	uint64_t seed;
	uint64_t iterations;	/* 0: until --time runs out */
	uint64_t skip_to;
	unsigned sqes_per_ring;
	unsigned time_limit;	/* seconds, 0: none */
	unsigned watchdog;	/* seconds for the CQEs of one flush */
	unsigned thread_slack;	/* threads a process may keep after rings */
	int verbose;
	unsigned char enabled[NR_CLASSES];
	unsigned char op_allowed[256];
} opt;

static volatile uint64_t cur_iteration;
static uint64_t total_sqes, total_rings, total_setup_errors;

/* Everything an SQE may point at lives in these mappings. */
#define DATA_BUFS	16
#define DATA_BUF_SIZE	(64 * 1024)
#define PAGE		4096UL
#define ARENA_SLOT	512
static unsigned char *data_region;	/* DATA_BUFS x (buffer + guard page) */
static unsigned char *bad_pages;	/* [0]: PROT_NONE, [1]: read-only */
static unsigned char *arena;		/* per-SQE argument structs */
static size_t arena_size, arena_used;

static char tmpdir[PATH_MAX];

static void print_repro(void);
static void clean_tmpdir(void);

static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz: FAIL seed=%llu iteration=%llu: ",
		(unsigned long long) opt.seed,
		(unsigned long long) cur_iteration);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	print_repro();
	clean_tmpdir();
	rmdir(tmpdir);
	fprintf(stderr, "fuzz: %llu SQEs, %llu rings, 1 failures\n",
		(unsigned long long) total_sqes,
		(unsigned long long) total_rings);
	_exit(1);
}

/* ------------------------------------------------------------------ */
/* PRNG: splitmix64, one stream per iteration                           */

static uint64_t rng_state;

static uint64_t rnd64(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned rnd(unsigned n)
{
	return n ? (unsigned) (rnd64() % n) : 0;
}

/* True with probability 1/n. */
static int one_in(unsigned n)
{
	return rnd(n) == 0;
}

static int on(int class)
{
	return opt.enabled[class];
}

/* ------------------------------------------------------------------ */
/* Descriptors the SQEs may name                                        */

enum {
	T_FILE, T_FILE_APPEND, T_FILE_RO, T_DIR, T_PIPE_R, T_PIPE_W,
	T_PIPE2_R, T_PIPE2_W, T_UNIX0, T_UNIX1, T_DGRAM0, T_DGRAM1,
	T_TCP_LISTEN, T_TCP_CLI, T_TCP_SRV, T_UDP, T_UNIX_LISTEN,
	T_EVENTFD, T_EVENTFD2, T_EPOLL, T_DEVZERO, NR_TARGETS
};
static const char *const target_names[NR_TARGETS] = {
	"file", "file-append", "file-ro", "dir", "pipe-r", "pipe-w",
	"pipe2-r", "pipe2-w", "unix0", "unix1", "dgram0", "dgram1",
	"tcp-listen", "tcp-cli", "tcp-srv", "udp", "unix-listen", "eventfd",
	"eventfd2", "epoll", "devzero",
};
#define NR_DISPOSABLE	8
#define DISPOSABLE_BASE	700	/* CLOSE targets, far above the fuzzer's own */
#define CLOSED_FD	900	/* a number nothing in the fuzzer ever opens */

static int targets[NR_TARGETS];
static int disposable[NR_DISPOSABLE];
static struct sockaddr_in tcp_addr;
static struct sockaddr_un unix_addr;
static socklen_t unix_addr_len;
static int ring_fd = -1;
static unsigned nr_fixed_files;

static int open_flags_nb(void)
{
	return on(C_BLOCKING) && one_in(2) ? 0 : O_NONBLOCK;
}

static int must(int ret, const char *what)
{
	if (ret < 0)
		fail("harness setup: %s: %s", what, strerror(errno));
	return ret;
}

static void make_tcp_pair(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int l, c, s, nb = open_flags_nb();

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = must(socket(AF_INET, SOCK_STREAM | open_flags_nb(), 0), "socket");
	must(bind(l, (struct sockaddr *) &a, sizeof(a)), "bind");
	must(listen(l, 64), "listen");
	must(getsockname(l, (struct sockaddr *) &a, &len), "getsockname");
	c = must(socket(AF_INET, SOCK_STREAM, 0), "socket");
	must(connect(c, (struct sockaddr *) &a, sizeof(a)), "connect");
	s = must(accept4(l, NULL, NULL, 0), "accept");
	if (nb) {
		fcntl(c, F_SETFL, O_NONBLOCK);
		fcntl(s, F_SETFL, O_NONBLOCK);
	}
	tcp_addr = a;
	targets[T_TCP_LISTEN] = l;
	targets[T_TCP_CLI] = c;
	targets[T_TCP_SRV] = s;
}

static void make_targets(uint64_t iteration)
{
	int p[2], sv[2];
	char path[PATH_MAX + 8];

	snprintf(path, sizeof(path), "%s/t0", tmpdir);
	targets[T_FILE] = must(open(path, O_RDWR | O_CREAT | O_TRUNC, 0600),
			       "open");
	if (pwrite(targets[T_FILE], data_region, 3 * PAGE, 0) < 0)
		fail("harness setup: pwrite: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/t1", tmpdir);
	targets[T_FILE_APPEND] = must(open(path, O_RDWR | O_CREAT | O_APPEND,
					   0600), "open");
	targets[T_FILE_RO] = must(open(path, O_RDONLY), "open");
	targets[T_DIR] = must(open(tmpdir, O_RDONLY | O_DIRECTORY), "open");
	must(pipe2(p, open_flags_nb()), "pipe");
	targets[T_PIPE_R] = p[0];
	targets[T_PIPE_W] = p[1];
	must(pipe2(p, O_NONBLOCK), "pipe");
	targets[T_PIPE2_R] = p[0];
	targets[T_PIPE2_W] = p[1];
	must(socketpair(AF_UNIX, SOCK_STREAM | open_flags_nb(), 0, sv),
	     "socketpair");
	targets[T_UNIX0] = sv[0];
	targets[T_UNIX1] = sv[1];
	must(socketpair(AF_UNIX, SOCK_DGRAM | open_flags_nb(), 0, sv),
	     "socketpair");
	targets[T_DGRAM0] = sv[0];
	targets[T_DGRAM1] = sv[1];
	make_tcp_pair();
	targets[T_UDP] = must(socket(AF_INET, SOCK_DGRAM | open_flags_nb(), 0),
			      "socket");
	/* An abstract name: nothing on disk, unique per process and ring. */
	memset(&unix_addr, 0, sizeof(unix_addr));
	unix_addr.sun_family = AF_UNIX;
	unix_addr_len = offsetof(struct sockaddr_un, sun_path) + 1 +
		snprintf(unix_addr.sun_path + 1, sizeof(unix_addr.sun_path) - 1,
			 "ua-fuzz-%d-%llu", (int) getpid(),
			 (unsigned long long) iteration);
	targets[T_UNIX_LISTEN] = must(socket(AF_UNIX, SOCK_STREAM |
					     open_flags_nb(), 0), "socket");
	must(bind(targets[T_UNIX_LISTEN], (struct sockaddr *) &unix_addr,
		  unix_addr_len), "bind");
	must(listen(targets[T_UNIX_LISTEN], 16), "listen");
	targets[T_EVENTFD] = must(eventfd(0, open_flags_nb()), "eventfd");
	targets[T_EVENTFD2] = must(eventfd(1, EFD_NONBLOCK), "eventfd");
	targets[T_EPOLL] = must(epoll_create1(0), "epoll_create1");
	targets[T_DEVZERO] = must(open("/dev/zero", O_RDWR), "open");
	for (int i = 0; i < NR_DISPOSABLE; i++)
		disposable[i] = must(fcntl(targets[i % T_DIR], F_DUPFD,
					   DISPOSABLE_BASE + i), "dup");
	if (opt.verbose)
		for (int i = 0; i < NR_TARGETS; i++)
			fprintf(stderr, "  target %s: fd %d%s\n", target_names[i],
				targets[i], fcntl(targets[i], F_GETFL) &
				O_NONBLOCK ? " (O_NONBLOCK)" : "");
}

static void close_targets(void)
{
	for (int i = 0; i < NR_TARGETS; i++)
		close(targets[i]);
	/* CLOSE SQEs may have closed some already: EBADF is expected. */
	for (int i = 0; i < NR_DISPOSABLE; i++)
		close(disposable[i]);
}

/* A descriptor the fuzzer owns, or one it must never see results for. */
static int is_protected_fd(int fd)
{
	if (fd <= 2 || fd == ring_fd)
		return 1;
	for (int i = 0; i < NR_TARGETS; i++)
		if (targets[i] == fd)
			return 1;
	return 0;
}

/*
 * A descriptor for an SQE. ring_ok: the op only reads or polls, so the
 * ring's own descriptor is a fair target.
 */
static int pick_fd(int ring_ok)
{
	if (on(C_BAD_FDS) && one_in(12)) {
		static const int bad[] = { -1, -2, INT_MIN, INT_MAX, 1 << 20,
					   CLOSED_FD, -100 };
		return bad[rnd(sizeof(bad) / sizeof(bad[0]))];
	}
	if (ring_ok && on(C_RING_FD) && one_in(16))
		return ring_fd;
	return targets[rnd(NR_TARGETS)];
}

/*
 * The input of a SPLICE or TEE. A splice waiting for data from a blocking
 * socket or pipe holds its output pipe's lock, and Linux takes that lock
 * uninterruptibly before it looks at RWF_NOWAIT, so any later inline read
 * or write of that pipe waits for the splice: on the kernel's io_uring as
 * on the engine. With blocking descriptors in play, an input that could
 * wait forever is swapped for one that never blocks.
 */
static int splice_input(void)
{
	int fd = pick_fd(1);
	struct stat st;

	if (!on(C_BLOCKING) || fd < 0 || fstat(fd, &st) < 0)
		return fd;
	if ((S_ISSOCK(st.st_mode) || S_ISFIFO(st.st_mode)) &&
	    !(fcntl(fd, F_GETFL) & O_NONBLOCK))
		return targets[T_PIPE2_R];
	return fd;
}

static int pick_fixed_index(void)
{
	unsigned n = nr_fixed_files ? nr_fixed_files : 1;

	if (on(C_BAD_FDS) && one_in(8)) {
		static const int bad[] = { -1, INT_MAX, 1 << 16 };
		return one_in(2) ? (int) (n + rnd(4)) : bad[rnd(3)];
	}
	return (int) rnd(n);
}

/* ------------------------------------------------------------------ */
/* Addresses, lengths, offsets                                          */

static uint64_t ptr64(const void *p)
{
	return (uint64_t) (uintptr_t) p;
}

static uint64_t valid_data_ptr(void)
{
	unsigned b = rnd(DATA_BUFS);
	unsigned off = one_in(2) ? 0 : one_in(2) ? (unsigned) (rnd(16) * PAGE)
					: rnd(DATA_BUF_SIZE);

	return (uint64_t) (uintptr_t) (data_region +
				       b * (DATA_BUF_SIZE + PAGE) + off);
}

static uint64_t bad_ptr(int writable_needed)
{
	switch (rnd(writable_needed ? 6 : 5)) {
	case 0: return 0;
	case 1: return 0x10;
	case 2: return 0xffff800000001000ULL;	/* kernel half */
	case 3: return 0x8000000000000000ULL;	/* non-canonical */
	case 4: return (uint64_t) (uintptr_t) bad_pages;	/* PROT_NONE */
	default: return (uint64_t) (uintptr_t) (bad_pages + PAGE); /* r/o */
	}
}

/* A buffer for data: writable_needed when the op stores into it. */
static uint64_t data_ptr(int writable_needed)
{
	if (on(C_BAD_POINTERS) && one_in(10))
		return bad_ptr(writable_needed);
	return valid_data_ptr();
}

static uint32_t rand_len(void)
{
	switch (rnd(10)) {
	case 0: return 0;
	case 1: return 1;
	case 2: case 3: case 4: return rnd(512);
	case 5: case 6: return rnd(DATA_BUF_SIZE);
	case 7: return DATA_BUF_SIZE + rnd(2 * PAGE);
	case 8: return 1U << rnd(32);
	default: return (uint32_t) rnd64();
	}
}

static uint64_t rand_off(void)
{
	switch (rnd(8)) {
	case 0: case 1: return 0;
	case 2: case 3: return rnd(4 * PAGE);
	case 4: return (uint64_t) -1;
	case 5: return 1ULL << (30 + rnd(34));
	default: return rnd64();
	}
}

/*
 * Bytes from a up to the end of the fuzzer's own mapping it lies in (the
 * guard page included): the most a range operation such as MADVISE may
 * cover, since it acts on the whole range, not up to the first fault.
 */
static uint32_t room_after(uint64_t a)
{
	uint64_t d = ptr64(data_region), b = ptr64(bad_pages);

	if (a >= d && a < d + DATA_BUFS * (DATA_BUF_SIZE + PAGE))
		return (uint32_t) (DATA_BUF_SIZE + PAGE -
				   (a - d) % (DATA_BUF_SIZE + PAGE));
	if (a >= b && a < b + 3 * PAGE)
		return (uint32_t) (b + 3 * PAGE - a);
	return a < 0x10000 ? (uint32_t) (0x10000 - a) : PAGE;
}

/* Per-SQE structs: bump-allocated, a guard page after the arena. */
static void *arena_alloc(size_t size)
{
	void *p;

	size = (size + 15) & ~(size_t) 15;
	if (arena_used + size > arena_size)
		fail("harness: argument arena exhausted");
	p = arena + arena_used;
	arena_used += size;
	return memset(p, 0, size);
}

/* A pointer to a struct: the struct, or with bad pointers on, junk. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static uint64_t struct_ptr(void *p)
{
	if (on(C_BAD_POINTERS) && one_in(10))
		return bad_ptr(0);
	return (uint64_t) (uintptr_t) p;
}

static uint64_t make_iovecs(unsigned *nr_out, int writes_data)
{
	unsigned n = rnd(9);
	struct iovec *iov = arena_alloc(sizeof(*iov) * (n ? n : 1));

	for (unsigned i = 0; i < n; i++) {
		iov[i].iov_base = (void *) (uintptr_t) data_ptr(writes_data);
		iov[i].iov_len = rand_len();
	}
	/* Counts past the array (and past UIO_MAXIOV) read junk or fault. */
	if (on(C_BAD_POINTERS) && one_in(16)) {
		static const unsigned big[] = { 1024, 1025, 100000, 1000000,
						UINT32_MAX };
		n = big[rnd(5)];
	}
	*nr_out = n;
	return struct_ptr(iov);
}

/*
 * On the kernel's io_uring with DEFER_TASKRUN, a multishot TIMEOUT that
 * fires every microsecond re-arms faster than a cancel can catch it: the
 * cancel reports success and the CQEs go on for good. A multishot one
 * fires at most once a millisecond here, which cancels reliably there.
 */
static uint64_t make_timespec(int multishot)
{
	static const struct { int64_t s, ns; } ts[] = {
		{ 0, 0 }, { 0, 1000 }, { 0, 1000000 }, { 0, 20000000 },
		{ 1, 0 }, { 1LL << 40, 0 }, { 0, 2000000000 }, { -1, 0 },
		{ 0, -1 },
	};
	struct __kernel_timespec *t = arena_alloc(sizeof(*t));
	unsigned i = rnd(sizeof(ts) / sizeof(ts[0]));

	t->tv_sec = ts[i].s;
	t->tv_nsec = ts[i].ns;
	if (multishot && t->tv_sec == 0 && t->tv_nsec >= 0 &&
	    t->tv_nsec < 1000000)
		t->tv_nsec = 1000000;
	return struct_ptr(t);
}

static uint64_t make_sockaddr(uint32_t *len)
{
	unsigned char *sa = arena_alloc(128);

	switch (rnd(5)) {
	case 0:
		memcpy(sa, &tcp_addr, sizeof(tcp_addr));
		*len = sizeof(tcp_addr);
		break;
	case 1:
		memcpy(sa, &unix_addr, unix_addr_len);
		*len = unix_addr_len;
		break;
	case 2: {	/* a loopback port nobody listens on */
		struct sockaddr_in a = { .sin_family = AF_INET,
					 .sin_port = htons(1) };

		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		memcpy(sa, &a, sizeof(a));
		*len = sizeof(a);
		break;
	}
	case 3: {	/* any loopback port, to bind */
		struct sockaddr_in a = { .sin_family = AF_INET };

		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		memcpy(sa, &a, sizeof(a));
		*len = sizeof(a);
		break;
	}
	default:	/* a family nothing implements */
		sa[0] = 0xfe;
		sa[1] = 0xfe;
		*len = rnd(128);
		break;
	}
	if (one_in(8))
		*len = one_in(2) ? 0 : rnd64();
	return struct_ptr(sa);
}

/* Path names: one component, so they stay in the private directory. */
static uint64_t make_path(void)
{
	static const char *const names[] = { "a", "b", "c", "d", "t0", "t1",
					     "sub", "" };
	char *p = arena_alloc(8);

	strcpy(p, names[rnd(sizeof(names) / sizeof(names[0]))]);
	return struct_ptr(p);
}

static uint64_t make_msghdr(int recv)
{
	struct msghdr *m = arena_alloc(sizeof(*m));
	unsigned n;
	uint32_t len = 0;

	if (one_in(3)) {
		m->msg_name = (void *) (uintptr_t) (recv ? data_ptr(1)
						    : make_sockaddr(&len));
		m->msg_namelen = recv ? rnd(256) : len;
	}
	m->msg_iov = (void *) (uintptr_t) make_iovecs(&n, recv);
	m->msg_iovlen = n;
	/*
	 * Received control data lands in a data buffer; sent control data is
	 * zeroes, so a SENDMSG never passes descriptors by accident.
	 */
	if (one_in(4)) {
		m->msg_control = recv ? (void *) (uintptr_t) data_ptr(1)
				      : arena_alloc(64);
		m->msg_controllen = recv ? rnd(512) : rnd(64);
	}
	return struct_ptr(m);
}

/* ------------------------------------------------------------------ */
/* Requests and their CQEs                                             */

#define UD_BASE		0x5a00000000000000ULL
#define NO_ALIAS	UINT32_MAX

enum { K_SQE, K_EXTRA, K_HARNESS };

struct rec {
	uint8_t op;
	uint8_t kind;
	uint8_t consumed;
	uint8_t may_omit;	/* success, or a chain, may post nothing */
	uint8_t fd_result;	/* res >= 0 is a new descriptor */
	uint8_t pipe_result;	/* res == 0: two new descriptors at pipe_fds */
	uint32_t alias;		/* the request this name renames */
	uint32_t finals, mores, notifs;
	int *pipe_fds;
	uint64_t iter_sqe;	/* position in the iteration, for reports */
};

static struct rec *recs;
static unsigned nr_recs, max_recs;
static unsigned *prepared;	/* prepared, not yet consumed, in SQ order */
static unsigned nr_prepared, prepared_head;

static unsigned new_rec(int op, int kind)
{
	struct rec *r;

	if (nr_recs == max_recs)
		fail("harness: too many requests");
	r = &recs[nr_recs];
	memset(r, 0, sizeof(*r));
	r->op = op;
	r->kind = kind;
	r->alias = NO_ALIAS;
	r->iter_sqe = nr_recs;
	return nr_recs++;
}

static uint64_t ud_of(unsigned idx)
{
	return UD_BASE + idx;
}

/* A user_data to name in a cancel or remove: an earlier request, or junk. */
static uint64_t pick_target_ud(void)
{
	if (nr_recs && !one_in(4))
		return ud_of(rnd(nr_recs));
	return one_in(2) ? 0 : rnd(1000);
}

static const char *op_name(unsigned op)
{
	return op < NR_KNOWN_OPS ? op_names[op] : "garbage";
}

static void close_result_fd(struct rec *r, int fd)
{
	if (is_protected_fd(fd))
		fail("%s returned descriptor %d, which was already open",
		     op_name(r->op), fd);
	if (close(fd) < 0)
		fail("%s returned descriptor %d, which is not open",
		     op_name(r->op), fd);
}

static void on_cqe(const struct io_uring_cqe *cqe)
{
	uint64_t ud = cqe->user_data;
	struct rec *r;
	unsigned idx, hops = 0;

	if (ud < UD_BASE || ud - UD_BASE >= nr_recs)
		fail("CQE with unknown user_data 0x%llx (res %d flags 0x%x)",
		     (unsigned long long) ud, cqe->res, cqe->flags);
	idx = (unsigned) (ud - UD_BASE);
	r = &recs[idx];
	if (!r->consumed)
		fail("CQE for user_data 0x%llx (%s) whose SQE was never "
		     "consumed (res %d)", (unsigned long long) ud,
		     op_name(r->op), cqe->res);
	/* A renamed poll completes under its new name. */
	while (r->kind == K_EXTRA && r->alias != NO_ALIAS && hops++ < 64)
		r = &recs[r->alias];
	/*
	 * A zero-copy send's notification is its own CQE: it ends a request
	 * whose first CQE said F_MORE, and the kernel also posts it after a
	 * first CQE that failed without F_MORE.
	 */
	if (cqe->flags & IORING_CQE_F_NOTIF) {
		if (r->notifs++)
			fail("second notification CQE for user_data 0x%llx "
			     "(%s)", (unsigned long long) ud, op_name(r->op));
		if (r->mores && !r->finals)
			r->finals++;
		return;
	}
	if (r->finals)
		fail("CQE for user_data 0x%llx (%s, SQE #%llu) after its final "
		     "CQE (res %d flags 0x%x)", (unsigned long long) ud,
		     op_name(r->op), (unsigned long long) r->iter_sqe,
		     cqe->res, cqe->flags);
	if (r->kind == K_EXTRA || !(cqe->flags & IORING_CQE_F_MORE))
		r->finals++;
	else
		r->mores++;
	if (opt.verbose)
		fprintf(stderr, "  cqe ud=%llx %s res=%d flags=0x%x\n",
			(unsigned long long) ud, op_name(r->op), cqe->res,
			cqe->flags);
	if (r->fd_result && cqe->res >= 0)
		close_result_fd(r, cqe->res);
	if (r->pipe_result && cqe->res == 0) {
		close_result_fd(r, r->pipe_fds[0]);
		close_result_fd(r, r->pipe_fds[1]);
	}
}

/*
 * Requests whose final CQE is still due. A skipping request's last CQE
 * is omitted when it succeeds, even after CQEs with F_MORE (a multishot
 * TIMEOUT with IORING_TIMEOUT_ETIME_SUCCESS does that on the kernel).
 */
static int final_due(const struct rec *r)
{
	return r->consumed && r->kind != K_EXTRA && !r->finals &&
	       !r->may_omit;
}

static unsigned outstanding(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < nr_recs; i++)
		n += final_due(&recs[i]);
	return n;
}

/* ------------------------------------------------------------------ */
/* SQE generation                                                       */

/*
 * IOSQE_IO_DRAIN and IOSQE_CQE_SKIP_SUCCESS in one ring are undefined
 * behaviour (io_uring_enter(2)): a ring gets one or the other.
 */
static int ring_drains;

static uint8_t rand_sqe_flags(void)
{
	uint8_t f = 0;

	if (one_in(5))
		f |= IOSQE_FIXED_FILE;
	if (ring_drains && one_in(24))
		f |= IOSQE_IO_DRAIN;
	if (on(C_LINKS) && one_in(6))
		f |= one_in(3) ? IOSQE_IO_HARDLINK : IOSQE_IO_LINK;
	if (on(C_ASYNC) && one_in(6))
		f |= IOSQE_ASYNC;
	if (on(C_KBUF) && one_in(8))
		f |= IOSQE_BUFFER_SELECT;
	if (!ring_drains && one_in(10))
		f |= IOSQE_CQE_SKIP_SUCCESS;
	if (one_in(64))
		f |= 0x80;	/* no such flag */
	return f;
}

static int ring_ok_op(unsigned op)
{
	switch (op) {
	case OP_READ: case OP_READV: case OP_READ_FIXED: case OP_READV_FIXED:
	case OP_READ_MULTISHOT: case OP_RECV: case OP_RECVMSG:
	case OP_POLL_ADD: case OP_EPOLL_CTL: case OP_MSG_RING: case OP_CLOSE:
	case OP_FSYNC: case OP_FADVISE: case OP_FGETXATTR:
		return 1;
	}
	return 0;
}

static unsigned pick_op(void)
{
	unsigned op;

	for (int tries = 0; tries < 100000; tries++) {
		if (on(C_GARBAGE_OPS) && one_in(20))
			op = NR_DRAWN_OPS + rnd(256 - NR_DRAWN_OPS);
		else
			op = rnd(NR_DRAWN_OPS);
		/*
		 * The kernel (6.18) can hold a zero-copy send's notification
		 * for good in a ring that drains: no notification, no drain.
		 */
		if (ring_drains && (op == OP_SEND_ZC || op == OP_SENDMSG_ZC))
			continue;
		if (opt.op_allowed[op])
			return op;
	}
	fail("no opcode allowed by --ops/--no-ops");
	return 0;
}

/* Fill the fields op reads, with values fit and unfit for it. */
static void fill_op_fields(struct io_uring_sqe *sqe, struct rec *r,
			   unsigned op)
{
	unsigned n;
	uint32_t len;

	switch (op) {
	case OP_NOP:
		if (one_in(4))
			sqe->rw_flags = 1;	/* inject a result */
		sqe->len = (uint32_t) -(int) rnd(200);
		break;
	case OP_READV: case OP_WRITEV:
	case OP_READV_FIXED: case OP_WRITEV_FIXED:
		sqe->addr = make_iovecs(&n, op == OP_READV ||
					op == OP_READV_FIXED);
		sqe->len = n;
		sqe->off = rand_off();
		if (one_in(6))
			sqe->rw_flags = one_in(2) ? (int) rnd(32) : (int) rnd64();
		break;
	case OP_READ: case OP_WRITE: case OP_READ_FIXED: case OP_WRITE_FIXED:
	case OP_READ_MULTISHOT:
		sqe->addr = data_ptr(op != OP_WRITE && op != OP_WRITE_FIXED);
		sqe->len = rand_len();
		sqe->off = rand_off();
		if (one_in(6))
			sqe->rw_flags = one_in(2) ? (int) rnd(32) : (int) rnd64();
		break;
	case OP_FSYNC:
		sqe->fsync_flags = one_in(3) ? 1 : one_in(5) ? rnd64() : 0;
		sqe->off = rand_off();
		sqe->len = rand_len();
		break;
	case OP_SYNC_FILE_RANGE:
	case OP_FALLOCATE:
	case OP_FTRUNCATE:
		sqe->off = rand_off();
		/* FALLOCATE's length is in addr; keep it small (disk). */
		sqe->addr = one_in(8) ? rnd64() % (1 << 20) : rnd(4 * PAGE);
		sqe->len = one_in(4) ? rnd64() : rnd(8);
		if (op == OP_FALLOCATE && sqe->addr > (1 << 20))
			sqe->addr = 1 << 20;
		sqe->rw_flags = one_in(4) ? (uint32_t) rnd64() : rnd(8);
		break;
	case OP_POLL_ADD:
		sqe->poll32_events = one_in(8) ? (uint32_t) rnd64()
			: (uint32_t[]) { POLLIN, POLLOUT, POLLIN | POLLOUT,
					 POLLPRI, POLLRDHUP, EPOLLET | POLLIN,
					 EPOLLONESHOT | POLLIN }[rnd(7)];
		sqe->len = one_in(3) ? rnd(16) : 0;	/* MULTI, LEVEL, ... */
		break;
	case OP_POLL_REMOVE:
		sqe->addr = pick_target_ud();
		sqe->len = rnd(8);	/* UPDATE_EVENTS / UPDATE_USER_DATA */
		sqe->poll32_events = POLLIN;
		if (sqe->len & 4) {
			/* A renamed poll completes under a fresh name. */
			unsigned alias = new_rec(OP_POLL_ADD, K_EXTRA);

			recs[alias].consumed = 1;
			if (sqe->addr >= UD_BASE &&
			    sqe->addr - UD_BASE < nr_recs)
				recs[alias].alias =
					(unsigned) (sqe->addr - UD_BASE);
			sqe->off = ud_of(alias);
		}
		break;
	case OP_SENDMSG: case OP_RECVMSG: case OP_SENDMSG_ZC:
		sqe->addr = make_msghdr(op == OP_RECVMSG);
		sqe->msg_flags = one_in(3) ? (uint32_t) rnd64() & 0x4ffff
					   : MSG_DONTWAIT * rnd(2);
		sqe->ioprio = one_in(3) ? rnd(32) : 0;	/* multishot, ... */
		sqe->len = one_in(8) ? rnd(4) : 0;
		break;
	case OP_SEND: case OP_RECV: case OP_SEND_ZC:
		sqe->addr = data_ptr(op == OP_RECV);
		sqe->len = rand_len();
		sqe->msg_flags = one_in(3) ? (uint32_t) rnd64() & 0x4ffff
					   : MSG_DONTWAIT * rnd(2);
		sqe->ioprio = one_in(3) ? rnd(32) : 0;
		if (one_in(4))
			sqe->addr2 = make_sockaddr(&len), sqe->addr_len = len;
		break;
	case OP_TIMEOUT:
		sqe->timeout_flags = one_in(3) ? rnd(128) : 0;
		sqe->addr = make_timespec(sqe->timeout_flags &
					  IORING_TIMEOUT_MULTISHOT);
		sqe->len = one_in(8) ? rnd(3) : 1;
		sqe->off = one_in(3) ? rnd(4) : 0;	/* completion count */
		break;
	case OP_LINK_TIMEOUT:
		sqe->addr = make_timespec(0);
		sqe->len = one_in(8) ? rnd(3) : 1;
		sqe->timeout_flags = one_in(4) ? rnd(64) : 0;
		break;
	case OP_TIMEOUT_REMOVE:
		sqe->addr = pick_target_ud();
		sqe->timeout_flags = one_in(2) ? rnd(32) : 0;
		if (sqe->timeout_flags & 0x12)	/* an update: new timespec */
			sqe->addr2 = make_timespec(0);
		break;
	case OP_ASYNC_CANCEL:
		sqe->addr = pick_target_ud();
		sqe->cancel_flags = one_in(2) ? rnd(64) : 0;
		sqe->fd = pick_fd(1);
		sqe->len = one_in(4) ? rnd(NR_DRAWN_OPS + 4) : 0;
		break;
	case OP_ACCEPT:
		if (one_in(3)) {
			struct { struct sockaddr_storage a; socklen_t l; } *s =
				arena_alloc(sizeof(*s));

			s->l = one_in(4) ? rnd(200) : sizeof(s->a);
			sqe->addr = struct_ptr(&s->a);
			sqe->off = struct_ptr(&s->l);
			/* ASan's accept4 wrapper reads *addrlen before the
			 * call: where the kernel answers -EFAULT, it would
			 * crash. The draw above keeps the SQE stream the same
			 * in every build. */
			if (UNDER_ASAN)
				sqe->off = (uintptr_t) &s->l;
		}
		sqe->accept_flags = one_in(3) ? (uint32_t) rnd64() & 0xfffff
			: (uint32_t[]) { 0, SOCK_NONBLOCK, SOCK_CLOEXEC }[rnd(3)];
		sqe->ioprio = one_in(3) ? rnd(8) : 0;
		break;
	case OP_CONNECT:
		sqe->addr = make_sockaddr(&len);
		sqe->off = len;
		break;
	case OP_BIND:
		sqe->addr = make_sockaddr(&len);
		sqe->addr2 = len;
		break;
	case OP_LISTEN:
		sqe->len = rnd(128);
		break;
	case OP_OPENAT:
		sqe->addr = make_path();
		sqe->open_flags = one_in(3) ? (uint32_t) rnd64() & 0x7fffff
			: (uint32_t[]) { O_RDONLY, O_RDWR | O_CREAT,
					 O_WRONLY | O_CREAT | O_TRUNC,
					 O_DIRECTORY, O_PATH, O_TMPFILE | O_RDWR,
					 O_CREAT | O_EXCL }[rnd(7)];
		sqe->len = 0600;
		break;
	case OP_OPENAT2: {
		struct { uint64_t flags, mode, resolve; } *how =
			arena_alloc(32);

		sqe->addr = make_path();
		how->flags = one_in(3) ? rnd64() & 0x7fffff
				       : O_RDWR | O_CREAT * rnd(2);
		how->mode = one_in(6) ? rnd64() : 0600;
		how->resolve = one_in(3) ? rnd64() & 0x3f : 0;
		sqe->addr2 = struct_ptr(how);
		sqe->len = one_in(6) ? rnd(64) : 24;
		break;
	}
	case OP_CLOSE:
		/* Only descriptors made to be closed, or ones that are not. */
		if (one_in(3)) {
			/* A direct descriptor: slot + 1, and fd stays 0. */
			sqe->file_index = 1 + rnd(nr_fixed_files + 2);
		} else if (on(C_BAD_FDS) && one_in(4)) {
			sqe->fd = one_in(2) ? -1 : CLOSED_FD;
		} else if (on(C_RING_FD) && one_in(8)) {
			sqe->fd = ring_fd;
		} else {
			sqe->fd = disposable[rnd(NR_DISPOSABLE)];
		}
		return;
	case OP_FILES_UPDATE: {
		unsigned cnt = rnd(5);
		int *fds = arena_alloc(sizeof(int) * (cnt + 1));

		for (unsigned i = 0; i < cnt; i++)
			fds[i] = one_in(3) ? -1 : pick_fd(0);
		sqe->addr = struct_ptr(fds);
		sqe->len = cnt;
		sqe->off = one_in(6) ? (uint64_t) (int) IORING_FILE_INDEX_ALLOC
				     : rnd(nr_fixed_files + 2);
		sqe->fd = -1;
		return;
	}
	case OP_STATX:
		sqe->addr = make_path();
		sqe->len = one_in(3) ? (uint32_t) rnd64() : 0x7ff;
		sqe->statx_flags = one_in(3) ? (uint32_t) rnd64() : 0;
		sqe->addr2 = data_ptr(1);
		break;
	case OP_FADVISE:
		sqe->off = rand_off();
		sqe->len = rand_len();
		sqe->fadvise_advice = rnd(8);
		break;
	case OP_MADVISE: {
		/* Advice that cannot take memory away from the fuzzer. */
		static const unsigned advice[] = { 0, 1, 2, 3, 4, 8, 10, 11,
						   12, 13, 14, 15, 16, 17,
						   20, 21, 22, 23, 999 };

		sqe->addr = data_ptr(0);
		sqe->len = rnd(room_after(sqe->addr) + 1);
		sqe->fadvise_advice = advice[rnd(sizeof(advice) /
						 sizeof(advice[0]))];
		break;
	}
	case OP_EPOLL_CTL: {
		struct epoll_event *ev = arena_alloc(sizeof(*ev));

		ev->events = one_in(4) ? (uint32_t) rnd64() : EPOLLIN;
		ev->data.u64 = rnd64();
		sqe->fd = one_in(6) ? pick_fd(0) : targets[T_EPOLL];
		sqe->len = rnd(5);
		sqe->off = pick_fd(1);
		sqe->addr = struct_ptr(ev);
		return;
	}
	case OP_EPOLL_WAIT:
		sqe->fd = one_in(6) ? pick_fd(0) : targets[T_EPOLL];
		sqe->addr = data_ptr(1);
		sqe->len = rnd(64);
		return;
	case OP_SPLICE: case OP_TEE:
		sqe->splice_fd_in = splice_input();
		sqe->splice_off_in = one_in(2) ? (uint64_t) -1 : rand_off();
		sqe->off = one_in(2) ? (uint64_t) -1 : rand_off();
		sqe->len = rand_len();
		sqe->splice_flags = one_in(4) ? (uint32_t) rnd64() : rnd(16);
		/* A fixed input may be any descriptor: see splice_input(). */
		if (on(C_BLOCKING))
			sqe->splice_flags &= ~(1U << 31);
		else if (one_in(5))
			sqe->splice_flags |= 1U << 31;	/* fd_in is fixed */
		break;
	case OP_PROVIDE_BUFFERS: {
		/*
		 * Buffers stay inside one data buffer (plus its guard page):
		 * the kernel checks only that the range is user memory.
		 */
		unsigned per = 1 + rnd(PAGE), cnt = 1 + rnd(16);
		uint64_t a = data_ptr(1);

		if (a >= ptr64(data_region) &&
		    a < ptr64(data_region) + DATA_BUFS * (DATA_BUF_SIZE + PAGE)) {
			uint64_t end = a - ((a - ptr64(data_region)) %
					    (DATA_BUF_SIZE + PAGE)) +
				       DATA_BUF_SIZE + PAGE;

			while ((uint64_t) per * cnt > end - a && cnt > 1)
				cnt--;
			if ((uint64_t) per * cnt > end - a)
				per = (unsigned) (end - a);
		} else {
			/* Bad memory: at most the two pages after bad_pages. */
			per = 1 + rnd(PAGE);
			cnt = rnd(3);
		}
		sqe->addr = a;
		sqe->len = per;
		sqe->fd = (int) cnt;
		sqe->off = one_in(8) ? rnd64() % 70000 : rnd(64);
		sqe->buf_group = rnd(4);
		return;
	}
	case OP_REMOVE_BUFFERS:
		sqe->fd = one_in(4) ? (int) rnd64() : (int) rnd(20);
		sqe->buf_group = rnd(4);
		return;
	case OP_SHUTDOWN:
		sqe->len = rnd(4);
		break;
	case OP_RENAMEAT: case OP_LINKAT:
		sqe->addr = make_path();
		sqe->addr2 = make_path();
		sqe->len = one_in(2) ? (uint32_t) pick_fd(0) : (uint32_t) -100;
		sqe->rename_flags = one_in(3) ? rnd(8) : 0;
		break;
	case OP_UNLINKAT: case OP_MKDIRAT:
		sqe->addr = make_path();
		sqe->len = 0700;
		sqe->unlink_flags = one_in(3) ? (uint32_t) rnd64() & 0x3ff : 0;
		break;
	case OP_SYMLINKAT:
		sqe->addr = make_path();	/* the target: one component */
		sqe->addr2 = make_path();
		break;
	case OP_MSG_RING: {
		/* The message lands in this ring under a fresh name. */
		unsigned extra = new_rec(OP_MSG_RING, K_EXTRA);

		recs[extra].consumed = 1;
		sqe->off = ud_of(extra);
		sqe->addr = rnd(3);
		sqe->len = rnd64();
		sqe->addr3 = rnd(nr_fixed_files + 2);
		sqe->file_index = rnd(nr_fixed_files + 2);
		sqe->msg_ring_flags = rnd(4);
		if (on(C_RING_FD) && !one_in(4))
			sqe->fd = ring_fd;
		else
			sqe->fd = pick_fd(0);
		return;
	}
	case OP_FSETXATTR: case OP_SETXATTR:
	case OP_FGETXATTR: case OP_GETXATTR: {
		static const char *const names[] = { "user.a", "user.b",
						     "trusted.t", "bogus", "" };
		char *name = arena_alloc(16);

		strcpy(name, names[rnd(5)]);
		sqe->addr = struct_ptr(name);
		sqe->addr2 = data_ptr(op == OP_FGETXATTR || op == OP_GETXATTR);
		sqe->addr3 = make_path();
		sqe->len = rnd(one_in(4) ? 70000 : 256);
		sqe->xattr_flags = rnd(4);
		break;
	}
	case OP_SOCKET:
		sqe->fd = (int[]) { AF_UNIX, AF_INET, AF_INET6, 9999 }[rnd(4)];
		sqe->off = (uint64_t[]) { SOCK_STREAM, SOCK_DGRAM,
					  SOCK_SEQPACKET, SOCK_STREAM |
					  SOCK_NONBLOCK, 77 }[rnd(5)];
		sqe->len = one_in(6) ? rnd(300) : 0;
		if (one_in(3))
			sqe->file_index = one_in(3) ? IORING_FILE_INDEX_ALLOC
						    : rnd(nr_fixed_files + 2);
		return;
	case OP_URING_CMD:
		sqe->off = rnd(8);	/* cmd_op: SIOCINQ, getsockopt, ... */
		sqe->addr = (uint64_t) (one_in(2) ? SOL_SOCKET : rnd(300)) |
			    (uint64_t) rnd(64) << 32;
		sqe->addr3 = data_ptr(1);
		sqe->splice_fd_in = rnd(64);
		break;
	case OP_WAITID:
		sqe->len = rnd(5);		/* idtype */
		sqe->fd = (int) rnd(100000);	/* id */
		sqe->file_index = rnd64() & 0x0f00000f;	/* options */
		sqe->addr2 = data_ptr(1);
		return;
	case OP_FUTEX_WAIT: case OP_FUTEX_WAKE: {
		uint32_t *word = (uint32_t *) (uintptr_t)
			(valid_data_ptr() & ~3ULL);

		/* The expected value: the word's own, so WAIT really waits. */
		sqe->addr2 = one_in(2) ? *word : rnd64();
		sqe->addr = on(C_BAD_POINTERS) && one_in(8) ? bad_ptr(0)
							    : ptr64(word);
		sqe->addr3 = one_in(4) ? rnd64() : 0xffffffff;
		sqe->fd = one_in(4) ? (int) rnd64() : 2;	/* FUTEX2 size */
		sqe->rw_flags = 0;
		return;
	}
	case OP_FUTEX_WAITV: {
		unsigned cnt = 1 + rnd(4);
		struct { uint64_t val, uaddr; uint32_t flags, res; } *v =
			arena_alloc(24 * cnt);

		for (unsigned i = 0; i < cnt; i++) {
			v[i].val = rnd(3);
			v[i].uaddr = valid_data_ptr() & ~3ULL;
			v[i].flags = one_in(4) ? (uint32_t) rnd64() : 2;
		}
		sqe->addr = struct_ptr(v);
		sqe->len = one_in(6) ? rnd(200) : cnt;
		return;
	}
	case OP_FIXED_FD_INSTALL:
		sqe->fd = pick_fixed_index();
		sqe->rw_flags = rnd(3);	/* install_fd_flags */
		sqe->flags |= IOSQE_FIXED_FILE * !one_in(6);
		r->fd_result = 1;
		return;
	case OP_PIPE: {
		/* The descriptors land where only this request looks. */
		int *fds = arena_alloc(2 * sizeof(int));

		sqe->addr = struct_ptr(fds);
		sqe->rw_flags = one_in(3) ? (uint32_t) rnd64() : O_NONBLOCK;
		if (one_in(3))
			sqe->file_index = one_in(2) ? IORING_FILE_INDEX_ALLOC
						    : rnd(nr_fixed_files + 2);
		r->pipe_result = sqe->addr == ptr64(fds) && !sqe->file_index;
		r->pipe_fds = fds;
		return;
	}
	case OP_RECV_ZC:
	default:	/* garbage opcodes: junk everywhere, pointers safe */
		sqe->addr = data_ptr(1);
		sqe->len = rand_len();
		sqe->off = rand_off();
		sqe->rw_flags = (uint32_t) rnd64();
		break;
	}
	if (sqe->flags & IOSQE_FIXED_FILE)
		sqe->fd = pick_fixed_index();
	else
		sqe->fd = pick_fd(ring_ok_op(op));
}

static int chain_open, chain_skips;

static void gen_sqe(struct io_uring_sqe *sqe, unsigned idx)
{
	struct rec *r = &recs[idx];
	unsigned op = r->op;

	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = op;
	sqe->flags = rand_sqe_flags();
	if (sqe->flags & IOSQE_BUFFER_SELECT)
		sqe->buf_group = one_in(8) ? rnd(1000) : rnd(4);
	fill_op_fields(sqe, r, op);
	if (!(sqe->flags & IOSQE_BUFFER_SELECT) && one_in(2))
		sqe->buf_index = one_in(8) ? (uint16_t) rnd64() : rnd(10);
	if (one_in(64))
		sqe->personality = 1 + rnd(4);
	if (one_in(64))
		sqe->ioprio = (uint16_t) rnd64();
	if (one_in(64) && !sqe->file_index && !sqe->splice_fd_in)
		sqe->file_index = rnd64();	/* junk in an unused field */
	sqe->user_data = ud_of(idx);
	if ((op == OP_OPENAT || op == OP_OPENAT2 || op == OP_ACCEPT ||
	     op == OP_SOCKET) && !sqe->file_index)
		r->fd_result = 1;
	/* A descriptor made with no CQE would be lost to the fuzzer. */
	if (r->fd_result || r->pipe_result)
		sqe->flags &= ~IOSQE_CQE_SKIP_SUCCESS;
	/*
	 * IOSQE_CQE_SKIP_SUCCESS: no CQE on success, and when such a request
	 * fails the kernel omits the CQEs of the rest of its chain. Where a
	 * chain ends depends on where a submission stops, so every request
	 * after a skipping one in a run of links may go without a CQE.
	 */
	r->may_omit = (sqe->flags & IOSQE_CQE_SKIP_SUCCESS) ||
		      (chain_open && chain_skips);
	if (sqe->flags & (IOSQE_IO_LINK | IOSQE_IO_HARDLINK)) {
		chain_skips |= !!(sqe->flags & IOSQE_CQE_SKIP_SUCCESS);
		chain_open = 1;
	} else {
		chain_open = chain_skips = 0;
	}
	if (opt.verbose)
		fprintf(stderr, "  sqe #%u %s(%u) flags=0x%x fd=%d addr=0x%llx "
			"len=%u off=0x%llx opflags=0x%x ioprio=0x%x bidx=%u "
			"fidx=%u addr3=0x%llx ud=%llx\n", idx, op_name(op), op,
			sqe->flags, sqe->fd, (unsigned long long) sqe->addr,
			sqe->len, (unsigned long long) sqe->off,
			sqe->rw_flags, sqe->ioprio, sqe->buf_index,
			sqe->file_index, (unsigned long long) sqe->addr3,
			(unsigned long long) sqe->user_data);
}

/* ------------------------------------------------------------------ */
/* Submission and reaping                                               */

static struct io_uring ring;

static unsigned reap_ready(void)
{
	struct io_uring_cqe *cqes[64];
	unsigned n, total = 0;

	while ((n = io_uring_peek_batch_cqe(&ring, cqes, 64)) > 0) {
		for (unsigned i = 0; i < n; i++)
			on_cqe(cqes[i]);
		io_uring_cq_advance(&ring, n);
		total += n;
	}
	return total;
}

/* Reap what is there; flush overflow; else wait up to ms for one CQE. */
static unsigned reap(unsigned ms)
{
	struct __kernel_timespec ts = { 0, (long long) ms * 1000000 };
	struct io_uring_cqe *cqe;
	unsigned n = reap_ready();
	int ret;

	if (n)
		return n;
	if (!ms && !io_uring_cq_has_overflow(&ring))
		return 0;
	if (io_uring_cq_has_overflow(&ring)) {
		ret = io_uring_get_events(&ring);
		if (ret < 0 && ret != -EINTR && ret != -EBUSY && ret != -EAGAIN)
			fail("io_uring_get_events: %s", strerror(-ret));
		n = reap_ready();
		if (n)
			return n;
	}
	if (!ms)
		return 0;
	ret = io_uring_wait_cqe_timeout(&ring, &cqe, &ts);
	if (ret < 0 && ret != -ETIME && ret != -EINTR && ret != -EAGAIN &&
	    ret != -EBUSY)
		fail("io_uring_wait_cqe_timeout: %s", strerror(-ret));
	return reap_ready();
}

/* Submit everything prepared; the kernel consumes SQEs in order. */
static void submit_prepared(void)
{
	unsigned stuck = 0;

	while (prepared_head < nr_prepared) {
		unsigned head = __atomic_load_n(ring.sq.khead, __ATOMIC_ACQUIRE);
		int ret = io_uring_submit(&ring);
		unsigned taken = __atomic_load_n(ring.sq.khead,
						 __ATOMIC_ACQUIRE) - head;

		/*
		 * The SQ head says what was consumed; the return value must
		 * agree: the count, or an error with nothing consumed.
		 */
		if ((ret >= 0 && taken != (unsigned) ret) || (ret < 0 && taken))
			fail("io_uring_enter returned %d but consumed %u SQEs",
			     ret, taken);
		if (ret > 0) {
			for (int i = 0; i < ret && prepared_head < nr_prepared;
			     i++) {
				struct rec *r = &recs[prepared[prepared_head++]];

				r->consumed = 1;
				if (r->kind == K_SQE)
					total_sqes++;
			}
			stuck = 0;
			continue;
		}
		if (ret < 0 && ret != -EBUSY && ret != -EAGAIN && ret != -EINTR)
			fail("io_uring_submit: %s (%u SQEs waiting)",
			     strerror(-ret), nr_prepared - prepared_head);
		if (++stuck > 10000)
			fail("io_uring_submit consumes nothing (%d, %u waiting)",
			     ret, nr_prepared - prepared_head);
		reap(1);
	}
}

static struct io_uring_sqe *get_sqe(void)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

	if (!sqe) {
		submit_prepared();
		sqe = io_uring_get_sqe(&ring);
		if (!sqe)
			fail("no SQE free after submitting everything");
	}
	return sqe;
}

static void queue_rec(unsigned idx)
{
	prepared[nr_prepared++] = idx;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * IORING_REGISTER_SYNC_CANCEL: a cancel SQE queued behind a drained request
 * would wait for the very requests it is meant to cancel.
 */
static void sync_cancel_everything(void)
{
	struct io_uring_sync_cancel_reg reg;
	int ret;

	memset(&reg, 0, sizeof(reg));
	reg.fd = -1;
	reg.flags = IORING_ASYNC_CANCEL_ANY;
	reg.timeout.tv_nsec = 10 * 1000 * 1000;
	ret = io_uring_register_sync_cancel(&ring, &reg);
	if (opt.verbose)
		fprintf(stderr, "  sync cancel: %d\n", ret);
	if (ret < 0 && ret != -ENOENT && ret != -ETIME && ret != -EALREADY &&
	    ret != -EINTR)
		fail("IORING_REGISTER_SYNC_CANCEL: %s", strerror(-ret));
}

/*
 * A zero-copy send holds its buffers, and posts its notification, until
 * the peer has read the data: read every socket's queue empty.
 */
static void empty_socket_queues(void)
{
	static const int socks[] = { T_UNIX0, T_UNIX1, T_DGRAM0, T_DGRAM1,
				     T_TCP_CLI, T_TCP_SRV, T_UDP };

	for (unsigned i = 0; i < sizeof(socks) / sizeof(socks[0]); i++) {
		char buf[4096];

		while (recv(targets[socks[i]], buf, sizeof(buf),
			    MSG_DONTWAIT) > 0)
			;
	}
}

static void cancel_everything(void)
{
	unsigned idx = new_rec(OP_ASYNC_CANCEL, K_HARNESS);
	struct io_uring_sqe *sqe = get_sqe();

	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_ASYNC_CANCEL;
	sqe->fd = -1;
	sqe->cancel_flags = IORING_ASYNC_CANCEL_ANY;
	sqe->user_data = ud_of(idx);
	queue_rec(idx);
	submit_prepared();
}

static void report_outstanding(void)
{
	unsigned shown = 0;

	for (unsigned i = 0; i < nr_recs && shown < 20; i++) {
		struct rec *r = &recs[i];

		if (!final_due(r))
			continue;
		fprintf(stderr, "fuzz:   no final CQE: user_data 0x%llx %s "
			"(SQE #%u of the ring, %u CQEs with F_MORE)\n",
			(unsigned long long) ud_of(i), op_name(r->op), i,
			r->mores);
		shown++;
	}
}

/*
 * Every consumed request must complete: give them a moment, then cancel
 * everything, again and again, until the deadline.
 */
static void flush_all(void)
{
	double start = now_s(), last_cancel = 0;

	submit_prepared();
	for (;;) {
		double t;

		reap(2);
		if (!outstanding())
			break;
		/* Multishot work may post forever: cancel on a clock. */
		t = now_s();
		if (t - start > 0.01 && t - last_cancel > 0.05) {
			if (!last_cancel)
				cancel_everything();
			else
				sync_cancel_everything();
			empty_socket_queues();
			last_cancel = t;
		}
		if (t - start > opt.watchdog) {
			fprintf(stderr, "fuzz: %u requests without a final CQE "
				"%u s after IORING_ASYNC_CANCEL_ANY\n",
				outstanding(), opt.watchdog);
			report_outstanding();
			fail("lost or hung CQE (CQ overflow counter %u, "
			     "SQ flags 0x%x)", *ring.cq.koverflow,
			     *ring.sq.kflags);
		}
	}
	reap_ready();
	if (io_uring_cq_has_overflow(&ring)) {
		/* Completions are all in: the overflow list must drain. */
		for (int i = 0; i < 100 && io_uring_cq_has_overflow(&ring); i++)
			reap(1);
		if (io_uring_cq_has_overflow(&ring))
			fail("IORING_SQ_CQ_OVERFLOW still set with nothing "
			     "outstanding");
	}
}

/* ------------------------------------------------------------------ */
/* Rings and registrations                                              */

#define MAX_BUF_RINGS 2
static void *buf_rings[MAX_BUF_RINGS];
static size_t buf_ring_size[MAX_BUF_RINGS];

static unsigned rand_setup_flags(void)
{
	static const unsigned accepted[] = {
		IORING_SETUP_CQSIZE, IORING_SETUP_CLAMP,
		IORING_SETUP_SUBMIT_ALL, IORING_SETUP_R_DISABLED,
		IORING_SETUP_COOP_TASKRUN, IORING_SETUP_TASKRUN_FLAG,
		IORING_SETUP_SINGLE_ISSUER, IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_NO_SQARRAY,
	};
	unsigned f = 0;

	for (unsigned i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++)
		if (one_in(3))
			f |= accepted[i];
#ifdef TEST_KERNEL
	/*
	 * liburing 2.3 cannot drive a ring without the SQ array. The choice
	 * is still drawn, so a run makes the same SQEs on both builds.
	 */
	f &= ~IORING_SETUP_NO_SQARRAY;
#endif
	/* DEFER_TASKRUN alone is refused; usually ask for it properly. */
	if ((f & IORING_SETUP_DEFER_TASKRUN) && !one_in(8))
		f |= IORING_SETUP_SINGLE_ISSUER;
	return f;
}

static void register_files(void)
{
	int fds[16];
	unsigned n = 1 + rnd(16);
	int ret;

	if (one_in(3)) {
		ret = io_uring_register_files_sparse(&ring, n);
	} else {
		for (unsigned i = 0; i < n; i++) {
			/*
			 * Never the ring's own descriptor: any op may write
			 * through a fixed file.
			 */
			fds[i] = one_in(4) ? -1 : targets[rnd(NR_TARGETS)];
			if (on(C_BAD_FDS) && one_in(16))
				fds[i] = CLOSED_FD;
		}
		ret = io_uring_register_files(&ring, fds, n);
	}
	nr_fixed_files = ret == 0 ? n : 0;
}

static void register_buffers(void)
{
	struct iovec iov[8];
	unsigned n = 1 + rnd(8);

	for (unsigned i = 0; i < n; i++) {
		uint64_t a = valid_data_ptr() & ~(PAGE - 1);
		uint64_t room = DATA_BUF_SIZE - ((a - ptr64(data_region)) %
						 (DATA_BUF_SIZE + PAGE));

		iov[i].iov_base = (void *) (uintptr_t) a;
		iov[i].iov_len = 1 + rnd((unsigned) room);
		/* A range that runs into the guard page must be refused. */
		if (on(C_BAD_POINTERS) && one_in(10)) {
			if (one_in(2))
				iov[i].iov_len = room + PAGE;
			else
				iov[i].iov_base = (void *) (uintptr_t)
					bad_ptr(1);
		}
	}
	io_uring_register_buffers(&ring, iov, n);
}

static void register_buf_ring(unsigned i)
{
	struct io_uring_buf_reg reg;
	unsigned entries = 1U << rnd(7);
	struct io_uring_buf_ring *br;
	unsigned nbufs = rnd(entries + 1);

	buf_ring_size[i] = (entries * sizeof(struct io_uring_buf) + PAGE - 1) &
			   ~(PAGE - 1);
	br = mmap(NULL, buf_ring_size[i], PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (br == MAP_FAILED)
		fail("harness: mmap: %s", strerror(errno));
	buf_rings[i] = br;
	io_uring_buf_ring_init(br);
	for (unsigned b = 0; b < nbufs; b++)
		io_uring_buf_ring_add(br, (void *) (uintptr_t) data_ptr(1),
				      one_in(8) ? (uint32_t) rnd64()
						: 1 + rnd(2 * PAGE),
				      b, io_uring_buf_ring_mask(entries), b);
	io_uring_buf_ring_advance(br, nbufs);
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = ptr64(br);
	reg.ring_entries = entries;
	reg.bgid = rnd(4);
	io_uring_register_buf_ring(&ring, &reg, 0);
}

static void register_random(void)
{
	if (one_in(2))
		register_files();
	if (one_in(2))
		register_buffers();
	if (one_in(4)) {
		if (one_in(2))
			io_uring_register_eventfd(&ring, targets[T_EVENTFD2]);
		else
			io_uring_register_eventfd_async(&ring,
							targets[T_EVENTFD2]);
	}
	if (on(C_KBUF))
		for (unsigned i = 0; i < MAX_BUF_RINGS; i++)
			if (one_in(3))
				register_buf_ring(i);
}

/* Registration changes while requests are in flight. */
static void reregister_random(void)
{
	switch (rnd(6)) {
	case 0:
		io_uring_unregister_buffers(&ring);
		break;
	case 1:
		io_uring_unregister_buffers(&ring);
		register_buffers();
		break;
	case 2: {
		int fds[4];
		unsigned n = 1 + rnd(4);

		for (unsigned i = 0; i < n; i++)
			fds[i] = one_in(3) ? -1 : targets[rnd(NR_TARGETS)];
		io_uring_register_files_update(&ring, rnd(nr_fixed_files + 1),
					       fds, n);
		break;
	}
	case 3:
		io_uring_unregister_eventfd(&ring);
		break;
	case 4:
		io_uring_register_eventfd(&ring, targets[T_EVENTFD2]);
		break;
	default:
		if (nr_fixed_files && one_in(2)) {
			io_uring_unregister_files(&ring);
			nr_fixed_files = 0;
		} else if (!nr_fixed_files) {
			register_files();
		}
		break;
	}
}

/* ------------------------------------------------------------------ */
/* Descriptors and threads back to baseline                             */

static int base_fds, base_threads;

static int count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	if (!d)
		fail("harness: opendir %s: %s", path, strerror(errno));
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - (strcmp(path, "/proc/self/fd") == 0);	/* the DIR's own */
}

static void list_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	char path[300], target[300];

	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = 0;
		fprintf(stderr, "fuzz:   fd %s -> %s\n", de->d_name, target);
	}
	closedir(d);
}

/*
 * A request that makes a descriptor, in a chain whose CQEs may be omitted
 * (behind a CQE_SKIP_SUCCESS request), can have made it with no CQE to
 * say which: the kernel leaves it open in the process too. Each such
 * request may leave one descriptor, counted into the baseline.
 */
static void unreaped_descriptors(void)
{
	for (unsigned i = 0; i < nr_recs; i++)
		if (recs[i].kind == K_SQE && recs[i].fd_result &&
		    recs[i].consumed && recs[i].may_omit && !recs[i].finals)
			base_fds++;
}

/*
 * Descriptors must be exactly back. Worker threads may be services of the
 * process, as the kernel's io-wq is (its last idle worker of each class
 * stays, the others exit after an idle timeout): threads must come back to
 * within --thread-slack of the count before any ring, so they cannot grow
 * with rings.
 */
static void check_baseline(void)
{
	int fds = 0, threads = 0;

	for (int i = 0; i < 12000; i++) {
		fds = count_dir("/proc/self/fd");
		threads = count_dir("/proc/self/task");
		if (fds <= base_fds &&
		    threads <= base_threads + (int) opt.thread_slack)
			return;
		usleep(1000);
	}
	if (fds > base_fds) {
		list_fds();
		fail("%d descriptors open after io_uring_queue_exit, %d before "
		     "the ring", fds, base_fds);
	}
	fail("%d threads 12 s after io_uring_queue_exit, %d before any ring "
	     "(--thread-slack %u)", threads, base_threads, opt.thread_slack);
}

/* ------------------------------------------------------------------ */
/* One iteration: one ring                                              */

static void remove_tree(int dirfd)
{
	DIR *d = fdopendir(dirfd);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (unlinkat(dirfd, de->d_name, 0) < 0 && errno == EISDIR) {
			int sub = openat(dirfd, de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW);

			if (sub >= 0)
				remove_tree(sub);
			unlinkat(dirfd, de->d_name, AT_REMOVEDIR);
		}
	}
	closedir(d);
}

static void clean_tmpdir(void)
{
	int fd = open(tmpdir, O_RDONLY | O_DIRECTORY);

	if (fd >= 0)
		remove_tree(fd);
}

/*
 * Each iteration starts from the same buffer contents, so a replay with
 * --skip-to sees what the original run saw. Bytes that are never '/' or
 * '.', so never a path that leaves the private directory.
 */
static void fill_data_buffers(void)
{
	for (unsigned i = 0; i < DATA_BUFS; i++) {
		unsigned char *b = data_region + i * (DATA_BUF_SIZE + PAGE);

		for (size_t j = 0; j < DATA_BUF_SIZE; j++)
			b[j] = (unsigned char) ('A' + (i * 7 + j * 13) % 26);
	}
}

static void prng_for_iteration(uint64_t it)
{
	rng_state = opt.seed ^ (it * 0xd1b54a32d192ed03ULL);
	rnd64();
}

static void run_batch(unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		unsigned idx = new_rec(pick_op(), K_SQE);
		struct io_uring_sqe *sqe = get_sqe();

		gen_sqe(sqe, idx);
		queue_rec(idx);
		if (one_in(16))
			submit_prepared();
	}
	submit_prepared();
	reap(0);
	reap_ready();
}

static void enable_rings(void)
{
#ifdef TEST_KERNEL
	/* liburing 2.3 declares io_uring_enable_rings() but has no symbol. */
	syscall(__NR_io_uring_register, ring.ring_fd,
		IORING_REGISTER_ENABLE_RINGS, NULL, 0);
#else
	io_uring_enable_rings(&ring);
#endif
}

static void run_iteration(uint64_t it)
{
	struct io_uring_params p;
	unsigned left = opt.sqes_per_ring;
	int ret;

	cur_iteration = it;
	prng_for_iteration(it);
	fill_data_buffers();
	alarm(opt.watchdog * 2 + 30);
	clean_tmpdir();
	make_targets(it);
	nr_recs = nr_prepared = prepared_head = 0;
	chain_open = chain_skips = 0;
	ring_drains = on(C_DRAIN) && one_in(3);
	arena_used = 0;
	nr_fixed_files = 0;
	memset(&p, 0, sizeof(p));
	p.flags = rand_setup_flags();
	p.cq_entries = 1 + rnd(one_in(2) ? 8 : 512);
	ret = io_uring_queue_init_params(1U << rnd(9), &ring, &p);
	if (opt.verbose)
		fprintf(stderr, "fuzz: iteration %llu setup flags 0x%x: %d\n",
			(unsigned long long) it, p.flags, ret);
	if (ret < 0) {
		total_setup_errors++;
		close_targets();
		check_baseline();
		return;
	}
	total_rings++;
	ring_fd = ring.ring_fd;
	register_random();
	if (p.flags & IORING_SETUP_R_DISABLED)
		enable_rings();
	while (left) {
		unsigned n = 1 + rnd(left < 64 ? left : 64);

		run_batch(n);
		left -= n;
		if (on(C_REREGISTER) && one_in(10))
			reregister_random();
		if (one_in(4))
			flush_all();
	}
	flush_all();
	if (opt.verbose)
		for (unsigned i = 0; i < nr_recs; i++)
			if (recs[i].kind == K_SQE && !recs[i].finals)
				fprintf(stderr, "  no CQE: #%u %s (%s)\n", i,
					op_name(recs[i].op), recs[i].consumed ?
					"consumed, may omit" : "not consumed");
	unreaped_descriptors();
	io_uring_queue_exit(&ring);
	ring_fd = -1;
	for (unsigned i = 0; i < MAX_BUF_RINGS; i++)
		if (buf_rings[i]) {
			munmap(buf_rings[i], buf_ring_size[i]);
			buf_rings[i] = NULL;
		}
	close_targets();
	check_baseline();
	alarm(0);
}

/* ------------------------------------------------------------------ */
/* Setup, reports, options                                              */

static char repro_line[512];

static void print_repro(void)
{
	char line[700];
	int n = snprintf(line, sizeof(line),
			 "fuzz: reproduce with: fuzz --seed %llu --skip-to %llu "
			 "--iterations 1 --sqes-per-ring %u%s\n",
			 (unsigned long long) opt.seed,
			 (unsigned long long) cur_iteration,
			 opt.sqes_per_ring, repro_line);

	/* write(), not stdio: this also runs in signal handlers. */
	if (n > 0 && write(2, line, (size_t) n) < 0)
		return;
}

static void on_alarm(int sig)
{
	static const char msg[] = "fuzz: FAIL: hang (watchdog alarm)\n";

	(void) sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	print_repro();
	_exit(3);
}

static void on_fatal(int sig)
{
	static const char msg[] = "fuzz: FAIL: fatal signal\n";

	if (write(2, msg, sizeof(msg) - 1) > 0)
		print_repro();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* A sanitizer reports its own errors; this adds the reproducer. */
extern void __sanitizer_set_death_callback(void (*)(void))
	__attribute__((weak));

static void on_sanitizer_death(void)
{
	print_repro();
}

/*
 * SQEs name lengths longer than their buffers on purpose; the kernel
 * answers with a short transfer or -EFAULT. ASan's send/sendto/sendmsg
 * wrappers check the whole length before the call and would report the
 * fuzzer's own SQE as the library's error.
 */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "intercept_send=0";
}

static void *map_or_die(size_t len, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS |
		       MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		fail("harness: mmap: %s", strerror(errno));
	return p;
}

static void setup_memory(void)
{
	size_t stride = DATA_BUF_SIZE + PAGE;

	data_region = map_or_die(DATA_BUFS * stride, PROT_READ | PROT_WRITE);
	for (unsigned i = 0; i < DATA_BUFS; i++)
		mprotect(data_region + i * stride + DATA_BUF_SIZE, PAGE,
			 PROT_NONE);
	bad_pages = map_or_die(3 * PAGE, PROT_NONE);
	mprotect(bad_pages + PAGE, PAGE, PROT_READ);
	arena_size = (size_t) opt.sqes_per_ring * ARENA_SLOT + 64 * PAGE;
	arena_size = (arena_size + PAGE - 1) & ~(PAGE - 1);
	arena = map_or_die(arena_size + PAGE, PROT_READ | PROT_WRITE);
	mprotect(arena + arena_size, PAGE, PROT_NONE);
	max_recs = opt.sqes_per_ring * 3 + 100000;
	recs = calloc(max_recs, sizeof(*recs));
	prepared = calloc(max_recs, sizeof(*prepared));
	if (!recs || !prepared)
		fail("harness: out of memory");
}

/* A ring that starts whatever process-wide services the library keeps. */
static void warm_up(void)
{
	struct io_uring_sqe *sqe;
	struct __kernel_timespec ts = { 0, 1000 };
	struct io_uring_cqe *cqe;
	int efd = eventfd(0, 0);

	if (io_uring_queue_init(8, &ring, 0) < 0)
		fail("io_uring_queue_init failed");
	io_uring_register_eventfd(&ring, efd);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_timeout(sqe, &ts, 0, 0);
	io_uring_submit(&ring);
	io_uring_wait_cqe(&ring, &cqe);
	io_uring_cqe_seen(&ring, cqe);
	io_uring_unregister_eventfd(&ring);
	io_uring_queue_exit(&ring);
	close(efd);
}

static int parse_ops(const char *list, int allow)
{
	char *copy = strdup(list), *save = NULL, *tok;

	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *end;
		long v = strtol(tok, &end, 0);
		int found = -1;

		if (*end == 0 && v >= 0 && v < 256)
			found = (int) v;
		for (int i = 0; found < 0 && i < NR_KNOWN_OPS; i++)
			if (!strcasecmp(tok, op_names[i]))
				found = i;
		if (found < 0) {
			fprintf(stderr, "fuzz: unknown opcode %s\n", tok);
			free(copy);
			return -1;
		}
		opt.op_allowed[found] = allow;
	}
	free(copy);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: fuzz [--seed N] [--iterations N] [--skip-to I]\n"
		"            [--sqes-per-ring N] [--time S] [--watchdog S]\n"
		"            [--thread-slack N]\n"
		"            [--ops LIST] [--no-ops LIST] [--verbose]\n"
		"            [--no-CLASS ...]\n"
		"classes:");
	for (int i = 0; i < NR_CLASSES; i++)
		fprintf(stderr, " %s", class_names[i]);
	fprintf(stderr, "\n");
	exit(2);
}

static int parse_class_flag(const char *arg)
{
	for (int i = 0; i < NR_CLASSES; i++)
		if (!strncmp(arg, "--no-", 5) && !strcmp(arg + 5, class_names[i])) {
			size_t len = strlen(repro_line);

			opt.enabled[i] = 0;
			snprintf(repro_line + len, sizeof(repro_line) - len,
				 " %s", arg);
			return 1;
		}
	return 0;
}

static void parse_args(int argc, char **argv)
{
	opt.seed = 1;
	opt.sqes_per_ring = 256;
	opt.watchdog = 10;
	opt.thread_slack = 4;
	memset(opt.enabled, 1, sizeof(opt.enabled));
	memset(opt.op_allowed, 1, sizeof(opt.op_allowed));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (parse_class_flag(a))
			continue;
		if (!strcmp(a, "--verbose")) {
			opt.verbose = 1;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--seed"))
			opt.seed = strtoull(v, NULL, 0);
		else if (!strcmp(a, "--iterations"))
			opt.iterations = strtoull(v, NULL, 0);
		else if (!strcmp(a, "--skip-to"))
			opt.skip_to = strtoull(v, NULL, 0);
		else if (!strcmp(a, "--sqes-per-ring"))
			opt.sqes_per_ring = (unsigned) strtoul(v, NULL, 0);
		else if (!strcmp(a, "--time"))
			opt.time_limit = (unsigned) strtoul(v, NULL, 0);
		else if (!strcmp(a, "--thread-slack"))
			opt.thread_slack = (unsigned) strtoul(v, NULL, 0);
		else if (!strcmp(a, "--watchdog"))
			opt.watchdog = (unsigned) strtoul(v, NULL, 0);
		else if (!strcmp(a, "--ops") || !strcmp(a, "--no-ops")) {
			int allow = !strcmp(a, "--ops");
			size_t len = strlen(repro_line);

			if (allow)
				memset(opt.op_allowed, 0,
				       sizeof(opt.op_allowed));
			if (parse_ops(v, allow))
				usage();
			snprintf(repro_line + len, sizeof(repro_line) - len,
				 " %s %s", a, v);
		} else
			usage();
	}
	if (!opt.sqes_per_ring || !opt.watchdog)
		usage();
	if (!opt.iterations && !opt.time_limit)
		opt.iterations = 100;
}

int main(int argc, char **argv)
{
	double start, last_report;
	uint64_t it;

	parse_args(argc, argv);
	/* New descriptors must never take the standard numbers. */
	while (fcntl(0, F_GETFD) < 0 || fcntl(1, F_GETFD) < 0 ||
	       fcntl(2, F_GETFD) < 0)
		if (open("/dev/null", O_RDWR) < 0)
			return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	if (__sanitizer_set_death_callback) {
		__sanitizer_set_death_callback(on_sanitizer_death);
	} else {
		signal(SIGSEGV, on_fatal);
		signal(SIGBUS, on_fatal);
		signal(SIGABRT, on_fatal);
		signal(SIGFPE, on_fatal);
		signal(SIGILL, on_fatal);
	}
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ua-fuzz-XXXXXX");
	if (!mkdtemp(tmpdir))
		fail("mkdtemp: %s", strerror(errno));
	/* Relative names and AT_FDCWD stay inside the private directory. */
	if (chdir(tmpdir) < 0)
		fail("chdir: %s", strerror(errno));
	setup_memory();
	printf("fuzz: seed %llu%s\n", (unsigned long long) opt.seed,
	       repro_line);
	warm_up();
	base_fds = count_dir("/proc/self/fd");
	base_threads = count_dir("/proc/self/task");
	start = now_s();
	last_report = start;
	for (it = opt.skip_to; ; it++) {
		double t = now_s();

		if (opt.iterations && it >= opt.skip_to + opt.iterations)
			break;
		if (opt.time_limit && t - start >= opt.time_limit)
			break;
		/* Long runs say how far they got, in case they end badly. */
		if (t - last_report >= 60) {
			printf("fuzz: %llu SQEs, %llu rings so far (iteration "
			       "%llu)\n", (unsigned long long) total_sqes,
			       (unsigned long long) total_rings,
			       (unsigned long long) it);
			last_report = t;
		}
		run_iteration(it);
	}
	clean_tmpdir();
	rmdir(tmpdir);
	printf("fuzz: %llu SQEs, %llu rings, 0 failures (iterations %llu..%llu,"
	       " %llu setups refused)\n", (unsigned long long) total_sqes,
	       (unsigned long long) total_rings,
	       (unsigned long long) opt.skip_to,
	       (unsigned long long) (it ? it - 1 : 0),
	       (unsigned long long) total_setup_errors);
	return 0;
}
