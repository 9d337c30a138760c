/* SPDX-License-Identifier: MIT */
/*
 * uring-alike-run [OPTIONS] COMMAND [ARGS...]
 *
 * Runs a program nobody rebuilt with uring-alike in place of the kernel's
 * io_uring: the directory holding the liburing.so.2 drop-in goes in front
 * of LD_LIBRARY_PATH, so the dynamic loader resolves the program's liburing
 * to us, and the preload that catches the raw io_uring system calls goes
 * into LD_PRELOAD when it is there. Both variables are inherited, so the
 * program's children get the same. --check says what COMMAND would get
 * without running it.
 *
 * The libraries are looked up next to this program first (the build tree
 * puts them there), then where `make install` put them relative to it, then
 * at the installed path compiled in.
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "liburing.h"

#ifndef UA_PKGLIBDIR
#define UA_PKGLIBDIR		"/usr/local/lib/uring-alike"
#endif
#ifndef UA_BIN_TO_PKGLIB
#define UA_BIN_TO_PKGLIB	"../lib/uring-alike"
#endif
#ifndef UA_VERSION
#define UA_VERSION		"unknown"
#endif
#ifndef SYS_io_uring_setup
#define SYS_io_uring_setup	425
#endif

#define PROG		"uring-alike-run"
#define DROPIN		"liburing.so.2"
#define DROPIN_FFI	"liburing-ffi.so.2"
#define PRELOAD		"uring-alike-preload.so"

struct libs {
	char dir[PATH_MAX];		/* holds DROPIN */
	char preload[PATH_MAX];		/* empty when there is none */
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: " PROG " [OPTIONS] COMMAND [ARGS...]\n"
		"Run COMMAND with uring-alike serving its io_uring: programs linked to\n"
		"liburing.so.2 get uring-alike's drop-in, and raw io_uring system calls\n"
		"are caught by the preload library when it is installed.\n"
		"\n"
		"  --check COMMAND  say what COMMAND would get, without running it\n"
		"  --no-preload     only the liburing.so.2 drop-in, no preload\n"
		"  -h, --help       this help\n"
		"  -V, --version    the version\n");
}

static bool is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Where this program lives, without its name. */
static bool own_dir(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	char *slash;

	if (n <= 0)
		return false;
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (!slash)
		return false;
	*slash = '\0';
	return true;
}

/* DIR/NAME into OUT; false when it does not fit. */
static bool join(char out[PATH_MAX], const char *dir, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);

	return n > 0 && n < PATH_MAX;
}

static bool find_dropin_dir(char out[PATH_MAX])
{
	const char *rel[] = { "uring-alike", UA_BIN_TO_PKGLIB };
	char self[PATH_MAX], dir[PATH_MAX], lib[PATH_MAX];
	bool have_self = own_dir(self, sizeof(self));

	for (size_t i = 0; i <= sizeof(rel) / sizeof(rel[0]); i++) {
		if (i < sizeof(rel) / sizeof(rel[0])) {
			if (!have_self || !join(dir, self, rel[i]))
				continue;
		} else {
			snprintf(dir, sizeof(dir), "%s", UA_PKGLIBDIR);
		}
		if (join(lib, dir, DROPIN) && is_file(lib) && realpath(dir, out))
			return true;
	}
	return false;
}

/* Installed, the preload sits beside the drop-in; in the build tree, one
 * directory up. */
static void find_preload(struct libs *l)
{
	char cand[PATH_MAX];

	l->preload[0] = '\0';
	if (!join(cand, l->dir, PRELOAD) || !is_file(cand)) {
		if (!join(cand, l->dir, "../" PRELOAD) || !is_file(cand))
			return;
	}
	if (!realpath(cand, l->preload))
		l->preload[0] = '\0';
}

static bool has_entry(const char *list, const char *entry, const char *seps)
{
	size_t len = strlen(entry);

	for (const char *p = list; *p; ) {
		size_t n = strcspn(p, seps);

		if (n == len && !strncmp(p, entry, len))
			return true;
		p += n;
		p += strspn(p, seps);
	}
	return false;
}

/* Puts ENTRY first in the list variable VAR, keeping what was there. */
static int prepend_entry(const char *var, const char *entry, const char *seps)
{
	const char *old = getenv(var);
	char *val;
	int ret;

	if (!old || !*old)
		return setenv(var, entry, 1);
	if (has_entry(old, entry, seps))
		return 0;
	if (asprintf(&val, "%s:%s", entry, old) < 0)
		return -1;
	ret = setenv(var, val, 1);
	free(val);
	return ret;
}

/* The file execvp() would run for NAME. */
static bool resolve_command(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH");

	if (strchr(name, '/'))
		return snprintf(out, len, "%s", name) < (int)len && is_file(out);
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (const char *p = path; ; ) {
		size_t n = strcspn(p, ":");

		if (snprintf(out, len, "%.*s/%s", (int)n, n ? p : ".", name) <
		    (int)len && is_file(out) && access(out, X_OK) == 0)
			return true;
		if (!p[n])
			return false;
		p += n + 1;
	}
}

/* The loader runs a set-user-ID or set-group-ID program that changes who
 * runs it in secure-execution mode, where it ignores LD_LIBRARY_PATH and
 * LD_PRELOAD. */
static const char *secure_execution(const char *path)
{
	struct statvfs fs;
	struct stat st;

	if (stat(path, &st) || (statvfs(path, &fs) == 0 && (fs.f_flag & ST_NOSUID)))
		return NULL;
	if ((st.st_mode & S_ISUID) && st.st_uid != geteuid())
		return "set-user-ID";
	if ((st.st_mode & S_ISGID) && st.st_gid != getegid())
		return "set-group-ID";
	return NULL;
}

static void warn_secure_execution(const char *path)
{
	const char *what = secure_execution(path);

	if (what)
		fprintf(stderr, PROG ": %s is %s: the dynamic loader ignores "
			"LD_LIBRARY_PATH and LD_PRELOAD for it, so it runs "
			"without uring-alike (with the kernel's io_uring, if "
			"any); a copy without the bit would get uring-alike\n",
			path, what);
}

static int run(const struct libs *l, bool preload, char **argv)
{
	char path[PATH_MAX];

	if (prepend_entry("LD_LIBRARY_PATH", l->dir, ":") ||
	    (preload && l->preload[0] &&
	     prepend_entry("LD_PRELOAD", l->preload, ": "))) {
		perror(PROG ": setting the environment");
		return 126;
	}
	if (resolve_command(argv[0], path, sizeof(path)))
		warn_secure_execution(path);
	execvp(argv[0], argv);
	fprintf(stderr, PROG ": %s: %s\n", argv[0], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}

/* --check */

struct elf_info {
	bool elf;
	bool dynamic;		/* has an interpreter: the loader reads LD_* */
};

static struct elf_info read_elf(const char *path)
{
	struct elf_info info = { false, false };
	ElfW(Ehdr) eh;
	FILE *f = fopen(path, "rb");

	if (!f)
		return info;
	if (fread(&eh, sizeof(eh), 1, f) == 1 && !memcmp(eh.e_ident, ELFMAG, SELFMAG) &&
	    eh.e_ident[EI_CLASS] == (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32)) {
		info.elf = true;
		for (unsigned i = 0; i < eh.e_phnum; i++) {
			ElfW(Phdr) ph;

			if (fseek(f, (long)(eh.e_phoff + (ElfW(Off))i * eh.e_phentsize), SEEK_SET) ||
			    fread(&ph, sizeof(ph), 1, f) != 1)
				break;
			if (ph.p_type == PT_INTERP)
				info.dynamic = true;
		}
	}
	fclose(f);
	return info;
}

/* The system's dynamic loader: this program's own interpreter, so a
 * program's PT_INTERP is never run. */
static int interp_of_self(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		if (info->dlpi_phdr[i].p_type == PT_INTERP) {
			snprintf(data, PATH_MAX, "%s",
				 (const char *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr));
			return 1;
		}
	}
	return 1;	/* only the main program */
}

/* Asks the loader which file each library of PATH resolves to, with the
 * drop-in directory in place; `ld.so --list` maps but runs nothing. */
static bool resolved_library(const char *path, const char *dir, const char *soname,
			     char *out, size_t len)
{
	char interp[PATH_MAX] = "";
	char line[PATH_MAX + 256];
	int fds[2];
	bool found = false;
	FILE *f;
	pid_t pid;

	dl_iterate_phdr(interp_of_self, interp);
	if (!interp[0] || pipe(fds))
		return false;
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		unsetenv("LD_PRELOAD");
		if (prepend_entry("LD_LIBRARY_PATH", dir, ":") == 0)
			execl(interp, interp, "--list", path, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	while (f && fgets(line, sizeof(line), f)) {
		char *name = line + strspn(line, " \t");
		size_t n = strlen(soname);

		if (!found && !strncmp(name, soname, n) && !strncmp(name + n, " => ", 4)) {
			char *file = name + n + 4;

			file[strcspn(file, " \n")] = '\0';
			found = snprintf(out, len, "%s", file) < (int)len;
		}
	}
	if (f)
		fclose(f);
	else
		close(fds[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return found;
}

static bool in_dir(const char *file, const char *dir)
{
	char real[PATH_MAX];
	size_t n = strlen(dir);

	return realpath(file, real) && !strncmp(real, dir, n) && real[n] == '/';
}

/* Whether COMMAND loads DROPIN (or the ffi library), and from where. */
static bool check_linkage(const char *path, const struct libs *l)
{
	const char *sonames[] = { DROPIN, DROPIN_FFI };
	bool ours = false, linked = false;
	char file[PATH_MAX];

	for (size_t i = 0; i < sizeof(sonames) / sizeof(sonames[0]); i++) {
		if (!resolved_library(path, l->dir, sonames[i], file, sizeof(file)))
			continue;
		linked = true;
		if (in_dir(file, l->dir)) {
			ours = true;
			printf("%-16s linked; resolves to the drop-in %s\n", sonames[i], file);
		} else {
			printf("%-16s linked; resolves to %s, NOT the drop-in\n",
			       sonames[i], file);
		}
	}
	if (!linked)
		printf("%-16s not linked: only the preload can serve io_uring "
		       "system calls it makes itself\n", DROPIN);
	return ours;
}

#ifndef SYS_io_uring_register
#define SYS_io_uring_register	427
#endif
#define PROBE_OPS	256

static struct io_uring_probe *alloc_probe(void)
{
	return calloc(1, sizeof(struct io_uring_probe) +
			 PROBE_OPS * sizeof(struct io_uring_probe_op));
}

/* Says whether the kernel's io_uring works here; when it does, returns
 * its probe, for the operations uring-alike lacks. */
static struct io_uring_probe *check_kernel(void)
{
	struct io_uring_probe *probe = NULL;
	struct io_uring_params p;
	long fd;

	memset(&p, 0, sizeof(p));
	fd = syscall(SYS_io_uring_setup, 1, &p);
	if (fd >= 0) {
		printf("%-16s usable here\n", "kernel io_uring");
		probe = alloc_probe();
		if (probe && syscall(SYS_io_uring_register, fd, IORING_REGISTER_PROBE,
				     probe, PROBE_OPS) < 0) {
			free(probe);
			probe = NULL;
		}
		close((int)fd);
	} else if (errno == ENOSYS) {
		printf("%-16s absent (io_uring_setup: ENOSYS)\n", "kernel io_uring");
	} else if (errno == EPERM) {
		printf("%-16s denied (io_uring_setup: EPERM: a seccomp profile "
		       "such as Docker's, or kernel.io_uring_disabled)\n", "kernel io_uring");
	} else {
		printf("%-16s unusable (io_uring_setup: %s)\n", "kernel io_uring",
		       strerror(errno));
	}
	return probe;
}

static const char *const op_names[] = {
	[IORING_OP_NOP] = "NOP", [IORING_OP_READV] = "READV",
	[IORING_OP_WRITEV] = "WRITEV", [IORING_OP_FSYNC] = "FSYNC",
	[IORING_OP_READ_FIXED] = "READ_FIXED", [IORING_OP_WRITE_FIXED] = "WRITE_FIXED",
	[IORING_OP_POLL_ADD] = "POLL_ADD", [IORING_OP_POLL_REMOVE] = "POLL_REMOVE",
	[IORING_OP_SYNC_FILE_RANGE] = "SYNC_FILE_RANGE", [IORING_OP_SENDMSG] = "SENDMSG",
	[IORING_OP_RECVMSG] = "RECVMSG", [IORING_OP_TIMEOUT] = "TIMEOUT",
	[IORING_OP_TIMEOUT_REMOVE] = "TIMEOUT_REMOVE", [IORING_OP_ACCEPT] = "ACCEPT",
	[IORING_OP_ASYNC_CANCEL] = "ASYNC_CANCEL", [IORING_OP_LINK_TIMEOUT] = "LINK_TIMEOUT",
	[IORING_OP_CONNECT] = "CONNECT", [IORING_OP_FALLOCATE] = "FALLOCATE",
	[IORING_OP_OPENAT] = "OPENAT", [IORING_OP_CLOSE] = "CLOSE",
	[IORING_OP_FILES_UPDATE] = "FILES_UPDATE", [IORING_OP_STATX] = "STATX",
	[IORING_OP_READ] = "READ", [IORING_OP_WRITE] = "WRITE",
	[IORING_OP_FADVISE] = "FADVISE", [IORING_OP_MADVISE] = "MADVISE",
	[IORING_OP_SEND] = "SEND", [IORING_OP_RECV] = "RECV",
	[IORING_OP_OPENAT2] = "OPENAT2", [IORING_OP_EPOLL_CTL] = "EPOLL_CTL",
	[IORING_OP_SPLICE] = "SPLICE", [IORING_OP_PROVIDE_BUFFERS] = "PROVIDE_BUFFERS",
	[IORING_OP_REMOVE_BUFFERS] = "REMOVE_BUFFERS", [IORING_OP_TEE] = "TEE",
	[IORING_OP_SHUTDOWN] = "SHUTDOWN", [IORING_OP_RENAMEAT] = "RENAMEAT",
	[IORING_OP_UNLINKAT] = "UNLINKAT", [IORING_OP_MKDIRAT] = "MKDIRAT",
	[IORING_OP_SYMLINKAT] = "SYMLINKAT", [IORING_OP_LINKAT] = "LINKAT",
	[IORING_OP_MSG_RING] = "MSG_RING", [IORING_OP_FSETXATTR] = "FSETXATTR",
	[IORING_OP_SETXATTR] = "SETXATTR", [IORING_OP_FGETXATTR] = "FGETXATTR",
	[IORING_OP_GETXATTR] = "GETXATTR", [IORING_OP_SOCKET] = "SOCKET",
	[IORING_OP_URING_CMD] = "URING_CMD", [IORING_OP_SEND_ZC] = "SEND_ZC",
	[IORING_OP_SENDMSG_ZC] = "SENDMSG_ZC", [IORING_OP_READ_MULTISHOT] = "READ_MULTISHOT",
	[IORING_OP_WAITID] = "WAITID", [IORING_OP_FUTEX_WAIT] = "FUTEX_WAIT",
	[IORING_OP_FUTEX_WAKE] = "FUTEX_WAKE", [IORING_OP_FUTEX_WAITV] = "FUTEX_WAITV",
	[IORING_OP_FIXED_FD_INSTALL] = "FIXED_FD_INSTALL",
	[IORING_OP_FTRUNCATE] = "FTRUNCATE", [IORING_OP_BIND] = "BIND",
	[IORING_OP_LISTEN] = "LISTEN", [IORING_OP_RECV_ZC] = "RECV_ZC",
	[IORING_OP_EPOLL_WAIT] = "EPOLL_WAIT", [IORING_OP_READV_FIXED] = "READV_FIXED",
	[IORING_OP_WRITEV_FIXED] = "WRITEV_FIXED", [IORING_OP_PIPE] = "PIPE",
};

static bool op_supported(const struct io_uring_probe *probe, unsigned op)
{
	return probe && op <= probe->last_op &&
	       (probe->ops[op].flags & IO_URING_OP_SUPPORTED);
}

/* The operations PROBE supports and LESS (if any) does not. */
static void print_ops(const char *label, const struct io_uring_probe *probe,
		      const struct io_uring_probe *less)
{
	unsigned n = 0;

	for (unsigned op = 0; op <= probe->last_op; op++)
		n += op_supported(probe, op) && !op_supported(less, op);
	printf("%-16s %u:", label, n);
	for (unsigned op = 0; op <= probe->last_op; op++) {
		if (!op_supported(probe, op) || op_supported(less, op))
			continue;
		if (op < sizeof(op_names) / sizeof(op_names[0]) && op_names[op])
			printf(" %s", op_names[op]);
		else
			printf(" op%u", op);
	}
	printf("\n");
}

static const char *const feat_names[] = {
	"SINGLE_MMAP", "NODROP", "SUBMIT_STABLE", "RW_CUR_POS", "CUR_PERSONALITY",
	"FAST_POLL", "POLL_32BITS", "SQPOLL_NONFIXED", "EXT_ARG", "NATIVE_WORKERS",
	"RSRC_TAGS", "CQE_SKIP", "LINKED_FILE", "REG_REG_RING", "RECVSEND_BUNDLE",
	"MIN_TIMEOUT", "RW_ATTR", "NO_IOWAIT",
};

static void print_features(unsigned features)
{
	printf("%-16s", "emulated feats");
	for (unsigned bit = 0; bit < 32; bit++) {
		if (!(features & (1U << bit)))
			continue;
		if (bit < sizeof(feat_names) / sizeof(feat_names[0]))
			printf(" %s", feat_names[bit]);
		else
			printf(" bit%u", bit);
	}
	printf("\n");
}

/* What the drop-in's engine does, asked from the engine itself, and what
 * the kernel's io_uring (when usable) has that it lacks. */
static void check_emulated(const struct libs *l, const struct io_uring_probe *kernel)
{
	char path[PATH_MAX];
	struct io_uring_probe *(*get_probe)(void);
	void (*free_probe)(struct io_uring_probe *);
	int (*setup)(unsigned, struct io_uring_params *);
	struct io_uring_params p;
	void *lib;
	int fd;

	if (!join(path, l->dir, DROPIN))
		return;
	lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		printf("%-16s cannot load the drop-in: %s\n", "emulated ops", dlerror());
		return;
	}
	*(void **)&get_probe = dlsym(lib, "io_uring_get_probe");
	*(void **)&free_probe = dlsym(lib, "io_uring_free_probe");
	*(void **)&setup = dlsym(lib, "io_uring_setup");
	if (get_probe && free_probe) {
		struct io_uring_probe *probe = get_probe();

		if (probe) {
			print_ops("emulated ops", probe, NULL);
			if (kernel)
				print_ops("kernel-only ops", kernel, probe);
			free_probe(probe);
		}
	}
	memset(&p, 0, sizeof(p));
	if (setup && (fd = setup(1, &p)) >= 0) {
		print_features(p.features);
		close(fd);
	}
	dlclose(lib);
}

/* Prints what COMMAND would get; true when uring-alike would serve it. */
static bool check(const struct libs *l, const char *command)
{
	char path[PATH_MAX];
	struct io_uring_probe *kernel;
	struct elf_info elf;
	const char *secure;
	bool served = false;

	if (!resolve_command(command, path, sizeof(path))) {
		fprintf(stderr, PROG ": %s: command not found\n", command);
		return false;
	}
	printf("%-16s %s\n", "command", path);
	printf("%-16s %s/" DROPIN "\n", "drop-in", l->dir);
	if (l->preload[0])
		printf("%-16s %s (raw io_uring system calls run in uring-alike)\n",
		       "preload", l->preload);
	else
		printf("%-16s not installed: raw io_uring system calls go to the kernel\n",
		       "preload");
	elf = read_elf(path);
	secure = secure_execution(path);
	if (!elf.elf) {
		printf("%-16s not a native ELF program (a script?): check the "
		       "program it runs\n", "linkage");
	} else if (!elf.dynamic) {
		printf("%-16s statically linked: neither the drop-in nor the "
		       "preload reaches it\n", "linkage");
	} else if (secure) {
		printf("%-16s %s: the loader ignores LD_LIBRARY_PATH and "
		       "LD_PRELOAD, uring-alike cannot serve it (a copy without "
		       "the bit can)\n", "linkage", secure);
	} else {
		served = check_linkage(path, l) || l->preload[0];
	}
	kernel = check_kernel();
	check_emulated(l, kernel);
	free(kernel);
	printf("%-16s %s\n", "verdict", served ?
	       "its io_uring runs in uring-alike" :
	       "uring-alike does not serve it");
	return served;
}

int main(int argc, char **argv)
{
	bool preload = true, checking = false;
	struct libs l;
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--")) {
			i++;
			break;
		} else if (!strcmp(a, "--check")) {
			checking = true;
			i++;
			break;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			printf(PROG " (uring-alike) " UA_VERSION "\n");
			return 0;
		} else if (!strcmp(a, "--no-preload")) {
			preload = false;
		} else {
			fprintf(stderr, PROG ": unknown option %s\n", a);
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		if (checking)
			fprintf(stderr, PROG ": --check needs a COMMAND\n");
		else
			usage(stderr);
		return 2;
	}
	if (!find_dropin_dir(l.dir)) {
		fprintf(stderr, PROG ": cannot find uring-alike's " DROPIN
			" (looked beside this program and in " UA_PKGLIBDIR ")\n");
		return 126;
	}
	find_preload(&l);
	if (checking)
		return check(&l, argv[i]) ? 0 : 1;
	return run(&l, preload, argv + i);
}
