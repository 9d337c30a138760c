/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_LOCK_H
#define UA_ENGINE_LOCK_H

/*
 * Held-lock assertions, as the kernel's lockdep_assert_held(): a function
 * that must run with a lock held (ring.h lists every lock) says so with
 * ua_lock_assert_held(&lock) at its top. Debug builds (UA_DEBUG_LOCKS, on
 * in the sanitizer builds) abort when the calling thread does not hold
 * it; other builds compile it to nothing, not even the argument.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* One turn of a spin-wait: tells the CPU (and a hypervisor) we spin. */
static inline void ua_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/*
 * Whether the calling thread holds m. glibc records the owner's thread id
 * in every mutex it locks (lock elision, off by default, would not), so
 * the locking calls stay plain pthread_mutex_lock(). Elsewhere only that
 * some thread holds it is known.
 */
static inline bool ua_lock_held(const pthread_mutex_t *m)
{
#ifdef __GLIBC__
	return __atomic_load_n(&m->__data.__owner, __ATOMIC_RELAXED) == gettid();
#else
	pthread_mutex_t *mm = (pthread_mutex_t *) m;

	if (pthread_mutex_trylock(mm))
		return true;
	pthread_mutex_unlock(mm);
	return false;
#endif
}

#ifdef UA_DEBUG_LOCKS
static inline void ua_lock_check(const pthread_mutex_t *m, const char *what,
				 const char *func)
{
	if (ua_lock_held(m))
		return;
	fprintf(stderr, "uring-alike: %s() runs without %s held\n", func, what);
	abort();
}
#define ua_lock_assert_held(m)	ua_lock_check((m), #m, __func__)
#else
#define ua_lock_assert_held(m)	((void) sizeof(m))
#endif

#endif
