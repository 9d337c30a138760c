/* SPDX-License-Identifier: MIT */
/* The io_submit() batch path of aio.c: every outcome of a batched iocb. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <cmocka.h>
#include <sys/syscall.h>
#include "helpers.h"
#include "engine/ctx.h"

#define NR	32
#define BS	4096

/*
 * The engine's syscall() (linked with --wrap=syscall). With
 * getevents_refused set, io_getevents() fails with EINVAL, and the events
 * io_submit() leaves in the context's ring are hidden (its magic number
 * changed), so that the engine must ask io_getevents() for them. Past
 * MAX_REFUSALS refusals the engine is spinning: the calls go through
 * again, so that the test fails rather than hangs.
 */
#define MAX_REFUSALS		100
#define AIO_RING_MAGIC		0xa10a10a1
#define AIO_RING_MAGIC_OFF	16

static bool getevents_refused;
static unsigned nr_refusals;
static unsigned nr_submits;	/* io_submit() calls, atomic */
/* Events taken by io_getevents() calls that wait a while (min_nr 1 and a
 * timeout) on the thread that set waiter_tid: a thread waiting for CQEs
 * reaping for itself. (A submitter that finds its batch still at the
 * device waits with no timeout.) */
static pid_t waiter_tid;
static unsigned waiter_events;

long __real_syscall(long nr, ...);

static void set_ring_magic(long actx, unsigned magic)
{
	*(unsigned *) (uintptr_t) (actx + AIO_RING_MAGIC_OFF) = magic;
}

/* Arguments past those the caller passed must not be read (the sanitizer
 * sees a read of the caller's stack): the engine's calls, by number. */
static int nr_args(long nr)
{
	switch (nr) {
	case SYS_io_destroy:
	case SYS_close:
	case SYS_setfsuid:
	case SYS_setfsgid:
		return 1;
	case SYS_io_setup:
	case SYS_memfd_create:
	case SYS_capget:
	case SYS_capset:
	case SYS_getgroups:
	case SYS_setgroups:
		return 2;
	case SYS_io_submit:
	case SYS_read:
	case SYS_write:
	case SYS_close_range:
	case SYS_membarrier:
	case SYS_seccomp:
	case SYS_getresuid:
	case SYS_getresgid:
	case SYS_setresuid:
	case SYS_setresgid:
		return 3;
	case SYS_openat2:
		return 4;
	case SYS_io_getevents:
	case SYS_kcmp:
	case SYS_statx:
		return 5;
	default:
		return 6;
	}
}

long __wrap_syscall(long nr, ...)
{
	long a[6] = { 0 }, ret;
	va_list ap;
	int i;

	va_start(ap, nr);
	for (i = 0; i < nr_args(nr); i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (__atomic_load_n(&getevents_refused, __ATOMIC_RELAXED) &&
	    nr == SYS_io_getevents) {
		if (++nr_refusals < MAX_REFUSALS) {
			errno = EINVAL;
			return -1;
		}
		__atomic_store_n(&getevents_refused, false, __ATOMIC_RELAXED);
		set_ring_magic(a[0], AIO_RING_MAGIC);
	}
	if (nr == SYS_io_submit)
		__atomic_add_fetch(&nr_submits, 1, __ATOMIC_RELAXED);
	ret = __real_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (nr == SYS_io_getevents && a[1] >= 1 && a[4] && ret > 0 &&
	    gettid() == __atomic_load_n(&waiter_tid, __ATOMIC_RELAXED))
		__atomic_add_fetch(&waiter_events, (unsigned) ret,
				   __ATOMIC_RELAXED);
	if (__atomic_load_n(&getevents_refused, __ATOMIC_RELAXED) &&
	    nr == SYS_io_submit && ret > 0)
		set_ring_magic(a[0], 0);
	return ret;
}

struct aio_fixture {
	char dir[PATH_MAX];
	int fd;
	struct io_uring ring;
	char *bufs;
};

static int setup(void **state)
{
	struct aio_fixture *f = calloc(1, sizeof(*f));

	if (!f || make_tmpdir(f->dir))
		return -1;
	f->fd = make_pattern_file(f->dir, "data", NR * BS, 7, O_RDONLY);
	if (f->fd < 0 || io_uring_queue_init(NR, &f->ring, 0))
		return -1;
	if (posix_memalign((void **) &f->bufs, BS, NR * BS))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct aio_fixture *f = *state;

	io_uring_queue_exit(&f->ring);
	close(f->fd);
	remove_tmpdir(f->dir);
	free(f->bufs);
	free(f);
	return 0;
}

/* Queues NR reads of block i into buffer i, on fds[i], and reaps them. */
static void read_batch(struct aio_fixture *f, const int *fds, int *res)
{
	struct io_uring_cqe *cqe;
	int i;

	for (i = 0; i < NR; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&f->ring);

		io_uring_prep_read(sqe, fds[i], f->bufs + i * BS, BS,
				   (__u64) i * BS);
		sqe->user_data = (__u64) i;
	}
	assert_int_equal(io_uring_submit_and_wait(&f->ring, NR), NR);
	for (i = 0; i < NR; i++) {
		assert_int_equal(io_uring_peek_cqe(&f->ring, &cqe), 0);
		res[cqe->user_data] = cqe->res;
		io_uring_cqe_seen(&f->ring, cqe);
	}
}

/* Where the system refuses io_setup (a seccomp profile), nothing is batched. */
static bool aio_allowed(void)
{
	return syscall(SYS_io_setup, 0U, NULL) < 0 && errno == EFAULT;
}

static void assert_block(struct aio_fixture *f, int i)
{
	assert_true(check_pattern(f->bufs + i * BS, BS, (unsigned long long) i * BS, 7));
}

/* io_submit refuses the iocb of a closed descriptor: that request alone
 * fails with -EBADF, the others before and after it carry their data. */
static void test_refused_iocb_fails_alone(void **state)
{
	struct aio_fixture *f = *state;
	int fds[NR], res[NR], i;

	for (i = 0; i < NR; i++)
		fds[i] = i == 10 ? 1000 : f->fd;
	read_batch(f, fds, res);
	for (i = 0; i < NR; i++) {
		if (i == 10) {
			assert_int_equal(res[i], -EBADF);
			continue;
		}
		assert_int_equal(res[i], BS);
		assert_block(f, i);
	}
	assert_true(ua_aio_nr_contexts() != 0 || !aio_allowed());
}

/* O_DIRECT transfers complete outside io_submit(): they are waited for,
 * their data is right, and later batches of that descriptor still work. */
static void test_direct_io_completes(void **state)
{
	struct aio_fixture *f = *state;
	char path[PATH_MAX];
	int fds[NR], res[NR], i, round, dfd;

	join_path(path, f->dir, "data");
	dfd = open(path, O_RDONLY | O_DIRECT);
	if (dfd < 0)
		skip();
	for (i = 0; i < NR; i++)
		fds[i] = dfd;
	for (round = 0; round < 2; round++) {
		memset(f->bufs, 0, NR * BS);
		read_batch(f, fds, res);
		for (i = 0; i < NR; i++) {
			assert_int_equal(res[i], BS);
			assert_block(f, i);
		}
	}
	close(dfd);
}

/* Once a descriptor is known to go to the device, its transfers still go
 * together, in one io_submit() and left in flight, not one blocking
 * preadv2 after another; a ring torn down with some in flight waits for
 * them (the sanitizer builds see any use of a freed request). */
static void test_direct_io_keeps_queue_depth(void **state)
{
	struct aio_fixture *f = *state;
	char path[PATH_MAX];
	int fds[NR], res[NR], i, round, dfd;
	unsigned submits;

	join_path(path, f->dir, "data");
	dfd = open(path, O_RDONLY | O_DIRECT);
	if (dfd < 0 || !aio_allowed())
		skip();
	/* On the device, not in the page cache: the reads must wait for it. */
	assert_int_equal(fdatasync(f->fd), 0);
	assert_int_equal(posix_fadvise(f->fd, 0, 0, POSIX_FADV_DONTNEED), 0);
	for (i = 0; i < NR; i++)
		fds[i] = dfd;
	for (round = 0; round < 2; round++) {
		submits = __atomic_load_n(&nr_submits, __ATOMIC_RELAXED);
		memset(f->bufs, 0, NR * BS);
		read_batch(f, fds, res);
		for (i = 0; i < NR; i++) {
			assert_int_equal(res[i], BS);
			assert_block(f, i);
		}
		assert_true(__atomic_load_n(&nr_submits, __ATOMIC_RELAXED) >
			    submits);
	}
	for (i = 0; i < NR; i++)
		io_uring_prep_read(io_uring_get_sqe(&f->ring), dfd,
				   f->bufs + i * BS, BS, (__u64) i * BS);
	assert_int_equal(io_uring_submit(&f->ring), NR);
	io_uring_queue_exit(&f->ring);
	assert_int_equal(io_uring_queue_init(NR, &f->ring, 0), 0);
	close(dfd);
}

/* The thread that waits for CQEs of O_DIRECT reads in flight takes their
 * events itself, in a blocking io_getevents(), rather than only be woken
 * by the reaper thread that took them; the data is right either way. */
static void test_waiter_reaps_device_events(void **state)
{
	struct aio_fixture *f = *state;
	char path[PATH_MAX];
	int fds[NR], res[NR], i, round, dfd;

	join_path(path, f->dir, "data");
	dfd = open(path, O_RDONLY | O_DIRECT);
	if (dfd < 0 || !aio_allowed())
		skip();
	for (i = 0; i < NR; i++)
		fds[i] = dfd;
	__atomic_store_n(&waiter_tid, gettid(), __ATOMIC_RELAXED);
	for (round = 0; round < 8; round++) {
		/* On the device, not in the page cache: the reads wait. */
		assert_int_equal(posix_fadvise(f->fd, 0, 0, POSIX_FADV_DONTNEED), 0);
		memset(f->bufs, 0, NR * BS);
		read_batch(f, fds, res);
		for (i = 0; i < NR; i++) {
			assert_int_equal(res[i], BS);
			assert_block(f, i);
		}
	}
	__atomic_store_n(&waiter_tid, 0, __ATOMIC_RELAXED);
	assert_true(__atomic_load_n(&waiter_events, __ATOMIC_RELAXED) > 0);
	close(dfd);
}

/* Where io_setup() is not allowed, transfers take the preadv2 path. */
static void test_without_aio_reads_still_work(void **state)
{
	struct aio_fixture *f = *state;
	unsigned contexts = ua_aio_nr_contexts();
	int fds[NR], res[NR], i;

	ua_aio_set_refused(true);
	for (i = 0; i < NR; i++)
		fds[i] = f->fd;
	read_batch(f, fds, res);
	ua_aio_set_refused(false);
	for (i = 0; i < NR; i++) {
		assert_int_equal(res[i], BS);
		assert_block(f, i);
	}
	assert_int_equal(ua_aio_nr_contexts(), contexts);
}

/* Rings come and go; the AIO context outlives them, so no ring's exit
 * waits for io_destroy(): the second ring's batch reuses the first's. */
static void test_context_outlives_rings(void **state)
{
	struct aio_fixture *f = *state;
	int fds[NR], res[NR], i, round;
	unsigned contexts;

	if (!aio_allowed())
		skip();
	for (i = 0; i < NR; i++)
		fds[i] = f->fd;
	read_batch(f, fds, res);
	contexts = ua_aio_nr_contexts();
	assert_true(contexts != 0);
	for (round = 0; round < 3; round++) {
		io_uring_queue_exit(&f->ring);
		assert_int_equal(io_uring_queue_init(NR, &f->ring, 0), 0);
		memset(f->bufs, 0, NR * BS);
		read_batch(f, fds, res);
		for (i = 0; i < NR; i++) {
			assert_int_equal(res[i], BS);
			assert_block(f, i);
		}
	}
	assert_int_equal(ua_aio_nr_contexts(), contexts);
}

/* A pipe in a batch: data there is read, the offset ignored; an empty
 * pipe's read goes to a worker and completes when data arrives. */
static void test_pipe_in_batch(void **state)
{
	struct aio_fixture *f = *state;
	struct io_uring_cqe *cqe;
	char a[8] = { 0 }, b[8] = { 0 };
	int p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "abc", 3), 3);
	io_uring_prep_read(io_uring_get_sqe(&f->ring), p[0], a, sizeof(a), 100);
	io_uring_prep_read(io_uring_get_sqe(&f->ring), p[0], b, sizeof(b), 200);
	assert_int_equal(io_uring_submit_and_wait(&f->ring, 1), 2);
	assert_int_equal(io_uring_peek_cqe(&f->ring, &cqe), 0);
	assert_int_equal(cqe->res, 3);
	io_uring_cqe_seen(&f->ring, cqe);
	assert_memory_equal(a, "abc", 3);
	assert_int_equal(write(p[1], "de", 2), 2);
	assert_int_equal(io_uring_wait_cqe(&f->ring, &cqe), 0);
	assert_int_equal(cqe->res, 2);
	io_uring_cqe_seen(&f->ring, cqe);
	assert_memory_equal(b, "de", 2);
	close(p[0]);
	close(p[1]);
}

/* io_getevents() failing for another reason than a signal ends the wait
 * at once: the context is given up, and the requests take the ordinary
 * path and carry their data. */
static void test_getevents_failure_falls_back(void **state)
{
	struct aio_fixture *f = *state;
	int fds[NR], res[NR], i;

	if (!aio_allowed())
		skip();
	for (i = 0; i < NR; i++)
		fds[i] = f->fd;
	memset(f->bufs, 0, NR * BS);
	nr_refusals = 0;
	__atomic_store_n(&getevents_refused, true, __ATOMIC_RELAXED);
	read_batch(f, fds, res);
	__atomic_store_n(&getevents_refused, false, __ATOMIC_RELAXED);
	assert_int_equal(nr_refusals, 1);
	for (i = 0; i < NR; i++) {
		assert_int_equal(res[i], BS);
		assert_block(f, i);
	}
}

/* Reads of every kind in one batch: whole blocks, one across the end of
 * the file (short), one at the end (0), a vectored one, a closed
 * descriptor (-EBADF). */
#define FILE_BLOCKS	(NR - 2)

static void mixed_batch(struct aio_fixture *f, int *res)
{
	struct io_uring_cqe *cqe;
	struct iovec iov[2] = {
		{ f->bufs + 3 * BS, BS / 2 },
		{ f->bufs + 3 * BS + BS / 2, BS / 2 },
	};
	int i;

	memset(f->bufs, 0, NR * BS);
	for (i = 0; i < NR; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&f->ring);
		__u64 off = (__u64) ((i * 7) % FILE_BLOCKS) * BS;

		if (i == 3)
			io_uring_prep_readv(sqe, f->fd, iov, 2, off);
		else if (i == 5)	/* across the end */
			io_uring_prep_read(sqe, f->fd, f->bufs + i * BS, BS,
					   (__u64) FILE_BLOCKS * BS - 100);
		else if (i == 6)	/* at the end */
			io_uring_prep_read(sqe, f->fd, f->bufs + i * BS, BS,
					   (__u64) FILE_BLOCKS * BS);
		else
			io_uring_prep_read(sqe, i == 9 ? 1000 : f->fd,
					   f->bufs + i * BS, BS, off);
		sqe->user_data = (__u64) i;
	}
	assert_int_equal(io_uring_submit_and_wait(&f->ring, NR), NR);
	for (i = 0; i < NR; i++) {
		assert_int_equal(io_uring_peek_cqe(&f->ring, &cqe), 0);
		res[cqe->user_data] = cqe->res;
		io_uring_cqe_seen(&f->ring, cqe);
	}
}

/*
 * A batch of buffered reads made with one io_submit() or one preadv2 per
 * read: the same results and the same bytes, whichever way the machine's
 * costs pick; and each way is the one taken (counted io_submit calls).
 */
static void test_either_way_same_results(void **state)
{
	struct aio_fixture *f = *state;
	char *first = malloc(NR * BS), path[PATH_MAX];
	int res[UA_AIO_NR_WAYS][NR], fds[NR], i;
	unsigned way, submits;

	if (!first || !aio_allowed())
		skip();
	join_path(path, f->dir, "data");
	assert_int_equal(truncate(path, FILE_BLOCKS * BS), 0);
	/* First through io_submit(), which shows the file is buffered. */
	for (i = 0; i < NR; i++)
		fds[i] = i == 9 ? 1000 : f->fd;
	read_batch(f, fds, res[0]);
	for (way = 0; way < UA_AIO_NR_WAYS; way++) {
		ua_aio_force_way(way);
		submits = __atomic_load_n(&nr_submits, __ATOMIC_RELAXED);
		mixed_batch(f, res[way]);
		/* Copies out of maps leave the other reads to the system
		 * calls, which may well be io_submit(). */
		if (way != UA_AIO_MAPPED)
			assert_int_equal(__atomic_load_n(&nr_submits,
							 __ATOMIC_RELAXED) !=
					 submits, way == UA_AIO_SUBMIT);
		if (way == 0)
			memcpy(first, f->bufs, NR * BS);
		else
			assert_memory_equal(first, f->bufs, NR * BS);
	}
	ua_aio_force_way(UA_AIO_MEASURED);
	assert_memory_equal(res[UA_AIO_SUBMIT], res[UA_AIO_ALONE], sizeof(res[0]));
	assert_memory_equal(res[UA_AIO_MAPPED], res[UA_AIO_ALONE], sizeof(res[0]));
	for (i = 0; i < NR; i++) {
		int want = i == 5 ? 100 : i == 6 ? 0 : i == 9 ? -EBADF : BS;

		assert_int_equal(res[UA_AIO_ALONE][i], want);
		if (i == 3 || want == BS)
			assert_true(check_pattern(first + i * BS, BS,
				(unsigned long long) ((i * 7) % FILE_BLOCKS) * BS, 7));
	}
	assert_true(check_pattern(first + 5 * BS, 100,
				  (unsigned long long) FILE_BLOCKS * BS - 100, 7));
	free(first);
}

#define SYSCALL_WAYS	((1u << UA_AIO_SUBMIT) | (1u << UA_AIO_ALONE))

/* Costs as the flushes report them: the cheaper way is taken once each
 * has been tried enough, the dearer one again now and then, and a change
 * of the machine turns the choice; one outlier does not. */
static void test_cheaper_way_is_taken(void **state)
{
	unsigned i, alone = 0, submit = 0;
	bool timed;

	(void) state;
	ua_aio_forget_costs();
	/* Untried: the first batch goes through io_submit(), and is timed. */
	assert_int_equal(ua_aio_pick_way(32, SYSCALL_WAYS, &timed), UA_AIO_SUBMIT);
	assert_true(timed);
	for (i = 0; i < 8; i++) {
		ua_aio_note_cost(32, UA_AIO_SUBMIT, 32 * 1000);
		ua_aio_note_cost(32, UA_AIO_ALONE, 32 * 600);
	}
	for (i = 0; i < 256; i++) {
		if (ua_aio_pick_way(32, SYSCALL_WAYS, &timed) == UA_AIO_ALONE) {
			alone++;
			continue;
		}
		submit++;
		assert_true(timed);	/* the retry's cost is taken */
	}
	assert_true(alone > 250 && submit >= 1);
	/* Other sizes of batch keep their own account. */
	assert_int_equal(ua_aio_pick_way(4, SYSCALL_WAYS, &timed), UA_AIO_SUBMIT);
	/* One preempted batch of the cheaper way does not turn the choice. */
	ua_aio_note_cost(32, UA_AIO_ALONE, 32ull * 1000 * 1000);
	assert_int_equal(ua_aio_pick_way(32, SYSCALL_WAYS, &timed), UA_AIO_ALONE);
	/* Syscalls got dearer: one preadv2 per read now costs more. */
	for (i = 0; i < 16; i++)
		ua_aio_note_cost(32, UA_AIO_ALONE, 32 * 1500);
	for (i = 0, submit = 0; i < 100; i++)
		submit += ua_aio_pick_way(32, SYSCALL_WAYS, &timed) == UA_AIO_SUBMIT;
	assert_true(submit > 95);
	ua_aio_forget_costs();
}

/* With copies out of maps a third way: the cheapest is taken, the
 * retries visit each dearer way in turn, a way that is not open is never
 * taken, and with only one open nothing is timed. */
static void test_retries_visit_every_way(void **state)
{
	unsigned all = SYSCALL_WAYS | (1u << UA_AIO_MAPPED), i;
	unsigned seen[UA_AIO_NR_WAYS] = { 0 };
	bool timed;

	(void) state;
	ua_aio_forget_costs();
	for (i = 0; i < 8; i++) {
		ua_aio_note_cost(32, UA_AIO_SUBMIT, 32 * 1000);
		ua_aio_note_cost(32, UA_AIO_ALONE, 32 * 1200);
		ua_aio_note_cost(32, UA_AIO_MAPPED, 32 * 400);
	}
	for (i = 0; i < 4 * 128; i++)
		seen[ua_aio_pick_way(32, all, &timed)]++;
	assert_true(seen[UA_AIO_MAPPED] >= 4 * 128 - 4);
	assert_true(seen[UA_AIO_SUBMIT] >= 1 && seen[UA_AIO_ALONE] >= 1);
	for (i = 0; i < 256; i++)
		assert_int_not_equal(ua_aio_pick_way(32, SYSCALL_WAYS, &timed),
				     UA_AIO_MAPPED);
	assert_int_equal(ua_aio_pick_way(1, 1u << UA_AIO_ALONE, &timed),
			 UA_AIO_ALONE);
	assert_false(timed);
	ua_aio_forget_costs();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_refused_iocb_fails_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_direct_io_completes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_direct_io_keeps_queue_depth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_waiter_reaps_device_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_without_aio_reads_still_work, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipe_in_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_context_outlives_rings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_getevents_failure_falls_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_either_way_same_results, setup, teardown),
		cmocka_unit_test(test_cheaper_way_is_taken),
		cmocka_unit_test(test_retries_visit_every_way),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
