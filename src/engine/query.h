/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_QUERY_H
#define UA_ENGINE_QUERY_H

#include <linux/types.h>

/* What IO_URING_QUERY_OPCODES reports: the caller's own flag sets. */
struct ua_query_answers {
	__u64	features, setup_flags, enter_flags, sqe_flags;
};

/* query.c: IORING_REGISTER_QUERY, a chain of struct io_uring_query_hdr */
int ua_query(const void *arg, unsigned nr_args,
	     const struct ua_query_answers *answers);

#endif
