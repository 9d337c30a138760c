/* SPDX-License-Identifier: MIT */
/* Registration helpers: thin wrappers over io_uring_register(). */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
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

static size_t buf_ring_size(unsigned int nentries)
{
	return nentries * sizeof(struct io_uring_buf);
}

/* The engine allocates the ring; map it from the ring descriptor, as
 * from the kernel. */
static struct io_uring_buf_ring *map_engine_buf_ring(struct io_uring *ring,
						    unsigned int nentries,
						    int bgid)
{
	off_t off = (off_t) (IORING_OFF_PBUF_RING |
			     ((__u64) (__u16) bgid << IORING_OFF_PBUF_SHIFT));
	void *br = mmap(NULL, buf_ring_size(nentries), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_POPULATE, ring->ring_fd, off);

	return br == MAP_FAILED ? NULL : br;
}

/*
 * A ring of provided buffers, registered: in fresh anonymous memory, or
 * with IOU_PBUF_RING_MMAP in memory the engine allocates.
 */
UA_PUBLIC struct io_uring_buf_ring *
io_uring_setup_buf_ring(struct io_uring *ring, unsigned int nentries,
			int bgid, unsigned int flags, int *err)
{
	bool engine_mem = flags & IOU_PBUF_RING_MMAP;
	struct io_uring_buf_reg reg;
	struct io_uring_buf_ring *br = NULL;
	int ret;

	memset(&reg, 0, sizeof(reg));
	if (!engine_mem) {
		br = mmap(NULL, buf_ring_size(nentries), PROT_READ | PROT_WRITE,
			  MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
		if (br == MAP_FAILED) {
			*err = -errno;
			return NULL;
		}
		reg.ring_addr = (unsigned long) (uintptr_t) br;
	}
	reg.ring_entries = nentries;
	reg.bgid = (__u16) bgid;
	reg.flags = (__u16) flags;
	ret = io_uring_register(ring->ring_fd, IORING_REGISTER_PBUF_RING,
				&reg, 1);
	if (!ret && engine_mem) {
		br = map_engine_buf_ring(ring, nentries, bgid);
		if (!br) {
			ret = -errno;
			io_uring_unregister_buf_ring(ring, bgid);
		}
	}
	if (ret) {
		if (br && !engine_mem)
			munmap(br, buf_ring_size(nentries));
		*err = ret;
		return NULL;
	}
	io_uring_buf_ring_init(br);
	return br;
}

/* Where the engine's head of a buffer ring is (IORING_REGISTER_PBUF_STATUS):
 * the entries before it have been used. */
UA_PUBLIC int io_uring_buf_ring_head(struct io_uring *ring, int buf_group,
				     uint16_t *head)
{
	struct io_uring_buf_status st;
	int ret;

	memset(&st, 0, sizeof(st));
	st.buf_group = (__u32) buf_group;
	ret = io_uring_register(ring->ring_fd, IORING_REGISTER_PBUF_STATUS,
				&st, 1);
	if (ret)
		return ret;
	*head = (uint16_t) st.head;
	return 0;
}

UA_PUBLIC int io_uring_free_buf_ring(struct io_uring *ring,
				     struct io_uring_buf_ring *br,
				     unsigned int nentries, int bgid)
{
	int ret = io_uring_unregister_buf_ring(ring, bgid);

	if (ret)
		return ret;
	munmap(br, buf_ring_size(nentries));
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

/*
 * Registered files cost this process a descriptor each (see uring-alike(7)):
 * like liburing, raise the soft RLIMIT_NOFILE once when the table does not
 * fit, then try again.
 */
static bool raise_nofile_limit(unsigned nr)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= rl.rlim_max)
		return false;
	rl.rlim_cur = rl.rlim_cur + nr < rl.rlim_max ? rl.rlim_cur + nr
						     : rl.rlim_max;
	return setrlimit(RLIMIT_NOFILE, &rl) == 0;
}

static int register_files_retry(struct io_uring *ring, unsigned opcode,
				const void *arg, unsigned nr_args, unsigned nr)
{
	int ret = io_uring_register(ring->ring_fd, opcode, arg, nr_args);

	if (ret == -EMFILE && raise_nofile_limit(nr))
		ret = io_uring_register(ring->ring_fd, opcode, arg, nr_args);
	return ret;
}

UA_PUBLIC int io_uring_register_files(struct io_uring *ring, const int *files,
				      unsigned nr_files)
{
	return register_files_retry(ring, IORING_REGISTER_FILES, files,
				    nr_files, nr_files);
}

UA_PUBLIC int io_uring_register_files_tags(struct io_uring *ring,
					   const int *files, const __u64 *tags,
					   unsigned nr)
{
	struct io_uring_rsrc_register reg = {
		.nr = nr,
		.data = (__u64) (uintptr_t) files,
		.tags = (__u64) (uintptr_t) tags,
	};

	return register_files_retry(ring, IORING_REGISTER_FILES2, &reg,
				    sizeof(reg), nr);
}

UA_PUBLIC int io_uring_register_files_sparse(struct io_uring *ring,
					     unsigned nr)
{
	struct io_uring_rsrc_register reg = {
		.nr = nr,
		.flags = IORING_RSRC_REGISTER_SPARSE,
	};

	return register_files_retry(ring, IORING_REGISTER_FILES2, &reg,
				    sizeof(reg), nr);
}

UA_PUBLIC int io_uring_register_files_update(struct io_uring *ring,
					     unsigned off, const int *files,
					     unsigned nr_files)
{
	struct io_uring_files_update up = {
		.offset = off,
		.fds = (__u64) (uintptr_t) files,
	};

	return io_uring_register(ring->ring_fd, IORING_REGISTER_FILES_UPDATE,
				 &up, nr_files);
}

UA_PUBLIC int io_uring_register_files_update_tag(struct io_uring *ring,
						 unsigned off, const int *files,
						 const __u64 *tags,
						 unsigned nr_files)
{
	struct io_uring_rsrc_update2 up = {
		.offset = off,
		.data = (__u64) (uintptr_t) files,
		.tags = (__u64) (uintptr_t) tags,
		.nr = nr_files,
	};

	return io_uring_register(ring->ring_fd, IORING_REGISTER_FILES_UPDATE2,
				 &up, sizeof(up));
}

UA_PUBLIC int io_uring_unregister_files(struct io_uring *ring)
{
	return io_uring_register(ring->ring_fd, IORING_UNREGISTER_FILES,
				 NULL, 0);
}

UA_PUBLIC int io_uring_register_file_alloc_range(struct io_uring *ring,
						 unsigned off, unsigned len)
{
	struct io_uring_file_index_range range = {
		.off = off,
		.len = len,
	};

	return io_uring_register(ring->ring_fd,
				 IORING_REGISTER_FILE_ALLOC_RANGE, &range, 0);
}
