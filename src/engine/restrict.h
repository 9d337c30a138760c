/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_RESTRICT_H
#define UA_ENGINE_RESTRICT_H

/*
 * Restrictions (IORING_REGISTER_RESTRICTIONS): what a ring set up with
 * IORING_SETUP_R_DISABLED may be used for once enabled, as the kernel's.
 * Registered while the ring is disabled (register.c), in force from
 * io_uring_enable_rings() on: then never written again, so the submission
 * path reads them without a lock.
 */
#include <stdbool.h>
#include "liburing/io_uring.h"

#define UA_BITMAP_WORDS(n)	(((n) + 63) / 64)

struct ua_restrictions {
	__u64	register_op[UA_BITMAP_WORDS(IORING_REGISTER_LAST)];
	__u64	sqe_op[UA_BITMAP_WORDS(IORING_OP_LAST)];
	__u8	sqe_flags_allowed;
	__u8	sqe_flags_required;
	bool	registered;
};

static inline bool ua_bit_test(const __u64 *map, unsigned bit)
{
	return (map[bit / 64] >> (bit % 64)) & 1;
}

/* An SQE of a valid opcode and valid flags on a restricted ring. */
static inline bool ua_restrictions_allow_sqe(const struct ua_restrictions *r,
					     unsigned opcode, unsigned flags)
{
	if (!ua_bit_test(r->sqe_op, opcode))
		return false;
	if ((flags & r->sqe_flags_required) != r->sqe_flags_required)
		return false;
	return !(flags & ~(r->sqe_flags_allowed | r->sqe_flags_required));
}

#endif
