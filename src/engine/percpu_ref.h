/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_PERCPU_REF_H
#define UA_ENGINE_PERCPU_REF_H

/*
 * A reference count that is cheap to take and drop while the object is in
 * normal use, and exact once it is being torn down; after the kernel's
 * percpu_ref.
 *
 * Live mode: gets and puts add +1 / -1 to one of several cache-line sized
 * shards, picked by a thread-local slot, inside an RCU read-side section.
 * A thread's shard is uncontended unless more threads than shards share
 * it, and nothing else is written, so there is no shared cache line to
 * bounce. Only the sum over the shards means anything: a put may land on
 * another shard than its get.
 *
 * ua_percpu_ref_kill() switches to dead (atomic) mode: from then on gets
 * and puts use one atomic counter, and the put that brings it to zero calls
 * release(), exactly once, on whichever thread made it. See percpu_ref.c
 * for why no get or put is lost across the switch.
 *
 * The shards are allocated by ua_percpu_ref_init() and nowhere else: a
 * released ref is brought back with ua_percpu_ref_reinit(), and a dead one
 * still holding references with ua_percpu_ref_resurrect(), both without
 * allocating, so an owner can preallocate refs and recycle them.
 *
 * Mode changes (kill, reinit, resurrect) and exit must be serialised by the
 * caller; gets and puts may run concurrently with them. kill waits for an
 * RCU grace period, so it must not run inside a read-side section. Taking
 * a get requires that the count cannot reach zero meanwhile (the caller
 * holds a reference, or the ref is live and cannot be killed and released
 * under it); a lookup that may race with kill uses ua_percpu_ref_tryget_live()
 * inside its own read-side section.
 */

#include <stdatomic.h>
#include <stdbool.h>
#include "engine/rcu.h"

#define UA_PERCPU_REF_MAX_SHARDS	1024u

/*
 * Added to the atomic counter while the ref is live, so that a put which
 * reaches it during the switch (before the shards are folded in) can never
 * make it zero. Counts are unsigned and wrap: only the sum is meaningful.
 */
#define UA_PERCPU_REF_BIAS	(1UL << (sizeof(unsigned long) * 8 - 1))

/* Marks a thread's slot as assigned; above any shard mask. */
#define UA_PERCPU_REF_SLOT_SET	(1u << 31)

enum ua_percpu_ref_mode {
	UA_PERCPU_REF_LIVE,	/* shards */
	UA_PERCPU_REF_DEAD,	/* atomic counter; killed */
};

struct ua_percpu_shard {
	_Alignas(64) _Atomic unsigned long	count;
};

struct ua_percpu_ref;
typedef void (*ua_percpu_release_fn)(struct ua_percpu_ref *ref);

struct ua_percpu_ref {
	/* Read by every get and put: */
	_Atomic unsigned		mode;		/* enum ua_percpu_ref_mode */
	unsigned			shard_mask;	/* nr_shards - 1 */
	struct ua_percpu_shard		*shards;
	ua_percpu_release_fn		release;
	/* Written by gets and puts once dead: */
	_Atomic unsigned long		count;
	/* Shard sum already folded into count; used by kill only. */
	unsigned long			shard_base;
};

extern _Thread_local unsigned ua_percpu_ref_slot;
unsigned ua_percpu_ref_assign_slot(void);

/*
 * nr_shards: rounded up to a power of two; 0 means one per online CPU.
 * Returns 0, -EINVAL (nr_shards above UA_PERCPU_REF_MAX_SHARDS) or -ENOMEM.
 * The ref starts live, holding the initial reference.
 */
int ua_percpu_ref_init(struct ua_percpu_ref *ref, ua_percpu_release_fn release,
		       unsigned nr_shards);

/* Online CPUs, as sysconf() says, read once per process. */
unsigned ua_nr_cpus(void);
/* Frees the shards; the ref must no longer be in use. */
void ua_percpu_ref_exit(struct ua_percpu_ref *ref);
/* Live -> dead, then drops the initial reference. Waits a grace period. */
void ua_percpu_ref_kill(struct ua_percpu_ref *ref);
/*
 * kill in two halves, so that one grace period serves many refs: begin
 * switches to dead mode; after a full grace period that started after
 * begin returned (ua_rcu_synchronize(), or from a ua_rcu_call() callback
 * queued after it), finish folds the shards in and drops the initial
 * reference. Between the two, gets and puts work (in dead mode) and the
 * ref cannot be released. finish may run on another thread than begin.
 */
void ua_percpu_ref_kill_begin(struct ua_percpu_ref *ref);
void ua_percpu_ref_kill_finish(struct ua_percpu_ref *ref);
/* Released (dead, count zero) -> live with the initial reference again. */
void ua_percpu_ref_reinit(struct ua_percpu_ref *ref);
/* Dead, caller holding a reference -> live with the initial reference again. */
void ua_percpu_ref_resurrect(struct ua_percpu_ref *ref);
/* Dead and every reference dropped (release has run or is running). */
bool ua_percpu_ref_is_zero(struct ua_percpu_ref *ref);

static inline _Atomic unsigned long *
ua_percpu_ref_my_shard(struct ua_percpu_ref *ref)
{
	unsigned slot = ua_percpu_ref_slot;

	if (__builtin_expect(slot == 0, 0))
		slot = ua_percpu_ref_assign_slot();
	return &ref->shards[slot & ref->shard_mask].count;
}

/*
 * Dead-mode put. acq_rel: every put releases what its holder did to the
 * object, and the one that reaches zero acquires all of it before release()
 * runs (a fence would do on the last one only, but TSan cannot see fences).
 */
static inline bool ua_percpu_ref_put_atomic(struct ua_percpu_ref *ref)
{
	return atomic_fetch_sub_explicit(&ref->count, 1,
					 memory_order_acq_rel) == 1;
}

/*
 * The shard updates can be relaxed: kill reads the shards only after a
 * grace period, which is ordered after each section's end by the release
 * store in ua_rcu_read_unlock().
 */
static inline void ua_percpu_ref_get(struct ua_percpu_ref *ref)
{
	ua_rcu_read_lock();
	if (atomic_load_explicit(&ref->mode, memory_order_relaxed) ==
	    UA_PERCPU_REF_LIVE)
		atomic_fetch_add_explicit(ua_percpu_ref_my_shard(ref), 1,
					  memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&ref->count, 1, memory_order_relaxed);
	ua_rcu_read_unlock();
}

/*
 * Takes a reference only if the ref has not been killed. Acquire on mode
 * pairs with the release in reinit and resurrect: a caller that learns of
 * the ref only through this call still sees its counter set up.
 */
static inline bool ua_percpu_ref_tryget_live(struct ua_percpu_ref *ref)
{
	bool live;

	ua_rcu_read_lock();
	live = atomic_load_explicit(&ref->mode, memory_order_acquire) ==
	       UA_PERCPU_REF_LIVE;
	if (live)
		atomic_fetch_add_explicit(ua_percpu_ref_my_shard(ref), 1,
					  memory_order_relaxed);
	ua_rcu_read_unlock();
	return live;
}

/* release() runs outside the read-side section, so it may free or wait. */
static inline void ua_percpu_ref_put(struct ua_percpu_ref *ref)
{
	bool last = false;

	ua_rcu_read_lock();
	if (atomic_load_explicit(&ref->mode, memory_order_relaxed) ==
	    UA_PERCPU_REF_LIVE)
		atomic_fetch_sub_explicit(ua_percpu_ref_my_shard(ref), 1,
					  memory_order_relaxed);
	else
		last = ua_percpu_ref_put_atomic(ref);
	ua_rcu_read_unlock();
	if (last)
		ref->release(ref);
}

#endif
