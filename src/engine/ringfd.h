/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_RINGFD_H
#define UA_ENGINE_RINGFD_H

/*
 * Registered ring descriptors (IORING_REGISTER_RING_FDS): each thread has
 * its own table of up to UA_RINGFD_REG_MAX rings, as each kernel task has,
 * and names a ring in it by index with IORING_ENTER_REGISTERED_RING or
 * IORING_REGISTER_USE_REGISTERED_RING. An entry holds a counted reference
 * (ring.c), so the ring outlives its descriptor as the kernel's file does.
 */
#include <errno.h>
#include "engine/ring.h"
#include "engine/rcu.h"

#define UA_RINGFD_REG_MAX	16	/* the kernel's IO_RINGFD_REG_MAX */

struct ua_ringfd_table {
	struct ua_ctx	*rings[UA_RINGFD_REG_MAX];
};

/* The calling thread's table; NULL until it used io_uring's registration
 * or set a ring up, as the kernel's task context is created then. */
extern _Thread_local struct ua_ringfd_table *ua_ringfd_current UA_TLS_IE;

/* Gives the calling thread a table; -ENOMEM if it cannot. */
int ua_ringfd_task_init(void);
int ua_ringfd_add(int fd);
int ua_ringfd_register(const void *arg, unsigned nr_args);
int ua_ringfd_unregister(const void *arg, unsigned nr_args);

/*
 * The ring at index idx of the calling thread's table, held by the table
 * for as long as the thread does not unregister it; NULL with the kernel's
 * error: -EINVAL for no table or an index out of range, -EBADF for an
 * empty entry.
 */
static inline struct ua_ctx *ua_ringfd_lookup(unsigned idx, int *err)
{
	struct ua_ringfd_table *t = ua_ringfd_current;
	struct ua_ctx *ctx;

	if (!t || idx >= UA_RINGFD_REG_MAX) {
		*err = -EINVAL;
		return NULL;
	}
	ctx = t->rings[idx];
	if (!ctx)
		*err = -EBADF;
	return ctx;
}

#endif
