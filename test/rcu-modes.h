/* SPDX-License-Identifier: MIT */
#ifndef UA_TEST_RCU_MODES_H
#define UA_TEST_RCU_MODES_H

/*
 * Runs a cmocka group twice: in a forked child forced into the RCU's
 * fence fallback (what readers do where membarrier is refused), and in
 * this process in the default mode. A watchdog turns a hang into a failure.
 * Include after <cmocka.h>.
 */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include "engine/rcu.h"

#define UA_RCU_WATCHDOG_SECONDS	120

static inline int run_in_fence_mode_child(const char *name,
					  const struct CMUnitTest *tests,
					  size_t nr)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return 1;
	if (pid == 0) {
		alarm(UA_RCU_WATCHDOG_SECONDS);
		if (!ua_rcu_force_fence_mode()) {
			fprintf(stderr, "fence mode could not be forced\n");
			_exit(1);
		}
		_exit(_cmocka_run_group_tests(name, tests, nr, NULL, NULL) != 0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return 1;
	return !WIFEXITED(status) || WEXITSTATUS(status) != 0;
}

static inline int run_in_both_rcu_modes(const char *fence_name,
					const char *default_name,
					const struct CMUnitTest *tests,
					size_t nr)
{
	int child_failed;

	alarm(2 * UA_RCU_WATCHDOG_SECONDS);
	child_failed = run_in_fence_mode_child(fence_name, tests, nr);
	return _cmocka_run_group_tests(default_name, tests, nr, NULL, NULL) ||
	       child_failed;
}

#endif
