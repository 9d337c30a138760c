/* SPDX-License-Identifier: MIT */
/*
 * uring-alike-preload.so: the engine for programs that make the io_uring
 * system calls themselves (syscall(2), or a `syscall` instruction of their
 * own), loaded with LD_PRELOAD.
 *
 * Calls made through libc's syscall() reach the engine through ours,
 * which stands in front of it. For the others a seccomp filter answers
 * io_uring_setup, io_uring_enter and io_uring_register with
 * SECCOMP_RET_TRAP: the kernel skips the call and sends the calling
 * thread a SIGSYS whose context holds the call's registers. Our handler
 * runs the engine's entry point of the same name and writes its result
 * where the call's result goes, so the program sees the system call
 * return. A trap takes precedence over an errno rule of a container's
 * filter, which is why this works where io_uring is denied. On x86_64 a
 * call site that trapped is then rewritten to call the engine directly
 * (rewrite.c).
 *
 * The filter is process state: every thread has it (TSYNC catches the
 * threads made before us), and fork and exec keep it. A process that has
 * the filter but not our handler would be killed by its first io_uring
 * call, so the handler must stay installed and SIGSYS must stay
 * deliverable: sigaction() and signal() for SIGSYS record the
 * application's handler (ours calls it for every SIGSYS that is not our
 * trap) and sigprocmask() and pthread_sigmask() never block SIGSYS. An
 * exec'd program loads the library again (exec.c keeps it in the
 * environment), finds the filter in place and does not stack another.
 */
#include <dlfcn.h>
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>
#include <liburing.h>
#include "engine/ringref.h"
#include "preload/preload.h"
#include "ua_private.h"

#if defined(__x86_64__)
#define NATIVE_ARCH		AUDIT_ARCH_X86_64
#define CALL_ARG(uc, i)		((uc)->uc_mcontext.gregs[call_arg_regs[i]])
#define CALL_RESULT(uc)		((uc)->uc_mcontext.gregs[REG_RAX])
static const int call_arg_regs[6] = {
	REG_RDI, REG_RSI, REG_RDX, REG_R10, REG_R8, REG_R9
};
#elif defined(__aarch64__)
#define NATIVE_ARCH		AUDIT_ARCH_AARCH64
#define CALL_ARG(uc, i)		((uc)->uc_mcontext.regs[i])
#define CALL_RESULT(uc)		((uc)->uc_mcontext.regs[0])
#else
#error "the preload knows the system call registers of x86_64 and aarch64 only"
#endif

/* io_uring's numbers are the same on every architecture. */
#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup	425
#define __NR_io_uring_enter	426
#define __NR_io_uring_register	427
#endif

/* si_code of a seccomp trap; glibc's headers may lack the name. */
#ifndef SYS_SECCOMP
#define SYS_SECCOMP		1
#endif

/* The filter's SECCOMP_RET_DATA, which the kernel hands the handler as
 * si_errno: a trap of ours, not one of a filter of the application's. */
#define TRAP_MARK		0x7561u

#define EXPORT	__attribute__((visibility("default")))

typedef long (*syscall_fn)(long, ...);
typedef int (*close_fn)(int);
typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);
typedef int (*sigmask_fn)(int, const sigset_t *, sigset_t *);

static syscall_fn real_syscall;
static close_fn real_close;
static sigaction_fn real_sigaction;
static sigmask_fn real_sigprocmask, real_pthread_sigmask;

/* libc's definitions, which ours stand in front of. */
static void find_real(void)
{
	if (__atomic_load_n(&real_pthread_sigmask, __ATOMIC_ACQUIRE))
		return;
	real_syscall = (syscall_fn) dlsym(RTLD_NEXT, "syscall");
	real_close = (close_fn) dlsym(RTLD_NEXT, "close");
	real_sigaction = (sigaction_fn) dlsym(RTLD_NEXT, "sigaction");
	real_sigprocmask = (sigmask_fn) dlsym(RTLD_NEXT, "sigprocmask");
	__atomic_store_n(&real_pthread_sigmask,
			 (sigmask_fn) dlsym(RTLD_NEXT, "pthread_sigmask"),
			 __ATOMIC_RELEASE);
}

/*
 * The application's SIGSYS disposition, as it set it. Two copies and an
 * index: the handler, which may run in any thread at any time, reads a
 * whole one; writers take the lock and fill the other before switching.
 */
static struct sigaction app_sigsys[2] = {
	{ .sa_handler = SIG_DFL }, { .sa_handler = SIG_DFL },
};
static unsigned app_sigsys_cur;
static pthread_mutex_t app_sigsys_lock = PTHREAD_MUTEX_INITIALIZER;

static void app_sigsys_get(struct sigaction *act)
{
	*act = app_sigsys[__atomic_load_n(&app_sigsys_cur, __ATOMIC_ACQUIRE)];
}

static void app_sigsys_set(const struct sigaction *act)
{
	unsigned next = !app_sigsys_cur;

	app_sigsys[next] = *act;
	__atomic_store_n(&app_sigsys_cur, next, __ATOMIC_RELEASE);
}

/* What the kernel does with a SIGSYS for the application: the default
 * action (a core dump) and, for a trap, an ignored SIGSYS too, since the
 * kernel forces trap signals through. */
static void die_of(int sig)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t set;

	real_sigaction(sig, &dfl, NULL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	real_pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
}

/* A SIGSYS that is not our trap goes where the application said. */
static void pass_to_application(int sig, siginfo_t *si, void *uc)
{
	struct sigaction app;
	sigset_t old;

	app_sigsys_get(&app);
	if (app.sa_handler == SIG_IGN && si->si_code != SYS_SECCOMP)
		return;
	if (app.sa_handler == SIG_DFL || app.sa_handler == SIG_IGN) {
		die_of(sig);
		return;
	}
	if (app.sa_flags & SA_RESETHAND) {
		struct sigaction dfl = { .sa_handler = SIG_DFL };

		pthread_mutex_lock(&app_sigsys_lock);
		app_sigsys_set(&dfl);
		pthread_mutex_unlock(&app_sigsys_lock);
	}
	real_pthread_sigmask(SIG_BLOCK, &app.sa_mask, &old);
	if (app.sa_flags & SA_SIGINFO)
		app.sa_sigaction(sig, si, uc);
	else
		app.sa_handler(sig);
	real_pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Counts the traps taken: the constructor's probe for a filter that is
 * already there (an exec'ing parent installed it) reads it. */
static unsigned long traps_taken;

static long run_call(long nr, const long a[6])
{
	switch (nr) {
	case __NR_io_uring_setup:
		return io_uring_setup((unsigned) a[0],
				      (struct io_uring_params *) a[1]);
	case __NR_io_uring_enter:
		return io_uring_enter2((unsigned) a[0], (unsigned) a[1],
				       (unsigned) a[2], (unsigned) a[3],
				       (sigset_t *) a[4], (size_t) a[5]);
	default:
		return io_uring_register((unsigned) a[0], (unsigned) a[1],
					 (const void *) a[2], (unsigned) a[3]);
	}
}

/* A rewritten call site's thunk (rewrite.c) lands here. The engine may
 * set errno; the code around the call must find its own. */
long ua_preload_call(long nr, const long a[6])
{
	int saved_errno = errno;
	long ret = run_call(nr, a);

	errno = saved_errno;
	return ret;
}

/* The engine may set errno; the interrupted code must find its own. */
static void on_sigsys(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	int saved_errno;
	long args[6];

	if (si->si_code != SYS_SECCOMP || si->si_errno != TRAP_MARK ||
	    si->si_arch != NATIVE_ARCH) {
		pass_to_application(sig, si, ctx);
		return;
	}
	saved_errno = errno;
	for (int i = 0; i < 6; i++)
		args[i] = (long) CALL_ARG(uc, i);
	__atomic_add_fetch(&traps_taken, 1, __ATOMIC_RELAXED);
	CALL_RESULT(uc) = run_call(si->si_syscall, args);
#if defined(__x86_64__)
	ua_preload_rewrite((uintptr_t) si->si_call_addr, (unsigned) si->si_syscall);
#endif
	errno = saved_errno;
}

/* SA_NODEFER: a signal handler that interrupts ours may make an io_uring
 * call too, and a trap while SIGSYS is blocked kills the process. */
static int install_handler(void)
{
	struct sigaction sa = { .sa_sigaction = on_sigsys,
				.sa_flags = SA_SIGINFO | SA_NODEFER };
	sigset_t set;

	sigemptyset(&sa.sa_mask);
	sigemptyset(&set);
	sigaddset(&set, SIGSYS);
	if (real_sigaction(SIGSYS, &sa, NULL))
		return -1;
	return real_pthread_sigmask(SIG_UNBLOCK, &set, NULL) ? -1 : 0;
}

/* Exactly the three calls of the native ABI trap; everything else goes on
 * to the next filter (a container's) or the kernel. */
static int install_filter(void)
{
	struct sock_filter insns[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 0, 4),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, __NR_io_uring_setup, 0, 2),
		BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, __NR_io_uring_register, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP | TRAP_MARK),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(insns) / sizeof(insns[0]),
				   .filter = insns };
	long ret;

	ret = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
		      SECCOMP_FILTER_FLAG_TSYNC, &prog);
	/* Without CAP_SYS_ADMIN a filter needs no_new_privs: set it only
	 * then, since it also stops exec from granting privileges. */
	if (ret < 0 && errno == EACCES) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
			return -1;
		ret = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			      SECCOMP_FILTER_FLAG_TSYNC, &prog);
	}
	if (ret > 0)		/* a thread with a filter state of its own */
		errno = ESRCH;
	return ret ? -1 : 0;
}

/* With our handler in place, a call that traps proves the filter is
 * already there. fd -1 is not a ring: the engine answers -EBADF. libc's
 * syscall(), since ours would not trap. */
static bool filter_present(void)
{
	unsigned long before = __atomic_load_n(&traps_taken, __ATOMIC_RELAXED);

	real_syscall(__NR_io_uring_register, -1, 0u, NULL, 0u);
	return __atomic_load_n(&traps_taken, __ATOMIC_RELAXED) != before;
}

static bool is_ours(long nr)
{
	return nr >= __NR_io_uring_setup && nr <= __NR_io_uring_register;
}

/*
 * syscall(2) itself: a program that makes its io_uring calls through libc
 * (fio does) reaches the engine with a function call. The trap costs a
 * signal delivery and a sigreturn on each call, which took more time than
 * a 4 KiB read from the page cache.
 */
EXPORT long syscall(long nr, ...)
{
	long a[6];
	va_list ap;
	long ret;

	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (!is_ours(nr)) {
		find_real();
		return real_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	}
	ret = ua_preload_call(nr, a);
	if (ret < 0) {
		errno = (int) -ret;
		return -1;
	}
	return ret;
}

/*
 * A program that maps the rings itself is done with a ring when it closes
 * the descriptor; the engine learns it from the release liburing's
 * io_uring_queue_exit() sends. Without it the ring's threads would run on,
 * and a call on a file that reuses the number would find the ring, where
 * the kernel fails it with -EOPNOTSUPP.
 */
EXPORT int close(int fd)
{
	struct ua_ctx **slot = ua_ring_slot(fd);

	find_real();
	if (slot && ua_ring_slot_holds_ctx(__atomic_load_n(slot, __ATOMIC_ACQUIRE)))
		io_uring_register((unsigned) fd, UA_REGISTER_RELEASE_RING, NULL, 0);
	return real_close(fd);
}

/* Early, before other constructors start threads or make rings. */
__attribute__((constructor(101))) static void preload_init(void)
{
	int saved_errno = errno;

	find_real();
	ua_preload_exec_init();
#if defined(__x86_64__)
	ua_preload_rewrite_init();
#endif
	if (install_handler() || (!filter_present() && install_filter()))
		fprintf(stderr, "uring-alike-preload: cannot trap the io_uring "
			"system calls (%s): they go to the kernel\n",
			strerror(errno));
	errno = saved_errno;
}

/* SIGSYS in a mask would turn our trap into the process's death. */
static const sigset_t *without_sigsys(int how, const sigset_t *set,
				      sigset_t *copy)
{
	if (!set || how == SIG_UNBLOCK || !sigismember(set, SIGSYS))
		return set;
	*copy = *set;
	sigdelset(copy, SIGSYS);
	return copy;
}

EXPORT int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	sigset_t copy;

	find_real();
	return real_sigprocmask(how, without_sigsys(how, set, &copy), old);
}

EXPORT int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	sigset_t copy;

	find_real();
	return real_pthread_sigmask(how, without_sigsys(how, set, &copy), old);
}

/* SIGSYS: the application's disposition is recorded, ours stays. Other
 * signals' handlers run with SIGSYS unblocked, for the same reason. */
EXPORT int sigaction(int sig, const struct sigaction *act,
		     struct sigaction *old)
{
	struct sigaction copy;

	find_real();
	if (sig != SIGSYS) {
		if (act && sigismember(&act->sa_mask, SIGSYS)) {
			copy = *act;
			sigdelset(&copy.sa_mask, SIGSYS);
			act = &copy;
		}
		return real_sigaction(sig, act, old);
	}
	pthread_mutex_lock(&app_sigsys_lock);
	if (old)
		app_sigsys_get(old);
	if (act)
		app_sigsys_set(act);
	pthread_mutex_unlock(&app_sigsys_lock);
	return 0;
}

/* glibc's signal(): BSD semantics, the handler stays and calls restart. */
EXPORT sighandler_t signal(int sig, sighandler_t handler)
{
	struct sigaction act = { .sa_handler = handler, .sa_flags = SA_RESTART },
			 old;

	if (sig != SIGSYS) {
		find_real();
		sigemptyset(&act.sa_mask);
		sigaddset(&act.sa_mask, sig);
		return real_sigaction(sig, &act, &old) ? SIG_ERR : old.sa_handler;
	}
	sigemptyset(&act.sa_mask);
	sigaction(sig, &act, &old);
	return old.sa_handler;
}
