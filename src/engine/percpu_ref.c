/* SPDX-License-Identifier: MIT */
/*
 * Sharded reference count with a one-way switch to an atomic counter.
 *
 * While live, count holds BIAS + 1 (the initial reference) and the true
 * count is that plus the shard sum, minus BIAS. Kill:
 *
 *   1. mode = DEAD. Sections that begin after the grace period starts see
 *      it and use count, where BIAS keeps any put from reaching zero.
 *   2. ua_rcu_synchronize(). Each get or put that saw LIVE did so inside a
 *      read-side section that was running when the grace period began (one
 *      that began later would have seen DEAD), so it has finished, and its
 *      shard update happens before the scan that saw its section end.
 *   3. Sum the shards: nothing writes them any more, so the sum is final.
 *      Fold it into count and remove BIAS in one atomic add. count is now
 *      the true count, at least one since the initial reference is held.
 *   4. Drop the initial reference like any other dead-mode put.
 *
 * Owners that retire many refs at once split kill in two: step 1 on each
 * (ua_percpu_ref_kill_begin), one grace period for all of them, usually
 * through ua_rcu_call(), then steps 3 and 4 on each
 * (ua_percpu_ref_kill_finish).
 *
 * Every get and put is therefore counted exactly once, either in a shard
 * summed in step 3 or directly in count, and count only reaches zero when
 * the true count does; the put that gets it there calls release().
 *
 * Shards are never cleared: kill remembers the sum it folded in
 * (shard_base) and folds only the difference next time. So reinit and
 * resurrect touch no shard, and need not order a clearing store against
 * the shard updates of gets that see the ref live again.
 */

#include "engine/percpu_ref.h"

#include <assert.h>
#include <errno.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

_Thread_local unsigned ua_percpu_ref_slot;
static _Atomic unsigned next_slot;

/* Round robin spreads threads evenly over the shards. */
unsigned ua_percpu_ref_assign_slot(void)
{
	unsigned slot = atomic_fetch_add_explicit(&next_slot, 1,
						  memory_order_relaxed);

	ua_percpu_ref_slot = slot | UA_PERCPU_REF_SLOT_SET;
	return ua_percpu_ref_slot;
}

/*
 * sysconf() reads a sysfs file on every call, which cost each ring's setup
 * two file opens, more than the rest of its engine state: read it once.
 * Online CPUs only change under hotplug, and the count only sizes things.
 */
unsigned ua_nr_cpus(void)
{
	static unsigned nr;	/* atomic; 0: not read yet */
	unsigned n = __atomic_load_n(&nr, __ATOMIC_RELAXED);
	long cpus;

	if (n)
		return n;
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	n = cpus < 1 ? 1 : cpus > UINT32_MAX ? UINT32_MAX : (unsigned) cpus;
	__atomic_store_n(&nr, n, __ATOMIC_RELAXED);
	return n;
}

static unsigned default_nr_shards(void)
{
	unsigned cpus = ua_nr_cpus();

	return cpus > UA_PERCPU_REF_MAX_SHARDS ? UA_PERCPU_REF_MAX_SHARDS : cpus;
}

static unsigned round_up_pow2(unsigned n)
{
	unsigned p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

int ua_percpu_ref_init(struct ua_percpu_ref *ref, ua_percpu_release_fn release,
		       unsigned nr_shards)
{
	struct ua_percpu_shard *shards;
	unsigned n;

	if (nr_shards > UA_PERCPU_REF_MAX_SHARDS)
		return -EINVAL;
	n = round_up_pow2(nr_shards ? nr_shards : default_nr_shards());
	shards = aligned_alloc(alignof(struct ua_percpu_shard),
			       n * sizeof(*shards));
	if (!shards)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++)
		atomic_init(&shards[i].count, 0);

	ref->shards = shards;
	ref->shard_mask = n - 1;
	ref->release = release;
	ref->shard_base = 0;
	atomic_init(&ref->count, UA_PERCPU_REF_BIAS + 1);
	atomic_init(&ref->mode, UA_PERCPU_REF_LIVE);
	return 0;
}

void ua_percpu_ref_exit(struct ua_percpu_ref *ref)
{
	free(ref->shards);
	ref->shards = NULL;
}

/* Relaxed: the grace period before this orders every shard update. */
static unsigned long sum_shards(const struct ua_percpu_ref *ref)
{
	unsigned long sum = 0;

	for (unsigned i = 0; i <= ref->shard_mask; i++)
		sum += atomic_load_explicit(&ref->shards[i].count,
					    memory_order_relaxed);
	return sum;
}

void ua_percpu_ref_kill_begin(struct ua_percpu_ref *ref)
{
	assert(atomic_load_explicit(&ref->mode, memory_order_relaxed) ==
	       UA_PERCPU_REF_LIVE);
	/*
	 * Relaxed: the grace period that must follow begins with a full
	 * barrier on every thread (membarrier) or a fence paired with the
	 * readers' fences, which orders this store before the reader scans.
	 * When another thread runs that grace period (ua_rcu_call), the
	 * queueing hands this store over to it first.
	 */
	atomic_store_explicit(&ref->mode, UA_PERCPU_REF_DEAD,
			      memory_order_relaxed);
}

void ua_percpu_ref_kill_finish(struct ua_percpu_ref *ref)
{
	unsigned long sum = sum_shards(ref);

	/*
	 * Release: the sections summed here happen before this add, and
	 * through it before the acq_rel put that reaches zero.
	 */
	atomic_fetch_add_explicit(&ref->count,
				  sum - ref->shard_base - UA_PERCPU_REF_BIAS,
				  memory_order_release);
	ref->shard_base = sum;

	if (ua_percpu_ref_put_atomic(ref))
		ref->release(ref);
}

void ua_percpu_ref_kill(struct ua_percpu_ref *ref)
{
	ua_percpu_ref_kill_begin(ref);
	ua_rcu_synchronize();
	ua_percpu_ref_kill_finish(ref);
}

/*
 * count first, then mode with release: whoever sees LIVE through an
 * acquire load also sees the bias in place.
 */
void ua_percpu_ref_reinit(struct ua_percpu_ref *ref)
{
	assert(ua_percpu_ref_is_zero(ref));
	atomic_store_explicit(&ref->count, UA_PERCPU_REF_BIAS + 1,
			      memory_order_relaxed);
	atomic_store_explicit(&ref->mode, UA_PERCPU_REF_LIVE,
			      memory_order_release);
}

/*
 * The caller's reference keeps count above zero until the bias is back,
 * and dead-mode puts still in flight then land on the biased count.
 */
void ua_percpu_ref_resurrect(struct ua_percpu_ref *ref)
{
	assert(atomic_load_explicit(&ref->mode, memory_order_relaxed) ==
	       UA_PERCPU_REF_DEAD);
	atomic_fetch_add_explicit(&ref->count, UA_PERCPU_REF_BIAS + 1,
				  memory_order_relaxed);
	atomic_store_explicit(&ref->mode, UA_PERCPU_REF_LIVE,
			      memory_order_release);
}

bool ua_percpu_ref_is_zero(struct ua_percpu_ref *ref)
{
	return atomic_load_explicit(&ref->mode, memory_order_acquire) ==
		       UA_PERCPU_REF_DEAD &&
	       atomic_load_explicit(&ref->count, memory_order_acquire) == 0;
}
