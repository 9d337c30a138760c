/* SPDX-License-Identifier: MIT */
#ifndef UA_ENGINE_UACCESS_H
#define UA_ENGINE_UACCESS_H

/*
 * The engine's copy_from_user() and copy_to_user(): every application
 * pointer the engine itself reads or writes (SQE addresses, io_uring_enter,
 * io_uring_register and io_uring_setup arguments) goes through these, so
 * that bad memory gives the kernel's -EFAULT and never a SIGSEGV. Pointers
 * handed unchanged to a system call need none: the kernel checks them.
 */

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/* The kernel's limit on an iovec array (UIO_MAXIOV). */
#define UA_UIO_MAXIOV		1024

/* len bytes at uaddr into dst: 0, or -EFAULT if any of them is unreadable. */
int ua_copy_from_user(void *dst, __u64 uaddr, size_t len);
/* len bytes of src to uaddr: 0, or -EFAULT if any of them is unwritable. */
int ua_copy_to_user(__u64 uaddr, const void *src, size_t len);
/* The kernel's check_zeroed_user(): 1 if the len bytes at uaddr are all
 * zero, 0 if not, -EFAULT. */
int ua_check_zeroed_user(__u64 uaddr, size_t len);
/* The kernel's pinning of the pages for writing: 0, or -EFAULT if any
 * page of the len bytes at uaddr is not mapped writable. */
int ua_check_writable_user(__u64 uaddr, size_t len);
/*
 * The kernel's strncpy_from_user(): copies up to size bytes of the string
 * at uaddr, its NUL included if found. Returns the string's length, size
 * when there is no NUL in size bytes, or -EFAULT.
 */
long ua_strncpy_from_user(char *dst, __u64 uaddr, size_t size);
/*
 * The kernel's getname() for a path: a malloc'd copy in *out, or -EFAULT,
 * -ENAMETOOLONG without a NUL in PATH_MAX bytes, -ENOENT for an empty
 * path, -ENOMEM.
 */
int ua_strndup_from_user(char **out, __u64 uaddr);
/* The kernel's getname_uflags(): the same, but with AT_EMPTY_PATH in
 * at_flags an empty path is copied, not -ENOENT. */
int ua_getname_uflags(char **out, __u64 uaddr, int at_flags);

/*
 * len bytes of a file's map (filemap.c) to uaddr, where a shrunk file
 * raises SIGBUS: 0, -EFAULT when either side faults, or -EAGAIN when this
 * thread cannot catch such a fault now (ua_uaccess_maps_guarded() is
 * false): the caller then reads with a system call instead.
 */
int ua_copy_map_to_user(__u64 uaddr, const void *map, size_t len);
/* Whether ua_copy_map_to_user() can copy on this thread now. */
bool ua_uaccess_maps_guarded(void);

/*
 * A call of the application's into the engine (io_uring_enter,
 * io_uring_register): only its copies may use the fault guard.
 */
void ua_uaccess_begin(void);
void ua_uaccess_end(void);

/*
 * Each ring holds the copies' resources while it exists: where the copies
 * need a pipe, a process without rings keeps no descriptor of the engine's.
 */
void ua_uaccess_get(void);
void ua_uaccess_put(void);

#endif
