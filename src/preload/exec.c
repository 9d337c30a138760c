/* SPDX-License-Identifier: MIT */
/*
 * The filter outlives exec, and the handler comes back only with the
 * library, which the new program loads from LD_PRELOAD. A program that
 * hands its child an environment without it (env -i, a cleaned-up
 * environment) would give the child a filter and no handler: its first
 * io_uring call would kill it. So every exec and posix_spawn passes an
 * environment that loads the library: first in LD_PRELOAD, or as
 * LD_PRELOAD. Nothing is allocated here: a vfork child execs through
 * these, sharing its parent's heap.
 */
#include <dlfcn.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "preload/preload.h"

#define EXPORT	__attribute__((visibility("default")))
#define VAR	"LD_PRELOAD="
#define VAR_LEN	(sizeof(VAR) - 1)

extern char **environ;

typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*execveat_fn)(int, const char *, char *const[], char *const[], int);
typedef int (*fexecve_fn)(int, char *const[], char *const[]);
typedef int (*spawn_fn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
			const posix_spawnattr_t *, char *const[], char *const[]);

static execve_fn real_execve, real_execvpe;
static execveat_fn real_execveat;
static fexecve_fn real_fexecve;
static spawn_fn real_posix_spawn, real_posix_spawnp;

/* The library's own file, as the loader found it, made absolute so a
 * child in another directory finds it too. */
static char self_path[PATH_MAX];

void ua_preload_exec_init(void)
{
	Dl_info info;

	if (__atomic_load_n(&real_posix_spawnp, __ATOMIC_ACQUIRE))
		return;

	real_execve = (execve_fn) dlsym(RTLD_NEXT, "execve");
	real_execvpe = (execve_fn) dlsym(RTLD_NEXT, "execvpe");
	real_execveat = (execveat_fn) dlsym(RTLD_NEXT, "execveat");
	real_fexecve = (fexecve_fn) dlsym(RTLD_NEXT, "fexecve");
	real_posix_spawn = (spawn_fn) dlsym(RTLD_NEXT, "posix_spawn");
	if (!dladdr((void *) ua_preload_exec_init, &info) || !info.dli_fname ||
	    !realpath(info.dli_fname, self_path))
		self_path[0] = '\0';
	__atomic_store_n(&real_posix_spawnp,
			 (spawn_fn) dlsym(RTLD_NEXT, "posix_spawnp"),
			 __ATOMIC_RELEASE);
}

static char *const *preload_var(char *const envp[])
{
	for (; envp && *envp; envp++)
		if (!strncmp(*envp, VAR, VAR_LEN))
			return envp;
	return NULL;
}

/* Whether envp loads the library (or we do not know where it is). */
static bool loads_us(char *const envp[])
{
	char *const *var = preload_var(envp);

	return !self_path[0] || (var && strstr(*var + VAR_LEN, self_path));
}

static size_t env_len(char *const envp[])
{
	size_t n = 0;

	while (envp && envp[n])
		n++;
	return n;
}

/* Room for the LD_PRELOAD entry env_fix() writes. */
static size_t var_size(char *const envp[])
{
	char *const *var = preload_var(envp);

	return VAR_LEN + strlen(self_path) + 2 +
	       (var ? strlen(*var + VAR_LEN) : 0);
}

/* envp itself if it loads us; else a copy in out (env_len + 2 slots)
 * whose LD_PRELOAD, in var, puts us first. */
static char *const *env_fix(char *const envp[], char **out, char *var)
{
	char *const *old = preload_var(envp);
	size_t n = 0;

	if (loads_us(envp))
		return envp;
	strcpy(var, VAR);
	strcat(var, self_path);
	if (old && (*old)[VAR_LEN]) {
		strcat(var, ":");
		strcat(var, *old + VAR_LEN);
	}
	out[n++] = var;
	for (; envp && *envp; envp++)
		if (envp != old)
			out[n++] = *envp;
	out[n] = NULL;
	return out;
}

/* Declares the fixed environment of envp in the caller's frame. */
#define FIXED_ENV(name, envp)						\
	ua_preload_exec_init();						\
	char *name##_slots[env_len(envp) + 2];				\
	char name##_var[var_size(envp)];				\
	char *const *name = env_fix(envp, name##_slots, name##_var)

EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	FIXED_ENV(env, envp);

	return real_execve(path, argv, env);
}

EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	FIXED_ENV(env, envp);

	return real_execvpe(file, argv, env);
}

EXPORT int execveat(int dirfd, const char *path, char *const argv[],
		    char *const envp[], int flags)
{
	FIXED_ENV(env, envp);

	return real_execveat(dirfd, path, argv, env, flags);
}

EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	FIXED_ENV(env, envp);

	return real_fexecve(fd, argv, env);
}

EXPORT int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

EXPORT int execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

/* The execl family: the arguments up to the NULL, as an argv. */
static size_t count_args(va_list ap)
{
	size_t n = 1;

	while (va_arg(ap, char *))
		n++;
	return n;
}

#define ARGV_FROM(argv, arg0, last)					\
	va_list ap, count;						\
	va_start(ap, last);						\
	va_copy(count, ap);						\
	size_t argc = count_args(count);				\
	va_end(count);							\
	char *argv[argc + 1];						\
	argv[0] = (char *) (arg0);					\
	for (size_t i = 1; i <= argc; i++)				\
		argv[i] = va_arg(ap, char *)

EXPORT int execl(const char *path, const char *arg0, ...)
{
	ARGV_FROM(argv, arg0, arg0);
	va_end(ap);
	return execve(path, argv, environ);
}

EXPORT int execlp(const char *file, const char *arg0, ...)
{
	ARGV_FROM(argv, arg0, arg0);
	va_end(ap);
	return execvpe(file, argv, environ);
}

EXPORT int execle(const char *path, const char *arg0, ...)
{
	char *const *envp;

	ARGV_FROM(argv, arg0, arg0);
	envp = va_arg(ap, char *const *);
	va_end(ap);
	return execve(path, argv, envp);
}

EXPORT int posix_spawn(pid_t *pid, const char *path,
		       const posix_spawn_file_actions_t *actions,
		       const posix_spawnattr_t *attr, char *const argv[],
		       char *const envp[])
{
	FIXED_ENV(env, envp);

	return real_posix_spawn(pid, path, actions, attr, argv, env);
}

EXPORT int posix_spawnp(pid_t *pid, const char *file,
			const posix_spawn_file_actions_t *actions,
			const posix_spawnattr_t *attr, char *const argv[],
			char *const envp[])
{
	FIXED_ENV(env, envp);

	return real_posix_spawnp(pid, file, actions, attr, argv, env);
}
