/* SPDX-License-Identifier: MIT */
/* Registration helpers: thin wrappers over io_uring_register(). */
#include "liburing.h"
#include "ua_private.h"

/* For the calls whose success liburing reports as 0, not as a count. */
static int do_register(struct io_uring *ring, unsigned opcode,
		       const void *arg, unsigned nr)
{
	int ret = io_uring_register(ring->ring_fd, opcode, arg, nr);

	return ret < 0 ? ret : 0;
}

UA_PUBLIC int io_uring_register_buffers(struct io_uring *ring,
					const struct iovec *iovecs,
					unsigned nr_iovecs)
{
	return do_register(ring, IORING_REGISTER_BUFFERS, iovecs, nr_iovecs);
}

UA_PUBLIC int io_uring_unregister_buffers(struct io_uring *ring)
{
	return do_register(ring, IORING_UNREGISTER_BUFFERS, NULL, 0);
}

UA_PUBLIC int io_uring_register_iowq_max_workers(struct io_uring *ring,
						 unsigned int *values)
{
	return io_uring_register(ring->ring_fd,
				 IORING_REGISTER_IOWQ_MAX_WORKERS, values, 2);
}

UA_PUBLIC int io_uring_register_probe(struct io_uring *ring,
				      struct io_uring_probe *p, unsigned nr)
{
	return io_uring_register(ring->ring_fd, IORING_REGISTER_PROBE, p, nr);
}

UA_PUBLIC int io_uring_register_eventfd(struct io_uring *ring, int fd)
{
	return do_register(ring, IORING_REGISTER_EVENTFD, &fd, 1);
}

UA_PUBLIC int io_uring_register_eventfd_async(struct io_uring *ring, int fd)
{
	return do_register(ring, IORING_REGISTER_EVENTFD_ASYNC, &fd, 1);
}

UA_PUBLIC int io_uring_unregister_eventfd(struct io_uring *ring)
{
	return do_register(ring, IORING_UNREGISTER_EVENTFD, NULL, 0);
}

UA_PUBLIC int io_uring_register_sync_cancel(struct io_uring *ring,
					    struct io_uring_sync_cancel_reg *reg)
{
	return io_uring_register(ring->ring_fd, IORING_REGISTER_SYNC_CANCEL,
				 reg, 1);
}
