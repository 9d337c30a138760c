/* SPDX-License-Identifier: MIT */
/*
 * Registrations that set how a ring behaves: the clock of its waits
 * (io_uring_register_clock), NAPI busy polling (io_uring_register_napi),
 * the ring-less IORING_REGISTER_QUERY, the CPUs of its blocking work
 * (io_uring_register_iowq_aff), personalities and registered wait
 * arguments; with the kernel's results and errors.
 */
#include <sched.h>
#include <stdarg.h>
#include <sys/fsuid.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "helpers.h"

#ifdef LIBURING_BEFORE_2_15
SKIP_BEFORE_2_15_MAIN()
#else

static int ring_setup(void **state)
{
	struct io_uring *ring = calloc(1, sizeof(*ring));

	if (!ring || io_uring_queue_init(8, ring, 0) < 0)
		return -1;
	*state = ring;
	return 0;
}

static int ring_teardown(void **state)
{
	io_uring_queue_exit(*state);
	free(*state);
	return 0;
}

static int register_clock(struct io_uring *ring, unsigned clockid)
{
	struct io_uring_clock_register reg = { .clockid = clockid };

	return io_uring_register_clock(ring, &reg);
}

/* The two clocks a wait may use; others are refused. */
static void test_clock_monotonic_and_boottime_only(void **state)
{
	assert_int_equal(register_clock(*state, CLOCK_BOOTTIME), 0);
	assert_int_equal(register_clock(*state, CLOCK_MONOTONIC), 0);
	assert_int_equal(register_clock(*state, CLOCK_REALTIME), -EINVAL);
	assert_int_equal(register_clock(*state, CLOCK_TAI), -EINVAL);
	assert_int_equal(register_clock(*state, CLOCK_PROCESS_CPUTIME_ID),
			 -EINVAL);
	assert_int_equal(register_clock(*state, 99), -EINVAL);
}

static void test_clock_bad_arguments(void **state)
{
	struct io_uring *ring = *state;
	struct io_uring_clock_register reg = { .clockid = CLOCK_MONOTONIC };
	unsigned fd = (unsigned) ring->ring_fd;

	reg.__resv[2] = 1;
	assert_int_equal(io_uring_register_clock(ring, &reg), -EINVAL);
	reg.__resv[2] = 0;
	assert_int_equal(io_uring_register(fd, IORING_REGISTER_CLOCK, &reg, 1),
			 -EINVAL);
	assert_int_equal(io_uring_register(fd, IORING_REGISTER_CLOCK, NULL, 0),
			 -EINVAL);
	assert_int_equal(io_uring_register(fd, IORING_REGISTER_CLOCK,
					   (void *) 8, 0), -EFAULT);
}

/* An absolute wait until now + ms on the given clock. */
static int wait_until(struct io_uring *ring, clockid_t clock, long ms)
{
	struct io_uring_getevents_arg arg;
	struct __kernel_timespec ts;
	struct timespec now;

	clock_gettime(clock, &now);
	ts.tv_sec = now.tv_sec + ms / 1000;
	ts.tv_nsec = now.tv_nsec + ms % 1000 * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	memset(&arg, 0, sizeof(arg));
	arg.ts = (__u64) (uintptr_t) &ts;
	return io_uring_enter2((unsigned) ring->ring_fd, 0, 1,
			       IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG |
			       IORING_ENTER_ABS_TIMER, &arg, sizeof(arg));
}

/* An absolute wait's deadline is read on the registered clock. */
static void test_clock_boottime_absolute_wait(void **state)
{
	struct io_uring *ring = *state;

	assert_int_equal(register_clock(ring, CLOCK_BOOTTIME), 0);
	assert_int_equal(wait_until(ring, CLOCK_BOOTTIME, 0), -ETIME);
	assert_int_equal(wait_until(ring, CLOCK_BOOTTIME, 5), -ETIME);
	assert_int_equal(register_clock(ring, CLOCK_MONOTONIC), 0);
	assert_int_equal(wait_until(ring, CLOCK_MONOTONIC, 5), -ETIME);
}

/* A disabled ring takes it too. */
static void test_clock_on_a_disabled_ring(void **state)
{
	struct io_uring ring;

	(void) state;
	assert_int_equal(io_uring_queue_init(8, &ring, IORING_SETUP_R_DISABLED),
			 0);
	assert_int_equal(register_clock(&ring, CLOCK_BOOTTIME), 0);
	io_uring_queue_exit(&ring);
}

/*
 * NAPI: liburing's struct io_uring_napi keeps the older layout of the
 * kernel's 16 bytes: pad[0] is the opcode, bytes 8-11 the parameter (the
 * tracking mode, or a NAPI id).
 */
enum { NAPI_REGISTER, NAPI_ADD_ID, NAPI_DEL_ID };
enum { NAPI_DYNAMIC = 0, NAPI_STATIC = 1, NAPI_INACTIVE = 255 };
#define NAPI_ID		100000u	/* past any kernel's CPU count */

static struct io_uring_napi napi_arg(unsigned to, unsigned prefer,
				     unsigned op, unsigned param)
{
	struct io_uring_napi n;
	__u32 p = param;

	memset(&n, 0, sizeof(n));
	n.busy_poll_to = to;
	n.prefer_busy_poll = (__u8) prefer;
	n.pad[0] = (__u8) op;
	memcpy((char *) &n + 8, &p, sizeof(p));
	return n;
}

static unsigned napi_param(const struct io_uring_napi *n)
{
	__u32 p;

	memcpy(&p, (const char *) n + 8, sizeof(p));
	return p;
}

/* Registering writes back the settings it replaces, mode included. */
static void test_napi_register_reports_previous(void **state)
{
	struct io_uring *ring = *state;
	struct io_uring_napi n = napi_arg(100, 1, NAPI_REGISTER, NAPI_DYNAMIC);

	assert_int_equal(io_uring_register_napi(ring, &n), 0);
	assert_int_equal(n.busy_poll_to, 0);
	assert_int_equal(n.prefer_busy_poll, 0);
	assert_int_equal(napi_param(&n), NAPI_INACTIVE);
	/* The spin is capped at 10 ms, the preference made 0 or 1. */
	n = napi_arg(20000, 7, NAPI_REGISTER, NAPI_STATIC);
	assert_int_equal(io_uring_register_napi(ring, &n), 0);
	assert_int_equal(n.busy_poll_to, 100);
	assert_int_equal(n.prefer_busy_poll, 1);
	assert_int_equal(napi_param(&n), NAPI_DYNAMIC);
	n = napi_arg(0, 0, NAPI_REGISTER, NAPI_DYNAMIC);
	assert_int_equal(io_uring_register_napi(ring, &n), 0);
	assert_int_equal(n.busy_poll_to, 10000);
	assert_int_equal(n.prefer_busy_poll, 1);
	assert_int_equal(napi_param(&n), NAPI_STATIC);
}

/* Unregistering writes back the timeout and preference only. */
static void test_napi_unregister(void **state)
{
	struct io_uring *ring = *state;
	struct io_uring_napi n = napi_arg(50, 1, NAPI_REGISTER, NAPI_STATIC);

	assert_int_equal(io_uring_unregister_napi(ring, NULL), 0);
	assert_int_equal(io_uring_register_napi(ring, &n), 0);
	memset(&n, 0xaa, sizeof(n));
	assert_int_equal(io_uring_unregister_napi(ring, &n), 0);
	assert_int_equal(n.busy_poll_to, 50);
	assert_int_equal(n.prefer_busy_poll, 1);
	assert_int_equal(napi_param(&n), 0);
	memset(&n, 0xaa, sizeof(n));
	assert_int_equal(io_uring_unregister_napi(ring, &n), 0);
	assert_int_equal(n.busy_poll_to, 0);
	n = napi_arg(0, 0, NAPI_REGISTER, NAPI_DYNAMIC);
	assert_int_equal(io_uring_register_napi(ring, &n), 0);
	assert_int_equal(napi_param(&n), NAPI_INACTIVE);
}

static void test_napi_bad_arguments(void **state)
{
	struct io_uring *ring = *state;
	unsigned fd = (unsigned) ring->ring_fd;
	struct io_uring_napi n = napi_arg(5, 0, NAPI_REGISTER, 2);

	/* A bad mode is refused after the settings are written back. */
	assert_int_equal(io_uring_register_napi(ring, &n), -EINVAL);
	assert_int_equal(napi_param(&n), NAPI_INACTIVE);
	n = napi_arg(5, 0, NAPI_REGISTER, NAPI_INACTIVE);
	assert_int_equal(io_uring_register_napi(ring, &n), -EINVAL);
	n = napi_arg(5, 0, 3, 0);
	assert_int_equal(io_uring_register_napi(ring, &n), -EINVAL);
	/* Padding is refused before anything is written. */
	n = napi_arg(5, 0, NAPI_REGISTER, 0);
	n.pad[2] = 1;
	assert_int_equal(io_uring_register_napi(ring, &n), -EINVAL);
	assert_int_equal(n.busy_poll_to, 5);
	n = napi_arg(5, 0, NAPI_REGISTER, 0);
	memset((char *) &n + 12, 1, 1);		/* the kernel's resv */
	assert_int_equal(io_uring_register_napi(ring, &n), -EINVAL);
	n = napi_arg(5, 0, NAPI_REGISTER, 0);
	assert_int_equal(io_uring_register(fd, IORING_REGISTER_NAPI, NULL, 1),
			 -EINVAL);
	assert_int_equal(io_uring_register(fd, IORING_REGISTER_NAPI, &n, 0),
			 -EINVAL);
	assert_int_equal(io_uring_register(fd, IORING_REGISTER_NAPI, &n, 2),
			 -EINVAL);
	assert_int_equal(io_uring_register(fd, IORING_REGISTER_NAPI,
					   (void *) 8, 1), -EFAULT);
	assert_int_equal(io_uring_register(fd, IORING_UNREGISTER_NAPI, NULL, 0),
			 -EINVAL);
	assert_int_equal(io_uring_register(fd, IORING_UNREGISTER_NAPI,
					   (void *) 8, 1), -EFAULT);
}

/* NAPI ids are added and removed in static mode only. */
static void test_napi_static_ids(void **state)
{
	struct io_uring *ring = *state;
	struct io_uring_napi n = napi_arg(0, 0, NAPI_ADD_ID, NAPI_ID);

	assert_int_equal(io_uring_register_napi(ring, &n), -EINVAL);
	n = napi_arg(0, 0, NAPI_REGISTER, NAPI_DYNAMIC);
	assert_int_equal(io_uring_register_napi(ring, &n), 0);
	n = napi_arg(0, 0, NAPI_ADD_ID, NAPI_ID);
	assert_int_equal(io_uring_register_napi(ring, &n), -EINVAL);
	n = napi_arg(0, 0, NAPI_REGISTER, NAPI_STATIC);
	assert_int_equal(io_uring_register_napi(ring, &n), 0);
	n = napi_arg(0, 0, NAPI_ADD_ID, 1);	/* a CPU number, not an id */
	assert_int_equal(io_uring_register_napi(ring, &n), -EINVAL);
	n = napi_arg(0, 0, NAPI_ADD_ID, NAPI_ID);
	assert_int_equal(io_uring_register_napi(ring, &n), 0);
	n = napi_arg(0, 0, NAPI_ADD_ID, NAPI_ID);
	assert_int_equal(io_uring_register_napi(ring, &n), -EEXIST);
	n = napi_arg(0, 0, NAPI_ADD_ID, NAPI_ID + 1);
	assert_int_equal(io_uring_register_napi(ring, &n), 0);
	n = napi_arg(0, 0, NAPI_DEL_ID, NAPI_ID);
	assert_int_equal(io_uring_register_napi(ring, &n), 0);
	n = napi_arg(0, 0, NAPI_DEL_ID, NAPI_ID);
	assert_int_equal(io_uring_register_napi(ring, &n), -ENOENT);
	/* New settings start with an empty list. */
	n = napi_arg(0, 0, NAPI_REGISTER, NAPI_STATIC);
	assert_int_equal(io_uring_register_napi(ring, &n), 0);
	n = napi_arg(0, 0, NAPI_DEL_ID, NAPI_ID + 1);
	assert_int_equal(io_uring_register_napi(ring, &n), -ENOENT);
	assert_int_equal(io_uring_unregister_napi(ring, NULL), 0);
	n = napi_arg(0, 0, NAPI_DEL_ID, NAPI_ID + 1);
	assert_int_equal(io_uring_register_napi(ring, &n), -EINVAL);
}

/* IOPOLL rings busy-poll their devices already: NAPI is refused. */
static void test_napi_iopoll_ring(void **state)
{
	struct io_uring ring;
	struct io_uring_napi n = napi_arg(0, 0, NAPI_REGISTER, 0);

	(void) state;
	assert_int_equal(io_uring_queue_init(8, &ring, IORING_SETUP_IOPOLL), 0);
	assert_int_equal(io_uring_register_napi(&ring, &n), -EINVAL);
	assert_int_equal(io_uring_unregister_napi(&ring, NULL), 0);
	io_uring_queue_exit(&ring);
}

/* IORING_REGISTER_QUERY: one header, its answer in data of size bytes. */
static struct io_uring_query_hdr query_hdr(unsigned op, void *data,
					   unsigned size)
{
	struct io_uring_query_hdr h;

	memset(&h, 0, sizeof(h));
	h.query_op = op;
	h.query_data = (__u64) (uintptr_t) data;
	h.size = size;
	return h;
}

/* The answers agree with what the ring and the probe say. */
static void test_query_opcodes(void **state)
{
	struct io_uring *ring = *state;
	struct io_uring_query_opcode op;
	struct io_uring_query_hdr h = query_hdr(IO_URING_QUERY_OPCODES, &op,
						sizeof(op));
	struct io_uring_probe *probe = io_uring_get_probe_ring(ring);

	assert_non_null(probe);
	memset(&op, 0xaa, sizeof(op));
	assert_int_equal(io_uring_register_query(&h), 0);
	assert_int_equal(h.result, 0);
	assert_int_equal(h.size, sizeof(op));
	assert_int_equal(op.nr_request_opcodes, probe->last_op + 1);
	assert_int_equal(op.nr_register_opcodes, 36);
	assert_true(op.nr_query_opcodes >= 1);
	assert_int_equal(op.__pad, 0);
	assert_true(op.feature_flags == ring->features);
	assert_true(op.sqe_flags == 0x7f);
	assert_true((op.ring_setup_flags & (IORING_SETUP_CQSIZE |
					    IORING_SETUP_R_DISABLED)) ==
		    (IORING_SETUP_CQSIZE | IORING_SETUP_R_DISABLED));
	assert_true(op.enter_flags & IORING_ENTER_EXT_ARG);
	io_uring_free_probe(probe);
}

/* A setup flag not reported is refused. */
static void test_query_setup_flags_are_known(void **state)
{
	struct io_uring_query_opcode op;
	struct io_uring_query_hdr h = query_hdr(IO_URING_QUERY_OPCODES, &op,
						sizeof(op));
	struct io_uring_params p;

	(void) state;
	assert_int_equal(io_uring_register_query(&h), 0);
	assert_true(op.ring_setup_flags >> 32 == 0);
	for (unsigned bit = 0; bit < 32; bit++) {
		if (op.ring_setup_flags & (1ull << bit))
			continue;
		memset(&p, 0, sizeof(p));
		p.flags = 1u << bit;
		assert_int_equal(io_uring_setup(8, &p), -EINVAL);
	}
}

/* A short buffer takes the head of the answer; a long one is zeroed past
 * it. */
static void test_query_buffer_sizes(void **state)
{
	unsigned char buf[100];
	struct io_uring_query_hdr h = query_hdr(IO_URING_QUERY_OPCODES, buf, 8);
	struct io_uring_query_opcode *op = (void *) buf;

	(void) state;
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(io_uring_register_query(&h), 0);
	assert_int_equal(h.result, 0);
	assert_int_equal(h.size, 8);
	assert_int_not_equal(op->nr_register_opcodes, 0);
	assert_int_equal(buf[8], 0xaa);
	h = query_hdr(IO_URING_QUERY_OPCODES, buf, sizeof(buf));
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(io_uring_register_query(&h), 0);
	assert_int_equal(h.size, sizeof(*op));
	for (size_t i = sizeof(*op); i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
}

/* A bad header is answered in its result; the buffer is zeroed. */
static void test_query_bad_headers(void **state)
{
	struct io_uring_query_opcode op;
	struct io_uring_query_hdr h = query_hdr(IO_URING_QUERY_OPCODES, &op, 0);

	(void) state;
	assert_int_equal(io_uring_register_query(&h), 0);
	assert_int_equal(h.result, -EINVAL);
	h = query_hdr(IO_URING_QUERY_OPCODES, &op, sizeof(op));
	h.result = 1;
	assert_int_equal(io_uring_register_query(&h), 0);
	assert_int_equal(h.result, -EINVAL);
	h = query_hdr(IO_URING_QUERY_OPCODES, &op, sizeof(op));
	h.__resv[2] = 1;
	assert_int_equal(io_uring_register_query(&h), 0);
	assert_int_equal(h.result, -EINVAL);
	assert_int_equal(h.size, 0);
	h = query_hdr(99, &op, sizeof(op));
	memset(&op, 0xaa, sizeof(op));
	assert_int_equal(io_uring_register_query(&h), 0);
	assert_int_equal(h.result, -EOPNOTSUPP);
	assert_int_equal(h.size, 0);
	assert_int_equal(op.nr_request_opcodes, 0);
	assert_true(op.sqe_flags == 0);
}

static void test_query_faults_and_arguments(void **state)
{
	struct io_uring *ring = *state;
	struct io_uring_query_opcode op;
	struct io_uring_query_hdr h = query_hdr(IO_URING_QUERY_OPCODES,
						(void *) 8, sizeof(op));

	assert_int_equal(io_uring_register_query(&h), -EFAULT);
	assert_int_equal(io_uring_register_query((void *) 8), -EFAULT);
	assert_int_equal(io_uring_register_query(NULL), 0);
	h = query_hdr(IO_URING_QUERY_OPCODES, &op, sizeof(op));
	assert_int_equal(io_uring_register((unsigned) -1, IORING_REGISTER_QUERY,
					   &h, 1), -EINVAL);
	/* A ring's descriptor answers too. */
	assert_int_equal(io_uring_register((unsigned) ring->ring_fd,
					   IORING_REGISTER_QUERY, &h, 0), 0);
	assert_int_equal(h.result, 0);
	assert_int_equal(h.size, sizeof(op));
}

/* Headers are chained by next_entry; a loop ends with -ERANGE. */
static void test_query_chain(void **state)
{
	struct io_uring_query_opcode op1, op2;
	struct io_uring_query_hdr h1 = query_hdr(99, &op1, sizeof(op1));
	struct io_uring_query_hdr h2 = query_hdr(IO_URING_QUERY_OPCODES, &op2,
						 sizeof(op2));

	(void) state;
	h1.next_entry = (__u64) (uintptr_t) &h2;
	assert_int_equal(io_uring_register_query(&h1), 0);
	assert_int_equal(h1.result, -EOPNOTSUPP);
	assert_int_equal(h2.result, 0);
	assert_int_equal(h2.size, sizeof(op2));
	h2 = query_hdr(IO_URING_QUERY_OPCODES, &op2, sizeof(op2));
	h2.next_entry = (__u64) (uintptr_t) &h2;
	assert_int_equal(io_uring_register_query(&h2), -ERANGE);
	h1 = query_hdr(IO_URING_QUERY_OPCODES, &op1, sizeof(op1));
	h1.next_entry = 8;
	assert_int_equal(io_uring_register_query(&h1), -EFAULT);
	assert_int_equal(h1.result, 0);
}

static int register_aff_cpu(struct io_uring *ring, int cpu)
{
	cpu_set_t mask;

	CPU_ZERO(&mask);
	CPU_SET(cpu, &mask);
	return io_uring_register_iowq_aff(ring, sizeof(mask), &mask);
}

static void test_iowq_aff_arguments(void **state)
{
	struct io_uring *ring = *state;
	unsigned fd = (unsigned) ring->ring_fd;
	cpu_set_t mask;

	CPU_ZERO(&mask);
	CPU_SET(0, &mask);
	assert_int_equal(io_uring_register_iowq_aff(ring, sizeof(mask), &mask),
			 0);
	/* Any length: the kernel reads up to its own mask's size. */
	assert_int_equal(io_uring_register_iowq_aff(ring, 1, &mask), 0);
	assert_int_equal(io_uring_register_iowq_aff(ring, 0, &mask), -EINVAL);
	assert_int_equal(io_uring_register_iowq_aff(ring, sizeof(mask), NULL),
			 -EINVAL);
	assert_int_equal(io_uring_register_iowq_aff(ring, sizeof(mask),
						    (void *) 8), -EFAULT);
	/* A mask with no CPU is taken too. */
	CPU_ZERO(&mask);
	assert_int_equal(io_uring_register_iowq_aff(ring, sizeof(mask), &mask),
			 0);
	assert_int_equal(io_uring_unregister_iowq_aff(ring), 0);
	assert_int_equal(io_uring_unregister_iowq_aff(ring), 0);
	assert_int_equal(io_uring_register(fd, IORING_UNREGISTER_IOWQ_AFF,
					   &mask, 0), -EINVAL);
	assert_int_equal(io_uring_register(fd, IORING_UNREGISTER_IOWQ_AFF,
					   NULL, 1), -EINVAL);
}

/* How many threads of the process may run on the one CPU cpu only. */
static int threads_on_cpu_only(int cpu)
{
	char path[PATH_MAX], line[256], want[32];
	struct dirent *de;
	DIR *dir = opendir("/proc/self/task");
	int n = 0;

	assert_non_null(dir);
	snprintf(want, sizeof(want), "Cpus_allowed_list:\t%d\n", cpu);
	while ((de = readdir(dir))) {
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/status",
			 de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (!strcmp(line, want))
				n++;
		fclose(f);
	}
	closedir(dir);
	return n;
}

/* Waits (up to about 5 s: workers start asynchronously on the kernel)
 * until some thread runs on cpu only. */
static int wait_thread_on_cpu_only(int cpu)
{
	for (int i = 0; i < 5000; i++) {
		if (threads_on_cpu_only(cpu) > 0)
			return 1;
		usleep(1000);
	}
	return 0;
}

/* The worker of a blocking read runs on the ring's CPUs; the thread that
 * registered them keeps its own. */
static void test_iowq_aff_applies_to_workers(void **state)
{
	struct io_uring *ring = *state;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	cpu_set_t own, mine;
	char buf[8];
	int fds[2];

	assert_int_equal(sched_getaffinity(0, sizeof(own), &own), 0);
	if (CPU_COUNT(&own) < 2 || !CPU_ISSET(0, &own)) {
		skip();
		return;
	}
	assert_int_equal(threads_on_cpu_only(0), 0);
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(register_aff_cpu(ring, 0), 0);
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_read(sqe, fds[0], buf, sizeof(buf), 0);
	sqe->flags |= IOSQE_ASYNC;
	assert_int_equal(io_uring_submit(ring), 1);
	assert_true(wait_thread_on_cpu_only(0));
	assert_int_equal(sched_getaffinity(0, sizeof(mine), &mine), 0);
	assert_true(CPU_EQUAL(&mine, &own));
	assert_int_equal(io_uring_unregister_iowq_aff(ring), 0);
	assert_int_equal(write(fds[1], "x", 1), 1);
	assert_int_equal(io_uring_wait_cqe(ring, &cqe), 0);
	assert_int_equal(cqe->res, 1);
	io_uring_cqe_seen(ring, cqe);
	close(fds[0]);
	close(fds[1]);
}

static void test_personality_ids(void **state)
{
	struct io_uring *ring = *state;
	unsigned fd = (unsigned) ring->ring_fd;
	int p1 = io_uring_register_personality(ring);
	int p2 = io_uring_register_personality(ring), p3;

	assert_true(p1 >= 1);
	assert_int_equal(p2, p1 + 1);
	assert_int_equal(io_uring_unregister_personality(ring, p2), 0);
	assert_int_equal(io_uring_unregister_personality(ring, p2), -EINVAL);
	/* Ids are handed out in turn, not reused at once. */
	p3 = io_uring_register_personality(ring);
	assert_int_equal(p3, p2 + 1);
	assert_int_equal(io_uring_unregister_personality(ring, 0), -EINVAL);
	assert_int_equal(io_uring_unregister_personality(ring, 99), -EINVAL);
	assert_int_equal(io_uring_unregister_personality(ring, 70000), -EINVAL);
	assert_int_equal(io_uring_register(fd, IORING_REGISTER_PERSONALITY,
					   &p1, 0), -EINVAL);
	assert_int_equal(io_uring_register(fd, IORING_REGISTER_PERSONALITY,
					   NULL, 1), -EINVAL);
	assert_int_equal(io_uring_register(fd, IORING_UNREGISTER_PERSONALITY,
					   &p1, (unsigned) p1), -EINVAL);
	assert_int_equal(io_uring_unregister_personality(ring, p1), 0);
	assert_int_equal(io_uring_unregister_personality(ring, p3), 0);
}

static int nop_as(struct io_uring *ring, int personality, unsigned flags)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct io_uring_cqe *cqe;
	int res;

	io_uring_prep_nop(sqe);
	sqe->personality = (__u16) personality;
	sqe->flags = (__u8) flags;
	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(io_uring_wait_cqe(ring, &cqe), 0);
	res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return res;
}

/* A request naming a personality not registered fails with -EINVAL. */
static void test_personality_of_requests(void **state)
{
	struct io_uring *ring = *state;
	int p = io_uring_register_personality(ring);

	assert_true(p > 0);
	assert_int_equal(nop_as(ring, p, 0), 0);
	assert_int_equal(nop_as(ring, p, IOSQE_ASYNC), 0);
	assert_int_equal(nop_as(ring, p + 1, 0), -EINVAL);
	assert_int_equal(nop_as(ring, p + 1, IOSQE_ASYNC), -EINVAL);
	assert_int_equal(io_uring_unregister_personality(ring, p), 0);
	assert_int_equal(nop_as(ring, p, 0), -EINVAL);
}

#define OTHER_ID	1000

/* openat of path with flags, as personality (0: none); the result. */
static int open_as(struct io_uring *ring, int personality, const char *path,
		   int flags, unsigned sqe_flags)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct io_uring_cqe *cqe;
	int res;

	io_uring_prep_openat(sqe, AT_FDCWD, path, flags, 0600);
	sqe->personality = (__u16) personality;
	sqe->flags = (__u8) sqe_flags;
	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(io_uring_wait_cqe(ring, &cqe), 0);
	res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	if (res >= 0)
		close(res);
	return res;
}

/* Registered as root, the personality opens what the thread, with
 * another file system user id by now, may not. */
static void test_personality_runs_with_registered_root(void **state)
{
	struct io_uring *ring = *state;
	char dir[PATH_MAX], file[PATH_MAX];
	int p;

	if (getuid() != 0) {
		skip();
		return;
	}
	make_private_file(dir, file, 0777);
	p = io_uring_register_personality(ring);
	assert_true(p > 0);
	setfsuid(OTHER_ID);
	assert_int_equal(open_as(ring, 0, file, O_RDONLY, 0), -EACCES);
	assert_true(open_as(ring, p, file, O_RDONLY, 0) >= 0);
	assert_true(open_as(ring, p, file, O_RDONLY, IOSQE_ASYNC) >= 0);
	setfsuid(0);
	remove_tmpdir(dir);
}

/* Registered with another user id, the personality may not open what
 * root may, and creates files as that user; the thread's own requests,
 * inline or by a worker, still run as root. */
static void test_personality_runs_with_registered_user(void **state)
{
	struct io_uring *ring = *state;
	char dir[PATH_MAX], file[PATH_MAX], made[PATH_MAX];
	struct stat st;
	int p;

	if (getuid() != 0) {
		skip();
		return;
	}
	make_private_file(dir, file, 0777);
	join_path(made, dir, "made");
	setfsgid(OTHER_ID);
	setfsuid(OTHER_ID);
	p = io_uring_register_personality(ring);
	setfsuid(0);
	setfsgid(0);
	assert_true(p > 0);
	assert_int_equal(open_as(ring, p, file, O_RDONLY, 0), -EACCES);
	assert_true(open_as(ring, p, made, O_CREAT | O_WRONLY, 0) >= 0);
	assert_int_equal(stat(made, &st), 0);
	assert_int_equal(st.st_uid, OTHER_ID);
	assert_int_equal(st.st_gid, OTHER_ID);
	assert_true(open_as(ring, 0, file, O_RDONLY, 0) >= 0);
	assert_true(open_as(ring, 0, file, O_RDONLY, IOSQE_ASYNC) >= 0);
	assert_int_equal(open_as(ring, p, file, O_RDONLY, IOSQE_ASYNC), -EACCES);
	assert_true(open_as(ring, 0, file, O_RDONLY, IOSQE_ASYNC) >= 0);
	remove_tmpdir(dir);
}

/* Pages for regions, of the process's page size. */
static void *map_pages(size_t n)
{
	void *p = mmap(NULL, n * (size_t) sysconf(_SC_PAGESIZE),
		       PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	assert_true(p != MAP_FAILED);
	return p;
}

static int register_region(struct io_uring *ring, void *addr, __u64 size,
			   __u32 desc_flags, __u64 flags,
			   struct io_uring_region_desc *rd)
{
	struct io_uring_mem_region_reg reg;

	memset(rd, 0, sizeof(*rd));
	rd->user_addr = (__u64) (uintptr_t) addr;
	rd->size = size;
	rd->flags = desc_flags;
	memset(&reg, 0, sizeof(reg));
	reg.region_uptr = (__u64) (uintptr_t) rd;
	reg.flags = flags;
	return io_uring_register_region(ring, &reg);
}

/* A region of wait arguments only on a disabled ring; one region. */
static void test_region_on_an_enabled_ring(void **state)
{
	struct io_uring *ring = *state;
	size_t page = (size_t) sysconf(_SC_PAGESIZE);
	struct io_uring_region_desc rd;
	void *mem = map_pages(1);

	assert_int_equal(register_region(ring, mem, page,
					 IORING_MEM_REGION_TYPE_USER,
					 IORING_MEM_REGION_REG_WAIT_ARG, &rd),
			 -EINVAL);
	assert_int_equal(register_region(ring, mem, page,
					 IORING_MEM_REGION_TYPE_USER, 0, &rd), 0);
	assert_int_equal(register_region(ring, mem, page,
					 IORING_MEM_REGION_TYPE_USER, 0, &rd),
			 -EBUSY);
	munmap(mem, page);
}

static void test_region_bad_descriptions(void **state)
{
	struct io_uring ring;
	size_t page = (size_t) sysconf(_SC_PAGESIZE);
	const __u32 user = IORING_MEM_REGION_TYPE_USER;
	const __u64 wait = IORING_MEM_REGION_REG_WAIT_ARG;
	struct io_uring_region_desc rd;
	struct io_uring_mem_region_reg reg;
	char *mem = map_pages(2);
	unsigned fd;

	(void) state;
	assert_int_equal(io_uring_queue_init(8, &ring, IORING_SETUP_R_DISABLED),
			 0);
	fd = (unsigned) ring.ring_fd;
	assert_int_equal(register_region(&ring, mem, page, user, 2, &rd),
			 -EINVAL);
	assert_int_equal(register_region(&ring, mem, 0, user, wait, &rd),
			 -EINVAL);
	assert_int_equal(register_region(&ring, mem + 8, page, user, wait,
					 &rd), -EINVAL);
	assert_int_equal(register_region(&ring, mem, 100, user, wait, &rd),
			 -EINVAL);
	assert_int_equal(register_region(&ring, mem, page, 2, wait, &rd),
			 -EINVAL);
	assert_int_equal(register_region(&ring, NULL, page, user, wait, &rd),
			 -EFAULT);
	memset(&reg, 0, sizeof(reg));
	reg.region_uptr = 8;
	assert_int_equal(io_uring_register_region(&ring, &reg), -EFAULT);
	reg.region_uptr = (__u64) (uintptr_t) &rd;
	reg.__resv[1] = 1;
	assert_int_equal(io_uring_register_region(&ring, &reg), -EINVAL);
	assert_int_equal(io_uring_register(fd, IORING_REGISTER_MEM_REGION,
					   NULL, 1), -EINVAL);
	assert_int_equal(io_uring_register(fd, IORING_REGISTER_MEM_REGION,
					   &reg, 0), -EINVAL);
	assert_int_equal(io_uring_register(fd, IORING_REGISTER_MEM_REGION,
					   &reg, 2), -EINVAL);
	/* The id and offset are the kernel's to fill in. */
	memset(&rd, 0, sizeof(rd));
	rd.user_addr = (__u64) (uintptr_t) mem;
	rd.size = page;
	rd.flags = user;
	rd.id = 1;
	reg.__resv[1] = 0;
	reg.flags = wait;
	assert_int_equal(io_uring_register_region(&ring, &reg), -EINVAL);
	rd.id = 0;
	rd.mmap_offset = page;
	assert_int_equal(io_uring_register_region(&ring, &reg), -EINVAL);
	assert_int_equal(register_region(&ring, mem, 2 * page, user, wait,
					 &rd), 0);
	assert_int_equal(register_region(&ring, mem, page, user, wait, &rd),
			 -EBUSY);
	io_uring_queue_exit(&ring);
	munmap(mem, 2 * page);
}

/* A ring with wait arguments in a region of n pages at *mem. */
static void wait_region_ring(struct io_uring *ring, size_t n,
			     struct io_uring_reg_wait **mem)
{
	size_t page = (size_t) sysconf(_SC_PAGESIZE);
	struct io_uring_region_desc rd;

	*mem = map_pages(n);
	memset(*mem, 0, n * page);
	assert_int_equal(io_uring_queue_init(8, ring, IORING_SETUP_R_DISABLED),
			 0);
	assert_int_equal(register_region(ring, *mem, n * page,
					 IORING_MEM_REGION_TYPE_USER,
					 IORING_MEM_REGION_REG_WAIT_ARG, &rd), 0);
	assert_int_equal(io_uring_enable_rings(ring), 0);
}

static int enter_reg(struct io_uring *ring, unsigned flags, __u64 offset,
		     size_t size)
{
	return io_uring_enter2((unsigned) ring->ring_fd, 0, 1,
			       flags | IORING_ENTER_EXT_ARG |
			       IORING_ENTER_EXT_ARG_REG,
			       (void *) (uintptr_t) offset, size);
}

/* The wait arguments come from the region entry named. */
static void test_wait_reg_arguments(void **state)
{
	size_t page = (size_t) sysconf(_SC_PAGESIZE);
	int nr = (int) (page / sizeof(struct io_uring_reg_wait));
	struct io_uring_reg_wait *rw;
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	struct timespec now;

	(void) state;
	wait_region_ring(&ring, 1, &rw);
	rw[0].flags = IORING_REG_WAIT_TS;
	rw[0].ts.tv_nsec = 1000000;
	assert_int_equal(io_uring_submit_and_wait_reg(&ring, &cqe, 1, 0),
			 -ETIME);
	/* A minimum wait and padding change nothing. */
	rw[1] = rw[0];
	rw[1].min_wait_usec = 500;
	rw[1].pad[0] = 1;
	assert_int_equal(io_uring_submit_and_wait_reg(&ring, &cqe, 1, 1),
			 -ETIME);
	rw[2].flags = 0x80;
	assert_int_equal(io_uring_submit_and_wait_reg(&ring, &cqe, 1, 2),
			 -EINVAL);
	rw[3] = rw[0];
	rw[3].sigmask = 8;
	rw[3].sigmask_sz = 8;
	assert_int_equal(io_uring_submit_and_wait_reg(&ring, &cqe, 1, 3),
			 -EFAULT);
	/* An absolute deadline, passed. */
	clock_gettime(CLOCK_MONOTONIC, &now);
	rw[4].flags = IORING_REG_WAIT_TS;
	rw[4].ts.tv_sec = now.tv_sec;
	rw[4].ts.tv_nsec = now.tv_nsec;
	assert_int_equal(enter_reg(&ring, IORING_ENTER_GETEVENTS |
				   IORING_ENTER_ABS_TIMER,
				   4 * sizeof(*rw), sizeof(*rw)), -ETIME);
	/* Without a timeout, it waits for the CQE. */
	io_uring_prep_nop(io_uring_get_sqe(&ring));
	assert_int_equal(io_uring_submit_and_wait_reg(&ring, &cqe, 1, nr - 1),
			 1);
	assert_int_equal(io_uring_peek_cqe(&ring, &cqe), 0);
	io_uring_cqe_seen(&ring, cqe);
	io_uring_queue_exit(&ring);
	munmap(rw, page);
}

static void test_wait_reg_bad_offsets(void **state)
{
	size_t page = (size_t) sysconf(_SC_PAGESIZE);
	int nr = (int) (2 * page / sizeof(struct io_uring_reg_wait));
	struct io_uring_reg_wait *rw;
	struct io_uring_cqe *cqe;
	struct io_uring ring, plain;

	(void) state;
	wait_region_ring(&ring, 2, &rw);
	assert_int_equal(io_uring_submit_and_wait_reg(&ring, &cqe, 1, nr),
			 -EFAULT);
	assert_int_equal(io_uring_submit_and_wait_reg(&ring, &cqe, 1, -1),
			 -EFAULT);
	assert_int_equal(enter_reg(&ring, IORING_ENTER_GETEVENTS, 4,
				   sizeof(*rw)), -EFAULT);
	assert_int_equal(enter_reg(&ring, IORING_ENTER_GETEVENTS, 0, 8),
			 -EINVAL);
	/* Not read without GETEVENTS. */
	assert_int_equal(enter_reg(&ring, 0, 4, 8), 0);
	assert_int_equal(io_uring_queue_init(8, &plain, 0), 0);
	assert_int_equal(io_uring_submit_and_wait_reg(&plain, &cqe, 1, 0),
			 -EFAULT);
	io_uring_queue_exit(&plain);
	io_uring_queue_exit(&ring);
	munmap(rw, 2 * page);
}

/* Memory the ring allocates is mapped from its descriptor at the offset
 * written back. */
static void test_wait_reg_in_ring_memory(void **state)
{
	size_t page = (size_t) sysconf(_SC_PAGESIZE);
	struct io_uring_region_desc rd;
	struct io_uring_reg_wait *rw;
	struct io_uring_cqe *cqe;
	struct io_uring ring;

	(void) state;
	assert_int_equal(io_uring_queue_init(8, &ring, IORING_SETUP_R_DISABLED),
			 0);
	assert_int_equal(register_region(&ring, NULL, 2 * page, 0,
					 IORING_MEM_REGION_REG_WAIT_ARG, &rd), 0);
	assert_true(rd.mmap_offset != 0);
	rw = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED,
		  ring.ring_fd, (off_t) rd.mmap_offset);
	assert_true(rw != MAP_FAILED);
	assert_int_equal(rw[1].flags, 0);
	assert_int_equal(io_uring_enable_rings(&ring), 0);
	rw[1].flags = IORING_REG_WAIT_TS;
	rw[1].ts.tv_nsec = 1000000;
	assert_int_equal(io_uring_submit_and_wait_reg(&ring, &cqe, 1, 1),
			 -ETIME);
	rw[2].flags = 0x80;
	assert_int_equal(io_uring_submit_and_wait_reg(&ring, &cqe, 1, 2),
			 -EINVAL);
	munmap(rw, 2 * page);
	io_uring_queue_exit(&ring);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, ring_setup, ring_teardown)
	const struct CMUnitTest tests[] = {
		T(test_clock_monotonic_and_boottime_only),
		T(test_clock_bad_arguments),
		T(test_clock_boottime_absolute_wait),
		T(test_clock_on_a_disabled_ring),
		T(test_napi_register_reports_previous),
		T(test_napi_unregister),
		T(test_napi_bad_arguments),
		T(test_napi_static_ids),
		T(test_napi_iopoll_ring),
		T(test_query_opcodes),
		T(test_query_setup_flags_are_known),
		T(test_query_buffer_sizes),
		T(test_query_bad_headers),
		T(test_query_faults_and_arguments),
		T(test_query_chain),
		T(test_iowq_aff_arguments),
		T(test_iowq_aff_applies_to_workers),
		T(test_personality_ids),
		T(test_personality_of_requests),
		T(test_region_on_an_enabled_ring),
		T(test_region_bad_descriptions),
		T(test_wait_reg_arguments),
		T(test_wait_reg_bad_offsets),
		T(test_wait_reg_in_ring_memory),
		T(test_personality_runs_with_registered_user),
		T(test_personality_runs_with_registered_root),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif
