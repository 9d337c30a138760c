/* SPDX-License-Identifier: MIT */
/*
 * The inline functions of <liburing.h> as exported functions: liburing-ffi.so
 * carries them for programs that cannot compile C inline functions (Python,
 * Rust and Zig bindings load it). liburing.so.2 links this too, because
 * programs built against liburing 2.0 to 2.2 call io_uring_get_sqe() as a
 * function; each version script picks which of these it exports.
 */
#define IOURINGINLINE

/* The library is built with hidden visibility; these must be seen. */
#pragma GCC visibility push(default)
#include "liburing.h"
#pragma GCC visibility pop
