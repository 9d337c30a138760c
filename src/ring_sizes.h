/* SPDX-License-Identifier: MIT */
/*
 * The kernel's rules for a ring's sizes, with their errors, written once
 * for both halves: io_uring_setup() applies them (engine/entry.c), and the
 * user side computes from them the memory a ring will take before it is
 * set up (setup.c), as liburing does.
 */
#ifndef UA_RING_SIZES_H
#define UA_RING_SIZES_H

#include <errno.h>
#include <stdbool.h>
#include "liburing/io_uring.h"

#define UA_MAX_SQ_ENTRIES	32768u
#define UA_MAX_CQ_ENTRIES	(2 * UA_MAX_SQ_ENTRIES)

static inline unsigned ua_round_pow2(unsigned n)
{
	unsigned r = 1;

	while (r < n)
		r <<= 1;
	return r;
}

/* The SQ and CQ sizes io_uring_setup() gives entries and p, or -EINVAL. */
static inline int ua_ring_sizes(unsigned entries,
				const struct io_uring_params *p,
				unsigned *sq, unsigned *cq)
{
	bool clamp = p->flags & IORING_SETUP_CLAMP;

	if (!entries)
		return -EINVAL;
	if (entries > UA_MAX_SQ_ENTRIES) {
		if (!clamp)
			return -EINVAL;
		entries = UA_MAX_SQ_ENTRIES;
	}
	*sq = ua_round_pow2(entries);
	if (!(p->flags & IORING_SETUP_CQSIZE)) {
		*cq = 2 * *sq;
		return 0;
	}
	if (!p->cq_entries)
		return -EINVAL;
	*cq = p->cq_entries;
	if (*cq > UA_MAX_CQ_ENTRIES) {
		if (!clamp)
			return -EINVAL;
		*cq = UA_MAX_CQ_ENTRIES;
	}
	*cq = ua_round_pow2(*cq);
	return *cq < *sq ? -EINVAL : 0;
}

/* The kernel sizes a CQE_MIXED ring for at least one 32-byte CQE. */
static inline int ua_ring_check_mixed_cq(const struct io_uring_params *p,
					 unsigned cq)
{
	if ((p->flags & IORING_SETUP_CQE_MIXED) && cq < 2)
		return -EOVERFLOW;
	return 0;
}

#endif
