/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_PERSONALITY_H
#define UA_ENGINE_PERSONALITY_H

#include <stdbool.h>

struct ua_ctx;
struct ua_cred;

/* personality.c: IORING_(UN)REGISTER_PERSONALITY and sqe->personality */
int ua_personality_register(struct ua_ctx *ctx);
int ua_personality_unregister(struct ua_ctx *ctx, unsigned id);
void ua_personality_free(struct ua_ctx *ctx);
/* 0 when the calling thread has id's credentials, 1 when it has not,
 * -EINVAL when id is not registered. */
int ua_personality_differs(struct ua_ctx *ctx, unsigned id);
/* Gives the calling thread id's credentials until ua_personality_end:
 * *saved is what to go back to (NULL: nothing changed). -EINVAL: id is
 * gone; -EPERM: the thread may not take them. */
int ua_personality_begin(struct ua_ctx *ctx, unsigned id,
			 struct ua_cred **saved);
void ua_personality_end(struct ua_cred *saved);
/* The calling thread's credentials, for a request it hands to a worker:
 * *out NULL when they are the process's usual ones, else held until
 * ua_cred_drop; -ENOMEM. */
int ua_cred_of_submitter(struct ua_cred **out);
struct ua_cred *ua_cred_hold(struct ua_cred *c);
void ua_cred_drop(struct ua_cred *c);
/* As ua_personality_begin, for credentials from ua_cred_of_submitter. */
int ua_cred_begin(const struct ua_cred *c, struct ua_cred **saved);
/* A worker's new stretch of work: it reads its credentials again. */
void ua_cred_recheck(void);

#endif
