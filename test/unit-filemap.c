/* SPDX-License-Identifier: MIT */
/*
 * Reads copied out of maps of their files (filemap.c, aio.c): the same
 * results and bytes as preadv2 gives, whatever happens to the file or the
 * descriptor between two batches or under a copy.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "helpers.h"
#include "engine/ctx.h"
#include "engine/uaccess.h"

#define NR	16
#define BS	4096
#define BLOCKS	64

/*
 * The engine's fstat() (linked with --wrap). With shrink_at_fstat
 * set, the next fstat() of a descriptor truncates the file to that size
 * after it has told the old size: the copies that follow meet the pages
 * past the new end, as when another process truncates the file while the
 * ring copies. And getrusage(), below.
 */
static long long shrink_at_fstat = -1;
static int shrink_fd = -1;
/* Major faults the engine's getrusage() adds to the thread's own: a copy
 * that waited for the device, without a device to wait for. */
static long extra_major_faults;

int __real_fstat(int fd, struct stat *st);

int __wrap_fstat(int fd, struct stat *st)
{
	int ret = __real_fstat(fd, st);

	if (shrink_at_fstat >= 0 && fd == shrink_fd) {
		assert_int_equal(ftruncate(fd, (off_t) shrink_at_fstat), 0);
		shrink_at_fstat = -1;
	}
	return ret;
}

int __real_getrusage(int who, struct rusage *ru);

int __wrap_getrusage(int who, struct rusage *ru)
{
	int ret = __real_getrusage(who, ru);

	ru->ru_majflt += extra_major_faults;
	return ret;
}

struct map_fixture {
	char dir[PATH_MAX];
	int fd;
	struct io_uring ring;
	char *bufs;
};

/*
 * The engine copies out of maps only where a fault in the copy reaches
 * its own SIGSEGV and SIGBUS handler. cmocka puts its own over them for
 * each test: the tests put the engine's back (saved in main(), while a
 * ring kept the engine's installed), and start a new signal epoch so that
 * the thread asks again.
 */
static struct sigaction engine_fault_action[2];

static void take_back_fault_signals(void)
{
	sigaction(SIGSEGV, &engine_fault_action[0], NULL);
	sigaction(SIGBUS, &engine_fault_action[1], NULL);
	ua_uaccess_get();
	ua_uaccess_put();
}

/* Reads the ring's maps served so far. */
static __u64 map_copies(struct map_fixture *f)
{
	return ua_ctx_lookup(f->ring.ring_fd)->aio.maps.copies;
}

/* The guard that catches a fault in a copy is left to the sanitizers in
 * their builds: there every read takes a system call. */
static bool maps_built(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	return false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
	return false;
#else
	return true;
#endif
#else
	return true;
#endif
}

/* Whether the engine maps this file at all (its filesystem's maps show
 * what read() shows): the tests that count copies need it. */
static bool mappable(int fd)
{
	struct ua_filemaps maps = { .flushes = 0 };
	struct ua_filemap_view v;
	bool ok;

	take_back_fault_signals();
	ua_filemap_view(&maps, fd, &v);
	ok = v.map != NULL;
	ua_filemaps_release(&maps);
	return ok && maps_built();
}

static unsigned settle_ring(struct map_fixture *f);

static int setup(void **state)
{
	struct map_fixture *f = calloc(1, sizeof(*f));

	if (!f || make_tmpdir(f->dir))
		return -1;
	f->fd = make_pattern_file(f->dir, "data", BLOCKS * BS, 5, O_RDWR);
	if (f->fd < 0 || io_uring_queue_init(NR, &f->ring, 0))
		return -1;
	if (posix_memalign((void **) &f->bufs, BS, NR * BS))
		return -1;
	ua_aio_force_way(UA_AIO_MAPPED);
	*state = f;
	if (maps_built())
		settle_ring(f);
	return 0;
}

static int teardown(void **state)
{
	struct map_fixture *f = *state;

	ua_aio_force_way(UA_AIO_MEASURED);
	io_uring_queue_exit(&f->ring);
	if (f->fd >= 0)
		close(f->fd);
	remove_tmpdir(f->dir);
	free(f->bufs);
	free(f);
	return 0;
}

/* NR reads, read i of block blocks[i] on fd into buffer i (at addr when
 * given): their results in res. */
static void read_blocks(struct map_fixture *f, int fd, const int *blocks,
			int *res, char *addr)
{
	struct io_uring_cqe *cqe;
	int i;

	take_back_fault_signals();
	memset(f->bufs, 0, NR * BS);
	for (i = 0; i < NR; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&f->ring);

		io_uring_prep_read(sqe, fd, (addr ? addr : f->bufs) + i * BS,
				   BS, (__u64) blocks[i] * BS);
		sqe->user_data = (__u64) i;
	}
	assert_int_equal(io_uring_submit_and_wait(&f->ring, NR), NR);
	for (i = 0; i < NR; i++) {
		assert_int_equal(io_uring_peek_cqe(&f->ring, &cqe), 0);
		res[cqe->user_data] = cqe->res;
		io_uring_cqe_seen(&f->ring, cqe);
	}
}

static void spread(int *blocks, int first)
{
	int i;

	for (i = 0; i < NR; i++)
		blocks[i] = (first + i * 5) % BLOCKS;
}

/* A ring maps files only after its first flushes (a ring that reads a
 * few times would pay more for the map than it saves): those reads are
 * system calls. Returns the flushes that took. */
static unsigned settle_ring(struct map_fixture *f)
{
	int blocks[NR], res[NR];
	unsigned flushes = 0;

	spread(blocks, 0);
	while (!map_copies(f) && flushes < 1000) {
		read_blocks(f, f->fd, blocks, res, NULL);
		flushes++;
	}
	return flushes;
}

/* Cached reads are copies, and each buffer holds its block. */
static void test_cached_reads_are_copies(void **state)
{
	struct map_fixture *f = *state;
	int blocks[NR], res[NR], i;
	__u64 copies;

	if (!mappable(f->fd))
		skip();
	spread(blocks, 3);
	copies = map_copies(f);
	read_blocks(f, f->fd, blocks, res, NULL);
	assert_int_equal(map_copies(f), copies + NR);
	for (i = 0; i < NR; i++) {
		assert_int_equal(res[i], BS);
		assert_true(check_pattern(f->bufs + i * BS, BS,
					  (unsigned long long) blocks[i] * BS, 5));
	}
}

/* A new ring reads through system calls at first, then out of maps. */
static void test_young_ring_makes_no_maps(void **state)
{
	struct map_fixture *f = *state;
	unsigned flushes;

	if (!mappable(f->fd))
		skip();
	io_uring_queue_exit(&f->ring);
	assert_int_equal(io_uring_queue_init(NR, &f->ring, 0), 0);
	flushes = settle_ring(f);
	assert_true(flushes > 32 && flushes < 1000);
}

/* Single reads are measured too: both ways are tried, so the maps serve
 * some of them whichever turns out cheaper here. */
static void test_single_reads_try_maps(void **state)
{
	struct map_fixture *f = *state;
	struct io_uring_cqe *cqe;
	__u64 copies;
	int i;

	if (!mappable(f->fd))
		skip();
	ua_aio_force_way(UA_AIO_MEASURED);
	ua_aio_forget_costs();
	copies = map_copies(f);
	take_back_fault_signals();
	for (i = 0; i < 200; i++) {
		io_uring_prep_read(io_uring_get_sqe(&f->ring), f->fd, f->bufs,
				   BS, (__u64) (i % BLOCKS) * BS);
		assert_int_equal(io_uring_submit_and_wait(&f->ring, 1), 1);
		assert_int_equal(io_uring_peek_cqe(&f->ring, &cqe), 0);
		assert_int_equal(cqe->res, BS);
		io_uring_cqe_seen(&f->ring, cqe);
	}
	assert_true(map_copies(f) > copies);
	ua_aio_forget_costs();
}

/* A write through another descriptor shows in the next batch's copies:
 * the map is the page cache. */
static void test_written_bytes_show(void **state)
{
	struct map_fixture *f = *state;
	int blocks[NR], res[NR], i;
	char byte = 'W';

	spread(blocks, 0);
	read_blocks(f, f->fd, blocks, res, NULL);
	assert_int_equal(pwrite(f->fd, &byte, 1, (off_t) blocks[2] * BS + 7), 1);
	read_blocks(f, f->fd, blocks, res, NULL);
	for (i = 0; i < NR; i++)
		assert_int_equal(res[i], BS);
	assert_int_equal(f->bufs[2 * BS + 7], 'W');
}

/* Reads past the end are short or empty, and a file grown by a quarter
 * is read to its new end. */
static void test_end_of_file_moves(void **state)
{
	struct map_fixture *f = *state;
	int blocks[NR], res[NR], i;
	char path[PATH_MAX];

	join_path(path, f->dir, "data");
	assert_int_equal(truncate(path, (off_t) (BLOCKS - 1) * BS + 100), 0);
	spread(blocks, 0);
	blocks[0] = BLOCKS - 1;	/* 100 bytes left */
	blocks[1] = BLOCKS;	/* past the end */
	read_blocks(f, f->fd, blocks, res, NULL);
	assert_int_equal(res[0], 100);
	assert_int_equal(res[1], 0);
	assert_true(check_pattern(f->bufs, 100,
				  (unsigned long long) (BLOCKS - 1) * BS, 5));
	close(f->fd);
	f->fd = make_pattern_file(f->dir, "data", 2 * BLOCKS * BS, 5, O_RDWR);
	assert_true(f->fd >= 0);
	for (i = 0; i < NR; i++)
		blocks[i] = BLOCKS + i * 3;
	read_blocks(f, f->fd, blocks, res, NULL);
	for (i = 0; i < NR; i++) {
		assert_int_equal(res[i], BS);
		assert_true(check_pattern(f->bufs + i * BS, BS,
					  (unsigned long long) blocks[i] * BS, 5));
	}
}

/* The descriptor's number is reused for another file between two
 * batches: the second batch reads the new file. */
static void test_reused_number_reads_new_file(void **state)
{
	struct map_fixture *f = *state;
	int blocks[NR], res[NR], i, other;

	spread(blocks, 1);
	read_blocks(f, f->fd, blocks, res, NULL);
	other = make_pattern_file(f->dir, "other", BLOCKS * BS, 9, O_RDONLY);
	assert_true(other >= 0);
	assert_int_equal(dup2(other, f->fd), f->fd);
	close(other);
	read_blocks(f, f->fd, blocks, res, NULL);
	for (i = 0; i < NR; i++) {
		assert_int_equal(res[i], BS);
		assert_true(check_pattern(f->bufs + i * BS, BS,
					  (unsigned long long) blocks[i] * BS, 9));
	}
}

/* Descriptors that read() refuses are refused the same: write-only and
 * O_PATH ones fail with -EBADF, as preadv2 fails them. */
static void test_unreadable_descriptors_fail(void **state)
{
	struct map_fixture *f = *state;
	int blocks[NR], res[NR], i, wr, path_fd;
	char path[PATH_MAX];

	join_path(path, f->dir, "data");
	spread(blocks, 0);
	read_blocks(f, f->fd, blocks, res, NULL);
	wr = open(path, O_WRONLY | O_CLOEXEC);
	path_fd = open(path, O_PATH | O_CLOEXEC);
	assert_true(wr >= 0 && path_fd >= 0);
	read_blocks(f, wr, blocks, res, NULL);
	for (i = 0; i < NR; i++)
		assert_int_equal(res[i], -EBADF);
	read_blocks(f, path_fd, blocks, res, NULL);
	for (i = 0; i < NR; i++)
		assert_int_equal(res[i], -EBADF);
	close(wr);
	close(path_fd);
}

/* A buffer that cannot be written fails its read with -EFAULT; the
 * process lives on. */
static void test_bad_buffer_faults(void **state)
{
	struct map_fixture *f = *state;
	int blocks[NR], res[NR], i;
	char *ro = mmap(NULL, NR * BS, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0);

	assert_true(ro != MAP_FAILED);
	spread(blocks, 0);
	read_blocks(f, f->fd, blocks, res, ro);
	for (i = 0; i < NR; i++)
		assert_int_equal(res[i], -EFAULT);
	munmap(ro, NR * BS);
}

/* The file shrinks after the batch saw its size, before the copies: the
 * copies past the new end fault (SIGBUS), and those reads get what a
 * system call gives instead. */
static void test_file_shrinks_under_copies(void **state)
{
	struct map_fixture *f = *state;
	int blocks[NR], res[NR], i;
	__u64 copies;

	if (!mappable(f->fd))
		skip();
	for (i = 0; i < NR; i++)
		blocks[i] = i * 4;	/* 0 .. 60 */
	read_blocks(f, f->fd, blocks, res, NULL);
	copies = map_copies(f);
	shrink_fd = f->fd;
	shrink_at_fstat = 8 * BS;
	read_blocks(f, f->fd, blocks, res, NULL);
	assert_int_equal(shrink_at_fstat, -1);
	assert_int_equal(map_copies(f), copies + 2);	/* blocks 0 and 4 */
	for (i = 0; i < NR; i++) {
		assert_int_equal(res[i], blocks[i] < 8 ? BS : 0);
		if (blocks[i] < 8)
			assert_true(check_pattern(f->bufs + i * BS, BS,
				(unsigned long long) blocks[i] * BS, 5));
	}
}

/* A flush whose copies waited for the device (slow, and the thread took
 * a major fault) sends the file the other way for the next flushes, for
 * longer each time; one that was only slow (preempted) does not. */
static void test_slow_copies_send_file_other_way(void **state)
{
	struct map_fixture *f = *state;
	struct ua_filemaps maps = { .flushes = 0 };
	struct ua_filemap_view v;
	const __u64 slow = 50ull * 1000 * 1000;
	unsigned skipped = 0;

	if (!mappable(f->fd))
		skip();
	ua_filemap_view(&maps, f->fd, &v);
	assert_non_null(v.map);
	assert_true(ua_filemap_note_copies(v.map, 16, 16 * 1000));
	assert_true(ua_filemap_note_copies(v.map, 16, slow));
	extra_major_faults++;
	assert_false(ua_filemap_note_copies(v.map, 16, slow));
	for (;;) {
		ua_filemaps_next_flush(&maps);
		ua_filemap_view(&maps, f->fd, &v);
		if (v.map)
			break;
		skipped++;
	}
	assert_true(skipped >= 1);
	extra_major_faults++;
	assert_false(ua_filemap_note_copies(v.map, 1, slow));
	assert_int_equal(v.map->cold_skip, 2 * skipped);
	ua_filemaps_release(&maps);
}

/* After mlockall(MCL_FUTURE) no file is mapped: the map would be locked,
 * its whole file read in. */
static void test_no_maps_under_mlockall(void **state)
{
	struct map_fixture *f = *state;
	struct ua_filemaps maps = { .flushes = 0 };
	struct ua_filemap_view v;

	if (!mappable(f->fd))
		skip();
	if (mlockall(MCL_FUTURE))
		skip();		/* not allowed here */
	ua_filemap_view(&maps, f->fd, &v);
	munlockall();
	assert_null(v.map);
	ua_filemaps_release(&maps);
}

/* The maps go with the ring: no map of the file outlives it. */
static bool file_mapped(const char *path)
{
	char line[PATH_MAX + 128];
	bool found = false;
	FILE *maps = fopen("/proc/self/maps", "r");

	assert_non_null(maps);
	while (fgets(line, sizeof(line), maps))
		if (strstr(line, path))
			found = true;
	fclose(maps);
	return found;
}

static void test_maps_go_with_the_ring(void **state)
{
	struct map_fixture *f = *state;
	int blocks[NR], res[NR];
	char path[PATH_MAX];

	if (!mappable(f->fd))
		skip();
	join_path(path, f->dir, "data");
	spread(blocks, 2);
	read_blocks(f, f->fd, blocks, res, NULL);
	assert_true(file_mapped(path));
	io_uring_queue_exit(&f->ring);
	assert_false(file_mapped(path));
	assert_int_equal(io_uring_queue_init(NR, &f->ring, 0), 0);
}

int main(void)
{
	struct io_uring keep;
	int ret;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cached_reads_are_copies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_young_ring_makes_no_maps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_single_reads_try_maps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_written_bytes_show, setup, teardown),
		cmocka_unit_test_setup_teardown(test_end_of_file_moves, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reused_number_reads_new_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable_descriptors_fail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_buffer_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_shrinks_under_copies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_copies_send_file_other_way, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_maps_under_mlockall, setup, teardown),
		cmocka_unit_test_setup_teardown(test_maps_go_with_the_ring, setup, teardown),
	};

	if (io_uring_queue_init(4, &keep, 0))
		return 1;
	sigaction(SIGSEGV, NULL, &engine_fault_action[0]);
	sigaction(SIGBUS, NULL, &engine_fault_action[1]);
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	io_uring_queue_exit(&keep);
	return ret;
}
