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
 * Both cost one or two system calls per copy, several times a memcpy().
 * So while a ring exists the engine's own SIGSEGV and SIGBUS handler
 * guards a plain memcpy() instead: a thread marks the copy it is making,
 * and a fault inside that copy's application range jumps back out of it
 * (siglongjmp) with -EFAULT. Every other fault goes on to the disposition
 * the application had before ours, as the kernel would have applied it.
 *
 * The disposition belongs to the application, though, and it may put its
 * own handler over ours (a language runtime, a crash reporter, or just
 * SIG_DFL): a fault in our copy would then reach a handler that knows
 * nothing of it. And a thread that blocks SIGSEGV is not sent it: the
 * kernel kills the process instead. So only copies made in an
 * io_uring_enter or io_uring_register call of the application's
 * (bracketed by ua_uaccess_begin/end) use the guard, and only after the
 * thread has asked sigaction() whether the SIGSEGV handler is still ours
 * and pthread_sigmask() whether it blocks SIGSEGV or SIGBUS. Asking on
 * every call would cost those two system calls on every call that copies
 * (a registered-file update 40% of its rate); a thread asks once, and
 * again after any ring is made or gone, which is when applications set
 * their signals up. Other copies (the engine's own threads, which block
 * every signal, and io_uring_setup), and those of a thread that found the
 * guard not ours, take the system calls above. What is left (signals
 * changed after the thread asked) is in uring-alike(7). Sanitizer builds
 * leave the signals to the sanitizer and always take the system calls.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "engine/lock.h"
#include "engine/rcu.h"
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

/* Sanitizers own SIGSEGV and check every memcpy(): no guard there. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define GUARD_BUILT	0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define GUARD_BUILT	0
#endif
#endif
#ifndef GUARD_BUILT
#define GUARD_BUILT	1
#endif

/* A guarded copy in progress, and where a fault in it goes. */
struct guard {
	sigjmp_buf		env;
	uintptr_t		start, end;	/* its application range */
	/* A map of a file's that may have shrunk under it (filemap.c);
	 * empty for other copies. */
	uintptr_t		map_start, map_end;
};

/*
 * What this thread found when it last asked whether the guard is ours,
 * and in which signal epoch: every ring made or gone starts a new one.
 */
enum guard_trust {
	TRUST_ASK,
	TRUST_OURS,
	TRUST_NOT_OURS,
};

/* Initial-exec, as in rcu.h: a few bytes at a fixed offset from the
 * thread pointer, not a __tls_get_addr() call per access. The guard
 * itself lives in the copying frame. */
static __thread struct guard *volatile copying UA_TLS_IE;
static __thread unsigned char trust UA_TLS_IE;	/* enum guard_trust */
static __thread bool bus_ours UA_TLS_IE;	/* and SIGBUS's handler ours */
static __thread unsigned trust_epoch UA_TLS_IE;
static __thread unsigned call_depth UA_TLS_IE;
static unsigned signal_epoch;		/* __atomic access */

static const int guarded_signals[2] = { SIGSEGV, SIGBUS };
/* The application's dispositions from before ours, under pipe_lock. */
static struct sigaction previous[2];
static bool guard_installed;		/* __atomic access */

/* The application's own disposition, applied as the kernel would have. */
static void chain_fault(int sig, siginfo_t *si, void *uc)
{
	const struct sigaction *prev = &previous[sig == SIGBUS];
	bool sent = si->si_code <= 0;	/* by kill() and the like */
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t mask, old;

	if (prev->sa_handler == SIG_IGN && sent)
		return;
	sigemptyset(&dfl.sa_mask);
	if (prev->sa_handler == SIG_DFL || prev->sa_handler == SIG_IGN) {
		/* A fault happens again on return, now with the default
		 * action (the kernel does not let a fault be ignored); a
		 * sent signal is sent again. */
		sigaction(sig, &dfl, NULL);
		if (sent)
			raise(sig);
		return;
	}
	if (prev->sa_flags & SA_RESETHAND)
		sigaction(sig, &dfl, NULL);
	mask = prev->sa_mask;
	if (!(prev->sa_flags & SA_NODEFER))
		sigaddset(&mask, sig);
	pthread_sigmask(SIG_BLOCK, &mask, &old);
	if (prev->sa_flags & SA_SIGINFO)
		prev->sa_sigaction(sig, si, uc);
	else
		prev->sa_handler(sig);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* A fault of the kernel's inside this thread's guarded copy (at its
 * application range, or SI_KERNEL for an address the CPU refuses outright)
 * ends the copy with -EFAULT; anything else is the application's. */
static void on_fault(int sig, siginfo_t *si, void *uc)
{
	struct guard *g = copying;
	uintptr_t addr = (uintptr_t) si->si_addr;

	if (g && si->si_code > 0 &&
	    ((addr >= g->start && addr < g->end) ||
	     (addr >= g->map_start && addr < g->map_end) ||
	     si->si_code == SI_KERNEL)) {
		copying = NULL;
		siglongjmp(g->env, 1);
	}
	chain_fault(sig, si, uc);
}

static bool handler_is_ours(int sig)
{
	struct sigaction cur;

	return !sigaction(sig, NULL, &cur) && (cur.sa_flags & SA_SIGINFO) &&
	       cur.sa_sigaction == on_fault;
}

static bool guard_is_ours(void)
{
	return handler_is_ours(SIGSEGV) && handler_is_ours(SIGBUS);
}

/* A fault in a thread that blocks its signal is not delivered: the kernel
 * resets the disposition to SIG_DFL and the process dies. */
static bool faults_unblocked(void)
{
	sigset_t blocked;

	return !pthread_sigmask(SIG_BLOCK, NULL, &blocked) &&
	       !sigismember(&blocked, SIGSEGV) && !sigismember(&blocked, SIGBUS);
}

static void install_guard_locked(void)
{
	struct sigaction sa = {
		.sa_sigaction = on_fault,
		/* NODEFER: a copy jumps out of the handler without a saved
		 * mask; ONSTACK: runtimes that switch stacks need it. */
		.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER | SA_RESTART,
	};
	struct sigaction replaced;
	unsigned i;

	if (!GUARD_BUILT || __atomic_load_n(&guard_installed, __ATOMIC_RELAXED))
		return;
	sigemptyset(&sa.sa_mask);
	/* previous[] is filled before ours can run, and again with what
	 * ours replaced, should the application have changed it between. */
	for (i = 0; i < 2; i++) {
		sigaction(guarded_signals[i], NULL, &previous[i]);
		sigaction(guarded_signals[i], &sa, &replaced);
		previous[i] = replaced;
	}
	__atomic_store_n(&guard_installed, true, __ATOMIC_RELEASE);
}

/* Without rings the process gets its dispositions back, unless the
 * application has put its own over ours meanwhile: then ours stays, for
 * its handler may chain to it. */
static void remove_guard_locked(void)
{
	unsigned i;

	if (!__atomic_load_n(&guard_installed, __ATOMIC_RELAXED) ||
	    !guard_is_ours())
		return;
	__atomic_store_n(&guard_installed, false, __ATOMIC_RELAXED);
	for (i = 0; i < 2; i++)
		sigaction(guarded_signals[i], &previous[i], NULL);
}

/* A ring made or gone: every thread asks again before trusting the guard. */
static void new_signal_epoch(void)
{
	__atomic_add_fetch(&signal_epoch, 1, __ATOMIC_RELEASE);
}

void ua_uaccess_begin(void)
{
	call_depth++;
}

void ua_uaccess_end(void)
{
	call_depth--;
}

/*
 * Three system calls the first time a thread copies in a signal epoch,
 * none after. An application pointer that is bad faults with SIGSEGV; one
 * into a mapping past its file's end, with SIGBUS, after the application
 * may have put a handler over ours for it: that case is left to
 * uring-alike(7), as are signals changed after the thread asked. The
 * engine's own file maps raise SIGBUS when their file shrinks, so they
 * are read only where SIGBUS's handler is ours as well.
 */
static __attribute__((noinline)) void ask_about_guard(unsigned epoch)
{
	trust = handler_is_ours(SIGSEGV) && faults_unblocked() ?
		TRUST_OURS : TRUST_NOT_OURS;
	bus_ours = trust == TRUST_OURS && handler_is_ours(SIGBUS);
	trust_epoch = epoch;
}

static bool guard_trusted(void)
{
	unsigned epoch = __atomic_load_n(&signal_epoch, __ATOMIC_ACQUIRE);

	if (!call_depth || !__atomic_load_n(&guard_installed, __ATOMIC_ACQUIRE))
		return false;
	if (__builtin_expect(trust == TRUST_ASK || trust_epoch != epoch, 0))
		ask_about_guard(epoch);
	return trust == TRUST_OURS;
}

/* memcpy() under the guard; uaddr is the application's side. A frame of
 * its own, so that nothing the caller keeps in registers lives across the
 * sigsetjmp(). */
static __attribute__((noinline)) int copy_guarded(void *dst, const void *src,
						  size_t len, __u64 uaddr,
						  const void *map)
{
	struct guard g;

	g.start = (uintptr_t) uaddr;
	g.end = (uintptr_t) (uaddr + len);
	g.map_start = (uintptr_t) map;
	g.map_end = map ? (uintptr_t) map + len : 0;
	if (sigsetjmp(g.env, 0))
		return -EFAULT;
	copying = &g;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	memcpy(dst, src, len);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	copying = NULL;
	return 0;
}

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
	if (!nr_rings++)
		install_guard_locked();
	new_signal_epoch();
	pthread_mutex_unlock(&pipe_lock);
}

void ua_uaccess_put(void)
{
	pthread_mutex_lock(&pipe_lock);
	if (!--nr_rings) {
		close_pipe_locked();
		remove_guard_locked();
	}
	new_signal_epoch();
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

	while (syscall(SYS_read, pipe_fds[0], sink, sizeof(sink)) > 0)
		;
}

/*
 * Through the pipe, as much as it takes at a time: a write that moves
 * less than asked (the pipe is full, or the source faults further on) is
 * read back and the rest written again, until a write moves nothing.
 * Non-blocking ends, so no call can wait; the pipe is empty between copies.
 * Straight to the kernel: the C library's read() and write() are
 * cancellation points, which io_uring_enter() is not.
 */
static int copy_pipe_locked(char *dst, const char *src, size_t len)
{
	ssize_t in, out;

	ua_lock_assert_held(&pipe_lock);
	if (pipe_fds[0] < 0 && pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK))
		return -errno;
	while (len) {
		in = syscall(SYS_write, pipe_fds[1], src, len);
		if (in < 0)
			break;
		out = syscall(SYS_read, pipe_fds[0], dst, (size_t) in);
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
	if (guard_trusted())
		return copy_guarded(dst, (const void *) (uintptr_t) uaddr, len,
				    uaddr, NULL);
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
	if (guard_trusted())
		return copy_guarded((void *) (uintptr_t) uaddr, src, len, uaddr,
				    NULL);
	if (uaccess_mode() == MODE_VM) {
		int ret = copy_vm((void *) src, uaddr, len, true);

		if (ret <= 0)
			return ret;
	}
	return copy_pipe((void *) (uintptr_t) uaddr, src, len);
}

bool ua_uaccess_maps_guarded(void)
{
	return guard_trusted() && bus_ours;
}

/* Only under the guard: without it a fault in the map would kill the
 * process, where the caller's system call would have returned. */
int ua_copy_map_to_user(__u64 uaddr, const void *map, size_t len)
{
	if (!len)
		return 0;
	if (bad_range(uaddr, len))
		return -EFAULT;
	if (!ua_uaccess_maps_guarded())
		return -EAGAIN;
	return copy_guarded((void *) (uintptr_t) uaddr, map, len, uaddr, map);
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

/* What the kernel's pinning for writing checks: each page of the range is
 * there and writable. The pages are faulted in for writing without a
 * write, so that a store the application makes meanwhile stands; without
 * MADV_POPULATE_WRITE each page's first byte is read and written back. */
int ua_check_writable_user(__u64 uaddr, size_t len)
{
	size_t page = (size_t) sysconf(_SC_PAGESIZE), off;
	__u64 start = uaddr & ~(__u64) (page - 1);
	unsigned char byte;

	if (!len)
		return 0;
	if (bad_range(uaddr, len))
		return -EFAULT;
	if (!ua_sys_populate_write((void *) (uintptr_t) start,
				   (size_t) (uaddr + len - start)))
		return 0;
	if (errno != ENOSYS)
		return -EFAULT;
	for (off = 0; off < len; off += page)
		if (ua_copy_from_user(&byte, uaddr + off, 1) ||
		    ua_copy_to_user(uaddr + off, &byte, 1))
			return -EFAULT;
	return 0;
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
	return ua_getname_uflags(out, uaddr, 0);
}

int ua_getname_uflags(char **out, __u64 uaddr, int at_flags)
{
	char buf[PATH_MAX];
	long len = ua_strncpy_from_user(buf, uaddr, sizeof(buf));

	if (len < 0)
		return (int) len;
	if (len == (long) sizeof(buf))
		return -ENAMETOOLONG;
	if (!len && !(at_flags & AT_EMPTY_PATH))
		return -ENOENT;
	*out = malloc((size_t) len + 1);
	if (!*out)
		return -ENOMEM;
	memcpy(*out, buf, (size_t) len + 1);
	return 0;
}
