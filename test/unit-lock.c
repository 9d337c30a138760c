/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the held-lock check (src/engine/lock.h) behind the debug
 * builds' ua_lock_assert_held(): a mutex is held only by the thread that
 * locked it, not before, not after its unlock, not by another thread, and
 * again after a condition wait returns.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <time.h>
#include "engine/lock.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

static void test_held_by_the_locking_thread_only(void **state)
{
	(void) state;
	assert_false(ua_lock_held(&m));
	pthread_mutex_lock(&m);
	assert_true(ua_lock_held(&m));
	pthread_mutex_unlock(&m);
	assert_false(ua_lock_held(&m));
}

static void *check_from_other_thread(void *arg)
{
	return (void *) (uintptr_t) ua_lock_held(arg);
}

static void test_not_held_by_another_thread(void **state)
{
	pthread_t t;
	void *held;

	(void) state;
	pthread_mutex_lock(&m);
	assert_int_equal(pthread_create(&t, NULL, check_from_other_thread, &m), 0);
	assert_int_equal(pthread_join(t, &held), 0);
	pthread_mutex_unlock(&m);
	assert_false((uintptr_t) held);
}

static void test_held_again_after_a_condition_wait(void **state)
{
	pthread_cond_t c = PTHREAD_COND_INITIALIZER;
	struct timespec now;

	(void) state;
	clock_gettime(CLOCK_REALTIME, &now);
	pthread_mutex_lock(&m);
	pthread_cond_timedwait(&c, &m, &now);	/* already past: returns */
	assert_true(ua_lock_held(&m));
	pthread_mutex_unlock(&m);
	pthread_cond_destroy(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_held_by_the_locking_thread_only),
		cmocka_unit_test(test_not_held_by_another_thread),
		cmocka_unit_test(test_held_again_after_a_condition_wait),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
