/* SPDX-License-Identifier: MIT */
/*
 * The inline functions of <liburing.h> as exported functions: liburing-ffi.so
 * carries them for programs that cannot compile C inline functions (Python,
 * Rust and Zig bindings load it). liburing.so.2 links the same objects;
 * each library's version script picks what it exports.
 */
#define IOURINGINLINE
/* queue.c defines io_uring_get_sqe() itself, for both libraries. */
#define LIBURING_INTERNAL

/* The library is built with hidden visibility; these must be seen. */
#pragma GCC visibility push(default)
#include "liburing.h"
#pragma GCC visibility pop
