/* SPDX-License-Identifier: MIT */
/* Registration helpers: thin wrappers over io_uring_register(). */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
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

UA_PUBLIC int io_uring_enable_rings(struct io_uring *ring)
{
	return io_uring_register(ring->ring_fd, IORING_REGISTER_ENABLE_RINGS,
				 NULL, 0);
}

UA_PUBLIC int io_uring_register_buf_ring(struct io_uring *ring,
					 struct io_uring_buf_reg *reg,
					 unsigned int flags)
{
	(void) flags;
	return io_uring_register(ring->ring_fd, IORING_REGISTER_PBUF_RING,
				 reg, 1);
}

UA_PUBLIC int io_uring_unregister_buf_ring(struct io_uring *ring, int bgid)
{
	struct io_uring_buf_reg reg;

	memset(&reg, 0, sizeof(reg));
	reg.bgid = (__u16) bgid;
	return io_uring_register(ring->ring_fd, IORING_UNREGISTER_PBUF_RING,
				 &reg, 1);
}

/* A ring of provided buffers in fresh anonymous memory, registered. */
UA_PUBLIC struct io_uring_buf_ring *
io_uring_setup_buf_ring(struct io_uring *ring, unsigned int nentries,
			int bgid, unsigned int flags, int *err)
{
	size_t size = nentries * sizeof(struct io_uring_buf);
	struct io_uring_buf_reg reg;
	struct io_uring_buf_ring *br;
	int ret;

	br = mmap(NULL, size, PROT_READ | PROT_WRITE,
		  MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (br == MAP_FAILED) {
		*err = -errno;
		return NULL;
	}
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (unsigned long) (uintptr_t) br;
	reg.ring_entries = nentries;
	reg.bgid = (__u16) bgid;
	reg.flags = (__u16) flags;
	ret = io_uring_register(ring->ring_fd, IORING_REGISTER_PBUF_RING,
				&reg, 1);
	if (ret) {
		munmap(br, size);
		*err = ret;
		return NULL;
	}
	io_uring_buf_ring_init(br);
	return br;
}

UA_PUBLIC int io_uring_free_buf_ring(struct io_uring *ring,
				     struct io_uring_buf_ring *br,
				     unsigned int nentries, int bgid)
{
	int ret = io_uring_unregister_buf_ring(ring, bgid);

	if (ret)
		return ret;
	munmap(br, nentries * sizeof(struct io_uring_buf));
	return 0;
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
