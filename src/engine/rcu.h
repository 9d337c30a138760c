/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_RCU_H
#define UA_ENGINE_RCU_H

/*
 * A small userspace RCU (read-copy-update).
 *
 * Readers bracket their use of shared objects with ua_rcu_read_lock() and
 * ua_rcu_read_unlock(). The read side is a few plain loads and stores to a
 * thread-local word: no atomic read-modify-write, no lock, no syscall.
 * Sections nest. Any thread may read; it registers itself on its first
 * section and is unregistered automatically when it exits.
 *
 * A writer unpublishes an object (a release store that replaces the pointer
 * readers load with an acquire load), then either waits for a grace period
 * with ua_rcu_synchronize() and frees it, or hands it to ua_rcu_call(),
 * which frees it later without blocking. ua_rcu_barrier() waits until every
 * callback queued so far has run.
 *
 * Rules: never call ua_rcu_synchronize() or ua_rcu_barrier() from inside a
 * read-side section (it would wait for itself), and never call
 * ua_rcu_barrier() from a callback. Read-side sections must not block for
 * long: every grace period waits for them.
 *
 * Grace periods follow the "two-phase flip" scheme: a global word holds a
 * phase bit; a reader entering its outermost section copies that word into
 * its own word (phase + nesting count of one). A grace period flips the
 * phase and waits until no reader is still inside a section begun in the
 * old phase, and does so twice, so that a reader whose copy of the phase
 * is stale is caught by one of the two waits (see rcu.c).
 *
 * The store of a reader's word must be ordered before the loads of its
 * section (store-to-load ordering, which CPUs do not give for free). The
 * writer supplies it with membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED),
 * which executes a full barrier on every running thread of the process, so
 * readers only need a compiler barrier. When the kernel refuses membarrier
 * (old kernels, seccomp, gVisor), readers issue a full fence instead; the
 * choice is made once, at first use.
 */

#include <stdatomic.h>
#include <stdbool.h>

/* Embed in an object to free it with ua_rcu_call(). */
struct ua_rcu_head {
	struct ua_rcu_head	*next;
	void			(*fn)(struct ua_rcu_head *head);
};

/*
 * A reader's word: the nesting depth in the low half, the phase of its
 * outermost section in the bit above. Zero nesting means "not reading",
 * whatever the phase bit says.
 */
#define UA_RCU_NEST_ONE		1UL
#define UA_RCU_PHASE		(1UL << (sizeof(unsigned long) * 4))
#define UA_RCU_NEST_MASK	(UA_RCU_PHASE - 1)

/* One per thread, linked into the registry the writer scans. */
struct ua_rcu_reader {
	_Atomic unsigned long	ctr;
	struct ua_rcu_reader	*prev, *next;	/* under the registry lock */
	bool			registered;	/* owner thread only */
};

/*
 * What every outermost read_lock loads, kept on a cache line of its own:
 * ctr is written only twice per grace period, fence_mode only at init.
 */
struct ua_rcu_gp {
	_Alignas(64) _Atomic unsigned long	ctr;	/* phase | NEST_ONE */
	bool					fence_mode;
};

/*
 * Initial-exec: a read-side section costs a few instructions only if the
 * reader's word is found at a fixed offset from the thread pointer; the
 * default model for a shared library calls __tls_get_addr() on each
 * access, which doubled the cost of a ring lookup. The word is small
 * enough for the static TLS that glibc keeps for libraries loaded later.
 */
#define UA_TLS_IE	__attribute__((tls_model("initial-exec")))

extern struct ua_rcu_gp ua_rcu_gp;
extern _Thread_local struct ua_rcu_reader ua_rcu_self UA_TLS_IE;

/* Slow path of the first read_lock of a thread. */
void ua_rcu_register_thread(void);

/*
 * Orders the reader's store of its word before the loads of its section.
 * fence_mode is written once, before any thread registers (registration
 * goes through the same pthread_once), so a plain read is race-free.
 * TSan does not model fences; it need not: they only order a store before
 * later loads, and every happens-before edge it must see comes from the
 * release/acquire pairs on the readers' words.
 */
static inline void ua_rcu_reader_fence(void)
{
	if (ua_rcu_gp.fence_mode)
		atomic_thread_fence(memory_order_seq_cst);
	else
		atomic_signal_fence(memory_order_seq_cst);
}

static inline void ua_rcu_read_lock(void)
{
	struct ua_rcu_reader *self = &ua_rcu_self;
	unsigned long ctr = atomic_load_explicit(&self->ctr,
						 memory_order_relaxed);

	if (ctr & UA_RCU_NEST_MASK) {
		/* Nested: the outer section already made us visible. */
		atomic_store_explicit(&self->ctr, ctr + UA_RCU_NEST_ONE,
				      memory_order_relaxed);
		return;
	}
	if (__builtin_expect(!self->registered, 0))
		ua_rcu_register_thread();
	atomic_store_explicit(&self->ctr,
			      atomic_load_explicit(&ua_rcu_gp.ctr,
						   memory_order_relaxed),
			      memory_order_relaxed);
	ua_rcu_reader_fence();
}

static inline void ua_rcu_read_unlock(void)
{
	struct ua_rcu_reader *self = &ua_rcu_self;
	unsigned long ctr = atomic_load_explicit(&self->ctr,
						 memory_order_relaxed);

	/*
	 * Release: every access of the section happens before a writer's
	 * acquire load that sees this store, hence before it frees anything.
	 * On x86 this is a plain store; elsewhere a store-release, no fence.
	 */
	atomic_store_explicit(&self->ctr, ctr - UA_RCU_NEST_ONE,
			      memory_order_release);
}

/* Waits until every section that was running when called has ended. */
void ua_rcu_synchronize(void);

/*
 * Runs fn(head) after a grace period, on a helper thread, without blocking
 * the caller. Callbacks run one at a time, in queueing order.
 */
void ua_rcu_call(struct ua_rcu_head *head, void (*fn)(struct ua_rcu_head *));

/* Waits until every callback queued before the call has run. */
void ua_rcu_barrier(void);

/*
 * fork() child: starts afresh with the forking thread as the only reader
 * and no callback queued. Callbacks the parent had queued are dropped: they
 * free the parent's objects, whose copies the child never frees either.
 */
void ua_rcu_atfork_child(void);

/*
 * Test hook: behave as if the kernel had refused membarrier (readers fence,
 * writers do not call membarrier). Takes effect only if called before any
 * other ua_rcu function in the process; returns whether fence mode is on.
 */
bool ua_rcu_force_fence_mode(void);

#endif
