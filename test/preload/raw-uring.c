/* SPDX-License-Identifier: MIT */
/*
 * raw-uring CASE: a program that makes the io_uring system calls itself,
 * with no liburing: syscall(2) for some, its own `syscall` instruction for
 * others, and its own mmap() of the rings at the kernel's offsets. It runs
 * on the kernel's io_uring and, under uring-alike-preload.so, on the
 * engine inside a seccomp profile that denies io_uring (test/preload/run.sh);
 * every expectation is the kernel's. Exit status 0: the case passed.
 *
 * Cases: basic, close, errno, fork, exec, vfork, exec-clean, sigsys, blocked, tsync PRELOAD,
 * site [rewritten].
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/io_uring.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup	425
#define __NR_io_uring_enter	426
#define __NR_io_uring_register	427
#endif

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "raw-uring: %s:%d: %s failed (errno %d)\n", \
			__FILE__, __LINE__, #cond, errno); \
		exit(1); \
	} \
} while (0)

/* The system call instruction itself, as fio and language runtimes make
 * it: no libc function in between. Returns -errno like the kernel. */
static long inline_syscall(long nr, long a, long b, long c, long d, long e,
			   long f)
{
	long ret;
#if defined(__x86_64__)
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;

	__asm__ volatile("syscall" : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8),
			   "r"(r9)
			 : "rcx", "r11", "memory");
#elif defined(__aarch64__)
	register long x8 __asm__("x8") = nr;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;
	register long x4 __asm__("x4") = e;
	register long x5 __asm__("x5") = f;

	__asm__ volatile("svc 0" : "+r"(x0)
			 : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
			 : "memory");
	ret = x0;
#else
#error "raw-uring knows the system call instruction of x86_64 and aarch64 only"
#endif
	return ret;
}

static long enter(int fd, unsigned submit, unsigned wait, unsigned flags)
{
	return inline_syscall(__NR_io_uring_enter, fd, submit, wait, flags, 0,
			      _NSIG / 8);
}

struct ring {
	int			fd;
	unsigned		*sq_tail, *sq_mask, *sq_array;
	unsigned		*cq_head, *cq_tail, *cq_mask;
	struct io_uring_cqe	*cqes;
	struct io_uring_sqe	*sqes;
};

/* Setup through libc's syscall(), or the instruction itself. */
static void ring_init(struct ring *r, bool inline_setup)
{
	struct io_uring_params p;
	size_t sq_len, cq_len;
	char *sq, *cq;

	memset(&p, 0, sizeof(p));
	r->fd = inline_setup ?
		(int) inline_syscall(__NR_io_uring_setup, 8, (long) &p, 0, 0, 0, 0) :
		(int) syscall(__NR_io_uring_setup, 8, &p);
	CHECK(r->fd >= 0);
	CHECK(p.sq_entries == 8 && p.cq_entries == 16);
	sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		  r->fd, IORING_OFF_SQ_RING);
	cq = mmap(NULL, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		  r->fd, IORING_OFF_CQ_RING);
	r->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe),
		       PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
		       IORING_OFF_SQES);
	CHECK(sq != MAP_FAILED && cq != MAP_FAILED && r->sqes != MAP_FAILED);
	r->sq_tail = (unsigned *) (sq + p.sq_off.tail);
	r->sq_mask = (unsigned *) (sq + p.sq_off.ring_mask);
	r->sq_array = (unsigned *) (sq + p.sq_off.array);
	r->cq_head = (unsigned *) (cq + p.cq_off.head);
	r->cq_tail = (unsigned *) (cq + p.cq_off.tail);
	r->cq_mask = (unsigned *) (cq + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *) (cq + p.cq_off.cqes);
}

static struct io_uring_sqe *next_sqe(struct ring *r)
{
	unsigned tail = *r->sq_tail, idx = tail & *r->sq_mask;
	struct io_uring_sqe *sqe = &r->sqes[idx];

	memset(sqe, 0, sizeof(*sqe));
	r->sq_array[idx] = idx;
	__atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
	return sqe;
}

/* Submits what is queued, waits for as many completions and returns the
 * result of the one tagged user_data. */
static int submit_and_reap(struct ring *r, unsigned nr, __u64 user_data)
{
	unsigned head, got = 0;
	int res = -1;

	CHECK(enter(r->fd, nr, nr, IORING_ENTER_GETEVENTS) == nr);
	head = *r->cq_head;
	while (got < nr) {
		struct io_uring_cqe *cqe;

		CHECK(head != __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE));
		cqe = &r->cqes[head & *r->cq_mask];
		if (cqe->user_data == user_data)
			res = cqe->res;
		head++;
		got++;
	}
	__atomic_store_n(r->cq_head, head, __ATOMIC_RELEASE);
	return res;
}

static const char contents[] = "raw system calls reach the engine";

static int data_file(void)
{
	char path[] = "/tmp/raw-uring-XXXXXX";
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	unlink(path);
	CHECK(write(fd, contents, sizeof(contents)) == sizeof(contents));
	return fd;
}

/* A read, a NOP and a read of a closed descriptor, as the kernel does
 * them; then the calls' own errors. */
static void use_ring(bool inline_setup)
{
	char buf[64] = { 0 };
	struct io_uring_sqe *sqe;
	struct ring r;
	int fd = data_file();

	ring_init(&r, inline_setup);
	sqe = next_sqe(&r);
	sqe->opcode = IORING_OP_READ;
	sqe->fd = fd;
	sqe->addr = (__u64) (uintptr_t) buf;
	sqe->len = sizeof(buf);
	sqe->off = 4;
	sqe->user_data = 1;
	next_sqe(&r)->opcode = IORING_OP_NOP;
	CHECK(submit_and_reap(&r, 2, 1) == (int) sizeof(contents) - 4);
	CHECK(!strcmp(buf, contents + 4));

	sqe = next_sqe(&r);
	sqe->opcode = IORING_OP_READ;
	sqe->fd = 999;
	sqe->addr = (__u64) (uintptr_t) buf;
	sqe->len = sizeof(buf);
	sqe->user_data = 2;
	CHECK(submit_and_reap(&r, 1, 2) == -EBADF);

	CHECK(enter(fd, 0, 0, 0) == -EOPNOTSUPP);
	CHECK(enter(-1, 0, 0, 0) == -EBADF);
	CHECK(enter(r.fd, 0, 0, 1u << 31) == -EINVAL);
	errno = 0;
	CHECK(syscall(__NR_io_uring_setup, 0, NULL) == -1 && errno == EFAULT);
	CHECK(syscall(__NR_io_uring_register, 999, IORING_REGISTER_PROBE, NULL,
		      0) == -1 && errno == EBADF);
	CHECK(inline_syscall(__NR_io_uring_register, r.fd, IORING_UNREGISTER_FILES,
			     0, 0, 0, 0) == -ENXIO);
	close(r.fd);
	close(fd);
}

/* A failing call must leave errno as it was: the trap returns through a
 * signal handler, and the engine's own calls set errno on the way. */
static void errno_kept(void)
{
	struct io_uring_params p;
	struct ring r;
	int fd;

	/* The first ring: the engine probes what the sandbox allows. */
	memset(&p, 0, sizeof(p));
	errno = E2BIG;
	fd = (int) syscall(__NR_io_uring_setup, 4, &p);
	CHECK(fd >= 0 && errno == E2BIG);
	CHECK(syscall(__NR_io_uring_enter, 999, 0, 0, 0, NULL, 0) == -1 &&
	      errno == EBADF);
	close(fd);

	ring_init(&r, true);
	errno = E2BIG;
	CHECK(enter(999, 0, 0, 0) == -EBADF);	/* not open */
	CHECK(errno == E2BIG);
	CHECK(enter(r.fd, 0, 0, 0) == 0);
	CHECK(errno == E2BIG);
	close(r.fd);
}

static int wait_child(pid_t pid)
{
	int status;

	CHECK(waitpid(pid, &status, 0) == pid);
	if (WIFSIGNALED(status))
		fprintf(stderr, "raw-uring: child killed by signal %d\n",
			WTERMSIG(status));
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* The child makes a ring of its own; the parent's keeps working. */
static void forked(void)
{
	struct ring r;
	pid_t pid;

	ring_init(&r, false);
	pid = fork();
	CHECK(pid >= 0);
	if (!pid) {
		use_ring(true);
		_exit(0);
	}
	CHECK(wait_child(pid) == 0);
	next_sqe(&r)->opcode = IORING_OP_NOP;
	CHECK(submit_and_reap(&r, 1, 0) == 0);
	close(r.fd);
}

/* How many seccomp filters the process runs under. */
static int seccomp_filters(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	int n = -1;

	CHECK(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Seccomp_filters: %d", &n) == 1)
			break;
	fclose(f);
	return n;
}

/* How many threads the process has. */
static int threads(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	int n = -1;

	CHECK(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	fclose(f);
	return n;
}

/* close() is the end of a ring: nothing of it runs on, and a file that
 * takes its number is no ring. (The first ring may leave threads of the
 * process's own behind: counted after it.) */
static void closed_ring(void)
{
	int before, fd;
	struct ring r;

	ring_init(&r, true);
	CHECK(!close(r.fd));
	before = threads();
	ring_init(&r, true);
	next_sqe(&r)->opcode = IORING_OP_NOP;
	CHECK(submit_and_reap(&r, 1, 0) == 0);
	CHECK(!close(r.fd));
	CHECK(threads() == before);
	fd = open("/dev/null", O_RDONLY);
	CHECK(fd == r.fd);
	CHECK(enter(fd, 0, 0, 0) == -EOPNOTSUPP);
	close(fd);
}

/* The exec'd program gets the environment, and with it the preload,
 * which finds the filter in place and does not stack another. */
static void exec_child(bool use_vfork)
{
	char filters[16];
	char *argv[] = { "raw-uring", "exec-child", filters, NULL };
	pid_t pid;

	snprintf(filters, sizeof(filters), "%d", seccomp_filters());
	pid = use_vfork ? vfork() : fork();

	CHECK(pid >= 0);
	if (!pid) {
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	CHECK(wait_child(pid) == 0);
	use_ring(false);
}

/* A child exec'd with an environment that lost the preload (env -i) still
 * gets it: it has the filter, and without the handler its first io_uring
 * call would kill it. fork+execve, vfork+execle, posix_spawn. */
static void exec_clean_env(void)
{
	char filters[16];
	char *argv[] = { "raw-uring", "exec-child", filters, NULL };
	char *empty[] = { NULL }, *blank[] = { "LD_PRELOAD=", NULL };
	pid_t pid;

	snprintf(filters, sizeof(filters), "%d", seccomp_filters());
	pid = fork();
	CHECK(pid >= 0);
	if (!pid) {
		execve("/proc/self/exe", argv, empty);
		_exit(127);
	}
	CHECK(wait_child(pid) == 0);
	pid = vfork();
	CHECK(pid >= 0);
	if (!pid) {
		execle("/proc/self/exe", "raw-uring", "exec-child", filters,
		       (char *) NULL, empty);
		_exit(127);
	}
	CHECK(wait_child(pid) == 0);
	CHECK(!posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv, blank));
	CHECK(wait_child(pid) == 0);
}

/* A filter of the program's own traps getppid(): its SIGSYS handler
 * answers it, while the io_uring calls keep working around it. */
#define OWN_TRAP_DATA	0x42
#define OWN_ANSWER	4242

static volatile sig_atomic_t own_handler_runs;

static void own_sigsys(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;

	(void) sig;
	if (si->si_errno != OWN_TRAP_DATA)
		abort();
	own_handler_runs++;
#if defined(__x86_64__)
	uc->uc_mcontext.gregs[REG_RAX] = OWN_ANSWER;
#else
	uc->uc_mcontext.regs[0] = OWN_ANSWER;
#endif
}

static void trap_getppid(void)
{
	struct sock_filter insns[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getppid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP | OWN_TRAP_DATA),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(insns) / sizeof(insns[0]),
				   .filter = insns };

	CHECK(!prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
	CHECK(!syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog));
}

static void own_sigsys_handler(void)
{
	struct sigaction sa = { .sa_sigaction = own_sigsys,
				.sa_flags = SA_SIGINFO }, old;

	sigemptyset(&sa.sa_mask);
	CHECK(!sigaction(SIGSYS, &sa, NULL));
	CHECK(!sigaction(SIGSYS, NULL, &old));
	CHECK((old.sa_flags & SA_SIGINFO) && old.sa_sigaction == own_sigsys);
	trap_getppid();
	CHECK(inline_syscall(__NR_getppid, 0, 0, 0, 0, 0, 0) == OWN_ANSWER);
	CHECK(syscall(__NR_getppid) == OWN_ANSWER);
	CHECK(own_handler_runs == 2);
	use_ring(true);
	CHECK(own_handler_runs == 2);
}

/* Every signal blocked, in this thread and in one it starts. */
static void *blocked_thread(void *arg)
{
	(void) arg;
	use_ring(true);
	return NULL;
}

static void signals_blocked(void)
{
	sigset_t all;
	pthread_t t;

	sigfillset(&all);
	CHECK(!sigprocmask(SIG_BLOCK, &all, NULL));
	use_ring(true);
	CHECK(!pthread_create(&t, NULL, blocked_thread, NULL));
	CHECK(!pthread_join(t, NULL));
	CHECK(!pthread_sigmask(SIG_SETMASK, &all, NULL));
	use_ring(false);
}

#if defined(__x86_64__)
/*
 * The sequence compilers emit for a call with a constant number, as fio
 * has it: `mov $426,%eax; syscall`, the mov inside one aligned 8-byte
 * word, which the preload rewrites into a jump after the first trap.
 * Every register the instruction keeps (all but rax, rcx, r11), xmm0
 * included, must come back unchanged.
 */
extern const unsigned char raw_uring_site[];

__attribute__((noinline)) static long enter_at_site(int fd, unsigned submit,
						    unsigned wait, unsigned flags)
{
	register long r10 __asm__("r10") = flags;
	register long r8 __asm__("r8") = 0;
	register long r9 __asm__("r9") = _NSIG / 8;
	register double x0 __asm__("xmm0") = 2.5;
	long rdi = fd, rsi = submit, rdx = wait, ret;

	__asm__ volatile(".p2align 3\n"
			 "raw_uring_site:\n"
			 "	mov $426, %%eax\n"
			 "	syscall"
			 : "=a"(ret), "+D"(rdi), "+S"(rsi), "+d"(rdx),
			   "+r"(r10), "+r"(r8), "+r"(r9), "+x"(x0)
			 : : "rcx", "r11", "memory");
	CHECK(rdi == fd && rsi == submit && rdx == wait && r10 == flags &&
	      r8 == 0 && r9 == _NSIG / 8 && x0 == 2.5);
	return ret;
}

static void rewritten_site(bool expect_rewritten)
{
	struct ring r;
	int i;

	ring_init(&r, false);
	for (i = 0; i < 100; i++) {
		next_sqe(&r)->opcode = IORING_OP_NOP;
		errno = E2BIG;
		CHECK(enter_at_site(r.fd, 1, 1, IORING_ENTER_GETEVENTS) == 1);
		CHECK(enter_at_site(999, 0, 0, 0) == -EBADF);
		CHECK(errno == E2BIG);
		(*r.cq_head)++;
	}
	/* jmp rel32 in place of the mov */
	CHECK(!expect_rewritten || raw_uring_site[0] == 0xe9);
	close(r.fd);
}
#endif

/* A thread that exists before the preload is loaded (dlopen here, a
 * constructor that starts threads elsewhere) gets the filter too. */
static pthread_mutex_t go_lock = PTHREAD_MUTEX_INITIALIZER;

static void *early_thread(void *arg)
{
	(void) arg;
	pthread_mutex_lock(&go_lock);
	use_ring(true);
	pthread_mutex_unlock(&go_lock);
	return NULL;
}

static void thread_before_preload(const char *preload)
{
	pthread_t t;

	pthread_mutex_lock(&go_lock);
	CHECK(!pthread_create(&t, NULL, early_thread, NULL));
	if (strcmp(preload, "-"))
		CHECK(dlopen(preload, RTLD_NOW));
	pthread_mutex_unlock(&go_lock);
	CHECK(!pthread_join(t, NULL));
}

int main(int argc, char **argv)
{
	const char *c = argc > 1 ? argv[1] : "";

	if (!strcmp(c, "basic")) {
		use_ring(false);
		use_ring(true);
	} else if (!strcmp(c, "exec-child") && argc > 2) {
		use_ring(true);
		CHECK(seccomp_filters() == atoi(argv[2]));
	} else if (!strcmp(c, "close")) {
		closed_ring();
	} else if (!strcmp(c, "errno")) {
		errno_kept();
	} else if (!strcmp(c, "fork")) {
		forked();
	} else if (!strcmp(c, "exec")) {
		exec_child(false);
	} else if (!strcmp(c, "vfork")) {
		exec_child(true);
	} else if (!strcmp(c, "exec-clean")) {
		exec_clean_env();
	} else if (!strcmp(c, "sigsys")) {
		own_sigsys_handler();
	} else if (!strcmp(c, "blocked")) {
		signals_blocked();
#if defined(__x86_64__)
	} else if (!strcmp(c, "site")) {
		rewritten_site(argc > 2 && !strcmp(argv[2], "rewritten"));
#endif
	} else if (!strcmp(c, "tsync") && argc > 2) {
		thread_before_preload(argv[2]);
	} else {
		fprintf(stderr, "usage: raw-uring basic|close|errno|fork|exec|vfork|exec-clean|"
				"sigsys|blocked|tsync PRELOAD|-|site [rewritten]\n");
		return 2;
	}
	return 0;
}
