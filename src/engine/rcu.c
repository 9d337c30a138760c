/* SPDX-License-Identifier: MIT */
/*
 * Userspace RCU: reader registry, grace periods, deferred callbacks.
 *
 * Why two flips per grace period. A reader copies the global word into its
 * own with a load then a store, and may be preempted in between, so the
 * phase it publishes can be stale by any number of grace periods. Take a
 * reader R that was inside a section, with phase p in its word, when
 * ua_rcu_synchronize() began. The writer flips the phase from b to a and
 * waits until no reader is inside a section of phase b; then flips back to
 * b and waits until none is inside a section of phase a. Whatever p is, one
 * of the two waits covers R, and it lasts until R's word shows that section
 * over (nesting zero, or a newer section in the current phase). With one
 * flip, R would be missed whenever its stale p happened to equal the new
 * phase. Sections that began after the call need no wait: see
 * order_unpublish_before_scan().
 *
 * Waiting polls (yield, then sleep), dropping the registry lock between
 * polls so that threads can register and exit meanwhile. Polling keeps
 * read_unlock a single store: no reader ever checks for a waiting writer.
 *
 * Deferred callbacks go to a FIFO queue. ua_rcu_call() starts a helper
 * thread when none is working; the helper takes the whole queue, waits one
 * grace period, runs the batch, and repeats until the queue is empty, then
 * exits. So no thread outlives the work, bursts share grace periods, and
 * the caller never waits for a grace period. If the helper cannot be
 * created, the callbacks stay queued for the next ua_rcu_call() or
 * ua_rcu_barrier(), which runs the queue itself when no helper is working.
 */

#include "engine/lock.h"
#include "engine/rcu.h"
#include "engine/sys.h"
#include "engine/thread.h"

#include <assert.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

struct ua_rcu_gp ua_rcu_gp = { .ctr = UA_RCU_NEST_ONE };
_Thread_local struct ua_rcu_reader ua_rcu_self UA_TLS_IE;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static pthread_key_t reader_key;
static atomic_bool fence_mode_forced;

/* Serialises grace periods, so each one owns the phase bit. */
static pthread_mutex_t gp_lock = PTHREAD_MUTEX_INITIALIZER;

/* Registered readers: a circular list with registry as its head. */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ua_rcu_reader registry = { .prev = &registry, .next = &registry };

static struct {
	pthread_mutex_t		lock;
	pthread_cond_t		progress;	/* done advanced */
	struct ua_rcu_head	*head, **tail;
	unsigned long		queued;		/* ever queued */
	unsigned long		done;		/* ever run */
	bool			working;	/* someone is running the queue */
} cbs = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.progress = PTHREAD_COND_INITIALIZER,
	.tail = &cbs.head,
};

static void unregister_reader(void *arg)
{
	struct ua_rcu_reader *self = arg;

	pthread_mutex_lock(&registry_lock);
	self->prev->next = self->next;
	self->next->prev = self->prev;
	pthread_mutex_unlock(&registry_lock);
	self->registered = false;
}

static void rcu_init(void)
{
	/*
	 * Without the key, exited threads would stay in the registry with
	 * their TLS gone; there is no safe way to go on.
	 */
	if (pthread_key_create(&reader_key, unregister_reader) != 0)
		abort();
	ua_rcu_gp.fence_mode = atomic_load(&fence_mode_forced) ||
		!ua_sys_membarrier_ready();
}

void ua_rcu_register_thread(void)
{
	struct ua_rcu_reader *self = &ua_rcu_self;

	pthread_once(&init_once, rcu_init);
	/*
	 * The key's destructor unlinks the record at thread exit, before the
	 * thread's TLS is released. Failing here leaves the same hole as a
	 * missing key.
	 */
	if (pthread_setspecific(reader_key, self) != 0)
		abort();
	pthread_mutex_lock(&registry_lock);
	self->next = registry.next;
	self->prev = &registry;
	registry.next->prev = self;
	registry.next = self;
	pthread_mutex_unlock(&registry_lock);
	self->registered = true;
}

bool ua_rcu_force_fence_mode(void)
{
	atomic_store(&fence_mode_forced, true);
	pthread_once(&init_once, rcu_init);
	return ua_rcu_gp.fence_mode;
}

/*
 * The writer's half of the store-to-load pairing with ua_rcu_read_lock().
 * Writer: unpublish; barrier; load readers' words. Reader: store own word;
 * barrier; load the published pointer. With a full barrier on both sides
 * at least one thread sees the other's store: either the scans below see
 * the reader's word (and wait for it as needed), or the reader's section
 * sees the unpublished state and cannot reach the old object.
 */
static void order_unpublish_before_scan(void)
{
	if (ua_rcu_gp.fence_mode) {
		atomic_thread_fence(memory_order_seq_cst);
		return;
	}
	/* Registered at init, and the kernel never withdraws it. */
	if (ua_sys_membarrier() != 0)
		abort();
}

static bool reader_in_other_phase(unsigned long ctr, unsigned long phase)
{
	return (ctr & UA_RCU_NEST_MASK) && ((ctr ^ phase) & UA_RCU_PHASE);
}

/*
 * Acquire loads: seeing a reader's word past its section's end means that
 * section happened before whatever the writer does after the grace period.
 */
static bool any_reader_in_other_phase(unsigned long phase)
{
	for (struct ua_rcu_reader *r = registry.next; r != &registry; r = r->next) {
		unsigned long ctr = atomic_load_explicit(&r->ctr,
							 memory_order_acquire);
		if (reader_in_other_phase(ctr, phase))
			return true;
	}
	return false;
}

/* Most sections are short: yield first, then sleep rather than burn a CPU. */
static void back_off(unsigned attempt)
{
	static const struct timespec one_ms = { .tv_nsec = 1000000 };

	if (attempt < 100)
		sched_yield();
	else
		nanosleep(&one_ms, NULL);
}

/* Called and returns with registry_lock held. */
static void wait_for_other_phase_readers(unsigned long phase)
{
	ua_lock_assert_held(&registry_lock);
	for (unsigned attempt = 0; any_reader_in_other_phase(phase); attempt++) {
		pthread_mutex_unlock(&registry_lock);
		back_off(attempt);
		pthread_mutex_lock(&registry_lock);
	}
}

/*
 * Only grace periods write the word, under gp_lock; readers just copy it,
 * so a plain load-xor-store is enough. Readers that miss the new phase for
 * a while only make the wait longer.
 */
static void flip_phase_and_wait(void)
{
	unsigned long gp = atomic_load_explicit(&ua_rcu_gp.ctr,
						memory_order_relaxed) ^ UA_RCU_PHASE;

	atomic_store_explicit(&ua_rcu_gp.ctr, gp, memory_order_relaxed);
	wait_for_other_phase_readers(gp & UA_RCU_PHASE);
}

void ua_rcu_synchronize(void)
{
	/* From inside a section this would wait for itself forever. */
	assert(!(atomic_load_explicit(&ua_rcu_self.ctr, memory_order_relaxed) &
		 UA_RCU_NEST_MASK));
	pthread_once(&init_once, rcu_init);

	pthread_mutex_lock(&gp_lock);
	order_unpublish_before_scan();
	pthread_mutex_lock(&registry_lock);
	flip_phase_and_wait();
	flip_phase_and_wait();
	pthread_mutex_unlock(&registry_lock);
	pthread_mutex_unlock(&gp_lock);
}

static unsigned long run_callbacks(struct ua_rcu_head *head)
{
	unsigned long n = 0;

	while (head) {
		struct ua_rcu_head *next = head->next;

		head->fn(head);
		head = next;
		n++;
	}
	return n;
}

/*
 * Runs everything queued so far. Called with cbs.lock held by the one
 * thread that owns cbs.working; returns with it held. Everything in the
 * batch was queued before the grace period starts, as RCU requires.
 */
static void run_queued_batch(void)
{
	struct ua_rcu_head *batch = cbs.head;
	unsigned long n;

	ua_lock_assert_held(&cbs.lock);
	cbs.head = NULL;
	cbs.tail = &cbs.head;
	pthread_mutex_unlock(&cbs.lock);

	ua_rcu_synchronize();
	n = run_callbacks(batch);

	pthread_mutex_lock(&cbs.lock);
	cbs.done += n;
	pthread_cond_broadcast(&cbs.progress);
}

/*
 * Deferred frees can wait: gathering callbacks for a millisecond before a
 * grace period lets one period (two membarrier rounds of IPIs, which are
 * costly in a VM and interrupt the application's threads) serve a whole
 * burst, e.g. eventfd register/unregister churn, instead of each call.
 */
static const struct timespec gather_window = { 0, 1000 * 1000 };

static void *callback_worker(void *arg)
{
	(void) arg;
	pthread_setname_np(pthread_self(), "ua-rcu-cb");
	pthread_mutex_lock(&cbs.lock);
	while (cbs.head) {
		pthread_mutex_unlock(&cbs.lock);
		nanosleep(&gather_window, NULL);
		pthread_mutex_lock(&cbs.lock);
		run_queued_batch();
	}
	cbs.working = false;
	pthread_mutex_unlock(&cbs.lock);
	return NULL;
}

/*
 * The helper is detached: it exits by itself when the queue is empty.
 * It blocks all signals so the application's handlers never run on it,
 * and is named "ua-rcu-cb" so that it can be told apart in ps and tests.
 */
static bool start_callback_worker(void)
{
	return !ua_thread_start(callback_worker, NULL);
}

void ua_rcu_call(struct ua_rcu_head *head, void (*fn)(struct ua_rcu_head *))
{
	head->fn = fn;
	head->next = NULL;

	pthread_mutex_lock(&cbs.lock);
	*cbs.tail = head;
	cbs.tail = &head->next;
	cbs.queued++;
	if (!cbs.working)
		cbs.working = start_callback_worker();
	pthread_mutex_unlock(&cbs.lock);
}

/*
 * Batches run one at a time in queueing order, so "done has reached the
 * queued count seen on entry" means every earlier callback has run. The
 * counts are compared by difference to survive wrap-around.
 */
void ua_rcu_barrier(void)
{
	unsigned long target;

	pthread_mutex_lock(&cbs.lock);
	target = cbs.queued;
	while ((long) (target - cbs.done) > 0) {
		if (!cbs.working && cbs.head) {
			cbs.working = true;
			run_queued_batch();
			cbs.working = false;
		} else {
			pthread_cond_wait(&cbs.progress, &cbs.lock);
		}
	}
	/*
	 * Callbacks queued while we ran a batch found the queue owned and
	 * started no helper: start one for them now.
	 */
	if (!cbs.working && cbs.head)
		cbs.working = start_callback_worker();
	pthread_mutex_unlock(&cbs.lock);
}

/*
 * Threads that are gone would hold these locks, and grace periods, forever:
 * only the forking thread is left, and it is not inside a section (fork()
 * is the application's call, never made from one). The membarrier
 * registration is the process's and the child inherits it.
 */
void ua_rcu_atfork_child(void)
{
	struct ua_rcu_reader *self = &ua_rcu_self;

	pthread_mutex_init(&gp_lock, NULL);
	pthread_mutex_init(&registry_lock, NULL);
	registry.next = registry.prev = &registry;
	if (self->registered) {
		self->next = self->prev = &registry;
		registry.next = registry.prev = self;
	}
	pthread_mutex_init(&cbs.lock, NULL);
	pthread_cond_init(&cbs.progress, NULL);
	cbs.head = NULL;
	cbs.tail = &cbs.head;
	cbs.done = cbs.queued;
	cbs.working = false;
}
