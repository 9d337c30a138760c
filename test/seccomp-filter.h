/* SPDX-License-Identifier: MIT */
/*
 * A seccomp filter that makes chosen system calls fail with chosen errnos:
 * a classic BPF program of our own, no libseccomp. It checks the
 * architecture (a foreign ABI numbers calls differently: such a call kills
 * the process), answers each listed call with its errno and lets
 * everything else through.
 */
#ifndef TEST_SECCOMP_FILTER_H
#define TEST_SECCOMP_FILTER_H

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define SECCOMP_NATIVE_ARCH	AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SECCOMP_NATIVE_ARCH	AUDIT_ARCH_AARCH64
#else
#error "the seccomp tests know the system call numbers of x86_64 and aarch64 only"
#endif

struct denial {
	long	nr;
	int	err;
};

#define DENIAL_END		{ -1, 0 }
#define SECCOMP_MAX_DENIALS	29	/* 4 + 2 * 29 + 1 instructions */

static inline unsigned seccomp_build(const struct denial *deny,
				     struct sock_filter *f)
{
	unsigned n = 0;

	f[n++] = (struct sock_filter) BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
				offsetof(struct seccomp_data, arch));
	f[n++] = (struct sock_filter) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
					       SECCOMP_NATIVE_ARCH, 1, 0);
	f[n++] = (struct sock_filter) BPF_STMT(BPF_RET | BPF_K,
					       SECCOMP_RET_KILL_PROCESS);
	f[n++] = (struct sock_filter) BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
				offsetof(struct seccomp_data, nr));
	for (; deny->nr >= 0; deny++) {
		f[n++] = (struct sock_filter) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
						       (__u32) deny->nr, 0, 1);
		f[n++] = (struct sock_filter) BPF_STMT(BPF_RET | BPF_K,
				SECCOMP_RET_ERRNO | ((__u32) deny->err & SECCOMP_RET_DATA));
	}
	f[n++] = (struct sock_filter) BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	return n;
}

/* Installs the filter on the calling thread, for good: 0, or -1 and errno. */
static inline int seccomp_deny(const struct denial *deny)
{
	struct sock_filter insns[5 + 2 * SECCOMP_MAX_DENIALS];
	struct sock_fprog prog = { .filter = insns };
	unsigned nr = 0;

	while (deny[nr].nr >= 0)
		if (++nr > SECCOMP_MAX_DENIALS)
			return -1;
	prog.len = (unsigned short) seccomp_build(deny, insns);
	/* Without it an unprivileged process may not install a filter. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return (int) syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

/* From now on process_vm_readv and process_vm_writev fail with EPERM, as
 * in an unprivileged container; a refused filter ends the process. */
static inline void seccomp_deny_process_vm(void)
{
	static const struct denial deny[] = {
		{ __NR_process_vm_readv, EPERM },
		{ __NR_process_vm_writev, EPERM },
		DENIAL_END,
	};

	if (seccomp_deny(deny)) {
		perror("seccomp");
		exit(1);
	}
}

#endif
