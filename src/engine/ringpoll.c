/* SPDX-License-Identifier: MIT */
/*
 * poll(2), select(2), epoll(7) and mmap(2) in front of the C library's,
 * for ring descriptors.
 *
 * A ring's descriptor is an eventfd the engine writes when the CQ turns
 * non-empty (ring.c), but the application consumes CQEs by moving the
 * CQ head in memory, which no call of the engine sees. A level-triggered
 * wait on a descriptor left readable after that would return at once,
 * for ever. So a caller about to wait on ring descriptors first has each
 * whose CQ is empty made quiet (ua_ring_fd_quiet); then it waits in the C
 * library's function. Only a waiter does this: a program that never polls
 * its rings pays nothing past the first CQE. A wait that does not come
 * through these functions (a system call of its own) still wakes when
 * the CQ turns non-empty, but a descriptor it finds readable with the CQ
 * drained stays so until one of them comes by.
 *
 * epoll_wait() cannot tell which descriptors its instance watches: the
 * ring descriptors ever added to an instance are remembered, and each
 * epoll wait quiets all of them (a quiet ring's state is right for every
 * instance).
 *
 * The engine's poller thread waits edge-triggered and does none of this
 * (ua_ring_fds_left_loud): in a ThreadSanitizer build the work would run
 * inside the sanitizer's interceptor of the wait, which tracks no
 * synchronisation, against the rings' teardown.
 *
 * The eventfd cannot be mapped: mmap() of a ring descriptor maps the
 * rings' memfd instead, at the same offset, as the kernel's ring maps.
 */
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "engine/ring.h"
#include "engine/ringpoll.h"
#include "engine/ringref.h"
#include "engine/uaccess.h"
#include "ua_private.h"

/*
 * The C library's definition, found once. Without a dynamic linker to
 * ask (a static program) the system call is made directly.
 */
#define NEXT(name)							\
	((__typeof__(&name)) next_definition(#name, &next_##name))

static void *next_poll, *next_ppoll, *next___poll_chk, *next___ppoll_chk,
	    *next_select, *next_pselect, *next_epoll_ctl, *next_epoll_wait,
	    *next_epoll_pwait, *next_epoll_pwait2, *next_mmap, *next_mmap64;

/*
 * A sanitizer's runtime maps memory through mmap() while it starts, before
 * it can run code it instrumented: the path an anonymous mapping or a
 * file that is no ring takes here is left uninstrumented.
 */
#if defined(__SANITIZE_THREAD__)
#define UNINSTRUMENTED	__attribute__((no_sanitize("thread")))
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNINSTRUMENTED	__attribute__((no_sanitize("thread")))
#endif
#endif
#ifndef UNINSTRUMENTED
#define UNINSTRUMENTED
#endif

UNINSTRUMENTED
static void *next_definition(const char *name, void **cache)
{
	void *fn = __atomic_load_n(cache, __ATOMIC_RELAXED);

	if (!fn) {
		fn = dlsym(RTLD_NEXT, name);
		__atomic_store_n(cache, fn, __ATOMIC_RELAXED);
	}
	return fn;
}

/*
 * A ring's descriptor is an eventfd only where these functions stand in
 * front of the C library's: not in the drop-in libraries, whose programs
 * were linked against liburing and call the C library's versions of them
 * (no definition of ours can match those), so their rings keep the
 * mappable memfd. A program with no C library to load (a static one) has
 * only ours.
 */
static bool fronts_reached(void)
{
	void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
	bool reached;

	if (!libc)
		return true;
	reached = dlsym(RTLD_DEFAULT, "mmap") != dlsym(libc, "mmap") &&
		  dlsym(RTLD_DEFAULT, "poll") != dlsym(libc, "poll");
	dlclose(libc);
	return reached;
}

static pthread_once_t fronts_once = PTHREAD_ONCE_INIT;
static bool fronts_are_reached;

static void look_for_fronts(void)
{
	fronts_are_reached = fronts_reached();
}

bool ua_ring_fronts_reached(void)
{
	pthread_once(&fronts_once, look_for_fronts);
	return fronts_are_reached;
}

/* Two loads for a descriptor that is no ring; a counted hold on one that
 * is, dropped where no teardown may run: the caller may be any thread of
 * the engine's own. */
static void quiet_fd(int fd)
{
	struct ua_ctx *ctx;
	int err;

	if (fd < 0 || !ua_ctx_lookup(fd))
		return;
	ctx = ua_ctx_get_counted(fd, &err);
	if (!ctx)
		return;
	ua_ring_fd_quiet(ctx);
	ua_ctx_put_elsewhere(ctx);
}

/* Whether a wait of this thread's may find a ring descriptor to quiet. */
static bool may_quiet(void)
{
	return !ua_ring_fds_left_loud && ua_ring_fds_pollable();
}

#define POLLFDS_CHUNK	64

/*
 * poll()'s array is the application's, read as the kernel's poll reads
 * it: a bad one is left to the C library's call to fail with EFAULT. The
 * copies count as the application's call, as io_uring_enter's do. The C
 * library declares the array written only, and a compiler that believes
 * it warns of reading it: the asm hides where the pointer came from.
 */
static void quiet_pollfds(struct pollfd *fds, nfds_t nfds)
{
	struct pollfd chunk[POLLFDS_CHUNK];
	nfds_t off, n, i;

	if (!may_quiet())
		return;
	__asm__("" : "+r" (fds));
	ua_uaccess_begin();
	for (off = 0; off < nfds; off += n) {
		n = nfds - off < POLLFDS_CHUNK ? nfds - off : POLLFDS_CHUNK;
		if (ua_copy_from_user(chunk, (__u64) (uintptr_t) (fds + off),
				      n * sizeof(*fds)))
			break;
		for (i = 0; i < n; i++)
			if (chunk[i].events & (POLLIN | POLLRDNORM))
				quiet_fd(chunk[i].fd);
	}
	ua_uaccess_end();
}

/* select()'s read set, read as quiet_pollfds() reads poll()'s array. */
static void quiet_fd_set(int nfds, const fd_set *uset)
{
	fd_set set;
	int fd;

	if (!uset || nfds <= 0 || !may_quiet())
		return;
	if (nfds > FD_SETSIZE)
		nfds = FD_SETSIZE;
	ua_uaccess_begin();
	if (!ua_copy_from_user(&set, (__u64) (uintptr_t) uset,
			       (size_t) (nfds + 7) / 8))
		for (fd = 0; fd < nfds; fd++)
			if (FD_ISSET(fd, &set))
				quiet_fd(fd);
	ua_uaccess_end();
}

/* The ring descriptors added to epoll instances. A number that names no
 * ring any more costs a lookup per wait; past the last slot a ring is not
 * remembered and its waits may find it readable with nothing to read. */
#define EPOLLED_MAX	64

static int epolled[EPOLLED_MAX];
static unsigned nr_epolled;
static pthread_mutex_t epolled_lock = PTHREAD_MUTEX_INITIALIZER;

static void remember_epolled(int fd)
{
	unsigned i, nr;

	if (fd < 0 || !ua_ctx_lookup(fd))
		return;
	pthread_mutex_lock(&epolled_lock);
	nr = nr_epolled;
	for (i = 0; i < nr && epolled[i] != fd; i++)
		;
	if (i == nr && nr < EPOLLED_MAX) {
		__atomic_store_n(&epolled[nr], fd, __ATOMIC_RELAXED);
		__atomic_store_n(&nr_epolled, nr + 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&epolled_lock);
}

static void quiet_epolled(void)
{
	unsigned i, nr = __atomic_load_n(&nr_epolled, __ATOMIC_ACQUIRE);

	if (!may_quiet())
		return;
	for (i = 0; i < nr; i++)
		quiet_fd(__atomic_load_n(&epolled[i], __ATOMIC_RELAXED));
}

static struct timespec *ms_timeout(int ms, struct timespec *ts)
{
	if (ms < 0)
		return NULL;
	ts->tv_sec = ms / 1000;
	ts->tv_nsec = (long) (ms % 1000) * 1000000;
	return ts;
}

UA_PUBLIC int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	struct timespec ts;

	quiet_pollfds(fds, nfds);
	if (NEXT(poll))
		return NEXT(poll)(fds, nfds, timeout);
	return (int) syscall(SYS_ppoll, fds, nfds, ms_timeout(timeout, &ts),
			     NULL, 0);
}

UA_PUBLIC int ppoll(struct pollfd *fds, nfds_t nfds,
		    const struct timespec *timeout, const sigset_t *sigmask)
{
	struct timespec ts, *tp = NULL;

	quiet_pollfds(fds, nfds);
	if (NEXT(ppoll))
		return NEXT(ppoll)(fds, nfds, timeout, sigmask);
	if (timeout) {
		ts = *timeout;
		tp = &ts;
	}
	return (int) syscall(SYS_ppoll, fds, nfds, tp, sigmask, _NSIG / 8);
}

/* What a program built with _FORTIFY_SOURCE calls for poll() and ppoll()
 * on an array of known size. A static program may have only ours: then
 * the size is checked here and the call made as without fortification. */
int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout, size_t fdslen);
int __ppoll_chk(struct pollfd *fds, nfds_t nfds,
		const struct timespec *timeout, const sigset_t *sigmask,
		size_t fdslen);

UA_PUBLIC int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout,
			 size_t fdslen)
{
	if (NEXT(__poll_chk))
		quiet_pollfds(fds, nfds > fdslen / sizeof(*fds) ? 0 : nfds);
	else if (nfds > fdslen / sizeof(*fds))
		abort();
	else
		return poll(fds, nfds, timeout);
	return NEXT(__poll_chk)(fds, nfds, timeout, fdslen);
}

UA_PUBLIC int __ppoll_chk(struct pollfd *fds, nfds_t nfds,
			  const struct timespec *timeout,
			  const sigset_t *sigmask, size_t fdslen)
{
	if (NEXT(__ppoll_chk))
		quiet_pollfds(fds, nfds > fdslen / sizeof(*fds) ? 0 : nfds);
	else if (nfds > fdslen / sizeof(*fds))
		abort();
	else
		return ppoll(fds, nfds, timeout, sigmask);
	return NEXT(__ppoll_chk)(fds, nfds, timeout, sigmask, fdslen);
}

UA_PUBLIC int select(int nfds, fd_set *readfds, fd_set *writefds,
		     fd_set *exceptfds, struct timeval *timeout)
{
	struct timespec ts, *tp = NULL;
	int ret;

	quiet_fd_set(nfds, readfds);
	if (NEXT(select))
		return NEXT(select)(nfds, readfds, writefds, exceptfds,
				    timeout);
	if (timeout) {
		ts.tv_sec = timeout->tv_sec;
		ts.tv_nsec = timeout->tv_usec * 1000;
		tp = &ts;
	}
	ret = (int) syscall(SYS_pselect6, nfds, readfds, writefds, exceptfds,
			    tp, NULL);
	if (timeout) {
		timeout->tv_sec = ts.tv_sec;
		timeout->tv_usec = ts.tv_nsec / 1000;
	}
	return ret;
}

UA_PUBLIC int pselect(int nfds, fd_set *readfds, fd_set *writefds,
		      fd_set *exceptfds, const struct timespec *timeout,
		      const sigset_t *sigmask)
{
	struct { const sigset_t *set; size_t size; } mask = {
		sigmask, _NSIG / 8
	};
	struct timespec ts, *tp = NULL;

	quiet_fd_set(nfds, readfds);
	if (NEXT(pselect))
		return NEXT(pselect)(nfds, readfds, writefds, exceptfds,
				     timeout, sigmask);
	if (timeout) {
		ts = *timeout;
		tp = &ts;
	}
	return (int) syscall(SYS_pselect6, nfds, readfds, writefds, exceptfds,
			     tp, &mask);
}

UA_PUBLIC int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event)
{
	if (op == EPOLL_CTL_ADD || op == EPOLL_CTL_MOD)
		remember_epolled(fd);
	if (NEXT(epoll_ctl))
		return NEXT(epoll_ctl)(epfd, op, fd, event);
	return (int) syscall(SYS_epoll_ctl, epfd, op, fd, event);
}

UA_PUBLIC int epoll_wait(int epfd, struct epoll_event *events, int maxevents,
			 int timeout)
{
	quiet_epolled();
	if (NEXT(epoll_wait))
		return NEXT(epoll_wait)(epfd, events, maxevents, timeout);
	return (int) syscall(SYS_epoll_pwait, epfd, events, maxevents, timeout,
			     NULL, 0);
}

UA_PUBLIC int epoll_pwait(int epfd, struct epoll_event *events, int maxevents,
			  int timeout, const sigset_t *sigmask)
{
	quiet_epolled();
	if (NEXT(epoll_pwait))
		return NEXT(epoll_pwait)(epfd, events, maxevents, timeout,
					 sigmask);
	return (int) syscall(SYS_epoll_pwait, epfd, events, maxevents, timeout,
			     sigmask, _NSIG / 8);
}

UA_PUBLIC int epoll_pwait2(int epfd, struct epoll_event *events,
			   int maxevents, const struct timespec *timeout,
			   const sigset_t *sigmask)
{
	quiet_epolled();
	if (NEXT(epoll_pwait2))
		return NEXT(epoll_pwait2)(epfd, events, maxevents, timeout,
					  sigmask);
	return (int) syscall(SYS_epoll_pwait2, epfd, events, maxevents,
			     timeout, sigmask, _NSIG / 8);
}

/* ua_ring_slot() and ua_ring_slot_holds_ctx() spelt out: a compiler
 * need not inline them, and they would then be instrumented. */
UNINSTRUMENTED
static bool names_a_ring(int fd)
{
	unsigned chunk_nr = (unsigned) fd >> UA_RING_CHUNK_SHIFT;
	struct ua_ctx **chunk, *ctx;

	if (fd < 0 || chunk_nr >= UA_RING_NR_CHUNKS)
		return false;
	chunk = __atomic_load_n(&ua_ring_table[chunk_nr], __ATOMIC_ACQUIRE);
	if (!chunk)
		return false;
	ctx = __atomic_load_n(&chunk[(unsigned) fd & (UA_RING_CHUNK_SIZE - 1)],
			      __ATOMIC_ACQUIRE);
	return ctx && !((uintptr_t) ctx & 1);
}

/* The descriptor to map for fd: the rings' memfd for a ring's eventfd. A
 * ring torn down meanwhile leaves its memfd open until its last hold
 * goes, so the number stays good for the call. */
UNINSTRUMENTED
static void *map_ring_or_file(void *(*next)(void *, size_t, int, int, int,
					   off_t),
			      void *addr, size_t len, int prot, int flags,
			      int fd, off_t off)
{
	struct ua_ctx *ctx = NULL;
	void *p;
	int err;

	if (names_a_ring(fd))
		ctx = ua_ctx_get_counted(fd, &err);
	if (ctx && ctx->cq_efd >= 0)
		fd = ua_ring_map_fd(ctx);
	if (next)
		p = next(addr, len, prot, flags, fd, off);
	else
		p = (void *) syscall(SYS_mmap, addr, len, prot, flags, fd, off);
	if (ctx)
		ua_ctx_put_elsewhere(ctx);
	return p;
}

UNINSTRUMENTED
UA_PUBLIC void *mmap(void *addr, size_t len, int prot, int flags, int fd,
		     off_t off)
{
	return map_ring_or_file(NEXT(mmap), addr, len, prot, flags, fd, off);
}

UNINSTRUMENTED
UA_PUBLIC void *mmap64(void *addr, size_t len, int prot, int flags, int fd,
		       off_t off)
{
	return map_ring_or_file(NEXT(mmap64), addr, len, prot, flags, fd, off);
}
