/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the userspace RCU (src/engine/rcu.c).
 *
 * The whole group runs twice: in a child process forced into the fallback
 * where readers fence and the writer does without membarrier, then in the
 * parent with whatever the kernel offers. The fork happens before any
 * thread exists. Threads never call cmocka asserts; they count errors that
 * the main thread checks. Waits use flag handshakes; the few yield loops
 * only give a broken implementation time to show itself and can never fail
 * a correct one. A watchdog turns a hang into a failure.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "rcu-modes.h"

#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine/rcu.h"
#include "liburing.h"

#define GRACE_CHANCES		2000	/* yields a broken writer gets to run */

#define container_of(ptr, type, member) \
	((type *) ((char *) (ptr) - offsetof(type, member)))

static void yield_times(int n)
{
	while (n-- > 0)
		sched_yield();
}

static void wait_for(atomic_bool *flag)
{
	while (!atomic_load(flag))
		sched_yield();
}

static pthread_t start(void *(*fn)(void *), void *arg)
{
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, fn, arg), 0);
	return t;
}

/* ---- readers never see a reclaimed object ---- */

#define LIVE_MAGIC	0x11fe11fe11fe11feULL
#define POISON		0xdeaddeaddeaddeadULL
#define NR_READERS	3
#define NR_SWAPS	1000

struct item {
	struct ua_rcu_head	rcu;
	uint64_t		magic;
	uint64_t		seq;
	uint64_t		check;	/* ~seq */
};

static struct item *_Atomic published;
static atomic_bool stop_readers;
static atomic_ulong reader_errors, items_freed_by_callback;

/* Sections each reader has completed, on its own cache line. */
static struct {
	_Alignas(64) atomic_ulong	sections;
} reader_progress[NR_READERS];

static struct item *new_item(uint64_t seq)
{
	struct item *it = malloc(sizeof(*it));

	assert_non_null(it);
	it->magic = LIVE_MAGIC;
	it->seq = seq;
	it->check = ~seq;
	return it;
}

/*
 * Poison first: without ASan, a reader that still holds it sees POISON.
 * Through volatile, or the compiler drops stores to memory about to be freed.
 */
static void poison_and_free(struct item *it)
{
	volatile struct item *doomed = it;

	doomed->magic = POISON;
	doomed->seq = POISON;
	doomed->check = POISON;
	free(it);
}

static void free_item_callback(struct ua_rcu_head *head)
{
	poison_and_free(container_of(head, struct item, rcu));
	atomic_fetch_add(&items_freed_by_callback, 1);
}

/* Objects are immutable once published: any change means reclaimed. */
static bool item_intact(const struct item *it, uint64_t seq)
{
	return it->magic == LIVE_MAGIC && it->seq == seq && it->check == ~seq;
}

static void check_published(void)
{
	struct item *it = atomic_load_explicit(&published, memory_order_acquire);
	uint64_t seq = it->seq;

	/*
	 * Keep reading it for a while, so that a writer that reclaims too
	 * early does so under our eyes. The compiler barrier forces a fresh
	 * load of every field each time round.
	 */
	for (int i = 0; i < 500; i++) {
		if (!item_intact(it, seq)) {
			atomic_fetch_add(&reader_errors, 1);
			return;
		}
		atomic_signal_fence(memory_order_seq_cst);
	}
}

static void *swap_reader(void *arg)
{
	atomic_ulong *progress = arg;
	unsigned long n = 0;

	while (!atomic_load_explicit(&stop_readers, memory_order_relaxed)) {
		ua_rcu_read_lock();
		check_published();
		if (n % 4 == 0) {
			ua_rcu_read_lock();
			check_published();
			ua_rcu_read_unlock();
			check_published();
		}
		ua_rcu_read_unlock();
		atomic_store_explicit(progress, ++n, memory_order_relaxed);
		/* Readers outnumber CPUs here: let the writer run. */
		if (n % 64 == 0)
			sched_yield();
	}
	return NULL;
}

/* Keeps the writer from outrunning the readers: every swap races them. */
static void wait_for_every_reader_to_progress(void)
{
	unsigned long seen[NR_READERS];

	for (int i = 0; i < NR_READERS; i++)
		seen[i] = atomic_load(&reader_progress[i].sections);
	for (int i = 0; i < NR_READERS; i++)
		while (atomic_load(&reader_progress[i].sections) == seen[i])
			sched_yield();
}

/* Odd swaps wait for a grace period, even ones defer with ua_rcu_call. */
static void test_readers_never_see_reclaimed_objects(void **state)
{
	pthread_t readers[NR_READERS];

	(void) state;
	atomic_store(&published, new_item(0));
	atomic_store(&stop_readers, false);
	atomic_store(&items_freed_by_callback, 0);
	for (int i = 0; i < NR_READERS; i++)
		readers[i] = start(swap_reader, &reader_progress[i].sections);

	for (uint64_t seq = 1; seq <= NR_SWAPS; seq++) {
		struct item *old = atomic_exchange_explicit(&published,
							    new_item(seq),
							    memory_order_acq_rel);
		if (seq % 2) {
			ua_rcu_synchronize();
			poison_and_free(old);
		} else {
			ua_rcu_call(&old->rcu, free_item_callback);
		}
		wait_for_every_reader_to_progress();
	}

	atomic_store(&stop_readers, true);
	for (int i = 0; i < NR_READERS; i++)
		pthread_join(readers[i], NULL);
	ua_rcu_barrier();
	assert_int_equal(atomic_load(&items_freed_by_callback), NR_SWAPS / 2);
	free(atomic_load(&published));
	assert_int_equal(atomic_load(&reader_errors), 0);
}

/* ---- one reader held inside a section on request ---- */

struct held_reader {
	atomic_bool	inside;		/* set inside the section */
	atomic_bool	may_leave;	/* set by the test */
	atomic_bool	leaving;	/* set just before the last unlock */
};

/* Nested on purpose: after the inner unlock it is still inside. */
static void *hold_section(void *arg)
{
	struct held_reader *r = arg;

	ua_rcu_read_lock();
	ua_rcu_read_lock();
	ua_rcu_read_unlock();
	atomic_store(&r->inside, true);
	wait_for(&r->may_leave);
	atomic_store(&r->leaving, true);
	ua_rcu_read_unlock();
	return NULL;
}

struct synchronizer {
	struct held_reader	*reader;
	atomic_bool		started;
	atomic_bool		done;
	atomic_bool		reader_had_left;
};

static void *synchronize_once(void *arg)
{
	struct synchronizer *s = arg;

	atomic_store(&s->started, true);
	ua_rcu_synchronize();
	atomic_store(&s->reader_had_left, atomic_load(&s->reader->leaving));
	atomic_store(&s->done, true);
	return NULL;
}

/* Call with the reader inside its section; lets it leave. */
static void check_synchronize_waits_for(struct held_reader *reader)
{
	struct synchronizer sync = { .reader = reader };
	pthread_t st;

	st = start(synchronize_once, &sync);
	wait_for(&sync.started);
	yield_times(GRACE_CHANCES);
	assert_false(atomic_load(&sync.done));

	atomic_store(&reader->may_leave, true);
	pthread_join(st, NULL);
	assert_true(atomic_load(&sync.reader_had_left));
}

static void test_synchronize_waits_for_nested_reader(void **state)
{
	struct held_reader reader = { 0 };
	pthread_t rt;

	(void) state;
	rt = start(hold_section, &reader);
	wait_for(&reader.inside);
	check_synchronize_waits_for(&reader);
	pthread_join(rt, NULL);
}

struct late_reader {
	struct held_reader	held;
	atomic_bool		loaded;		/* has read the global word */
	atomic_bool		may_store;	/* set by the test */
};

/*
 * ua_rcu_read_lock() taken apart at its one window: the reader loads the
 * global word, is "preempted" while a whole grace period goes by, then
 * stores the now stale phase and enters its section.
 */
static void *hold_section_with_stale_phase(void *arg)
{
	struct late_reader *r = arg;
	unsigned long word;

	ua_rcu_read_lock();	/* registers this thread */
	ua_rcu_read_unlock();
	word = atomic_load_explicit(&ua_rcu_gp.ctr, memory_order_relaxed);
	atomic_store(&r->loaded, true);
	wait_for(&r->may_store);
	atomic_store_explicit(&ua_rcu_self.ctr, word, memory_order_relaxed);
	ua_rcu_reader_fence();

	atomic_store(&r->held.inside, true);
	wait_for(&r->held.may_leave);
	atomic_store(&r->held.leaving, true);
	ua_rcu_read_unlock();
	return NULL;
}

/* What the second phase flip is for: one flip per grace period fails this. */
static void test_synchronize_waits_for_reader_with_stale_phase(void **state)
{
	struct late_reader reader = { 0 };
	pthread_t rt;

	(void) state;
	rt = start(hold_section_with_stale_phase, &reader);
	wait_for(&reader.loaded);
	ua_rcu_synchronize();
	atomic_store(&reader.may_store, true);
	wait_for(&reader.held.inside);
	check_synchronize_waits_for(&reader.held);
	pthread_join(rt, NULL);
}

/* ---- thread exit ---- */

static void *read_once(void *arg)
{
	(void) arg;
	ua_rcu_read_lock();
	ua_rcu_read_unlock();
	return NULL;
}

/* A buggy thread that exits inside a section: only its exit hook unblocks. */
static void *exit_inside_section(void *arg)
{
	(void) arg;
	ua_rcu_read_lock();
	return NULL;
}

static void test_exited_threads_leave_the_registry(void **state)
{
	(void) state;
	for (int i = 0; i < 100; i++) {
		pthread_join(start(read_once, NULL), NULL);
		pthread_join(start(exit_inside_section, NULL), NULL);
		ua_rcu_synchronize();
	}
}

/* ---- deferred callbacks ---- */

struct deferred {
	struct ua_rcu_head	rcu;
	struct held_reader	*reader;
	atomic_int		runs;
	atomic_bool		reader_had_left;
};

static void note_deferred_run(struct ua_rcu_head *head)
{
	struct deferred *d = container_of(head, struct deferred, rcu);

	atomic_store(&d->reader_had_left, atomic_load(&d->reader->leaving));
	atomic_fetch_add(&d->runs, 1);
}

/* ua_rcu_call returns at once, but the callback waits for the reader. */
static void test_call_waits_for_reader_without_blocking(void **state)
{
	struct held_reader reader = { 0 };
	struct deferred d = { .reader = &reader };
	pthread_t rt;

	(void) state;
	rt = start(hold_section, &reader);
	wait_for(&reader.inside);
	ua_rcu_call(&d.rcu, note_deferred_run);
	yield_times(GRACE_CHANCES);
	assert_int_equal(atomic_load(&d.runs), 0);

	atomic_store(&reader.may_leave, true);
	ua_rcu_barrier();
	assert_int_equal(atomic_load(&d.runs), 1);
	assert_true(atomic_load(&d.reader_had_left));
	pthread_join(rt, NULL);
}

#define NR_QUEUERS		4
#define CALLS_PER_QUEUER	2000

static atomic_ulong callbacks_run;
static atomic_bool queuers_done;

static void count_and_free(struct ua_rcu_head *head)
{
	atomic_fetch_add(&callbacks_run, 1);
	free(head);
}

static void *queue_callbacks(void *arg)
{
	(void) arg;
	for (int i = 0; i < CALLS_PER_QUEUER; i++) {
		struct ua_rcu_head *head = malloc(sizeof(*head));

		if (!head)
			abort();
		ua_rcu_call(head, count_and_free);
	}
	return NULL;
}

static void *barrier_repeatedly(void *arg)
{
	(void) arg;
	while (!atomic_load(&queuers_done))
		ua_rcu_barrier();
	return NULL;
}

static void test_barrier_runs_every_queued_callback(void **state)
{
	pthread_t queuers[NR_QUEUERS], barriers[2];

	(void) state;
	atomic_store(&callbacks_run, 0);
	atomic_store(&queuers_done, false);
	for (int i = 0; i < 2; i++)
		barriers[i] = start(barrier_repeatedly, NULL);
	for (int i = 0; i < NR_QUEUERS; i++)
		queuers[i] = start(queue_callbacks, NULL);
	for (int i = 0; i < NR_QUEUERS; i++)
		pthread_join(queuers[i], NULL);
	atomic_store(&queuers_done, true);
	for (int i = 0; i < 2; i++)
		pthread_join(barriers[i], NULL);

	ua_rcu_barrier();
	assert_int_equal(atomic_load(&callbacks_run),
			 NR_QUEUERS * CALLS_PER_QUEUER);
}

/* Threads of this process named like the callback helper. */
static int count_helper_threads(void)
{
	DIR *dir = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	assert_non_null(dir);
	while ((e = readdir(dir))) {
		char path[sizeof("/proc/self/task//comm") + sizeof(e->d_name)];
		char comm[32] = "";
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;	/* exited meanwhile */
		if (fgets(comm, sizeof(comm), f) && !strncmp(comm, "ua-rcu-cb", 9))
			n++;
		fclose(f);
	}
	closedir(dir);
	return n;
}

/* The helper thread is gone once the queue is empty (polls for up to 10s). */
static void do_nothing(struct ua_rcu_head *head)
{
	(void) head;
}

static void test_callback_helper_exits_when_idle(void **state)
{
	struct ua_rcu_head head;
	int left = 10000;

	(void) state;
	ua_rcu_call(&head, do_nothing);
	ua_rcu_barrier();
	while (count_helper_threads() > 0 && left-- > 0)
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	assert_int_equal(count_helper_threads(), 0);
}

/*
 * A ring's exit waits only for the deferred work it queued itself: with a
 * callback of someone else's held up, rings are still made, used and torn
 * down (a hang here is the watchdog's failure).
 */
static atomic_bool held_callback_may_finish;

static void wait_until_let_go(struct ua_rcu_head *head)
{
	(void) head;
	while (!atomic_load(&held_callback_may_finish))
		sched_yield();
}

static void test_ring_exit_skips_others_deferred_work(void **state)
{
	struct ua_rcu_head head;
	struct io_uring_cqe *cqe;
	struct io_uring ring;

	(void) state;
	atomic_store(&held_callback_may_finish, false);
	ua_rcu_call(&head, wait_until_let_go);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(io_uring_queue_init(4, &ring, 0), 0);
		io_uring_prep_nop(io_uring_get_sqe(&ring));
		assert_int_equal(io_uring_submit_and_wait(&ring, 1), 1);
		assert_int_equal(io_uring_peek_cqe(&ring, &cqe), 0);
		io_uring_queue_exit(&ring);
	}
	atomic_store(&held_callback_may_finish, true);
	ua_rcu_barrier();
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_readers_never_see_reclaimed_objects),
	cmocka_unit_test(test_synchronize_waits_for_nested_reader),
	cmocka_unit_test(test_synchronize_waits_for_reader_with_stale_phase),
	cmocka_unit_test(test_exited_threads_leave_the_registry),
	cmocka_unit_test(test_call_waits_for_reader_without_blocking),
	cmocka_unit_test(test_barrier_runs_every_queued_callback),
	cmocka_unit_test(test_callback_helper_exits_when_idle),
	cmocka_unit_test(test_ring_exit_skips_others_deferred_work),
};

int main(void)
{
	return run_in_both_rcu_modes("rcu, fence fallback", "rcu, default mode",
				     tests, sizeof(tests) / sizeof(tests[0]));
}
