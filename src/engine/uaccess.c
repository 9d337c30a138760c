/* SPDX-License-Identifier: MIT */
/*
 * Copies from and to application memory that fail with -EFAULT instead of
 * faulting.
 *
 * The kernel reads our own memory for us: process_vm_readv() and
 * process_vm_writev() on our own pid, one system call per copy, stop at
 * the first page that cannot be read (or written) and say so. Container
 * seccomp profiles deny them (EPERM), and a kernel may lack them (ENOSYS):
 * then the copy goes through a pipe of the engine's. write() of the
 * source into the pipe fails with EFAULT when the source cannot be read,
 * and read() out of the pipe into the destination when the destination
 * cannot be written: two system calls, no special one. Which mechanism
 * works is found on first use and remembered; a denial that comes later
 * (a filter installed after the first copy) switches to the pipe for good.
 *
 * Catching SIGSEGV around a plain memcpy() would cost nothing per copy,
 * but the signal's disposition belongs to the application: a handler of
 * ours would fight its own (and a debugger's, a sanitizer's, a language
 * runtime's) for every fault in the process.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include "engine/lock.h"
#include "engine/sys.h"
#include "engine/uaccess.h"

/* No application object lives in the first page: NULL and small integers
 * passed as pointers fail without a system call. */
#define MIN_USER_ADDR	4096u

enum uaccess_mode {
	MODE_UNKNOWN,
	MODE_VM,	/* process_vm_readv/writev on our own pid */
	MODE_PIPE,	/* write() into a pipe, read() back out */
};

static int mode;		/* enum uaccess_mode, set once probed */
static pid_t self;		/* our pid, for process_vm_*; redone on fork */
static pthread_once_t probe_once = PTHREAD_ONCE_INIT;

/* The pipe copies one buffer at a time: its contents belong to one copy.
 * It stays open while a ring exists (nr_rings), and is made again on the
 * first copy that needs it. */
static pthread_mutex_t pipe_lock = PTHREAD_MUTEX_INITIALIZER;
static int pipe_fds[2] = { -1, -1 };
static unsigned nr_rings;

static void close_pipe_locked(void)
{
	if (pipe_fds[0] >= 0) {
		close(pipe_fds[0]);
		close(pipe_fds[1]);
		pipe_fds[0] = pipe_fds[1] = -1;
	}
}

void ua_uaccess_get(void)
{
	pthread_mutex_lock(&pipe_lock);
	nr_rings++;
	pthread_mutex_unlock(&pipe_lock);
}

void ua_uaccess_put(void)
{
	pthread_mutex_lock(&pipe_lock);
	if (!--nr_rings)
		close_pipe_locked();
	pthread_mutex_unlock(&pipe_lock);
}

/* A forked child has its own pid, and must not share the parent's pipe:
 * both would write into it at once. No other thread of the child holds
 * the lock, because the fork took it. */
static void before_fork(void)
{
	pthread_mutex_lock(&pipe_lock);
}

static void after_fork_parent(void)
{
	pthread_mutex_unlock(&pipe_lock);
}

static void after_fork_child(void)
{
	self = getpid();
	close_pipe_locked();
	pthread_mutex_unlock(&pipe_lock);
}

/* Whether process_vm_readv() on ourselves works here (sys.c knows). */
static void probe_uaccess(void)
{
	self = getpid();
	pthread_atfork(before_fork, after_fork_parent, after_fork_child);
	__atomic_store_n(&mode, ua_sys_process_vm_allowed() ? MODE_VM : MODE_PIPE,
			 __ATOMIC_RELEASE);
}

static int uaccess_mode(void)
{
	int m = __atomic_load_n(&mode, __ATOMIC_ACQUIRE);

	if (__builtin_expect(m != MODE_UNKNOWN, 1))
		return m;
	pthread_once(&probe_once, probe_uaccess);
	return __atomic_load_n(&mode, __ATOMIC_ACQUIRE);
}

static bool bad_range(__u64 uaddr, size_t len)
{
	return uaddr < MIN_USER_ADDR || (__u64) (uintptr_t) uaddr != uaddr ||
	       uaddr + len < uaddr;
}

/* One process_vm_readv/writev: 0, -EFAULT, or 1 when it is not allowed
 * (the pipe must do it). */
static int copy_vm(void *local_buf, __u64 uaddr, size_t len, bool to_user)
{
	struct iovec local = { local_buf, len };
	struct iovec remote = { (void *) (uintptr_t) uaddr, len };
	ssize_t n = to_user ? process_vm_writev(self, &local, 1, &remote, 1, 0)
			    : process_vm_readv(self, &local, 1, &remote, 1, 0);

	if (n == (ssize_t) len)
		return 0;
	if (n < 0 && (errno == EPERM || errno == ENOSYS)) {
		__atomic_store_n(&mode, MODE_PIPE, __ATOMIC_RELAXED);
		return 1;
	}
	return n < 0 && errno == ENOMEM ? -ENOMEM : -EFAULT;
}

/* Empties the pipe after a copy that failed half-way. */
static void drain_pipe(void)
{
	char sink[256];

	while (read(pipe_fds[0], sink, sizeof(sink)) > 0)
		;
}

/*
 * Through the pipe, as much as it takes at a time: a write that moves
 * less than asked (the pipe is full, or the source faults further on) is
 * read back and the rest written again, until a write moves nothing.
 * Non-blocking ends, so no call can wait; the pipe is empty between copies.
 */
static int copy_pipe_locked(char *dst, const char *src, size_t len)
{
	ssize_t in, out;

	ua_lock_assert_held(&pipe_lock);
	if (pipe_fds[0] < 0 && pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK))
		return -errno;
	while (len) {
		in = write(pipe_fds[1], src, len);
		if (in < 0)
			break;
		out = read(pipe_fds[0], dst, (size_t) in);
		if (out != in)
			break;
		src += in;
		dst += in;
		len -= (size_t) in;
	}
	if (!len)
		return 0;
	drain_pipe();
	return -EFAULT;
}

static int copy_pipe(void *dst, const void *src, size_t len)
{
	int ret;

	pthread_mutex_lock(&pipe_lock);
	ret = copy_pipe_locked(dst, src, len);
	if (!nr_rings)
		close_pipe_locked();
	pthread_mutex_unlock(&pipe_lock);
	return ret;
}

int ua_copy_from_user(void *dst, __u64 uaddr, size_t len)
{
	if (!len)
		return 0;
	if (bad_range(uaddr, len))
		return -EFAULT;
	if (uaccess_mode() == MODE_VM) {
		int ret = copy_vm(dst, uaddr, len, false);

		if (ret <= 0)
			return ret;
	}
	return copy_pipe(dst, (const void *) (uintptr_t) uaddr, len);
}

int ua_copy_to_user(__u64 uaddr, const void *src, size_t len)
{
	if (!len)
		return 0;
	if (bad_range(uaddr, len))
		return -EFAULT;
	if (uaccess_mode() == MODE_VM) {
		int ret = copy_vm((void *) src, uaddr, len, true);

		if (ret <= 0)
			return ret;
	}
	return copy_pipe((void *) (uintptr_t) uaddr, src, len);
}

int ua_check_zeroed_user(__u64 uaddr, size_t len)
{
	unsigned char buf[256];

	while (len) {
		size_t chunk = len < sizeof(buf) ? len : sizeof(buf);
		size_t i;

		if (ua_copy_from_user(buf, uaddr, chunk))
			return -EFAULT;
		for (i = 0; i < chunk; i++)
			if (buf[i])
				return 0;
		uaddr += chunk;
		len -= chunk;
	}
	return 1;
}

/* Page by page, so that a string ending before an unreadable page is read
 * whole, as the kernel reads it. */
long ua_strncpy_from_user(char *dst, __u64 uaddr, size_t size)
{
	size_t page = (size_t) sysconf(_SC_PAGESIZE), done = 0;

	while (done < size) {
		size_t chunk = page - ((uaddr + done) & (page - 1));
		const char *nul;
		int ret;

		if (chunk > size - done)
			chunk = size - done;
		ret = ua_copy_from_user(dst + done, uaddr + done, chunk);
		if (ret)
			return ret;
		nul = memchr(dst + done, 0, chunk);
		if (nul)
			return nul - dst;
		done += chunk;
	}
	return (long) size;
}

int ua_strndup_from_user(char **out, __u64 uaddr)
{
	char buf[PATH_MAX];
	long len = ua_strncpy_from_user(buf, uaddr, sizeof(buf));

	if (len < 0)
		return (int) len;
	if (len == (long) sizeof(buf))
		return -ENAMETOOLONG;
	if (!len)
		return -ENOENT;
	*out = malloc((size_t) len + 1);
	if (!*out)
		return -ENOMEM;
	memcpy(*out, buf, (size_t) len + 1);
	return 0;
}
