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
/* An absolute deadline on the ring's registered clock, made MONOTONIC. */
void ua_wait_deadline_to_monotonic(const struct ua_ctx *ctx,
				   struct timespec *deadline);
/* IORING_REGISTER_CLOCK */
int ua_wait_set_clock(struct ua_ctx *ctx, const void *arg);
int ua_cq_wait_change(struct ua_ctx *ctx, const struct timespec *deadline);
/* IORING_SETUP_IOPOLL: held completions posted on GETEVENTS */
void ua_iopoll_reap(struct ua_ctx *ctx);
int ua_iopoll_get_events(struct ua_ctx *ctx, unsigned min_complete,
			 const struct timespec *deadline);

#endif
