/* SPDX-License-Identifier: MIT */
/* Registration helpers: thin wrappers over io_uring_register(). */
#include "liburing.h"
#include "ua_private.h"

UA_PUBLIC int io_uring_register_buffers(struct io_uring *ring,
					const struct iovec *iovecs,
					unsigned nr_iovecs)
{
	int ret = io_uring_register(ring->ring_fd, IORING_REGISTER_BUFFERS,
				    iovecs, nr_iovecs);

	return ret < 0 ? ret : 0;
}

UA_PUBLIC int io_uring_unregister_buffers(struct io_uring *ring)
{
	int ret = io_uring_register(ring->ring_fd, IORING_UNREGISTER_BUFFERS,
				    NULL, 0);

	return ret < 0 ? ret : 0;
}

UA_PUBLIC int io_uring_register_iowq_max_workers(struct io_uring *ring,
						 unsigned int *values)
{
	return io_uring_register(ring->ring_fd,
				 IORING_REGISTER_IOWQ_MAX_WORKERS, values, 2);
}

UA_PUBLIC int io_uring_enable_rings(struct io_uring *ring)
{
	return io_uring_register(ring->ring_fd, IORING_REGISTER_ENABLE_RINGS,
				 NULL, 0);
}

UA_PUBLIC int io_uring_register_probe(struct io_uring *ring,
				      struct io_uring_probe *p, unsigned nr)
{
	return io_uring_register(ring->ring_fd, IORING_REGISTER_PROBE, p, nr);
}

UA_PUBLIC int io_uring_register_eventfd(struct io_uring *ring, int fd)
{
	int ret = io_uring_register(ring->ring_fd, IORING_REGISTER_EVENTFD,
				    &fd, 1);

	return ret < 0 ? ret : 0;
}

UA_PUBLIC int io_uring_register_eventfd_async(struct io_uring *ring, int fd)
{
	int ret = io_uring_register(ring->ring_fd,
				    IORING_REGISTER_EVENTFD_ASYNC, &fd, 1);

	return ret < 0 ? ret : 0;
}

UA_PUBLIC int io_uring_unregister_eventfd(struct io_uring *ring)
{
	int ret = io_uring_register(ring->ring_fd, IORING_UNREGISTER_EVENTFD,
				    NULL, 0);

	return ret < 0 ? ret : 0;
}

UA_PUBLIC int io_uring_register_sync_cancel(struct io_uring *ring,
					    struct io_uring_sync_cancel_reg *reg)
{
	return io_uring_register(ring->ring_fd, IORING_REGISTER_SYNC_CANCEL,
				 reg, 1);
}
