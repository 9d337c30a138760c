/* SPDX-License-Identifier: MIT */
#ifndef LIBURING_VERSION_H
#define LIBURING_VERSION_H

/*
 * The liburing API level uring-alike provides: that of liburing 2.3, the
 * version Debian 12 ships, for the operations the probe reports.
 */
#define IO_URING_VERSION_MAJOR 2
#define IO_URING_VERSION_MINOR 3

#endif
