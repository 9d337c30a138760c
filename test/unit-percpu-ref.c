/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the sharded reference count (src/engine/percpu_ref.c).
 *
 * As in unit-rcu.c, the group runs once in a child forced into RCU's
 * fence fallback and once in the parent; threads count errors for the main
 * thread to check; waits are flag handshakes; a watchdog ends hangs.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "rcu-modes.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/percpu_ref.h"


#define container_of(ptr, type, member) \
	((type *) ((char *) (ptr) - offsetof(type, member)))

/* A ref plus what the tests observe about it. */
struct counted {
	struct ua_percpu_ref	ref;
	atomic_int		releases;
	atomic_long		held;		/* references the test holds */
	atomic_long		held_at_release;
	atomic_bool		released;
};

static void note_release(struct ua_percpu_ref *ref)
{
	struct counted *c = container_of(ref, struct counted, ref);

	atomic_store(&c->held_at_release, atomic_load(&c->held));
	atomic_fetch_add(&c->releases, 1);
	atomic_store(&c->released, true);
}

static void counted_init(struct counted *c, unsigned nr_shards)
{
	atomic_init(&c->releases, 0);
	atomic_init(&c->held, 0);
	atomic_init(&c->held_at_release, -1);
	atomic_init(&c->released, false);
	assert_int_equal(ua_percpu_ref_init(&c->ref, note_release, nr_shards), 0);
}

/* The true count once dead: never negative. */
static long dead_count(struct counted *c)
{
	return (long) atomic_load(&c->ref.count);
}

static pthread_t start(void *(*fn)(void *), void *arg)
{
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, fn, arg), 0);
	return t;
}

static void test_init_rejects_too_many_shards(void **state)
{
	struct ua_percpu_ref ref;

	(void) state;
	assert_int_equal(ua_percpu_ref_init(&ref, note_release,
					    UA_PERCPU_REF_MAX_SHARDS + 1), -EINVAL);
	assert_int_equal(ua_percpu_ref_init(&ref, note_release, 3), 0);
	assert_int_equal(ref.shard_mask, 3);	/* rounded up to 4 */
	ua_percpu_ref_exit(&ref);
	/* Default: a power of two, at least one shard per online CPU. */
	assert_int_equal(ua_percpu_ref_init(&ref, note_release, 0), 0);
	assert_int_equal(ref.shard_mask & (ref.shard_mask + 1), 0);
	assert_true(ref.shard_mask + 1 >= sysconf(_SC_NPROCESSORS_ONLN));
	ua_percpu_ref_exit(&ref);
}

/* No reference but the initial one: kill itself releases. */
static void test_kill_releases_unused_ref(void **state)
{
	struct counted c;

	(void) state;
	counted_init(&c, 4);
	ua_percpu_ref_get(&c.ref);
	ua_percpu_ref_put(&c.ref);
	assert_false(ua_percpu_ref_is_zero(&c.ref));
	ua_percpu_ref_kill(&c.ref);
	assert_int_equal(atomic_load(&c.releases), 1);
	assert_true(ua_percpu_ref_is_zero(&c.ref));
	ua_percpu_ref_exit(&c.ref);
}

/* Held across kill: dead mode counts exactly, gets still work. */
static void test_get_after_kill_uses_atomic_count(void **state)
{
	struct counted c;

	(void) state;
	counted_init(&c, 4);
	ua_percpu_ref_get(&c.ref);
	ua_percpu_ref_get(&c.ref);
	ua_percpu_ref_kill(&c.ref);
	assert_int_equal(atomic_load(&c.releases), 0);
	assert_int_equal(dead_count(&c), 2);
	assert_false(ua_percpu_ref_tryget_live(&c.ref));

	ua_percpu_ref_get(&c.ref);
	assert_int_equal(dead_count(&c), 3);
	ua_percpu_ref_put(&c.ref);
	ua_percpu_ref_put(&c.ref);
	assert_int_equal(atomic_load(&c.releases), 0);
	ua_percpu_ref_put(&c.ref);
	assert_int_equal(atomic_load(&c.releases), 1);
	assert_int_equal(dead_count(&c), 0);
	ua_percpu_ref_exit(&c.ref);
}

/* Gets on one thread's shard, puts on another's: only the sum counts. */
#define CROSS_REFS	1000

static void *get_many(void *arg)
{
	struct counted *c = arg;

	for (int i = 0; i < CROSS_REFS; i++)
		ua_percpu_ref_get(&c->ref);
	return NULL;
}

static void *put_many(void *arg)
{
	struct counted *c = arg;

	for (int i = 0; i < CROSS_REFS; i++)
		ua_percpu_ref_put(&c->ref);
	return NULL;
}

static void test_puts_on_other_shards_balance_gets(void **state)
{
	struct counted c;

	(void) state;
	counted_init(&c, 64);
	pthread_join(start(get_many, &c), NULL);
	ua_percpu_ref_kill(&c.ref);
	assert_int_equal(dead_count(&c), CROSS_REFS);

	/* Back live, then the other thread puts half in each mode. */
	ua_percpu_ref_get(&c.ref);
	ua_percpu_ref_resurrect(&c.ref);
	ua_percpu_ref_put(&c.ref);
	pthread_join(start(put_many, &c), NULL);
	pthread_join(start(get_many, &c), NULL);
	ua_percpu_ref_kill(&c.ref);
	assert_int_equal(dead_count(&c), CROSS_REFS);
	pthread_join(start(put_many, &c), NULL);
	assert_int_equal(atomic_load(&c.releases), 1);
	ua_percpu_ref_exit(&c.ref);
}

static void test_tryget_live_fails_only_once_killed(void **state)
{
	struct counted c;

	(void) state;
	counted_init(&c, 2);
	assert_true(ua_percpu_ref_tryget_live(&c.ref));
	ua_percpu_ref_kill(&c.ref);
	assert_false(ua_percpu_ref_tryget_live(&c.ref));
	ua_percpu_ref_resurrect(&c.ref);
	assert_true(ua_percpu_ref_tryget_live(&c.ref));
	ua_percpu_ref_put(&c.ref);
	ua_percpu_ref_put(&c.ref);
	ua_percpu_ref_kill(&c.ref);
	assert_int_equal(atomic_load(&c.releases), 1);
	ua_percpu_ref_exit(&c.ref);
}

/*
 * ua_percpu_ref_get() taken apart at its window: it has seen the ref live
 * and is "preempted" before touching its shard while kill runs. kill must
 * wait for it, and then count it.
 */
struct slow_get {
	struct counted	*c;
	atomic_bool	saw_live;
	atomic_bool	may_finish;
	atomic_bool	finished;
};

static void *get_preempted_before_shard(void *arg)
{
	struct slow_get *g = arg;
	struct ua_percpu_ref *ref = &g->c->ref;

	ua_rcu_read_lock();
	if (atomic_load_explicit(&ref->mode, memory_order_relaxed) ==
	    UA_PERCPU_REF_LIVE) {
		atomic_store(&g->saw_live, true);
		while (!atomic_load(&g->may_finish))
			sched_yield();
		atomic_fetch_add_explicit(ua_percpu_ref_my_shard(ref), 1,
					  memory_order_relaxed);
	}
	atomic_store(&g->finished, true);
	ua_rcu_read_unlock();
	return NULL;
}

struct killer {
	struct counted	*c;
	struct slow_get	*g;
	atomic_bool	started;
	atomic_bool	done;
	atomic_bool	get_had_finished;
};

static void *kill_once(void *arg)
{
	struct killer *k = arg;

	atomic_store(&k->started, true);
	ua_percpu_ref_kill(&k->c->ref);
	atomic_store(&k->get_had_finished, atomic_load(&k->g->finished));
	atomic_store(&k->done, true);
	return NULL;
}

static void test_kill_waits_for_get_in_flight(void **state)
{
	struct counted c;
	struct slow_get g = { .c = &c };
	struct killer k = { .c = &c, .g = &g };
	pthread_t gt, kt;

	(void) state;
	counted_init(&c, 4);
	gt = start(get_preempted_before_shard, &g);
	while (!atomic_load(&g.saw_live))
		sched_yield();
	kt = start(kill_once, &k);
	while (!atomic_load(&k.started))
		sched_yield();
	for (int i = 0; i < 2000; i++)
		sched_yield();
	assert_false(atomic_load(&k.done));

	atomic_store(&g.may_finish, true);
	pthread_join(kt, NULL);
	pthread_join(gt, NULL);
	assert_true(atomic_load(&k.get_had_finished));
	assert_int_equal(dead_count(&c), 1);	/* the get, not lost */
	assert_int_equal(atomic_load(&c.releases), 0);
	ua_percpu_ref_put(&c.ref);
	assert_int_equal(atomic_load(&c.releases), 1);
	ua_percpu_ref_exit(&c.ref);
}

/*
 * kill split in two, with the grace period run by ua_rcu_call() for many
 * refs at once: a get that saw one of them live is still waited for and
 * counted, refs without users are released, none twice.
 */
#define NR_SPLIT	8

struct split_batch {
	struct ua_rcu_head	head;
	struct counted		*refs;
	atomic_bool		finished;
};

static void finish_all(struct ua_rcu_head *head)
{
	struct split_batch *b = container_of(head, struct split_batch, head);

	for (int i = 0; i < NR_SPLIT; i++)
		ua_percpu_ref_kill_finish(&b->refs[i].ref);
	atomic_store(&b->finished, true);
}

static void test_split_kill_shares_one_grace_period(void **state)
{
	struct counted refs[NR_SPLIT];
	struct split_batch b = { .refs = refs };
	struct slow_get g = { .c = &refs[0] };
	pthread_t gt;

	(void) state;
	for (int i = 0; i < NR_SPLIT; i++)
		counted_init(&refs[i], 2);
	ua_percpu_ref_get(&refs[1].ref);	/* a user from before */
	gt = start(get_preempted_before_shard, &g);
	while (!atomic_load(&g.saw_live))
		sched_yield();
	for (int i = 0; i < NR_SPLIT; i++)
		ua_percpu_ref_kill_begin(&refs[i].ref);
	ua_rcu_call(&b.head, finish_all);
	for (int i = 0; i < 2000; i++)
		sched_yield();
	assert_false(atomic_load(&b.finished));	/* the get holds the period */

	atomic_store(&g.may_finish, true);
	pthread_join(gt, NULL);
	ua_rcu_barrier();
	assert_true(atomic_load(&b.finished));
	assert_int_equal(dead_count(&refs[0]), 1);	/* the get, counted */
	assert_int_equal(dead_count(&refs[1]), 1);
	for (int i = 2; i < NR_SPLIT; i++)
		assert_int_equal(atomic_load(&refs[i].releases), 1);
	ua_percpu_ref_put(&refs[0].ref);
	ua_percpu_ref_put(&refs[1].ref);
	for (int i = 0; i < NR_SPLIT; i++) {
		assert_int_equal(atomic_load(&refs[i].releases), 1);
		ua_percpu_ref_exit(&refs[i].ref);
	}
}

/*
 * Many threads get and put while another kills. Each worker holds a base
 * reference throughout, takes and drops extra ones around the kill, then
 * drops its base: release must come once, after the very last put.
 */
#define NR_WORKERS		4
#define WORKER_ROUNDS		20000

struct churn {
	struct counted		*c;
	atomic_int		warmed_up;	/* workers past their first rounds */
	atomic_bool		killed;
	atomic_ulong		errors;
};

static void churn_round(struct churn *ch)
{
	struct counted *c = ch->c;

	ua_percpu_ref_get(&c->ref);
	atomic_fetch_add(&c->held, 1);
	if (atomic_load(&c->released))
		atomic_fetch_add(&ch->errors, 1);
	atomic_fetch_sub(&c->held, 1);
	ua_percpu_ref_put(&c->ref);
}

static void *churn_worker(void *arg)
{
	struct churn *ch = arg;
	struct counted *c = ch->c;

	ua_percpu_ref_get(&c->ref);	/* base, while surely live */
	atomic_fetch_add(&c->held, 1);
	for (int i = 0; i < WORKER_ROUNDS; i++) {
		churn_round(ch);
		if (i == WORKER_ROUNDS / 10)
			atomic_fetch_add(&ch->warmed_up, 1);
	}
	/* Make sure some rounds run in dead mode, whatever the timing. */
	while (!atomic_load(&ch->killed))
		sched_yield();
	for (int i = 0; i < WORKER_ROUNDS / 10; i++)
		churn_round(ch);
	atomic_fetch_sub(&c->held, 1);
	ua_percpu_ref_put(&c->ref);
	return NULL;
}

static void test_concurrent_gets_and_puts_across_kill(void **state)
{
	struct counted c;
	struct churn ch = { .c = &c };
	pthread_t workers[NR_WORKERS];

	(void) state;
	counted_init(&c, 2);	/* fewer shards than threads: shared shards */
	for (int i = 0; i < NR_WORKERS; i++)
		workers[i] = start(churn_worker, &ch);
	while (atomic_load(&ch.warmed_up) < NR_WORKERS)
		sched_yield();

	ua_percpu_ref_kill(&c.ref);
	atomic_store(&ch.killed, true);
	while (!atomic_load(&c.released)) {
		if (dead_count(&c) < 0)
			atomic_fetch_add(&ch.errors, 1);
		sched_yield();
	}
	for (int i = 0; i < NR_WORKERS; i++)
		pthread_join(workers[i], NULL);

	assert_int_equal(atomic_load(&ch.errors), 0);
	assert_int_equal(atomic_load(&c.releases), 1);
	assert_int_equal(atomic_load(&c.held_at_release), 0);
	assert_int_equal(dead_count(&c), 0);
	ua_percpu_ref_exit(&c.ref);
}

/*
 * The fixed-file pattern: lookups tryget_live while the owner repeatedly
 * kills, waits for release and reinits the same preallocated ref.
 */
#define NR_CYCLES	100
#define NR_LOOKUPS	3

struct recycle {
	struct counted		*c;
	atomic_bool		stop;
	atomic_ulong		errors;
	atomic_ulong		successes;
};

static void *tryget_worker(void *arg)
{
	struct recycle *r = arg;
	struct counted *c = r->c;

	while (!atomic_load(&r->stop)) {
		if (!ua_percpu_ref_tryget_live(&c->ref)) {
			sched_yield();	/* dead: let the owner recycle it */
			continue;
		}
		atomic_fetch_add(&c->held, 1);
		if (atomic_load(&c->released))
			atomic_fetch_add(&r->errors, 1);
		atomic_fetch_add(&r->successes, 1);
		atomic_fetch_sub(&c->held, 1);
		ua_percpu_ref_put(&c->ref);
	}
	return NULL;
}

static void test_kill_and_reinit_under_trygets(void **state)
{
	struct counted c;
	struct recycle r = { .c = &c };
	pthread_t workers[NR_LOOKUPS];
	struct ua_percpu_shard *shards;

	(void) state;
	counted_init(&c, 4);
	shards = c.ref.shards;
	for (int i = 0; i < NR_LOOKUPS; i++)
		workers[i] = start(tryget_worker, &r);

	for (int cycle = 0; cycle < NR_CYCLES; cycle++) {
		unsigned long before = atomic_load(&r.successes);

		while (atomic_load(&r.successes) == before)
			sched_yield();	/* let lookups in while live */
		ua_percpu_ref_kill(&c.ref);
		while (!atomic_load(&c.released))
			sched_yield();
		if (atomic_load(&c.held_at_release) != 0 ||
		    atomic_load(&c.releases) != 1)
			atomic_fetch_add(&r.errors, 1);
		atomic_store(&c.releases, 0);
		atomic_store(&c.released, false);
		ua_percpu_ref_reinit(&c.ref);
	}
	atomic_store(&r.stop, true);
	for (int i = 0; i < NR_LOOKUPS; i++)
		pthread_join(workers[i], NULL);

	assert_int_equal(atomic_load(&r.errors), 0);
	assert_ptr_equal(c.ref.shards, shards);	/* reinit reused them */
	ua_percpu_ref_kill(&c.ref);
	assert_int_equal(atomic_load(&c.releases), 1);
	ua_percpu_ref_exit(&c.ref);
}

/* release() may wait for a grace period: it runs outside the section. */
static void release_and_synchronize(struct ua_percpu_ref *ref)
{
	note_release(ref);
	ua_rcu_synchronize();
}

static void test_release_may_synchronize(void **state)
{
	struct counted c;

	(void) state;
	counted_init(&c, 1);
	c.ref.release = release_and_synchronize;
	ua_percpu_ref_get(&c.ref);
	ua_percpu_ref_kill(&c.ref);
	ua_percpu_ref_put(&c.ref);
	assert_int_equal(atomic_load(&c.releases), 1);
	ua_percpu_ref_exit(&c.ref);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_init_rejects_too_many_shards),
	cmocka_unit_test(test_kill_releases_unused_ref),
	cmocka_unit_test(test_get_after_kill_uses_atomic_count),
	cmocka_unit_test(test_puts_on_other_shards_balance_gets),
	cmocka_unit_test(test_tryget_live_fails_only_once_killed),
	cmocka_unit_test(test_kill_waits_for_get_in_flight),
	cmocka_unit_test(test_split_kill_shares_one_grace_period),
	cmocka_unit_test(test_concurrent_gets_and_puts_across_kill),
	cmocka_unit_test(test_kill_and_reinit_under_trygets),
	cmocka_unit_test(test_release_may_synchronize),
};

int main(void)
{
	return run_in_both_rcu_modes("percpu_ref, fence fallback", "percpu_ref, default mode",
				     tests, sizeof(tests) / sizeof(tests[0]));
}
