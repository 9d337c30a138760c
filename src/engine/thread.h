/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_THREAD_H
#define UA_ENGINE_THREAD_H

#include <pthread.h>

/*
 * The engine's service threads (poller, timer, RCU callbacks, the AIO
 * reaper, futex watchers, teardown) belong to the process and are never
 * joined; they must take none of the application's signals, which go to
 * its own threads as they would without the engine.
 */
int ua_thread_start(void *(*fn)(void *), void *arg);
/* A joinable one (SQPOLL's), with attr, signals blocked as well. */
int ua_thread_create(pthread_t *thread, const pthread_attr_t *attr,
		     void *(*fn)(void *), void *arg);

#endif
