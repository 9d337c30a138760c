/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_WAIT_H
#define UA_ENGINE_WAIT_H

#include <signal.h>
#include <time.h>

struct ua_ctx;

/* wait.c */
struct ua_wait_args {
	unsigned		min_complete;
	const struct timespec	*deadline;	/* CLOCK_MONOTONIC, or NULL */
	const struct timespec	*min_deadline;	/* end of min_wait_usec, or NULL */
	const sigset_t		*sigmask;
};
int ua_cq_wait(struct ua_ctx *ctx, const struct ua_wait_args *args);
int ua_cq_wait_change(struct ua_ctx *ctx, const struct timespec *deadline);
/* IORING_SETUP_IOPOLL: held completions posted on GETEVENTS */
void ua_iopoll_reap(struct ua_ctx *ctx);
int ua_iopoll_get_events(struct ua_ctx *ctx, unsigned min_complete,
			 const struct timespec *deadline);

#endif
