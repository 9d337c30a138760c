/* SPDX-License-Identifier: MIT */
#ifndef LIBURING_BARRIER_H
#define LIBURING_BARRIER_H

/*
 * The ring memory-ordering contract. Every load or store of a ring head or
 * tail, on either side, goes through the helpers below; nothing else in the
 * project touches those words directly.
 *
 * Each ring has one producer side and one consumer side. The producer fills
 * entries and then publishes them by moving the tail with a store-release;
 * the consumer reads the tail with a load-acquire, so every entry below the
 * tail it observes is fully written. The consumer hands slots back by moving
 * the head with a store-release once it has finished reading them; the
 * producer reads the head with a load-acquire before it reuses those slots.
 *
 *   Submission ring (application produces, engine consumes)
 *     application: write the SQE and the array slot, then
 *                  io_uring_smp_store_release(sq.ktail)
 *     engine:      io_uring_smp_load_acquire(sq.ktail); copy each SQE once
 *                  (io_uring_entry_copy_once) and never read it again;
 *                  io_uring_smp_store_release(sq.khead) after the copies,
 *                  because once the head moves the application may
 *                  overwrite the slot (the 2019 io_commit_sqring fix).
 *   Completion ring (engine produces, application consumes)
 *     engine:      io_uring_smp_load_acquire(cq.khead) before reusing a
 *                  slot; write the CQEs; io_uring_smp_store_release(cq.ktail)
 *     application: io_uring_smp_load_acquire(cq.ktail); read the CQEs;
 *                  io_uring_smp_store_release(cq.khead) when done with them.
 *
 *   Sleeping and waking (the SQPOLL NEED_WAKEUP handshake, and any waiter
 *   that publishes "I am asleep" before re-checking a tail) needs a full
 *   fence, not acquire/release: the sleeper stores its flag, io_uring_smp_mb(),
 *   then re-reads the tail; the waker stores the tail, io_uring_smp_mb(), then
 *   reads the flag. Either the sleeper sees the new tail or the waker sees
 *   the flag; acquire/release alone allows both to miss (store-load reorder).
 *
 * A side only ever writes the word it owns (the producer its tail, the
 * consumer its head), so plain reads of one's own word are allowed with
 * IO_URING_READ_ONCE; the other side's word is always read with acquire.
 */

#include <string.h>

#define IO_URING_WRITE_ONCE(var, val) \
	__atomic_store_n(&(var), (val), __ATOMIC_RELAXED)
#define IO_URING_READ_ONCE(var) \
	__atomic_load_n(&(var), __ATOMIC_RELAXED)

#define io_uring_smp_store_release(p, v) \
	__atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define io_uring_smp_load_acquire(p) \
	__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define io_uring_smp_mb() \
	__atomic_thread_fence(__ATOMIC_SEQ_CST)

/*
 * Copy a shared ring entry exactly once with word-sized relaxed loads, so the
 * compiler can neither tear the copy nor re-read the shared slot later in
 * place of the private copy. `words` is the entry size in 64-bit words.
 */
static inline void io_uring_entry_copy_once(void *dst, const void *src,
					    unsigned words)
{
	unsigned long long *d = (unsigned long long *)dst;
	const unsigned long long *s = (const unsigned long long *)src;
	unsigned i;

	for (i = 0; i < words; i++)
		d[i] = __atomic_load_n(&s[i], __ATOMIC_RELAXED);
}

#endif /* LIBURING_BARRIER_H */
