/* SPDX-License-Identifier: MIT */
#ifndef UA_PRELOAD_H
#define UA_PRELOAD_H

#include <stdint.h>

/* Runs io_uring call nr with arguments a in the engine: -errno, errno
 * untouched. */
long ua_preload_call(long nr, const long a[6]);

/* exec.c: finds libc's exec functions and the library's own path. */
void ua_preload_exec_init(void);

#if defined(__x86_64__)
/* rewrite.c: a trapped call site that can be made to call the engine
 * directly is, from the next call on. */
void ua_preload_rewrite_init(void);
void ua_preload_rewrite(uintptr_t call_end, unsigned nr);
#endif

#endif
