/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_SYS_H
#define UA_ENGINE_SYS_H

/*
 * The engine's system boundary: every system call it may find missing (an
 * older kernel) or denied (a seccomp profile, a sandbox). Each is tried
 * once, on first use, and the answer is remembered for the process; a
 * wrapper then takes the fallback directly. The wrappers follow their
 * libc counterparts: a result, or -1 with errno set. Where a call has no
 * fallback, "unavailable" is always ENOSYS, whatever the refusal said.
 */

#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <linux/aio_abi.h>
#include <linux/futex.h>
#include <linux/openat2.h>

/* Numbers from 424 on are the same on every architecture but alpha; a
 * libc older than the kernel may lack them (./configure says which). */
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
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23	/* Linux 5.14 */
#endif

/* epoll_pwait2(2); without it, epoll_pwait(2) with the timeout rounded up
 * to a whole millisecond: a wait may last up to 1 ms longer, never less. */
int ua_sys_epoll_pwait2(int epfd, struct epoll_event *ev, int maxevents,
			const struct timespec *timeout, const sigset_t *sigmask);

/*
 * poll() with a timeout of 0, straight to the kernel: the library's poll()
 * stands in front of the C library's for the application (ringpoll.c),
 * and its work on ring descriptors is no business of the engine's checks
 * of a socket's state.
 */
int ua_sys_poll_now(struct pollfd *fds, nfds_t nfds);

/*
 * Adds one to an eventfd's counter, straight to the kernel: the engine
 * signals its descriptors while completing requests inside the
 * application's io_uring_enter(), which is no cancellation point, where
 * the C library's write() is one. A result, or -1 with errno set.
 */
int ua_sys_eventfd_signal(int fd);

/* Whether fd1 and fd2 name the same open file (kcmp KCMP_FILE). Without
 * kcmp: false, which callers must treat as "maybe not". */
bool ua_sys_same_file(int fd1, int fd2);

/* close_range(first, last, 0); without it, one close(2) per number. */
void ua_sys_close_range(unsigned first, unsigned last);

/* membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED), once: whether
 * ua_sys_membarrier() may be used. */
bool ua_sys_membarrier_ready(void);
/* membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED); only after ready said so. */
int ua_sys_membarrier(void);

/* openat2(2) with a struct open_how of our size. Without it, openat(2) for
 * what openat can express (no resolve flags), else ENOSYS. */
long ua_sys_openat2(int dfd, const char *path, const struct open_how *how);

/* io_setup(2). Refused by the system (not by a limit such as aio-max-nr):
 * ENOSYS from then on, without asking again. */
int ua_sys_io_setup(unsigned nr_events, aio_context_t *ctx);

/* madvise(MADV_POPULATE_WRITE): faults the pages of a page-aligned range
 * in for writing without writing to them; fails where the kernel's
 * pinning for writing would. Before Linux 5.14, or refused, ENOSYS. */
int ua_sys_populate_write(void *addr, size_t len);

/* memfd_create(2); without it, an unnamed file on /dev/shm (O_TMPFILE),
 * which counts against that file system's size. */
int ua_sys_memfd_create(const char *name, unsigned flags);

/* Whether process_vm_readv(2) is there for us: uaccess.c copies
 * application memory with it, or else through a pipe. */
bool ua_sys_process_vm_allowed(void);

/* Whether futex_waitv(2) is there for us: the futex watchers wait with it
 * (futex_watch.c), or else ring futex waits hold workers (futex.c). */
bool ua_sys_futex_waitv_ready(void);
/* futex_waitv(2) with no timeout; only after ready said so. */
long ua_sys_futex_waitv(struct futex_waitv *waiters, unsigned nr);

#endif
