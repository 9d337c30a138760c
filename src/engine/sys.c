/* SPDX-License-Identifier: MIT */
/*
 * The system calls the engine can do without (sys.h).
 *
 * Each is probed by a call that cannot change anything: arguments the
 * kernel rejects before it does any work (EINVAL, EBADF, EFAULT), so that
 * only a missing call (ENOSYS) or a refusing filter (EPERM, as Docker's
 * profile answers, or ENOSYS) can answer ENOSYS or EPERM. membarrier is
 * the exception: registering is the probe, and is needed anyway. The
 * answer is stored once per process; threads that race to probe store the
 * same answer. A probe of the real call would not do: openat2 answers
 * EPERM for an immutable file, and the first epoll_pwait2 may be in the
 * middle of a wait.
 */
#include "engine/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/kcmp.h>
#include <linux/membarrier.h>
#include <sys/mman.h>
#include <unistd.h>

enum ua_sys_call {
	SYS_CALL_EPOLL_PWAIT2,
	SYS_CALL_KCMP,
	SYS_CALL_CLOSE_RANGE,
	SYS_CALL_MEMBARRIER,
	SYS_CALL_OPENAT2,
	SYS_CALL_IO_SETUP,
	SYS_CALL_MEMFD_CREATE,
	SYS_CALL_PROCESS_VM_READV,
	SYS_CALL_FUTEX_WAITV,
	SYS_CALL_POPULATE_WRITE,
	SYS_CALL_NR
};

enum probe_state { UNPROBED, PRESENT, ABSENT };

static unsigned char probed[SYS_CALL_NR];

/* Whether an error means the call is not there for us at all. */
static bool refused(long ret)
{
	return ret < 0 && (errno == ENOSYS || errno == EPERM);
}

static bool probe(enum ua_sys_call call)
{
	struct open_how how = { 0 };
	pid_t pid = getpid();

	switch (call) {
	case SYS_CALL_EPOLL_PWAIT2:	/* maxevents 0: EINVAL */
		return !refused(syscall(SYS_epoll_pwait2, -1, NULL, 0, NULL,
					NULL, _NSIG / 8));
	case SYS_CALL_KCMP:		/* fd -1: EBADF */
		return !refused(syscall(SYS_kcmp, pid, pid, KCMP_FILE, -1, -1));
	case SYS_CALL_CLOSE_RANGE:	/* first > last: EINVAL */
		return !refused(syscall(SYS_close_range, 1U, 0U, 0U));
	case SYS_CALL_MEMBARRIER:
		return syscall(SYS_membarrier,
			       MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0U, 0) == 0;
	case SYS_CALL_OPENAT2:		/* size 0: EINVAL */
		return !refused(syscall(SYS_openat2, AT_FDCWD, "", &how, 0));
	case SYS_CALL_IO_SETUP:		/* NULL context: EFAULT */
		return !refused(syscall(SYS_io_setup, 0U, NULL));
	case SYS_CALL_MEMFD_CREATE:	/* NULL name: EFAULT */
		return !refused(syscall(SYS_memfd_create, NULL, 0U));
	case SYS_CALL_PROCESS_VM_READV:	/* nothing to copy: 0 */
		return !refused(syscall(SYS_process_vm_readv, pid, NULL, 0UL,
					NULL, 0UL, 0UL));
	case SYS_CALL_FUTEX_WAITV:	/* no futexes: EINVAL */
		return !refused(syscall(SYS_futex_waitv, NULL, 0U, 0U, NULL,
					CLOCK_MONOTONIC));
	case SYS_CALL_POPULATE_WRITE:	/* nothing to do: 0; EINVAL before 5.14 */
		return syscall(SYS_madvise, 0UL, 0UL, MADV_POPULATE_WRITE) == 0;
	case SYS_CALL_NR:
		break;
	}
	return false;
}

/* errno is the caller's: a probe's failure must not leak into it. */
static bool have(enum ua_sys_call call)
{
	unsigned char state = __atomic_load_n(&probed[call], __ATOMIC_RELAXED);
	int saved;

	if (state != UNPROBED)
		return state == PRESENT;
	saved = errno;
	state = probe(call) ? PRESENT : ABSENT;
	errno = saved;
	__atomic_store_n(&probed[call], state, __ATOMIC_RELAXED);
	return state == PRESENT;
}

static long unavailable(void)
{
	errno = ENOSYS;
	return -1;
}

/* Rounded up, so that a wait never returns before its deadline and then
 * comes back with a timeout of 0 ms, over and over, until it is reached. */
static int timeout_ms(const struct timespec *ts)
{
	long long ms;

	if (!ts)
		return -1;
	if (ts->tv_sec < 0)
		return 0;
	if (ts->tv_sec >= INT_MAX / 1000)
		return INT_MAX;
	ms = (long long) ts->tv_sec * 1000 + (ts->tv_nsec + 999999) / 1000000;
	return ms > INT_MAX ? INT_MAX : (int) ms;
}

int ua_sys_epoll_pwait2(int epfd, struct epoll_event *ev, int maxevents,
			const struct timespec *timeout, const sigset_t *sigmask)
{
	if (have(SYS_CALL_EPOLL_PWAIT2))
		return (int) syscall(SYS_epoll_pwait2, epfd, ev, maxevents,
				     timeout, sigmask, _NSIG / 8);
	return epoll_pwait(epfd, ev, maxevents, timeout_ms(timeout), sigmask);
}

int ua_sys_poll_now(struct pollfd *fds, nfds_t nfds)
{
	static const struct timespec now;

	return (int) syscall(SYS_ppoll, fds, nfds, &now, NULL, _NSIG / 8);
}

int ua_sys_eventfd_signal(int fd)
{
	static const __u64 one = 1;

	return (int) syscall(SYS_write, fd, &one, sizeof(one));
}

bool ua_sys_same_file(int fd1, int fd2)
{
	pid_t pid;

	if (!have(SYS_CALL_KCMP))
		return false;
	pid = getpid();
	return syscall(SYS_kcmp, pid, pid, KCMP_FILE, fd1, fd2) == 0;
}

void ua_sys_close_range(unsigned first, unsigned last)
{
	if (have(SYS_CALL_CLOSE_RANGE) &&
	    syscall(SYS_close_range, first, last, 0U) == 0)
		return;
	for (unsigned fd = first; fd - first <= last - first; fd++)
		close((int) fd);
}

bool ua_sys_membarrier_ready(void)
{
	return have(SYS_CALL_MEMBARRIER);
}

int ua_sys_membarrier(void)
{
	return (int) syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED,
			     0U, 0);
}

/* The kernel's own checks of openat2 that openat does not make. */
static bool how_fits_openat(const struct open_how *how)
{
	const __u64 path_flags = O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC;
	const __u64 creating = O_CREAT | (O_TMPFILE & ~O_DIRECTORY);

	if (how->flags >> 31 || how->mode & ~(__u64) 07777)
		return false;
	if (how->mode && !(how->flags & creating))
		return false;
	return !(how->flags & O_PATH) || !(how->flags & ~path_flags);
}

long ua_sys_openat2(int dfd, const char *path, const struct open_how *how)
{
	if (have(SYS_CALL_OPENAT2))
		return syscall(SYS_openat2, dfd, path, how, sizeof(*how));
	if (how->resolve)
		return unavailable();
	if (!how_fits_openat(how)) {
		errno = EINVAL;
		return -1;
	}
	return openat(dfd, path, (int) how->flags, (mode_t) how->mode);
}

int ua_sys_io_setup(unsigned nr_events, aio_context_t *ctx)
{
	if (!have(SYS_CALL_IO_SETUP))
		return (int) unavailable();
	return (int) syscall(SYS_io_setup, nr_events, ctx);
}

/* /dev/shm is tmpfs, as memfd's own file system is; /tmp, last, may not be. */
static int unnamed_shared_file(unsigned flags)
{
	int oflags = O_TMPFILE | O_RDWR | (flags & MFD_CLOEXEC ? O_CLOEXEC : 0);
	int fd = open("/dev/shm", oflags, 0600);

	return fd >= 0 ? fd : open("/tmp", oflags, 0600);
}

int ua_sys_populate_write(void *addr, size_t len)
{
	if (!have(SYS_CALL_POPULATE_WRITE))
		return (int) unavailable();
	return madvise(addr, len, MADV_POPULATE_WRITE);
}

int ua_sys_memfd_create(const char *name, unsigned flags)
{
	if (have(SYS_CALL_MEMFD_CREATE))
		return memfd_create(name, flags);
	return unnamed_shared_file(flags);
}

bool ua_sys_process_vm_allowed(void)
{
	return have(SYS_CALL_PROCESS_VM_READV);
}

bool ua_sys_futex_waitv_ready(void)
{
	return have(SYS_CALL_FUTEX_WAITV);
}

long ua_sys_futex_waitv(struct futex_waitv *waiters, unsigned nr)
{
	return syscall(SYS_futex_waitv, waiters, nr, 0U, NULL, CLOCK_MONOTONIC);
}
