/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_FORK_H
#define UA_ENGINE_FORK_H


/* fork.c: what a fork() child starts afresh */
int ua_fork_watch(void);

#endif
