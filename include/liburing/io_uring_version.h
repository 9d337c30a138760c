/* SPDX-License-Identifier: MIT */
#ifndef LIBURING_VERSION_H
#define LIBURING_VERSION_H

/*
 * The liburing API level uring-alike declares: that of liburing 2.15. What
 * the engine does not implement fails at run time with the kernel's error
 * for an unsupported feature (see uring-alike(7)).
 */
#define IO_URING_VERSION_MAJOR 2
#define IO_URING_VERSION_MINOR 15

#endif
