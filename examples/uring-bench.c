/* SPDX-License-Identifier: MIT */
/*
 * uring-bench: measure the cost of going through a ring.
 *
 *   --mode nop    submit a batch of NOPs with one call, reap them, repeat
 *   --mode read   random block-aligned reads of a file, QD kept in flight
 *   --mode pread  the same random reads with plain pread(2): the baseline
 *   --mode evchurn  register an eventfd, complete a batch of NOPs,
 *                   unregister: the cost of eventfd registration
 *   --eventfd     with --mode nop: keep an eventfd registered, so every
 *                 batch of completions also signals it
 *   --mode fupdate  replace registered files one at a time while
 *                 --inflight N reads stay parked on fixed files (empty
 *                 pipes); --quiesce first completes every parked read
 *                 and re-queues it after the update, as a ring that had
 *                 to go idle for each update would
 *   --mode timeout  one relative TIMEOUT of --usec at a time: how late its
 *                 CQE is seen (timer accuracy; median and 99th percentile)
 *   --mode cycle  set up a ring, complete one NOP (with --file: one 4 KiB
 *                 read of the file), exit it: what a program that makes
 *                 short-lived rings pays per ring
 *   --sqpoll      with --mode nop or read: an IORING_SETUP_SQPOLL ring,
 *                 whose thread consumes the SQ
 *   --direct      with read or pread: open the file O_DIRECT (the device)
 *   --dear-syscalls  first install a seccomp filter of many rules, as
 *                 container runtimes do, so every system call costs more
 *   --mode write  sequential --bs writes (default 64 KiB) over the first
 *                 64 MiB of the file, --qd (default 8) in flight
 *   --mode pwrite the same writes with a plain pwrite(2) loop
 *   --mode fsync  --inflight chains (default 16) of a 4 KiB write linked
 *                 to an fdatasync-style FSYNC, each slot its own block
 *   --mode wsync  the same pairs with a plain pwrite + fdatasync loop
 *   --mode wake   one 1-byte READ parked on an empty pipe, another thread
 *                 writes the byte: the time from that write to the CQE in
 *                 the waiting thread's hand (median and 99th percentile)
 *   --mode idle   set up one ring of --entries SQEs (default 4096) and
 *                 leave it idle: what it adds to VmSize and VmRSS, in KiB
 *
 * Runs for a fixed time and prints one machine-readable line, so that the
 * same source built against uring-alike and against the kernel's io_uring
 * can be compared by a script. Offsets come from a fixed-seed PRNG so every
 * run reads the same sequence.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <liburing.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_BATCH	4096
#define MAX_QD		4096
#define MAX_INFLIGHT	16384
#define MAX_ENTRIES	32768	/* the kernel's largest SQ */
#define MAX_BLOCK_BYTES	(16 * 1024 * 1024)
#define BUFFER_ALIGN	4096

/* Reading the clock costs about as much as a cheap op: look every 16
 * loop iterations, which stays well under a millisecond in every mode. */
#define CLOCK_CHECK_MASK	15u

enum mode {
	MODE_NONE, MODE_NOP, MODE_READ, MODE_PREAD, MODE_EVCHURN, MODE_TIMEOUT,
	MODE_FUPDATE, MODE_CYCLE, MODE_WRITE, MODE_PWRITE, MODE_FSYNC,
	MODE_WSYNC, MODE_WAKE, MODE_IDLE
};

/* write modes: the span rewritten over and over, so the file stays put. */
#define WRITE_SPAN	(64ull << 20)
#define FSYNC_BLOCK	4096u

struct options {
	enum mode mode;
	unsigned batch;
	unsigned qd;
	unsigned block_bytes;
	unsigned usec;
	unsigned entries;
	double seconds;
	const char *file;
	bool eventfd;
	unsigned inflight;
	bool quiesce;
	bool sqpoll;
	bool direct;
	bool dear_syscalls;
	bool qd_set, bs_set, inflight_set;
};

struct target {
	int fd;
	uint64_t blocks;	/* whole blocks in the file */
	uint64_t rng;		/* xorshift64 state */
};

struct result {
	unsigned long long ops;
	double secs;
	double median_us, p99_us;	/* timeout and wake modes: latency */
	long vmsize_kib, rss_kib;	/* idle mode: memory added */
};

static void usage(FILE *out, const char *prog)
{
	fprintf(out,
		"Usage: %s --mode nop [--batch N] [--eventfd] [--sqpoll] [--seconds S]\n"
		"       %s --mode read --file F [--qd N] [--bs BYTES] [--sqpoll] [--seconds S]\n"
		"       %s --mode pread --file F [--bs BYTES] [--seconds S]\n"
		"       %s --mode evchurn [--batch N] [--seconds S]\n"
		"       %s --mode fupdate [--inflight N] [--quiesce] [--seconds S]\n"
		"       %s --mode timeout [--usec N] [--seconds S]\n"
		"       %s --mode cycle [--file F] [--seconds S]\n"
		"       %s --mode write|pwrite --file F [--qd N] [--bs BYTES]\n"
		"       %s --mode fsync|wsync --file F [--inflight N]\n"
		"       %s --mode wake [--seconds S]\n"
		"       %s --mode idle [--entries N]\n"
		"\n"
		"  --mode nop     submit N NOPs per call, reap them, repeat\n"
		"  --mode read    random aligned reads of F, N kept in flight\n"
		"  --mode pread   the same reads with a plain pread loop\n"
		"  --mode evchurn register an eventfd, complete N NOPs, unregister;\n"
		"                 counts rounds\n"
		"  --mode fupdate replace one registered file per update while N\n"
		"                 fixed-file reads wait on empty pipes; counts updates\n"
		"  --inflight N   (fupdate) reads parked meanwhile (1-%d, default 1)\n"
		"  --quiesce      (fupdate) complete and re-queue every parked read\n"
		"                 around each update: a ring that must go idle\n"
		"  --eventfd      (nop) keep an eventfd registered while running\n"
		"  --sqpoll       (nop, read) a ring with a submission thread\n"
		"  --mode timeout one N-microsecond TIMEOUT at a time (default\n"
		"                 1000): median and p99 submit-to-CQE time\n"
		"  --mode cycle   set up a ring, complete one NOP (or with F one\n"
		"                 read of F), exit it; counts rings\n"
		"  --batch N      NOPs per submission (1-%d, default 32)\n"
		"  --qd N         reads in flight (1-%d, default 32)\n"
		"  --bs BYTES     read size and alignment (default 4096)\n"
		"  --usec N       timeout length in microseconds (default 1000)\n"
		"  --seconds S    run time (default 2)\n"
		"  --direct       (read, pread) open F with O_DIRECT\n"
		"  --dear-syscalls  install a seccomp filter of many rules first\n"
		"  --mode write   sequential writes over F's first 64 MiB, N in\n"
		"                 flight (default 8, 64 KiB each)\n"
		"  --mode pwrite  the same writes with a plain pwrite loop\n"
		"  --mode fsync   N chains (default 16) of a 4 KiB write linked\n"
		"                 to a data FSYNC; counts pairs\n"
		"  --mode wsync   the same pairs with pwrite + fdatasync\n"
		"  --mode wake    a READ parked on an empty pipe, the byte written\n"
		"                 by another thread: latency to the CQE\n"
		"  --mode idle    one idle ring of N entries (default 4096): the\n"
		"                 VmSize and VmRSS it adds\n"
		"  --entries N    (idle) SQ entries (1-%d)\n"
		"  -h, --help     show this help and exit\n"
		"\n"
		"Prints one line: mode=... ops=N secs=S ops_per_sec=R\n"
		"(timeout and wake modes add median_us=M p99_us=P, idle mode\n"
		"vmsize_kib=V rss_kib=R)\n",
		prog, prog, prog, prog, prog, prog, prog, prog, prog, prog,
		prog, MAX_INFLIGHT, MAX_BATCH, MAX_QD, MAX_ENTRIES);
}

static void die(const char *what, int err)
{
	fprintf(stderr, "uring-bench: %s: %s\n", what, strerror(-err));
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

/* xorshift64: fast, and the fixed seed makes runs repeatable. */
static uint64_t next_random(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

static __u64 random_offset(struct target *t, unsigned block_bytes)
{
	return (next_random(&t->rng) % t->blocks) * block_bytes;
}

/* Setup flags of the rings the nop and read modes make (--sqpoll). */
static unsigned ring_flags;

/*
 * Every mode sizes its ring for all it keeps queued, so an empty SQE
 * would mean the library lost count: stop rather than crash. Under
 * SQPOLL the thread may post CQEs before it releases their SQEs (the
 * kernel's does): wait for it to make room.
 */
static struct io_uring_sqe *get_sqe(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	int ret;

	while (!sqe && (ring_flags & IORING_SETUP_SQPOLL)) {
		ret = io_uring_sqring_wait(ring);
		if (ret < 0)
			die("io_uring_sqring_wait", ret);
		sqe = io_uring_get_sqe(ring);
	}
	if (!sqe)
		die("io_uring_get_sqe", -EBUSY);
	return sqe;
}

static void init_ring(struct io_uring *ring, unsigned entries)
{
	int ret = io_uring_queue_init(entries, ring, ring_flags);

	if (ret < 0)
		die("io_uring_queue_init", ret);
}

/*
 * Submit one batch of NOPs and consume exactly its completions. Waiting in
 * the submit call matters for an engine that may finish NOPs after submit
 * returns; the kernel completes them inline, so it costs it nothing extra.
 */
static void nop_round(struct io_uring *ring, unsigned batch,
		      struct io_uring_cqe **cqes)
{
	unsigned reaped;
	int ret;

	for (unsigned i = 0; i < batch; i++)
		io_uring_prep_nop(get_sqe(ring));
	ret = io_uring_submit_and_wait(ring, batch);
	if (ret < 0)
		die("io_uring_submit_and_wait", ret);
	reaped = io_uring_peek_batch_cqe(ring, cqes, batch);
	if (reaped != batch) {
		fprintf(stderr, "uring-bench: waited for %u completions, "
			"found %u\n", batch, reaped);
		exit(1);
	}
	for (unsigned i = 0; i < reaped; i++)
		if (cqes[i]->res < 0)
			die("nop", cqes[i]->res);
	io_uring_cq_advance(ring, reaped);
}

/* Non-blocking, so the counter never needs reading: it only grows. */
static int make_eventfd(void)
{
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	if (efd < 0)
		die("eventfd", -errno);
	return efd;
}

static struct result bench_nop(const struct options *o)
{
	struct io_uring_cqe *cqes[MAX_BATCH];
	struct io_uring ring;
	struct result r = { 0 };
	unsigned long long rounds = 0;
	double start, deadline;

	int efd = -1, ret;

	init_ring(&ring, o->batch);
	if (o->eventfd) {
		efd = make_eventfd();
		ret = io_uring_register_eventfd(&ring, efd);
		if (ret < 0)
			die("io_uring_register_eventfd", ret);
	}
	start = now();
	deadline = start + o->seconds;
	do {
		nop_round(&ring, o->batch, cqes);
		rounds++;
	} while ((rounds & CLOCK_CHECK_MASK) || now() < deadline);
	r.secs = now() - start;
	r.ops = rounds * o->batch;
	io_uring_queue_exit(&ring);
	if (efd >= 0)
		close(efd);
	return r;
}

/* Each round: register an eventfd, complete one batch of NOPs (which
 * signals it), unregister. Counts rounds. */
static struct result bench_evchurn(const struct options *o)
{
	struct io_uring_cqe *cqes[MAX_BATCH];
	struct io_uring ring;
	struct result r = { 0 };
	double start, deadline;
	int efd = make_eventfd(), ret;

	init_ring(&ring, o->batch);
	start = now();
	deadline = start + o->seconds;
	do {
		ret = io_uring_register_eventfd(&ring, efd);
		if (ret < 0)
			die("io_uring_register_eventfd", ret);
		nop_round(&ring, o->batch, cqes);
		ret = io_uring_unregister_eventfd(&ring);
		if (ret < 0)
			die("io_uring_unregister_eventfd", ret);
		r.ops++;
	} while ((r.ops & CLOCK_CHECK_MASK) || now() < deadline);
	r.secs = now() - start;
	io_uring_queue_exit(&ring);
	close(efd);
	return r;
}

/* Each round: a fresh ring, one NOP or read through it, then its exit. */
static struct result bench_cycle(const struct options *o, int fd)
{
	static char buf[4096];
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	struct result r = { 0 };
	double start, deadline;

	start = now();
	deadline = start + o->seconds;
	do {
		init_ring(&ring, 4);
		if (fd >= 0)
			io_uring_prep_read(get_sqe(&ring), fd, buf, sizeof(buf), 0);
		else
			io_uring_prep_nop(get_sqe(&ring));
		if (io_uring_submit_and_wait(&ring, 1) != 1 ||
		    io_uring_peek_cqe(&ring, &cqe))
			die("io_uring_submit_and_wait", -EIO);
		if (cqe->res < 0)
			die(fd >= 0 ? "read" : "nop", cqe->res);
		io_uring_queue_exit(&ring);
		r.ops++;
	} while ((r.ops & CLOCK_CHECK_MASK) || now() < deadline);
	r.secs = now() - start;
	return r;
}

static char *alloc_buffers(size_t bytes)
{
	void *mem;

	/* Page-aligned, so copy costs do not vary with where malloc lands. */
	if (posix_memalign(&mem, BUFFER_ALIGN, bytes))
		die("cannot allocate buffers", -ENOMEM);
	return mem;
}

static void queue_read(struct io_uring *ring, struct target *t,
		       const struct options *o, char *buffers, unsigned slot)
{
	struct io_uring_sqe *sqe = get_sqe(ring);

	io_uring_prep_read(sqe, t->fd, buffers + (size_t) slot * o->block_bytes,
			   o->block_bytes, random_offset(t, o->block_bytes));
	io_uring_sqe_set_data64(sqe, slot);
}

/* Offsets are whole blocks inside the file: anything less is wrong. */
static void check_transfer(const char *what, int res, unsigned bytes)
{
	if (res < 0)
		die(what, res);
	if ((unsigned) res != bytes) {
		fprintf(stderr, "uring-bench: short %s: %d of %u bytes\n",
			what, res, bytes);
		exit(1);
	}
}

/* Reap whatever has completed and refill each freed slot at once. */
static unsigned reap_and_refill(struct io_uring *ring, struct target *t,
				const struct options *o, char *buffers)
{
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;

	io_uring_for_each_cqe(ring, head, cqe) {
		check_transfer("read", cqe->res, o->block_bytes);
		queue_read(ring, t, o, buffers,
			   (unsigned) io_uring_cqe_get_data64(cqe));
		seen++;
	}
	io_uring_cq_advance(ring, seen);
	return seen;
}

/* Let the QD reads still queued or in flight finish, uncounted, so no
 * request outlives its buffer. */
static void drain_reads(struct io_uring *ring, unsigned qd)
{
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;
	int ret = io_uring_submit_and_wait(ring, qd);

	if (ret < 0)
		die("io_uring_submit_and_wait", ret);
	io_uring_for_each_cqe(ring, head, cqe)
		seen++;
	io_uring_cq_advance(ring, seen);
}

static struct result bench_read(const struct options *o, struct target *t)
{
	struct io_uring ring;
	struct result r = { 0 };
	unsigned long long rounds = 0;
	double start, deadline;
	char *buffers;

	buffers = alloc_buffers((size_t) o->qd * o->block_bytes);
	init_ring(&ring, o->qd);
	for (unsigned slot = 0; slot < o->qd; slot++)
		queue_read(&ring, t, o, buffers, slot);

	start = now();
	deadline = start + o->seconds;
	do {
		int ret = io_uring_submit_and_wait(&ring, 1);

		if (ret < 0)
			die("io_uring_submit_and_wait", ret);
		r.ops += reap_and_refill(&ring, t, o, buffers);
		rounds++;
	} while ((rounds & CLOCK_CHECK_MASK) || now() < deadline);
	r.secs = now() - start;

	drain_reads(&ring, o->qd);
	io_uring_queue_exit(&ring);
	free(buffers);
	return r;
}

static struct result bench_pread(const struct options *o, struct target *t)
{
	struct result r = { 0 };
	double start, deadline;
	char *buf;

	buf = alloc_buffers(o->block_bytes);
	start = now();
	deadline = start + o->seconds;
	do {
		ssize_t got = pread(t->fd, buf, o->block_bytes,
				    (off_t) random_offset(t, o->block_bytes));

		check_transfer("read", got < 0 ? -errno : (int) got,
			       o->block_bytes);
		r.ops++;
	} while ((r.ops & CLOCK_CHECK_MASK) || now() < deadline);
	r.secs = now() - start;
	free(buf);
	return r;
}

/* write: slot i's buffer goes to the next block of the span. */
static void queue_write(struct io_uring *ring, int fd, const struct options *o,
			char *buf, __u64 *next, unsigned slot)
{
	struct io_uring_sqe *sqe = get_sqe(ring);

	io_uring_prep_write(sqe, fd, buf, o->block_bytes, *next);
	io_uring_sqe_set_data64(sqe, slot);
	*next = (*next + o->block_bytes) % WRITE_SPAN;
}

static struct result bench_write(const struct options *o, int fd)
{
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	struct result r = { 0 };
	unsigned long long rounds = 0;
	double start, deadline;
	__u64 next = 0;
	char *buf = alloc_buffers(o->block_bytes);

	memset(buf, 'w', o->block_bytes);
	init_ring(&ring, o->qd);
	for (unsigned slot = 0; slot < o->qd; slot++)
		queue_write(&ring, fd, o, buf, &next, slot);
	start = now();
	deadline = start + o->seconds;
	do {
		unsigned head, seen = 0;
		int ret = io_uring_submit_and_wait(&ring, 1);

		if (ret < 0)
			die("io_uring_submit_and_wait", ret);
		io_uring_for_each_cqe(&ring, head, cqe) {
			check_transfer("write", cqe->res, o->block_bytes);
			queue_write(&ring, fd, o, buf, &next,
				    (unsigned) io_uring_cqe_get_data64(cqe));
			seen++;
		}
		io_uring_cq_advance(&ring, seen);
		r.ops += seen;
		rounds++;
	} while ((rounds & CLOCK_CHECK_MASK) || now() < deadline);
	r.secs = now() - start;
	drain_reads(&ring, o->qd);
	io_uring_queue_exit(&ring);
	free(buf);
	return r;
}

static struct result bench_pwrite(const struct options *o, int fd)
{
	struct result r = { 0 };
	double start, deadline;
	__u64 next = 0;
	char *buf = alloc_buffers(o->block_bytes);

	memset(buf, 'w', o->block_bytes);
	start = now();
	deadline = start + o->seconds;
	do {
		ssize_t n = pwrite(fd, buf, o->block_bytes, (off_t) next);

		check_transfer("write", n < 0 ? -errno : (int) n, o->block_bytes);
		next = (next + o->block_bytes) % WRITE_SPAN;
		r.ops++;
	} while ((r.ops & CLOCK_CHECK_MASK) || now() < deadline);
	r.secs = now() - start;
	free(buf);
	return r;
}

/* fsync: chain i writes block i, then syncs the file's data. */
static void queue_pair(struct io_uring *ring, int fd, char *buf, unsigned slot)
{
	struct io_uring_sqe *sqe = get_sqe(ring);

	io_uring_prep_write(sqe, fd, buf, FSYNC_BLOCK,
			    (__u64) slot * FSYNC_BLOCK);
	sqe->flags |= IOSQE_IO_LINK;
	io_uring_sqe_set_data64(sqe, UINT64_MAX);
	sqe = get_sqe(ring);
	io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
	io_uring_sqe_set_data64(sqe, slot);
}

static struct result bench_fsync(const struct options *o, int fd)
{
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	struct result r = { 0 };
	unsigned long long rounds = 0;
	unsigned pending = 2 * o->inflight;	/* CQEs still to come */
	double start, deadline;
	char *buf = alloc_buffers(FSYNC_BLOCK);

	memset(buf, 's', FSYNC_BLOCK);
	init_ring(&ring, 2 * o->inflight);
	for (unsigned slot = 0; slot < o->inflight; slot++)
		queue_pair(&ring, fd, buf, slot);
	start = now();
	deadline = start + o->seconds;
	do {
		unsigned head, seen = 0;
		int ret = io_uring_submit_and_wait(&ring, 1);

		if (ret < 0)
			die("io_uring_submit_and_wait", ret);
		io_uring_for_each_cqe(&ring, head, cqe) {
			__u64 slot = io_uring_cqe_get_data64(cqe);

			seen++;
			pending--;
			if (slot == UINT64_MAX) {
				check_transfer("write", cqe->res, FSYNC_BLOCK);
				continue;
			}
			if (cqe->res < 0)
				die("fsync", cqe->res);
			queue_pair(&ring, fd, buf, (unsigned) slot);
			pending += 2;
			r.ops++;
		}
		io_uring_cq_advance(&ring, seen);
		rounds++;
	} while ((rounds & CLOCK_CHECK_MASK) || now() < deadline);
	r.secs = now() - start;
	drain_reads(&ring, pending);
	io_uring_queue_exit(&ring);
	free(buf);
	return r;
}

static struct result bench_wsync(const struct options *o, int fd)
{
	struct result r = { 0 };
	double start, deadline;
	char *buf = alloc_buffers(FSYNC_BLOCK);

	memset(buf, 's', FSYNC_BLOCK);
	start = now();
	deadline = start + o->seconds;
	do {
		ssize_t n = pwrite(fd, buf, FSYNC_BLOCK,
				   (off_t) (r.ops % o->inflight) * FSYNC_BLOCK);

		check_transfer("write", n < 0 ? -errno : (int) n, FSYNC_BLOCK);
		if (fdatasync(fd) < 0)
			die("fdatasync", -errno);
		r.ops++;
	} while ((r.ops & CLOCK_CHECK_MASK) || now() < deadline);
	r.secs = now() - start;
	free(buf);
	return r;
}

/*
 * Container runtimes filter system calls with seccomp, and every call then
 * runs the filter: many rules make a call dearer, which favours batching.
 * The rules match nothing the benchmark makes (syscall numbers past any
 * real one), so all of them run, then everything is allowed. Since Linux
 * 5.11 the kernel skips a filter whose verdict depends on the system
 * call's number alone (it caches "always allowed" per number), which would
 * leave the calls as cheap as without it; the last rule reads an argument,
 * as rules on clone(), ioctl() or socket() do in real profiles, so the
 * filter runs on every call.
 */
#define DEAR_RULES	1000

static void make_syscalls_dear(void)
{
	struct sock_filter insns[DEAR_RULES + 4];
	struct sock_fprog prog = { .len = DEAR_RULES + 4, .filter = insns };
	unsigned i;

	insns[0] = (struct sock_filter) BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		offsetof(struct seccomp_data, nr));
	for (i = 0; i < DEAR_RULES; i++)
		insns[i + 1] = (struct sock_filter) BPF_JUMP(BPF_JMP | BPF_JEQ |
			BPF_K, 100000 + i, 0, 0);
	insns[DEAR_RULES + 1] = (struct sock_filter) BPF_STMT(BPF_LD | BPF_W |
		BPF_ABS, offsetof(struct seccomp_data, args[5]));
	insns[DEAR_RULES + 2] = (struct sock_filter) BPF_JUMP(BPF_JMP | BPF_JEQ |
		BPF_K, 0xdead, 0, 0);
	insns[DEAR_RULES + 3] = (struct sock_filter) BPF_STMT(BPF_RET | BPF_K,
		SECCOMP_RET_ALLOW);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		die("seccomp filter", -errno);
}

static int open_for_writes(const struct options *o)
{
	int fd = open(o->file, O_WRONLY | O_CREAT, 0644);

	if (fd < 0)
		die(o->file, -errno);
	return fd;
}

/* fupdate: N empty pipes; slot i of the table holds pipe i's reading end. */
struct parked {
	int (*pipes)[2];
	char *bufs;		/* one byte per parked read */
	unsigned n;
};

static char byte_for(unsigned i)
{
	return (char) ('A' + i % 26);
}

/* Each update costs uring-alike a descriptor for a while: allow plenty. */
static void raise_nofile_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void park_reads(struct io_uring *ring, struct parked *p)
{
	int ret;

	for (unsigned i = 0; i < p->n; i++) {
		struct io_uring_sqe *sqe = get_sqe(ring);

		io_uring_prep_read(sqe, (int) i, &p->bufs[i], 1, 0);
		sqe->flags |= IOSQE_FIXED_FILE;
		io_uring_sqe_set_data64(sqe, i);
	}
	ret = io_uring_submit(ring);
	if (ret != (int) p->n)
		die("io_uring_submit", ret < 0 ? ret : -EIO);
}

/* A byte into every pipe; each parked read must return its own pipe's. */
static void complete_reads(struct io_uring *ring, struct parked *p)
{
	struct io_uring_cqe *cqe;
	unsigned head, got = 0, seen;
	int ret;

	for (unsigned i = 0; i < p->n; i++) {
		char b = byte_for(i);

		if (write(p->pipes[i][1], &b, 1) != 1)
			die("write", -errno);
	}
	while (got < p->n) {
		ret = io_uring_wait_cqe(ring, &cqe);
		if (ret < 0)
			die("io_uring_wait_cqe", ret);
		seen = 0;
		io_uring_for_each_cqe(ring, head, cqe) {
			__u64 i = io_uring_cqe_get_data64(cqe);

			if (cqe->res != 1 || i >= p->n ||
			    p->bufs[i] != byte_for((unsigned) i)) {
				fprintf(stderr, "uring-bench: parked read %llu: "
					"res %d\n", (unsigned long long) i,
					cqe->res);
				exit(1);
			}
			seen++;
		}
		io_uring_cq_advance(ring, seen);
		got += seen;
	}
}

static void setup_parked(struct io_uring *ring, struct parked *p, unsigned n)
{
	int *fds = malloc(n * sizeof(*fds)), ret;

	p->n = n;
	p->pipes = malloc(n * sizeof(*p->pipes));
	p->bufs = calloc(n, 1);
	if (!fds || !p->pipes || !p->bufs)
		die("cannot allocate", -ENOMEM);
	raise_nofile_limit();
	for (unsigned i = 0; i < n; i++) {
		if (pipe2(p->pipes[i], O_CLOEXEC))
			die("pipe2", -errno);
		fds[i] = p->pipes[i][0];
	}
	init_ring(ring, n);
	ret = io_uring_register_files(ring, fds, n);
	if (ret < 0)
		die("io_uring_register_files", ret);
	free(fds);
}

static void teardown_parked(struct io_uring *ring, struct parked *p)
{
	io_uring_unregister_files(ring);
	io_uring_queue_exit(ring);
	for (unsigned i = 0; i < p->n; i++) {
		close(p->pipes[i][0]);
		close(p->pipes[i][1]);
	}
	free(p->pipes);
	free(p->bufs);
}

/* One update: slot i gets its pipe's reading end again (a new file
 * reference), and the one it held is released once nothing uses it. */
static void update_slot(struct io_uring *ring, struct parked *p, unsigned i)
{
	int ret = io_uring_register_files_update(ring, i, &p->pipes[i][0], 1);

	if (ret != 1)
		die("io_uring_register_files_update", ret < 0 ? ret : -EIO);
}

static unsigned long long update_until(struct io_uring *ring,
				       struct parked *p, double deadline)
{
	unsigned long long n = 0;

	do {
		update_slot(ring, p, (unsigned) (n % p->n));
		n++;
	} while ((n & CLOCK_CHECK_MASK) || now() < deadline);
	return n;
}

/* Each update waits for the ring to go idle, as before the seed's design. */
static unsigned long long quiesced_updates_until(struct io_uring *ring,
						 struct parked *p,
						 double deadline)
{
	unsigned long long n = 0;

	do {
		complete_reads(ring, p);
		update_slot(ring, p, (unsigned) (n % p->n));
		park_reads(ring, p);
		n++;
	} while (now() < deadline);
	return n;
}

static struct result bench_fupdate(const struct options *o)
{
	struct io_uring ring;
	struct parked p;
	struct result r = { 0 };
	double start, warm = o->seconds / 4 < 0.25 ? o->seconds / 4 : 0.25;

	setup_parked(&ring, &p, o->inflight);
	park_reads(&ring, &p);
	/* Untimed: thread pools and node pools settle first. */
	if (!o->quiesce)
		update_until(&ring, &p, now() + warm);
	start = now();
	if (o->quiesce)
		r.ops = quiesced_updates_until(&ring, &p, start + o->seconds);
	else
		r.ops = update_until(&ring, &p, start + o->seconds);
	r.secs = now() - start;
	complete_reads(&ring, &p);
	teardown_parked(&ring, &p);
	return r;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;

	return (x > y) - (x < y);
}

/*
 * One TIMEOUT at a time, waited for with io_uring_wait_cqe: the time from
 * just before the submit to the CQE in hand is what an application sees.
 */
static struct result bench_timeout(const struct options *o)
{
	struct __kernel_timespec ts = {
		.tv_sec = o->usec / 1000000,
		.tv_nsec = (long long) (o->usec % 1000000) * 1000,
	};
	size_t cap = (size_t) (o->seconds * 1e6 / o->usec) + 16, n = 0;
	double *lat = malloc(cap * sizeof(*lat));
	struct result r = { 0 };
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	double start, t0;
	int ret;

	if (!lat)
		die("malloc", -ENOMEM);
	init_ring(&ring, 4);
	start = now();
	do {
		io_uring_prep_timeout(get_sqe(&ring), &ts, 0, 0);
		t0 = now();
		ret = io_uring_submit(&ring);
		if (ret != 1)
			die("io_uring_submit", ret < 0 ? ret : -EIO);
		ret = io_uring_wait_cqe(&ring, &cqe);
		if (ret < 0)
			die("io_uring_wait_cqe", ret);
		lat[n++] = (now() - t0) * 1e6;
		if (cqe->res != -ETIME)
			die("timeout", cqe->res);
		io_uring_cqe_seen(&ring, cqe);
	} while (n < cap && now() < start + o->seconds);
	r.secs = now() - start;
	r.ops = n;
	qsort(lat, n, sizeof(*lat), cmp_double);
	r.median_us = lat[n / 2];
	r.p99_us = lat[n * 99 / 100];
	free(lat);
	io_uring_queue_exit(&ring);
	return r;
}

/* wake: the writer thread's side of one pipe. */
struct waker {
	int wfd;
	sem_t armed;		/* a READ is parked: write after a pause */
	double written_at;	/* now() just before the write */
	bool stop;
};

/* Leaves the reader time to be asleep in its wait before each byte, so
 * what is timed is a wakeup, not a read that finds data. */
static void *waker_thread(void *arg)
{
	static const struct timespec pause = { 0, 50 * 1000 };
	struct waker *w = arg;
	char byte = 'w';
	double at;

	for (;;) {
		while (sem_wait(&w->armed) && errno == EINTR)
			;
		if (__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE))
			return NULL;
		nanosleep(&pause, NULL);
		at = now();
		__atomic_store(&w->written_at, &at, __ATOMIC_RELEASE);
		if (write(w->wfd, &byte, 1) != 1)
			die("write", -errno);
	}
}

static double wake_once(struct io_uring *ring, int rfd, struct waker *w)
{
	struct io_uring_cqe *cqe;
	double at;
	char byte;
	int ret;

	io_uring_prep_read(get_sqe(ring), rfd, &byte, 1, 0);
	ret = io_uring_submit(ring);
	if (ret != 1)
		die("io_uring_submit", ret < 0 ? ret : -EIO);
	sem_post(&w->armed);
	ret = io_uring_wait_cqe(ring, &cqe);
	if (ret < 0)
		die("io_uring_wait_cqe", ret);
	if (cqe->res != 1)
		die("read", cqe->res < 0 ? cqe->res : -EIO);
	io_uring_cqe_seen(ring, cqe);
	__atomic_load(&w->written_at, &at, __ATOMIC_ACQUIRE);
	return (now() - at) * 1e6;
}

/*
 * What an event loop waiting on a pipe sees: the time from another
 * thread's write to the completion of the READ that was parked for it.
 */
static struct result bench_wake(const struct options *o)
{
	size_t cap = (size_t) (o->seconds * 1e5) + 16, n = 0;
	double *lat = malloc(cap * sizeof(*lat)), start;
	struct result r = { 0 };
	struct waker w = { .stop = false };
	struct io_uring ring;
	pthread_t thread;
	int fds[2];

	if (!lat)
		die("malloc", -ENOMEM);
	if (pipe2(fds, O_CLOEXEC))
		die("pipe2", -errno);
	w.wfd = fds[1];
	if (sem_init(&w.armed, 0, 0) ||
	    pthread_create(&thread, NULL, waker_thread, &w))
		die("cannot start the writer", -EAGAIN);
	init_ring(&ring, 4);
	start = now();
	do {
		lat[n++] = wake_once(&ring, fds[0], &w);
	} while (n < cap && now() < start + o->seconds);
	r.secs = now() - start;
	r.ops = n;
	__atomic_store_n(&w.stop, true, __ATOMIC_RELEASE);
	sem_post(&w.armed);
	pthread_join(thread, NULL);
	qsort(lat, n, sizeof(*lat), cmp_double);
	r.median_us = lat[n / 2];
	r.p99_us = lat[n * 99 / 100];
	free(lat);
	io_uring_queue_exit(&ring);
	close(fds[0]);
	close(fds[1]);
	sem_destroy(&w.armed);
	return r;
}

/* One "Name:   N kB" line of /proc/self/status. */
static long status_kib(const char *name)
{
	char line[256];
	size_t len = strlen(name);
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		die("/proc/self/status", -errno);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, len) && line[len] == ':') {
			kib = strtol(line + len + 1, NULL, 10);
			break;
		}
	fclose(f);
	if (kib < 0)
		die(name, -ENOENT);
	return kib;
}

/* The memory one idle ring costs a process that has made none before. */
static struct result bench_idle(const struct options *o)
{
	long vm = status_kib("VmSize"), rss = status_kib("VmRSS");
	struct result r = { .ops = 1 };
	struct io_uring ring;
	double start = now();

	init_ring(&ring, o->entries);
	r.vmsize_kib = status_kib("VmSize") - vm;
	r.rss_kib = status_kib("VmRSS") - rss;
	r.secs = now() - start;
	io_uring_queue_exit(&ring);
	return r;
}

static void open_target(const struct options *o, struct target *t)
{
	struct stat st;

	t->fd = open(o->file, O_RDONLY | (o->direct ? O_DIRECT : 0));
	if (t->fd < 0 || fstat(t->fd, &st) < 0)
		die(o->file, -errno);
	t->blocks = (uint64_t) st.st_size / o->block_bytes;
	if (t->blocks == 0) {
		fprintf(stderr, "uring-bench: %s: smaller than one %u-byte "
			"block\n", o->file, o->block_bytes);
		exit(1);
	}
	t->rng = 0x9e3779b97f4a7c15ull;
}

static unsigned parse_count(const char *name, const char *text,
			    unsigned long max)
{
	char *end;
	unsigned long value;

	errno = 0;
	value = strtoul(text, &end, 10);
	if (errno || end == text || *end || text[0] == '-' || value == 0 ||
	    value > max) {
		fprintf(stderr, "uring-bench: bad %s '%s' (want 1-%lu)\n",
			name, text, max);
		exit(2);
	}
	return (unsigned) value;
}

static double parse_seconds(const char *text)
{
	char *end;
	double value = strtod(text, &end);

	if (end == text || *end || !(value > 0 && value <= 3600)) {
		fprintf(stderr, "uring-bench: bad seconds '%s' "
			"(want more than 0, at most 3600)\n", text);
		exit(2);
	}
	return value;
}

static enum mode parse_mode(const char *text)
{
	if (strcmp(text, "nop") == 0)
		return MODE_NOP;
	if (strcmp(text, "read") == 0)
		return MODE_READ;
	if (strcmp(text, "evchurn") == 0)
		return MODE_EVCHURN;
	if (strcmp(text, "pread") == 0)
		return MODE_PREAD;
	if (strcmp(text, "fupdate") == 0)
		return MODE_FUPDATE;
	if (strcmp(text, "timeout") == 0)
		return MODE_TIMEOUT;
	if (strcmp(text, "cycle") == 0)
		return MODE_CYCLE;
	if (strcmp(text, "write") == 0)
		return MODE_WRITE;
	if (strcmp(text, "pwrite") == 0)
		return MODE_PWRITE;
	if (strcmp(text, "fsync") == 0)
		return MODE_FSYNC;
	if (strcmp(text, "wsync") == 0)
		return MODE_WSYNC;
	if (strcmp(text, "wake") == 0)
		return MODE_WAKE;
	if (strcmp(text, "idle") == 0)
		return MODE_IDLE;
	fprintf(stderr, "uring-bench: bad mode '%s' "
		"(want nop, read, pread, evchurn, fupdate, timeout, cycle, "
		"write, pwrite, fsync, wsync, wake or idle)\n",
		text);
	exit(2);
}

static void parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "batch", required_argument, NULL, 'n' },
		{ "file", required_argument, NULL, 'f' },
		{ "qd", required_argument, NULL, 'q' },
		{ "bs", required_argument, NULL, 'b' },
		{ "usec", required_argument, NULL, 'u' },
		{ "entries", required_argument, NULL, 'E' },
		{ "seconds", required_argument, NULL, 's' },
		{ "eventfd", no_argument, NULL, 'e' },
		{ "inflight", required_argument, NULL, 'i' },
		{ "quiesce", no_argument, NULL, 'Q' },
		{ "sqpoll", no_argument, NULL, 'P' },
		{ "direct", no_argument, NULL, 'D' },
		{ "dear-syscalls", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'm':
			o->mode = parse_mode(optarg);
			break;
		case 'n':
			o->batch = parse_count("batch", optarg, MAX_BATCH);
			break;
		case 'f':
			o->file = optarg;
			break;
		case 'q':
			o->qd = parse_count("qd", optarg, MAX_QD);
			o->qd_set = true;
			break;
		case 'b':
			o->block_bytes = parse_count("bs", optarg,
						     MAX_BLOCK_BYTES);
			o->bs_set = true;
			break;
		case 'u':
			o->usec = parse_count("usec", optarg, 10000000);
			break;
		case 'E':
			o->entries = parse_count("entries", optarg, MAX_ENTRIES);
			break;
		case 's':
			o->seconds = parse_seconds(optarg);
			break;
		case 'e':
			o->eventfd = true;
			break;
		case 'i':
			o->inflight = parse_count("inflight", optarg,
						  MAX_INFLIGHT);
			o->inflight_set = true;
			break;
		case 'Q':
			o->quiesce = true;
			break;
		case 'D':
			o->direct = true;
			break;
		case 'S':
			o->dear_syscalls = true;
			break;
		case 'P':
			o->sqpoll = true;
			break;
		case 'h':
			usage(stdout, argv[0]);
			exit(0);
		default:
			usage(stderr, argv[0]);
			exit(2);
		}
	}
	if (optind != argc || o->mode == MODE_NONE ||
	    ((o->mode == MODE_READ || o->mode == MODE_PREAD ||
	      (o->mode >= MODE_WRITE && o->mode <= MODE_WSYNC)) && !o->file) ||
	    (o->direct && o->mode != MODE_READ && o->mode != MODE_PREAD) ||
	    (o->eventfd && o->mode != MODE_NOP) ||
	    (o->quiesce && o->mode != MODE_FUPDATE) ||
	    (o->sqpoll && o->mode != MODE_NOP && o->mode != MODE_READ)) {
		usage(stderr, argv[0]);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	struct options o = {
		.mode = MODE_NONE,
		.batch = 32,
		.qd = 32,
		.block_bytes = 4096,
		.usec = 1000,
		.entries = 4096,
		.seconds = 2.0,
		.inflight = 1,
	};
	struct target t;
	struct result r;

	parse_args(argc, argv, &o);
	if (o.sqpoll)
		ring_flags = IORING_SETUP_SQPOLL;
	/* The write modes' own defaults, unless given. */
	if ((o.mode == MODE_WRITE || o.mode == MODE_PWRITE) && !o.bs_set)
		o.block_bytes = 65536;
	if (o.mode == MODE_WRITE && !o.qd_set)
		o.qd = 8;
	if ((o.mode == MODE_FSYNC || o.mode == MODE_WSYNC) && !o.inflight_set)
		o.inflight = 16;
	if (o.dear_syscalls)
		make_syscalls_dear();
	switch (o.mode) {
	case MODE_NOP:
		r = bench_nop(&o);
		printf("mode=nop batch=%u%s%s", o.batch,
		       o.eventfd ? " eventfd=1" : "", o.sqpoll ? " sqpoll=1" : "");
		break;
	case MODE_EVCHURN:
		r = bench_evchurn(&o);
		printf("mode=evchurn batch=%u", o.batch);
		break;
	case MODE_FUPDATE:
		r = bench_fupdate(&o);
		printf("mode=fupdate inflight=%u%s", o.inflight,
		       o.quiesce ? " quiesce=1" : "");
		break;
	case MODE_TIMEOUT:
		r = bench_timeout(&o);
		printf("mode=timeout usec=%u median_us=%.1f p99_us=%.1f", o.usec,
		       r.median_us, r.p99_us);
		break;
	case MODE_CYCLE:
		t.fd = o.file ? open(o.file, O_RDONLY) : -1;
		if (o.file && t.fd < 0)
			die(o.file, -errno);
		r = bench_cycle(&o, t.fd);
		printf("mode=cycle%s", o.file ? " read=1" : "");
		break;
	case MODE_READ:
		open_target(&o, &t);
		r = bench_read(&o, &t);
		printf("mode=read qd=%u bs=%u%s", o.qd, o.block_bytes,
		       o.sqpoll ? " sqpoll=1" : "");
		break;
	case MODE_WRITE:
	case MODE_PWRITE:
		t.fd = open_for_writes(&o);
		r = o.mode == MODE_WRITE ? bench_write(&o, t.fd)
					 : bench_pwrite(&o, t.fd);
		printf("mode=%s qd=%u bs=%u", o.mode == MODE_WRITE ? "write" :
		       "pwrite", o.qd, o.block_bytes);
		break;
	case MODE_FSYNC:
	case MODE_WSYNC:
		t.fd = open_for_writes(&o);
		r = o.mode == MODE_FSYNC ? bench_fsync(&o, t.fd)
					 : bench_wsync(&o, t.fd);
		printf("mode=%s inflight=%u", o.mode == MODE_FSYNC ? "fsync" :
		       "wsync", o.inflight);
		break;
	case MODE_WAKE:
		r = bench_wake(&o);
		printf("mode=wake median_us=%.1f p99_us=%.1f", r.median_us,
		       r.p99_us);
		break;
	case MODE_IDLE:
		r = bench_idle(&o);
		printf("mode=idle entries=%u vmsize_kib=%ld rss_kib=%ld",
		       o.entries, r.vmsize_kib, r.rss_kib);
		break;
	default:	/* MODE_PREAD: parse_args accepts nothing else */
		open_target(&o, &t);
		r = bench_pread(&o, &t);
		printf("mode=pread bs=%u", o.block_bytes);
		break;
	}
	printf(" ops=%llu secs=%.2f ops_per_sec=%.0f\n", r.ops, r.secs,
	       (double) r.ops / r.secs);
	return 0;
}
