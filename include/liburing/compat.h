/* SPDX-License-Identifier: MIT */
#ifndef LIBURING_COMPAT_H
#define LIBURING_COMPAT_H

/*
 * The kernel headers <liburing.h> builds on, as liburing's compat.h names
 * them: every supported system has them, so nothing is defined here in
 * their place but the block-device discard command of newer kernels.
 */
#include <linux/time_types.h>
#include <linux/openat2.h>
#include <linux/ioctl.h>

/* <liburing/io_uring.h> need not include it again. */
#define UAPI_LINUX_IO_URING_H_SKIP_LINUX_TIME_TYPES_H 1

#ifndef BLOCK_URING_CMD_DISCARD
#define BLOCK_URING_CMD_DISCARD		_IO(0x12, 0)
#endif

#endif
