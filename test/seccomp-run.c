/* SPDX-License-Identifier: MIT */
/*
 * seccomp-run --profile NAME -- COMMAND [ARGS...]
 *
 * Runs COMMAND under a seccomp filter that makes some system calls fail the
 * way they fail where uring-alike is meant to run: in an unprivileged
 * container, on an older kernel, in a stricter sandbox. The filter is a
 * classic BPF program of our own (seccomp-filter.h). It is inherited
 * across fork and exec, so every thread and child of COMMAND runs under it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "seccomp-filter.h"

/* Numbers from 424 on are the same on every architecture; older headers
 * may lack the newest. */
#ifndef SYS_io_uring_setup
#define SYS_io_uring_setup	425
#define SYS_io_uring_enter	426
#define SYS_io_uring_register	427
#endif
#ifndef SYS_clone3
#define SYS_clone3		435
#endif
#ifndef SYS_close_range
#define SYS_close_range		436
#endif
#ifndef SYS_openat2
#define SYS_openat2		437
#endif
#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2	441
#endif
#ifndef SYS_futex_waitv
#define SYS_futex_waitv		449
#endif

struct profile {
	const char		*name;
	const char		*what;
	const struct denial	*deny;
};

#define END	DENIAL_END

/* Docker's default profile (moby 25 and later) for a container without
 * CAP_SYS_PTRACE or CAP_SYS_ADMIN. */
#define DOCKER_DENIALS \
	{ SYS_io_uring_setup, EPERM }, { SYS_io_uring_enter, EPERM }, \
	{ SYS_io_uring_register, EPERM }, { SYS_kcmp, EPERM }, \
	{ SYS_process_vm_readv, EPERM }, { SYS_process_vm_writev, EPERM }, \
	{ SYS_ptrace, EPERM }, { SYS_clone3, ENOSYS }

static const struct denial docker[] = { DOCKER_DENIALS, END };

static const struct denial no_epoll_pwait2[] = {
	{ SYS_epoll_pwait2, ENOSYS }, END
};

/* A kernel older than 5.6, or one built without membarrier: no io_uring
 * to speak of either (the engine never asks for it). */
static const struct denial old_kernel[] = {
	{ SYS_epoll_pwait2, ENOSYS }, { SYS_close_range, ENOSYS },
	{ SYS_openat2, ENOSYS }, { SYS_membarrier, ENOSYS },
	{ SYS_clone3, ENOSYS },
	{ SYS_io_uring_setup, ENOSYS }, { SYS_io_uring_enter, ENOSYS },
	{ SYS_io_uring_register, ENOSYS }, END
};

/* Docker's denials plus every other call the engine can do without. */
static const struct denial strict[] = {
	DOCKER_DENIALS,
	{ SYS_epoll_pwait2, EPERM }, { SYS_close_range, EPERM },
	{ SYS_membarrier, EPERM }, { SYS_memfd_create, EPERM },
	{ SYS_io_setup, EPERM }, { SYS_futex_waitv, EPERM }, END
};

static const struct profile profiles[] = {
	{ "docker", "io_uring, kcmp, process_vm_*, ptrace: EPERM", docker },
	{ "no-epoll-pwait2", "epoll_pwait2: ENOSYS", no_epoll_pwait2 },
	{ "old-kernel", "epoll_pwait2, close_range, openat2, membarrier, "
			"clone3, io_uring: ENOSYS",
	  old_kernel },
	{ "strict", "docker's, and epoll_pwait2, close_range, membarrier, "
		    "memfd_create, io_setup, futex_waitv: EPERM", strict },
};

#define NPROFILES	(sizeof(profiles) / sizeof(profiles[0]))

static void usage(FILE *out)
{
	fprintf(out, "usage: seccomp-run --profile NAME -- COMMAND [ARGS...]\nprofiles:\n");
	for (size_t i = 0; i < NPROFILES; i++)
		fprintf(out, "  %-16s %s\n", profiles[i].name, profiles[i].what);
}

static const struct profile *find_profile(const char *name)
{
	for (size_t i = 0; i < NPROFILES; i++)
		if (!strcmp(profiles[i].name, name))
			return &profiles[i];
	return NULL;
}

int main(int argc, char **argv)
{
	const struct profile *p;

	if (argc == 2 && !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	if (argc < 5 || strcmp(argv[1], "--profile") || strcmp(argv[3], "--")) {
		usage(stderr);
		return 2;
	}
	p = find_profile(argv[2]);
	if (!p) {
		fprintf(stderr, "seccomp-run: no profile '%s'\n", argv[2]);
		usage(stderr);
		return 2;
	}
	if (seccomp_deny(p->deny) < 0) {
		perror("seccomp-run: installing the filter");
		return 1;
	}
	execvp(argv[4], argv + 4);
	fprintf(stderr, "seccomp-run: %s: %s\n", argv[4], strerror(errno));
	return 127;
}
