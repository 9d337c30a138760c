/* SPDX-License-Identifier: MIT */
#include "engine/thread.h"

#include <pthread.h>
#include <signal.h>

/*
 * pthread_create() with every signal blocked in the new thread: a thread
 * inherits its creator's mask, so the mask is set around the creation and
 * restored at once. 0, or the -errno of pthread_create().
 */
int ua_thread_create(pthread_t *thread, const pthread_attr_t *attr,
		     void *(*fn)(void *), void *arg)
{
	sigset_t all, saved;
	int ret;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	ret = pthread_create(thread, attr, fn, arg);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	return -ret;
}

/* The same, detached. */
int ua_thread_start(void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	pthread_t thread;
	int ret;

	ret = pthread_attr_init(&attr);
	if (ret)
		return -ret;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	ret = ua_thread_create(&thread, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return ret;
}
