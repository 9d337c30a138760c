/* SPDX-License-Identifier: MIT */
/*
 * fork(): the child of a process with rings.
 *
 * The child has one thread, the one that called fork(), and a copy of the
 * engine's memory in whatever state the parent's other threads left it:
 * locks they held, conditions they waited on, RCU readers and callbacks
 * they owned, the timer's heap, AIO contexts (which the kernel does not
 * copy at all). The rings themselves are shared with the parent, not
 * copied. So the child starts the process-wide state afresh, and treats
 * every ring it inherited as the parent's: io_uring_enter() and
 * io_uring_register() on it fail with -EEXIST, as they do on the kernel
 * for a task that is not a SINGLE_ISSUER ring's submitter, and releasing it
 * only unmaps the child's mapping, writing nothing into the ring (ring.c,
 * entry.c). Rings the child makes are its own and work as usual.
 */
#include <pthread.h>
#include "engine/aio.h"
#include "engine/fork.h"
#include "engine/futex.h"
#include "engine/ring.h"
#include "engine/timer.h"

static void atfork_child(void)
{
	ua_ring_table_atfork_child();
	ua_timer_atfork_child();
	ua_poller_atfork_child();
	ua_iowq_atfork_child();
	ua_futex_atfork_child();
	ua_rcu_atfork_child();
	ua_aio_forget_contexts();
}

static int watch_result;

static void watch(void)
{
	watch_result = -pthread_atfork(NULL, NULL, atfork_child);
}

/* Called before the process's first ring exists, so the handler is in
 * place before any state it resets does. */
int ua_fork_watch(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, watch);
	return watch_result;
}
