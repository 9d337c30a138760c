/* SPDX-License-Identifier: MIT */
#include "liburing.h"
#include "ua_private.h"

UA_PUBLIC int io_uring_major_version(void)
{
	return IO_URING_VERSION_MAJOR;
}

UA_PUBLIC int io_uring_minor_version(void)
{
	return IO_URING_VERSION_MINOR;
}

/* True when this library is older than major.minor, as in liburing. */
UA_PUBLIC bool io_uring_check_version(int major, int minor)
{
	return IO_URING_CHECK_VERSION(major, minor);
}
