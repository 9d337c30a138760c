/* SPDX-License-Identifier: MIT */
#ifndef UA_RING_H
#define UA_RING_H

/* The user side's own state of a ring, kept in struct io_uring's int_flags. */
#include "liburing.h"

/* The two that are enter flags are passed on every io_uring_enter(). */
enum {
	/* enter_ring_fd is an index of the registered rings */
	UA_INT_FLAG_REG_RING	= IORING_ENTER_REGISTERED_RING,
	UA_INT_FLAG_NO_IOWAIT	= IORING_ENTER_NO_IOWAIT,
	UA_INT_FLAG_REG_REG_RING = 1,	/* register through the index too */
	UA_INT_FLAG_APP_MEM	= 2,	/* NO_MMAP rings in the caller's memory */
	UA_INT_FLAG_CQ_ENTER	= 4,	/* completions need an enter (IOPOLL) */
	UA_INT_FLAG_ENGINE_MAPS	= 8,	/* the rings are the engine's maps */
};

#define UA_INT_ENTER_FLAGS	(UA_INT_FLAG_REG_RING | UA_INT_FLAG_NO_IOWAIT)

/* The io_uring_enter() flags every call on this ring carries. */
static inline unsigned ua_ring_enter_flags(const struct io_uring *ring)
{
	return ring->int_flags & UA_INT_ENTER_FLAGS;
}

/* io_uring_register() on the ring, through its registered index when the
 * ring is registered (IORING_REGISTER_USE_REGISTERED_RING). */
int ua_ring_register(struct io_uring *ring, unsigned opcode, const void *arg,
		     unsigned nr_args);

#endif
